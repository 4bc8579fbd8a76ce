-- Whether the result of the debit of p_month can be shown at p_now: from
-- 00:00 of day p_day of the following month, Beijing time
-- (debit_result_visible_on() on the date in Beijing at p_now).
CREATE OR REPLACE FUNCTION debit_result_visible(p_month date, p_now timestamptz,
                                                p_day int)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT debit_result_visible_on(
               p_month,
               (coalesce(p_now, now()) AT TIME ZONE 'Asia/Shanghai')::date,
               p_day)
$$;
