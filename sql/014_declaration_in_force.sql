-- One model of a declaration's life (docs/operations.md, "A declaration's
-- life"): a declaration keeps the bank details it was submitted with, so
-- that a month's debit file takes the declaration in force at that
-- month's cut-off whatever the parent changes between the cut-off and
-- the export, and a bank's result lands on exactly the declaration that
-- was exported.
--
-- A declaration's copy of the account: what PUT /api/account wrote with
-- it (the account number sealed as bank_account keeps it).  NULL only for
-- a declaration without a bank account (none is made so; test fixtures).
ALTER TABLE declaration
    ADD COLUMN payer         text CHECK (payer IN ('self', 'relative')),
    ADD COLUMN method        text CHECK (method IN ('card', 'passbook')),
    ADD COLUMN bank_code     text REFERENCES bank (code),
    ADD COLUMN account_enc   bytea,
    ADD COLUMN relative_name text,
    ADD CONSTRAINT declaration_account_whole
        CHECK (num_nulls(payer, method, bank_code, account_enc) IN (0, 4)
               AND (payer = 'relative') = (relative_name IS NOT NULL));

-- Declarations made before: the account as it is now (the best that is
-- known; nothing kept the older numbers).
UPDATE declaration d
   SET payer = a.payer, method = a.method, bank_code = a.bank_code,
       account_enc = a.account_enc, relative_name = a.relative_name
  FROM bank_account a
 WHERE a.insured_person_id = d.insured_person_id;

-- A change before a month's cut-off replaces that month's pending
-- declaration; a change after it is a declaration of its own for the
-- next month, and the one in force at the cut-off stays as it was.  So
-- one pending declaration per person and debit month.
DROP INDEX declaration_one_submitted;
CREATE UNIQUE INDEX declaration_one_submitted ON declaration
    (insured_person_id, applies_to_month) WHERE status = 'submitted';

-- One debit per person and year that is not failed: a person with a debit
-- done or waiting for its result is in no further file that year.
CREATE UNIQUE INDEX payment_one_per_year ON payment
    (insured_person_id, year) WHERE status IN ('debited', 'pending');

-- One line per person in a month's file, and the line's payment is that
-- month's.
ALTER TABLE debit_export_row
    ADD CONSTRAINT debit_export_row_one_per_person
        UNIQUE (export_id, insured_person_id);

-- November is the last debit month of a year: a failure then is not
-- tried again that year, and a change after its cut-off is for the next
-- year's first debit month.
ALTER TABLE debit_calendar
    ADD CONSTRAINT debit_calendar_by_november CHECK (month <= 11);
