-- GET /api/payments as the application role: payments_get(), which is
-- inlined into the query (t/056-sql-inlined.t reads it from here, by its
-- $n); PL/pgSQL keeps its plan for the connection.
CREATE OR REPLACE FUNCTION app_payments(p_user bigint, p_person bigint,
                                        p_lang text, p_now timestamptz,
                                        p_result_day int)
RETURNS TABLE (status int, code text, body text, replayed boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT g.status, g.code, g.body, false
          FROM payments_get($1, $2, $4, $3, $5) AS g;
END
$$;
