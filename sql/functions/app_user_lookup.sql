-- POST /api/register (and the password reset): the insured person of the
-- ID number's blind index and card (or handbook) number, the declared
-- phone, the person's account if any, and the agreement version in force
-- at p_now (NULL: now()).  No row when the roster has no match.
CREATE OR REPLACE FUNCTION app_user_lookup(p_id_hmac bytea, p_card text,
                                           p_now timestamptz)
RETURNS TABLE (person_id bigint, declared_phone text, user_id bigint,
               agreement_version text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT p.id, p.declared_phone, u.id,
               (SELECT a.version FROM agreement a
                 WHERE a.published_at <= coalesce(p_now, now())
                 ORDER BY a.published_at DESC LIMIT 1)
          FROM insured_person p
          LEFT JOIN portal_user u ON u.insured_person_id = p.id
         WHERE p.id_number_hmac = p_id_hmac
           AND p_card IN (p.si_card_no, p.handbook_no);
END
$$;
