-- A declaration inserted without its copy of the bank details takes the
-- person's bank account as it is at that moment (what PUT /api/account
-- writes explicitly); without one it stays without (test fixtures).  The
-- trigger function and its trigger, in one file.
CREATE OR REPLACE FUNCTION declaration_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.account_enc IS NULL THEN
        SELECT a.payer, a.method, a.bank_code, a.account_enc,
               a.relative_name
          INTO NEW.payer, NEW.method, NEW.bank_code, NEW.account_enc,
               NEW.relative_name
          FROM bank_account a
         WHERE a.insured_person_id = NEW.insured_person_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER declaration_account
    BEFORE INSERT ON declaration
    FOR EACH ROW EXECUTE FUNCTION declaration_account();
