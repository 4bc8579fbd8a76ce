-- GET /api/declarations of many requests in one statement:
-- app_declarations() of each element of the arrays (one per request, in
-- the same order), a row each with its ordinal i, in order; a refusal is
-- that element's status and code.  The module runs a request alone with
-- app_declarations() when this statement fails.
-- The plan is the generic one always, as in app_payments_batch(): a
-- small batch (a request alone goes as a batch of one) would be planned
-- again at every call.
CREATE OR REPLACE FUNCTION app_declarations_batch(p_users bigint[],
                                                  p_persons bigint[],
                                                  p_langs text[],
                                                  p_nows timestamptz[],
                                                  p_result_days int[])
RETURNS TABLE (i int, status int, code text, body text, replayed boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
        SELECT a.n::int, d.status, d.code, d.body, false
          FROM unnest($1, $2, $3, $4, $5) WITH ORDINALITY
               AS a(u, pe, l, t, dy, n)
         CROSS JOIN LATERAL declarations_get(a.u, a.pe, a.t, a.l, a.dy) AS d
         ORDER BY a.n;
END
$$;
