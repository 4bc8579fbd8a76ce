-- The export of p_year-p_month, made on the first call: for every
-- insured person not yet debited nor waiting for a debit this year, the
-- declaration in force at the month's cut-off (docs/operations.md, "A
-- declaration's life"): the newest of
--   * the submitted declarations of this month or an earlier one
--     (applies_to_month: the first month whose cut-off had not passed
--     when it was submitted; a change after the cut-off is for a later
--     month and so never in this file, whenever the file is made), and
--   * a declaration whose debit failed earlier this year (the next month
--     tries it again: the parent had until the cut-off to put money in or
--     fix the details, which is a newer submitted declaration),
-- with the bank details that declaration was submitted with, at a bank
-- that debits.  Each gets a pending payment of the year's premium, the
-- declaration becomes sent_to_bank for this month (a failed one loses
-- its reason), and a line in its bank's file, numbered per bank in the
-- order of the declarations, its ref made of the month and the
-- declaration: what the file holds depends only on the declarations.
-- Later calls return the same export.
CREATE OR REPLACE FUNCTION debit_export_make(p_year int, p_month int,
    OUT export_id bigint, OUT created boolean,
    OUT rows int, OUT total_cents bigint)
LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_month   date;
    v_premium int;
BEGIN
    -- one export at a time: the second waits and then finds the first's
    PERFORM pg_advisory_xact_lock(hashtext('debit_export'));

    SELECT e.id, false, e.rows, e.total_cents
      INTO export_id, created, rows, total_cents
      FROM debit_export e
     WHERE e.year = p_year AND e.month = p_month;

    IF FOUND THEN
        PERFORM ops_audit('debit_export', jsonb_build_object(
            'month', to_char(make_date(p_year, p_month, 1), 'YYYY-MM'),
            'created', false, 'rows', rows, 'total_cents', total_cents));
        RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM debit_calendar d
                    WHERE d.year = p_year AND d.month = p_month)
    THEN
        RAISE EXCEPTION '%-% is not a debit month of debit_calendar '
            '(tools/year-setup)', p_year, lpad(p_month::text, 2, '0');
    END IF;

    SELECT p.amount_cents INTO v_premium FROM premium p
     WHERE p.year = p_year;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'no premium for % (tools/year-setup)', p_year;
    END IF;

    v_month := make_date(p_year, p_month, 1);

    INSERT INTO debit_export (year, month, rows, total_cents)
    VALUES (p_year, p_month, 0, 0)
    RETURNING id INTO export_id;

    -- the declaration each person is debited for, their payment, their
    -- line
    WITH pick AS (
        SELECT DISTINCT ON (d.insured_person_id)
               d.id AS declaration_id, d.insured_person_id, d.bank_code,
               d.method, d.account_enc,
               CASE WHEN d.payer = 'relative' THEN d.relative_name
                    ELSE p.name END AS account_holder,
               p.si_card_no
          FROM declaration d
          JOIN insured_person p ON p.id = d.insured_person_id
         WHERE (d.status = 'submitted' AND d.applies_to_month <= v_month
                OR d.status = 'failed'
                   AND EXISTS (SELECT 1 FROM debit_export_row r
                                 JOIN payment f ON f.id = r.payment_id
                                WHERE r.declaration_id = d.id
                                  AND f.year = p_year
                                  AND f.month < p_month
                                  AND f.status = 'failed'))
           AND NOT EXISTS (SELECT 1 FROM payment x
                            WHERE x.insured_person_id = d.insured_person_id
                              AND x.year = p_year
                              AND x.status IN ('debited', 'pending'))
         ORDER BY d.insured_person_id, d.submitted_at DESC, d.id DESC
    ), debit AS (
        -- the declaration in force decides: without bank details, or at
        -- a bank that no longer debits, nothing is debited this month
        SELECT k.* FROM pick k
          JOIN bank b ON b.code = k.bank_code AND b.accepts_debit
         WHERE k.account_enc IS NOT NULL
    ), pay AS (
        INSERT INTO payment (insured_person_id, year, month, amount_cents,
                             status)
        SELECT k.insured_person_id, p_year, p_month, v_premium, 'pending'
          FROM debit k
         ORDER BY k.declaration_id
        RETURNING id, insured_person_id
    )
    INSERT INTO debit_export_row (ref, export_id, bank_code, seq,
                                  declaration_id, payment_id,
                                  insured_person_id, method, account_enc,
                                  account_holder, si_card_no, amount_cents)
    SELECT 'D' || to_char(v_month, 'YYYYMM') || '-'
               || lpad(k.declaration_id::text, 10, '0'),
           export_id, k.bank_code,
           row_number() OVER (PARTITION BY k.bank_code
                              ORDER BY k.declaration_id),
           k.declaration_id, y.id, k.insured_person_id, k.method,
           k.account_enc, k.account_holder, k.si_card_no, v_premium
      FROM debit k
      JOIN pay y ON y.insured_person_id = k.insured_person_id;

    UPDATE declaration d
       SET status = 'sent_to_bank', applies_to_month = v_month,
           reason_code = NULL
      FROM debit_export_row r
     WHERE r.export_id = debit_export_make.export_id
       AND d.id = r.declaration_id;

    SELECT count(*), coalesce(sum(r.amount_cents), 0)
      INTO rows, total_cents
      FROM debit_export_row r
     WHERE r.export_id = debit_export_make.export_id;

    UPDATE debit_export e SET rows = debit_export_make.rows,
                              total_cents = debit_export_make.total_cents
     WHERE e.id = debit_export_make.export_id;

    created := true;

    PERFORM ops_audit('debit_export', jsonb_build_object(
        'month', to_char(v_month, 'YYYY-MM'), 'created', true, 'rows', rows,
        'total_cents', total_cents,
        'banks', (SELECT jsonb_object_agg(c.bank_code, c.n)
                    FROM (SELECT r.bank_code, count(*) AS n
                            FROM debit_export_row r
                           WHERE r.export_id = debit_export_make.export_id
                           GROUP BY r.bank_code) AS c)));
END
$$;
