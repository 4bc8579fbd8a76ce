-- Whether the result of the debit of p_month can be shown at p_now: from
-- 00:00 of day p_day of the following month, Beijing time.
CREATE OR REPLACE FUNCTION debit_result_visible(p_month date, p_now timestamptz,
                                                p_day int)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (coalesce(p_now, now()) AT TIME ZONE 'Asia/Shanghai')::date
           >= (date_trunc('month', p_month) + interval '1 month')::date
              + (p_day - 1)
$$;
