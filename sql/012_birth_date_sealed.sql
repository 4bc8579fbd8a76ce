-- The birth date, with the masked ID number (its first 3 and last 4
-- characters), left about 3 candidates for the 11 hidden ones: it is
-- sealed now, as the ID number is (AEAD under the seal key, associated
-- data "birth_date", written by csibiz-keytool, opened by the module for
-- GET /api/me), with a keyed HMAC beside it that the roster import
-- compares (sealed values never repeat): HMAC-SHA256 under the index
-- key's "birth_date" subkey of hex(id_number_hmac) || 'YYYY-MM-DD'.
--
-- PostgreSQL has no key, so the rows of an existing roster are sealed
-- before this migration by tools/seal-birth-dates, which adds these two
-- columns (hence IF NOT EXISTS) and fills them; a row still unsealed
-- makes this migration, and with it the whole upgrade, fail unchanged.

ALTER TABLE insured_person
    ADD COLUMN IF NOT EXISTS birth_date_enc bytea,
    ADD COLUMN IF NOT EXISTS birth_date_hmac bytea;

DO $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM insured_person
     WHERE birth_date_enc IS NULL OR birth_date_hmac IS NULL;
    IF n > 0 THEN
        RAISE EXCEPTION '% insured_person rows have no sealed birth date: '
                        'run tools/seal-birth-dates first', n;
    END IF;
END
$$;

ALTER TABLE insured_person
    DROP COLUMN birth_date,
    ALTER COLUMN birth_date_enc SET NOT NULL,
    ALTER COLUMN birth_date_hmac SET NOT NULL,
    ADD CONSTRAINT insured_person_birth_date_enc
        CHECK (octet_length(birth_date_enc) = 51),
    ADD CONSTRAINT insured_person_birth_date_hmac
        CHECK (octet_length(birth_date_hmac) = 32);
