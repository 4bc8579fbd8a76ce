-- Who may do what (docs/operations.md, "Database roles"): applied by
-- tools/migrate at the end of every run that changes something, after
-- the migrations and functions, in the same transaction.  Everything is
-- revoked first and granted again, so this file is the whole list: a new
-- function the module calls is one line under csibiz_app here.
--
-- The roles are made by sql/018_roles.sql.  Functions granted to
-- csibiz_app run as their owner (SECURITY DEFINER, search_path pinned):
-- the application role itself has no table privilege at all.

-- The owner owns everything of the schema, also what a migration or a
-- function file created as another member of csibiz_owner (or as the
-- superuser that created the roles).
DO $$
DECLARE
    v_obj record;
BEGIN
    FOR v_obj IN
        SELECT format('ALTER %s %s OWNER TO csibiz_owner',
                      CASE c.relkind WHEN 'S' THEN 'SEQUENCE'
                                     WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
                      c.oid::regclass) AS stmt
          FROM pg_class c
         WHERE c.relnamespace = 'public'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'S')
           AND c.relowner <> 'csibiz_owner'::regrole
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass
                              AND d.objid = c.oid
                              AND d.deptype IN ('a', 'i', 'e'))
        UNION ALL
        SELECT format('ALTER FUNCTION %s OWNER TO csibiz_owner',
                      p.oid::regprocedure)
          FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND p.proowner <> 'csibiz_owner'::regrole
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_proc'::regclass
                              AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE v_obj.stmt;
    END LOOP;
END
$$;

-- Nothing for anyone but the owner, to begin with.  PostgreSQL grants
-- EXECUTE on a new function to PUBLIC: not here.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, csibiz_app, csibiz_ops;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public
    FROM PUBLIC, csibiz_app, csibiz_ops;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public
    FROM PUBLIC, csibiz_app, csibiz_ops;
ALTER DEFAULT PRIVILEGES FOR ROLE csibiz_owner
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC, csibiz_app, csibiz_ops;
GRANT USAGE ON SCHEMA public TO csibiz_app, csibiz_ops;

-- audit_log is append-only by privileges too (its trigger refuses
-- UPDATE and DELETE even for the owner; TRUNCATE only the owner may):
-- rows are added by the functions above, as the owner.

-- ------------------------------------------------------------ csibiz_app
-- the module's statements (grep ngx_http_csibiz_pg_stmt), one a line
GRANT EXECUTE ON FUNCTION csibiz_health() TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_agreement_current(timestamptz) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_sms_lookup(bytea, text, text) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_user_lookup(bytea, text, timestamptz)
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_register(bigint, text, text, text, inet,
                                       timestamptz) TO csibiz_app;
GRANT EXECUTE ON FUNCTION password_reset(bigint, text, text, inet,
                                         timestamptz) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_login_lookup(bytea) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_login_ok(bigint, inet, timestamptz)
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_login_failed(bigint, inet, timestamptz)
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_reauth_lookup(bigint) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_me(bigint, bigint, text) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_declarations(bigint, bigint, text,
                                           timestamptz, int) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_me_batch(bigint[], bigint[], text[])
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_declarations_batch(bigint[], bigint[], text[],
                                                 timestamptz[], int[])
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_payments(bigint, bigint, text, timestamptz,
                                       int) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_payments_batch(bigint[], bigint[], text[],
                                             timestamptz[], int[])
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION banks_json(text) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_account_get(bigint, bigint, timestamptz,
                                          boolean, text) TO csibiz_app;
GRANT EXECUTE ON FUNCTION app_account_batch(bigint[], bigint[],
                                            timestamptz[], boolean[], text[])
    TO csibiz_app;
GRANT EXECUTE ON FUNCTION bank_account_put(bigint, bigint, text, bytea,
                                           timestamptz, boolean, inet, text,
                                           jsonb, jsonb) TO csibiz_app;

-- ------------------------------------------------------------ csibiz_ops
-- tools/year-setup, tools/debit-export: functions that run as the owner
GRANT EXECUTE ON FUNCTION year_setup TO csibiz_ops;
GRANT EXECUTE ON FUNCTION debit_export_make TO csibiz_ops;
GRANT EXECUTE ON FUNCTION ops_audit(text, jsonb) TO csibiz_ops;

-- tools/roster-import, tools/result-import, tools/remind: functions that
-- run as the caller, on the session's own staging tables (TEMP, which
-- PUBLIC has on a database by default), and the helpers they call
GRANT EXECUTE ON FUNCTION ops_stage_create(text) TO csibiz_ops;
GRANT EXECUTE ON FUNCTION ops_stage_repeats TO csibiz_ops;
GRANT EXECUTE ON FUNCTION roster_import TO csibiz_ops;
GRANT EXECUTE ON FUNCTION result_import TO csibiz_ops;
GRANT EXECUTE ON FUNCTION debit_reason_known(text) TO csibiz_ops;
GRANT EXECUTE ON FUNCTION remind_make TO csibiz_ops;
GRANT EXECUTE ON FUNCTION remind_windows TO csibiz_ops;
GRANT EXECUTE ON FUNCTION payment_json TO csibiz_ops;
GRANT EXECUTE ON FUNCTION payment_failure TO csibiz_ops;
GRANT EXECUTE ON FUNCTION query_month TO csibiz_ops;
GRANT EXECUTE ON FUNCTION query_reason TO csibiz_ops;
GRANT EXECUTE ON FUNCTION query_text TO csibiz_ops;
GRANT EXECUTE ON FUNCTION debit_result_visible TO csibiz_ops;
GRANT EXECUTE ON FUNCTION debit_result_visible_on TO csibiz_ops;
GRANT EXECUTE ON FUNCTION csibiz_mask TO csibiz_ops;
GRANT EXECUTE ON FUNCTION csibiz_iso TO csibiz_ops;
GRANT EXECUTE ON FUNCTION csibiz_now() TO csibiz_ops;

-- what those read and write; no UPDATE, DELETE or TRUNCATE of audit_log
GRANT SELECT ON insured_person, portal_user, declaration, bank_account,
                bank, payment, premium, debit_calendar, window_calendar,
                debit_export, debit_export_row, query_text, sms_reminder
    TO csibiz_ops;
GRANT INSERT, UPDATE ON insured_person TO csibiz_ops;
GRANT UPDATE ON declaration, payment TO csibiz_ops;
GRANT INSERT ON sms_reminder TO csibiz_ops;
GRANT USAGE ON SEQUENCE insured_person_id_seq TO csibiz_ops;
