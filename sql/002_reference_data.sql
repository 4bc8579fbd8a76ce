-- Reference data seeded with the schema.  Kept by `tools/stack test reset`.

-- The declaration window: July to November, days 5-25 (November: 5-20),
-- per the parents' guide.
INSERT INTO window_calendar (year, month, open_day, close_day)
SELECT y, m, 5, CASE WHEN m = 11 THEN 20 ELSE 25 END
  FROM generate_series(2025, 2027) AS y,
       generate_series(7, 11) AS m;

-- Demo values: the guide's example year charged 160 yuan.  Replace with the
-- published amounts in a later migration.
INSERT INTO premium (year, amount_cents) VALUES
    (2025, 16000),
    (2026, 16000),
    (2027, 16000);

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
