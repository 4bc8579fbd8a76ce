# PostgreSQL failover with the engine's own mechanisms: a primary (the
# file's own cluster) and a synchronous streaming standby (tools/stack
# test pg-standby-start: pg_basebackup, a replication slot) on
# wide_port(0).  nginx names both in csibiz_postgres
# (target_session_attrs=read-write) and has a read pool (role=read,
# prefer-standby, the standby first).
#
# * reads of the handlers the table marks READS go to the read pool; a
#   parent's reads after their own write go to the primary (after_write);
# * a server that became read-only answers a write with SQLSTATE 25006:
#   the connection is closed (503), and writes come back once the server
#   is writable again;
# * under a load of reads and idempotent writes the primary is killed (by
#   its pid file) and the standby promoted (pg_ctl promote): no read
#   fails, writes get 503 only between the kill and the promotion's
#   bound, every answered write is in the new primary exactly once, and
#   nginx is never restarted.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

use Time::HiRes ();

# writes resume within this long of the promotion (docs/operations.md:
# the pool's back-off cap, 1 s, plus a connect, on a loaded machine)
my $BOUND = 3;

own_postgres();

my $PRIMARY = pg_port();
my $STANDBY = wide_port(0);
$ENV{CSIBIZ_TEST_PG_STANDBY_PORT} = $STANDBY;   # tools/stack test sees it

sub stack {
    my @args = @_;
    my $out = `'@{[repo_root()]}/tools/stack' test @args 2>&1`;
    die "tools/stack test @args failed: $out" if $?;
    return $out;
}

# psql on one server, whatever its role
sub psql_at {
    my ($port, $sql) = @_;
    my $bin = stack_env('PG_BIN') . '/psql';
    my $out = `'$bin' -X -q -A -t -v ON_ERROR_STOP=1 -d 'hostaddr=127.0.0.1 port=$port dbname=csibiz user=csibiz connect_timeout=5' -c "$sql" 2>&1`;
    die "psql on $port: $out" if $?;
    chomp $out;
    return $out;
}

ensure_backends();
stack('pg-standby-start');
is(psql_at($PRIMARY, "SELECT sync_state FROM pg_stat_replication"),
   'sync', 'the standby streams synchronously');

# The write pool (and the fixtures' psql) names the standby first: libpq
# connects to it, learns from its first answer that it is a standby,
# drops that socket and connects to the primary, so every connection
# before the failover moves to another socket between two
# PQconnectPoll() calls, which nginx's connection must follow.
my $CONN = 'dbname=csibiz user=csibiz';
$ENV{TEST_NGINX_PG_CONNINFO} = "hostaddr=127.0.0.1,127.0.0.1"
    . " port=$STANDBY,$PRIMARY $CONN target_session_attrs=read-write";

start_bank_nginx(
    now => '2026-09-10 12:00:00+08',
    log_level => 'debug',
    http => "    csibiz_postgres \"hostaddr=127.0.0.1,127.0.0.1"
            . " port=$STANDBY,$PRIMARY $CONN"
            . " target_session_attrs=prefer-standby"
            . " options='-c TimeZone=UTC'\" role=read after_write=10s;\n",
    config => <<'EOF');
    location = /api/me   { csibiz me; }
    location = /metrics  { csibiz status; }
EOF

sub ops {
    my ($pool) = @_;
    return metric("csibiz_backend_operations_total{backend=\"$pool\"}");
}

my @W = map { parent($_) } 1, 2;     # writers
my @R = map { parent($_) } 3, 4;     # readers
my %version = map { $_->{uid} => 0 } @W;

like(error_log_since(0), qr/csibiz: postgres connect moved to socket/,
   'a write connection moved from the standby\'s socket to the primary\'s');

# ------------------------------------------------------------ routing

my ($rd, $wr) = (ops('postgres_read'), ops('postgres'));
is(http_req(GET => '/api/banks')->{status}, 200, 'GET /api/banks');
is(account_get($R[0])->{status}, 200, 'GET /api/account');
cmp_ok(ops('postgres_read') - $rd, '>=', 2, 'reads: the read pool');
is(ops('postgres') - $wr, 0, 'reads: nothing on the primary\'s pool');

my $r = account_put($W[0], { %{ self_card(seed => 1) }, version => 0 });
is($r->{status}, 200, 'a PUT /api/account') or diag($r->{body});
$version{ $W[0]{uid} }++;
($rd, $wr) = (ops('postgres_read'), ops('postgres'));
$r = account_get($W[0]);
is($r->{status}, 200, 'the writer reads the account');
is($r->{json}{version}, 1, 'and sees the write (version 1)');
is(ops('postgres_read') - $rd, 0,
   'a read after the parent\'s own write: not the read pool');
cmp_ok(ops('postgres') - $wr, '>=', 1, 'but the primary\'s');
($rd, $wr) = (ops('postgres_read'), ops('postgres'));
is(account_get($R[1])->{status}, 200, 'another parent reads');
cmp_ok(ops('postgres_read') - $rd, '>=', 1, 'from the read pool');

# ------------------------------------------------- SQLSTATE 25006

# the primary turns read-only under the pool's open connections
my $mark = error_log_mark();
psql_at($PRIMARY, "ALTER SYSTEM SET default_transaction_read_only = on");
psql_at($PRIMARY, "SELECT pg_reload_conf()");
my $w = $W[1];
my $got503;
ok(wait_until(sub {
       my $r = account_put($w, { %{ self_card(seed => 2) },
                                 version => $version{ $w->{uid} } });
       $version{ $w->{uid} }++ if $r->{status} == 200;
       $got503 = $r if $r->{status} == 503;
       return $got503;
   }, timeout => 30, interval => 0.1),
   'a write to a read-only server: 503');
is($got503 && $got503->{json}{error}{code}, 'backend_unavailable',
   'backend_unavailable');
like(error_log_since($mark), qr/read-only \(SQLSTATE 25006\), closing/,
     'the connection is closed for SQLSTATE 25006');
psql_at($PRIMARY, "ALTER SYSTEM RESET default_transaction_read_only");
psql_at($PRIMARY, "SELECT pg_reload_conf()");
ok(wait_until(sub {
       my $r = account_put($w, { %{ self_card(seed => 3) },
                                 version => $version{ $w->{uid} } },
                           key => "rw-back");
       return 0 unless $r->{status} == 200;
       $version{ $w->{uid} }++;
       return 1;
   }, timeout => 30, interval => 0.1),
   'writes come back once the server is writable');

# ------------------------------------------- failover under load

my $DIR = stack_env('CSIBIZ_VAR');
my $STOP = "$DIR/load.stop";
unlink $STOP;

sub now { Time::HiRes::time() }

# append-only progress logs: "time status", read by the main process
sub logline {
    my ($file, @f) = @_;
    open my $fh, '>>', $file or die "$file: $!";
    print $fh join(' ', @f), "\n";
    close $fh;
}

sub loglines {
    my ($file) = @_;
    open my $fh, '<', $file or return ();
    return map { [split ' '] } <$fh>;
}

unlink "$DIR/reads.log", "$DIR/writes.log";

my $reader = background(sub {
    my @res;
    my $i = 0;
    until (-e $STOP) {
        my $p = $R[$i % 2];
        my $t = now();
        my $r = $i % 3 == 0 ? http_req(GET => '/api/banks')
              : $i % 3 == 1 ? account_get($p)
              : http_req(GET => '/api/me',
                         headers => { Cookie => "csibiz=$p->{sid}" });
        push @res, [$t, now(), $r->{status}, $i % 3];
        logline("$DIR/reads.log", $t, $r->{status});
        $i++;
        Time::HiRes::sleep(0.02);
    }
    return \@res;
});

# each writer PUTs with a new key, and retries that key until a 200
my @writers = map {
    my $p = $_;
    my $v = $version{ $p->{uid} };
    background(sub {
        my (@res, %keys);
        my $n = 0;
        until (-e $STOP) {
            my $key = "fo-$p->{uid}-" . ++$n;
            my $form = { %{ self_card(seed => 100 + $n) }, version => $v };
            while (1) {
                my $t = now();
                my $r = account_put($p, $form, key => $key);
                push @res, [$t, now(), $r->{status}, $key,
                            $r->{json} && $r->{json}{error}
                            ? $r->{json}{error}{code} : ''];
                logline("$DIR/writes.log", $t, $r->{status});
                last if $r->{status} == 200;
                last if $r->{status} != 503;     # a failure: reported
                Time::HiRes::sleep(0.05);
            }
            last unless $res[-1][2] == 200;
            $keys{$key} = 1;
            $v++;
        }
        return { res => \@res, keys => [sort keys %keys], version => $v };
    });
} @W;

my $master = nginx_pid();
my @workers = worker_pids();

sub writes_since {
    my ($t, $status) = @_;
    return scalar grep { $_->[0] >= $t && $_->[1] == $status }
        loglines("$DIR/writes.log");
}

ok(wait_until(sub { writes_since(0, 200) >= 6 }, timeout => 60),
   'the load runs: writes answered');
ok(wait_until(sub { grep { $_->[1] == 200 } loglines("$DIR/reads.log") },
              timeout => 60), 'reads answered');

my $t_kill = now();
stack('pg-kill');
ok(wait_until(sub { writes_since($t_kill, 503) }, timeout => 30),
   'writes get 503 while there is no primary');

stack('pg-promote');
my $t_promoted = now();
ok(wait_until(sub { writes_since($t_promoted, 200) >= 6 }, timeout => 60),
   'writes succeed on the promoted standby');
ok(wait_until(sub {
       grep { $_->[0] > $t_promoted && $_->[1] == 200 }
           loglines("$DIR/reads.log") }, timeout => 30),
   'reads go on');

logline($STOP, 'stop');
my $reads = background_wait($reader, timeout => 120);
my @wres = map { background_wait($_, timeout => 120) } @writers;

# reads: never a failure, the standby was up the whole time
my @bad = grep { $_->[2] != 200 } @$reads;
is(scalar @bad, 0, scalar(@$reads) . ' reads, none failed')
    or diag(explain(\@bad));

# writes: 200, or 503 answered after the kill to a request sent before
# the promotion's bound
my @w = map { @{ $_->{res} } } @wres;
my @late = grep { $_->[2] != 200
                  && !($_->[2] == 503 && $_->[4] eq 'backend_unavailable'
                       && $_->[1] >= $t_kill
                       && $_->[0] <= $t_promoted + $BOUND) } @w;
is(scalar @late, 0, scalar(@w) . ' writes: any failure a 503 during the'
   . ' switch') or diag(explain(\@late));

my ($first) = sort { $a->[1] <=> $b->[1] }
              grep { $_->[2] == 200 && $_->[1] > $t_promoted } @w;
ok($first && $first->[1] - $t_promoted <= $BOUND,
   sprintf 'the first write after the promotion answered within %d s'
           . ' (%.2f s)', $BOUND, $first ? $first->[1] - $t_promoted : -1);

diag(sprintf 'postgres failover: %d reads (all 200), %d writes (%d 503),'
     . ' promotion %.2f s after the kill, first write answered %.2f s after'
     . ' the promotion',
     scalar @$reads, scalar @w, scalar(grep { $_->[2] == 503 } @w),
     $t_promoted - $t_kill, $first ? $first->[1] - $t_promoted : -1);

# every answered write is in the new primary exactly once
for my $i (0 .. $#W) {
    my $p = $W[$i];
    my $keys = $wres[$i]{keys};
    my $in = join ',', map { "'$_'" } @$keys;
    is(psql_at($STANDBY, "SELECT count(*) FROM idempotency_key"
                         . " WHERE user_id = $p->{uid} AND key IN ($in)"),
       scalar @$keys, "writer $i: every answered key is in the new primary");
    is(psql_at($STANDBY, "SELECT version FROM bank_account"
                         . " WHERE insured_person_id = $p->{pid}"),
       $wres[$i]{version}, "writer $i: each write applied once (version"
                           . " $wres[$i]{version})");
}

is(psql_at($STANDBY, "SELECT pg_is_in_recovery()"), 'f',
   'the standby is the primary now');
is(nginx_pid(), $master, 'no nginx restart');
is_deeply([sort { $a <=> $b } worker_pids()],
          [sort { $a <=> $b } @workers], 'the same workers');
unlike(error_log_since(0), qr/\[(alert|crit|emerg)\]|exited on signal/,
       'no alert, no crash');

done_testing();
