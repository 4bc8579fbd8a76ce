-- The ops tools of issue 5 (docs/operations.md): roster import, debit
-- file export, result import and year set-up.  Each tool is a small
-- script (tools/roster-import, tools/debit-export, tools/result-import,
-- tools/year-setup) that feeds one of the functions below through psql;
-- the function checks, writes and audits in one transaction.
--
-- Files come in through tools/csibiz-keytool (roster: checked with the
-- module's validators, the ID number indexed and sealed; other CSV:
-- split), COPY'd into a temporary staging table that the function reads:
-- set-based, no statement per row.  Personal data never goes into
-- audit_log: counts, months, banks and a file's sha256 only.

-- ------------------------------------------------------------ staging

-- The staging tables live in the tool's session (ON COMMIT DROP would
-- lose them between statements of psql's autocommit; the session ends
-- with the tool).  Their columns are csibiz-keytool's roster and
-- "csv 4" rows.
CREATE FUNCTION ops_stage_create(p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind = 'roster' THEN
        CREATE TEMP TABLE IF NOT EXISTS roster_stage (
            line             int PRIMARY KEY,
            error            text,
            id_number_hmac   bytea,
            id_number_enc    bytea,
            id_number_masked text,
            name             text,
            gender           char(1),
            birth_date       date,
            si_card_no       text,
            category         text,
            school           text,
            declared_phone   text);
        TRUNCATE roster_stage;
    ELSIF p_kind = 'result' THEN
        CREATE TEMP TABLE IF NOT EXISTS result_stage (
            line   int PRIMARY KEY,
            error  text,
            ref    text,
            amount text,
            status text,
            reason text);
        TRUNCATE result_stage;
    ELSE
        RAISE EXCEPTION 'no staging table for "%"', p_kind;
    END IF;
END
$$;

-- Refuses the later good rows of a staging table that repeat an earlier
-- good row's p_key: error "<p_label>: also on line N".  The names are
-- quoted by format(); no data goes into the statement.
CREATE FUNCTION ops_stage_repeats(p_table regclass, p_key text,
                                  p_label text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'UPDATE %s s SET error = $1 || '': also on line '' || d.first
           FROM (SELECT line, first_value(line) OVER w AS first
                   FROM %s
                  WHERE error IS NULL
                 WINDOW w AS (PARTITION BY %I ORDER BY line)) AS d
          WHERE s.line = d.line AND d.line <> d.first',
        p_table, p_table, p_key)
    USING p_label;
END
$$;

-- An ops tool's run in audit_log: action ops.<tool>, no actor (a person
-- at the console, not a portal user).
CREATE FUNCTION ops_audit(p_action text, p_detail jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO audit_log (action, detail) VALUES ('ops.' || p_action, p_detail)
$$;

-- ------------------------------------------------------ roster import

-- Imports the staged roster: rows csibiz-keytool refused keep their
-- error; then, in file order, a second row for the same ID number, a
-- social security card number given to two people in the file, or one
-- that belongs to another person already, are refused too.  The other
-- rows are upserted by the ID number's blind index in one statement: a
-- row whose values are all the same changes nothing (updated_at stays),
-- an empty phone keeps the declared phone a person has, a new one
-- replaces it.  With p_dry_run nothing but the audit row is written.
-- Returns the counts; the refused rows are roster_stage's with an error.
CREATE FUNCTION roster_import(p_dry_run boolean, p_sha256 text,
                              OUT total int, OUT inserted int,
                              OUT updated int, OUT unchanged int,
                              OUT rejected int)
LANGUAGE plpgsql AS $$
BEGIN
    -- the same person twice: the later rows are refused
    PERFORM ops_stage_repeats('roster_stage', 'id_number_hmac', 'id_number');

    -- one card for two people of the file
    PERFORM ops_stage_repeats('roster_stage', 'si_card_no', 'si_card_no');

    -- a card that belongs to someone else
    UPDATE roster_stage s SET error = 'si_card_no: belongs to another person'
      FROM insured_person p
     WHERE s.error IS NULL AND p.si_card_no = s.si_card_no
       AND p.id_number_hmac <> s.id_number_hmac;

    SELECT count(*),
           count(*) FILTER (WHERE s.error IS NULL AND p.id IS NULL),
           count(*) FILTER (WHERE s.error IS NULL AND p.id IS NOT NULL
               AND (p.name, p.gender, p.birth_date, p.si_card_no,
                    p.category, p.school, p.declared_phone)
                   IS DISTINCT FROM
                   (s.name, s.gender, s.birth_date, s.si_card_no,
                    s.category, s.school,
                    coalesce(s.declared_phone, p.declared_phone))),
           count(*) FILTER (WHERE s.error IS NOT NULL)
      INTO total, inserted, updated, rejected
      FROM roster_stage s
      LEFT JOIN insured_person p ON p.id_number_hmac = s.id_number_hmac;

    unchanged := total - inserted - updated - rejected;

    IF NOT p_dry_run THEN
        INSERT INTO insured_person AS p
            (id_number_hmac, id_number_enc, id_number_masked, name, gender,
             birth_date, si_card_no, category, school, declared_phone)
        SELECT s.id_number_hmac, s.id_number_enc, s.id_number_masked,
               s.name, s.gender, s.birth_date, s.si_card_no, s.category,
               s.school, s.declared_phone
          FROM roster_stage s
         WHERE s.error IS NULL
         ORDER BY s.line
        ON CONFLICT (id_number_hmac) DO UPDATE SET
            name = EXCLUDED.name,
            gender = EXCLUDED.gender,
            birth_date = EXCLUDED.birth_date,
            si_card_no = EXCLUDED.si_card_no,
            category = EXCLUDED.category,
            school = EXCLUDED.school,
            declared_phone = coalesce(EXCLUDED.declared_phone,
                                      p.declared_phone)
         WHERE (p.name, p.gender, p.birth_date, p.si_card_no, p.category,
                p.school, p.declared_phone)
               IS DISTINCT FROM
               (EXCLUDED.name, EXCLUDED.gender, EXCLUDED.birth_date,
                EXCLUDED.si_card_no, EXCLUDED.category, EXCLUDED.school,
                coalesce(EXCLUDED.declared_phone, p.declared_phone));
    END IF;

    PERFORM ops_audit('roster_import', jsonb_build_object(
        'dry_run', p_dry_run, 'sha256', p_sha256, 'rows', total,
        'inserted', inserted, 'updated', updated, 'unchanged', unchanged,
        'rejected', rejected));
END
$$;

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

-- The six reasons a bank may give for a failed debit (the texts of the
-- parents' queries explain each).
CREATE FUNCTION debit_reason_known(p_code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_code IN ('insufficient_balance', 'name_mismatch',
                      'no_such_account', 'not_debitable',
                      'insured_data_error', 'other')
$$;

-- The export of p_year-p_month, made on the first call: every insured
-- person with a bank account at a bank that debits, not yet debited nor
-- waiting for a debit this year, and either a submitted declaration for
-- this month or an earlier one, or a failed debit earlier this year (the
-- next month's debit tries again: the parent had until the cut-off to
-- put money in or fix the details).  Each gets a pending payment of the
-- year's premium, the declaration becomes sent_to_bank (a failed one
-- moves to this month), and a line in its bank's file, numbered per bank
-- in the order of the declarations.  Later calls return the same export.
CREATE FUNCTION debit_export_make(p_year int, p_month int,
                                  OUT export_id bigint, OUT created boolean,
                                  OUT rows int, OUT total_cents bigint)
LANGUAGE plpgsql AS $$
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

    -- the declaration each person is debited for (a submitted one
    -- first), their payment, their line
    WITH pick AS (
        SELECT DISTINCT ON (d.insured_person_id)
               d.id AS declaration_id, d.insured_person_id, a.bank_code,
               a.method, a.account_enc,
               CASE WHEN a.payer = 'relative' THEN a.relative_name
                    ELSE p.name END AS account_holder,
               p.si_card_no
          FROM declaration d
          JOIN insured_person p ON p.id = d.insured_person_id
          JOIN bank_account a ON a.insured_person_id = d.insured_person_id
          JOIN bank b ON b.code = a.bank_code AND b.accepts_debit
         WHERE (d.status = 'submitted' AND d.applies_to_month <= v_month
                OR d.status = 'failed'
                   AND EXISTS (SELECT 1 FROM payment f
                                WHERE f.insured_person_id
                                      = d.insured_person_id
                                  AND f.year = p_year
                                  AND f.month < p_month
                                  AND f.status = 'failed'))
           AND NOT EXISTS (SELECT 1 FROM payment x
                            WHERE x.insured_person_id = d.insured_person_id
                              AND x.year = p_year
                              AND x.status IN ('debited', 'pending'))
         ORDER BY d.insured_person_id, d.status = 'submitted' DESC,
                  d.created_at DESC, d.id DESC
    ), pay AS (
        INSERT INTO payment (insured_person_id, year, month, amount_cents,
                             status)
        SELECT k.insured_person_id, p_year, p_month, v_premium, 'pending'
          FROM pick k
         ORDER BY k.declaration_id
        RETURNING id, insured_person_id
    )
    INSERT INTO debit_export_row (ref, export_id, bank_code, seq,
                                  declaration_id, payment_id,
                                  insured_person_id, method, account_enc,
                                  account_holder, si_card_no, amount_cents)
    SELECT 'D' || to_char(v_month, 'YYYYMM') || '-'
               || lpad(y.id::text, 10, '0'),
           export_id, k.bank_code,
           row_number() OVER (PARTITION BY k.bank_code
                              ORDER BY k.declaration_id),
           k.declaration_id, y.id, k.insured_person_id, k.method,
           k.account_enc, k.account_holder, k.si_card_no, v_premium
      FROM pick k
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

-- ------------------------------------------------------ result import

-- Applies the staged result file (csibiz-keytool csv 4: ref, amount,
-- status, reason_code; a first line "ref,..." is a header).  A row is
-- refused, with the reason in result_stage.error, when it cannot be read,
-- names no exported debit, gives another amount, an unknown status or
-- reason, or contradicts a result already imported; then a good row
-- whose ref an earlier good row of the file has.  The others set their
-- payment (pending -> debited | failed with the reason) and the
-- declaration exported with it; a result already imported is counted
-- unchanged.
CREATE FUNCTION result_import(p_sha256 text,
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

    UPDATE payment y SET status = s.status, reason_code = s.reason
      FROM result_stage s
      JOIN debit_export_row r ON r.ref = s.ref
     WHERE s.error IS NULL AND y.id = r.payment_id AND y.status = 'pending';

    -- the declaration, unless the parent has submitted another since
    UPDATE declaration d SET status = s.status, reason_code = s.reason
      FROM result_stage s
      JOIN debit_export_row r ON r.ref = s.ref
      JOIN debit_export e ON e.id = r.export_id
     WHERE s.error IS NULL AND d.id = r.declaration_id
       AND d.status = 'sent_to_bank'
       AND d.applies_to_month = make_date(e.year, e.month, 1);

    PERFORM ops_audit('result_import', jsonb_build_object(
        'sha256', p_sha256, 'rows', total, 'applied', applied,
        'unchanged', unchanged, 'rejected', rejected));
END
$$;

-- --------------------------------------------------------- year set-up

-- The declaration window, the debit months and the premium of a year, as
-- given: months of p_window_months open p_open_days[i] to
-- p_close_days[i]; debits in p_debit_months on p_debit_day with changes
-- up to p_cutoff_day.  Months of the year not given are removed.  The
-- premium cannot change once a debit of the year exists.  Returns what
-- changed (nothing on a second run with the same values).
CREATE FUNCTION year_setup(p_year int, p_premium_cents int,
                           p_window_months int[], p_open_days int[],
                           p_close_days int[], p_debit_months int[],
                           p_debit_day int, p_cutoff_day int,
                           OUT window_changes int, OUT debit_changes int,
                           OUT premium_changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_old int;
    v_n   int;
BEGIN
    IF cardinality(p_window_months) <> cardinality(p_open_days)
       OR cardinality(p_window_months) <> cardinality(p_close_days)
    THEN
        RAISE EXCEPTION 'one open and one close day per window month';
    END IF;

    SELECT amount_cents INTO v_old FROM premium WHERE year = p_year
       FOR UPDATE;

    premium_changed := v_old IS DISTINCT FROM p_premium_cents;

    IF premium_changed AND v_old IS NOT NULL
       AND EXISTS (SELECT 1 FROM payment WHERE year = p_year)
    THEN
        RAISE EXCEPTION 'the premium of % has debits already: it stays % '
            'cents', p_year, v_old;
    END IF;

    IF premium_changed THEN
        INSERT INTO premium (year, amount_cents)
        VALUES (p_year, p_premium_cents)
        ON CONFLICT (year) DO UPDATE SET amount_cents = EXCLUDED.amount_cents;
    END IF;

    DELETE FROM window_calendar w
     WHERE w.year = p_year AND NOT w.month = ANY (p_window_months);
    GET DIAGNOSTICS window_changes = ROW_COUNT;

    INSERT INTO window_calendar AS w (year, month, open_day, close_day)
    SELECT p_year, m.month, m.open_day, m.close_day
      FROM unnest(p_window_months, p_open_days, p_close_days)
           AS m (month, open_day, close_day)
    ON CONFLICT (year, month) DO UPDATE
       SET open_day = EXCLUDED.open_day, close_day = EXCLUDED.close_day
     WHERE (w.open_day, w.close_day)
           IS DISTINCT FROM (EXCLUDED.open_day, EXCLUDED.close_day);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    window_changes := window_changes + v_n;

    DELETE FROM debit_calendar d
     WHERE d.year = p_year AND NOT d.month = ANY (p_debit_months)
       AND NOT EXISTS (SELECT 1 FROM debit_export e
                        WHERE e.year = d.year AND e.month = d.month);
    GET DIAGNOSTICS debit_changes = ROW_COUNT;

    INSERT INTO debit_calendar AS d (year, month, debit_day, cutoff_day)
    SELECT p_year, m, p_debit_day, p_cutoff_day
      FROM unnest(p_debit_months) AS m
    ON CONFLICT (year, month) DO UPDATE
       SET debit_day = EXCLUDED.debit_day, cutoff_day = EXCLUDED.cutoff_day
     WHERE (d.debit_day, d.cutoff_day)
           IS DISTINCT FROM (EXCLUDED.debit_day, EXCLUDED.cutoff_day);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    debit_changes := debit_changes + v_n;

    PERFORM ops_audit('year_setup', jsonb_build_object(
        'year', p_year, 'premium_cents', p_premium_cents,
        'window_changes', window_changes, 'debit_changes', debit_changes,
        'premium_changed', premium_changed));
END
$$;
