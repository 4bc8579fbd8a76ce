# GET /api/captcha and the captcha check (through POST /api/sms/send,
# which takes a captcha before anything else): a real PNG, the answer in
# Redis under an HMAC of the id with csibiz_captcha_ttl, single use right
# or wrong, case-insensitive, off with "csibiz_captcha off".  Issuing is
# rate-limited per client address (csibiz_limit_captcha, the realip
# module's address, IPv6 by its /64), and images are drawn in the thread
# pool: a flood of captchas leaves the worker's event loop free.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use MIME::Base64 ();
use Time::HiRes ();

my $CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/captcha  { csibiz captcha; }
    location = /api/sms/send { csibiz sms_send; }
    location = /api/session  { csibiz session; }
    location = /test         { csibiz test; }
    location = /metrics      { csibiz status; }
EOF

# the limit has its own section below
my $NO_LIMIT = "$SECRET_CONF\n    csibiz_limit_captcha off;";

sub metric {
    my ($name) = @_;
    my $r = http_req(GET => '/metrics');
    die "metrics: $r->{status}" unless $r->{status} == 200;
    my ($n) = $r->{body} =~ /^\Q$name\E (\d+)$/m;
    return $n // 0;
}

# An insured person whose ID and card are right and whose phone is not:
# a request that passes the captcha ends in 403 phone_not_declared, one
# that does not in 400 captcha_* -- and no SMS is ever sent.
ensure_backends();
my $ID = id_number('44030520120101001');
roster_add(id_number => $ID, si_card => 'CAP000000001',
           phone => '13900000001');

my %SMS = (purpose => 'register', id_number => $ID,
           si_card_no => 'CAP000000001', phone => '13900000002');

sub send_with {
    my ($cid, $answer) = @_;
    my %f = %SMS;
    $f{captcha_id} = $cid if defined $cid;
    $f{captcha_answer} = $answer if defined $answer;
    return json_post('/api/sms/send', \%f);
}

# ------------------------------------------------------------ the image

start_nginx(http_config => $NO_LIMIT, config => $CONFIG);
my $mark = error_log_mark();

my ($cid, $answer, $r, $key) = captcha_new();

is($r->{status}, 200, 'captcha: 200');
like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');
is_deeply([sort keys %{ $r->{json} }], [qw(captcha_id expires_in image)],
          'captcha_id, image, expires_in');
like($cid, qr/^[A-Za-z0-9_-]{22}$/, 'id: base64url of 16 bytes');
is($r->{json}{expires_in}, 120, 'expires_in: the default 120 s');

my ($b64) = $r->{json}{image} =~ m{^data:image/png;base64,([A-Za-z0-9+/=]+)$};
ok($b64, 'image: a data: URI of a base64 PNG');
my $png = MIME::Base64::decode_base64($b64 // '');
is(substr($png, 0, 8), "\x89PNG\r\n\x1a\n", 'PNG signature');
my ($w, $h) = unpack('NN', substr($png, 16, 8));
is("${w}x$h", '120x40', 'image 120x40');
cmp_ok(length $png, '>', 1000, 'not a blank image');

like($key, qr/^csibiz:captcha:[0-9a-f]{64}$/, 'Redis key: an HMAC in hex');
unlike($key, qr/\Q$cid\E/, 'the key does not contain the id');
like($answer, qr/^[346789ACDEFHJKLMNPRSTUVWXYZ]{5}$/,
     'answer: 5 characters of the alphabet');
my $ttl = redis_cmd('TTL', $key);
ok($ttl > 110 && $ttl <= 120, "stored for 120 s (TTL $ttl)");

my ($cid2, $answer2, $r2) = captcha_new();
isnt($cid2, $cid, 'a second captcha has another id');
isnt($r2->{json}{image}, $r->{json}{image}, '... and another image');

# many in a row: each its own (its drawing cost is measured by tools/bench)
my %ids;
for (1 .. 50) {
    my $x = http_req(GET => '/api/captcha');
    last unless $x->{status} == 200;
    $ids{ $x->{json}{captcha_id} // "" } = 1;
}
is(scalar keys %ids, 50, '50 captchas in a row: 50 different ids');

$r = http_req(POST => '/api/captcha', body => '');
code_is($r, 405, 'method_not_allowed', 'POST');

# ------------------------------------------------------------ the check

redis_cmd('FLUSHALL');

code_is(send_with(), 400, 'captcha_required', 'no captcha');
($cid) = captcha_new();
code_is(send_with($cid), 400, 'captcha_required', 'no answer');
code_is(send_with(undef, 'ABCDE'), 400, 'captcha_required', 'no id');
code_is(send_with($cid, ''), 400, 'captcha_required', 'empty answer');

# right: passes (and then the phone is refused, with no SMS sent)
($cid, $answer, undef, $key) = captcha_new();
code_is(send_with($cid, $answer), 403, 'phone_not_declared', 'right answer');
is(redis_cmd('EXISTS', $key), 0, 'a right answer is used up');
code_is(send_with($cid, $answer), 400, 'captcha_invalid',
        'the same answer again');

# wrong: refused, and used up too
($cid, $answer, undef, $key) = captcha_new();
my $wrong = $answer =~ /^A/ ? 'CCCCC' : 'AAAAA';
code_is(send_with($cid, $wrong), 400, 'captcha_invalid', 'wrong answer');
is(redis_cmd('EXISTS', $key), 0, 'a wrong answer uses the captcha up');
code_is(send_with($cid, $answer), 400, 'captcha_invalid',
        'the right answer after a wrong one');

# case and surrounding white space do not matter; inner space does
($cid, $answer) = captcha_new();
code_is(send_with($cid, lc $answer), 403, 'phone_not_declared',
        'lower case');
($cid, $answer) = captcha_new();
code_is(send_with($cid, " \t" . ucfirst(lc $answer) . " "), 403,
        'phone_not_declared', 'mixed case, spaces around');
($cid, $answer) = captcha_new();
code_is(send_with($cid, substr($answer, 0, 2) . ' ' . substr($answer, 2)),
        400, 'captcha_invalid', 'a space inside');
($cid, $answer) = captcha_new();
code_is(send_with($cid, substr($answer, 0, 4)), 400, 'captcha_invalid',
        'too short');
code_is(send_with($cid, $answer), 400, 'captcha_invalid',
        '... and that used it up');

# ids this module never made
code_is(send_with('not-an-id', 'ABCDE'), 400, 'captcha_invalid',
        'malformed id');
code_is(send_with('A' x 22, 'ABCDE'), 400, 'captcha_invalid',
        'unknown id');
($cid, $answer) = captcha_new();
code_is(send_with($cid . 'A', $answer), 400, 'captcha_invalid',
        'id with a character more');

my $log = error_log_since($mark);
unlike($log, qr/\[(?:alert|crit|emerg|error)\]/, 'no errors logged');
unlike($log, qr/\Q$ID\E|1390000000/, 'no ID number or phone in the log');

# ------------------------------------------------- TTL and the outages

start_nginx(http_config => "$NO_LIMIT\n    csibiz_captcha_ttl 1s;",
            config => $CONFIG);

($cid, $answer, $r, $key) = captcha_new();
is($r->{json}{expires_in}, 1, 'csibiz_captcha_ttl 1s: expires_in 1');
ok(redis_cmd('PTTL', $key) <= 1000, 'stored for 1 s');
Time::HiRes::sleep(1.5);
code_is(send_with($cid, $answer), 400, 'captcha_invalid', 'expired');

($cid, $answer) = captcha_new();
backend_stop('redis');
code_is(http_req(GET => '/api/captcha'), 503, 'backend_unavailable',
        'captcha, Redis down');
code_is(send_with($cid, $answer), 503, 'backend_unavailable',
        'check, Redis down');
backend_start('redis');

# ---------------------------------------------- drawn in the thread pool

start_nginx(http_config => $NO_LIMIT, config => $CONFIG);

my $jobs0 = metric('csibiz_captcha_jobs_total');
my $done0 = metric('csibiz_captcha_jobs_done_total');

# 200 captchas at once, then a session and a Redis round trip: the worker
# draws one captcha at a time in a thread, so the two are answered while
# captchas still wait (drawn on the event loop, they would wait for all)
my $N = 200;
my $all = http_concurrent([(map { [GET => '/api/captcha'] } 1 .. $N),
                           [GET => '/api/session'],
                           [GET => '/test?backend=redis&op=echo&value=x']],
                          timeout => 60);
my @caps = @$all[0 .. $N - 1];
my ($sess, $echo) = @$all[$N, $N + 1];

is(scalar(grep { ($_->{status} // 0) == 200 } @caps), $N,
   "$N captchas at once: all 200");
my %flood = map { ($_->{json}{captcha_id} // '') => 1 } @caps;
is(scalar keys %flood, $N, '... each its own id');
is(scalar @{ redis_keys('csibiz:captcha:*') }, $N, '... and answer');
is($sess->{status}, 200, 'a session request meanwhile: 200');
is($echo->{status}, 200, 'a Redis round trip meanwhile: 200');
my ($last) = sort { $b <=> $a } map { $_->{finish} } @caps;
cmp_ok($sess->{finish}, '<', $last,
       'the session is answered before the last captcha');
cmp_ok($echo->{finish}, '<', $last,
       'the Redis round trip is answered before the last captcha');

is(metric('csibiz_captcha_jobs_done_total') - $done0, $N,
   "$N captchas drawn in the thread pool");
is(metric('csibiz_captcha_jobs_total') - $jobs0, $N, '... all posted there');

# one drawn after the flood still verifies
($cid, $answer) = captcha_new();
code_is(send_with($cid, $answer), 403, 'phone_not_declared',
        'a captcha of the thread pool verifies');

# ------------------------------------------------- the rate per address

start_nginx(http_config => "$SECRET_CONF\n"
                           . "    csibiz_limit_captcha rate=1r/m burst=5;",
            config => $CONFIG);
redis_cmd('FLUSHALL');

sub from { return (headers => { 'X-Real-IP' => $_[0] }) }

$jobs0 = metric('csibiz_captcha_jobs_total');
my @lim = map { http_req(GET => '/api/captcha', from('10.9.0.1')) } 1 .. 7;
is_deeply([map { $_->{status} } @lim], [(200) x 5, (429) x 2],
          'one address: 5 captchas (the burst), then 429')
    or diag(explain([map { $_->{body} } @lim]));
code_is($lim[-1], 429, 'rate_limited', 'over the rate');
ok(($lim[-1]{json}{error}{retry_after} // 0) >= 1,
   'retry_after in the answer');
ok(($lim[-1]{headers}{'retry-after'} // 0) >= 1, 'and Retry-After');
is(metric('csibiz_captcha_jobs_total') - $jobs0, 5,
   'nothing drawn over the rate');
is(scalar @{ redis_keys('csibiz:captcha:*') }, 5, 'nor stored');
my $windows = redis_keys('csibiz:limit:captcha:client:*');
is(scalar @$windows, 1, 'one window in Redis');
unlike($windows->[0] // '', qr/10\.9/, '... named without the address');

is(http_req(GET => '/api/captcha', from('10.9.0.2'))->{status}, 200,
   'behind the proxy, another address: its own window');
is(http_req(GET => '/api/captcha')->{status}, 200,
   'the proxy itself (no X-Real-IP): its own window');

for my $n (1 .. 5) {
    http_req(GET => '/api/captcha', from("2001:db8:1:2::$n"));
}
code_is(http_req(GET => '/api/captcha',
                 from('2001:db8:1:2:ffff:ffff:ffff:ffff')),
        429, 'rate_limited', 'another address of the same /64: limited');
is(http_req(GET => '/api/captcha', from('2001:db8:1:3::1'))->{status}, 200,
   'the next /64: its own window');

# ------------------------------------------------------- captcha off

start_nginx(http_config => "$NO_LIMIT\n    csibiz_captcha off;",
            config => $CONFIG);

code_is(send_with(), 403, 'phone_not_declared',
        'csibiz_captcha off: no captcha needed');
code_is(send_with('A' x 22, 'nonsense'), 403, 'phone_not_declared',
        'csibiz_captcha off: any captcha passes');
($cid, $answer, $r, $key) = captcha_new();
is($r->{status}, 200, 'csibiz_captcha off: GET /api/captcha still works');
code_is(send_with($cid, 'wrong'), 403, 'phone_not_declared',
        'csibiz_captcha off: a wrong answer passes');
is(redis_cmd('EXISTS', $key), 1, '... and Redis is not asked');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
