-- The declaration window at p_now: whether it is open, and the window's
-- bounds (the current one when open, else the next one; NULL when the
-- calendar has none).  A window runs from 00:00 of open_day to 24:00 of
-- close_day, Beijing time.
CREATE OR REPLACE FUNCTION window_at(p_now timestamptz, OUT is_open boolean,
    OUT opens_at timestamptz, OUT closes_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_day  date := (p_now AT TIME ZONE 'Asia/Shanghai')::date;
    v_from date;
    v_to   date;
BEGIN
    SELECT make_date(w.year, w.month, 1) + (w.open_day - 1),
           make_date(w.year, w.month, 1) + w.close_day
      INTO v_from, v_to
      FROM window_calendar w
     WHERE make_date(w.year, w.month, 1) + w.close_day > v_day
     ORDER BY w.year, w.month
     LIMIT 1;

    is_open := v_from IS NOT NULL AND v_from <= v_day;
    opens_at := v_from::timestamp AT TIME ZONE 'Asia/Shanghai';
    closes_at := v_to::timestamp AT TIME ZONE 'Asia/Shanghai';
END
$$;
