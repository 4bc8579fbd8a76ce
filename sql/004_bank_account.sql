-- Bank details (issue 4): the banks' verified rules, card prefixes (BINs),
-- the known non-debitable accounts and the debit calendar.  The functions
-- behind GET /api/banks, GET /api/account and PUT /api/account
-- (ngx_csibiz_module/ngx_http_csibiz_account.c) are in sql/functions/.
--
-- Dates and times of the business rules are Asia/Shanghai's whatever the
-- server's or the session's time zone: every function converts with
-- AT TIME ZONE 'Asia/Shanghai' (UTC+8 all year, no daylight saving time).
--
-- The account number never reaches PostgreSQL in plain text: the module
-- sends it sealed (libsodium AEAD, associated data "account_no"), with its
-- last 4 digits for display and its first 8 digits for bank_account_put()'s
-- checks (the card-industry's non-secret part: BIN and product).  The
-- first 8 digits are compared, never stored.

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

-- The debit months are the deployment's, set by tools/year-setup
-- (sql/rewritten.txt: 2025-2028 were seeded here once).

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
