-- The trigger function that keeps updated_at, and its triggers (one file:
-- a table with an updated_at column gets its trigger here).  A writer
-- that sets updated_at to another time is followed; otherwise it is
-- csibiz_now(): the request's time that the writer set (the test clock
-- too), or now().  A transaction of `csibiz-keytool rotate` (csibiz.reseal
-- on) leaves it: a value sealed again under a new key is no change.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
       AND coalesce(current_setting('csibiz.reseal', true), '') <> 'on' THEN
        NEW.updated_at := csibiz_now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER insured_person_updated_at
    BEFORE UPDATE ON insured_person
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE OR REPLACE TRIGGER bank_account_updated_at
    BEFORE UPDATE ON bank_account
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE OR REPLACE TRIGGER declaration_updated_at
    BEFORE UPDATE ON declaration
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
