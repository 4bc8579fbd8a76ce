-- A text of table query_text in p_lang ('zh', 'en'); NULL when unknown.
CREATE OR REPLACE FUNCTION query_text(p_kind text, p_code text, p_lang text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN p_lang = 'en' THEN t.en ELSE t.zh END
          FROM query_text t
         WHERE t.kind = p_kind AND t.code = p_code);
END
$$;
