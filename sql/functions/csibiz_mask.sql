-- csibiz_mask() of lib/csibiz_validate.h: the first head and last tail
-- characters kept, each other one '*', at least one masked.
CREATE OR REPLACE FUNCTION csibiz_mask(t text, head int, tail int) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n int := length(t);
    h int;
    k int;
BEGIN
    IF t IS NULL OR n = 0 THEN
        RETURN t;
    END IF;
    h := least(head, n - 1);
    k := least(tail, n - 1 - h);
    RETURN left(t, h) || repeat('*', n - h - k) || right(t, k);
END
$$;
