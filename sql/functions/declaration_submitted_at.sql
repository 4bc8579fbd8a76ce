-- declaration.submitted_at: when the receipt was issued, i.e. when the
-- receipt number changes.  The trigger function and its trigger, in one
-- file.
CREATE OR REPLACE FUNCTION declaration_submitted_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.submitted_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER declaration_submitted_at
    BEFORE UPDATE OF receipt_no ON declaration
    FOR EACH ROW
    WHEN (OLD.receipt_no IS DISTINCT FROM NEW.receipt_no)
    EXECUTE FUNCTION declaration_submitted_at();
