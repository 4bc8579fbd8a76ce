-- One row: (200, NULL) when p_user is logged in for p_person and may see
-- the child's data (the phone is still the one declared through the
-- school), else the status and error code of the module's catalogue
-- (query_access_of()).  A set-returning SQL function with one query, so
-- that PostgreSQL inlines it into its caller's query (no call, no plan of
-- its own).
CREATE OR REPLACE FUNCTION query_access(p_user bigint, p_person bigint)
RETURNS TABLE (status int, code text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code
      FROM (SELECT) AS one
      LEFT JOIN (portal_user u
                 JOIN insured_person p ON p.id = u.insured_person_id)
        ON u.id = p_user AND u.insured_person_id = p_person
     CROSS JOIN LATERAL query_access_of(u.phone, p.declared_phone) AS a
$$;
