-- GET /api/account: (status, code, body): code NULL and the body to send,
-- or an error code of the module's catalogue and its extra JSON members
-- (NULL: none).  The declaration's submission time is submitted_at (when
-- its receipt was issued), not updated_at, which moves with the status.
-- One SQL query: PostgreSQL inlines it into the module's statement, with
-- query_access(), window_at() and bank_account_json() inlined into it.
CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                            p_now timestamptz,
                                            p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT jsonb_build_object(
            'account', CASE WHEN ba.id IS NOT NULL
                            THEN bank_account_json(ba, b, p_lang) END,
            'version', coalesce(ba.version, 0),
            'editable', w.is_open,
            'window', jsonb_build_object(
                'open', w.is_open,
                'opens_at', csibiz_iso(w.opens_at),
                'closes_at', csibiz_iso(w.closes_at)),
            'reauth_required', ba.id IS NOT NULL AND NOT p_reauth_ok,
            'declaration', CASE WHEN d.id IS NOT NULL
                THEN jsonb_build_object(
                    'receipt_no', d.receipt_no,
                    'status', d.status,
                    'debit_month', to_char(d.applies_to_month, 'YYYY-MM'),
                    'submitted_at', csibiz_iso(d.submitted_at)) END)::text
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
