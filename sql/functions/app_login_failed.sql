-- POST /api/login, a wrong password: the account's count of consecutive
-- failures and an audit row, at p_now (NULL: now()).
CREATE OR REPLACE FUNCTION app_login_failed(p_user bigint, p_ip inet,
                                            p_now timestamptz)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    WITH u AS (
        UPDATE portal_user SET failed_logins = failed_logins + 1
         WHERE id = p_user
        RETURNING id, failed_logins)
    INSERT INTO audit_log (at, actor_user_id, client_ip, action, detail)
    SELECT coalesce(p_now, now()), u.id, p_ip, 'account.login_failed',
           jsonb_build_object('failures', u.failed_logins)
      FROM u;
END
$$;
