-- Debit reminders (tools/remind, docs/sms.md): which SMS reminder each
-- child got for a debit month, so that a second run queues nothing.  In
-- the database rather than as Redis keys: it survives a Redis restart or
-- failover (which loses unreplicated keys) and is in the backups, and a
-- claim is written in the transaction that queues its message.  Ids and
-- times only: the phone and the text are in the outbox, nowhere else.
CREATE TABLE sms_reminder (
    insured_person_id bigint NOT NULL REFERENCES insured_person (id),
    year              int NOT NULL,
    month             int NOT NULL,
    -- before: "about the 25th, keep at least ..."; failed: the reason
    -- and the day to fix it by
    kind              text NOT NULL CHECK (kind IN ('before', 'failed')),
    queued_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (insured_person_id, year, month, kind),
    FOREIGN KEY (year, month) REFERENCES debit_calendar (year, month)
);
