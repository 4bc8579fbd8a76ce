-- POST /api/sms/send: whether the card (or handbook) number and the phone
-- are the insured person's of the ID number's blind index; no row when
-- the roster has no such person.
CREATE OR REPLACE FUNCTION app_sms_lookup(p_id_hmac bytea, p_card text,
                                          p_phone text)
RETURNS TABLE (card_ok boolean, phone_ok boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY
        SELECT coalesce(p_card IN (p.si_card_no, p.handbook_no), false),
               coalesce(p.declared_phone = p_phone, false)
          FROM insured_person p
         WHERE p.id_number_hmac = p_id_hmac;
END
$$;
