-- The parents' queries (issue 5): GET /api/me, GET /api/declarations and
-- GET /api/payments (ngx_csibiz_module/ngx_http_csibiz_query.c): their
-- texts and the declaration's submission time.  Each query is one function
-- of sql/functions/ (me_get, declarations_get, payments_get) that checks
-- the parent's permission and returns the whole answer as JSON, so that a
-- query is one round trip after the session.
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

-- ----------------------------------------------------- declarations

-- When the receipt was issued: a pending declaration that is replaced
-- gets a new receipt number and so a new time, while updated_at also
-- moves with the status (the trigger that sets it:
-- sql/functions/declaration_submitted_at.sql).
ALTER TABLE declaration ADD COLUMN submitted_at timestamptz;
UPDATE declaration SET submitted_at = created_at;
ALTER TABLE declaration ALTER COLUMN submitted_at SET DEFAULT now();
ALTER TABLE declaration ALTER COLUMN submitted_at SET NOT NULL;

DROP INDEX declaration_person_idx;
CREATE INDEX declaration_person_idx
    ON declaration (insured_person_id, submitted_at DESC, id DESC);
