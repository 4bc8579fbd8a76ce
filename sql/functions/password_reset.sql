-- A parent's password reset, after the module has proven the SMS code,
-- matched the identity and checked that p_phone is the phone the school
-- declares: the new hash, the account's phone set to that phone (how a
-- parent whose number changed gets back in), the failure count cleared
-- (which also lifts reset_required), and an audit row without personal
-- data, in one transaction.  The declared phone is checked again here, so
-- a roster change since the module's look-up wins.  The audit row is
-- dated p_now (NULL: now()), the test clock's time when it is set.
-- Returns the user's id, or NULL when the phone is no longer the
-- declared one.
CREATE OR REPLACE FUNCTION password_reset(p_user_id bigint, p_phone text,
                                          p_hash text, p_ip inet,
                                          p_now timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    UPDATE portal_user u
       SET password_hash = p_hash, phone = p.declared_phone,
           failed_logins = 0, locked_until = NULL
      FROM insured_person p
     WHERE u.id = p_user_id AND p.id = u.insured_person_id
       AND p.declared_phone = p_phone
    RETURNING u.id INTO v_id;

    IF v_id IS NOT NULL THEN
        INSERT INTO audit_log (at, actor_user_id, client_ip, action)
        VALUES (coalesce(p_now, now()), v_id, p_ip,
                'account.password_reset');
    END IF;

    RETURN v_id;
END
$$;
