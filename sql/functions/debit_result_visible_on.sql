-- debit_result_visible() on p_today, the date in Beijing: for a caller
-- that works the date out once for many declarations (declarations_get()).
CREATE OR REPLACE FUNCTION debit_result_visible_on(p_month date,
                                                   p_today date, p_day int)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_today >= (date_trunc('month', p_month) + interval '1 month')::date
                      + (p_day - 1)
$$;
