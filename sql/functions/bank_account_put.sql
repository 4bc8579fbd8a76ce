-- PUT /api/account.  Everything of one PUT in one transaction, in this
-- order: the Idempotency-Key (a key already used: its stored answer, or
-- 422 when it came with another request), permission (the parent's phone
-- is still the one declared through the school), the window, step-up
-- (changing an existing account needs p_reauth_ok), the field errors (the
-- module's, p_fields, and those that depend on the bank), the version;
-- then the account, the pending declaration, the audit row and the key's
-- answer are written.  A refused request writes nothing.
--
-- Every time written is p_now (NULL: now()), so that under the test clock
-- (csibiz_test_now) a receipt's number, its submission time and its debit
-- month agree; the triggers get it as csibiz.now (csibiz_now()).  The
-- declaration keeps its own copy of the account: a change before the
-- cut-off of its debit month replaces that month's pending declaration;
-- a later one is a new declaration for the next
-- month, and the one in force at the cut-off stays what that month's
-- debit file takes (docs/operations.md, "A declaration's life").
--
-- Returns (status, code, body, replayed) as bank_account_get() does.
--
-- p_form: the form's values as the module checked and normalized them,
-- one JSON object; a value that is missing or that the module refused is
-- left out (its error is in p_fields):
--   version (number), payer, method, bank, doc_type, account_enc (the
--   sealed number in hex), account_head (its first 8 digits, only when the
--   module found the number well-formed for method), account_last4,
--   account_len (number), relative_name, relative_gender,
--   relative_relation, relative_phone, relative_address,
--   relative_postcode (only when payer is 'relative': the module reads
--   them for a relative's account only).
-- The request's context (who, when, from where, the key and the request's
-- hash, the module's field errors) stays in typed parameters: it is not
-- what the parent entered, and each has its own type.
CREATE OR REPLACE FUNCTION bank_account_put(
    p_user bigint, p_person bigint, p_key text, p_request_hash bytea,
    p_now timestamptz, p_reauth_ok boolean, p_client_ip inet, p_lang text,
    p_fields jsonb, p_form jsonb)
RETURNS TABLE (status int, code text, body text, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_now     timestamptz := coalesce(p_now, now());
    v_form    record;
    v_user    record;
    v_key     idempotency_key%ROWTYPE;
    v_win     record;
    v_old     bank_account%ROWTYPE;
    v_new     bank_account%ROWTYPE;
    v_bank    bank%ROWTYPE;
    v_bin     bank_bin%ROWTYPE;
    v_debit   record;
    v_fields  jsonb := coalesce(p_fields, '{}');
    v_reason  text;
    v_receipt text;
    v_message text;
    v_body    text;
BEGIN
    PERFORM set_config('csibiz.now', v_now::text, true);

    SELECT * INTO v_form FROM jsonb_to_record(p_form) AS x (
        version int, payer text, method text, bank text, doc_type text,
        account_enc text, account_head text, account_last4 text,
        account_len int, relative_name text, relative_gender text,
        relative_relation text, relative_phone text, relative_address text,
        relative_postcode text);

    -- one writer per insured person at a time; every check below sees
    -- what the previous one committed (READ COMMITTED: a new snapshot per
    -- statement)
    SELECT u.phone, p.declared_phone INTO v_user
      FROM portal_user u
      JOIN insured_person p ON p.id = u.insured_person_id
     WHERE u.id = p_user AND p.id = p_person
       FOR UPDATE OF p;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 401, 'not_logged_in'::text, NULL::text, false;
        RETURN;
    END IF;

    SELECT * INTO v_key FROM idempotency_key k
     WHERE k.user_id = p_user AND k.key = p_key;

    IF FOUND THEN
        IF v_key.request_hash IS DISTINCT FROM p_request_hash THEN
            RETURN QUERY SELECT 422, 'idempotency_key_reused'::text,
                                NULL::text, false;
        ELSE
            RETURN QUERY SELECT v_key.response_status, NULL::text,
                                v_key.response_body, true;
        END IF;
        RETURN;
    END IF;

    IF v_user.declared_phone IS DISTINCT FROM v_user.phone THEN
        RETURN QUERY SELECT 403, 'phone_not_declared'::text, NULL::text,
                            false;
        RETURN;
    END IF;

    SELECT * INTO v_win FROM window_at(v_now);

    IF NOT v_win.is_open THEN
        RETURN QUERY SELECT 403, 'window_closed'::text, jsonb_build_object(
            'next_window', CASE WHEN v_win.opens_at IS NOT NULL
                THEN jsonb_build_object(
                    'opens_at', csibiz_iso(v_win.opens_at),
                    'closes_at', csibiz_iso(v_win.closes_at)) END)::text,
            false;
        RETURN;
    END IF;

    SELECT * INTO v_old FROM bank_account a
     WHERE a.insured_person_id = p_person;

    IF v_old.id IS NOT NULL AND NOT p_reauth_ok THEN
        RETURN QUERY SELECT 403, 'reauth_required'::text, NULL::text, false;
        RETURN;
    END IF;

    -- the checks that depend on the bank
    IF v_form.bank IS NOT NULL THEN
        SELECT * INTO v_bank FROM bank b WHERE b.code = v_form.bank;

        IF NOT FOUND THEN
            v_fields := v_fields || '{"bank":"unknown"}';

        ELSIF NOT v_bank.accepts_debit THEN
            v_fields := v_fields || '{"bank":"no_debit"}';

        ELSIF v_form.method IS NOT NULL
              AND NOT v_form.method = ANY (v_bank.methods)
        THEN
            v_fields := v_fields || '{"method":"not_accepted"}';

        ELSIF v_form.method IS NOT NULL AND v_form.account_head IS NOT NULL THEN

            IF v_form.method = 'card' THEN
                SELECT * INTO v_bin FROM bank_bin n
                 WHERE v_form.account_head LIKE n.prefix || '%'
                 ORDER BY length(n.prefix) DESC
                 LIMIT 1;

                IF FOUND AND v_bin.card_type = 'credit' THEN
                    v_fields := v_fields || '{"account_no":"credit_card"}';
                ELSIF NOT FOUND OR v_bin.bank_code <> v_form.bank THEN
                    v_fields := v_fields || '{"account_no":"bin_mismatch"}';
                END IF;

            ELSIF cardinality(v_bank.passbook_lengths) > 0
                  AND NOT v_form.account_len = ANY (v_bank.passbook_lengths)
            THEN
                v_fields := v_fields || '{"account_no":"length"}';
            END IF;

            IF NOT v_fields ? 'account_no' THEN
                SELECT CASE WHEN p_lang = 'en' THEN n.reason_en
                            ELSE n.reason_zh END
                  INTO v_reason
                  FROM non_debitable_account n
                 WHERE n.bank_code = v_form.bank AND n.kind = v_form.method
                   AND v_form.account_head LIKE n.prefix || '%'
                 ORDER BY length(n.prefix) DESC
                 LIMIT 1;

                IF v_reason IS NOT NULL THEN
                    v_fields := v_fields
                                || '{"account_no":"non_debitable"}';
                END IF;
            END IF;
        END IF;
    END IF;

    IF v_fields <> '{}' THEN
        RETURN QUERY SELECT 400, 'invalid'::text,
            (jsonb_build_object('fields', v_fields)
             || CASE WHEN v_reason IS NOT NULL
                     THEN jsonb_build_object('reason', v_reason)
                     ELSE '{}' END)::text,
            false;
        RETURN;
    END IF;

    IF v_form.version IS DISTINCT FROM coalesce(v_old.version, 0) THEN
        RETURN QUERY SELECT 409, 'conflict'::text,
            jsonb_build_object('version', coalesce(v_old.version, 0))::text,
            false;
        RETURN;
    END IF;

    -- the write
    INSERT INTO bank_account AS a
        (insured_person_id, payer, method, bank_code, doc_type, account_enc,
         account_last4, relative_name, relative_gender, relative_relation,
         relative_phone, relative_address, relative_postcode, created_at,
         updated_at)
    VALUES (p_person, v_form.payer, v_form.method, v_form.bank,
            v_form.doc_type, decode(v_form.account_enc, 'hex'),
            v_form.account_last4, v_form.relative_name,
            v_form.relative_gender, v_form.relative_relation,
            v_form.relative_phone, v_form.relative_address,
            v_form.relative_postcode, v_now, v_now)
    ON CONFLICT (insured_person_id) DO UPDATE SET
        (payer, method, bank_code, doc_type, account_enc, account_last4,
         relative_name, relative_gender, relative_relation, relative_phone,
         relative_address, relative_postcode, version, updated_at)
        = (EXCLUDED.payer, EXCLUDED.method, EXCLUDED.bank_code,
           EXCLUDED.doc_type, EXCLUDED.account_enc, EXCLUDED.account_last4,
           EXCLUDED.relative_name, EXCLUDED.relative_gender,
           EXCLUDED.relative_relation, EXCLUDED.relative_phone,
           EXCLUDED.relative_address, EXCLUDED.relative_postcode,
           a.version + 1, v_now)
    RETURNING * INTO v_new;

    SELECT * INTO v_debit FROM debit_for(v_now);

    IF v_debit.debit_month IS NULL THEN
        RAISE EXCEPTION 'debit_calendar has no debit after %',
            (v_now AT TIME ZONE 'Asia/Shanghai')::date;
    END IF;

    v_receipt := 'R' || to_char(v_now AT TIME ZONE 'Asia/Shanghai',
                                'YYYYMMDD')
                 || '-' || lpad(nextval('receipt_seq')::text, 8, '0');

    -- the pending declaration of the same debit month only: one of an
    -- earlier month is the one in force at that month's cut-off
    UPDATE declaration d
       SET receipt_no = v_receipt, submitted_at = v_now, updated_at = v_now,
           payer = v_new.payer, method = v_new.method,
           bank_code = v_new.bank_code, account_enc = v_new.account_enc,
           relative_name = v_new.relative_name
     WHERE d.insured_person_id = p_person AND d.status = 'submitted'
       AND d.applies_to_month = v_debit.debit_month;

    IF NOT FOUND THEN
        INSERT INTO declaration (insured_person_id, receipt_no,
                                 applies_to_month, payer, method, bank_code,
                                 account_enc, relative_name, created_at,
                                 updated_at, submitted_at)
        VALUES (p_person, v_receipt, v_debit.debit_month, v_new.payer,
                v_new.method, v_new.bank_code, v_new.account_enc,
                v_new.relative_name, v_now, v_now, v_now);
    END IF;

    INSERT INTO audit_log (at, actor_user_id, client_ip, action, detail,
                           receipt_no)
    VALUES (v_now, p_user, p_client_ip,
            CASE WHEN v_old.id IS NULL THEN 'bank_account.create'
                 ELSE 'bank_account.change' END,
            jsonb_build_object(
                'insured_person_id', p_person,
                'version', v_new.version,
                'old', CASE WHEN v_old.id IS NOT NULL
                            THEN bank_account_json(v_old, 'zh') END,
                'new', bank_account_json(v_new, 'zh'),
                'debit_month', to_char(v_debit.debit_month, 'YYYY-MM')),
            v_receipt);

    IF p_lang = 'en' THEN
        v_message := CASE WHEN v_debit.too_late
                          THEN 'Too late for this month''s debit file. '
                          ELSE '' END
            || 'These bank details will be used for the '
            || to_char(v_debit.debit_month, 'FMMonth YYYY')
            || ' debit (about ' || to_char(v_debit.debit_date, 'FMDD Mon')
            || ').';
    ELSE
        v_message := CASE WHEN v_debit.too_late
                          THEN '本月扣款信息已报送银行，'
                          ELSE '' END
            || '本次信息将用于'
            || to_char(v_debit.debit_month, 'YYYY"年"FMMM"月"')
            || '的扣款（约' || to_char(v_debit.debit_date, 'FMMM"月"FMDD"日"')
            || '）。';
    END IF;

    v_body := jsonb_build_object(
        'receipt_no', v_receipt,
        'version', v_new.version,
        'debit', jsonb_build_object(
            'month', to_char(v_debit.debit_month, 'YYYY-MM'),
            'date', to_char(v_debit.debit_date, 'YYYY-MM-DD'),
            'too_late_for_this_month', v_debit.too_late),
        'message', v_message,
        'account', bank_account_json(v_new, p_lang))::text;

    -- created_at stays the real time: keys are purged by their real age
    INSERT INTO idempotency_key (user_id, key, request_hash, response_status,
                                 response_body)
    VALUES (p_user, p_key, p_request_hash, 200, v_body);

    RETURN QUERY SELECT 200, NULL::text, v_body, false;
END
$$;
