# A host of csibiz_postgres's list that does not answer at all: libpq
# waits for it until the pool's connect timer, never trying the next
# host in that attempt.  After such a timeout the next connection starts
# one host further, so the server behind it is reached and requests go
# through again without a reload.  The hung host is a listening socket
# of the test's own that never accepts (the kernel completes the TCP
# handshake; nothing ever answers libpq's startup packet).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

use IO::Socket::INET ();

my $HUNG = spare_port();
my $hung = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                 LocalPort => $HUNG, Proto => 'tcp',
                                 ReuseAddr => 1, Listen => 64)
    or die "listen on $HUNG: $!";

my $pg = pg_port();
(my $db = pg_conninfo()) =~ s/.*\b(dbname=\S+).*/$1/;

start_nginx(
    http_config => "csibiz_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT;\n"
                   . "csibiz_postgres \"hostaddr=127.0.0.1,127.0.0.1"
                   . " port=$HUNG,$pg $db user=csibiz\""
                   . " connect_timeout=500ms;\n",
    config => "    location = /t { csibiz test; }\n");

my $mark = error_log_mark();
my $r = http_req(GET => '/t?backend=postgres&op=echo&value=a');
is($r->{status}, 503, 'the first host hangs: 503 after the connect timeout');

my $ok;
ok(wait_until(sub {
       $ok = http_req(GET => '/t?backend=postgres&op=echo&value=b');
       return $ok->{status} == 200;
   }, timeout => 30, interval => 0.1),
   'then the next host of the list answers');
is($ok->{json}{value}, 'b', 'its answer');

my $log = error_log_since($mark);
like($log, qr/postgres connect timed out/, 'the timeout is logged');
like($log, qr/postgres connections start with host 2 of the list now/,
     'the list is rotated');

my @st = map { http_req(GET => "/t?backend=postgres&op=echo&value=c$_")
                   ->{status} } 1 .. 20;
is_deeply(\@st, [(200) x 20], 'every request after it: 200');

close $hung;
done_testing();
