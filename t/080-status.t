# The metrics page (csibiz status) and the access log variables.  Two
# workers: counters are summed over both through the shared zone, pool
# gauges come from each worker's slot, counters survive a reload, and the
# access log names the handler, the error code and a pseudonym of the
# user (never the user id itself).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

workers(2);

my $LOG_FORMAT = 'log_format csibiz \'$status "$csibiz_handler" '
    . '"$csibiz_error" "$csibiz_user" "$csibiz_backend_time" $request_uri\';';

start_nginx(
    main_config => "thread_pool csibiz threads=2;\nenv TZ=UTC;",
    http_config => <<"EOF2",
    csibiz_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT timeout=300ms;
$BANK_HTTP
    $LOG_FORMAT
    access_log logs/csibiz.log csibiz;
EOF2
    config => $BANK_CONFIG . <<'EOF2');
    location = /metrics { csibiz status; }
    location = /h       { csibiz health; }
    location = /t       { csibiz test; }
    location = /plain   { return 204; }
EOF2

sub metrics {
    my $r = http_req(GET => '/metrics');
    die "metrics: $r->{status}" unless $r->{status} == 200;
    my %m;
    for (split /\n/, $r->{body}) {
        next if /^#/;
        /^(\S+) (\d+)$/ or die "bad line: $_";
        $m{$1} = $2;
    }
    return \%m;
}

sub m_get { my ($m, $k) = @_; return $m->{$k} // 0 }

sub access_lines {
    open my $fh, '<', servroot() . '/logs/csibiz.log' or return ();
    return <$fh>;
}

# ------------------------------------------------------------ the page

my $r = http_req(GET => '/metrics');
is($r->{status}, 200, 'the metrics page answers');
like($r->{headers}{'content-type'} // '', qr{^text/plain; version=0\.0\.4},
     'Prometheus text exposition format');
like($r->{body}, qr/^# TYPE csibiz_requests_total counter$/m,
     'metrics have TYPE lines');
is(http_req(POST => '/metrics')->{status}, 405, 'POST is refused');

# every counted request is counted once, whichever worker took it
my $before = metrics();
is(http_req(GET => '/h')->{status}, 200, 'health') for 1 .. 10;
is(http_req(GET => '/plain')->{status}, 204, 'a non-csibiz location');
# counted in the log phase, just after the answer went out: poll
my $H = 'csibiz_requests_total{handler="health",status="200"}';
my $after;
ok(wait_until(sub { $after = metrics();
                    m_get($after, $H) - m_get($before, $H) == 10 },
              timeout => 30),
   '10 health requests counted, over both workers')
    or diag(m_get($after, $H) - m_get($before, $H));
ok(!grep(/handler="(?:plain)?"/, keys %$after),
   'other locations are not counted');

# the pool gauges: both workers publish their slot (within a second)
my $m;
ok(wait_until(sub { $m = metrics(); m_get($m, 'csibiz_workers') == 2
                    && m_get($m, 'csibiz_pool_size{backend="redis"}') == 4 },
              timeout => 30),
   'two workers, 2 x 2 Redis connections configured')
    or diag(explain($m));
cmp_ok(m_get($m, 'csibiz_pool_idle{backend="redis"}')
       + m_get($m, 'csibiz_pool_busy{backend="redis"}'), '>=', 1,
       'a Redis connection is open after health checks');
ok(exists $m->{'csibiz_pool_waiting{backend="postgres"}'},
   'the waiting gauge is there');
cmp_ok(m_get($m, 'csibiz_backend_connects_total{backend="postgres"}'), '>=',
       1, 'PostgreSQL connects are counted');

# ------------------------------------------- login, SMS, argon2, errors

my $p = parent(1);
my $bad = json_post('/api/login', { id_number => $p->{id},
                                    password => 'not the password' },
                    headers => { 'X-Real-IP' => '10.8.0.1' });
code_is($bad, 401, 'bad_credentials', 'a wrong password');

# requests and errors are counted in the log phase, after the answer went
# out: poll until the 401 is counted
wait_until(sub {
    $m = metrics();
    m_get($m, 'csibiz_errors_total{handler="login",code="bad_credentials"}')
        >= 1
    && m_get($m, 'csibiz_requests_total{handler="login",status="401"}') >= 1
}, timeout => 30);
cmp_ok(m_get($m, 'csibiz_sms_sent_total'), '>=', 1, 'SMS codes counted');
cmp_ok(m_get($m, 'csibiz_argon2_jobs_total'), '>=', 3,
       'argon2 jobs counted (register, login, wrong login)');
is(m_get($m, 'csibiz_argon2_jobs_done_total'),
   m_get($m, 'csibiz_argon2_jobs_total'), 'and all of them done');
cmp_ok(m_get($m, 'csibiz_logins_failed_total'), '>=', 1,
       'failed logins counted');
cmp_ok(m_get($m, 'csibiz_requests_total{handler="login",status="401"}'),
       '>=', 1, 'requests by handler and status');
cmp_ok(m_get($m, 'csibiz_errors_total{handler="login",'
                 . 'code="bad_credentials"}'), '>=', 1,
       'errors by handler and code');

# a Redis reply that times out: 503, counted as timeout and unavailable
my $t0 = metrics();
$r = http_req(GET => '/t?backend=redis&op=sleep&seconds=3');
code_is($r, 503, 'backend_unavailable', 'a Redis reply past timeout=');
my $E = 'csibiz_errors_total{handler="test",code="backend_unavailable"}';
wait_until(sub { $m = metrics(); m_get($m, $E) > m_get($t0, $E) },
           timeout => 30);
is(m_get($m, 'csibiz_backend_timeouts_total{backend="redis"}')
   - m_get($t0, 'csibiz_backend_timeouts_total{backend="redis"}'), 1,
   'the timeout is counted');
cmp_ok(m_get($m, 'csibiz_backend_unavailable_total{backend="redis"}'), '>',
       m_get($t0, 'csibiz_backend_unavailable_total{backend="redis"}'),
       'the unavailable operation is counted');
is(m_get($m, 'csibiz_errors_total{handler="test",code="backend_unavailable"}')
   - m_get($t0, 'csibiz_errors_total{handler="test",'
                . 'code="backend_unavailable"}'), 1,
   'and its 503 answer');

# ------------------------------------------------------- access log

$r = account_get($p);
is($r->{status}, 200, 'GET /api/account with a session');

my @lines;
ok(wait_until(sub { @lines = access_lines(); grep { m{/api/account} } @lines },
              timeout => 30), 'the access log has the account request');
my ($acc) = grep { m{/api/account$} } @lines;
like($acc, qr/^200 "account" "-" "([0-9a-f]{16})" "\d+\.\d{3}" /,
     'handler, no error, a 16-hex user pseudonym, the backend time');
my ($user) = $acc =~ /"([0-9a-f]{16})"/;
unlike($user // '', qr/^0*\Q$p->{uid}\E$/, 'the pseudonym is not the id')
    if defined $p->{uid};
my ($lg) = grep { m{^401 "login" "bad_credentials" } } @lines;
ok($lg, 'a failed login is logged with its error code') or diag(@lines);
my ($h) = grep { m{ /h$} } @lines;
like($h, qr/^200 "health" "-" "-" "\d+\.\d{3}" /,
     'health: no error, no user');
my ($pl) = grep { m{ /plain$} } @lines;
like($pl, qr/^204 "-" "-" "-" "-" /, 'a non-csibiz location logs "-"');
my ($login_ok) = grep { m{^200 "login" "-" "([0-9a-f]{16})" } } @lines;
ok($login_ok && $login_ok =~ /"\Q$user\E"/,
   'login and later requests share the pseudonym');

my $log = join '', @lines;
ok(index($log, $p->{id}) < 0 && index($log, $p->{phone}) < 0,
   'no ID number or phone in the access log');

# ------------------------------------------------------------ reload

my $n;
wait_until(sub { my $x = m_get(metrics(), $H); my $same = defined $n
                 && $x == $n; $n = $x; $same }, timeout => 3);
reload_nginx(wait => 1);
is(http_req(GET => '/h')->{status}, 200, 'health after the reload');
ok(wait_until(sub { m_get(metrics(), $H) == $n + 1 }, timeout => 30),
   'counters survive a reload')
    or diag("before $n, after " . m_get(metrics(), $H));
ok(wait_until(sub { m_get(metrics(), 'csibiz_workers') == 2 }, timeout => 30),
   'the old workers\' slots are gone once they exit');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
