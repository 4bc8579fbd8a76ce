-- A failure reason the texts do not know is shown as "other".
CREATE OR REPLACE FUNCTION query_reason(p_code text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN p_code IS NULL THEN NULL
                    WHEN EXISTS (SELECT 1 FROM query_text t
                                  WHERE t.kind = 'reason' AND t.code = p_code)
                    THEN p_code ELSE 'other' END);
END
$$;
