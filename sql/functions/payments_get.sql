-- Newest (year, month) first; premium_cents: this year's premium (null
-- when the table has none).  A payment as its owner sees it at p_now: a
-- result shows from day p_result_day of the following month, "pending"
-- before; a failure adds its reason and advice (payment_failure()).
--
-- One statement whose plan is kept for the connection: the next debit
-- month and the status text are joined, where a PL/pgSQL function per
-- row (with five statements and four more function calls) made payments
-- cost twice what declarations do; only failures, which are few, call a
-- function.
CREATE OR REPLACE FUNCTION payments_get(p_user bigint, p_person bigint,
                                        p_now timestamptz, p_lang text,
                                        p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz := coalesce(p_now, now());
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
            SELECT jsonb_build_object(
                'premium_cents', (
                    SELECT p.amount_cents FROM premium p
                     WHERE p.year = extract(year FROM v_now
                                            AT TIME ZONE 'Asia/Shanghai')::int),
                'payments', coalesce(jsonb_agg(
                    jsonb_build_object(
                        'year', y.year,
                        'month', y.month,
                        'amount_cents', y.amount_cents,
                        'status', y.shown,
                        'status_text', CASE WHEN p_lang = 'en' THEN t.en
                                            ELSE t.zh END,
                        'reason_code', NULL,
                        'reason_text', NULL,
                        'advice', NULL,
                        'fix_by', NULL,
                        'last_debit_month', n.month IS NULL)
                    || CASE WHEN y.shown = 'failed' THEN
                           payment_failure(y.reason_code, y.year, y.month,
                                           n.month, n.before, p_lang)
                       ELSE '{}' END
                    ORDER BY y.year DESC, y.month DESC), '[]'))::text
              FROM (SELECT x.year, x.month, x.amount_cents, x.reason_code,
                           CASE WHEN x.status <> 'pending'
                                     AND NOT debit_result_visible(
                                         make_date(x.year, x.month, 1), v_now,
                                         p_result_day)
                                THEN 'pending'
                                ELSE x.status END AS shown
                      FROM payment x
                     WHERE x.insured_person_id = p_person) AS y
              LEFT JOIN LATERAL (
                   SELECT make_date(d.year, d.month, 1) AS month,
                          make_date(d.year, d.month, d.cutoff_day) + 1
                              AS before
                     FROM debit_calendar d
                    WHERE d.year = y.year AND d.month > y.month
                    ORDER BY d.month
                    LIMIT 1) AS n ON true
              LEFT JOIN query_text t
                     ON t.kind = 'payment_status' AND t.code = y.shown)
          END
          FROM query_access(p_user, p_person) AS a;
END
$$;
