-- GET /api/account: (status, code, body): code NULL and the body to send,
-- or an error code of the module's catalogue and its extra JSON members
-- (NULL: none).  The declaration's submission time is submitted_at (when
-- its receipt was issued), not updated_at, which moves with the status.
-- One SQL query: PostgreSQL inlines it into the module's statement, with
-- query_access(), window_json() and bank_account_text() inlined into it.
--
-- The body is built as text for speed, as me_get()'s is: the bytes of
-- jsonb's output (keys shorter first, then bytewise; ", " and ": ").
-- What is the same for every request of a statement is worked out once
-- per statement (a subquery that refers to no row: an InitPlan, run only
-- if a row needs it): the banks' names, a jsonb map by code in each
-- language, whose member as text is the JSON string
-- (bank_account.bank_code has a foreign key), and in the first form the
-- window at the time now (p_now NULL, as in production; with a p_now,
-- once per call; refused or not; OFFSET 0 keeps its subquery whole, so
-- that it is worked out once).  The second form takes the window as
-- window_json() writes it (p_window its body, p_open whether it is
-- open): app_account_batch() works it out once per distinct time of its
-- requests.
CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                            p_now timestamptz,
                                            p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT b.status, b.code, b.body
      FROM (SELECT CASE WHEN p_now IS NULL
                        THEN (SELECT ARRAY[x.body, x.is_open]
                                FROM window_json(now()) AS x)
                        ELSE (SELECT ARRAY[x.body, x.is_open]
                                FROM window_json(p_now) AS x)
                   END AS w
            OFFSET 0) AS w,
           bank_account_get(p_user, p_person, w.w[1], w.w[2], p_reauth_ok,
                            p_lang) AS b
$$;

CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                            p_window text, p_open text,
                                            p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT '{"window": ' || p_window
            || ', "account": '
            || CASE WHEN ba.id IS NOT NULL
                    THEN bank_account_text(ba, (CASE WHEN p_lang = 'en'
                             THEN (SELECT jsonb_object_agg(b.code, b.name_en)
                                     FROM bank b)
                             ELSE (SELECT jsonb_object_agg(b.code, b.name_zh)
                                     FROM bank b) END
                             -> ba.bank_code)::text)
               ELSE 'null' END
            || ', "version": ' || coalesce(ba.version, 0)
            || ', "editable": ' || p_open
            || ', "declaration": '
            || CASE WHEN d.id IS NOT NULL THEN
                   '{"status": "' || d.status
                   || '", "receipt_no": "' || d.receipt_no
                   || '", "debit_month": "'
                   || to_char(d.applies_to_month, 'YYYY-MM')
                   || '", "submitted_at": "' || csibiz_iso(d.submitted_at)
                   || '"}'
               ELSE 'null' END
            || ', "reauth_required": '
            || csibiz_json_bool(ba.id IS NOT NULL AND NOT p_reauth_ok) || '}'
          FROM (SELECT p_person) AS o
          LEFT JOIN bank_account ba ON ba.insured_person_id = p_person
          LEFT JOIN LATERAL (
               SELECT x.id, x.receipt_no, x.status, x.applies_to_month,
                      x.submitted_at
                 FROM declaration x
                WHERE x.insured_person_id = p_person
                ORDER BY x.submitted_at DESC, x.id DESC
                LIMIT 1) AS d ON true) END
      FROM query_access(p_user, p_person) AS a
$$;
