-- GET /api/agreement: the agreement in force at p_now (NULL: now()).
CREATE OR REPLACE FUNCTION app_agreement_current(p_now timestamptz)
RETURNS TABLE (version text, title_zh text, text_zh text, title_en text,
               text_en text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT a.version, a.title_zh, a.text_zh, a.title_en, a.text_en
          FROM agreement a
         WHERE a.published_at <= coalesce(p_now, now())
         ORDER BY a.published_at DESC LIMIT 1;
END
$$;
