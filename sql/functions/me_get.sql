-- (status, code, body) as bank_account_get() returns them, and the sealed
-- birth date and ID number, which the module opens: the answer and those
-- are there only when access is granted.  The body holds "0000-00-00" and
-- 18 stars in their places, which the module replaces with the date it
-- opens from birth_date_enc and the mask (first 3 and last 4 characters)
-- of the ID number it opens from id_number_enc.  One SQL query that reads
-- the user and the person once, for the access check (query_access_of())
-- and the answer: PostgreSQL inlines the whole into the module's
-- statement, whose plan it keeps for the connection.
--
-- The body is built as text, not with jsonb_build_object(), for speed:
-- jsonb builds a tree, sorts its keys and prints it again, which was most
-- of the statement's cost.  The bytes are jsonb's: keys in its order
-- (shorter first, then bytewise), ", " and ": " between them, strings
-- escaped by csibiz_json().  Codes, masks and times whose CHECK or format
-- leaves no character to escape are quoted as they are
-- (csibiz_mask_json()).  The texts are read once per statement, not once
-- a row (query_text_map()).
--
-- Dropped first: its columns grew by the sealed ones (no view or
-- function depends on it; app_me() and app_me_batch() are PL/pgSQL).
DROP FUNCTION IF EXISTS me_get(bigint, bigint, text);
CREATE FUNCTION me_get(p_user bigint, p_person bigint, p_lang text)
RETURNS TABLE (status int, code text, body text, birth_date_enc bytea,
               id_number_enc bytea)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
               '{"person": {"name": ' || csibiz_json(p.name)
               || ', "gender": "' || p.gender
               || '", "school": ' || csibiz_json(p.school)
               || ', "category": "' || p.category
               || '", "birth_date": "0000-00-00", "gender_text": '
               || coalesce(((SELECT m.maps
                               FROM query_text_map('gender') AS m)
                             [query_lang(p_lang)] -> p.gender::text)::text,
                           'null')
               || ', "phone_masked": '
               || csibiz_mask_json(p.declared_phone, 11, 3, 4)
               || ', "category_text": '
               || coalesce(((SELECT m.maps
                               FROM query_text_map('category') AS m)
                             [query_lang(p_lang)] -> p.category)::text,
                           'null')
               || ', "registered_at": "' || csibiz_iso(u.created_at)
               || '", "id_number_masked": "******************"'
               || ', "si_card_no_masked": '
               || csibiz_mask_json(p.si_card_no, 12, 3, 4)
               || '}}' END,
           CASE WHEN a.code IS NULL THEN p.birth_date_enc END,
           CASE WHEN a.code IS NULL THEN p.id_number_enc END
      FROM (SELECT) AS one
      LEFT JOIN (portal_user u
                 JOIN insured_person p ON p.id = u.insured_person_id)
        ON u.id = p_user AND u.insured_person_id = p_person
     CROSS JOIN LATERAL query_access_of(u.phone, p.declared_phone) AS a
$$;
