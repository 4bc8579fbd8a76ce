-- GET /api/me as the application role: me_get(), which answers the
-- sealed birth date and ID number too (the module opens them).  The query
-- is the statement's of before the roles: me_get() and its helpers are
-- inlined into it (t/056-sql-inlined.t reads it from here, by its $n),
-- and PL/pgSQL keeps its plan for the connection.
CREATE OR REPLACE FUNCTION app_me(p_user bigint, p_person bigint,
                                  p_lang text)
RETURNS TABLE (status int, code text, body text, replayed boolean,
               birth_date_enc bytea, id_number_enc bytea)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT m.status, m.code, m.body, false, m.birth_date_enc,
               m.id_number_enc
          FROM me_get($1, $2, $3) AS m;
END
$$;
