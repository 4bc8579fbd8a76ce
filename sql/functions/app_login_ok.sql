-- POST /api/login, the password verified: the account's failures
-- cleared, the login's time and its audit row, at p_now (NULL: now()).
CREATE OR REPLACE FUNCTION app_login_ok(p_user bigint, p_ip inet,
                                        p_now timestamptz)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    WITH u AS (
        UPDATE portal_user
           SET failed_logins = 0, last_login_at = coalesce(p_now, now())
         WHERE id = p_user
        RETURNING id, last_login_at)
    INSERT INTO audit_log (at, actor_user_id, client_ip, action)
    SELECT u.last_login_at, u.id, p_ip, 'account.login' FROM u;
END
$$;
