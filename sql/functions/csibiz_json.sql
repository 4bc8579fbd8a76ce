-- A text as a JSON value, as jsonb writes it: a string with escape_json()'s
-- escapes, or null.  The read functions build their answers as text with
-- it (me_get()); one expression, so that PostgreSQL inlines it.
CREATE OR REPLACE FUNCTION csibiz_json(t text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(to_json(t)::text, 'null')
$$;
