# The operations guide's install from zero, run as written: the shell
# blocks of docs/operations.md marked runnable (an `<!-- doctest -->` line
# before a ```sh block) are run in order, each by bash -euo pipefail, in
# a sandbox:
#
#   * the package (tools/make-deb) extracted into a private root, with
#     the host's side of nginx (Test::Csibiz::Package::host_root);
#   * a PostgreSQL cluster of its own (initdb, superuser postgres, trust
#     on loopback and its socket) and a Redis of its own, on the file's
#     wide ports;
#   * Debian's /usr/sbin/nginx with -p and -c of the root.
#
# The one change to the blocks, and to the example site the package
# installs, is Test::Csibiz::Package::sandbox_subst: the paths the guide
# names get the root's prefix, and the ports 5432, 6379, 443 and 80
# become the file's.  Three commands are shell functions of the sandbox:
# `sudo -u postgres CMD` (CMD with PGHOST/PGPORT/PGUSER of the private
# cluster), `nginx` (with -p/-c) and `systemctl reload nginx` (starts it
# when it is not running, else nginx -s reload).
#
# The guide's example site must be the package's (tools/csibiz-server.conf)
# line for line, and the last block's /api/health and /api/banks must
# answer: checked again here, and that nginx reaches PostgreSQL as the
# application role.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Package;
use Test::More;

use File::Path ();
use File::Temp ();

no_backends();

my $ROOT = repo_root();
my %PORT = (pg => wide_port(0), redis => wide_port(1),
            https => wide_port(2), http => wide_port(3));

# ------------------------------------------------------------ the guide

my $guide = do {
    local $/;
    open my $fh, '<', "$ROOT/docs/operations.md" or die "operations.md: $!";
    <$fh>;
};

my ($first_section) = $guide =~ /^## (.+)$/m;
is($first_section, 'Installing from zero on Debian 12',
   'the install from zero is the guide\'s first section');

my @blocks;
while ($guide =~ /^<!-- doctest -->\n```sh\n(.*?)^```$/msg) {
    push @blocks, $1;
}
cmp_ok(scalar @blocks, '>=', 8, scalar(@blocks) . ' runnable blocks');
unlike($guide, qr{see tools/nginx-demo\.conf\.in},
       'no location is left to the demo configuration');

my ($shown) = $guide
    =~ /^<!-- example: tools\/csibiz-server\.conf -->\n```nginx\n(.*?)^```$/ms;
my $example = do {
    local $/;
    open my $fh, '<', "$ROOT/tools/csibiz-server.conf" or die $!;
    <$fh>;
};
ok(defined $shown && $shown eq $example,
   'the site shown in the guide is the package\'s example, line for line');

# ------------------------------------------------------------ the sandbox

my $deb = package_deb();
# removed by the END below, after its servers have stopped
my $R = File::Temp::tempdir('/tmp/csibiz-096.XXXXXX');
chmod 0755, $R;
host_root($R, $deb);

my $example_file
    = "$R/usr/share/doc/libnginx-mod-http-csibiz/examples/csibiz-server.conf";
{
    open my $fh, '<', $example_file or die "$example_file: $!";
    local $/;
    my $text = <$fh>;
    close $fh;
    open $fh, '>', $example_file or die $!;
    print {$fh} sandbox_subst($text, $R, %PORT);
    close $fh;
}

my ($pg_bin) = reverse sort { $a cmp $b } grep { -x "$_/initdb" }
    glob '/usr/lib/postgresql/*/bin';
die 'no PostgreSQL server binaries' unless $pg_bin;
my $pg_data = "$R/var/lib/postgresql/data";
my $pg_sock = "$R/run/postgresql";
File::Path::make_path($pg_data, $pg_sock, "$R/var/lib/redis");
chmod 0700, $pg_data;
my @as_pg = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();
system('chown', 'postgres:', $pg_data, $pg_sock, "$R/var/lib/postgresql")
    if $> == 0;

sub run_quiet {
    my (@cmd) = @_;
    my $out = qx{cd / && @{[ join ' ', map { "'$_'" } @cmd ]} 2>&1};
    die "@cmd failed:\n$out" if $?;
    return $out;
}

my ($pg_started, $redis_started);
# nginx and Redis by the pids they wrote, PostgreSQL by pg_ctl
sub pid_in {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid && $pid =~ /^\d+$/ ? $pid : undef;
}
END {
    local $?;
    for my $s (['QUIT', "$R/run/nginx.pid"], ['TERM', "$R/run/redis.pid"]) {
        my $pid = pid_in($s->[1]) or next;
        kill $s->[0], $pid;
        wait_until(sub { !pid_alive($pid) }, timeout => 10)
            or kill 'KILL', $pid;
    }
    system("cd / && @as_pg $pg_bin/pg_ctl -D $pg_data -m fast -w stop"
           . " >/dev/null 2>&1") if $pg_started;
    File::Path::remove_tree($R) if $R && !$ENV{TEST_NGINX_NO_CLEAN};
}

run_quiet(@as_pg, "$pg_bin/initdb", '-D', $pg_data, '-U', 'postgres',
          '-E', 'UTF8', '--auth-local=trust', '--auth-host=trust');
{
    open my $fh, '>>', "$pg_data/postgresql.conf" or die $!;
    print {$fh} "listen_addresses = '127.0.0.1'\nport = $PORT{pg}\n"
        . "unix_socket_directories = '$pg_sock'\nfsync = off\n"
        . "max_connections = 50\n";
    close $fh;
}
run_quiet(@as_pg, "$pg_bin/pg_ctl", '-D', $pg_data, '-w', '-t', '60',
          '-l', "$pg_data/../postgresql.log", 'start');
$pg_started = 1;

run_quiet('redis-server', '--bind', '127.0.0.1', '--port', $PORT{redis},
          '--daemonize', 'yes', '--pidfile', "$R/run/redis.pid",
          '--dir', "$R/var/lib/redis", '--logfile', "$R/var/log/redis.log",
          '--save', '', '--appendonly', 'no');
$redis_started = 1;
ok(wait_until(sub { qx{redis-cli -p $PORT{redis} ping 2>&1} =~ /PONG/ },
              timeout => 30), 'the sandbox\'s Redis answers');

# The sandbox's three commands (see the top of this file).
my @nginx = nginx_cmd($R);
my $prelude = <<"EOF";
sudo() {
    if [[ \$1 == -u && \$2 == postgres ]]; then
        shift 2
        PGHOST=$pg_sock PGPORT=$PORT{pg} PGUSER=postgres "\$@"
    else
        echo "sandbox: sudo \$* is not supported" >&2
        return 1
    fi
}
nginx() { @nginx "\$@"; }
systemctl() {
    if [[ "\$*" != "reload nginx" ]]; then
        echo "sandbox: systemctl \$* is not supported" >&2
        return 1
    fi
    if [[ -s $R/run/nginx.pid ]] && kill -0 "\$(cat $R/run/nginx.pid)"; then
        nginx -s reload
    else
        nginx
    fi
}
EOF

# ------------------------------------------------------------ the blocks

my $n = 0;
my $last_out = '';
for my $block (@blocks) {
    $n++;
    my ($first) = $block =~ /^(.*)$/m;
    my $script = "$R/block-$n.sh";
    open my $fh, '>', $script or die "$script: $!";
    print {$fh} $prelude, sandbox_subst($block, $R, %PORT);
    close $fh;
    my $out = qx{bash -euo pipefail "$script" 2>&1};
    my $rc = $? >> 8;
    if (!is($rc, 0, "block $n ($first)")) {
        diag("block $n as run:\n" . sandbox_subst($block, $R, %PORT));
        diag("its output:\n$out");
        diag("nginx's error log:\n"
             . (qx{tail -20 "$R/var/log/nginx/error.log" 2>&1} // ''));
        last;
    }
    $last_out = $out;
}
like($last_out, qr/\{"redis":"up","postgres":"up"\}/,
     'the last block shows health up');
like($last_out, qr/\{"banks":\s*\[\{"code":\s*"/, 'and the banks');

# ------------------------------------------------------------ afterwards

my $health = curl_get('https://portal.example.cn/api/health',
                      $PORT{https}, $R);
is($health->{status}, 200, '/api/health answers 200 over TLS');
is_deeply($health->{json}, {redis => 'up', postgres => 'up'},
          'both backends up');

my $banks = curl_get('https://portal.example.cn/api/banks',
                     $PORT{https}, $R);
is($banks->{status}, 200, 'GET /api/banks answers 200');
ok(ref $banks->{json}{banks} eq 'ARRAY' && @{$banks->{json}{banks}} > 3,
   'with the banks of the reference data');

my $roles = qx{PGHOST=$pg_sock PGPORT=$PORT{pg} psql -X -At -U postgres \\
    -d csibiz -c "SELECT DISTINCT usename FROM pg_stat_activity
                  WHERE application_name = 'csibiz'" 2>&1};
is($roles, "csibiz_app_login\n",
   'nginx is connected to PostgreSQL as the application role only');

my $plain = qx{curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' \\
    -H 'Host: portal.example.cn' http://127.0.0.1:$PORT{http}/api/health};
is($plain, 'https://portal.example.cn/api/health' =~ s/^/301 /r,
   'plain HTTP redirects to HTTPS');

my $page = curl_get('https://portal.example.cn/', $PORT{https}, $R);
ok($page->{status} == 200 && $page->{body} =~ /<html/i,
   'the pages are served from /usr/share/csibiz/html');

done_testing();
