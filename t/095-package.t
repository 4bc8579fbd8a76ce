# The Debian package (make deb, tools/make-deb): what it holds, its
# dependency on nginx's binary interface, lintian, every installed tool's
# --help; then, extracted into a fresh root (dpkg-deb -x), Debian's
# /usr/sbin/nginx loads the module through the package's modules-available
# file and serves the package's example site against this file's Redis and
# database.
#
# The example site is changed only by Test::Csibiz::Package::sandbox_subst
# (the root's prefix on its paths; 443, 80 and 6379 become the file's
# ports) and in its one line marked CHANGE for the database: the
# csibiz_postgres connection string is this file's.
#
# lintian is required where CSIBIZ_REQUIRE_LINTIAN or CI is set (.ci/run);
# elsewhere its test is skipped when it is not installed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Package;
use Test::More;

use File::Path ();
use File::Temp ();

my $ROOT = repo_root();
my $deb = package_deb();

# ------------------------------------------------------------ the .deb

my $version = qx{cd "$ROOT" && dpkg-parsechangelog -SVersion};
chomp $version;
like($deb, qr{/libnginx-mod-http-csibiz_\Q$version\E_amd64\.deb\z},
     "the .deb is named with debian/changelog's version ($version)");

my %f;
for my $field (qw(Package Version Architecture Depends)) {
    $f{$field} = qx{dpkg-deb -f "$deb" $field};
    chomp $f{$field};
}
is($f{Package}, 'libnginx-mod-http-csibiz', 'Package');
is($f{Version}, $version, 'Version');

my $abi = do {
    open my $fh, '<', '/usr/share/nginx/src/debian/libnginx-mod.abisubstvars'
        or die "nginx-dev's abisubstvars: $!";
    my ($v) = map { /^nginx:abi=(\S+)/ ? $1 : () } <$fh>;
    $v;
};
is($abi, 'nginx-abi-1.22.1-7', "nginx-dev's ABI is $abi");
like($f{Depends}, qr/(?:^|,\s*)\Q$abi\E(?:,|$)/,
     "Depends: $abi (the .deb's control)");

my $postinst = qx{dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./postinst};
like($postinst,
     qr{ln -sf /usr/share/nginx/modules-available/\$from\s*\\?\s*/etc/nginx/modules-enabled/\$to},
     'postinst links the module into modules-enabled (dh_nginx)');
like($postinst, qr/mod-http-csibiz\.conf:50-mod-http-csibiz\.conf/,
     'as 50-mod-http-csibiz.conf');

SKIP: {
    my $required = $ENV{CSIBIZ_REQUIRE_LINTIAN} || $ENV{CI};
    if (!grep { -x "$_/lintian" } split /:/, $ENV{PATH}) {
        fail('lintian is installed (tools/setup)') if $required;
        skip 'no lintian (tools/setup installs it)', 1;
    }
    my $out = qx{lintian --fail-on error "$deb" 2>&1};
    my $rc = $? >> 8;
    my @errors = grep { /^E: / } split /\n/, $out;
    ok($rc == 0 && !@errors, 'lintian reports no error')
        or diag($out);
    note("lintian: " . ($out =~ /\S/ ? $out : "no tags\n"));
}

# ------------------------------------------------------------ its files

# removed by the END below, after nginx has stopped
my $R = File::Temp::tempdir('/tmp/csibiz-095.XXXXXX');
chmod 0755, $R;
my $nginx_pid;
END {
    local $?;
    if ($nginx_pid) {
        kill 'QUIT', $nginx_pid;
        wait_until(sub { !pid_alive($nginx_pid) }, timeout => 10)
            or kill 'KILL', $nginx_pid;
    }
    File::Path::remove_tree($R) if $R && !$ENV{TEST_NGINX_NO_CLEAN};
}
host_root($R, $deb);

ok(-f "$R/usr/lib/nginx/modules/ngx_http_csibiz_module.so",
   'the module in /usr/lib/nginx/modules');
my $avail = do {
    local $/;
    open my $fh, '<',
        "$R/usr/share/nginx/modules-available/mod-http-csibiz.conf" or die $!;
    <$fh>;
};
like($avail, qr/^load_module modules\/ngx_http_csibiz_module\.so;$/m,
     'modules-available: load_module');
like($avail, qr/^thread_pool csibiz /m, 'and the thread pool');

for my $f (qw(usr/share/csibiz/html/index.html
              usr/share/csibiz/sql/001_schema.sql
              usr/share/csibiz/sql/functions/banks_json.sql
              usr/share/csibiz/nginx/api-errors.conf
              usr/share/csibiz/nginx/pages.conf
              usr/share/doc/libnginx-mod-http-csibiz/examples/csibiz-server.conf))
{
    ok(-s "$R/$f", "/$f");
}
my @sql = map { s{.*/}{}r } glob "$ROOT/sql/[0-9][0-9][0-9]_*.sql";
my @pkg_sql = map { s{.*/}{}r } glob "$R/usr/share/csibiz/sql/[0-9]*.sql";
is_deeply(\@pkg_sql, \@sql, 'every migration of the tree');

# every command, with a --help that reads like a manual page: the
# synopsis under the installed name, the options, the exit status
my @tools = sort glob "$R/usr/lib/csibiz/csibiz-*";
is_deeply([map { s{.*/}{}r } @tools],
          [sort map { "csibiz-$_" } qw(migrate keytool roster-import
              debit-export result-import year-setup remind
              seal-birth-dates)],
          'the commands in /usr/lib/csibiz');
for my $tool (@tools) {
    my $name = $tool =~ s{.*/}{}r;
    my $help = qx{"$tool" --help 2>&1};
    my $rc = $? >> 8;
    ok($rc == 0 && $help =~ /\Ausage: \Q$name\E /
       && $help =~ /^\s+-/m && $help =~ /exit status/i,
       "$name --help: usage under its name, options, exit status")
        or diag("exit $rc:\n$help");
}
my $nohost = qx{"$R/usr/lib/csibiz/csibiz-year-setup" --year 2027 \\
    --premium 160 2>&1};
is($? >> 8, 2, 'an ops tool without --db exits 2 (no tools/stack here)');
like($nohost, qr/--db CONNINFO is needed/, 'and says so');

# the example site has everything the demo serves, and the hardening
my $example = do {
    local $/;
    open my $fh, '<', "$ROOT/tools/csibiz-server.conf" or die $!;
    <$fh>;
};
my $demo = do {
    local $/;
    open my $fh, '<', "$ROOT/tools/nginx-demo.conf.in" or die $!;
    <$fh>;
};
my @locations = $demo =~ /^\s*location = (\S+)\s+\{\s*csibiz (\w+);/mg;
cmp_ok(scalar @locations, '>=', 30, 'the demo\'s API locations');
while (my ($path, $handler) = splice @locations, 0, 2) {
    like($example, qr/^\s*location = \Q$path\E\s+\{\s*csibiz \Q$handler\E;/m,
         "the example has $path");
}
like($example, qr/location = \/metrics \{[^}]*csibiz status;/s,
     'and /metrics');
like($example, qr/^\s*include \/usr\/share\/csibiz\/nginx\/api-errors\.conf;/m,
     'and the JSON errors of nginx\'s refusals');
like($example, qr/root \/usr\/share\/csibiz\/html;\s*include \/usr\/share\/csibiz\/nginx\/pages\.conf;/,
     'and the pages');
like($example, qr/^\s*ssl_certificate\s+\S+;/m, 'TLS');
like($example, qr/^\s*set_real_ip_from\s+\S+;/m, 'set_real_ip_from');
like($example, qr/^\s*real_ip_header\s+X-Forwarded-For;/m, 'real_ip_header');
like($example, qr/^\s*client_header_timeout\s+\d+s;/m, 'header timeout');
like($example, qr/^\s*client_body_timeout\s+\d+s;/m, 'body timeout');
like($example, qr/^\s*limit_conn\s+csibiz_conn\s+\d+;/m, 'limit_conn');
my ($max) = $example =~ /^\s*client_max_body_size\s+(\S+);/m;
my ($buf) = $example =~ /^\s*client_body_buffer_size\s+(\S+);/m;
my ($limit) = $example =~ /^\s*csibiz_body_limit\s+(\S+);/m;
$limit //= '16k';    # the directive's default (docs/directives.md)
ok(defined $max && defined $buf && $max eq $limit && $buf eq $limit,
   "client_max_body_size = client_body_buffer_size = the body limit"
   . " ($limit)");

# ------------------------------------------------------------ it runs

ensure_backends();
my %port = (https => server_port(), http => spare_port(),
            redis => redis_port());
my $site = sandbox_subst($example, $R, %port);
my $conninfo = pg_app_conninfo();
ok($site =~ s{^csibiz_postgres\s+"[^"]*"}{csibiz_postgres   "$conninfo"}m,
   'the example\'s database line, changed to this file\'s database');
{
    open my $fh, '>', "$R/etc/nginx/sites-available/csibiz" or die $!;
    print {$fh} $site;
    close $fh;
    symlink '../sites-available/csibiz', "$R/etc/nginx/sites-enabled/csibiz"
        or die $!;
}
mkdir "$R/etc/csibiz", 0700;
system('cp', stack_env('SECRET_KEY'), "$R/etc/csibiz/secret.key") == 0
    or die 'key';
chmod 0600, "$R/etc/csibiz/secret.key";
self_signed($R);

my @nginx = nginx_cmd($R);
my $t = qx{@nginx -t 2>&1};
is($? >> 8, 0, 'nginx -t with the package\'s files') or diag($t);

my $start = qx{@nginx 2>&1};
is($? >> 8, 0, 'Debian\'s nginx starts with it') or diag($start);
$nginx_pid = qx{cat "$R/run/nginx.pid" 2>/dev/null};
chomp $nginx_pid;

my $health;
wait_until(sub {
    $health = curl_get('https://portal.example.cn/api/health',
                       $port{https}, $R);
    $health->{status} == 200;
}, timeout => 30);
is($health->{status}, 200, '/api/health answers 200 over TLS');
is_deeply($health->{json}, {redis => 'up', postgres => 'up'},
          'against this file\'s Redis and PostgreSQL');
my $banks = curl_get('https://portal.example.cn/api/banks', $port{https}, $R);
is($banks->{status}, 200, 'GET /api/banks');

my $log = qx{cat "$R/var/log/nginx/error.log"};
unlike($log, qr/\[(?:alert|crit|emerg)\]/, 'no alert in the error log')
    or diag($log);

done_testing();
