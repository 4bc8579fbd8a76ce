-- One payment as its owner sees it at p_now, as payments_get() shows it
-- (which builds its rows in one statement for speed): a result shows from
-- day p_result_day of the following month, "pending" before; a failure
-- adds its reason and advice (payment_failure()).  For tools that word
-- one payment as the page does (tools/remind).
CREATE OR REPLACE FUNCTION payment_json(x payment, p_now timestamptz,
                                        p_lang text, p_result_day int)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_month  date := make_date(x.year, x.month, 1);
    v_shown  text := x.status;
    v_next   record;
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

    RETURN jsonb_build_object(
        'year', x.year,
        'month', x.month,
        'amount_cents', x.amount_cents,
        'status', v_shown,
        'status_text', query_text('payment_status', v_shown, p_lang),
        'reason_code', NULL,
        'reason_text', NULL,
        'advice', NULL,
        'fix_by', NULL,
        'last_debit_month', v_next.month IS NULL)
        || CASE WHEN v_shown = 'failed' THEN
               payment_failure(x.reason_code, x.year, x.month, v_next.month,
                               v_next.before, p_lang)
           ELSE '{}' END;
END
$$;
