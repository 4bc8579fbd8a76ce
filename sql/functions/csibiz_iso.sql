-- A time as the API writes it: Beijing time, "2026-09-05T00:00:00+08:00".
CREATE OR REPLACE FUNCTION csibiz_iso(ts timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(ts AT TIME ZONE 'Asia/Shanghai',
                   'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
$$;
