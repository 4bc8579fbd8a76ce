# Sessions after login: GET /api/session (reports, does not extend), POST
# /api/session (extends, needs the CSRF token), the CSRF rule for
# state-changing requests (X-CSRF-Token, Origin, Sec-Fetch-Site), POST
# /api/logout (session deleted, cookie cleared), POST /api/reauth (the
# password again; reauth_valid_for), the idle and the absolute timeout,
# a Redis outage, and nothing personal in the logs.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use Time::HiRes ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $MAIN = $ACCOUNT_MAIN;

my $HTTP = "$ACCOUNT_HTTP    csibiz_captcha off;\n";

my $CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
    location = /api/logout    { csibiz logout; }
    location = /api/reauth    { csibiz reauth; }
    location = /api/session   { csibiz session; }
EOF

ensure_backends();

my $AGREE = psql_value('SELECT version FROM agreement WHERE published_at'
                       . ' <= now() ORDER BY published_at DESC LIMIT 1');

# ------------------------------------------------------------ helpers

my (@secrets, @codes);

my $ip = 0;

# a new session: {sid, csrf}; each login from its own address, so that
# no captcha is ever asked for
sub login {
    my ($p) = @_;
    return login_session($p, ip => '10.1.0.' . ++$ip);
}

# req(METHOD => path, $session | undef, csrf => token | undef,
#     body => {...}, headers => {...})
sub req {
    my ($method, $path, $s, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{Cookie} //= "csibiz=$s->{sid}" if $s;
    my $csrf = exists $o{csrf} ? $o{csrf} : $s && $s->{csrf};
    $h{'X-CSRF-Token'} = $csrf if defined $csrf;
    if ($o{body}) {
        return json_post($path, $o{body}, headers => \%h);
    }
    return http_req($method => $path, headers => \%h);
}

sub state_of {
    my ($s, %o) = @_;
    return req(GET => '/api/session', $s, %o)->{json};
}

sub session_key {
    my $keys = redis_keys('csibiz:sess:*');
    is(scalar @$keys, 1, 'one session in Redis') or diag(explain $keys);
    return $keys->[0];
}

sub logs_clean {
    my ($name) = @_;
    logs_have_none($name, 'ID number, phone, password or code',
                   @secrets, @codes);
}

# ---------------------------------------------------------- accounts

my %P;
for my $k (qw(A B)) {
    my $n = $k eq 'A' ? 1 : 2;
    my $p = { id => id_number(sprintf '51010720130909%03d', $n),
              card => sprintf('SES%09d', $n),
              phone => sprintf('1590000%04d', $n),
              pw => "session test password for $k" };
    roster_add(id_number => $p->{id}, si_card => $p->{card},
               phone => $p->{phone});
    $P{$k} = $p;
    push @secrets, @$p{qw(id phone pw)};
}

start_nginx(main_config => $MAIN, http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();
push @codes, register_account($_, $AGREE) for @P{qw(A B)};

# -------------------------------------------------------- logged out

my $OUT = '{"logged_in":false}';
my $r = http_req(GET => '/api/session');
is($r->{status}, 200, 'GET /api/session without a cookie: 200');
is($r->{body}, $OUT, 'logged_in: false');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');
for my $c ('csibiz=', 'csibiz=garbage', 'csibiz=' . ('!' x 43),
           'csibiz=' . ('A' x 42), 'csibiz=' . ('A' x 44),
           'csibiz=' . ('A' x 43), 'other=' . ('A' x 43)) {
    $r = http_req(GET => '/api/session', headers => { Cookie => $c });
    is("$r->{status} $r->{body}", "200 $OUT", "Cookie: $c: logged out");
}
code_is(http_req(POST => '/api/session'), 401, 'not_logged_in',
        'POST /api/session without a session');
code_is(http_req(POST => '/api/session',
                 headers => { Cookie => 'csibiz=' . ('A' x 43),
                              'X-CSRF-Token' => 'A' x 43 }),
        401, 'not_logged_in', 'POST /api/session with an unknown session');
code_is(http_req(POST => '/api/logout'), 401, 'not_logged_in',
        'POST /api/logout without a session');
$r = http_req(POST => '/api/logout', headers => { 'Accept-Language' => 'en' });
is($r->{json}{error}{message}, 'Please log in first.',
   'not_logged_in in English');
code_is(json_post('/api/reauth', { password => $P{A}{pw} }), 401,
        'not_logged_in', 'POST /api/reauth without a session');

# --------------------------------------------------------- logged in

my $sa = login($P{A});
my $key = session_key();
$r = req(GET => '/api/session', $sa);
is($r->{status}, 200, 'GET /api/session logged in: 200');
is_deeply([sort keys %{ $r->{json} }],
          [qw(csrf_token expires_in idle_timeout logged_in reauth_valid_for)],
          'logged_in, expires_in, idle_timeout, csrf_token, reauth_valid_for');
ok($r->{json}{logged_in}, 'logged_in: true');
is($r->{json}{csrf_token}, $sa->{csrf}, 'the login\'s CSRF token');
ok($r->{json}{expires_in} > 890 && $r->{json}{expires_in} <= 900,
   "expires_in ~ 900 ($r->{json}{expires_in})");
is($r->{json}{idle_timeout}, 900, 'idle_timeout: 900');
ok($r->{json}{reauth_valid_for} > 1190 && $r->{json}{reauth_valid_for} <= 1200,
   'the login counts as entering the password: reauth_valid_for ~ 1200');
my $s = req(GET => '/api/session', $sa,
            headers => { Cookie => "a=b; csibiz=$sa->{sid}; c=d" })->{json};
ok($s->{logged_in}, 'the cookie among others');

# GET reports, does not extend
redis_cmd('EXPIRE', $key, 100);
$s = state_of($sa);
ok($s->{expires_in} > 95 && $s->{expires_in} <= 100,
   "GET: expires_in from Redis ($s->{expires_in})");
$s = state_of($sa);
ok(redis_cmd('TTL', $key) <= 100, 'GET does not extend the session');

# POST extends, with the CSRF token only
code_is(req(POST => '/api/session', $sa, csrf => undef), 403, 'csrf',
        'POST /api/session without X-CSRF-Token');
{
    ok(redis_cmd('TTL', $key) <= 100, '... does not extend');
}
$r = req(POST => '/api/session', $sa);
is($r->{status}, 200, 'POST /api/session with the token: 200')
    or diag($r->{body});
ok($r->{json}{logged_in}, 'logged in');
is($r->{json}{expires_in}, 900, 'expires_in: 900 again');
my $ttl = redis_cmd('TTL', $key);
ok($ttl > 890 && $ttl <= 900, "the Redis key extended ($ttl s)");

# ---------------------------------------------------------------- CSRF

my $sb = login($P{B});
my $wrong = $sa->{csrf};
substr($wrong, 0, 1) = substr($wrong, 0, 1) eq 'A' ? 'B' : 'A';

my @refused = (
    [ 'no X-CSRF-Token',         csrf => undef ],
    [ 'an empty X-CSRF-Token',   csrf => '' ],
    [ 'a wrong token',           csrf => $wrong ],
    [ 'a shorter token',         csrf => substr($sa->{csrf}, 0, 42) ],
    [ 'the token of another session', csrf => $sb->{csrf} ],
    [ 'the session id as token', csrf => $sa->{sid} ],
    [ 'a foreign Origin',
      headers => { Origin => 'http://evil.example' } ],
    [ 'an Origin that only starts with the host',
      headers => { Origin => 'http://localhost.evil.example' } ],
    [ 'Origin: null',            headers => { Origin => 'null' } ],
    [ 'Sec-Fetch-Site: cross-site',
      headers => { 'Sec-Fetch-Site' => 'cross-site' } ],
    [ 'same-origin, but a foreign Origin',
      headers => { 'Sec-Fetch-Site' => 'same-origin',
                   Origin => 'https://evil.example' } ],
);
for my $case (@refused) {
    my ($name, %o) = @$case;
    code_is(req(POST => '/api/session', $sa, %o), 403, 'csrf',
            "POST /api/session, $name");
    code_is(req(POST => '/api/logout', $sa, %o), 403, 'csrf',
            "POST /api/logout, $name");
}
code_is(req(POST => '/api/reauth', $sa, csrf => undef,
            body => { password => $P{A}{pw} }),
        403, 'csrf', 'POST /api/reauth without X-CSRF-Token');
$r = req(POST => '/api/logout', $sa, csrf => undef,
         headers => { 'Accept-Language' => 'en' });
like($r->{json}{error}{message}, qr/could not be verified/, 'csrf in English');
is(scalar(set_cookies($r)), 0, 'a refused logout leaves the cookie alone');
ok(state_of($sa)->{logged_in}, 'the refusals did not end the session');

my @allowed = (
    [ 'Origin: http://localhost', Origin => 'http://localhost' ],
    [ 'Origin in capitals',       Origin => 'HTTP://LOCALHOST' ],
    [ 'Sec-Fetch-Site: same-origin', 'Sec-Fetch-Site' => 'same-origin' ],
    [ 'Sec-Fetch-Site: same-site',   'Sec-Fetch-Site' => 'same-site' ],
    [ 'Sec-Fetch-Site: none',        'Sec-Fetch-Site' => 'none' ],
    [ 'both same-origin', 'Sec-Fetch-Site' => 'same-origin',
      Origin => 'http://localhost' ],
);
for my $case (@allowed) {
    my ($name, %h) = @$case;
    $r = req(POST => '/api/session', $sa, headers => \%h);
    is($r->{status}, 200, "the right token and $name: 200")
        or diag($r->{body});
}
$r = req(POST => '/api/session', $sa,
         headers => { Host => 'portal.example:8443',
                      Origin => 'https://portal.example:8443' });
is($r->{status}, 200, 'Origin with a port, as in Host: 200');
$s = state_of($sa, headers => { Origin => 'http://evil.example',
                                'Sec-Fetch-Site' => 'cross-site' });
ok($s->{logged_in}, 'GET is not checked: a cross-site page may poll it');

# ---------------------------------------------------------------- reauth

code_is(req(POST => '/api/reauth', $sa, body => { password => 'wrong one' }),
        401, 'bad_credentials', 'reauth with a wrong password');
code_is(req(POST => '/api/reauth', $sa, body => {}), 401, 'bad_credentials',
        'reauth without a password');
code_is(req(POST => '/api/reauth', $sa, body => { password => $P{B}{pw} }),
        401, 'bad_credentials', 'reauth with the password of another account');
ok(state_of($sa)->{logged_in}, 'a wrong password does not end the session');

my $now = time;
redis_cmd('HSET', $key, 'auth_at', $now - 1100);
$s = state_of($sa);
ok($s->{reauth_valid_for} >= 95 && $s->{reauth_valid_for} <= 100,
   "password entered 1100 s ago: reauth_valid_for ~ 100 "
   . "($s->{reauth_valid_for})");
redis_cmd('HSET', $key, 'auth_at', $now - 1300);
is(state_of($sa)->{reauth_valid_for}, 0, '1300 s ago: 0');

redis_cmd('EXPIRE', $key, 100);
$r = req(POST => '/api/reauth', $sa, body => { password => $P{A}{pw} });
is($r->{status}, 200, 'reauth with the right password: 200')
    or diag($r->{body});
is_deeply($r->{json}, { reauth => JSON::PP::true(), valid_for => 1200 },
          '{"reauth":true,"valid_for":1200}');
cmp_ok($r->{elapsed}, '>', 0.005, 'the password is hashed');
$s = state_of($sa);
ok($s->{reauth_valid_for} > 1190 && $s->{reauth_valid_for} <= 1200,
   "reauth_valid_for ~ 1200 ($s->{reauth_valid_for})");
ok(abs(redis_cmd('HGET', $key, 'auth_at') - time) <= 2, 'auth_at: now');
ok(redis_cmd('TTL', $key) > 890, 'reauth extends the session');
is(state_of($sa)->{csrf_token}, $sa->{csrf}, 'and keeps its CSRF token');

{
    req(POST => '/api/reauth', $sa, body => { password => "guess $_" })
        for 1 .. 5;
    $r = req(POST => '/api/reauth', $sa, body => { password => 'guess 6' });
    is($r->{status}, 429, 'a 6th wrong reauth password in a row is refused');
}

# ---------------------------------------------------------------- logout

$r = req(POST => '/api/logout', $sa);
is($r->{status}, 200, 'logout: 200') or diag($r->{body});
is($r->{body}, '{"logged_out":true}', '{"logged_out":true}');
is_deeply([set_cookies($r)],
          ['csibiz=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0'],
          'the cookie is cleared: csibiz=; ...; Max-Age=0');
ok(!redis_cmd('EXISTS', $key), 'the session is deleted from Redis');
is(req(GET => '/api/session', $sa)->{body}, $OUT,
   'the old cookie: logged out');
code_is(req(POST => '/api/session', $sa), 401, 'not_logged_in',
        'POST /api/session with the old cookie');
code_is(req(POST => '/api/logout', $sa), 401, 'not_logged_in',
        'logout again');
code_is(req(POST => '/api/reauth', $sa, body => { password => $P{A}{pw} }),
        401, 'not_logged_in', 'reauth with the old cookie');
ok(state_of($sb)->{logged_in}, 'the other account\'s session lives on');

# two sessions of one account: logging out of one keeps the other
my $s1 = login($P{A});
my $s2 = login($P{A});
is(req(POST => '/api/logout', $s1)->{status}, 200, 'logout of session 1');
ok(!state_of($s1)->{logged_in}, 'session 1 ended');
ok(state_of($s2)->{logged_in}, 'session 2 of the same account lives on');

unlike(error_log_since($mark), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');

# ------------------------------------------------------------- outage

backend_stop('redis');
code_is(req(GET => '/api/session', $s2), 503, 'backend_unavailable',
        'GET /api/session with a cookie, Redis down');
$r = http_req(GET => '/api/session');
is("$r->{status} $r->{body}", "200 $OUT",
   'without a cookie, Redis is not needed');
code_is(req(POST => '/api/logout', $s2), 503, 'backend_unavailable',
        'logout, Redis down');
backend_start('redis');
logs_clean('first nginx');

# --------------------------------------------------------- idle timeout

start_nginx(main_config => $MAIN, config => $CONFIG,
            http_config => "$HTTP    csibiz_session_idle_timeout 2s;\n");
my $t0 = Time::HiRes::time();
$sa = login($P{A});
$s = state_of($sa);
ok($s->{logged_in}, 'csibiz_session_idle_timeout 2s: logged in');
is($s->{idle_timeout}, 2, 'idle_timeout: 2');
ok($s->{expires_in} >= 1 && $s->{expires_in} <= 2,
   "expires_in ($s->{expires_in})");
$ttl = redis_cmd('PTTL', session_key());
ok($ttl > 0 && $ttl <= 2000, "the Redis key lives 2 s ($ttl ms)");

Time::HiRes::sleep(1);
$r = req(POST => '/api/session', $sa);
is($r->{status}, 200, 'after 1 s: POST /api/session extends');
my $t_ext = Time::HiRes::time();
Time::HiRes::sleep(1.4);
ok(state_of($sa)->{logged_in},
   'logged in 2.4 s after login, 1.4 s after the extension');
Time::HiRes::sleep(2.6 - (Time::HiRes::time() - $t_ext) + 0.4);
$s = state_of($sa);
ok(!$s->{logged_in}, 'logged out 3 s after the last extension (GET does '
                     . 'not extend)') or diag(explain $s);
code_is(req(POST => '/api/session', $sa), 401, 'not_logged_in',
        'POST /api/session after the idle timeout');
is_deeply(redis_keys('csibiz:sess:*'), [], 'the session is gone from Redis');
logs_clean('idle-timeout nginx');

# ----------------------------------------------------- absolute timeout

start_nginx(main_config => $MAIN, config => $CONFIG,
            http_config => "$HTTP    csibiz_session_timeout 3s;\n");

# log in just after a second starts: the session's creation time is kept
# in whole seconds
my $frac = Time::HiRes::time() - int(Time::HiRes::time());
Time::HiRes::sleep(1.05 - $frac);
$t0 = Time::HiRes::time();
$sa = login($P{A});
$s = state_of($sa);
ok($s->{logged_in}, 'csibiz_session_timeout 3s: logged in');
ok($s->{expires_in} >= 2 && $s->{expires_in} <= 3,
   "expires_in: the absolute limit is nearer ($s->{expires_in})");
is($s->{idle_timeout}, 900, 'idle_timeout still 900');

Time::HiRes::sleep(1.2 - (Time::HiRes::time() - $t0));
$r = req(POST => '/api/session', $sa);
is($r->{status}, 200, 'active after 1.2 s: 200');
ok($r->{json}{expires_in} >= 1 && $r->{json}{expires_in} <= 2,
   "expires_in counts down to the limit ($r->{json}{expires_in})");
Time::HiRes::sleep(2.2 - (Time::HiRes::time() - $t0));
is(req(POST => '/api/session', $sa)->{status}, 200, 'active after 2.2 s: 200');
Time::HiRes::sleep(3.5 - (Time::HiRes::time() - $t0));
$s = state_of($sa);
ok(!$s->{logged_in}, 'logged out 3.5 s after login however active')
    or diag(explain $s);
code_is(req(POST => '/api/session', $sa), 401, 'not_logged_in',
        'POST /api/session after the absolute timeout');
code_is(req(POST => '/api/reauth', $sa, body => { password => $P{A}{pw} }),
        401, 'not_logged_in', 'reauth after the absolute timeout');
ok(state_of(login($P{A}))->{logged_in}, 'a new login works');
logs_clean('absolute-timeout nginx');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
