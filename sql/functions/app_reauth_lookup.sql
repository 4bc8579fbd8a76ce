-- The password check before a bank-detail change: the account's hash; no
-- row for an unknown account.
CREATE OR REPLACE FUNCTION app_reauth_lookup(p_user bigint)
RETURNS TABLE (password_hash text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT u.password_hash FROM portal_user u WHERE u.id = p_user;
END
$$;
