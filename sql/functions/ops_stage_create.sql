-- The staging tables live in the tool's session (ON COMMIT DROP would
-- lose them between statements of psql's autocommit; the session ends
-- with the tool).  Their columns are csibiz-keytool's roster and
-- "csv 4" rows.
CREATE OR REPLACE FUNCTION ops_stage_create(p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind = 'roster' THEN
        CREATE TEMP TABLE IF NOT EXISTS roster_stage (
            line             int PRIMARY KEY,
            error            text,
            id_number_hmac   bytea,
            id_number_enc    bytea,
            name             text,
            gender           char(1),
            birth_date_enc   bytea,
            birth_date_hmac  bytea,
            si_card_no       text,
            category         text,
            school           text,
            declared_phone   text,
            handbook_no      text);
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
