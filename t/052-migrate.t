# tools/migrate: the rewritten migrations (sql/rewritten.txt) and the
# functions of sql/functions/ give the schema the old migrations gave.
# Throwaway databases on the test server, dropped at the end:
#
#   old    a new database migrated by the tree before the rewrite
#   rw     a new database migrated by the tree of the rewrite
#   up     a copy of old, upgraded by this tree
#   new    a new database migrated by this tree
#
# old = rw (the rewrite changed no schema) and up = new (an old database
# upgraded is what a new one is), by pg_dump --schema-only without the
# bookkeeping tables, function bodies included.  Then what migrate refuses:
# an applied migration changed, a stale overload, a removed function file,
# and a failed run applies nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;
use File::Temp ();
use File::Copy qw(copy);
use File::Path qw(make_path);

my $root = repo_root();

plan skip_all => 'not a git checkout: the old tree is read from git'
    unless -d "$root/.git" || -f "$root/.git";

ensure_backends();

my @bin = sort { $a->[0] <=> $b->[0] }
          map { m{/(\d+)/bin$} ? [$1, $_] : () }
          glob '/usr/lib/postgresql/*/bin';
my $bin = @bin ? "$bin[-1][1]/" : '';

my $tag = "csibiz_t052_${$}_" . time;
my %db = map { $_ => "${tag}_$_" } qw(old rw up new);
my $tmp = File::Temp->newdir;

sub cmd {
    my ($cmd, %o) = @_;
    return Test::Csibiz::_run_cmd($cmd, %o);
}

sub conninfo {
    my ($name) = @_;
    return 'hostaddr=127.0.0.1 port=' . pg_port() . " dbname=$name"
           . ' user=csibiz';
}

sub admin {
    my ($sql) = @_;
    my ($rc, $out, $err) = cmd([$bin . 'psql', '-X', '-q', '-v',
                                'ON_ERROR_STOP=1', conninfo('postgres'),
                                '-c', $sql]);
    die "psql: $err" if $rc;
}

sub query {
    my ($name, $sql) = @_;
    my ($rc, $out, $err) = cmd([$bin . 'psql', '-X', '-q', '-A', '-t',
                                '-v', 'ON_ERROR_STOP=1', conninfo($name),
                                '-c', $sql]);
    die "psql: $err" if $rc;
    chomp $out;
    return $out;
}

sub migrate {
    my ($tree, $name, %env) = @_;
    my ($rc, $out) = cmd(["$tree/tools/migrate", conninfo($name)],
                         merge => 1, env => \%env);
    return ($rc, $out);
}

sub schema {
    my ($name) = @_;
    my ($rc, $out, $err) = cmd([$bin . 'pg_dump', '--schema-only',
                                '-T', 'schema_migrations',
                                '-T', 'schema_functions', conninfo($name)]);
    die "pg_dump: $err" if $rc;
    # \restrict's key is random; the version lines are not the schema
    return join '', grep { !/^(\\(un)?restrict |-- Dumped )/ }
                    split /^/, $out;
}

sub same_schema {
    my ($x, $y, $name) = @_;
    my ($a, $b) = (schema($x), schema($y));
    return pass($name) if $a eq $b;
    fail($name);
    my @a = split /\n/, $a;
    my @b = split /\n/, $b;
    for my $i (0 .. ($#a > $#b ? $#a : $#b)) {
        next if ($a[$i] // '') eq ($b[$i] // '');
        diag("first difference at line " . ($i + 1) . ":\n  $x: "
             . ($a[$i] // '(end)') . "\n  $y: " . ($b[$i] // '(end)'));
        last;
    }
}

sub tree {
    my ($rev, $dir) = @_;
    make_path($dir);
    my ($rc, $out, $err) = cmd(['sh', '-c',
        'git -C "$1" archive "$2" sql tools/migrate | tar -x -C "$3"',
        'sh', $root, $rev, $dir]);
    die "git archive $rev: $err" if $rc;
    return $dir;
}

END {
    admin("DROP DATABASE IF EXISTS $_ WITH (FORCE)")
        for grep { defined } values %db;
}

# ------------------------------------------------------------ the trees

# The rewrite is the commit that added sql/rewritten.txt; before it is
# committed, the working tree is the rewrite and HEAD the old tree.
my ($rc, $log) = cmd(['git', '-C', $root, 'log', '--diff-filter=A',
                      '--format=%H', '--', 'sql/rewritten.txt']);
my ($rewrite) = reverse split /\n/, $log;
my $old = tree($rewrite ? "$rewrite^" : 'HEAD', "$tmp/old");
my $rw = $rewrite ? tree($rewrite, "$tmp/rw") : $root;

ok(!-d "$old/sql/functions", 'the old tree has no sql/functions/');

admin("CREATE DATABASE $db{$_}") for qw(old rw new);

my $out;
($rc, $out) = migrate($old, $db{old});
is($rc, 0, 'old tree: a new database migrated') or diag($out);

admin("CREATE DATABASE $db{up} TEMPLATE $db{old}");

($rc, $out) = migrate($rw, $db{rw});
is($rc, 0, 'rewrite: a new database migrated') or diag($out);

($rc, $out) = migrate($root, $db{new});
is($rc, 0, 'this tree: a new database migrated') or diag($out);

($rc, $out) = migrate($root, $db{up});
is($rc, 0, 'this tree: the old database upgraded') or diag($out);
like($out, qr/001_schema\.sql: rewritten text accepted/,
     'the upgrade says which rewritten migrations it accepted');
like($out, qr/function bank_account_put applied/,
     'the upgrade applies the function files');

# ------------------------------------------------------------ the proof

same_schema($db{old}, $db{rw}, 'the rewrite: the same schema as before');
same_schema($db{up}, $db{new}, 'upgraded = new');

($rc, $out) = migrate($root, $db{up});
is($out, "migrate: up to date\n", 'upgraded: a second run does nothing');

my %sum;
for my $f (glob("$root/sql/[0-9][0-9][0-9]_*.sql"), "$root/sql/grants.sql",
           glob("$root/sql/functions/*.sql"))
{
    my ($c, $s) = cmd(['sha256sum', $f]);
    $sum{$f =~ s{.*/}{}r} = (split ' ', $s)[0];
}

for my $name (@db{qw(up new)}) {
    my %got = map { split /\|/ } split /\n/, query($name,
        "SELECT version, checksum FROM schema_migrations
         UNION ALL SELECT name || '.sql', checksum FROM schema_functions");
    is_deeply(\%got, \%sum,
              "$name: every migration and function recorded as it is now");
}

# ------------------------------------------------------- what is refused

# a copy of this tree's sql/, changed below, through CSIBIZ_SQL_DIR
my $sql = "$tmp/sql";
make_path("$sql/functions");
copy($_, "$sql/" . ($_ =~ s{.*/sql/}{}r)) or die "copy $_: $!"
    for glob("$root/sql/*.sql"), "$root/sql/rewritten.txt",
        glob("$root/sql/functions/*.sql");

sub append {
    my ($file, $text) = @_;
    open my $fh, '>>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
}

sub migrate_copy {
    return migrate($root, $db{new}, CSIBIZ_SQL_DIR => $sql);
}

sub recorded {
    my ($name) = @_;
    return query($db{new}, "SELECT checksum FROM schema_functions"
                           . " WHERE name = '$name'");
}

append("$sql/002_reference_data.sql", "-- edited\n");
($rc, $out) = migrate_copy();
isnt($rc, 0, 'an applied migration edited: refused');
like($out, qr/002_reference_data\.sql changed after it was applied/,
     '... and named');
copy("$root/sql/002_reference_data.sql", "$sql/002_reference_data.sql");

# a new migration and a changed function: one transaction
append("$sql/999_t052.sql", "CREATE TABLE t052 (x int);\n");
append("$sql/functions/query_month.sql", "-- edited\n");
($rc, $out) = migrate_copy();
is($rc, 0, 'a new migration and a changed function: applied') or diag($out);
like($out, qr/applied 999_t052\.sql/, '... the migration');
like($out, qr/function query_month changed, applied/, '... the function');
is(recorded('query_month'), (split ' ', (cmd(['sha256sum',
   "$sql/functions/query_month.sql"]))[1])[0],
   '... its new checksum recorded');

# a new signature in the file, the old one not dropped
my $before = recorded('query_month');
append("$sql/999_t052b.sql", "CREATE TABLE t052b (x int);\n");
# the database has query_month(date, text); the file defines another
open my $fh, '>', "$sql/functions/query_month.sql" or die;
print $fh "CREATE OR REPLACE FUNCTION query_month(p_month date, p_lang text,\n"
    . "    p_short boolean) RETURNS text\n"
    . "LANGUAGE sql IMMUTABLE AS \$\$ SELECT p_lang \$\$;\n";
close $fh;
($rc, $out) = migrate_copy();
isnt($rc, 0, 'a signature changed without a migration dropping the old one:'
             . ' refused');
like($out, qr/functions not in sql\/functions\/: query_month\(date,text\)/,
     '... the stale overload named');
is(recorded('query_month'), $before, '... nothing applied: the function');
is(query($db{new}, "SELECT to_regclass('t052b') IS NULL"), 't',
   '... nor the migration of the same run');

copy("$root/sql/functions/query_month.sql", "$sql/functions/query_month.sql");
append("$sql/functions/query_month.sql", "-- edited\n");

# a function file removed, the function left in the database
unlink "$sql/functions/debit_reason_known.sql";
($rc, $out) = migrate_copy();
isnt($rc, 0, 'a function file removed, the function not dropped: refused');
like($out, qr/functions not in sql\/functions\/: debit_reason_known\(text\)/,
     '... and named');

# dropped by a migration (and its line in grants.sql with it): accepted,
# its bookkeeping row goes
append("$sql/999_t052c.sql", "DROP FUNCTION debit_reason_known(text);\n");
{
    open my $in, '<', "$sql/grants.sql" or die $!;
    my $text = join '', grep { !/debit_reason_known/ } <$in>;
    open my $out, '>', "$sql/grants.sql" or die $!;
    print $out $text;
}
($rc, $out) = migrate_copy();
is($rc, 0, '... dropped by a new migration: accepted') or diag($out);
is(recorded('debit_reason_known'), '', '... and no longer recorded');

done_testing();
