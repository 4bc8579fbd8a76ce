-- Imports the staged roster: rows csibiz-keytool refused keep their
-- error; then, in file order, a second row for the same ID number, a
-- social security card number or a medical-insurance handbook number
-- given to two people in the file, or one that belongs to another person
-- already, are refused too.  The other rows are upserted by the ID
-- number's blind index in one statement: a row whose values are all the
-- same (the birth date's by its HMAC, as sealed values never repeat)
-- changes nothing (updated_at stays), an empty phone or handbook number
-- keeps the one a person has, a new one replaces it.  With p_dry_run
-- nothing but the audit row is written.
-- Returns the counts; the refused rows are roster_stage's with an error.
CREATE OR REPLACE FUNCTION roster_import(p_dry_run boolean, p_sha256 text,
                                         OUT total int, OUT inserted int,
                                         OUT updated int, OUT unchanged int,
                                         OUT rejected int)
LANGUAGE plpgsql AS $$
BEGIN
    -- the same person twice: the later rows are refused
    PERFORM ops_stage_repeats('roster_stage', 'id_number_hmac', 'id_number');

    -- one card for two people of the file
    PERFORM ops_stage_repeats('roster_stage', 'si_card_no', 'si_card_no');

    -- a card that belongs to someone else
    UPDATE roster_stage s SET error = 'si_card_no: belongs to another person'
      FROM insured_person p
     WHERE s.error IS NULL AND p.si_card_no = s.si_card_no
       AND p.id_number_hmac <> s.id_number_hmac;

    -- the same for the handbook number, when a row gives one
    PERFORM ops_stage_repeats('roster_stage', 'handbook_no', 'handbook_no');

    UPDATE roster_stage s
       SET error = 'handbook_no: belongs to another person'
      FROM insured_person p
     WHERE s.error IS NULL AND p.handbook_no = s.handbook_no
       AND p.id_number_hmac <> s.id_number_hmac;

    SELECT count(*),
           count(*) FILTER (WHERE s.error IS NULL AND p.id IS NULL),
           count(*) FILTER (WHERE s.error IS NULL AND p.id IS NOT NULL
               AND (p.name, p.gender, p.birth_date_hmac, p.si_card_no,
                    p.category, p.school, p.declared_phone, p.handbook_no)
                   IS DISTINCT FROM
                   (s.name, s.gender, s.birth_date_hmac, s.si_card_no,
                    s.category, s.school,
                    coalesce(s.declared_phone, p.declared_phone),
                    coalesce(s.handbook_no, p.handbook_no))),
           count(*) FILTER (WHERE s.error IS NOT NULL)
      INTO total, inserted, updated, rejected
      FROM roster_stage s
      LEFT JOIN insured_person p ON p.id_number_hmac = s.id_number_hmac;

    unchanged := total - inserted - updated - rejected;

    IF NOT p_dry_run THEN
        INSERT INTO insured_person AS p
            (id_number_hmac, id_number_enc, name, gender,
             birth_date_enc, birth_date_hmac, si_card_no, category, school,
             declared_phone, handbook_no)
        SELECT s.id_number_hmac, s.id_number_enc,
               s.name, s.gender, s.birth_date_enc, s.birth_date_hmac,
               s.si_card_no, s.category,
               s.school, s.declared_phone, s.handbook_no
          FROM roster_stage s
         WHERE s.error IS NULL
         ORDER BY s.line
        ON CONFLICT (id_number_hmac) DO UPDATE SET
            name = EXCLUDED.name,
            gender = EXCLUDED.gender,
            birth_date_enc = EXCLUDED.birth_date_enc,
            birth_date_hmac = EXCLUDED.birth_date_hmac,
            si_card_no = EXCLUDED.si_card_no,
            category = EXCLUDED.category,
            school = EXCLUDED.school,
            declared_phone = coalesce(EXCLUDED.declared_phone,
                                      p.declared_phone),
            handbook_no = coalesce(EXCLUDED.handbook_no, p.handbook_no)
         WHERE (p.name, p.gender, p.birth_date_hmac, p.si_card_no, p.category,
                p.school, p.declared_phone, p.handbook_no)
               IS DISTINCT FROM
               (EXCLUDED.name, EXCLUDED.gender, EXCLUDED.birth_date_hmac,
                EXCLUDED.si_card_no, EXCLUDED.category, EXCLUDED.school,
                coalesce(EXCLUDED.declared_phone, p.declared_phone),
                coalesce(EXCLUDED.handbook_no, p.handbook_no));
    END IF;

    PERFORM ops_audit('roster_import', jsonb_build_object(
        'dry_run', p_dry_run, 'sha256', p_sha256, 'rows', total,
        'inserted', inserted, 'updated', updated, 'unchanged', unchanged,
        'rejected', rejected));
END
$$;
