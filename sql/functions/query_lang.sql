-- The index of p_lang in query_text_map()'s maps: 2 for 'en', 1 (zh) for
-- any other, as the texts have always been chosen.
CREATE OR REPLACE FUNCTION query_lang(p_lang text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_lang = 'en' THEN 2 ELSE 1 END
$$;
