# A parent's journey through the account API with the captcha on, as the
# pages make it: agreement -> captcha -> SMS code (read from the outbox
# stream) -> register -> login -> /api/session -> stay logged in ->
# re-enter the password -> logout.  Then 20 concurrent logins on a single
# worker: their hashing runs in the thread pool, so 50 health requests
# made meanwhile all complete, each well before the logins are done.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use Encode ();
use List::Util qw(max min);

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

workers(1);

# one hashing thread: the test machine may have two CPUs, and the worker,
# the backends and this client need one of them
my $MAIN = 'thread_pool csibiz threads=1;';

# the floods below (a reload, the thread pool's queue) come from one
# address on purpose: the client's rate (t/028) is not what they test
my $HTTP = "$ACCOUNT_HTTP    csibiz_limit_client off;\n";

my $CONFIG = <<'EOF';
    location = /api/health    { csibiz health; }
    location = /api/agreement { csibiz agreement; }
    location = /api/captcha   { csibiz captcha; }
    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
    location = /api/logout    { csibiz logout; }
    location = /api/reauth    { csibiz reauth; }
    location = /api/session   { csibiz session; }
EOF

ensure_backends();

my %child = (id => id_number('32010620140606021'), card => 'JRN000000001',
             phone => '18800000001');
my $PW = 'the journey password: 12 chars and more';
roster_add(id_number => $child{id}, si_card => $child{card},
           phone => $child{phone}, name => '张小红', category => 'child',
           school => '南京市第一幼儿园');

start_nginx(main_config => $MAIN, http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();

sub cookie_of {
    my ($r) = @_;
    my ($c) = set_cookies($r);
    return $c;
}

# ------------------------------------------------------------ journey

my $r = http_req(GET => '/api/agreement');
is($r->{status}, 200, '1. GET /api/agreement: 200');
my $version = $r->{json}{version};
ok($version, "the version in force: $version");

my ($cid, $answer) = captcha_new();
like($cid, qr/^[A-Za-z0-9_-]{22}$/, '2. GET /api/captcha: an id');
ok($answer, '... its answer (read from Redis)');

$r = json_post('/api/sms/send', {
    purpose => 'register', id_number => $child{id},
    si_card_no => $child{card}, phone => $child{phone},
    captcha_id => $cid, captcha_answer => lc $answer });
is($r->{status}, 200, '3. POST /api/sms/send with the captcha: 200')
    or diag($r->{body});
my $ticket = $r->{json}{sms_ticket};

my $outbox = redis_cmd('XRANGE', 'csibiz:sms:outbox', '-', '+');
is(scalar @$outbox, 1, '4. one message in the csibiz:sms:outbox stream');
my %msg = @{ $outbox->[0][1] };
is($msg{phone}, $child{phone}, 'to the declared phone');
is($msg{purpose}, 'register', 'purpose register');
like($msg{code}, qr/^[0-9]{6}$/, 'a 6-digit code');
my $code = $msg{code};

$r = json_post('/api/register', {
    id_number => $child{id}, si_card_no => $child{card},
    phone => $child{phone}, sms_code => $code, sms_ticket => $ticket,
    password => $PW, agree_version => $version });
is($r->{status}, 201, '5. POST /api/register: 201') or diag($r->{body});
is($r->{json}{user}{name}, '张*红', 'the account, name masked');

$r = json_post('/api/login', { id_number => $child{id}, password => $PW });
is($r->{status}, 200, '6. POST /api/login: 200') or diag($r->{body});
my ($sid) = (cookie_of($r) // '') =~ /^csibiz=([^;]+)/;
ok($sid, 'a session cookie');
my $csrf = $r->{json}{csrf_token};
ok($csrf, 'a CSRF token');
is($r->{json}{user}{phone}, '188****0001', 'the account, phone masked');

my %auth = (Cookie => "csibiz=$sid", 'X-CSRF-Token' => $csrf,
            Origin => 'http://localhost', 'Sec-Fetch-Site' => 'same-origin');

$r = http_req(GET => '/api/session', headers => { Cookie => "csibiz=$sid" });
is($r->{status}, 200, '7. GET /api/session: 200');
ok($r->{json}{logged_in}, 'logged in');
ok($r->{json}{expires_in} > 890, "expires_in $r->{json}{expires_in}");
is($r->{json}{csrf_token}, $csrf, 'the same CSRF token (for a reloaded page)');

$r = http_req(POST => '/api/session', headers => \%auth);
is($r->{status}, 200, '8. POST /api/session (stay logged in): 200');

$r = json_post('/api/reauth', { password => $PW }, headers => \%auth);
is($r->{status}, 200, '9. POST /api/reauth: 200') or diag($r->{body});

$r = http_req(POST => '/api/logout', headers => \%auth);
is($r->{status}, 200, '10. POST /api/logout: 200');
like(cookie_of($r) // '', qr/^csibiz=;.*Max-Age=0/, 'the cookie is cleared');

$r = http_req(GET => '/api/session', headers => { Cookie => "csibiz=$sid" });
is($r->{body}, '{"logged_in":false}', '11. GET /api/session: logged out');

my @actions = map { $_->[0] }
              psql('SELECT action FROM audit_log ORDER BY id');
is_deeply(\@actions, ['account.register', 'account.login'],
          'audit_log: account.register, account.login');

# ---------------------------------- 20 logins while others are served

is(scalar(worker_pids()), 1, 'one worker');
# warm-up: the pools open their connections
my $warm = http_concurrent([map { [GET => '/api/health'] } 1 .. 32],
                           max_parallel => 16);
is(scalar(grep { ($_->{status} // 0) == 200 } @$warm), 32, 'health: warm-up');

my @logins = map {
    http_start(POST => '/api/login', timeout => 30,
               headers => { 'Content-Type' => 'application/json' },
               body => JSON::PP->new->encode({ id_number => $child{id},
                                               password => $PW }))
} 1 .. 20;
my $health = http_concurrent([map { [GET => '/api/health', timeout => 10] }
                              1 .. 50], max_parallel => 10);
my @done = map { http_finish($_) } @logins;

my @bad = grep { ($_->{status} // 0) != 200 } @done;
is(scalar @bad, 0, '20 concurrent logins: all 200')
    or diag(explain [map { $_->{error} // $_->{body} } @bad]);
my %sids = map { ((cookie_of($_) // '') =~ /^csibiz=([^;]+)/)[0] // '' => 1 }
           @done;
is(scalar(grep { length } keys %sids), 20, '20 different sessions');

@bad = grep { ($_->{status} // 0) != 200 } @$health;
is(scalar @bad, 0, '50 health requests meanwhile: all 200')
    or diag(explain [map { $_->{error} // $_->{body} } @bad]);

my $logins_start = min map { $_->{start} } @done;
my $logins_end = max map { $_->{finish} } @done;
my $logins_time = $logins_end - $logins_start;
my $slowest = max map { $_->{elapsed} } @$health;
my $health_end = max map { $_->{finish} } @$health;
note(sprintf '20 logins took %.0f ms; health requests took %s ms',
             1000 * $logins_time,
             join ' ', map { sprintf '%.0f', 1000 * $_->{elapsed} } @$health);

cmp_ok((min map { $_->{start} } @$health), '<',
       (min map { $_->{finish} } @done),
       'the health requests started while the logins were in flight');
cmp_ok($health_end, '<', $logins_end,
       'all 50 health requests done before the last login');
cmp_ok($slowest, '<', 0.5, 'each health request under 500 ms');
cmp_ok($slowest, '<', $logins_time / 3,
       'each well under the time the logins took');

# --------------------------------------------------------------- logs

my $log = error_log_since($mark);
unlike($log, qr/\[(?:alert|crit|emerg|error)\]/, 'no errors logged');
my $all = logs_text();
my @found = grep { index($all, $_) >= 0 }
            map { Encode::encode('UTF-8', $_) }
            $child{id}, $child{phone}, $child{card}, $PW, $code, $answer,
            $sid, $csrf;
is_deeply(\@found, [], 'no ID number, phone, card number, password, SMS '
                       . 'code, captcha answer, session id or CSRF token in '
                       . 'error.log or access.log');

# ------------------------------------- a reload while passwords hash

# The old worker finishes its requests before it exits: logins waiting
# for the thread pool too.  40 logins keep the one thread busy for over
# 2 s, longer than the master takes to reload.
$mark = error_log_mark();
my @inflight = map {
    http_start(POST => '/api/login', timeout => 30,
               headers => { 'Content-Type' => 'application/json' },
               body => JSON::PP->new->encode({ id_number => $child{id},
                                               password => $PW }))
} 1 .. 40;
reload_nginx(wait => 1);
my @answers = map { http_finish($_) } @inflight;
wait_until(sub { worker_pids(all => 1) == 1 }, timeout => 30);
{
    is(scalar(grep { ($_->{status} // 0) == 200 } @answers), 40,
       '40 logins in flight during a reload: all answered 200')
        or diag(explain [map { $_->{error} // $_->{status} } @answers]);
    unlike(error_log_since($mark), qr/\[alert\]/, 'no alert at the reload');
}
is(http_req(GET => '/api/health')->{status}, 200, 'the new worker serves');

# ----------------------------------------- the thread pool's queue full

start_nginx(main_config => 'thread_pool csibiz threads=1 max_queue=2;',
            http_config => $HTTP, config => $CONFIG);
my $flood = http_concurrent([map {
    [POST => '/api/login', timeout => 30,
     headers => { 'Content-Type' => 'application/json' },
     body => JSON::PP->new->encode({ id_number => $child{id},
                                     password => $PW })]
} 1 .. 12]);
my @ok = grep { ($_->{status} // 0) == 200 } @$flood;
my @busy = grep { ($_->{status} // 0) == 503 } @$flood;
is(@ok + @busy, 12, '12 logins, max_queue=2: each 200 or 503');
ok(@ok >= 3, 'those that found room logged in (' . scalar(@ok) . ')');
ok(@busy >= 1, 'the others: 503 (' . scalar(@busy) . ')');
is_deeply([map { $_->{json}{error}{code} } @busy[0 .. 0]],
          ['backend_unavailable'], '503 backend_unavailable');
is($busy[0]{headers}{'retry-after'}, 1, 'Retry-After: 1');
like(error_log_since(0), qr/thread pool "csibiz" queue overflow/,
     'nginx logs the overflow');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
