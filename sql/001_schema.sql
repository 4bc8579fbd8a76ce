-- csibiz schema, first cut.  Applied by tools/migrate in one transaction.
--
-- Sensitive values (ID numbers, bank account numbers) never appear in
-- plaintext: the module encrypts them (libsodium AEAD) into *_enc bytea
-- columns and looks them up by a keyed hash, the "blind index" *_hmac.
--
-- Tables whose comment contains "[reference]" hold data seeded by
-- migrations; `tools/stack test reset` keeps them and truncates the rest.
--
-- Tables and data only: the functions, and the triggers with their
-- functions (set_updated_at, refuse_change), are in sql/functions/.

-- ----------------------------------------------------- reference data

CREATE TABLE bank (
    code             text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$'),
    name_zh          text NOT NULL,
    name_en          text NOT NULL,
    accepts_debit    boolean NOT NULL DEFAULT true,
    methods          text[] NOT NULL DEFAULT '{card,passbook}'
                     CHECK (cardinality(methods) > 0
                            AND methods <@ '{card,passbook}'::text[]),
    passbook_lengths int[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE bank IS
    '[reference] Banks that a premium can be debited from.';

CREATE TABLE bank_bin (
    prefix    text PRIMARY KEY CHECK (prefix ~ '^[0-9]{3,12}$'),
    bank_code text NOT NULL REFERENCES bank (code),
    card_type text NOT NULL CHECK (card_type IN ('debit', 'credit'))
);
CREATE INDEX bank_bin_bank_code_idx ON bank_bin (bank_code);
COMMENT ON TABLE bank_bin IS
    '[reference] Card number prefixes (BIN/IIN) by bank and card type.';

CREATE TABLE non_debitable_account (
    id        serial PRIMARY KEY,
    bank_code text NOT NULL REFERENCES bank (code),
    kind      text NOT NULL CHECK (kind IN ('card', 'passbook')),
    prefix    text NOT NULL CHECK (prefix ~ '^[0-9]{1,19}$'),
    reason_zh text NOT NULL,
    reason_en text NOT NULL,
    UNIQUE (bank_code, kind, prefix)
);
COMMENT ON TABLE non_debitable_account IS
    '[reference] Accounts that exist but cannot be debited (e.g. medical '
    'insurance passbooks, housing-fund cards).';

CREATE TABLE window_calendar (
    year      int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    month     int NOT NULL CHECK (month BETWEEN 1 AND 12),
    open_day  int NOT NULL CHECK (open_day BETWEEN 1 AND 31),
    close_day int NOT NULL,
    PRIMARY KEY (year, month),
    CONSTRAINT window_calendar_days CHECK (close_day BETWEEN open_day AND 31)
);
COMMENT ON TABLE window_calendar IS
    '[reference] Days of each month (inclusive) on which bank details can be '
    'declared or changed.';

CREATE TABLE premium (
    year         int PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    amount_cents int NOT NULL CHECK (amount_cents > 0)
);
COMMENT ON TABLE premium IS '[reference] Yearly premium per insured person.';

-- ------------------------------------------------------------- people

-- The roster, loaded from the schools.
CREATE TABLE insured_person (
    id               bigserial PRIMARY KEY,
    id_number_hmac   bytea NOT NULL UNIQUE
                     CHECK (octet_length(id_number_hmac) BETWEEN 16 AND 64),
    id_number_enc    bytea NOT NULL,
    id_number_masked text NOT NULL
                     CHECK (id_number_masked ~ '^[0-9]{3}\*+[0-9]{3}[0-9X]$'),
    name             text NOT NULL CHECK (name <> ''),
    gender           char(1) NOT NULL CHECK (gender IN ('M', 'F')),
    birth_date       date NOT NULL,
    si_card_no       text NOT NULL UNIQUE CHECK (si_card_no ~ '^[0-9A-Z]{12}$'),
    category         text NOT NULL CHECK (category IN ('student', 'child')),
    school           text,
    declared_phone   text CHECK (declared_phone ~ '^[0-9]{11}$'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A parent's account on the portal: one per insured person.
CREATE TABLE portal_user (
    id                bigserial PRIMARY KEY,
    insured_person_id bigint NOT NULL UNIQUE REFERENCES insured_person (id),
    phone             text NOT NULL CHECK (phone ~ '^[0-9]{11}$'),
    password_hash     text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    agreement_version text NOT NULL,
    agreed_at         timestamptz NOT NULL,
    failed_logins     int NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_login_at     timestamptz
);

-- ------------------------------------------------------- bank details

-- The card or passbook the premium is debited from: one per insured
-- person, changed in place (version counts the changes).
CREATE TABLE bank_account (
    id                bigserial PRIMARY KEY,
    insured_person_id bigint NOT NULL UNIQUE REFERENCES insured_person (id),
    payer             text NOT NULL CHECK (payer IN ('self', 'relative')),
    method            text NOT NULL CHECK (method IN ('card', 'passbook')),
    bank_code         text NOT NULL REFERENCES bank (code),
    doc_type          text NOT NULL CHECK (doc_type ~ '^[a-z][a-z_]{1,31}$'),
    account_enc       bytea NOT NULL,
    account_last4     text NOT NULL CHECK (account_last4 ~ '^[0-9]{4}$'),
    relative_name     text,
    relative_gender   char(1) CHECK (relative_gender IN ('M', 'F')),
    relative_relation text,
    relative_phone    text CHECK (relative_phone ~ '^[0-9][0-9-]{6,19}$'),
    relative_address  text,
    relative_postcode text CHECK (relative_postcode ~ '^[0-9]{6}$'),
    version           int NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- The account holder's details are required exactly when the account
    -- is a relative's.
    CONSTRAINT bank_account_relative_name
        CHECK ((payer = 'relative') = (relative_name IS NOT NULL)),
    CONSTRAINT bank_account_relative_details
        CHECK (payer = 'self' OR (relative_gender IS NOT NULL
                                  AND relative_relation IS NOT NULL
                                  AND relative_phone IS NOT NULL
                                  AND relative_address IS NOT NULL
                                  AND relative_postcode IS NOT NULL)),
    CONSTRAINT bank_account_self_no_relative
        CHECK (payer = 'relative' OR num_nonnulls(relative_gender,
                                                  relative_relation,
                                                  relative_phone,
                                                  relative_address,
                                                  relative_postcode) = 0)
);
CREATE INDEX bank_account_bank_code_idx ON bank_account (bank_code);

-- Each submission of bank details, with its receipt number and progress.
CREATE TABLE declaration (
    id                bigserial PRIMARY KEY,
    insured_person_id bigint NOT NULL REFERENCES insured_person (id),
    receipt_no        text NOT NULL UNIQUE
                      CHECK (receipt_no ~ '^[0-9A-Za-z-]{1,64}$'),
    status            text NOT NULL DEFAULT 'submitted'
                      CHECK (status IN ('submitted', 'sent_to_bank',
                                        'debited', 'failed')),
    applies_to_month  date NOT NULL
                      CHECK (extract(day FROM applies_to_month) = 1),
    reason_code       text CHECK (reason_code ~ '^[a-z][a-z0-9_]{0,63}$'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT declaration_failed_reason
        CHECK (status <> 'failed' OR reason_code IS NOT NULL)
);
CREATE INDEX declaration_person_idx
    ON declaration (insured_person_id, created_at DESC);
CREATE INDEX declaration_open_idx ON declaration (applies_to_month, status)
    WHERE status IN ('submitted', 'sent_to_bank');

-- Debits, one per insured person and month.
CREATE TABLE payment (
    id                bigserial PRIMARY KEY,
    insured_person_id bigint NOT NULL REFERENCES insured_person (id),
    year              int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    month             int NOT NULL CHECK (month BETWEEN 1 AND 12),
    amount_cents      int NOT NULL CHECK (amount_cents >= 0),
    status            text NOT NULL
                      CHECK (status IN ('debited', 'failed', 'pending')),
    reason_code       text CHECK (reason_code ~ '^[a-z][a-z0-9_]{0,63}$'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (insured_person_id, year, month),
    CONSTRAINT payment_failed_reason
        CHECK (status <> 'failed' OR reason_code IS NOT NULL)
);

-- --------------------------------------------------------- operations

-- Append-only: UPDATE and DELETE raise.  (TRUNCATE, for the test reset,
-- is not a row operation and is not refused.)
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint,
    client_ip     inet,
    action        text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
    detail        jsonb NOT NULL DEFAULT '{}',
    receipt_no    text
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, at)
    WHERE actor_user_id IS NOT NULL;
CREATE INDEX audit_log_receipt_idx ON audit_log (receipt_no)
    WHERE receipt_no IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Replayed responses for retried POSTs (Idempotency-Key header).
CREATE TABLE idempotency_key (
    user_id         bigint NOT NULL REFERENCES portal_user (id)
                    ON DELETE CASCADE,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    response_status int CHECK (response_status BETWEEN 100 AND 599),
    response_body   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);
