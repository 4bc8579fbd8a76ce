# tools/stack stops only what it started, by its pid files: a Redis of
# somebody else on a neighbouring port survives `tools/stack test stop`
# and redis-stop, even when the stack's port variable names that Redis's
# port (a forgotten variable once stopped another checkout's Redis).
#
# The stack here is the test's own (CSIBIZ_TEST_VAR in a temporary
# directory, the file's ports), not the one of the other files.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

use File::Temp ();

no_backends();

my $ROOT = repo_root();
my $TMP = File::Temp->newdir;
my $OWN_PORT = redis_port();
my $FOREIGN_PORT = spare_port();

# the foreign Redis: its own config and pid file, nothing of tools/stack
my $fdir = "$TMP/foreign";
mkdir $fdir or die "$fdir: $!";
open my $fh, '>', "$fdir/redis.conf" or die "$fdir/redis.conf: $!";
print {$fh} <<"EOF2";
bind 127.0.0.1
port $FOREIGN_PORT
daemonize yes
pidfile "$fdir/redis.pid"
logfile "$fdir/redis.log"
dir "$fdir"
save ""
EOF2
close $fh;

sub foreign_pid {
    open my $p, '<', "$fdir/redis.pid" or return undef;
    my $pid = <$p>;
    chomp $pid if defined $pid;
    return $pid;
}

sub ping {
    my ($port) = @_;
    my $out = qx{redis-cli -h 127.0.0.1 -p $port ping 2>/dev/null};
    return ($out // '') =~ /PONG/ ? 1 : 0;
}

# whatever happens, nothing of this test is left running
my $fpid;
END {
    local $?;
    stack('stop', $OWN_PORT) if defined $OWN_PORT;
    kill 'TERM', $fpid if $fpid && pid_alive($fpid);
}

is(system('redis-server', "$fdir/redis.conf"), 0, 'a foreign Redis starts');
ok(wait_until(sub { ping($FOREIGN_PORT) }, timeout => 30),
   "it answers on port $FOREIGN_PORT");
$fpid = foreign_pid();
ok($fpid && pid_alive($fpid), "its pid ($fpid)");

# tools/stack test CMD for the test's own stack; REDIS_PORT as given
sub stack {
    my ($cmd, $redis_port) = @_;
    local $ENV{CSIBIZ_TEST_VAR} = "$TMP/stack";
    local $ENV{CSIBIZ_TEST_REDIS_PORT} = $redis_port;
    delete local $ENV{CSIBIZ_TEST_PG_VAR};
    my $out = qx{"$ROOT/tools/stack" test $cmd 2>&1};
    return ($? >> 8, $out);
}

my ($rc, $out) = stack('redis-start', $OWN_PORT);
is($rc, 0, "the own stack's Redis starts on $OWN_PORT") or diag($out);
ok(ping($OWN_PORT), 'it answers');

($rc, $out) = stack('stop', $OWN_PORT);
is($rc, 0, 'tools/stack test stop') or diag($out);
ok(wait_until(sub { !ping($OWN_PORT) }, timeout => 30),
   "the stack's Redis is gone");
ok(pid_alive($fpid) && ping($FOREIGN_PORT), 'the foreign Redis runs on');

# the port variable names the foreign Redis: stopping by port would hit it
($rc, $out) = stack('redis-start', $OWN_PORT);
is($rc, 0, "the own stack's Redis starts again") or diag($out);
($rc, $out) = stack('stop', $FOREIGN_PORT);
is($rc, 0, 'tools/stack test stop with the foreign port in the variable')
    or diag($out);
ok(wait_until(sub { !ping($OWN_PORT) }, timeout => 30),
   "the stack's own Redis is what stopped");
ok(pid_alive($fpid) && ping($FOREIGN_PORT), 'the foreign Redis runs on');

($rc, $out) = stack('redis-stop', $FOREIGN_PORT);
is($rc, 0, 'redis-stop with nothing of the stack running') or diag($out);
like($out, qr/Redis not running/, 'says so');
ok(pid_alive($fpid) && ping($FOREIGN_PORT), 'the foreign Redis runs on');

# the test's own foreign Redis goes, by its pid
ok(kill('TERM', $fpid), 'the foreign Redis is sent SIGTERM');
ok(wait_until(sub { !pid_alive($fpid) }, timeout => 30), 'and exits');

done_testing();
