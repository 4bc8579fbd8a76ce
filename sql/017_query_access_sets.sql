-- query_access() and window_at() become SQL functions returning a set of
-- one row, which PostgreSQL inlines into the statement that calls them in
-- FROM (a function returning a record is never inlined): the result type
-- changes, so the old ones go first.  No table changes.
DROP FUNCTION IF EXISTS query_access(bigint, bigint);
DROP FUNCTION IF EXISTS window_at(timestamptz);
