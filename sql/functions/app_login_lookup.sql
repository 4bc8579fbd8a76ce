-- POST /api/login: the account of the ID number's blind index, its
-- password hash, the person, and the masked name and phone; no row
-- without an account.
CREATE OR REPLACE FUNCTION app_login_lookup(p_id_hmac bytea)
RETURNS TABLE (user_id bigint, password_hash text, person_id bigint,
               name_masked text, phone_masked text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT u.id, u.password_hash, p.id,
               csibiz_mask(p.name, 1, 1), csibiz_mask(u.phone, 3, 4)
          FROM insured_person p
          JOIN portal_user u ON u.insured_person_id = p.id
         WHERE p.id_number_hmac = p_id_hmac;
END
$$;
