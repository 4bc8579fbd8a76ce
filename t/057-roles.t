# The database roles of sql/018_roles.sql and sql/grants.sql, logged in
# as the stack's login users (docs/operations.md, "Database roles"): the
# application role reads no table and writes none, audit_log is
# append-only by privileges for the application and ops roles, a
# function not in the grant list is refused; /api/health is 503 with
# "postgres":"down" while the application role may not EXECUTE its
# function, 200 again once it may; a new database gets no years
# (windows, debit months, premiums) from the migrations.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

ensure_backends();

my $PSQL = Test::Csibiz::_psql_bin();

# as_login(CONNINFO, SQL) -> the SQLSTATE of its error, or 'ok'
sub as_login {
    my ($conninfo, $sql) = @_;
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [$PSQL, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
         '-v', 'VERBOSITY=verbose', '-d', $conninfo, '-c', $sql],
        env => { PGCONNECT_TIMEOUT => 5 });
    return 'ok' unless $rc;
    return $1 if $err =~ /ERROR:\s+([0-9A-Z]{5}):/;
    return "failed: $err";
}

my $app = pg_app_conninfo();
my $ops = pg_ops_conninfo();
like($app, qr/\buser=csibiz_app_login\b/, 'nginx logs in as csibiz_app_login');
like($ops, qr/\buser=csibiz_ops_login\b/,
     'the ops tools log in as csibiz_ops_login');

is(psql_value("SELECT string_agg(r.rolname || ':' || r.rolcanlogin, ',' "
              . " ORDER BY r.rolname) FROM pg_roles r"
              . " WHERE r.rolname IN ('csibiz_owner', 'csibiz_app',"
              . " 'csibiz_ops')"),
   'csibiz_app:false,csibiz_ops:false,csibiz_owner:false',
   'the group roles exist and cannot log in');
is(psql_value("SELECT pg_has_role('csibiz_app_login', 'csibiz_app', 'MEMBER')"
              . " AND pg_has_role('csibiz_ops_login', 'csibiz_ops', 'MEMBER')"
              . " AND NOT pg_has_role('csibiz_app_login', 'csibiz_ops',"
              . " 'MEMBER')"
              . " AND NOT pg_has_role('csibiz_app_login', 'csibiz_owner',"
              . " 'MEMBER')"
              . " AND NOT pg_has_role('csibiz_ops_login', 'csibiz_owner',"
              . " 'MEMBER')"),
   't', 'each login is a member of its group role only');

# ------------------------------------------------------------ ownership

is(psql_value("SELECT nspowner::regrole FROM pg_namespace"
              . " WHERE nspname = 'public'"),
   'csibiz_owner', 'csibiz_owner owns schema public');
is(psql_value("SELECT coalesce(string_agg(c.relname, ', '), 'none')"
              . " FROM pg_class c"
              . " WHERE c.relnamespace = 'public'::regnamespace"
              . " AND c.relkind IN ('r', 'p', 'v', 'S')"
              . " AND c.relowner <> 'csibiz_owner'::regrole"), 'none',
   '... and every table and sequence');
is(psql_value("SELECT coalesce(string_agg(p.proname, ', '), 'none')"
              . " FROM pg_proc p"
              . " WHERE p.pronamespace = 'public'::regnamespace"
              . " AND p.proowner <> 'csibiz_owner'::regrole"), 'none',
   '... and every function');

# ------------------------------------------------------------ the app role

my @tables = map { $_->[0] } psql(
    "SELECT c.relname FROM pg_class c"
    . " WHERE c.relnamespace = 'public'::regnamespace"
    . " AND c.relkind IN ('r', 'p') ORDER BY 1");
cmp_ok(scalar @tables, '>=', 18, scalar(@tables) . ' tables');

for my $t (@tables) {
    is(as_login($app, "SELECT 1 FROM $t LIMIT 1"), '42501',
       "csibiz_app: SELECT on $t refused (42501)");
}

# a row to refuse changes of
psql("INSERT INTO audit_log (action, detail)"
     . " VALUES ('t057.probe', '{}')");
my $rows = psql_value("SELECT count(*) FROM audit_log");

my %audit = (
    UPDATE   => "UPDATE audit_log SET action = 'x'",
    DELETE   => "DELETE FROM audit_log",
    TRUNCATE => "TRUNCATE audit_log",
    INSERT   => "INSERT INTO audit_log (action) VALUES ('forged')",
);
for my $op (sort keys %audit) {
    is(as_login($app, $audit{$op}), '42501',
       "csibiz_app: $op of audit_log refused (42501)");
    is(as_login($ops, $audit{$op}), '42501',
       "csibiz_ops: $op of audit_log refused (42501)");
}
is(psql_value("SELECT count(*) FROM audit_log"), $rows,
   'audit_log: not a row changed');

# the trigger still refuses the owner's UPDATE and DELETE
is(as_login(pg_conninfo(), "SET ROLE csibiz_owner; $audit{UPDATE}"),
   'P0001', 'csibiz_owner: UPDATE of audit_log refused by the trigger');

# nobody but the owner holds UPDATE, DELETE or TRUNCATE of audit_log
is(psql_value("SELECT coalesce(string_agg(a.grantee::regrole::text || ' '"
              . " || a.privilege_type, ', '), 'none')"
              . " FROM pg_class c, aclexplode(c.relacl) a"
              . " WHERE c.oid = 'audit_log'::regclass"
              . " AND a.grantee <> c.relowner"
              . " AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')"),
   'none', 'audit_log: UPDATE, DELETE, TRUNCATE granted to nobody');

# functions: what the handlers call, and nothing else
is(as_login($app, "SELECT csibiz_health()"), 'ok',
   'csibiz_app: EXECUTE csibiz_health() allowed');
for my $call ("SELECT year_setup(2031, 100, '{7}', '{5}', '{25}', '{9}',"
              . " 25, 18)",
              "SELECT ops_audit('forged', '{}')",
              "SELECT * FROM me_get(1, 1, 'zh')",
              "SELECT csibiz_mask('abc', 1, 1)",
              "SELECT * FROM roster_import(true, 'x')")
{
    my ($f) = $call =~ /(\w+)\(/;
    is(as_login($app, $call), '42501',
       "csibiz_app: EXECUTE $f() refused (42501)");
}
is(as_login($ops, "SELECT * FROM app_login_lookup('\\x00')"), '42501',
   'csibiz_ops: EXECUTE app_login_lookup() refused (42501)');

is(psql_value("SELECT coalesce(string_agg(p.proname, ', '), 'none')"
              . " FROM pg_proc p"
              . " WHERE p.pronamespace = 'public'::regnamespace"
              . " AND has_function_privilege('csibiz_app', p.oid, 'EXECUTE')"
              . " AND NOT (p.prosecdef AND EXISTS (SELECT 1"
              . " FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%'))"),
   'none', 'every function csibiz_app may call is SECURITY DEFINER with its'
       . ' search_path pinned');
is(psql_value("SELECT coalesce(string_agg(p.proname, ', '), 'none')"
              . " FROM pg_proc p"
              . " WHERE p.pronamespace = 'public'::regnamespace"
              . " AND has_function_privilege('public', p.oid, 'EXECUTE')"),
   'none', 'PUBLIC may EXECUTE no function of schema public');
is(psql_value("SELECT count(*) FROM pg_class c"
              . " WHERE c.relnamespace = 'public'::regnamespace"
              . " AND c.relkind IN ('r', 'p', 'v', 'S')"
              . " AND (has_table_privilege('csibiz_app', c.oid,"
              . " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES,"
              . " TRIGGER') OR (c.relkind = 'S' AND"
              . " has_sequence_privilege('csibiz_app', c.oid,"
              . " 'USAGE, SELECT, UPDATE')))"),
   0, 'csibiz_app holds no privilege on any table or sequence');

# ------------------------------------------------------------ /api/health

start_nginx(config => "location = /api/health { csibiz health; }");

my $r = http_req(GET => '/api/health');
is($r->{status}, 200, 'health as csibiz_app_login: 200');
is_deeply($r->{json}, { redis => 'up', postgres => 'up' }, '... both up');

psql("REVOKE EXECUTE ON FUNCTION csibiz_health() FROM csibiz_app");
END {
    eval { psql("GRANT EXECUTE ON FUNCTION csibiz_health() TO csibiz_app") }
}

wait_until(sub { (http_req(GET => '/api/health')->{status} // 0) == 503 },
           timeout => 30);
$r = http_req(GET => '/api/health');
is($r->{status}, 503, 'csibiz_app without EXECUTE on csibiz_health(): 503');
is_deeply($r->{json}, { redis => 'up', postgres => 'down' },
          '... "postgres":"down"');

psql("GRANT EXECUTE ON FUNCTION csibiz_health() TO csibiz_app");
wait_until(sub { (http_req(GET => '/api/health')->{status} // 0) == 200 },
           timeout => 30);
$r = http_req(GET => '/api/health');
is($r->{status}, 200, 'EXECUTE granted again: 200');
is_deeply($r->{json}, { redis => 'up', postgres => 'up' }, '... both up');

ok(stop_nginx(), 'nginx stopped cleanly');

# ------------------------------------------- a new database: no years

my ($db_part) = pg_conninfo() =~ /dbname=(\S+)/;
my $empty = "${db_part}_empty";
(my $empty_conninfo = pg_conninfo()) =~ s/dbname=\S+/dbname=$empty/;
psql("DROP DATABASE IF EXISTS $empty WITH (FORCE)");
psql("CREATE DATABASE $empty TEMPLATE template0");
END { eval { psql("DROP DATABASE IF EXISTS $empty WITH (FORCE)") } }

my ($rc, $out) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/migrate', $empty_conninfo], merge => 1);
is($rc, 0, 'an empty database migrated') or diag($out);
like($out, qr/grants\.sql applied/, '... grants.sql applied last');

sub empty_value {
    my ($sql) = @_;
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [$PSQL, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
         '-d', $empty_conninfo, '-c', $sql]);
    die "psql: $err" if $rc;
    chomp $out;
    return $out;
}

is(empty_value("SELECT (SELECT count(*) FROM premium) || ','"
               . " || (SELECT count(*) FROM window_calendar) || ','"
               . " || (SELECT count(*) FROM debit_calendar)"),
   '0,0,0', '... no premiums, windows or debit months seeded');
cmp_ok(empty_value("SELECT count(*) FROM bank"), '>', 0,
       '... the banks are (the same everywhere)');
is(empty_value("SELECT nspowner::regrole FROM pg_namespace"
               . " WHERE nspname = 'public'"),
   'csibiz_owner', '... its schema owned by csibiz_owner');
(my $empty_app = $app) =~ s/dbname=\S+/dbname=$empty/;
is(as_login($empty_app, "SELECT 1 FROM premium"), '42501',
   '... and csibiz_app reads no table there either');

# tools/year-setup, as the ops role, sets a year
($rc, $out) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/year-setup', '--db',
     $empty_conninfo =~ s/user=\S+/user=csibiz_ops_login/r,
     '--year', '2030', '--premium', '175'], merge => 1);
is($rc, 0, 'tools/year-setup as csibiz_ops_login') or diag($out);
is(empty_value("SELECT (SELECT amount_cents FROM premium WHERE year = 2030)"
               . " || ',' || (SELECT count(*) FROM window_calendar) || ','"
               . " || (SELECT count(*) FROM debit_calendar)"),
   '17500,5,3', '... the year\'s premium, windows and debit months');

($rc, $out) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/migrate', $empty_conninfo], merge => 1);
is($out, "migrate: up to date\n", 'a second migration run: up to date');

done_testing();
