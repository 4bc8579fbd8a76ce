-- Demo data, loaded by `tools/stack demo start` on every start: keep it
-- idempotent (INSERT ... ON CONFLICT DO NOTHING).
--
-- Reference data (banks) comes with the migrations; the years
-- (declaration windows, debit months, premiums) are a deployment's, set by
-- tools/year-setup: the demo's are those of years.sql.  Demo insured
-- persons are not seeded here: their ID numbers must be encrypted with the
-- demo's secret key (var/demo/secret.key), which SQL cannot do;
-- tools/demo-roster loads them through tools/roster-add.

\ir years.sql
