# Slow clients against the settings of docs/operations.md ("Behind a load
# balancer; slow clients"): 3,000 connections from one address that send
# half their headers or half their body hold nothing another client needs.
# Bodies: a Content-Length over csibiz_body_limit is refused at once (no
# "100 Continue", nothing read), a chunked body as soon as it passes the
# limit, and no body is ever written to disk.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();

my $SLOW = 3000;          # from 127.0.0.2: half headers, half bodies
my $HELD = 20;            # limit_conn per address

# RLIMIT_NOFILE of this process (nginx, started from it, inherits it)
sub raise_nofile {
    my ($want) = @_;
    my ($get, $set) = eval { require 'syscall.ph'; (&SYS_getrlimit,
                                                     &SYS_setrlimit) };
    ($get, $set) = (97, 160) unless defined $set;    # x86-64
    my $buf = "\0" x 16;
    return 0 if syscall($get, 7, $buf) != 0;
    my ($soft, $hard) = unpack('QQ', $buf);
    return $soft if $soft >= $want;
    my $new = $hard < $want ? $hard : $want;
    return syscall($set, 7, pack('QQ', $new, $hard)) == 0 ? $new : $soft;
}

my $nofile = raise_nofile($SLOW + 2000);
plan skip_all => "RLIMIT_NOFILE $nofile: $SLOW connections need more"
    if $nofile < $SLOW + 500;

my $ROOT = repo_root();

start_nginx(main_config => $ACCOUNT_MAIN,
            worker_connections => $SLOW + 1000,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n"
                           . <<'EOF',
    # the settings of docs/operations.md, with shorter timeouts
    limit_conn_zone $binary_remote_addr zone=csibiz_addr:1m;
    client_header_timeout 30s;
    client_body_timeout 30s;
    send_timeout 10s;
    client_body_buffer_size 16k;
    client_max_body_size 16k;
EOF
            config => <<"EOF");
    limit_conn csibiz_addr $HELD;
    limit_conn_status 429;

    location = /api/health { csibiz health; }
    location = /api/login  { csibiz login; }
    location = /small/login { csibiz login; csibiz_body_limit 1k; }

    include $ROOT/tools/nginx-api-errors.conf;
EOF

my $port = server_port();
my $mark = error_log_mark();

sub connect_from {
    my ($addr) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 LocalAddr => $addr, Proto => 'tcp',
                                 Timeout => 10);
}

# whatever the server sent so far, without waiting; undef at EOF when
# nothing came
sub poll_read {
    my ($c) = @_;
    return if $c->{closed};
    $c->{sock}->blocking(0);
    while (1) {
        my $n = sysread($c->{sock}, my $buf, 65536);
        if (!defined $n) {
            $c->{closed} = 1 if !$!{EAGAIN} && !$!{EWOULDBLOCK};
            return;
        }
        if ($n == 0) {
            $c->{closed} = 1;
            return;
        }
        $c->{in} .= $buf;
    }
}

sub status_of {
    my ($c) = @_;
    return ($c->{in} // '') =~ m{\AHTTP/1\.1 (\d+)} ? $1 : undef;
}

# one request from another address, the whole answer: [status, body, s]
sub request_from {
    my ($addr, $raw) = @_;
    my $t0 = Time::HiRes::time();
    my $s = connect_from($addr) or return [undef, "connect: $!", 0];
    syswrite($s, $raw);
    my $sel = IO::Select->new($s);
    my $in = '';
    while ($sel->can_read(30)) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $in .= $buf;
    }
    close $s;
    my ($status) = $in =~ m{\AHTTP/1\.1 (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $in, 2;
    return [$status, $body // '', Time::HiRes::time() - $t0];
}

sub login_raw {
    my ($path) = @_;
    my $body = '{"id_number":"110105201003150011","password":"wrong one"}';
    return "POST $path HTTP/1.1\r\nHost: localhost\r\n"
           . "Content-Type: application/json\r\n"
           . "Content-Length: " . length($body) . "\r\n"
           . "Connection: close\r\n\r\n$body";
}

my $HEALTH = "GET /api/health HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\n\r\n";

# -------------------------------------------------- 3,000 slow connections

my (@heads, @bodies);
my $t0 = Time::HiRes::time();
for my $i (1 .. $SLOW) {
    my $s = connect_from('127.0.0.2')
        or BAIL_OUT("connection $i from 127.0.0.2: $!");
    my $c = { sock => $s };
    if ($i % 2) {
        # the request line and half a header, never finished
        syswrite($s, "POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
                     . "Content-Ty");
        push @heads, $c;
    } else {
        # the headers, then 10 bytes of 200
        syswrite($s, "POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
                     . "Content-Type: application/json\r\n"
                     . "Content-Length: 200\r\n\r\n{\"id_numbe");
        push @bodies, $c;
    }
}
my $opened = Time::HiRes::time() - $t0;
note(sprintf '%d connections opened from 127.0.0.2 in %.1f s', $SLOW,
     $opened);

# the bodies over limit_conn are refused at once; $HELD wait for theirs
my $answered = sub { scalar grep { defined status_of($_) } @bodies };
wait_until(sub { poll_read($_) for @bodies;
                 $answered->() >= @bodies - $HELD },
           timeout => 60, interval => 0.2);
my @refused = grep { (status_of($_) // 0) == 429 } @bodies;
is(scalar @refused, @bodies - $HELD,
   "half-sent bodies: $HELD held (limit_conn), the others 429 at once");
like($refused[0]{in}, qr/"code":"rate_limited"/,
     '... as JSON (nginx-api-errors.conf)') if @refused;

# ---------------------------------------------------- the others go on

my @health = map { request_from('127.0.0.3', $HEALTH) } 1 .. 5;
my @logins = map { request_from('127.0.0.3', login_raw('/api/login')) } 1 .. 3;

is(join(' ', map { $_->[0] // 'none' } @health), '200 200 200 200 200',
   'another client: health answered');
is(join(' ', map { $_->[0] // 'none' } @logins), '401 401 401',
   'another client: logins with a body answered');
my ($slowest) = sort { $b <=> $a } map { $_->[2] } @health, @logins;
cmp_ok($slowest, '<', 20, 'none of them waited long (a generous bound)');
note(sprintf 'slowest answer to 127.0.0.3: %.3f s', $slowest);

poll_read($_) for @heads;
is(scalar(grep { !$_->{closed} } @heads), scalar @heads,
   'meanwhile every half-sent header was still open');

# ------------------------------------- the timeouts end the slow ones

ok(wait_until(sub { poll_read($_) for @heads, @bodies;
                    !grep { !$_->{closed} } @heads, @bodies },
              timeout => 180, interval => 0.5),
   'client_header_timeout and client_body_timeout close every one')
    or diag(scalar(grep { !$_->{closed} } @heads, @bodies) . ' open');
close $_->{sock} for @heads, @bodies;
@heads = @bodies = ();

my $log = error_log_since($mark);
unlike($log, qr/worker_connections are not enough/,
       'worker_connections were enough');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert');

# -------------------------------------------------------------- bodies

# over csibiz_body_limit by Content-Length: 413 before the body, without
# inviting it with "100 Continue"
my $r = request_from('127.0.0.3',
                     "POST /small/login HTTP/1.1\r\nHost: localhost\r\n"
                     . "Content-Type: application/json\r\n"
                     . "Content-Length: 2000\r\nExpect: 100-continue\r\n"
                     . "Connection: close\r\n\r\n");
is($r->[0], 413, 'Content-Length over the limit, Expect: 100-continue: 413');
like($r->[1], qr/"code":"body_too_large"/, '... JSON body_too_large');

# chunked: refused once past the limit, the rest never read
{
    my $s = connect_from('127.0.0.3');
    syswrite($s, "POST /small/login HTTP/1.1\r\nHost: localhost\r\n"
                 . "Content-Type: application/json\r\n"
                 . "Transfer-Encoding: chunked\r\n\r\n");
    my $c = { sock => $s };
    my $chunk = 'x' x 600;
    syswrite($s, sprintf("%x\r\n%s\r\n", length $chunk, $chunk)) for 1 .. 2;
    ok(wait_until(sub { poll_read($c); defined status_of($c) },
                  timeout => 30),
       'chunked, 1200 bytes sent of a body with no end: answered');
    is(status_of($c), 413, '... 413');
    like($c->{in}, qr/"code":"body_too_large"/, '... JSON body_too_large');
    close $s;
}

unlike(error_log_since($mark), qr/buffered to a temporary file/,
       'no request body was written to disk');

done_testing();
