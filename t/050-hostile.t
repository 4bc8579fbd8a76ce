# Hostile input through nginx and the module: huge bodies, deep JSON,
# duplicate keys, invalid UTF-8, NUL bytes, SQL and script strings (stored
# verbatim, answered JSON-escaped, never executed), header floods, many
# and huge cookies, a session cookie spelt with a byte >= 0x80, slow
# clients, pipelined garbage and request smuggling.  Each refusal is the
# stable 4xx JSON error (or nginx's own 4xx where nginx answers first);
# afterwards the same worker still answers health and nothing was written
# half.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

use Encode ();
use JSON::PP ();
use IO::Socket::INET ();
use Time::HiRes ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

# short timeouts so that slow clients are cut off within the test
start_bank_nginx(now => '2026-09-10 12:00:00+08',
                 http => "    client_body_timeout 1s;\n"
                         . "    client_header_timeout 1s;\n",
                 config => "    location = /api/health { csibiz health; }\n");

my ($WORKER) = worker_pids();
my $P = parent(1);

sub counts {
    return join ' ', map { psql_value("SELECT count(*) FROM $_") }
                     qw(bank_account declaration audit_log idempotency_key
                        portal_user);
}

# the worker that started the file still serves: no crash, no hang
sub still_serving {
    my ($name) = @_;
    my $r = http_req(GET => '/api/health');
    is_deeply([$r->{status}, $r->{json}],
              [200, { redis => 'up', postgres => 'up' }],
              "$name: health answers afterwards") or diag($r->{body});
    is_deeply([worker_pids()], [$WORKER], "$name: the same worker");
}

# a body POSTed as JSON to a path
sub post_raw {
    my ($path, $body, %h) = @_;
    return http_req(POST => $path, body => $body,
                    headers => { 'Content-Type' => 'application/json', %h });
}

# ------------------------------------------------------------ huge bodies

my $before = counts();

code_is(post_raw('/api/login', '{"password":"' . ('x' x 100_000) . '"}'),
        413, 'body_too_large', '100 kB body');

# announced, only the start sent: refused before reading the rest, by
# the module under client_max_body_size (1m), by nginx over it
sub announced {
    my ($len) = @_;
    return http_raw("POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
                    . "Content-Type: application/json\r\n"
                    . "Content-Length: $len\r\nConnection: close\r\n\r\n"
                    . '{"password":"');
}
my $in = announced(500_000);
like($in, qr{\AHTTP/1\.1 413 .*"code":"body_too_large"}s,
     '500 kB announced: 413 body_too_large at once');
like(announced(10_000_000), qr{\AHTTP/1\.1 413 },
     '10 MB announced: nginx\'s 413 at once');

# chunked, no length: over client_max_body_size (1m) nginx answers
my $chunk = 'x' x 65536;
$in = http_raw("POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
               . "Content-Type: application/json\r\n"
               . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               . join('', map { sprintf("%x\r\n%s\r\n", 65536, $chunk) }
                          1 .. 20)
               . "0\r\n\r\n");
like($in, qr{\AHTTP/1\.1 413 }, '1.3 MB chunked: 413');

# ------------------------------------------------------------ bad JSON

my %bad = (
    'deep objects'        => '{"a":' x 1000 . '1' . '}' x 1000,
    'deep arrays'         => '[' x 3000 . ']' x 3000,
    'nested value'        => '{"id_number":{"$ne":null},"password":"x"}',
    'array value'         => '{"id_number":["a","b"],"password":"x"}',
    'duplicate key'       => '{"id_number":"a","id_number":"b",'
                             . '"password":"x"}',
    'duplicate, escaped'  => '{"password":"a","pass\u0077ord":"b"}',
    'invalid UTF-8'       => "{\"password\":\"\xff\xfe\"}",
    'overlong UTF-8'      => "{\"password\":\"\xc0\xaf\"}",
    'UTF-8 surrogate'     => "{\"password\":\"\xed\xa0\x80\"}",
    'invalid UTF-8 key'   => "{\"\xc3\":\"x\"}",
    'lone surrogate'      => '{"password":"\ud800"}',
    'raw NUL in a string' => "{\"password\":\"a\0b\"}",
    'escaped NUL'         => '{"password":"a\u0000b"}',
    'NUL after the body'  => "{\"password\":\"ab\"}\0",
    'NUL before the body' => "\0{\"password\":\"ab\"}",
    'a BOM'               => "\xef\xbb\xbf{\"password\":\"ab\"}",
    'two objects'         => '{"password":"a"}{"password":"b"}',
    '33 members'          => '{' . join(',', map { "\"k$_\":1" } 1 .. 33)
                             . '}',
    'script, unquoted'    => '{"password":<script>alert(1)</script>}',
    'SQL, unquoted'       => "{\"password\":'' OR 1=1 --}",
);
for my $name (sort keys %bad) {
    code_is(post_raw('/api/login', $bad{$name}), 400, 'bad_json', $name);
}
for my $name ('duplicate key', 'deep objects', 'invalid UTF-8',
              'raw NUL in a string') {
    my $body = $bad{$name};
    $body =~ s/password/account_no/g;
    code_is(account_put($P, undef, raw => $body), 400, 'bad_json',
            "PUT /api/account: $name");
}
my $long = JSON::PP->new->utf8->canonical->encode(
    { %{ relative_card(seed => 49) }, version => 0 });
$long =~ s/"version":0/'"version":' . ('9' x 5000)/e;
my $r = account_put($P, undef, raw => $long);
code_is($r, 400, 'invalid', 'a 5000-digit version');
is($r->{json}{error}{fields}{version}, 'format', 'the version: format');
is(counts(), $before, 'bad bodies: nothing written');
still_serving('bad bodies');

# ---------------------------------------------- SQL and script strings

my $sql = "R&D'); DROP TABLE bank_account; --";
my $form = { %{ relative_card(seed => 50) }, version => 0,
             relative_address => $sql };
$r = account_put($P, $form);
is($r->{status}, 200, 'an address with SQL in it is accepted')
    or diag($r->{body});
is($r->{json}{account}{relative}{address}, "R&D');****",
   'and answered masked, as text');
unlike($r->{body}, qr/&/, 'the answer has no raw &');
like($r->{body}, qr/R\\u0026D'\);/, '& is escaped \u0026');
is(Encode::decode('UTF-8', psql_value(
       "SELECT relative_address FROM bank_account"
       . " WHERE insured_person_id = $P->{pid}")),
   $sql, 'the address is stored verbatim');
is(psql_value("SELECT count(*) FROM bank_account"), 1,
   'the table is still there, with the row');

$before = counts();
my %fields = (
    relative_name    => [q{Robert'); DROP TABLE portal_user;--}, 'charset'],
    relative_address => ['<script>alert(1)</script>', 'charset'],
    bank             => [q{ICBC' OR '1'='1}, 'unknown'],
    relative_postcode => ["100081' --", 'format'],
);
for my $f (sort keys %fields) {
    my ($value, $why) = @{ $fields{$f} };
    $r = account_put($P, { %{ relative_card(seed => 51) }, version => 1,
                           $f => $value });
    code_is($r, 400, 'invalid', "$f: $value");
    is($r->{json}{error}{fields}{$f}, $why, "$f: $why");
    unlike($r->{body}, qr/<script|DROP TABLE|OR '1'/,
           "$f: the value is not echoed");
}
code_is(json_post('/api/login', { id_number => q{' OR '1'='1},
                                   password => q{' OR '1'='1' --xx} }),
        401, 'bad_credentials', 'login with SQL for an ID number');
is(counts(), $before, 'refused writes: nothing written');
still_serving('SQL and scripts');

# ---------------------------------------------------- headers, cookies

# a header flood past large_client_header_buffers: nginx answers 400
$in = http_raw("GET /api/health HTTP/1.1\r\nHost: localhost\r\n"
               . join('', map { "X-Flood-$_: " . ('v' x 20) . "\r\n" }
                          1 .. 2000)
               . "Connection: close\r\n\r\n");
like($in, qr{\AHTTP/1\.1 4(?:00|31|94) }, '2000 headers: nginx says 4xx');

# many headers within the limits are no trouble
$r = account_get($P);
my %many = map { ("X-Many-$_" => 'v') } 1 .. 300;
$r = http_req(GET => '/api/account',
              headers => { %many, Cookie => "csibiz=$P->{sid}" });
is($r->{status}, 200, '300 headers within the limits: answered');

# the session cookie among 300 others, and in the 30th Cookie header
my $cookies = join '; ', map { "c$_=" . ('v' x 10) } 1 .. 300;
$r = http_req(GET => '/api/account',
              headers => { Cookie => "$cookies; csibiz=$P->{sid}" });
is($r->{status}, 200, '300 cookies, then the session: found');
$r = http_req(GET => '/api/account',
              headers => [ (map { (Cookie => "d$_=1") } 1 .. 29),
                           Cookie => "csibiz=$P->{sid}" ]);
is($r->{status}, 200, '30 Cookie headers: the session found');

# a huge session cookie within the buffers, and one beyond them
code_is(http_req(GET => '/api/account',
                 headers => { Cookie => 'csibiz=' . ('A' x 7000) }),
        401, 'not_logged_in', 'a 7000-byte session cookie');
$r = http_req(GET => '/api/account',
              headers => { Cookie => 'csibiz=' . ('A' x 40_000) });
ok($r->{status} == 400 || $r->{status} == 494,
   'a 40 kB cookie: nginx says 400') or diag($r->{status});
code_is(http_req(GET => '/api/account',
                 headers => { Cookie => "csibiz=a'%20OR%201=1;--" }),
        401, 'not_logged_in', 'SQL in the session cookie');

# a session id spelt with 0xff for '_' is another cookie, not the session
# (libsodium 1.0.18's base64 decoder took it for '_')
my $sid;
for (1 .. 20) {
    login($P);
    last if ($sid = $P->{sid}) =~ /_/;
}
SKIP: {
    skip 'no session id with "_" in 20 logins', 2 unless $sid =~ /_/;
    (my $odd = $sid) =~ s/_/\xff/;
    is(account_get({ sid => $sid })->{status}, 200, 'the session itself');
    code_is(http_req(GET => '/api/account',
                     headers => { Cookie => "csibiz=$odd" }),
            401, 'not_logged_in', 'its id with 0xff for "_"');
}
still_serving('headers and cookies');

# ------------------------------------------------------- slow clients

$before = counts();
my $body = JSON::PP->new->utf8->canonical->encode(
    { %{ relative_card(seed => 52) }, version => 1 });

# the body trickled slower than client_body_timeout (1s)
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                              PeerPort => server_port(), Timeout => 5)
    or die "connect: $@";
binmode $s;
syswrite $s, "PUT /api/account HTTP/1.1\r\nHost: localhost\r\n"
             . "Content-Type: application/json\r\n"
             . "Cookie: csibiz=$P->{sid}\r\nX-CSRF-Token: $P->{csrf}\r\n"
             . "Idempotency-Key: slow-body-1\r\n"
             . "Content-Length: " . length($body) . "\r\n\r\n"
             . substr($body, 0, 10);
my $closed = 0;
$in = '';
for my $i (10 .. length($body) - 2) {
    Time::HiRes::sleep(1.5);
    if (!defined syswrite($s, substr($body, $i, 1))) {
        $closed = 1;
        last;
    }
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    if (select(my $rout = $rin, undef, undef, 0)) {
        my $n = sysread($s, my $buf, 65536);
        $in .= $buf if $n;
        if (!$n) { $closed = 1; last }
    }
    last if $i > 14;
}
if (!$closed) {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 10;
    eval { while (sysread($s, my $buf, 65536)) { $in .= $buf } };
    alarm 0;
    $closed = 1;
}
close $s;
ok($closed, 'a body trickled slower than the timeout: connection closed');
unlike($in, qr{\AHTTP/1\.1 [25]}, 'and not answered 2xx or 5xx');

# headers trickled slower than client_header_timeout
$s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                           PeerPort => server_port(), Timeout => 5)
    or die "connect: $@";
syswrite $s, "GET /api/health HTTP/1.1\r\nHo";
Time::HiRes::sleep(1.5);
syswrite $s, "s";
$in = '';
{
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 10;
    eval { while (sysread($s, my $buf, 65536)) { $in .= $buf } };
    alarm 0;
}
close $s;
unlike($in, qr{\AHTTP/1\.1 200}, 'slow headers: not served, closed');
is(counts(), $before, 'slow clients: nothing written');
is(psql_value("SELECT count(*) FROM idempotency_key"
              . " WHERE key = 'slow-body-1'"), 0,
   'the slow request\'s key is not kept');
still_serving('slow clients');

# ------------------------------------------------ pipelined garbage

$in = http_raw("GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
               . "\x00\x01\x02GARBAGE \xff\xfe\r\n\r\n"
               . "GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n");
my @st = $in =~ m{HTTP/1\.1 (\d{3}) }g;
is_deeply(\@st, [200, 400], 'health, then garbage: 200, 400, closed');

$in = http_raw("POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
               . "Content-Type: application/json\r\n"
               . "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
               . "0\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
@st = $in =~ m{HTTP/1\.1 (\d{3}) }g;
is_deeply(\@st, [400], 'Content-Length with chunked: nginx says 400, once');

for my $cl ('-1', '99999999999999999999999', '1, 2', 'abc') {
    $in = http_raw("POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
                   . "Content-Type: application/json\r\n"
                   . "Content-Length: $cl\r\nConnection: close\r\n\r\n{}");
    like($in, qr{\AHTTP/1\.1 4\d\d }, "Content-Length: $cl: 4xx");
}

$in = http_raw("GET /api/health\0 HTTP/1.1\r\nHost: localhost\r\n\r\n");
like($in, qr{\AHTTP/1\.1 400 }, 'a NUL in the request line: 400');
$in = http_raw("GET /api/health HTTP/1.1\r\nHost: localhost\r\n"
               . "X-Bad: a\0b\r\nConnection: close\r\n\r\n");
like($in, qr{\AHTTP/1\.1 400 }, 'a NUL in a header: 400');
still_serving('pipelined garbage');

my $log = logs_text();
unlike($log, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'no alert, crit or crash in the logs');

stop_nginx();
done_testing();
