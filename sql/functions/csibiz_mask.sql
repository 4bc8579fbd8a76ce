-- csibiz_mask() of lib/csibiz_validate.h: the first head and last tail
-- characters kept, each other one '*', at least one masked.  One SQL
-- expression (no variables, not STRICT), so that PostgreSQL inlines it
-- into the calling query instead of calling a function per value.
-- length() counts characters one by one, so it is called once: with n
-- characters (n > 0) the head kept is min(head, n - 1) characters, the
-- first head of all but the last one; the tail kept, min(tail, n - 1 -
-- that), the last tail of what follows the first head + 1; the rest,
-- max(n - head - tail, 1), masked (none of an empty text).  For head,
-- tail >= 0, as lib's are.
CREATE OR REPLACE FUNCTION csibiz_mask(t text, head int, tail int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(left(t, -1), head)
           || repeat('*', greatest(length(t) - (head + tail),
                                   least(octet_length(t), 1)))
           || right(right(t, -1 - head), tail)
$$;
