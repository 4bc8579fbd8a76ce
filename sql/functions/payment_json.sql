-- One payment as its owner sees it at p_now: a result shows from day
-- p_result_day of the following month, "pending" before.  A failure
-- comes with advice, and, unless it was the year's last debit month, the
-- day before which to act for the next debit (the day after its cut-off,
-- debit_calendar: "before the 19th").
CREATE OR REPLACE FUNCTION payment_json(x payment, p_now timestamptz,
                                        p_lang text, p_result_day int)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_month  date := make_date(x.year, x.month, 1);
    v_shown  text := x.status;
    v_reason text;
    v_next   record;
    v_cents  int;
    v_fix_by date;
    v_advice text;
BEGIN
    IF x.status <> 'pending'
       AND NOT debit_result_visible(v_month, p_now, p_result_day)
    THEN
        v_shown := 'pending';
    END IF;

    SELECT make_date(d.year, d.month, 1) AS month,
           make_date(d.year, d.month, d.cutoff_day) + 1 AS before
      INTO v_next
      FROM debit_calendar d
     WHERE d.year = x.year AND d.month > x.month
     ORDER BY d.month
     LIMIT 1;

    IF v_shown = 'failed' THEN
        v_reason := query_reason(x.reason_code);
        v_fix_by := v_next.before;

        SELECT p.amount_cents + 1000 INTO v_cents
          FROM premium p
         WHERE p.year = x.year;

        v_advice := query_text('advice', v_reason, p_lang)
            || CASE WHEN p_lang = 'en' THEN ' ' ELSE '' END
            || query_text('deadline', CASE WHEN v_next.month IS NULL
                                           THEN 'last' ELSE 'next' END,
                          p_lang);

        v_advice := replace(replace(replace(v_advice,
            '{amount}', coalesce(to_char(v_cents / 100.0, 'FM9999990.00'),
                                 '?')),
            '{fix_by}', coalesce(CASE WHEN p_lang = 'en'
                                      THEN to_char(v_fix_by, 'FMDD FMMonth')
                                      ELSE to_char(v_fix_by,
                                                   'FMMM"月"FMDD"日"') END,
                                 '')),
            '{month}', query_month(coalesce(v_next.month, v_month), p_lang));
    END IF;

    RETURN jsonb_build_object(
        'year', x.year,
        'month', x.month,
        'amount_cents', x.amount_cents,
        'status', v_shown,
        'status_text', query_text('payment_status', v_shown, p_lang),
        'reason_code', v_reason,
        'reason_text', query_text('reason', v_reason, p_lang),
        'advice', v_advice,
        'fix_by', to_char(v_fix_by, 'YYYY-MM-DD'),
        'last_debit_month', v_next.month IS NULL);
END
$$;
