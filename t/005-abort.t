# A client that goes away mid-request must not leave the pooled backend
# connection out of step: with pool=1 every later request reuses that
# connection and must get its own answer, never the aborted one's.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Time::HiRes qw(sleep);

workers(1);

# queue_timeout is generous: a module may wait out the aborted call
# before reusing the connection.
start_nginx(http_config => <<'EOF', config => <<'EOF');
    csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT pool=1 timeout=5s
                 queue_timeout=5s;
    csibiz_postgres "$TEST_NGINX_PG_CONNINFO" pool=1 queue_timeout=5s;
EOF
    location = /t { csibiz test; }
EOF

my $mark = error_log_mark();
my $tag = "$$-" . int(rand 1e6);

for my $backend (qw(postgres redis)) {
    my $r = http_req(GET => "/t?backend=$backend&op=echo&value=warm");
    is($r->{json}{value}, 'warm', "$backend: warm-up echo");

    # A sleep whose client closes its socket at once.
    my $h = http_start(GET => "/t?backend=$backend&op=sleep&seconds=1");
    http_abort($h);

    # 20 echoes in a row, each its own value.
    my @wrong;
    for my $i (1 .. 20) {
        my $v = "seq-$tag-$i";
        my $r = http_req(GET => "/t?backend=$backend&op=echo&value=$v",
                         timeout => 10);
        push @wrong, "$i: " . ($r->{error} // "$r->{status} $r->{body}")
            unless ($r->{status} // 0) == 200
                   && ($r->{json}{value} // '') eq $v
                   && ($r->{json}{backend} // '') eq $backend;
    }
    is(scalar @wrong, 0, "$backend: 20 echoes after an aborted sleep, each "
                         . "its own value") or diag(join "\n", @wrong);

    # Again, the echoes all at once (queued for the one connection).
    $h = http_start(GET => "/t?backend=$backend&op=sleep&seconds=1");
    http_abort($h);
    my @vals = map { "par-$tag-$_" } 1 .. 20;
    my $res = http_concurrent(
        [map { [GET => "/t?backend=$backend&op=echo&value=$_", timeout => 10] }
             @vals]);
    @wrong = ();
    for my $i (0 .. $#vals) {
        my $r = $res->[$i];
        push @wrong, "$vals[$i]: " . ($r->{error} // "$r->{status} $r->{body}")
            unless ($r->{status} // 0) == 200
                   && ($r->{json}{value} // '') eq $vals[$i];
    }
    is(scalar @wrong, 0, "$backend: 20 concurrent echoes after an aborted "
                         . "sleep, each its own value") or diag(join "\n", @wrong);

    # Echoes aborted right after sending, each followed by a good one.
    @wrong = ();
    for my $i (1 .. 10) {
        http_abort(http_start(
            GET => "/t?backend=$backend&op=echo&value=lost-$tag-$i"));
        my $v = "kept-$tag-$i";
        my $r = http_req(GET => "/t?backend=$backend&op=echo&value=$v",
                         timeout => 10);
        push @wrong, "$i: " . ($r->{error} // "$r->{status} $r->{body}")
            unless ($r->{json}{value} // '') eq $v;
    }
    is(scalar @wrong, 0, "$backend: aborted echoes do not leak into the next")
        or diag(join "\n", @wrong);

    # The pool stays at one connection.
    sleep 0.2;
    cmp_ok(scalar(backend_conns($backend)), '<=', 1,
           "$backend: still at most 1 connection");
}

is(scalar(worker_pids()), 1, 'the worker is still there');
my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
          split /\n/, error_log_since($mark);
ok(!@bad, 'no alert/crit/emerg or crash in error.log') or diag(join "\n", @bad);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
