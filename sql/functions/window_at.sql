-- The declaration window at p_now, one row: whether it is open, and the
-- window's bounds (the current one when open, else the next one; NULL
-- when the calendar has none).  A window runs from 00:00 of open_day to
-- 24:00 of close_day, Beijing time.  One SQL query: inlined into the
-- query that calls it in FROM.
CREATE OR REPLACE FUNCTION window_at(p_now timestamptz)
RETURNS TABLE (is_open boolean, opens_at timestamptz, closes_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT w.day_from IS NOT NULL AND w.day_from <= t.day,
           w.day_from::timestamp AT TIME ZONE 'Asia/Shanghai',
           w.day_to::timestamp AT TIME ZONE 'Asia/Shanghai'
      FROM (SELECT (p_now AT TIME ZONE 'Asia/Shanghai')::date AS day) AS t
      LEFT JOIN LATERAL (
           SELECT make_date(c.year, c.month, 1) + (c.open_day - 1) AS day_from,
                  make_date(c.year, c.month, 1) + c.close_day AS day_to
             FROM window_calendar c
            WHERE make_date(c.year, c.month, 1) + c.close_day > t.day
            ORDER BY c.year, c.month
            LIMIT 1) AS w ON true
$$;
