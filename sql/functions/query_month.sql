-- A month as the texts say it: "2026年10月", "October 2026".  STABLE, as
-- to_char() is: an IMMUTABLE function calling a STABLE one is not
-- inlined, and payments_get() has it inlined.
CREATE OR REPLACE FUNCTION query_month(p_month date, p_lang text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_lang = 'en' THEN to_char(p_month, 'FMMonth YYYY')
                ELSE to_char(p_month, 'YYYY"年"FMMM"月"') END
$$;
