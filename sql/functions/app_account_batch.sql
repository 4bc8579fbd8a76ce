-- GET /api/account of many requests in one statement: app_account_get()
-- of each element of the arrays (one per request, in the same order), a
-- row each with its ordinal i (1, 2, ...), in order.  bank_account_get()
-- answers a refusal as that element's status and code, so one parent's
-- refusal is that parent's row and never touches another's.  The module
-- runs a request alone with app_account_get() when this statement fails.
-- The window is worked out once per distinct time of the elements (w:
-- one, the time now, in production, and one in tests, whose clock is
-- one setting), not once per element: a NULL time is now(), as in
-- bank_account_get().  MATERIALIZED keeps it apart from the elements'
-- join.  The plan is the generic one always, as in app_payments_batch():
-- a small batch (a request alone goes as a batch of one) would be planned
-- again at every call.
CREATE OR REPLACE FUNCTION app_account_batch(p_users bigint[],
                                             p_persons bigint[],
                                             p_nows timestamptz[],
                                             p_reauth_oks boolean[],
                                             p_langs text[])
RETURNS TABLE (i int, status int, code text, body text, replayed boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
        WITH w AS MATERIALIZED (
            SELECT t.t, x.body, x.is_open
              FROM (SELECT DISTINCT coalesce(t, now()) AS t
                      FROM unnest($3) AS t) AS t,
                   window_json(t.t) AS x)
        SELECT a.n::int, b.status, b.code, b.body, false
          FROM unnest($1, $2, $3, $4, $5) WITH ORDINALITY
               AS a(u, pe, t, ok, l, n)
          JOIN w ON w.t = coalesce(a.t, now())
         CROSS JOIN LATERAL bank_account_get(a.u, a.pe, w.body, w.is_open,
                                             a.ok, a.l) AS b
         ORDER BY a.n;
END
$$;
