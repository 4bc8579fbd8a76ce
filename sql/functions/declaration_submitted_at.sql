-- declaration.submitted_at: when the receipt was issued, i.e. when the
-- receipt number changes.  A writer that sets it to another time is
-- followed; otherwise it is csibiz_now(): the request's time that the
-- writer set (PUT /api/account: the test clock too), or now().  The
-- trigger function and its trigger, in one file.
CREATE OR REPLACE FUNCTION declaration_submitted_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.submitted_at IS NOT DISTINCT FROM OLD.submitted_at THEN
        NEW.submitted_at := csibiz_now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER declaration_submitted_at
    BEFORE UPDATE OF receipt_no ON declaration
    FOR EACH ROW
    WHEN (OLD.receipt_no IS DISTINCT FROM NEW.receipt_no)
    EXECUTE FUNCTION declaration_submitted_at();
