-- An ops tool's run in audit_log: action ops.<tool>, no actor (a person
-- at the console, not a portal user).  It runs as the owner: the ops
-- role may add these rows, not write audit_log itself.
CREATE OR REPLACE FUNCTION ops_audit(p_action text, p_detail jsonb) RETURNS void
LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    INSERT INTO audit_log (action, detail) VALUES ('ops.' || p_action, p_detail)
$$;
