-- Test fixtures, loaded by `tools/stack test reset` after it empties the
-- data tables (in the same transaction).  The tests create the people
-- they need; reference data comes with the migrations, except the years
-- (declaration windows, debit months, premiums), which are a
-- deployment's: the tests' are those of years.sql.
\ir years.sql
