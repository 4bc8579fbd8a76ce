-- The ops tools of issue 5 (docs/operations.md): roster import, debit
-- file export, result import and year set-up.  Each tool is a small
-- script (tools/roster-import, tools/debit-export, tools/result-import,
-- tools/year-setup) that feeds one function of sql/functions/ through psql
-- (roster_import, debit_export_make, result_import, year_setup);
-- the function checks, writes and audits in one transaction.
--
-- Files come in through tools/csibiz-keytool (roster: checked with the
-- module's validators, the ID number indexed and sealed; other CSV:
-- split), COPY'd into a temporary staging table that the function reads:
-- set-based, no statement per row.  Personal data never goes into
-- audit_log: counts, months, banks and a file's sha256 only.

-- ------------------------------------------------- debit file export

-- What was exported for a month, kept so that a second run writes the
-- same files byte for byte, and result files can be matched to it.
CREATE TABLE debit_export (
    id          bigserial PRIMARY KEY,
    year        int NOT NULL,
    month       int NOT NULL,
    rows        int NOT NULL CHECK (rows >= 0),
    total_cents bigint NOT NULL CHECK (total_cents >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (year, month),
    FOREIGN KEY (year, month) REFERENCES debit_calendar (year, month)
);

-- One line of a bank's debit file: the account as it was at the export
-- (sealed, associated data "account_no", as bank_account keeps it).
CREATE TABLE debit_export_row (
    ref               text PRIMARY KEY CHECK (ref ~ '^D[0-9]{6}-[0-9]{10}$'),
    export_id         bigint NOT NULL REFERENCES debit_export (id),
    bank_code         text NOT NULL REFERENCES bank (code),
    seq               int NOT NULL CHECK (seq >= 1),
    declaration_id    bigint NOT NULL REFERENCES declaration (id),
    payment_id        bigint NOT NULL UNIQUE REFERENCES payment (id),
    insured_person_id bigint NOT NULL REFERENCES insured_person (id),
    method            text NOT NULL,
    account_enc       bytea NOT NULL,
    account_holder    text NOT NULL,
    si_card_no        text NOT NULL,
    amount_cents      int NOT NULL,
    UNIQUE (export_id, bank_code, seq)
);
