# `nginx -s reload` every second under a steady load of Redis and
# PostgreSQL requests: no request fails, the old workers exit, and the
# backends are left with no more connections than the new workers hold
# (none leaked by the old ones).  tools/chaos reload runs it for a minute
# and prints the numbers (CSIBIZ_CHAOS_SECONDS).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Chaos;
use Test::More;
use Time::HiRes qw(sleep time);

my $WORKERS = 2;
my $POOL = 4;
my $SECONDS = chaos_seconds(5);

workers($WORKERS);
log_level('notice');

start_nginx(http_config => <<"EOF2", config => <<'EOF2');
    csibiz_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT pool=$POOL;
    csibiz_postgres "\$TEST_NGINX_PG_CONNINFO application_name=csibiz_chaos"
                    pool=$POOL;
EOF2
    location = /metrics { csibiz status; }
    location = /t       { csibiz test; }
EOF2

sub pg_server_conns {
    return psql_value("SELECT count(*) FROM pg_stat_activity"
                      . " WHERE application_name = 'csibiz_chaos'"
                      . " AND datname = current_database()");
}

sub redis_server_conns {
    return scalar grep { ($_->{cmd} // '') ne 'client|list' } redis_clients();
}

my $master = nginx_pid();
my %seen = map { $_ => 1 } worker_pids();
is(http_req(GET => "/t?backend=$_&op=echo&value=x")->{status}, 200,
   "$_ answers") for qw(redis postgres);
my ($pg0, $redis0) = (pg_server_conns(), redis_server_conns());
my $mark = error_log_mark();

my $load = load_start(clients => 4, seconds => $SECONDS + 60,
                      request => sub {
    my ($c, $n) = @_;
    my $b = ($c + $n) % 2 ? 'redis' : 'postgres';
    http_req(GET => "/t?backend=$b&op=echo&value=$n", timeout => 10);
});

my $reloads = 0;
my $end = time + $SECONDS;
while (time < $end) {
    sleep 1;
    # the new workers must exist before they are counted below
    reload_nginx(wait => 1, timeout => 30);
    $reloads++;
    $seen{$_} = 1 for worker_pids(all => 1);
}
sleep 1;
load_stop($load);
my @r = load_wait($load);
my @failed = grep { $_->{status} != 200 } @r;

diag(sprintf 'reload chaos: %d reloads in %.0f s; %s', $reloads, $SECONDS,
             summary(@r));

cmp_ok(scalar @r, '>', $reloads, 'the load ran across the reloads');
is(scalar @failed, 0, 'no request failed during the reloads')
    or diag(explain([@failed[0 .. ($#failed < 4 ? $#failed : 4)]]));
is(nginx_pid(), $master, 'same master');

my @now;
ok(wait_until(sub { @now = worker_pids(all => 1); @now == $WORKERS },
              timeout => 30), "the old workers exit, $WORKERS remain")
    or diag(explain([worker_procs()]));
my @old = grep { my $p = $_; !grep { $_ == $p } @now } keys %seen;
cmp_ok(scalar @old, '>=', $reloads, 'one generation of workers per reload');

my ($pg1, $redis1);
ok(wait_until(sub { ($pg1, $redis1) = (pg_server_conns(),
                                       redis_server_conns());
                    $pg1 == backend_conns('postgres')
                    && $redis1 == backend_conns('redis') }, timeout => 30),
   'every server-side connection belongs to a live worker')
    or diag("server: pg $pg1 redis $redis1; nginx: pg "
            . backend_conns('postgres') . ' redis ' . backend_conns('redis'));
diag("  connections: postgres $pg0 -> $pg1, redis $redis0 -> $redis1 "
     . "(at most " . $WORKERS * $POOL . " each)");
cmp_ok($pg1, '<=', $WORKERS * $POOL, 'PostgreSQL: at most workers x pool');
cmp_ok($redis1, '<=', $WORKERS * $POOL, 'Redis: at most workers x pool');

# an exited worker's slot is freed after it is gone: poll
wait_until(sub { m_get(metrics(), 'csibiz_workers') == $WORKERS },
           timeout => 30);
my $m = metrics();
is(m_get($m, 'csibiz_workers'), $WORKERS, 'the metrics count the live workers');

my @alerts = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
             split /\n/, error_log_since($mark);
ok(!@alerts, 'no alert or crash in error.log') or diag(join "\n", @alerts);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
