-- Refuses the later good rows of a staging table that repeat an earlier
-- good row's p_key (NULL, an optional value not given, repeats nothing):
-- error "<p_label>: also on line N".  The names are quoted by format();
-- no data goes into the statement.
CREATE OR REPLACE FUNCTION ops_stage_repeats(p_table regclass, p_key text,
                                             p_label text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'UPDATE %s s SET error = $1 || '': also on line '' || d.first
           FROM (SELECT line, first_value(line) OVER w AS first
                   FROM %s
                  WHERE error IS NULL AND %I IS NOT NULL
                 WINDOW w AS (PARTITION BY %I ORDER BY line)) AS d
          WHERE s.line = d.line AND d.line <> d.first',
        p_table, p_table, p_key, p_key)
    USING p_label;
END
$$;
