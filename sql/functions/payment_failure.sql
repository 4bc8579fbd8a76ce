-- What a failed debit of p_year-p_month (reason p_code) adds to its
-- payment in payments_get(): the reason (one the texts do not know is
-- "other", as query_reason() says) and its text; the advice: what to do,
-- the amount to keep (the premium + 10 yuan) and, unless it was the
-- year's last debit month (p_next NULL), the day before which to act for
-- the next debit p_next (p_fix_by: the day after its cut-off, "before the
-- 19th"); and that day.  One statement, its plan kept for the connection;
-- only failures call it.
CREATE OR REPLACE FUNCTION payment_failure(p_code text, p_year int,
                                           p_month int, p_next date,
                                           p_fix_by date, p_lang text)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_en boolean := p_lang = 'en';
BEGIN
    RETURN (
        SELECT jsonb_build_object(
                   'reason_code', r.code,
                   'reason_text', CASE WHEN v_en THEN r.en ELSE r.zh END,
                   'advice', replace(replace(replace(
                       CASE WHEN v_en THEN ad.en || ' ' || dl.en
                            ELSE ad.zh || dl.zh END,
                       '{amount}',
                       coalesce(to_char((pr.amount_cents + 1000) / 100.0,
                                        'FM9999990.00'), '?')),
                       '{fix_by}',
                       coalesce(CASE WHEN v_en
                                     THEN to_char(p_fix_by, 'FMDD FMMonth')
                                     ELSE to_char(p_fix_by,
                                                  'FMMM"月"FMDD"日"') END,
                                '')),
                       '{month}',
                       query_month(coalesce(p_next,
                                            make_date(p_year, p_month, 1)),
                                   p_lang)),
                   'fix_by', to_char(p_fix_by, 'YYYY-MM-DD'))
          FROM (SELECT t.* FROM query_text t
                 WHERE t.kind = 'reason' AND t.code IN (p_code, 'other')
                 ORDER BY t.code = p_code DESC
                 LIMIT 1) AS r
          LEFT JOIN query_text ad ON ad.kind = 'advice' AND ad.code = r.code
          LEFT JOIN query_text dl
                 ON dl.kind = 'deadline'
                AND dl.code = CASE WHEN p_next IS NULL THEN 'last'
                                   ELSE 'next' END
          LEFT JOIN premium pr ON pr.year = p_year);
END
$$;
