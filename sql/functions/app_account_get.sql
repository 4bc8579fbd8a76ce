-- GET /api/account as the application role: bank_account_get(), which is
-- inlined into the query (t/056-sql-inlined.t reads it from here, by its
-- $n); PL/pgSQL keeps its plan for the connection.
CREATE OR REPLACE FUNCTION app_account_get(p_user bigint, p_person bigint,
                                           p_now timestamptz,
                                           p_reauth_ok boolean, p_lang text)
RETURNS TABLE (status int, code text, body text, replayed boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, a.body, false
          FROM bank_account_get($1, $2, $3, $4, $5) AS a;
END
$$;
