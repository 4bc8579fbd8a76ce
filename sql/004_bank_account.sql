-- Bank details (issue 4): the banks' verified rules, card prefixes (BINs),
-- the known non-debitable accounts, the debit calendar, and the functions
-- behind GET /api/banks, GET /api/account and PUT /api/account
-- (ngx_csibiz_module/ngx_http_csibiz_bank.c).
--
-- Dates and times of the business rules are Asia/Shanghai's whatever the
-- server's or the session's time zone: every function here converts with
-- AT TIME ZONE 'Asia/Shanghai' (UTC+8 all year, no daylight saving time).
--
-- The account number never reaches PostgreSQL in plain text: the module
-- sends it sealed (libsodium AEAD, associated data "account_no"), with its
-- last 4 digits for display and its first 8 digits for the checks below
-- (the card-industry's non-secret part: BIN and product).  The first 8
-- digits are compared, never stored.

-- -------------------------------------------------------------- banks

ALTER TABLE bank ADD COLUMN position int NOT NULL DEFAULT 1000;
COMMENT ON COLUMN bank.position IS 'Order of the bank in GET /api/banks.';

INSERT INTO bank (code, name_zh, name_en) VALUES
    ('BRCB',   '北京农商银行', 'Beijing Rural Commercial Bank'),
    ('CITIC',  '中信银行',     'China CITIC Bank'),
    ('CEB',    '中国光大银行', 'China Everbright Bank'),
    ('CMBC',   '中国民生银行', 'China Minsheng Bank'),
    ('WEBANK', '微众银行',     'WeBank');

-- Which banks debit, by which methods, and their passbooks' account
-- number lengths (digits).  Ops: check these against each bank's current
-- agreement with the social insurance agency before a season opens; an
-- empty passbook_lengths accepts any length from 8 to 25.
UPDATE bank SET position = v.position, accepts_debit = v.accepts_debit,
                methods = v.methods, passbook_lengths = v.lengths
  FROM (VALUES
    ('ICBC',    10, true,  '{card,passbook}'::text[], '{19}'::int[]),
    ('ABC',     20, true,  '{card,passbook}',         '{19}'),
    ('BOC',     30, true,  '{card,passbook}',         '{12,19}'),
    ('CCB',     40, true,  '{card,passbook}',         '{19,20}'),
    ('BOCOM',   50, true,  '{card,passbook}',         '{17,21}'),
    ('PSBC',    60, true,  '{card,passbook}',         '{18,19}'),
    ('BOB',     70, true,  '{card,passbook}',         '{16,20}'),
    ('BRCB',    80, true,  '{card,passbook}',         '{19}'),
    ('CMB',     90, true,  '{card}',                  '{}'),
    ('CITIC',  100, true,  '{card}',                  '{}'),
    ('CEB',    110, true,  '{card}',                  '{}'),
    ('CMBC',   120, true,  '{card}',                  '{}'),
    -- an internet bank without a debit agreement: listed so that the form
    -- can say so
    ('WEBANK', 900, false, '{card}',                  '{}')
  ) AS v (code, position, accepts_debit, methods, lengths)
 WHERE bank.code = v.code;

-- Prefixes are compared with the account number's first 8 digits only.
ALTER TABLE bank_bin ADD CONSTRAINT bank_bin_prefix_head
    CHECK (length(prefix) <= 8);
ALTER TABLE non_debitable_account ADD CONSTRAINT non_debitable_prefix_head
    CHECK (length(prefix) <= 8);

-- Card prefixes: the longest prefix that starts a card number decides its
-- bank and type.  Credit cards are listed so that they can be refused by
-- name (premiums are debited from debit cards and passbooks only).
INSERT INTO bank_bin (prefix, bank_code, card_type) VALUES
    ('622202', 'ICBC',  'debit'),  ('622208', 'ICBC',  'debit'),
    ('622200', 'ICBC',  'debit'),  ('621226', 'ICBC',  'debit'),
    ('621225', 'ICBC',  'debit'),  ('621558', 'ICBC',  'debit'),
    ('621559', 'ICBC',  'debit'),
    ('427020', 'ICBC',  'credit'), ('427030', 'ICBC',  'credit'),
    ('625330', 'ICBC',  'credit'),
    ('622848', 'ABC',   'debit'),  ('622845', 'ABC',   'debit'),
    ('622846', 'ABC',   'debit'),  ('622823', 'ABC',   'debit'),
    ('622836', 'ABC',   'credit'), ('625996', 'ABC',   'credit'),
    ('621661', 'BOC',   'debit'),  ('621663', 'BOC',   'debit'),
    ('621785', 'BOC',   'debit'),  ('621786', 'BOC',   'debit'),
    ('621787', 'BOC',   'debit'),  ('621788', 'BOC',   'debit'),
    ('456351', 'BOC',   'debit'),  ('601382', 'BOC',   'debit'),
    ('625905', 'BOC',   'credit'), ('438088', 'BOC',   'credit'),
    ('621700', 'CCB',   'debit'),  ('436742', 'CCB',   'debit'),
    ('622700', 'CCB',   'debit'),  ('622280', 'CCB',   'debit'),
    ('436728', 'CCB',   'credit'), ('622166', 'CCB',   'credit'),
    ('622260', 'BOCOM', 'debit'),  ('622262', 'BOCOM', 'debit'),
    ('405512', 'BOCOM', 'debit'),  ('601428', 'BOCOM', 'debit'),
    ('458123', 'BOCOM', 'credit'), ('521899', 'BOCOM', 'credit'),
    ('621799', 'PSBC',  'debit'),  ('622188', 'PSBC',  'debit'),
    ('621096', 'PSBC',  'debit'),  ('620062', 'PSBC',  'debit'),
    ('621098', 'PSBC',  'debit'),
    ('625919', 'PSBC',  'credit'),
    ('621468', 'BOB',   'debit'),  ('602969', 'BOB',   'debit'),
    ('622853', 'BOB',   'debit'),
    ('625816', 'BOB',   'credit'),
    ('621067', 'BRCB',  'debit'),  ('622138', 'BRCB',  'debit'),
    ('623068', 'BRCB',  'debit'),
    ('625526', 'BRCB',  'credit'),
    ('621483', 'CMB',   'debit'),  ('621485', 'CMB',   'debit'),
    ('621486', 'CMB',   'debit'),  ('622588', 'CMB',   'debit'),
    ('622609', 'CMB',   'debit'),  ('410062', 'CMB',   'debit'),
    ('439225', 'CMB',   'credit'), ('622575', 'CMB',   'credit'),
    ('622576', 'CMB',   'credit'), ('622577', 'CMB',   'credit'),
    ('621771', 'CITIC', 'debit'),  ('622690', 'CITIC', 'debit'),
    ('622691', 'CITIC', 'debit'),  ('622692', 'CITIC', 'debit'),
    ('622696', 'CITIC', 'debit'),
    ('433669', 'CITIC', 'credit'), ('622918', 'CITIC', 'credit'),
    ('622660', 'CEB',   'debit'),  ('622661', 'CEB',   'debit'),
    ('622662', 'CEB',   'debit'),
    ('625978', 'CEB',   'credit'),
    ('622615', 'CMBC',  'debit'),  ('622617', 'CMBC',  'debit'),
    ('622622', 'CMBC',  'debit'),  ('621691', 'CMBC',  'debit'),
    ('625911', 'CMBC',  'credit'),
    ('623335', 'WEBANK', 'debit');

-- The parents' guide's two accounts that exist but cannot be debited.
-- The prefixes stand for the account kinds (a passbook series, a
-- co-branded card product); ops keep them current with the banks.
INSERT INTO non_debitable_account (bank_code, kind, prefix, reason_zh,
                                   reason_en) VALUES
    ('BOB', 'passbook', '0109',
     '北京银行医保个人账户的存折不能作为扣款存折使用，请改用其他储蓄存折或借记卡。',
     'A Bank of Beijing medical-insurance personal-account passbook cannot '
     'be debited; please use another savings passbook or a debit card.'),
    ('BOCOM', 'card', '62226088',
     '交通银行住房公积金联名卡未提取过住房公积金的不能扣款，请改用其他借记卡或存折。',
     'A Bank of Communications housing-fund card cannot be debited until '
     'housing-fund money has been withdrawn with it; please use another '
     'debit card or a passbook.');

-- ------------------------------------------------------------ calendar

-- The guide's next years, so that the window never silently runs out.
INSERT INTO window_calendar (year, month, open_day, close_day)
SELECT 2028, m, 5, CASE WHEN m = 11 THEN 20 ELSE 25 END
  FROM generate_series(7, 11) AS m;

-- The months whose debit file goes to the banks.  The premium is debited
-- about debit_day; bank details changed up to the end of cutoff_day
-- (Asia/Shanghai) are in that month's file, later changes in the next
-- month's.  The guide: debits about the 25th of September, October and
-- November; failed ones are corrected "before the 19th" of the next month
-- for the next debit, so the 18th is the last day that counts.
CREATE TABLE debit_calendar (
    year       int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    month      int NOT NULL CHECK (month BETWEEN 1 AND 12),
    debit_day  int NOT NULL CHECK (debit_day BETWEEN 1 AND 28),
    cutoff_day int NOT NULL CHECK (cutoff_day BETWEEN 1 AND 28),
    PRIMARY KEY (year, month),
    CONSTRAINT debit_calendar_cutoff CHECK (cutoff_day <= debit_day)
);
COMMENT ON TABLE debit_calendar IS
    '[reference] Debit months: the day of the debit and the last day '
    '(inclusive, Asia/Shanghai) of bank-detail changes that it uses.';

INSERT INTO debit_calendar (year, month, debit_day, cutoff_day)
SELECT y, m, 25, 18
  FROM generate_series(2025, 2028) AS y,
       generate_series(9, 11) AS m;

-- ------------------------------------------------- declarations, keys

-- One pending declaration per insured person: a change before the bank
-- file is sent replaces the pending one (its receipt number too).
CREATE UNIQUE INDEX declaration_one_submitted ON declaration
    (insured_person_id) WHERE status = 'submitted';

CREATE SEQUENCE receipt_seq;

-- The request a key was first used with, as an HMAC (the module's index
-- key) of its normalized fields: the same key with another request is
-- refused rather than answered with the first request's answer.
ALTER TABLE idempotency_key ADD COLUMN request_hash bytea;

-- ------------------------------------------------------------- helpers

-- csibiz_mask() of lib/csibiz_validate.h: the first head and last tail
-- characters kept, each other one '*', at least one masked.
CREATE FUNCTION csibiz_mask(t text, head int, tail int) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := length(t);
    h int;
    k int;
BEGIN
    IF t IS NULL OR n = 0 THEN
        RETURN t;
    END IF;
    h := least(head, n - 1);
    k := least(tail, n - 1 - h);
    RETURN left(t, h) || repeat('*', n - h - k) || right(t, k);
END
$$;

-- A time as the API writes it: Beijing time, "2026-09-05T00:00:00+08:00".
CREATE FUNCTION csibiz_iso(ts timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(ts AT TIME ZONE 'Asia/Shanghai',
                   'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
$$;

-- The declaration window at p_now: whether it is open, and the window's
-- bounds (the current one when open, else the next one; NULL when the
-- calendar has none).  A window runs from 00:00 of open_day to 24:00 of
-- close_day, Beijing time.
CREATE FUNCTION window_at(p_now timestamptz, OUT is_open boolean,
                          OUT opens_at timestamptz, OUT closes_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_day  date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
    v_from date;
    v_to   date;
BEGIN
    SELECT make_date(w.year, w.month, 1) + (w.open_day - 1),
           make_date(w.year, w.month, 1) + w.close_day
      INTO v_from, v_to
      FROM window_calendar w
     WHERE make_date(w.year, w.month, 1) + w.close_day > v_day
     ORDER BY w.year, w.month
     LIMIT 1;

    is_open := v_from IS NOT NULL AND v_from <= v_day;
    opens_at := v_from::timestamp AT TIME ZONE 'Asia/Shanghai';
    closes_at := v_to::timestamp AT TIME ZONE 'Asia/Shanghai';
END
$$;

-- The debit that bank details declared at p_now are used for: the first
-- month of debit_calendar whose cut-off day has not passed; too_late when
-- this month has a debit whose cut-off has passed.
CREATE FUNCTION debit_for(p_now timestamptz, OUT debit_month date,
                          OUT debit_date date, OUT too_late boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_day date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    SELECT make_date(d.year, d.month, 1),
           make_date(d.year, d.month, d.debit_day)
      INTO debit_month, debit_date
      FROM debit_calendar d
     WHERE make_date(d.year, d.month, d.cutoff_day) >= v_day
     ORDER BY d.year, d.month
     LIMIT 1;

    too_late := EXISTS (
        SELECT 1 FROM debit_calendar d
         WHERE d.year = extract(year FROM v_day)
           AND d.month = extract(month FROM v_day)
           AND make_date(d.year, d.month, d.cutoff_day) < v_day);
END
$$;

-- A bank account as its owner may see it: masked, in p_lang ('zh', 'en').
CREATE FUNCTION bank_account_json(a bank_account, p_lang text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'payer', a.payer,
        'method', a.method,
        'bank', jsonb_build_object(
            'code', b.code,
            'name', CASE WHEN p_lang = 'en' THEN b.name_en ELSE b.name_zh END),
        'doc_type', a.doc_type,
        'account_last4', a.account_last4,
        'relative', CASE WHEN a.payer = 'relative' THEN jsonb_build_object(
            'name', csibiz_mask(a.relative_name, 1, 1),
            'gender', a.relative_gender,
            'relation', a.relative_relation,
            'phone', csibiz_mask(a.relative_phone, 3, 4),
            'address', csibiz_mask(left(a.relative_address, 10), 6, 0),
            'postcode', a.relative_postcode) END,
        'updated_at', csibiz_iso(a.updated_at))
      FROM bank b
     WHERE b.code = a.bank_code
$$;

-- -------------------------------------------------- GET /api/banks

CREATE FUNCTION banks_json(p_lang text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('banks', coalesce(jsonb_agg(jsonb_build_object(
               'code', b.code,
               'name', CASE WHEN p_lang = 'en' THEN b.name_en
                            ELSE b.name_zh END,
               'accepts_debit', b.accepts_debit,
               'methods', CASE WHEN b.accepts_debit THEN to_jsonb(b.methods)
                               ELSE '[]'::jsonb END,
               'passbook_lengths',
                   CASE WHEN b.accepts_debit AND 'passbook' = ANY (b.methods)
                        THEN to_jsonb(b.passbook_lengths)
                        ELSE '[]'::jsonb END)
             ORDER BY b.position, b.code), '[]'::jsonb))::text
      FROM bank b
$$;

-- -------------------------------------------------- GET /api/account

-- (status, code, body): code NULL and the body to send, or an error code
-- of the module's catalogue and its extra JSON members (NULL: none).
CREATE FUNCTION bank_account_get(p_user bigint, p_person bigint,
                                 p_now timestamptz, p_reauth_ok boolean,
                                 p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_now  timestamptz := coalesce(p_now, now());
    v_user record;
    v_win  record;
    v_acct bank_account%ROWTYPE;
    v_decl declaration%ROWTYPE;
BEGIN
    SELECT u.phone, p.declared_phone INTO v_user
      FROM portal_user u
      JOIN insured_person p ON p.id = u.insured_person_id
     WHERE u.id = p_user AND p.id = p_person;

    IF NOT FOUND THEN
        RETURN QUERY SELECT 401, 'not_logged_in'::text, NULL::text;
        RETURN;
    END IF;

    IF v_user.declared_phone IS DISTINCT FROM v_user.phone THEN
        RETURN QUERY SELECT 403, 'phone_not_declared'::text, NULL::text;
        RETURN;
    END IF;

    SELECT * INTO v_win FROM window_at(v_now);
    SELECT * INTO v_acct FROM bank_account a
     WHERE a.insured_person_id = p_person;
    SELECT * INTO v_decl FROM declaration d
     WHERE d.insured_person_id = p_person
     ORDER BY d.created_at DESC, d.id DESC
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
        'declaration', CASE WHEN v_decl.id IS NOT NULL THEN jsonb_build_object(
            'receipt_no', v_decl.receipt_no,
            'status', v_decl.status,
            'debit_month', to_char(v_decl.applies_to_month, 'YYYY-MM'),
            'submitted_at', csibiz_iso(v_decl.updated_at)) END)::text;
END
$$;

-- -------------------------------------------------- PUT /api/account

-- Everything of one PUT in one transaction, in this order: the
-- Idempotency-Key (a key already used: its stored answer, or 422 when it
-- came with another request), permission (the parent's phone is still
-- the one declared through the school), the window, step-up (changing an
-- existing account needs p_reauth_ok), the field errors (the module's,
-- p_fields, and those that depend on the bank), the version; then the
-- account, the pending declaration, the audit row and the key's answer
-- are written.  A refused request writes nothing.
--
-- Returns (status, code, body, replayed) as bank_account_get() does.
-- p_account_head: the first 8 digits, NULL unless the module found the
-- number well-formed for p_method.  Relative's fields are ignored unless
-- p_payer is 'relative'.
CREATE FUNCTION bank_account_put(
    p_user bigint, p_person bigint, p_key text, p_request_hash bytea,
    p_now timestamptz, p_reauth_ok boolean, p_client_ip inet, p_lang text,
    p_fields jsonb, p_version int,
    p_payer text, p_method text, p_bank text, p_doc_type text,
    p_account_enc bytea, p_account_head text, p_account_last4 text,
    p_account_len int,
    p_rel_name text, p_rel_gender text, p_rel_relation text,
    p_rel_phone text, p_rel_address text, p_rel_postcode text)
RETURNS TABLE (status int, code text, body text, replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_now     timestamptz := coalesce(p_now, now());
    v_rel     boolean := p_payer = 'relative';
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
    IF p_bank IS NOT NULL THEN
        SELECT * INTO v_bank FROM bank b WHERE b.code = p_bank;

        IF NOT FOUND THEN
            v_fields := v_fields || '{"bank":"unknown"}';

        ELSIF NOT v_bank.accepts_debit THEN
            v_fields := v_fields || '{"bank":"no_debit"}';

        ELSIF p_method IS NOT NULL AND NOT p_method = ANY (v_bank.methods)
        THEN
            v_fields := v_fields || '{"method":"not_accepted"}';

        ELSIF p_method IS NOT NULL AND p_account_head IS NOT NULL THEN

            IF p_method = 'card' THEN
                SELECT * INTO v_bin FROM bank_bin n
                 WHERE p_account_head LIKE n.prefix || '%'
                 ORDER BY length(n.prefix) DESC
                 LIMIT 1;

                IF FOUND AND v_bin.card_type = 'credit' THEN
                    v_fields := v_fields || '{"account_no":"credit_card"}';
                ELSIF NOT FOUND OR v_bin.bank_code <> p_bank THEN
                    v_fields := v_fields || '{"account_no":"bin_mismatch"}';
                END IF;

            ELSIF cardinality(v_bank.passbook_lengths) > 0
                  AND NOT p_account_len = ANY (v_bank.passbook_lengths)
            THEN
                v_fields := v_fields || '{"account_no":"length"}';
            END IF;

            IF NOT v_fields ? 'account_no' THEN
                SELECT CASE WHEN p_lang = 'en' THEN n.reason_en
                            ELSE n.reason_zh END
                  INTO v_reason
                  FROM non_debitable_account n
                 WHERE n.bank_code = p_bank AND n.kind = p_method
                   AND p_account_head LIKE n.prefix || '%'
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

    IF p_version IS DISTINCT FROM coalesce(v_old.version, 0) THEN
        RETURN QUERY SELECT 409, 'conflict'::text,
            jsonb_build_object('version', coalesce(v_old.version, 0))::text,
            false;
        RETURN;
    END IF;

    -- the write
    INSERT INTO bank_account AS a
        (insured_person_id, payer, method, bank_code, doc_type, account_enc,
         account_last4, relative_name, relative_gender, relative_relation,
         relative_phone, relative_address, relative_postcode)
    VALUES (p_person, p_payer, p_method, p_bank, p_doc_type, p_account_enc,
            p_account_last4,
            CASE WHEN v_rel THEN p_rel_name END,
            CASE WHEN v_rel THEN p_rel_gender END,
            CASE WHEN v_rel THEN p_rel_relation END,
            CASE WHEN v_rel THEN p_rel_phone END,
            CASE WHEN v_rel THEN p_rel_address END,
            CASE WHEN v_rel THEN p_rel_postcode END)
    ON CONFLICT (insured_person_id) DO UPDATE SET
        payer = EXCLUDED.payer,
        method = EXCLUDED.method,
        bank_code = EXCLUDED.bank_code,
        doc_type = EXCLUDED.doc_type,
        account_enc = EXCLUDED.account_enc,
        account_last4 = EXCLUDED.account_last4,
        relative_name = EXCLUDED.relative_name,
        relative_gender = EXCLUDED.relative_gender,
        relative_relation = EXCLUDED.relative_relation,
        relative_phone = EXCLUDED.relative_phone,
        relative_address = EXCLUDED.relative_address,
        relative_postcode = EXCLUDED.relative_postcode,
        version = a.version + 1
    RETURNING * INTO v_new;

    SELECT * INTO v_debit FROM debit_for(v_now);

    IF v_debit.debit_month IS NULL THEN
        RAISE EXCEPTION 'debit_calendar has no debit after %',
            (v_now AT TIME ZONE 'Asia/Shanghai')::date;
    END IF;

    v_receipt := 'R' || to_char(v_now AT TIME ZONE 'Asia/Shanghai',
                                'YYYYMMDD')
                 || '-' || lpad(nextval('receipt_seq')::text, 8, '0');

    UPDATE declaration d
       SET receipt_no = v_receipt, applies_to_month = v_debit.debit_month
     WHERE d.insured_person_id = p_person AND d.status = 'submitted';

    IF NOT FOUND THEN
        INSERT INTO declaration (insured_person_id, receipt_no,
                                 applies_to_month)
        VALUES (p_person, v_receipt, v_debit.debit_month);
    END IF;

    INSERT INTO audit_log (actor_user_id, client_ip, action, detail,
                           receipt_no)
    VALUES (p_user, p_client_ip,
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

    INSERT INTO idempotency_key (user_id, key, request_hash, response_status,
                                 response_body)
    VALUES (p_user, p_key, p_request_hash, 200, v_body);

    RETURN QUERY SELECT 200, NULL::text, v_body, false;
END
$$;
