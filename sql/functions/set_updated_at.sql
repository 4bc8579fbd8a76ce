-- The trigger function that keeps updated_at, and its triggers (one file:
-- a table with an updated_at column gets its trigger here).  A writer
-- that sets updated_at itself (a request, with its own clock: the test
-- clock too) is followed; otherwise it is the request's time (the
-- setting csibiz.request_time of bank_account_put(): a second request at
-- the same test clock time leaves the value as it was, and must not get
-- the real time), or now().
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := coalesce(nullif(current_setting(
            'csibiz.request_time', true), '')::timestamptz, now());
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
