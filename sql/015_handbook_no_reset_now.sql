-- The child's medical-insurance handbook number (医疗保险手册号): the
-- parents' guide lets registration take it in place of the social
-- security card number, so the roster may give it beside the card number
-- (tools/roster-import's optional 9th column).  Kept as si_card_no is:
-- in plain text, unique, in the form lib/'s csibiz_handbook_no_normalize()
-- accepts (8 to 20 digits and capital letters).  NULL: none given.
ALTER TABLE insured_person
    ADD COLUMN handbook_no text UNIQUE
        CHECK (handbook_no ~ '^[0-9A-Z]{8,20}$');

-- password_reset() dates its audit row with the request's time (the test
-- clock when set), a new parameter: the old signature goes.  The module
-- and this migration belong together.
DROP FUNCTION IF EXISTS password_reset(bigint, text, text, inet);
