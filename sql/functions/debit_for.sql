-- The debit that bank details declared at p_now are used for: the first
-- month of debit_calendar whose cut-off day has not passed and whose file
-- has not been made (an export made before the cut-off is over closes
-- the month at that moment); too_late when this month has a debit whose
-- cut-off has passed or whose file is made.
CREATE OR REPLACE FUNCTION debit_for(p_now timestamptz, OUT debit_month date,
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
       AND NOT EXISTS (SELECT 1 FROM debit_export e
                        WHERE e.year = d.year AND e.month = d.month)
     ORDER BY d.year, d.month
     LIMIT 1;

    too_late := EXISTS (
        SELECT 1 FROM debit_calendar d
         WHERE d.year = extract(year FROM v_day)
           AND d.month = extract(month FROM v_day)
           AND (make_date(d.year, d.month, d.cutoff_day) < v_day
                OR EXISTS (SELECT 1 FROM debit_export e
                            WHERE e.year = d.year AND e.month = d.month)));
END
$$;
