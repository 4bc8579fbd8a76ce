-- The declaration window, the debit months and the premium of a year, as
-- given: months of p_window_months open p_open_days[i] to
-- p_close_days[i]; debits in p_debit_months on p_debit_day with changes
-- up to p_cutoff_day.  Months of the year not given are removed.  The
-- premium cannot change once a debit of the year exists.  Returns what
-- changed (nothing on a second run with the same values).
CREATE OR REPLACE FUNCTION year_setup(p_year int, p_premium_cents int,
                                      p_window_months int[], p_open_days int[],
                                      p_close_days int[], p_debit_months int[],
                                      p_debit_day int, p_cutoff_day int,
    OUT window_changes int, OUT debit_changes int,
                                      OUT premium_changed boolean)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_old int;
    v_n   int;
BEGIN
    IF cardinality(p_window_months) <> cardinality(p_open_days)
       OR cardinality(p_window_months) <> cardinality(p_close_days)
    THEN
        RAISE EXCEPTION 'one open and one close day per window month';
    END IF;

    SELECT amount_cents INTO v_old FROM premium WHERE year = p_year
       FOR UPDATE;

    premium_changed := v_old IS DISTINCT FROM p_premium_cents;

    IF premium_changed AND v_old IS NOT NULL
       AND EXISTS (SELECT 1 FROM payment WHERE year = p_year)
    THEN
        RAISE EXCEPTION 'the premium of % has debits already: it stays % '
            'cents', p_year, v_old;
    END IF;

    IF premium_changed THEN
        INSERT INTO premium (year, amount_cents)
        VALUES (p_year, p_premium_cents)
        ON CONFLICT (year) DO UPDATE SET amount_cents = EXCLUDED.amount_cents;
    END IF;

    DELETE FROM window_calendar w
     WHERE w.year = p_year AND NOT w.month = ANY (p_window_months);
    GET DIAGNOSTICS window_changes = ROW_COUNT;

    INSERT INTO window_calendar AS w (year, month, open_day, close_day)
    SELECT p_year, m.month, m.open_day, m.close_day
      FROM unnest(p_window_months, p_open_days, p_close_days)
           AS m (month, open_day, close_day)
    ON CONFLICT (year, month) DO UPDATE
       SET open_day = EXCLUDED.open_day, close_day = EXCLUDED.close_day
     WHERE (w.open_day, w.close_day)
           IS DISTINCT FROM (EXCLUDED.open_day, EXCLUDED.close_day);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    window_changes := window_changes + v_n;

    DELETE FROM debit_calendar d
     WHERE d.year = p_year AND NOT d.month = ANY (p_debit_months)
       AND NOT EXISTS (SELECT 1 FROM debit_export e
                        WHERE e.year = d.year AND e.month = d.month);
    GET DIAGNOSTICS debit_changes = ROW_COUNT;

    INSERT INTO debit_calendar AS d (year, month, debit_day, cutoff_day)
    SELECT p_year, m, p_debit_day, p_cutoff_day
      FROM unnest(p_debit_months) AS m
    ON CONFLICT (year, month) DO UPDATE
       SET debit_day = EXCLUDED.debit_day, cutoff_day = EXCLUDED.cutoff_day
     WHERE (d.debit_day, d.cutoff_day)
           IS DISTINCT FROM (EXCLUDED.debit_day, EXCLUDED.cutoff_day);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    debit_changes := debit_changes + v_n;

    PERFORM ops_audit('year_setup', jsonb_build_object(
        'year', p_year, 'premium_cents', p_premium_cents,
        'window_changes', window_changes, 'debit_changes', debit_changes,
        'premium_changed', premium_changed));
END
$$;
