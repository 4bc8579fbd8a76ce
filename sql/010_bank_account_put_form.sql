-- PUT /api/account hands the form to bank_account_put() as one jsonb value
-- (sql/functions/bank_account_put.sql) instead of 16 positional
-- parameters: the old signature goes.  The module and this migration
-- belong together: a module of before calls the old signature.
DROP FUNCTION IF EXISTS bank_account_put(
    bigint, bigint, text, bytea, timestamptz, boolean, inet, text,
    jsonb, int, text, text, text, text, bytea, text, text, int,
    text, text, text, text, text, text);
