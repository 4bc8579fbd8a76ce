-- Applies the staged result file (csibiz-keytool csv 4: ref, amount,
-- status, reason_code; a first line "ref,..." is a header).  A row is
-- refused, with the reason in result_stage.error, when it cannot be read,
-- names no exported debit, gives another amount, an unknown status or
-- reason, or contradicts a result already imported; then a good row
-- whose ref an earlier good row of the file has.  The others set their
-- payment (pending -> debited | failed with the reason) and the
-- declaration exported with it (sent_to_bank -> debited | failed); a
-- result already imported is counted unchanged.
CREATE OR REPLACE FUNCTION result_import(p_sha256 text,
                                         OUT total int, OUT applied int,
                                         OUT unchanged int, OUT rejected int)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM result_stage s
     WHERE s.line = (SELECT min(line) FROM result_stage)
       AND s.error IS NULL AND lower(trim(s.ref)) = 'ref';

    UPDATE result_stage SET ref = trim(ref), amount = trim(amount),
                            status = lower(trim(status)),
                            reason = nullif(lower(trim(reason)), '')
     WHERE error IS NULL;

    UPDATE result_stage s SET error = CASE
        WHEN r.ref IS NULL THEN 'ref: no such debit'
        WHEN s.amount !~ '^[0-9]{1,9}\.[0-9]{2}$'
        THEN 'amount: not like 160.00'
        WHEN replace(s.amount, '.', '')::bigint <> r.amount_cents
        THEN 'amount: not the debit''s ' || to_char(r.amount_cents / 100.0,
                                                    'FM999999990.00')
        WHEN s.status NOT IN ('debited', 'failed')
        THEN 'status: debited or failed'
        WHEN s.status = 'debited' AND s.reason IS NOT NULL
        THEN 'reason_code: none for debited'
        WHEN s.status = 'failed' AND s.reason IS NULL
        THEN 'reason_code: required for failed'
        WHEN s.status = 'failed' AND NOT debit_reason_known(s.reason)
        THEN 'reason_code: unknown'
        WHEN y.status <> 'pending'
             AND (y.status, y.reason_code) IS DISTINCT FROM
                 (s.status, s.reason)
        THEN 'already ' || y.status || coalesce(' (' || y.reason_code || ')',
                                                '')
        END
      FROM result_stage t
      LEFT JOIN debit_export_row r ON r.ref = t.ref
      LEFT JOIN payment y ON y.id = r.payment_id
     WHERE s.line = t.line AND s.error IS NULL;

    -- a second good row for the same debit
    PERFORM ops_stage_repeats('result_stage', 'ref', 'ref');

    SELECT count(*),
           count(*) FILTER (WHERE s.error IS NULL AND y.status = 'pending'),
           count(*) FILTER (WHERE s.error IS NOT NULL)
      INTO total, applied, rejected
      FROM result_stage s
      LEFT JOIN debit_export_row r ON r.ref = s.ref AND s.error IS NULL
      LEFT JOIN payment y ON y.id = r.payment_id;

    unchanged := total - applied - rejected;

    -- each result lands on its payment and on exactly the declaration
    -- exported with it (the parent's later changes are declarations of
    -- their own); a result imported before changes nothing
    WITH done AS (
        UPDATE payment y SET status = s.status, reason_code = s.reason
          FROM result_stage s
          JOIN debit_export_row r ON r.ref = s.ref
         WHERE s.error IS NULL AND y.id = r.payment_id
           AND y.status = 'pending'
        RETURNING r.declaration_id, s.status, s.reason
    )
    UPDATE declaration d SET status = done.status, reason_code = done.reason
      FROM done
     WHERE d.id = done.declaration_id;

    PERFORM ops_audit('result_import', jsonb_build_object(
        'sha256', p_sha256, 'rows', total, 'applied', applied,
        'unchanged', unchanged, 'rejected', rejected));
END
$$;
