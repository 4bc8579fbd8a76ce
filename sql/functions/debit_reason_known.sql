-- The six reasons a bank may give for a failed debit (the texts of the
-- parents' queries explain each).
CREATE OR REPLACE FUNCTION debit_reason_known(p_code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_code IN ('insufficient_balance', 'name_mismatch',
                      'no_such_account', 'not_debitable',
                      'insured_data_error', 'other')
$$;
