-- bank_account_get() is one function again (sql/functions/
-- bank_account_get.sql): 008 had renamed the first one to
-- bank_account_get_base() and wrapped it to show the declaration's
-- submitted_at.  The wrapped one goes.
DROP FUNCTION IF EXISTS bank_account_get_base(bigint, bigint, timestamptz,
                                              boolean, text);
