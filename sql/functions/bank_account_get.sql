-- GET /api/account: bank_account_get_base()'s answer with the
-- declaration's submitted_at (the receipt's time) as its submission time,
-- not updated_at, which moves with the status.
CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
    p_now timestamptz, p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT g.status, g.code,
           CASE WHEN d.submitted_at IS NULL THEN g.body
                ELSE jsonb_set(g.body::jsonb, '{declaration,submitted_at}',
                               to_jsonb(csibiz_iso(d.submitted_at)))::text
           END
      FROM bank_account_get_base(p_user, p_person, p_now, p_reauth_ok,
                                 p_lang) g
      LEFT JOIN declaration d
        ON d.insured_person_id = p_person
       -- an error row's body is not a JSON document: never cast it
       AND d.receipt_no = CASE WHEN g.status = 200
                               THEN g.body::jsonb #>> '{declaration,receipt_no}'
                          END
$$;
