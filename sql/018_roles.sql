-- Least-privilege roles (docs/operations.md, "Database roles"): three
-- NOLOGIN group roles, which login users are made members of.
--
--   csibiz_owner  owns the schema and every object in it; migrations run
--                 as it (tools/migrate sets the role)
--   csibiz_app    nginx: EXECUTE on the functions the handlers call, no
--                 table privilege at all
--   csibiz_ops    the ops tools: their functions and the tables they use
--
-- Roles belong to the cluster, not the database: an existing role is
-- kept as it is.  Creating them and giving them the schema needs a
-- superuser, once; the privileges are granted by sql/grants.sql, which
-- tools/migrate applies after every migration run.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['csibiz_owner', 'csibiz_app', 'csibiz_ops']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
        END IF;
    END LOOP;
END
$$;

-- The schema and everything in it change owner; nobody else may create
-- objects in it (PostgreSQL before 15 lets PUBLIC do that).
ALTER SCHEMA public OWNER TO csibiz_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
DECLARE
    v_obj record;
BEGIN
    FOR v_obj IN
        SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                              ELSE 'TABLE' END AS kind,
               c.oid::regclass::text AS name
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'S')
           AND NOT (c.relkind = 'S' AND EXISTS
                    (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass
                        AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO csibiz_owner',
                       v_obj.kind, v_obj.name);
    END LOOP;
END
$$;
