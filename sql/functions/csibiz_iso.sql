-- A time as the API writes it: Beijing time, "2026-09-05T00:00:00+08:00".
-- Asia/Shanghai has been UTC+8 without summer time since September 1991,
-- so from 1992 on the fixed offset gives its local time without looking
-- the zone up by name, which cost as much as the formatting (a read
-- writes a few times a row); before 1992, the zone's own rules.
CREATE OR REPLACE FUNCTION csibiz_iso(ts timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(CASE WHEN ts >= timestamptz '1992-01-01 00:00+08'
                        THEN ts AT TIME ZONE interval '+08:00'
                        ELSE ts AT TIME ZONE 'Asia/Shanghai' END,
                   'YYYY-MM-DD"T"HH24:MI:SS"+08:00"')
$$;
