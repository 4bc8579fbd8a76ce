-- csibiz_mask(t, head, tail) as a JSON value (csibiz_json()), for a
-- column whose CHECK makes it n characters that JSON need not escape
-- (head + tail < n): such a value is masked and quoted directly, without
-- csibiz_mask()'s bounds and csibiz_json()'s escaping; any other through
-- csibiz_mask().  One expression: inlined.
CREATE OR REPLACE FUNCTION csibiz_mask_json(t text, n int, head int, tail int)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN length(t) = n
                THEN '"' || left(t, head) || repeat('*', n - head - tail)
                     || right(t, tail) || '"'
                ELSE csibiz_json(csibiz_mask(t, head, tail)) END
$$;
