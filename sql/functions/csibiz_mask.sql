-- csibiz_mask() of lib/csibiz_validate.h: the first head and last tail
-- characters kept, each other one '*', at least one masked.  One SQL
-- expression (no variables, not STRICT), so that PostgreSQL inlines it
-- into the calling query instead of calling a function per value.
CREATE OR REPLACE FUNCTION csibiz_mask(t text, head int, tail int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(t) > 0 THEN
               left(t, least(head, length(t) - 1))
               || repeat('*', length(t) - least(head, length(t) - 1)
                              - least(tail, length(t) - 1
                                            - least(head, length(t) - 1)))
               || right(t, least(tail, length(t) - 1
                                       - least(head, length(t) - 1)))
           ELSE t END
$$;
