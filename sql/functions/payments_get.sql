-- Newest (year, month) first; premium_cents: this year's premium (null
-- when the table has none).  A payment as its owner sees it at p_now: a
-- result shows from day p_result_day of the following month, "pending"
-- before; a failure adds its reason and advice, worded as
-- payment_failure() words them.
--
-- One SQL query, which PostgreSQL inlines into the module's statement
-- (app_payments(), app_payments_batch()), so that a batch is one plan
-- with nothing called per element:
-- * the body is text, byte for byte what jsonb_build_object(...)::text
--   wrote before: keys by length, then bytewise; ", " and ": "; strings
--   as to_json() escapes them; an element null when no reason has a text
--   (not even "other"), as jsonb || NULL was;
-- * the reference tables are read once per statement, by uncorrelated
--   subqueries (InitPlans): the status texts (query_text_map(), as
--   declarations_get() reads its texts), the premiums by year, and the
--   debit calendar as a sorted array of year * 10000 + month * 100 +
--   cutoff_day: the element after a payment's (width_bucket()) is the
--   next debit month, if it is of the same year (e), else the payment's
--   was the year's last;
-- * whether a result shows yet is debit_result_visible()'s rule, inlined;
-- * the rows come in the order of the index, newest first, which
--   string_agg() keeps (a plain aggregate over a sorted subquery);
-- * only a failed payment runs subqueries of its own: the reason (or
--   "other"), its advice and the deadline text, the year's premium, as
--   payment_failure() reads them; they are rescanned, not called: a
--   call of payment_failure() (PL/pgSQL) cost more than the rest of a
--   batch's element, while the subqueries' start-up is paid once per
--   statement.
-- payment.status is one of three plain words (its CHECK): written as is.
CREATE OR REPLACE FUNCTION payments_get(p_user bigint, p_person bigint,
                                        p_now timestamptz, p_lang text,
                                        p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
        '{"payments": [' || coalesce((
            SELECT string_agg(coalesce(
                '{"year": ' || y.year::text
                || ', "month": ' || y.month::text
                || CASE WHEN y.shown <> 'failed' THEN
                       ', "advice": null, "fix_by": null, "status": "'
                       || y.shown
                       || '", "reason_code": null, "reason_text": null'
                   ELSE (
                       SELECT ', "advice": ' || coalesce(to_json(replace(
                                  replace(replace(
                                      (SELECT CASE WHEN p_lang = 'en'
                                                   THEN ad.en || ' ' || dl.en
                                                   ELSE ad.zh || dl.zh END
                                         FROM query_text ad, query_text dl
                                        WHERE ad.kind = 'advice'
                                          AND ad.code = r.code
                                          AND dl.kind = 'deadline'
                                          AND dl.code = CASE
                                              WHEN n.next IS NULL THEN 'last'
                                              ELSE 'next' END),
                                      '{amount}', coalesce(to_char(
                                          ((SELECT pr.amount_cents
                                              FROM premium pr
                                             WHERE pr.year = y.year)
                                           + 1000) / 100.0,
                                          'FM9999990.00'), '?')),
                                      '{fix_by}', coalesce(
                                          CASE WHEN p_lang = 'en'
                                               THEN to_char(n.fix_by,
                                                            'FMDD FMMonth')
                                               ELSE to_char(n.fix_by,
                                                   'FMMM"月"FMDD"日"') END,
                                          '')),
                                  '{month}', query_month(
                                      coalesce(n.next, make_date(y.year,
                                                                 y.month, 1)),
                                      p_lang)))::text, 'null')
                              || ', "fix_by": ' || coalesce(to_json(
                                     to_char(n.fix_by, 'YYYY-MM-DD'))::text,
                                     'null')
                              || ', "status": "failed", "reason_code": '
                              || to_json(r.code)::text
                              || ', "reason_text": '
                              || to_json(CASE WHEN p_lang = 'en' THEN r.en
                                              ELSE r.zh END)::text
                         FROM (SELECT CASE WHEN y.e / 10000 = y.year
                                           THEN make_date(y.year,
                                                          y.e / 100 % 100, 1)
                                      END AS next,
                                      CASE WHEN y.e / 10000 = y.year
                                           THEN make_date(y.year,
                                                          y.e / 100 % 100, 1)
                                                + y.e % 100
                                      END AS fix_by) AS n
                        CROSS JOIN (SELECT t.* FROM query_text t
                                     WHERE t.kind = 'reason'
                                       AND t.code IN (y.reason_code, 'other')
                                     ORDER BY t.code = y.reason_code DESC
                                     LIMIT 1) AS r) END
                || ', "status_text": '
                || coalesce(((SELECT m.maps
                                FROM query_text_map('payment_status') AS m)
                              [query_lang(p_lang)] -> y.shown)::text,
                            'null')
                || ', "amount_cents": ' || y.amount_cents::text
                || ', "last_debit_month": '
                || CASE WHEN y.e / 10000 = y.year THEN 'false'
                        ELSE 'true' END
                || '}', 'null'), ', ')
              FROM (SELECT x.year, x.month, x.amount_cents, x.reason_code,
                           CASE WHEN x.status <> 'pending'
                                     AND NOT debit_result_visible(
                                         make_date(x.year, x.month, 1),
                                         p_now, p_result_day)
                                THEN 'pending'
                                ELSE x.status END AS shown,
                           (SELECT array_agg(d.year * 10000 + d.month * 100
                                             + d.cutoff_day
                                             ORDER BY d.year, d.month)
                              FROM debit_calendar d)
                           [width_bucket(x.year * 10000 + x.month * 100 + 99,
                                         (SELECT array_agg(d.year * 10000
                                                           + d.month * 100
                                                           + d.cutoff_day
                                                           ORDER BY d.year,
                                                                    d.month)
                                            FROM debit_calendar d)) + 1] AS e
                      FROM payment x
                     WHERE x.insured_person_id = p_person
                     ORDER BY x.year DESC, x.month DESC) AS y), '')
        || '], "premium_cents": ' || coalesce((
               (SELECT array_agg(p.amount_cents ORDER BY p.year)
                  FROM premium p)
               [array_position(
                   (SELECT array_agg(p.year ORDER BY p.year) FROM premium p),
                   extract(year FROM coalesce(p_now, now())
                                     AT TIME ZONE 'Asia/Shanghai')::int)]
           )::text, 'null')
        || '}' END
      FROM query_access(p_user, p_person) AS a
$$;
