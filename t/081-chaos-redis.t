# Redis killed (SIGKILL) and restarted under a steady load of Redis
# requests from 4 clients: while it is down every answer is a fast 503
# backend_unavailable (none slower than the configured timeouts), all is
# well again within 2 s of its return, and the workers do not storm it
# with reconnects.  tools/chaos redis runs it longer and prints the
# numbers (CSIBIZ_CHAOS_SECONDS).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Chaos;
use Test::More;
use Time::HiRes qw(sleep time);

my $WORKERS = 2;
my $POOL = 2;
my $SECONDS = chaos_seconds(6);
my $OUTAGE = $SECONDS / 3;

workers($WORKERS);
log_level('notice');

start_nginx(http_config => <<"EOF2", config => <<'EOF2');
    csibiz_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT pool=$POOL
                 connect_timeout=1s timeout=1s;
EOF2
    location = /metrics { csibiz status; }
    location = /t       { csibiz test; }
EOF2

is(http_req(GET => '/t?backend=redis&op=echo&value=x')->{status}, 200,
   'Redis answers before the fault');
my $m0 = metrics();
my $mark = error_log_mark();

my $load = load_start(clients => 4, seconds => $SECONDS + 60, request => sub {
    http_req(GET => '/t?backend=redis&op=echo&value=x', timeout => 10);
});

sleep($SECONDS / 6);
my $pid = redis_pid();
ok($pid && kill('KILL', $pid), "Redis killed (pid $pid)");
my $t_down = time;
sleep($OUTAGE);
my $t_restart = time;
backend_start('redis');
my $t_up = time;
my $m_up = metrics();
sleep($SECONDS / 2);
load_stop($load);

my @r = load_wait($load);
my $m1 = metrics();
my $redis_conns =
    redis_cmd('INFO', 'stats') =~ /total_connections_received:(\d+)/
    ? $1 - 1 : -1;

my @before = grep { $_->{start} < $t_down } @r;
my @down = grep { $_->{start} >= $t_down + 0.05 && $_->{start} < $t_restart }
           @r;
my @after = grep { $_->{start} >= $t_up } @r;
my @bad = grep { $_->{status} != 200
                 && !($_->{status} == 503
                      && ($_->{code} // '') eq 'backend_unavailable') } @r;
my ($slowest) = sort { $b->{elapsed} <=> $a->{elapsed} }
                grep { $_->{status} != 200 } @r;
my ($first_ok) = grep { $_->{status} == 200 } @after;
my @late_fail = grep { $_->{status} != 200 && $_->{start} >= $t_up + 2 } @r;
my ($last_fail) = reverse grep { $_->{status} != 200 } @after;

my $connects = m_get($m1, 'csibiz_backend_connects_total{backend="redis"}')
             - m_get($m0, 'csibiz_backend_connects_total{backend="redis"}');
my $failures =
    m_get($m1, 'csibiz_backend_connect_failures_total{backend="redis"}')
  - m_get($m0, 'csibiz_backend_connect_failures_total{backend="redis"}');

diag(sprintf 'redis chaos: %.1f s load, %.1f s outage (restart took '
             . '%.1f s)', $SECONDS, $t_up - $t_down, $t_up - $t_restart);
diag('  before: ' . summary(@before));
diag('  down:   ' . summary(@down));
diag('  after:  ' . summary(@after));
diag(sprintf '  first 200 %.0f ms after Redis was back; last failure '
             . '%s', ($first_ok ? ($first_ok->{start} + $first_ok->{elapsed}
                                   - $t_up) * 1000 : -1),
             $last_fail ? sprintf('%.0f ms after', ($last_fail->{start}
                                                    - $t_up) * 1000)
                        : 'none after');
diag("  nginx connects $connects (failed $failures), Redis accepted "
     . "$redis_conns after its restart");

ok(@down > 0, 'requests were sent while Redis was down');
ok(!@bad, 'every answer is 200 or 503 backend_unavailable')
    or diag(explain([@bad[0 .. ($#bad < 4 ? $#bad : 4)]]));
ok(!grep({ $_->{status} == 200 } @down[1 .. $#down]),
   'nothing succeeded while Redis was down') if @down > 1;
ok(!$slowest || $slowest->{elapsed} <= 1.0 + 1.0,
   'no failed request took longer than connect_timeout + timeout')
    or diag(explain($slowest));
ok(!@late_fail, 'all requests succeed from 2 s after Redis is back')
    or diag(explain($late_fail[0]));
ok($first_ok, 'requests succeed again');

# a storm would be a connect per request; the back-off allows about one
# attempt per worker per back-off step (100 ms doubling to 1 s)
my $budget = $WORKERS * ($POOL + 6 + 2 * ($t_up - $t_down));
cmp_ok($connects, '<=', $budget, "no reconnect storm ($connects <= "
       . int($budget) . ')');
# Redis's own count includes the harness's clients: nginx's come from
# its metrics, connects made since Redis was back that did not fail
my $made = $connects
         - (m_get($m_up, 'csibiz_backend_connects_total{backend="redis"}')
            - m_get($m0, 'csibiz_backend_connects_total{backend="redis"}'))
         - (m_get($m1, 'csibiz_backend_connect_failures_total{backend="redis"}')
            - m_get($m_up,
                    'csibiz_backend_connect_failures_total{backend="redis"}'));
cmp_ok($made, '<=', $WORKERS * $POOL,
       "nginx made at most pool x workers connections after the restart"
       . " ($made)");

my @alerts = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
             split /\n/, error_log_since($mark);
ok(!@alerts, 'no alert or crash in error.log') or diag(join "\n", @alerts);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
