-- GET /api/account: (status, code, body): code NULL and the body to send,
-- or an error code of the module's catalogue and its extra JSON members
-- (NULL: none).  The declaration's submission time is submitted_at (when
-- its receipt was issued), not updated_at, which moves with the status.
CREATE OR REPLACE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                            p_now timestamptz,
                                            p_reauth_ok boolean,
                                            p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_now    timestamptz := coalesce(p_now, now());
    v_access record;
    v_win    record;
    v_acct   bank_account%ROWTYPE;
    v_decl   declaration%ROWTYPE;
BEGIN
    SELECT * INTO v_access FROM query_access(p_user, p_person);

    IF v_access.code IS NOT NULL THEN
        RETURN QUERY SELECT v_access.status, v_access.code, NULL::text;
        RETURN;
    END IF;

    SELECT * INTO v_win FROM window_at(v_now);
    SELECT * INTO v_acct FROM bank_account a
     WHERE a.insured_person_id = p_person;
    SELECT * INTO v_decl FROM declaration d
     WHERE d.insured_person_id = p_person
     ORDER BY d.submitted_at DESC, d.id DESC
     LIMIT 1;

    RETURN QUERY SELECT 200, NULL::text, jsonb_build_object(
        'account', CASE WHEN v_acct.id IS NOT NULL
                        THEN bank_account_json(v_acct, p_lang) END,
        'version', coalesce(v_acct.version, 0),
        'editable', v_win.is_open,
        'window', jsonb_build_object(
            'open', v_win.is_open,
            'opens_at', csibiz_iso(v_win.opens_at),
            'closes_at', csibiz_iso(v_win.closes_at)),
        'reauth_required', v_acct.id IS NOT NULL AND NOT p_reauth_ok,
        'declaration', CASE WHEN v_decl.id IS NOT NULL
            THEN jsonb_build_object(
                'receipt_no', v_decl.receipt_no,
                'status', v_decl.status,
                'debit_month', to_char(v_decl.applies_to_month, 'YYYY-MM'),
                'submitted_at', csibiz_iso(v_decl.submitted_at)) END)::text;
END
$$;
