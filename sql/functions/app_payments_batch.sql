-- GET /api/payments of many requests in one statement: app_payments() of
-- each element of the arrays (one per request, in the same order), a row
-- each with its ordinal i (1, 2, ...), in order; a refusal is that
-- element's status and code (query_access()).  payments_get() is inlined
-- into the query, its reference tables read once for the whole batch.
-- The module runs a request alone with app_payments() when this
-- statement fails.  The plan is the generic one always: PL/pgSQL would
-- plan the query again at every call for small batches (its estimate
-- for the generic plan assumes 10 elements, dearer than a custom plan
-- for 1 or 2), and planning it costs more than running it for dozens.
CREATE OR REPLACE FUNCTION app_payments_batch(p_users bigint[],
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
        SELECT a.n::int, g.status, g.code, g.body, false
          FROM unnest($1, $2, $3, $4, $5) WITH ORDINALITY
               AS a(u, pe, l, t, dy, n)
         CROSS JOIN LATERAL payments_get(a.u, a.pe, a.t, a.l, a.dy) AS g
         ORDER BY a.n;
END
$$;
