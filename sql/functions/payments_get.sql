-- Newest (year, month) first; premium_cents: this year's premium (null
-- when the table has none).
CREATE OR REPLACE FUNCTION payments_get(p_user bigint, p_person bigint,
                                        p_now timestamptz, p_lang text,
                                        p_result_day int)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
            jsonb_build_object(
                'premium_cents', (
                    SELECT p.amount_cents FROM premium p
                     WHERE p.year = extract(year FROM coalesce(p_now, now())
                                            AT TIME ZONE 'Asia/Shanghai')),
                'payments', coalesce((
                    SELECT jsonb_agg(payment_json(x, coalesce(p_now, now()),
                                                  p_lang, p_result_day)
                                     ORDER BY x.year DESC, x.month DESC)
                      FROM payment x
                     WHERE x.insured_person_id = p_person), '[]'))::text END
          FROM query_access(p_user, p_person) AS a;
END
$$;
