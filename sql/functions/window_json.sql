-- window_at(p_now) as GET /api/account writes it: the JSON text of its
-- "window" member (bytes as jsonb's: "open", "opens_at", "closes_at"),
-- and whether it is open, as JSON ("true", "false").  One SQL query:
-- inlined into the query that calls it in FROM.
CREATE OR REPLACE FUNCTION window_json(p_now timestamptz)
RETURNS TABLE (body text, is_open text)
LANGUAGE sql STABLE AS $$
    SELECT '{"open": ' || csibiz_json_bool(w.is_open)
           || ', "opens_at": '
           || coalesce('"' || csibiz_iso(w.opens_at) || '"', 'null')
           || ', "closes_at": '
           || coalesce('"' || csibiz_iso(w.closes_at) || '"', 'null') || '}',
           csibiz_json_bool(w.is_open)
      FROM window_at(p_now) AS w
$$;
