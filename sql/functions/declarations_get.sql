-- Newest first.  A debit's result (debited, failed) shows from day
-- p_result_day of the following month; before that the declaration is
-- still "sent_to_bank".  A failure reason the texts do not know is shown
-- as "other" (query_reason()).  One SQL query, inlined into the module's
-- statement (query_access() and debit_result_visible_on() into it).
--
-- The body is built as text for speed, as me_get()'s is: the bytes of
-- jsonb's output (keys shorter first, then bytewise; ", " and ": ").  The
-- codes, receipt numbers and times have nothing to escape (their CHECKs).
-- The texts are read once per statement (query_text_map()).
-- The date in Beijing at the time now (p_now NULL, as in production)
-- likewise.  OFFSET 0 keeps the inner subquery from being merged into
-- the outer one, so that a row's reason is worked out once.
CREATE OR REPLACE FUNCTION declarations_get(p_user bigint, p_person bigint,
                                            p_now timestamptz, p_lang text,
                                            p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT '{"declarations": [' || coalesce(string_agg(
                   '{"status": "' || d.shown
                   || '", "applies_to": "'
                   || to_char(d.applies_to_month, 'YYYY-MM')
                   || '", "receipt_no": "' || d.receipt_no
                   || '", "reason_code": '
                   || coalesce('"' || d.reason || '"', 'null')
                   || ', "reason_text": '
                   || CASE WHEN d.reason IS NULL THEN 'null'
                      ELSE coalesce(((SELECT m.maps
                                        FROM query_text_map('reason') AS m)
                                      [query_lang(p_lang)] -> d.reason)::text,
                                    'null') END
                   || ', "status_text": '
                   || coalesce(((SELECT m.maps
                                   FROM query_text_map('declaration_status')
                                        AS m)
                                 [query_lang(p_lang)] -> d.shown)::text,
                               'null')
                   || ', "submitted_at": "' || csibiz_iso(d.submitted_at)
                   || '"}',
                   ', ' ORDER BY d.submitted_at DESC, d.id DESC), '')
               || ']}'
          FROM (SELECT x.id, x.receipt_no, x.submitted_at,
                       x.applies_to_month, v.shown,
                       CASE WHEN v.shown = 'failed'
                             AND x.reason_code IS NOT NULL THEN
                           CASE WHEN (SELECT m.maps[1]
                                        FROM query_text_map('reason') AS m)
                                     ? x.reason_code
                                THEN x.reason_code ELSE 'other' END
                       END AS reason
                  FROM declaration x,
                       (SELECT CASE WHEN p_now IS NULL
                                    THEN (SELECT (now() AT TIME ZONE
                                                  'Asia/Shanghai')::date)
                                    ELSE (p_now AT TIME ZONE
                                          'Asia/Shanghai')::date
                               END AS today) AS n,
                       LATERAL (SELECT CASE
                           WHEN x.status IN ('debited', 'failed')
                                AND NOT debit_result_visible_on(
                                    x.applies_to_month, n.today,
                                    p_result_day)
                           THEN 'sent_to_bank'
                           ELSE x.status END AS shown) AS v
                 WHERE x.insured_person_id = p_person
                OFFSET 0) AS d) END
      FROM query_access(p_user, p_person) AS a
$$;
