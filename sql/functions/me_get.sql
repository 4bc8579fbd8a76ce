-- (status, code, body) as bank_account_get() returns them; the answer is
-- built only when access is granted.  The birth date and the ID number
-- are sealed: the answer holds "0000-00-00" and 18 stars in their places,
-- which the module replaces with the date it opens from
-- insured_person.birth_date_enc and the mask (first 3 and last 4
-- characters) of the ID number it opens from id_number_enc.  One SQL query
-- that reads the user and the person once, for the access check
-- (query_access_of()) and the answer, with csibiz_mask() inlined and the
-- texts read only for an answer: PostgreSQL inlines the whole into the
-- module's statement, whose plan it keeps for the connection.
CREATE OR REPLACE FUNCTION me_get(p_user bigint, p_person bigint,
                                  p_lang text)
RETURNS TABLE (status int, code text, body text)
LANGUAGE sql STABLE AS $$
    SELECT a.status, a.code, CASE WHEN a.code IS NULL THEN
               jsonb_build_object('person', jsonb_build_object(
                   'name', p.name,
                   'gender', p.gender,
                   'gender_text', (
                       SELECT CASE WHEN p_lang = 'en' THEN t.en ELSE t.zh END
                         FROM query_text t
                        WHERE t.kind = 'gender' AND t.code = p.gender::text),
                   'birth_date', '0000-00-00',
                   'category', p.category,
                   'category_text', (
                       SELECT CASE WHEN p_lang = 'en' THEN t.en ELSE t.zh END
                         FROM query_text t
                        WHERE t.kind = 'category' AND t.code = p.category),
                   'school', p.school,
                   'si_card_no_masked', csibiz_mask(p.si_card_no, 3, 4),
                   'id_number_masked', repeat('*', 18),
                   'phone_masked', csibiz_mask(p.declared_phone, 3, 4),
                   'registered_at', csibiz_iso(u.created_at)))::text END
      FROM (SELECT) AS one
      LEFT JOIN (portal_user u
                 JOIN insured_person p ON p.id = u.insured_person_id)
        ON u.id = p_user AND u.insured_person_id = p_person
     CROSS JOIN LATERAL query_access_of(u.phone, p.declared_phone) AS a
$$;
