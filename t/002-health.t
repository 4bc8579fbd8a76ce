# csibiz health: 200 when both backends answer, 503 naming the one that
# does not (within the configured timeouts), 200 again when it is back,
# without restarting nginx.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

repeat_each(2);

run_blocks();

# ------------------------------------------------------------ outages

# Timeouts: connect 500 ms, command 500 ms.  The bound on a 503 is three
# times their sum: a behavioural bound (no waiting on a dead backend for
# the default 1 s / 5 s, no hang), not a speed goal.
my $BOUND = 3 * (0.5 + 0.5);

start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT connect_timeout=500ms
                 timeout=500ms queue_timeout=500ms;
    csibiz_postgres "$TEST_NGINX_PG_CONNINFO" connect_timeout=500ms
                    timeout=500ms queue_timeout=500ms;
EOF
    location = /h { csibiz health; }
EOF

my $master = nginx_pid();
my ($worker) = worker_pids();
my $mark = error_log_mark();

sub health_is {
    my ($status, $json, $name) = @_;
    my $r = http_req(GET => '/h', timeout => 10);
    is($r->{status}, $status, "$name: status $status")
        or diag($r->{error} // $r->{body});
    is_deeply($r->{json}, $json, "$name: body")
        or diag($r->{body});
    return $r;
}

# Polls until health gives 200 (reconnects may back off for a while).
sub recovers {
    my ($name) = @_;
    my $r;
    my $ok = wait_until(sub {
        $r = http_req(GET => '/h', timeout => 5);
        ($r->{status} // 0) == 200;
    }, timeout => 5, interval => 0.2);
    ok($ok, "$name: 200 again within 5 s")
        or diag($r->{error} // "$r->{status} $r->{body}");
    is_deeply($r->{json}, { redis => 'up', postgres => 'up' },
              "$name: both up");
}

health_is(200, { redis => 'up', postgres => 'up' }, 'warm');

# Redis down: twice, the first finds a dead pooled connection, the second
# a refused (or backing-off) reconnect.
backend_stop('redis');
for my $i (1, 2) {
    my $r = health_is(503, { redis => 'down', postgres => 'up' },
                      "redis stopped ($i)");
    cmp_ok($r->{elapsed}, '<', $BOUND, "redis stopped ($i): answered in time");
}
backend_start('redis');
recovers('redis back');

# PostgreSQL down.
backend_stop('postgres');
for my $i (1, 2) {
    my $r = health_is(503, { redis => 'up', postgres => 'down' },
                      "postgres stopped ($i)");
    cmp_ok($r->{elapsed}, '<', $BOUND,
           "postgres stopped ($i): answered in time");
}

# Both down.
backend_stop('redis');
my $r = health_is(503, { redis => 'down', postgres => 'down' }, 'both stopped');
cmp_ok($r->{elapsed}, '<', $BOUND, 'both stopped: answered in time');

backend_start('redis', 'postgres');
recovers('both back');

# Redis alive but not answering: CLIENT PAUSE holds every command for
# 2 s, so PING times out (500 ms).  The late PONG must not be taken for
# the answer to a later command: afterwards health is 200 again.
redis_cmd('CLIENT', 'PAUSE', 2000, 'ALL');
$r = health_is(503, { redis => 'down', postgres => 'up' }, 'redis paused');
cmp_ok($r->{elapsed}, '<', $BOUND, 'redis paused: answered in time');
Time::HiRes::sleep(2.2);
recovers('redis unpaused');
for my $i (1 .. 5) {
    $r = http_req(GET => '/h');
    last unless ($r->{status} // 0) == 200;
}
is($r->{status}, 200, 'redis unpaused: 5 more health checks pass');

is(nginx_pid(), $master, 'same master throughout');
is_deeply([worker_pids()], [$worker], 'same worker throughout (no crash)');

my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
          split /\n/, error_log_since($mark);
ok(!@bad, 'no alert/crit/emerg or crash in error.log') or diag(join "\n", @bad);

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();

__DATA__

=== TEST 1: both up
--- config
    location = /h { csibiz health; }
--- request
GET /h
--- error_code: 200
--- response_headers_like
Content-Type: ^application/json
--- response_body_json
{"redis":"up","postgres":"up"}
--- no_error_log
[error]
