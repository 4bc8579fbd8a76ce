-- GET /api/account: (status, code, body): code NULL and the body to send,
-- or an error code of the module's catalogue and its extra JSON members
-- (NULL: none).  The declaration's submission time is submitted_at (when
-- its receipt was issued), not updated_at, which moves with the status.
-- One SQL query: PostgreSQL inlines it into the module's statement, with
-- query_access(), window_at() and bank_account_text() inlined into it.
-- The body is built as text for speed, as me_get()'s is: the bytes of
-- jsonb's output (keys shorter first, then bytewise; ", " and ": ").
CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                            p_now timestamptz,
                                            p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT '{"window": {"open": ' || csibiz_json_bool(w.is_open)
            || ', "opens_at": '
            || coalesce('"' || csibiz_iso(w.opens_at) || '"', 'null')
            || ', "closes_at": '
            || coalesce('"' || csibiz_iso(w.closes_at) || '"', 'null')
            || '}, "account": '
            || CASE WHEN ba.id IS NOT NULL
                    THEN bank_account_text(ba, b, p_lang) ELSE 'null' END
            || ', "version": ' || coalesce(ba.version, 0)
            || ', "editable": ' || csibiz_json_bool(w.is_open)
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
          FROM window_at(coalesce(p_now, now())) AS w
          LEFT JOIN (bank_account ba JOIN bank b ON b.code = ba.bank_code)
                 ON ba.insured_person_id = p_person
          LEFT JOIN LATERAL (
               SELECT x.id, x.receipt_no, x.status, x.applies_to_month,
                      x.submitted_at
                 FROM declaration x
                WHERE x.insured_person_id = p_person
                ORDER BY x.submitted_at DESC, x.id DESC
                LIMIT 1) AS d ON true) END
      FROM query_access(p_user, p_person) AS a
$$;
