# Redis with Sentinel: the module finds the master through the Sentinels
# and follows a failover.  The file runs its own replicated Redis
# (tools/stack ha: a master, a replica and three Sentinels on its wide
# ports, stopped by their pid files), and nginx names the Sentinels.
#
# * Under a load of logged-in GET and POST /api/session (POST slides the
#   session: a write), the master is killed (SIGKILL, by its pid file).
#   The Sentinels promote the replica; the module follows within the
#   bound docs/operations.md states (the back-off's longest step, 1 s,
#   and a connect_timeout for a Sentinel and one for the master, after
#   the Sentinels name the new master).  In between only 503
#   backend_unavailable: no 500, no 401 (a session missing: an answer
#   from an empty node), no hang.
# * Each worker subscribes to +switch-master on a Sentinel and hears of
#   the switch.
# * The old master is started again, empty, as a master: the Sentinels
#   make it a replica of the new one.  nginx never has a connection to
#   it, from its kill to the end of the file.
# * READONLY: the master is made a replica by hand (the Sentinels told
#   of the other node), so nginx's connections to it stay open; the
#   first write there gets READONLY: a 503, the worker's connections
#   to it are closed, the next connections ask the Sentinels and go to
#   the new master.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Chaos;
use Test::More;
use Time::HiRes qw(time);

my $CONNECT_TIMEOUT = 1;
my $BACKOFF_MAX = 1;
# the bound docs/operations.md states, from the Sentinels' switch
my $BOUND = $BACKOFF_MAX + 2 * $CONNECT_TIMEOUT;
# what a loaded machine may add to it (the test sees the switch late)
my $SLACK = 2;

# the directive's forms (nginx -t): the __DATA__ blocks
run_blocks();

ensure_backends();

my @NODE = (wide_port(0), wide_port(1));
my @SENTINEL = map { wide_port(2 + $_) } 0 .. 2;
my $DIR = stack_env('CSIBIZ_VAR') . '/ha';

sub ha {
    my ($cmd) = @_;
    local $ENV{CSIBIZ_HA_VAR} = $DIR;
    local $ENV{CSIBIZ_HA_REDIS_PORT} = $NODE[0];
    local $ENV{CSIBIZ_HA_REDIS_REPLICA_PORT} = $NODE[1];
    local $ENV{CSIBIZ_HA_SENTINEL_PORT} = $SENTINEL[0];
    my $out = `'@{[ repo_root() ]}/tools/stack' ha $cmd 2>&1`;
    diag($out) if $?;
    return $? == 0;
}

# the Redis and Sentinels of this file go by their pid files only
END { ha('redis-stop') }

# a command to one of this file's Redis servers or Sentinels
sub rc {
    my ($port, @cmd) = @_;
    local $ENV{TEST_NGINX_REDIS_PORT} = $port;
    return redis_cmd(@cmd);
}

sub role { my $r = eval { rc($_[0], 'ROLE') }; return $r ? $r->[0] : '' }

sub named_master {
    my $a = eval { rc($SENTINEL[0], 'SENTINEL', 'get-master-addr-by-name',
                      'csibiz') };
    return $a && ref $a ? $a->[1] : 0;
}

# every Sentinel names PORT the master and has had a reply from it since
# (flags "master" alone: not down in its own view)
sub settled_on {
    my ($port) = @_;
    for my $s (@SENTINEL) {
        my $m = eval { rc($s, 'SENTINEL', 'MASTER', 'csibiz') };
        return 0 unless $m && ref $m;
        my %m = @$m;
        return 0 unless ($m{port} // 0) == $port
                        && ($m{flags} // '') eq 'master';
    }
    return 1;
}

sub node_pid {
    my ($i) = @_;
    open my $fh, '<', "$DIR/redis-$i/redis.pid" or return;
    my $pid = <$fh>;
    return $pid && $pid =~ /^(\d+)/ ? $1 : undef;
}

ok(ha('redis-start'), 'tools/stack ha: a master, a replica, three Sentinels');
is(role($NODE[0]), 'master', "node 0 ($NODE[0]) is the master");
is(role($NODE[1]), 'slave', "node 1 ($NODE[1]) its replica");

my $SENTINELS = join ' ', map { "sentinel=127.0.0.1:$_" } @SENTINEL;

sub start {
    my (%o) = @_;
    start_nginx(
        workers => $o{workers},
        main_config => $ACCOUNT_MAIN,
        http_config => "$BANK_HTTP"
                       . "    csibiz_redis $SENTINELS master=csibiz pool=2"
                       . " connect_timeout=${CONNECT_TIMEOUT}s"
                       . " timeout=1s;\n",
        config => $BANK_CONFIG . <<'EOF');
    location = /api/session { csibiz session; }
    location = /metrics     { csibiz status; }
EOF
}

start(workers => 2);

# the parents, registered and logged in on the master (the harness's
# Redis helpers pointed at it)
my @P = do {
    local $ENV{TEST_NGINX_REDIS_PORT} = $NODE[0];
    map { parent($_) } 1 .. 4;
};
is(scalar(grep { $_->{sid} } @P), 4, 'four parents logged in');

sub session {
    my ($p, $post) = @_;
    return http_req($post ? 'POST' : 'GET', '/api/session',
                    headers => { Cookie => "csibiz=$p->{sid}",
                                 ($post ? ('X-CSRF-Token' => $p->{csrf})
                                        : ()) },
                    timeout => 20);
}

is(session($P[0])->{status}, 200, 'GET /api/session');
is(session($P[0], 1)->{status}, 200, 'POST /api/session (slides it)');

# every session is on the replica before the master goes
ok(wait_until(sub { (eval { rc($NODE[0], 'WAIT', 1, 1000) } // 0) >= 1 },
              timeout => 30), 'the replica has every write');

# ------------------------------------------------------ the failover

my $mark = error_log_mark();
my $load = load_start(clients => 4, seconds => 180, pause => 0.005,
                      request => sub {
    my ($c, $n) = @_;
    return session($P[$c - 1], $n % 2);
});

# some answers before the kill
ok(wait_until(sub { backend_conns($NODE[0]) >= 1 }, timeout => 30),
   'nginx is connected to the master');
ok(wait_until(sub { (map { backend_conns($_) } @SENTINEL) == 2 },
              timeout => 30),
   'each worker holds a subscription on a Sentinel');
Time::HiRes::sleep(0.5);

my $pid = node_pid(0);
ok($pid && kill('KILL', $pid), "the master killed (pid $pid)");
my $t_kill = time;

ok(wait_until(sub { named_master() == $NODE[1] }, timeout => 60,
              interval => 0.01),
   'the Sentinels promote the replica');
my $t_switch = time;
is(role($NODE[1]), 'master', 'node 1 is the master');

ok(wait_until(sub { session($P[0])->{status} == 200 }, timeout => 60,
              interval => 0.01),
   'sessions are answered again');
my $t_back = time;
my $followed = $t_back - $t_switch;
cmp_ok($followed, '<=', $BOUND + $SLACK,
       sprintf('followed %.2f s after the switch (bound %d s)', $followed,
               $BOUND));

# the old master comes back empty, as a master; the Sentinels make it a
# replica; nginx never connects to it.  It comes back once every
# Sentinel sees the new master up: while one still doubts the new master,
# a second failover could pick the empty node (without persistence, as
# here, that loses every session: docs/operations.md)
my @to_old;
my $watch = sub { push @to_old, backend_conns($NODE[0]) };
ok(wait_until(sub { $watch->(); settled_on($NODE[1]) }, timeout => 60,
              interval => 0.05),
   'every Sentinel sees the new master up');

ok(ha('redis-start'), 'the old master started again');
ok(wait_until(sub {
       $watch->();
       my $r = eval { rc($NODE[0], 'ROLE') };
       $r && $r->[0] eq 'slave' && $r->[2] == $NODE[1] && $r->[3] eq 'connected'
   }, timeout => 90, interval => 0.05),
   'the Sentinels make the old master a replica of the new one');
my $t_replica = time;

# the load goes on for a while on the new topology
wait_until(sub { $watch->(); time > $t_replica + 1.5 }, timeout => 10,
           interval => 0.05);
load_stop($load);
my @r = load_wait($load);
$watch->();

is_deeply(\@to_old, [], 'nginx never connected to the old master after'
                        . ' the kill');

my @bad = grep { $_->{status} != 200
                 && !($_->{status} == 503
                      && ($_->{code} // '') eq 'backend_unavailable') } @r;
my @late = grep { $_->{status} != 200
                  && $_->{start} > $t_switch + $BOUND + $SLACK } @r;
my ($slowest) = sort { $b->{elapsed} <=> $a->{elapsed} } @r;
my @before = grep { $_->{start} < $t_kill } @r;
my @during = grep { $_->{start} >= $t_kill && $_->{start} < $t_back } @r;
my @after = grep { $_->{start} >= $t_back } @r;

diag(sprintf 'redis failover: down after the kill %.2f s (Sentinels),'
             . ' followed %.2f s after the switch', $t_switch - $t_kill,
             $followed);
diag('  before: ' . summary(@before));
diag('  during: ' . summary(@during));
diag('  after:  ' . summary(@after));

ok(@before && @after, 'requests before the kill and after the switch');
ok(!@bad, 'every answer is 200 or 503 backend_unavailable (no 500, no 401)')
    or diag(explain([@bad[0 .. ($#bad < 4 ? $#bad : 4)]]));
ok(!@late, 'every request succeeds from the bound after the switch on')
    or diag(explain($late[0]));
cmp_ok($slowest->{elapsed}, '<=', 2 * $CONNECT_TIMEOUT + 1 + $SLACK,
       'no request hangs');

my $log = error_log_since($mark);
like($log, qr/sentinel at \S+ names 127\.0\.0\.1:$NODE[1] the master/,
     'error.log: a Sentinel named the new master');
like($log, qr/\+switch-master csibiz 127\.0\.0\.1 $NODE[0] 127\.0\.0\.1 $NODE[1]/,
     'error.log: the subscription told of the switch');
unlike($log, qr/\[(alert|crit|emerg)\]|exited on signal/, 'no alert, no crash');

# --------------------------------------------------------- READONLY

# one worker: its connections are the ones READONLY closes
stop_nginx();
start(workers => 1);

my ($new, $old) = ($NODE[1], $NODE[0]);
is(session($P[1], 1)->{status}, 200, 'POST /api/session on the master');
ok(backend_conns($new) >= 1, "nginx is connected to $new");

# the Sentinels are told of the other node first, then the roles swap
for my $s (@SENTINEL) {
    rc($s, 'SENTINEL', 'REMOVE', 'csibiz');
}
rc($old, 'REPLICAOF', 'NO', 'ONE');
rc($new, 'REPLICAOF', '127.0.0.1', $old);
for my $s (@SENTINEL) {
    rc($s, 'SENTINEL', 'MONITOR', 'csibiz', '127.0.0.1', $old, 2);
    rc($s, 'SENTINEL', 'SET', 'csibiz', 'down-after-milliseconds', 3000,
       'failover-timeout', 5000);
}
is(role($new), 'slave', "$new is a replica now");
ok(backend_conns($new) >= 1, 'nginx still has its connections to it');

$mark = error_log_mark();
my $r = session($P[1], 1);
is($r->{status}, 503, 'a write there: 503');
is($r->{json} && $r->{json}{error}{code}, 'backend_unavailable',
   'backend_unavailable');
ok(wait_until(sub { error_log_since($mark) =~ /is read-only, closing/ },
              timeout => 10), 'error.log: READONLY');
is_deeply([backend_conns($new)], [], 'its connections to the replica closed');

ok(wait_until(sub { session($P[1], 1)->{status} == 200 }, timeout => 30),
   'the next connection asks the Sentinels: answered again');
ok(backend_conns($old) >= 1, "from $old, the master now");
is_deeply([backend_conns($new)], [], "none to $new");
like(error_log_since($mark),
     qr/sentinel at \S+ names 127\.0\.0\.1:$old the master/,
     'error.log: the Sentinel named it');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();

__DATA__

=== TEST 1: csibiz_redis with Sentinels: every parameter
--- http_config
csibiz_redis sentinel=127.0.0.1:26379 sentinel=localhost sentinel=[::1]:26380
             master=csibiz sentinel_password=s3 password=p db=1 pool=4
             connect_timeout=500ms;
--- config
    location = /t { csibiz test; }
--- config_test_only
--- no_error_log
[emerg]



=== TEST 2: csibiz_redis: sentinel= needs master=
--- http_config
csibiz_redis sentinel=127.0.0.1:26379;
--- must_die
--- error_log
"csibiz_redis" directive needs master= with sentinel=



=== TEST 3: csibiz_redis: an address or Sentinels, not both
--- http_config
csibiz_redis 127.0.0.1:6379 sentinel=127.0.0.1:26379 master=csibiz;
--- must_die
--- error_log
"csibiz_redis" directive takes an address or sentinel=, not both



=== TEST 4: csibiz_redis: master= only with Sentinels
--- http_config
csibiz_redis 127.0.0.1:6379 master=csibiz;
--- must_die
--- error_log
"csibiz_redis" directive takes master= and sentinel_password= only with sentinel=



=== TEST 5: csibiz_redis: an empty master name
--- http_config
csibiz_redis sentinel=127.0.0.1:26379 master=;
--- must_die
--- error_log
invalid parameter "master="
