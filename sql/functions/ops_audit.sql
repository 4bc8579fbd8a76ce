-- An ops tool's run in audit_log: action ops.<tool>, no actor (a person
-- at the console, not a portal user).
CREATE OR REPLACE FUNCTION ops_audit(p_action text, p_detail jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO audit_log (action, detail) VALUES ('ops.' || p_action, p_detail)
$$;
