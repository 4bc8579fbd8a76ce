-- GET /api/me of many requests in one statement: app_me() of each
-- element of the arrays (one per request, in the same order), a row each
-- with its ordinal i (1, 2, ...), in order.  me_get() answers a refusal
-- as that element's status and code, so one parent's refusal is that
-- parent's row and never touches another's.  The module runs a request
-- alone with app_me() when this statement fails.  The plan is the
-- generic one always, as in app_payments_batch(): a small batch (a
-- request alone goes as a batch of one) would be planned again at every
-- call.
CREATE OR REPLACE FUNCTION app_me_batch(p_users bigint[], p_persons bigint[],
                                        p_langs text[])
RETURNS TABLE (i int, status int, code text, body text, replayed boolean,
               birth_date_enc bytea, id_number_enc bytea)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
        SELECT a.n::int, m.status, m.code, m.body, false, m.birth_date_enc,
               m.id_number_enc
          FROM unnest($1, $2, $3) WITH ORDINALITY AS a(u, pe, l, n)
         CROSS JOIN LATERAL me_get(a.u, a.pe, a.l) AS m
         ORDER BY a.n;
END
$$;
