# Pool bounds: with pool=2 no more than 2 backend connections however many
# requests wait, and all of them are served.  Connections are shared:
# many requests in flight on one, each its own answer (one's error leaves
# the others intact), a late reply fails those in flight on it, queue=
# bounds how many are in flight.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures qw(code_is);
use List::Util qw(max min);

workers(1);

my $APP = 'csibiz-test';

sub pg_conns {
    psql_value("SELECT count(*) FROM pg_stat_activity"
               . " WHERE application_name = '$APP'"
               . " AND datname = current_database()");
}

# Redis clients that are connections of our nginx (CLIENT LIST, minus
# anybody else's).
sub redis_conns {
    my %ours = map { $_ => 1 } backend_conns('redis');
    return scalar grep { ($_->{addr} // '') =~ /:(\d+)$/ && $ours{$1} }
                       redis_clients();
}

sub bad_log_lines {
    my ($mark) = @_;
    return grep { /\[(alert|crit|emerg)\]|exited on signal/ }
           split /\n/, error_log_since($mark);
}

# -------------------------------------------- PostgreSQL pool=2, 20 waiting

ok(wait_until(sub { pg_conns() == 0 }, timeout => 30),
   "no $APP connections left from before");

start_nginx(http_config => <<"EOF", config => <<'EOF');
    csibiz_postgres "\$TEST_NGINX_PG_CONNINFO application_name=$APP"
                    pool=2 queue_timeout=10s;
EOF
    location = /t { csibiz test; }
EOF
my $mark = error_log_mark();

my @seen;
my $res = http_concurrent(
    [map { [GET => '/t?backend=postgres&op=sleep&seconds=0.3', timeout => 20] }
         1 .. 20],
    tick => sub { push @seen, pg_conns() }, tick_interval => 0.05);

is(scalar(grep { ($_->{status} // 0) == 200 } @$res), 20,
   'postgres pool=2: all 20 sleeps return 200')
    or diag(explain([map { $_->{error} // "$_->{status} $_->{body}" } @$res]));
note('connections seen: ' . join ' ', @seen);
cmp_ok(scalar @seen, '>=', 5, 'postgres pool=2: polled while running');
cmp_ok(max(@seen), '<=', 2, 'postgres pool=2: never more than 2 connections');
cmp_ok(max(@seen), '>=', 1, 'postgres pool=2: connections were seen');
my $span = max(map { $_->{finish} } @$res) - min(map { $_->{start} } @$res);
cmp_ok($span, '>=', 10 * 0.3 - 0.1,
       'postgres pool=2: 20 x 0.3 s took at least 10 x 0.3 s');
ok(!bad_log_lines($mark), 'no alert/crit/emerg or crash in error.log');

# ---------------- PostgreSQL pool=1: statements pipelined on one connection

# Every request's statement goes on the one connection, each with its own
# sync point: one's error leaves the others' answers intact.  When the
# oldest result is late past timeout=, the connection is closed and the
# requests in flight on it fail; the next request gets a new one.

start_nginx(http_config => <<"EOF", config => <<'EOF');
    csibiz_postgres "\$TEST_NGINX_PG_CONNINFO application_name=$APP"
                    pool=1 timeout=3s;
EOF
    location = /t { csibiz test; }
EOF
$mark = error_log_mark();

is(http_req(GET => '/t?backend=postgres&op=echo&value=warm')->{status}, 200,
   'postgres pool=1: warm-up echo');

my @pg_mixed = map { $_ % 2
                     ? [GET => "/t?backend=postgres&op=fail&value=f$_",
                        timeout => 10]
                     : [GET => "/t?backend=postgres&op=echo&value=m$_",
                        timeout => 10] } 1 .. 40;
my $pgres = http_concurrent(\@pg_mixed, max_parallel => 40);
is(scalar(grep { my $i = $_ + 1;
                 $i % 2 ? ($pgres->[$_]{status} // 0) == 500
                        : ($pgres->[$_]{json}{value} // '') eq "m$i" }
               0 .. 39), 40,
   'postgres pool=1: 20 failing statements among 20 echoes on one'
   . ' connection: each gets its own answer')
    or diag(explain([map { "$_->{status} $_->{body}" } @$pgres]));
is(pg_conns(), 1, 'postgres pool=1: on one connection');

# a one-second sleep first on the connection, then two ten-second ones
# behind it: the first ends well within timeout=, the others' time runs
# out long before they would
my $first = http_start(GET => '/t?backend=postgres&op=sleep&seconds=1',
                       timeout => 20);
ok(wait_until(sub { psql_value("SELECT count(*) FROM pg_stat_activity"
                               . " WHERE application_name = '$APP'"
                               . " AND datname = current_database()"
                               . " AND state = 'active'"
                               . " AND query LIKE '%pg_sleep%'") >= 1 },
              timeout => 5, interval => 0.02),
   'postgres pool=1: the first sleep is in flight');
$res = http_concurrent(
    [map { [GET => '/t?backend=postgres&op=sleep&seconds=10', timeout => 20] }
         1 .. 2]);
my $first_res = http_finish($first);
my @late = grep { ($_->{status} // 0) == 503
                  && ($_->{json}{error}{code} // '') eq 'backend_unavailable' }
           @$res;
note('postgres pool=1: ' . join ', ',
     map { ($_->{status} // $_->{error}) . sprintf(' in %.2fs', $_->{elapsed}) }
     $first_res, @$res);
is($first_res->{status}, 200, 'postgres pool=1: the first, one-second sleep:'
   . ' 200');
is(scalar @late, 2, 'postgres pool=1: the two behind it: 503 at timeout=');
cmp_ok(max(0, map { $_->{elapsed} } @late), '<', 9,
       'postgres pool=1: ... before the second sleep would end');
is(http_req(GET => '/t?backend=postgres&op=echo&value=after')->{json}{value},
   'after', 'postgres pool=1: a new connection serves the next request');
ok(!bad_log_lines($mark), 'no alert/crit/emerg or crash in error.log');

# --------------------------------------------------- Redis pool=2, 20 waiting

start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT pool=2 timeout=5s
                 queue_timeout=10s;
EOF
    location = /t { csibiz test; }
EOF
$mark = error_log_mark();

@seen = ();
$res = http_concurrent(
    [map { [GET => '/t?backend=redis&op=sleep&seconds=0.3', timeout => 20] }
         1 .. 20],
    tick => sub { push @seen, redis_conns() }, tick_interval => 0.05);

is(scalar(grep { ($_->{status} // 0) == 200 } @$res), 20,
   'redis pool=2: all 20 sleeps return 200')
    or diag(explain([map { $_->{error} // "$_->{status} $_->{body}" } @$res]));
note('connections seen: ' . join ' ', @seen);
cmp_ok(scalar @seen, '>=', 5, 'redis pool=2: polled while running');
cmp_ok(max(@seen), '<=', 2, 'redis pool=2: never more than 2 connections');
cmp_ok(max(@seen), '>=', 1, 'redis pool=2: connections were seen');
$span = max(map { $_->{finish} } @$res) - min(map { $_->{start} } @$res);
cmp_ok($span, '>=', 10 * 0.3 - 0.1,
       'redis pool=2: 20 x 0.3 s took at least 10 x 0.3 s');
ok(!bad_log_lines($mark), 'no alert/crit/emerg or crash in error.log');

# ------------------------- Redis pool=1: one shared connection, a timeout

# Every request's commands go on the one connection, in order.  When the
# oldest reply is late past timeout=, the connection is closed and exactly
# the requests in flight on it fail; the next request gets a new one.

start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT pool=1 timeout=500ms;
EOF
    location = /t { csibiz test; }
EOF
$mark = error_log_mark();

is(http_req(GET => '/t?backend=redis&op=echo&value=warm')->{status}, 200,
   'redis pool=1: warm-up echo');

my $many = http_concurrent(
    [map { [GET => "/t?backend=redis&op=echo&value=v$_", timeout => 10] }
         1 .. 50],
    max_parallel => 50);
is(scalar(grep { ($many->[$_]{json}{value} // '') eq 'v' . ($_ + 1) }
               0 .. 49), 50,
   'redis pool=1: 50 concurrent echoes on one connection, each its own reply');
is(redis_conns(), 1, 'redis pool=1: on one connection');

# one request's refusal leaves the others on the connection intact
my @mixed = map { $_ % 2
                  ? [GET => "/t?backend=redis&op=fail", timeout => 10]
                  : [GET => "/t?backend=redis&op=echo&value=m$_",
                     timeout => 10] } 1 .. 40;
my $mres = http_concurrent(\@mixed, max_parallel => 40);
is(scalar(grep { my $i = $_ + 1;
                 $i % 2 ? ($mres->[$_]{status} // 0) == 500
                        : ($mres->[$_]{json}{value} // '') eq "m$i" }
               0 .. 39), 40,
   'redis pool=1: 20 refused commands among 20 echoes: each gets its own'
   . ' answer')
    or diag(explain([map { "$_->{status} $_->{body}" } @$mres]));

# scripts by digest: loaded on first use, again after SCRIPT FLUSH
is(http_req(GET => '/t?backend=redis&op=script&value=s1')->{json}{value},
   's1', 'redis: a script runs by its digest');
redis_cmd('SCRIPT', 'FLUSH');
my $flushed = http_req(GET => '/t?backend=redis&op=script&value=s2');
is($flushed->{status}, 500, 'redis: after SCRIPT FLUSH the next run fails'
   . ' (NOSCRIPT)');
is(http_req(GET => '/t?backend=redis&op=script&value=s3')->{json}{value},
   's3', 'redis: ... and the one after loads it again');

my $slow = http_start(GET => '/t?backend=redis&op=sleep&seconds=3',
                      timeout => 10);
ok(wait_until(sub { grep { ($_->{cmd} // '') eq 'blpop' } redis_clients() },
              timeout => 5, interval => 0.05),
   'redis pool=1: the sleep is in flight');
my $behind = http_concurrent(
    [map { [GET => "/t?backend=redis&op=echo&value=b$_", timeout => 10] }
         1 .. 3]);
my $slow_res = http_finish($slow);
code_is($slow_res, 503, 'backend_unavailable',
        'redis pool=1: the late reply fails at timeout=');
cmp_ok($slow_res->{elapsed}, '<', 2.5, 'redis pool=1: ... not at its end');
is(scalar(grep { ($_->{status} // 0) == 503
                 && ($_->{json}{error}{code} // '') eq 'backend_unavailable' }
                 @$behind), 3,
   'redis pool=1: the requests in flight behind it fail with it')
    or diag(explain([map { $_->{error} // "$_->{status} $_->{body}" }
                     @$behind]));
is(http_req(GET => '/t?backend=redis&op=echo&value=after')->{json}{value},
   'after', 'redis pool=1: a new connection serves the next request');
ok(!bad_log_lines($mark), 'no alert/crit/emerg or crash in error.log');

# ----------------------------------------- Redis queue=: in flight, bounded

start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT pool=1 queue=1 timeout=5s;
EOF
    location = /t { csibiz test; }
EOF
$mark = error_log_mark();

my @sleeps = map { http_start(GET => '/t?backend=redis&op=sleep&seconds=1',
                              timeout => 10) } 1 .. 2;
ok(wait_until(sub { grep { ($_->{cmd} // '') eq 'blpop' } redis_clients() },
              timeout => 5, interval => 0.05),
   'redis queue=1: a sleep is in flight');
my $over = http_req(GET => '/t?backend=redis&op=echo&value=over');
code_is($over, 503, 'backend_unavailable',
        'redis queue=1: a third request in flight gets 503 at once');
cmp_ok($over->{elapsed}, '<', 0.9, 'redis queue=1: ... at once');
is(scalar(grep { ($_->{status} // 0) == 200 } map { http_finish($_) } @sleeps),
   2, 'redis queue=1: the two in flight get 200');
ok(!bad_log_lines($mark), 'no alert/crit/emerg or crash in error.log');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
