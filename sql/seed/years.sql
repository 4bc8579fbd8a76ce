-- The demo's and the tests' years: declaration windows July to November
-- 2025-2028, days 5-25 (November: 5-20); debits on the 25th of
-- September, October and November with changes up to the 18th; a premium
-- of 160 yuan for 2025-2027 (the guide's example).  What migrations once
-- seeded into every database: a deployment sets its own years with
-- tools/year-setup.  Included by demo.sql and test.sql; idempotent.

INSERT INTO window_calendar (year, month, open_day, close_day)
SELECT y, m, 5, CASE WHEN m = 11 THEN 20 ELSE 25 END
  FROM generate_series(2025, 2028) AS y,
       generate_series(7, 11) AS m
ON CONFLICT DO NOTHING;

INSERT INTO premium (year, amount_cents)
SELECT y, 16000 FROM generate_series(2025, 2027) AS y
ON CONFLICT DO NOTHING;

INSERT INTO debit_calendar (year, month, debit_day, cutoff_day)
SELECT y, m, 25, 18
  FROM generate_series(2025, 2028) AS y,
       generate_series(9, 11) AS m
ON CONFLICT DO NOTHING;
