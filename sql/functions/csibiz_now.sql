-- The time a write is stamped with: the csibiz.now setting when one is
-- set, else now().  bank_account_put() sets it for its transaction to the
-- request's time (the test clock's under csibiz_test_now), so that the
-- triggers set_updated_at and declaration_submitted_at, which stamp a row
-- whose writer left the time as it was, agree with the request: a writer
-- cannot be seen to set a time equal to the old one, which a fixed test
-- clock does on every change after the first.
CREATE OR REPLACE FUNCTION csibiz_now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('csibiz.now', true), '')
                    ::timestamptz, now())
$$;
