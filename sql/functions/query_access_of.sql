-- query_access() on the rows it read: p_phone the user's phone (NULL when
-- p_user is not logged in for p_person: portal_user.phone is NOT NULL),
-- p_declared_phone the one the school declares.  For a caller that reads
-- those rows itself (me_get()) and so need not read them twice.  No FROM:
-- inlined where it is used.
CREATE OR REPLACE FUNCTION query_access_of(p_phone text,
                                           p_declared_phone text)
RETURNS TABLE (status int, code text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_phone IS NULL THEN 401
                WHEN p_declared_phone IS DISTINCT FROM p_phone THEN 403
                ELSE 200 END,
           CASE WHEN p_phone IS NULL THEN 'not_logged_in'
                WHEN p_declared_phone IS DISTINCT FROM p_phone
                THEN 'phone_not_declared' END
$$;
