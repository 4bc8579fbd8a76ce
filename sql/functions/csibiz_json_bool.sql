-- A boolean as a JSON value: true, false or null (csibiz_json()).
CREATE OR REPLACE FUNCTION csibiz_json_bool(v boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v THEN 'true' WHEN NOT v THEN 'false' ELSE 'null' END
$$;
