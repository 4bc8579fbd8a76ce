-- The texts of kind p_kind (table query_text) as jsonb maps by code, one
-- a language: maps[query_lang(p_lang)].  A member as text,
-- (map -> code)::text, is the text as a JSON string (jsonb escapes it),
-- NULL when the code has none.  One SQL query, inlined where it is
-- called in FROM: the read functions call it in a subquery that refers
-- to no row, (SELECT m.maps FROM query_text_map('gender') AS m), which
-- PostgreSQL runs once per statement (an InitPlan), only if a row needs
-- it.
CREATE OR REPLACE FUNCTION query_text_map(p_kind text)
RETURNS TABLE (maps jsonb[])
LANGUAGE sql STABLE AS $$
    SELECT ARRAY[jsonb_object_agg(x.code, x.zh),
                 jsonb_object_agg(x.code, x.en)]
      FROM query_text x
     WHERE x.kind = p_kind
$$;
