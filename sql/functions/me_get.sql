-- (status, code, body) as bank_account_get() returns them; the answer is
-- built only when access is granted.  The birth date and the ID number
-- are sealed: the answer holds "0000-00-00" and 18 stars in their places,
-- which the module replaces with the date it opens from
-- insured_person.birth_date_enc and the mask (first 3 and last 4
-- characters) of the ID number it opens from id_number_enc.
CREATE OR REPLACE FUNCTION me_get(p_user bigint, p_person bigint,
                                  p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN (
            SELECT jsonb_build_object('person', jsonb_build_object(
                       'name', p.name,
                       'gender', p.gender,
                       'gender_text', query_text('gender', p.gender, p_lang),
                       'birth_date', '0000-00-00',
                       'category', p.category,
                       'category_text', query_text('category', p.category,
                                                   p_lang),
                       'school', p.school,
                       'si_card_no_masked', csibiz_mask(p.si_card_no, 3, 4),
                       'id_number_masked', repeat('*', 18),
                       'phone_masked', csibiz_mask(p.declared_phone, 3, 4),
                       'registered_at', csibiz_iso(u.created_at)))::text
              FROM portal_user u
              JOIN insured_person p ON p.id = u.insured_person_id
             WHERE u.id = p_user) END
          FROM query_access(p_user, p_person) AS a;
END
$$;
