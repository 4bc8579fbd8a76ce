-- Reference data seeded with the schema.  Kept by `tools/stack test reset`.

-- The declaration windows and the premiums are the deployment's, set by
-- tools/year-setup (sql/rewritten.txt: they were seeded here once).

-- Major banks, names only.  accepts_debit, methods and passbook_lengths are
-- the column defaults (debitable, card and passbook, lengths unknown) until
-- a later migration sets the verified rules; bank_bin and
-- non_debitable_account are empty for now.
INSERT INTO bank (code, name_zh, name_en) VALUES
    ('ICBC',  '中国工商银行',     'Industrial and Commercial Bank of China'),
    ('ABC',   '中国农业银行',     'Agricultural Bank of China'),
    ('BOC',   '中国银行',         'Bank of China'),
    ('CCB',   '中国建设银行',     'China Construction Bank'),
    ('BOCOM', '交通银行',         'Bank of Communications'),
    ('PSBC',  '中国邮政储蓄银行', 'Postal Savings Bank of China'),
    ('CMB',   '招商银行',         'China Merchants Bank'),
    ('BOB',   '北京银行',         'Bank of Beijing');
