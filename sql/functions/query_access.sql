-- (200, NULL) when p_user is logged in for p_person and may see the
-- child's data (the phone is still the one declared through the school),
-- else the status and error code of the module's catalogue.
CREATE OR REPLACE FUNCTION query_access(p_user bigint, p_person bigint,
                                        OUT status int, OUT code text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v record;
BEGIN
    SELECT u.phone, p.declared_phone INTO v
      FROM portal_user u
      JOIN insured_person p ON p.id = u.insured_person_id
     WHERE u.id = p_user AND u.insured_person_id = p_person;

    IF NOT FOUND THEN
        status := 401;
        code := 'not_logged_in';
    ELSIF v.declared_phone IS DISTINCT FROM v.phone THEN
        status := 403;
        code := 'phone_not_declared';
    ELSE
        status := 200;
        code := NULL;
    END IF;
END
$$;
