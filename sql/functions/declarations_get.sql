-- Newest first.  A debit's result (debited, failed) shows from day
-- p_result_day of the following month; before that the declaration is
-- still "sent_to_bank".  One SQL query, inlined into the module's
-- statement (query_access() and debit_result_visible() into it);
-- query_reason() runs only for a failed declaration, and once per row
-- (OFFSET 0 keeps its subquery from being merged into the outer one).
CREATE OR REPLACE FUNCTION declarations_get(p_user bigint, p_person bigint,
                                            p_now timestamptz, p_lang text,
                                            p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT jsonb_build_object('declarations', coalesce(jsonb_agg(
                   jsonb_build_object(
                       'receipt_no', d.receipt_no,
                       'submitted_at', csibiz_iso(d.submitted_at),
                       'applies_to', to_char(d.applies_to_month, 'YYYY-MM'),
                       'status', d.shown,
                       'status_text', (
                           SELECT CASE WHEN p_lang = 'en' THEN t.en
                                       ELSE t.zh END
                             FROM query_text t
                            WHERE t.kind = 'declaration_status'
                              AND t.code = d.shown),
                       'reason_code', d.reason,
                       'reason_text', CASE WHEN d.reason IS NOT NULL THEN (
                           SELECT CASE WHEN p_lang = 'en' THEN t.en
                                       ELSE t.zh END
                             FROM query_text t
                            WHERE t.kind = 'reason' AND t.code = d.reason) END)
                   ORDER BY d.submitted_at DESC, d.id DESC), '[]'))::text
          FROM (SELECT x.id, x.receipt_no, x.submitted_at,
                       x.applies_to_month, v.shown,
                       CASE WHEN v.shown = 'failed'
                            THEN query_reason(x.reason_code) END AS reason
                  FROM declaration x,
                       LATERAL (SELECT CASE
                           WHEN x.status IN ('debited', 'failed')
                                AND NOT debit_result_visible(
                                    x.applies_to_month, p_now, p_result_day)
                           THEN 'sent_to_bank'
                           ELSE x.status END AS shown) AS v
                 WHERE x.insured_person_id = p_person
                OFFSET 0) AS d) END
      FROM query_access(p_user, p_person) AS a
$$;
