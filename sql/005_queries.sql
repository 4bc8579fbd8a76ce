-- The parents' queries (issue 5): GET /api/me, GET /api/declarations and
-- GET /api/payments (ngx_csibiz_module/ngx_http_csibiz_query.c).  Each is
-- one function that checks the parent's permission and returns the whole
-- answer as JSON, so that a query is one round trip after the session.
--
-- Dates are Beijing time (AT TIME ZONE 'Asia/Shanghai') whatever the
-- server's or the session's time zone, as in 004_bank_account.sql.

-- ------------------------------------------------------------- texts

-- Every word the queries show, in Chinese and English.  advice texts may
-- hold {amount} (the premium + 10 yuan, "170.00"), deadline texts
-- {fix_by} and {month} (the next debit month, or the failed one when it
-- was the year's last).
CREATE TABLE query_text (
    kind text NOT NULL CHECK (kind IN ('gender', 'category',
                                       'declaration_status',
                                       'payment_status', 'reason', 'advice',
                                       'deadline')),
    code text NOT NULL,
    zh   text NOT NULL CHECK (zh <> ''),
    en   text NOT NULL CHECK (en <> ''),
    PRIMARY KEY (kind, code)
);
COMMENT ON TABLE query_text IS
    '[reference] Texts of GET /api/me, /api/declarations and /api/payments: '
    'labels, status meanings, failure reasons and the advice for them.';

INSERT INTO query_text (kind, code, zh, en) VALUES
    ('gender', 'M', '男', 'male'),
    ('gender', 'F', '女', 'female'),
    ('category', 'student', '学生', 'student'),
    ('category', 'child', '儿童', 'child'),

    ('declaration_status', 'submitted', '已提交，等待发送银行',
     'Submitted; waiting to be sent to the bank.'),
    ('declaration_status', 'sent_to_bank', '已发送银行，等待扣款结果',
     'Sent to the bank; waiting for the result of the debit.'),
    ('declaration_status', 'debited', '扣款成功',
     'The premium was debited.'),
    ('declaration_status', 'failed', '扣款失败',
     'The debit failed.'),

    ('payment_status', 'debited', '扣款成功', 'Debited.'),
    ('payment_status', 'failed', '扣款失败', 'The debit failed.'),
    ('payment_status', 'pending', '等待扣款结果',
     'Waiting for the result of the debit.'),

    ('reason', 'insufficient_balance', '账户余额不足',
     'The balance of the account was too low.'),
    ('reason', 'name_mismatch',
     '选择了本人缴费，但账户不是参保人本人的',
     'Paid by the child was chosen, but the account is not in the '
     'child''s name.'),
    ('reason', 'no_such_account', '账号不存在或已销户',
     'There is no such account, or it is closed.'),
    ('reason', 'not_debitable', '该账户不能扣款',
     'This account cannot be debited.'),
    ('reason', 'insured_data_error', '参保人信息有误',
     'The insured child''s data is wrong.'),
    ('reason', 'other', '其他原因', 'Another reason.'),

    ('advice', 'insufficient_balance',
     '请在账户中存入足够金额，并保持余额不少于{amount}元（保费加10元）。',
     'Put money into the account and keep at least {amount} yuan in it '
     '(the premium plus 10 yuan).'),
    ('advice', 'name_mismatch',
     '请登录本网站修改银行信息：缴费人选择“亲属缴费”并填写账户持有人信息，'
     '或改用参保人本人的账户。',
     'Change the bank details on this site: choose paid by a relative and '
     'enter the account holder, or use an account in the child''s name.'),
    ('advice', 'no_such_account',
     '请核对开户银行和账号，登录本网站改为正确的借记卡或存折账号。',
     'Check the bank and the account number, and enter the right debit '
     'card or passbook on this site.'),
    ('advice', 'not_debitable',
     '请登录本网站改用其他可以扣款的借记卡或储蓄存折。',
     'Change to another debit card or savings passbook that can be '
     'debited, on this site.'),
    ('advice', 'insured_data_error',
     '请联系学校（幼儿园）核对并更正参保人信息。',
     'Ask the school (or kindergarten) to check and correct the child''s '
     'data.'),
    ('advice', 'other',
     '请联系开户银行或学校（幼儿园）了解原因并处理。',
     'Ask the bank or the school (or kindergarten) why, and put it right.'),

    ('deadline', 'next',
     '请在{fix_by}前办妥，以便{month}扣款。',
     'Do it before {fix_by} for the {month} debit.'),
    ('deadline', 'last',
     '{month}是本年度最后一次扣款，本年度不再扣款。请联系学校（幼儿园）或所在'
     '街道（乡镇）社保所办理缴费。',
     '{month} was the year''s last debit: there is no other this year. '
     'Please contact the school (or kindergarten) or the local social '
     'insurance office to pay the premium.');

CREATE FUNCTION query_text(p_kind text, p_code text, p_lang text)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_lang = 'en' THEN t.en ELSE t.zh END
      FROM query_text t
     WHERE t.kind = p_kind AND t.code = p_code
$$;

-- ----------------------------------------------------- declarations

-- When the receipt was issued: a pending declaration that is replaced
-- gets a new receipt number and so a new time, while updated_at also
-- moves with the status.
ALTER TABLE declaration ADD COLUMN submitted_at timestamptz;
UPDATE declaration SET submitted_at = created_at;
ALTER TABLE declaration ALTER COLUMN submitted_at SET DEFAULT now();
ALTER TABLE declaration ALTER COLUMN submitted_at SET NOT NULL;

CREATE FUNCTION declaration_submitted_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.submitted_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER declaration_submitted_at BEFORE UPDATE OF receipt_no
    ON declaration FOR EACH ROW
    WHEN (OLD.receipt_no IS DISTINCT FROM NEW.receipt_no)
    EXECUTE FUNCTION declaration_submitted_at();

DROP INDEX declaration_person_idx;
CREATE INDEX declaration_person_idx
    ON declaration (insured_person_id, submitted_at DESC, id DESC);

-- ------------------------------------------------------------ helpers

-- (200, NULL) when p_user is logged in for p_person and may see the
-- child's data (the phone is still the one declared through the school),
-- else the status and error code of the module's catalogue.
CREATE FUNCTION query_access(p_user bigint, p_person bigint,
                             OUT status int, OUT code text)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN u.id IS NULL THEN 401
                WHEN p.declared_phone IS DISTINCT FROM u.phone THEN 403
                ELSE 200 END,
           CASE WHEN u.id IS NULL THEN 'not_logged_in'
                WHEN p.declared_phone IS DISTINCT FROM u.phone
                THEN 'phone_not_declared' END
      FROM (SELECT 1) AS one
      LEFT JOIN portal_user u
             ON u.id = p_user AND u.insured_person_id = p_person
      LEFT JOIN insured_person p ON p.id = u.insured_person_id
$$;

-- Whether the result of the debit of p_month can be shown at p_now: from
-- 00:00 of day p_day of the following month, Beijing time.
CREATE FUNCTION debit_result_visible(p_month date, p_now timestamptz,
                                     p_day int)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (coalesce(p_now, now()) AT TIME ZONE 'Asia/Shanghai')::date
           >= (date_trunc('month', p_month) + interval '1 month')::date
              + (p_day - 1)
$$;

-- A month as the texts say it: "2026年10月", "October 2026".
CREATE FUNCTION query_month(p_month date, p_lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_lang = 'en' THEN to_char(p_month, 'FMMonth YYYY')
                ELSE to_char(p_month, 'YYYY"年"FMMM"月"') END
$$;

-- ------------------------------------------------------ GET /api/me

-- (status, code, body) as bank_account_get() returns them; the answer is
-- built only when access is granted.
CREATE FUNCTION me_get(p_user bigint, p_person bigint, p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
        SELECT jsonb_build_object('person', jsonb_build_object(
                   'name', p.name,
                   'gender', p.gender,
                   'gender_text', query_text('gender', p.gender, p_lang),
                   'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
                   'category', p.category,
                   'category_text', query_text('category', p.category,
                                               p_lang),
                   'school', p.school,
                   'si_card_no_masked', csibiz_mask(p.si_card_no, 3, 4),
                   'id_number_masked', p.id_number_masked,
                   'phone_masked', csibiz_mask(p.declared_phone, 3, 4),
                   'registered_at', csibiz_iso(u.created_at)))::text
          FROM portal_user u
          JOIN insured_person p ON p.id = u.insured_person_id
         WHERE u.id = p_user) END
      FROM query_access(p_user, p_person) AS a
$$;

-- -------------------------------------------- GET /api/declarations

-- A failure reason the texts do not know is shown as "other".
CREATE FUNCTION query_reason(p_code text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_code IS NULL THEN NULL
                WHEN EXISTS (SELECT 1 FROM query_text t
                              WHERE t.kind = 'reason' AND t.code = p_code)
                THEN p_code ELSE 'other' END
$$;

-- Newest first.  A debit's result (debited, failed) shows from day
-- p_result_day of the following month; before that the declaration is
-- still "sent_to_bank".
CREATE FUNCTION declarations_get(p_user bigint, p_person bigint,
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
                       'status_text', query_text('declaration_status',
                                                 d.shown, p_lang),
                       'reason_code', d.reason,
                       'reason_text', query_text('reason', d.reason,
                                                 p_lang))
                   ORDER BY d.submitted_at DESC, d.id DESC), '[]'))::text
          FROM (SELECT x.*, v.shown,
                       CASE WHEN v.shown = 'failed'
                            THEN query_reason(x.reason_code) END AS reason
                  FROM declaration x,
                       LATERAL (SELECT CASE
                           WHEN x.status IN ('debited', 'failed')
                                AND NOT debit_result_visible(
                                    x.applies_to_month, p_now, p_result_day)
                           THEN 'sent_to_bank'
                           ELSE x.status END AS shown) AS v
                 WHERE x.insured_person_id = p_person) AS d) END
      FROM query_access(p_user, p_person) AS a
$$;

-- ------------------------------------------------ GET /api/payments

-- One payment as its owner sees it at p_now: a result shows from day
-- p_result_day of the following month, "pending" before.  A failure
-- comes with advice, and, unless it was the year's last debit month, the
-- day before which to act for the next debit (the day after its cut-off,
-- debit_calendar: "before the 19th").
CREATE FUNCTION payment_json(x payment, p_now timestamptz, p_lang text,
                             p_result_day int)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_month  date := make_date(x.year, x.month, 1);
    v_shown  text := x.status;
    v_reason text;
    v_next   record;
    v_cents  int;
    v_fix_by date;
    v_advice text;
BEGIN
    IF x.status <> 'pending'
       AND NOT debit_result_visible(v_month, p_now, p_result_day)
    THEN
        v_shown := 'pending';
    END IF;

    SELECT make_date(d.year, d.month, 1) AS month,
           make_date(d.year, d.month, d.cutoff_day) + 1 AS before
      INTO v_next
      FROM debit_calendar d
     WHERE d.year = x.year AND d.month > x.month
     ORDER BY d.month
     LIMIT 1;

    IF v_shown = 'failed' THEN
        v_reason := query_reason(x.reason_code);
        v_fix_by := v_next.before;

        SELECT p.amount_cents + 1000 INTO v_cents
          FROM premium p
         WHERE p.year = x.year;

        v_advice := query_text('advice', v_reason, p_lang)
            || CASE WHEN p_lang = 'en' THEN ' ' ELSE '' END
            || query_text('deadline', CASE WHEN v_next.month IS NULL
                                           THEN 'last' ELSE 'next' END,
                          p_lang);

        v_advice := replace(replace(replace(v_advice,
            '{amount}', coalesce(to_char(v_cents / 100.0, 'FM9999990.00'),
                                 '?')),
            '{fix_by}', coalesce(CASE WHEN p_lang = 'en'
                                      THEN to_char(v_fix_by, 'FMDD FMMonth')
                                      ELSE to_char(v_fix_by,
                                                   'FMMM"月"FMDD"日"') END,
                                 '')),
            '{month}', query_month(coalesce(v_next.month, v_month), p_lang));
    END IF;

    RETURN jsonb_build_object(
        'year', x.year,
        'month', x.month,
        'amount_cents', x.amount_cents,
        'status', v_shown,
        'status_text', query_text('payment_status', v_shown, p_lang),
        'reason_code', v_reason,
        'reason_text', query_text('reason', v_reason, p_lang),
        'advice', v_advice,
        'fix_by', to_char(v_fix_by, 'YYYY-MM-DD'),
        'last_debit_month', v_next.month IS NULL);
END
$$;

-- Newest (year, month) first; premium_cents: this year's premium (null
-- when the table has none).
CREATE FUNCTION payments_get(p_user bigint, p_person bigint,
                             p_now timestamptz, p_lang text,
                             p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
        jsonb_build_object(
            'premium_cents', (
                SELECT p.amount_cents FROM premium p
                 WHERE p.year = extract(year FROM coalesce(p_now, now())
                                        AT TIME ZONE 'Asia/Shanghai')),
            'payments', coalesce((
                SELECT jsonb_agg(payment_json(x, coalesce(p_now, now()),
                                              p_lang, p_result_day)
                                 ORDER BY x.year DESC, x.month DESC)
                  FROM payment x
                 WHERE x.insured_person_id = p_person), '[]'))::text END
      FROM query_access(p_user, p_person) AS a
$$;
