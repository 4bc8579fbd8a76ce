-- The reminders of kinds p_kinds (remind_windows) for the children of a
-- month's debit file, at p_now; one row per child and kind with its
-- outcome: sent (an earlier run queued it: sms_reminder), debited (the
-- child's premium of the year is paid), no_phone (no portal account), or
-- queued, for which the claim is written here and the message returned:
-- the parent's phone, the texts in Chinese and English with {last4} for
-- the tool to fill in, and the sealed account number of the file's line
-- (the account that is or was debited, not the one declared since).
-- "before" is for the lines not failed; "failed" for the failed ones,
-- with the reason, the advice and the day to fix it by of the parents'
-- payments query (payment_json).  No ID number, no whole account number.
CREATE OR REPLACE FUNCTION remind_make(p_year int, p_month int,
                                       p_now timestamptz, p_kinds text[],
                                       p_result_day int)
RETURNS TABLE (kind text, outcome text, phone text, text_zh text,
               text_en text, account_enc bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_debit   date;
    v_premium int;
BEGIN
    SELECT make_date(d.year, d.month, d.debit_day) INTO v_debit
      FROM debit_calendar d
     WHERE d.year = p_year AND d.month = p_month;

    SELECT p.amount_cents INTO v_premium
      FROM premium p
     WHERE p.year = p_year;

    CREATE TEMP TABLE remind_candidate ON COMMIT DROP AS
        SELECT k.kind, r.seq, r.bank_code, r.insured_person_id AS pid,
               r.account_enc, y AS pay,
               csibiz_mask(p.name, 1, 1) AS name, u.phone,
               CASE
               WHEN EXISTS (SELECT 1 FROM sms_reminder s
                             WHERE s.insured_person_id = r.insured_person_id
                               AND s.year = p_year AND s.month = p_month
                               AND s.kind = k.kind)
               THEN 'sent'
               WHEN EXISTS (SELECT 1 FROM payment x
                             WHERE x.insured_person_id = r.insured_person_id
                               AND x.year = p_year AND x.status = 'debited')
               THEN 'debited'
               WHEN u.phone IS NULL THEN 'no_phone'
               ELSE 'queued' END AS outcome
          FROM debit_export e
          JOIN debit_export_row r ON r.export_id = e.id
          JOIN payment y ON y.id = r.payment_id
          JOIN insured_person p ON p.id = r.insured_person_id
          LEFT JOIN portal_user u ON u.insured_person_id = r.insured_person_id
         CROSS JOIN unnest(p_kinds) AS k (kind)
         WHERE e.year = p_year AND e.month = p_month
           AND (y.status = 'failed') = (k.kind = 'failed');

    INSERT INTO sms_reminder (insured_person_id, year, month, kind)
    SELECT c.pid, p_year, p_month, c.kind
      FROM remind_candidate c
     WHERE c.outcome = 'queued';

    RETURN QUERY
        SELECT c.kind, c.outcome,
               CASE WHEN c.outcome = 'queued' THEN c.phone END,
               CASE WHEN c.outcome <> 'queued' THEN NULL
               WHEN c.kind = 'before' THEN
                   c.name || '的家长：本月' || extract(day FROM v_debit)
                   || '日前后将从尾号{last4}的账户扣缴' || p_year
                   || '年度居民医保费用'
                   || to_char(v_premium / 100.0, 'FM9999990.00')
                   || '元，请保持余额不少于'
                   || to_char((v_premium + 1000) / 100.0, 'FM9999990.00')
                   || '元。'
               ELSE
                   c.name || '的家长：'
                   || query_month(make_date(p_year, p_month, 1), 'zh')
                   || '从尾号{last4}的账户扣缴居民医保费用未成功，原因：'
                   || (j.zh ->> 'reason_text') || '。'
                   || (j.zh ->> 'advice') END,
               CASE WHEN c.outcome <> 'queued' THEN NULL
               WHEN c.kind = 'before' THEN
                   'Parent of ' || c.name || ': around '
                   || to_char(v_debit, 'FMDD FMMonth') || ' the '
                   || p_year || ' residents'' medical insurance premium of '
                   || to_char(v_premium / 100.0, 'FM9999990.00')
                   || ' yuan will be debited from the account ending '
                   || '{last4}; please keep at least '
                   || to_char((v_premium + 1000) / 100.0, 'FM9999990.00')
                   || ' yuan in it.'
               ELSE
                   'Parent of ' || c.name || ': the '
                   || query_month(make_date(p_year, p_month, 1), 'en')
                   || ' debit of the medical insurance premium from the '
                   || 'account ending {last4} failed. '
                   || (j.en ->> 'reason_text') || ' '
                   || (j.en ->> 'advice') END,
               CASE WHEN c.outcome = 'queued' THEN c.account_enc END
          FROM remind_candidate c
          LEFT JOIN LATERAL (
              SELECT payment_json(c.pay, p_now, 'zh', p_result_day) AS zh,
                     payment_json(c.pay, p_now, 'en', p_result_day) AS en
               WHERE c.kind = 'failed' AND c.outcome = 'queued') j ON true
         ORDER BY c.kind, c.bank_code, c.seq;

    DROP TABLE remind_candidate;
END
$$;
