# A slow backend call does not stall the worker: with one worker, while a
# 2-second PostgreSQL pg_sleep (or Redis BLPOP) is in flight, 100 requests
# complete, each well under 2 s, and the slow one then returns 200.  They
# are health requests while PostgreSQL sleeps; while Redis does, they are
# PostgreSQL echoes, since a Redis connection is shared and its commands
# run in order: one that blocks holds the others on it (a blocking command
# is the test's, never the module's).

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use List::Util qw(max);
use Time::HiRes qw(sleep);

workers(1);

start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=5s;
    csibiz_postgres "$TEST_NGINX_PG_CONNINFO application_name=csibiz-nb"
                    timeout=5s;
EOF
    location = /h { csibiz health; }
    location = /t { csibiz test; }
EOF

is(scalar(worker_pids()), 1, 'one worker');
my $mark = error_log_mark();

is(http_req(GET => '/h')->{status}, 200, 'warm-up health');

for my $backend (qw(postgres redis)) {
    my $slow = http_start(GET => "/t?backend=$backend&op=sleep&seconds=2",
                          timeout => 10);

    # The slow call must really be in flight at the backend.
    my $in_flight = wait_until(sub {
        $backend eq 'postgres'
            ? psql_value("SELECT count(*) FROM pg_stat_activity"
                         . " WHERE application_name = 'csibiz-nb'"
                         . " AND datname = current_database()"
                         . " AND state = 'active'"
                         . " AND query LIKE '%pg_sleep%'") >= 1
            : grep { ($_->{cmd} // '') eq 'blpop' } redis_clients();
    }, timeout => 1.5, interval => 0.05);
    ok($in_flight, "$backend: the sleep is in flight at the backend");

    my $check = $backend eq 'postgres' ? '/h'
                : '/t?backend=postgres&op=echo&value=x';
    my $res = http_concurrent([map { [GET => $check, timeout => 5] } 1 .. 100],
                              max_parallel => 10);
    my $done = max map { $_->{finish} } @$res;

    my $slow_res = http_finish($slow);

    my @not200 = grep { ($_->{status} // 0) != 200 } @$res;
    is(scalar @not200, 0, "$backend: 100 requests all 200")
        or diag(explain([map { $_->{error} // "$_->{status} $_->{body}" }
                         @not200[0 .. ($#not200 < 4 ? $#not200 : 4)]]));
    my $slowest = max map { $_->{elapsed} } @$res;
    cmp_ok($slowest, '<', 1, "$backend: each request well under 2 s");
    cmp_ok($done, '<', $slow_res->{finish},
           "$backend: all 100 done before the slow request");
    cmp_ok($done - $slow->{start}, '<', 1.9,
           "$backend: ... and within 1.9 s of its start");

    is($slow_res->{status}, 200, "$backend: the slow request then gives 200")
        or diag($slow_res->{error} // $slow_res->{body});
    is_deeply($slow_res->{json}, { backend => $backend, slept => JSON::PP::true() },
              "$backend: slept");
    cmp_ok($slow_res->{elapsed}, '>=', 1.9, "$backend: it did take 2 s");
}

my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
          split /\n/, error_log_since($mark);
ok(!@bad, 'no alert/crit/emerg or crash in error.log') or diag(join "\n", @bad);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
