-- GET /api/health: the one statement of the health check, run as the
-- application role.  It answers only when that role may EXECUTE it (as
-- every function the handlers call, sql/grants.sql), and reads the
-- tables a login and a bank form read, as their functions do: a role or
-- grant missing shows as PostgreSQL "down", not as a 500 on every call.
CREATE OR REPLACE FUNCTION csibiz_health() RETURNS int
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM agreement LIMIT 1;
    PERFORM 1 FROM insured_person LIMIT 1;
    PERFORM 1 FROM portal_user LIMIT 1;
    PERFORM 1 FROM bank LIMIT 1;
    RETURN 1;
END
$$;
