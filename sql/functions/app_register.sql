-- POST /api/register: the account and its audit row, dated p_now (NULL:
-- now()).  No row when the person has an account already.
CREATE OR REPLACE FUNCTION app_register(p_person bigint, p_phone text,
                                        p_hash text, p_agreement text,
                                        p_ip inet, p_now timestamptz)
RETURNS TABLE (user_id bigint, created_at text, name_masked text,
               phone_masked text)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        WITH u AS (
            INSERT INTO portal_user AS n (insured_person_id, phone,
                                          password_hash, agreement_version,
                                          agreed_at, created_at)
            VALUES (p_person, p_phone, p_hash, p_agreement,
                    coalesce(p_now, now()), coalesce(p_now, now()))
            ON CONFLICT (insured_person_id) DO NOTHING
            RETURNING n.id, n.created_at),
        a AS (
            INSERT INTO audit_log (at, actor_user_id, client_ip, action,
                                   detail)
            SELECT u.created_at, u.id, p_ip, 'account.register',
                   jsonb_build_object('agreement_version', p_agreement)
              FROM u)
        SELECT u.id,
               to_char(u.created_at AT TIME ZONE 'Asia/Shanghai',
                       'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
               csibiz_mask(p.name, 1, 1), csibiz_mask(p_phone, 3, 4)
          FROM u JOIN insured_person p ON p.id = p_person;
END
$$;
