# Reloads under load: health requests in a steady loop while the master
# gets SIGHUP three times, 1 s apart.  No request fails, the old workers
# exit (their pooled backend connections must not keep them alive), and
# one worker remains.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Time::HiRes qw(sleep time);

workers(1);

start_nginx(config => <<'EOF');
    location = /h { csibiz health; }
EOF

my $master = nginx_pid();
my %workers = map { $_ => 1 } worker_pids();
is(scalar keys %workers, 1, 'one worker before the reloads');
is(http_req(GET => '/h')->{status}, 200, 'health before the reloads');
my $mark = error_log_mark();

# The load: a forked child loops for ~4 s (it must not emit TAP).
my $load = background(sub {
    my ($n, @failed) = (0);
    my $end = time + 4;
    while (time < $end) {
        my $r = http_req(GET => '/h', timeout => 5);
        $n++;
        push @failed, sprintf('%.3f %s', $r->{start},
                              $r->{error} // "$r->{status} $r->{body}")
            unless ($r->{status} // 0) == 200;
    }
    return { n => $n, failed => \@failed };
});

sleep 0.5;
for my $i (1 .. 3) {
    # wait for the new worker: a fixed pause may end before it exists
    reload_nginx(wait => 1, timeout => 30);
    sleep 1;
    $workers{$_} = 1 for worker_pids(all => 1);
}

my $got = background_wait($load, timeout => 30);
cmp_ok($got->{n}, '>=', 20, "the load ran ($got->{n} requests)");
is(scalar @{ $got->{failed} }, 0, 'no request failed during the reloads')
    or diag(join "\n", @{ $got->{failed} }[0 .. min(9, $#{ $got->{failed} })]);

is(nginx_pid(), $master, 'same master');

my @now;
ok(wait_until(sub { @now = worker_pids(all => 1); @now == 1 }, timeout => 30),
   'exactly one worker remains')
    or diag(explain([worker_procs()]));
my @old = grep { my $p = $_; !grep { $_ == $p } @now } keys %workers;
cmp_ok(scalar @old, '>=', 3, 'there were old workers (one per reload)');
ok(wait_until(sub { !grep { pid_alive($_) } @old }, timeout => 30),
   'the old workers have exited')
    or diag('still alive: ' . join ' ', grep { pid_alive($_) } @old);

is(http_req(GET => '/h')->{status}, 200, 'health after the reloads');

my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
          split /\n/, error_log_since($mark);
ok(!@bad, 'no alert/crit/emerg or crash in error.log') or diag(join "\n", @bad);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }
