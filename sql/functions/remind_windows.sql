-- When tools/remind sends each kind of reminder of a debit month (Beijing
-- dates, both inclusive): "before" from p_before_days before the debit
-- day (not before the month's 1st) to the debit day; "failed" from day
-- p_result_day of the next month (when the parents' pages show the
-- result) to the next debit month's cut-off, the last day a fix counts
-- (no end after the year's last debit month).  No rows: no debit month.
CREATE OR REPLACE FUNCTION remind_windows(p_year int, p_month int,
                                          p_before_days int,
                                          p_result_day int)
RETURNS TABLE (kind text, due_from date, due_until date, exported boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT k.kind,
               CASE k.kind
               WHEN 'before' THEN greatest(make_date(d.year, d.month, 1),
                                           make_date(d.year, d.month,
                                                     d.debit_day)
                                           - p_before_days)
               ELSE (make_date(d.year, d.month, 1) + interval '1 month')::date
                    + (p_result_day - 1) END,
               CASE k.kind
               WHEN 'before' THEN make_date(d.year, d.month, d.debit_day)
               ELSE (SELECT make_date(n.year, n.month, n.cutoff_day)
                       FROM debit_calendar n
                      WHERE n.year = d.year AND n.month > d.month
                      ORDER BY n.month
                      LIMIT 1) END,
               EXISTS (SELECT 1 FROM debit_export e
                        WHERE e.year = d.year AND e.month = d.month)
          FROM debit_calendar d
         CROSS JOIN (VALUES (1, 'before'), (2, 'failed')) AS k (n, kind)
         WHERE d.year = p_year AND d.month = p_month
         ORDER BY k.n;
END
$$;
