# POST /api/login: the session cookie (new at every login, HttpOnly,
# SameSite=Lax, Path=/), the CSRF token, the same answer and the same
# hashing for an unknown ID number and a wrong password, the captcha after
# 3 failures of an account or of a client address, the lock after 5
# failures of an (account, address) pair with its doubling and its cap,
# no dead end after 100 consecutive failures, English messages,
# outages, and nothing personal in the logs.
#
# Client addresses are made up with the realip module (X-Real-IP from
# 127.0.0.1), so that each part of the test has its own counters.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use List::Util qw(max min);
use Time::HiRes ();

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $MAIN = $ACCOUNT_MAIN;

my $HTTP = $ACCOUNT_HTTP;

my $CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/captcha   { csibiz captcha; }
    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
    location = /api/session   { csibiz session; }
EOF

ensure_backends();

my $AGREE = psql_value('SELECT version FROM agreement WHERE published_at'
                       . ' <= now() ORDER BY published_at DESC LIMIT 1');

# ------------------------------------------------------------ helpers

my (@secrets, @codes);

# login($p | $id, $password, ip => '10.0.0.1', captcha => 1 | [id, answer],
#       sid => cookie value, lang => 'en', fields => {...})
sub login { return login_request(@_) }

sub session {
    my ($sid) = @_;
    return http_req(GET => '/api/session',
                    headers => { Cookie => "csibiz=$sid" })->{json};
}

# forgets every login failure, lock and lock history
sub clear_login_keys {
    redis_cmd('DEL', $_) for @{ redis_keys('csibiz:login:*') };
}

sub clear_login_state {
    clear_login_keys();
    psql('UPDATE portal_user SET failed_logins = 0');
}

sub logs_clean {
    my ($name) = @_;
    logs_have_none($name, 'ID number, phone, password or code',
                   @secrets, @codes);
}

# ---------------------------------------------------------- accounts

# A..F: ID 35010220150808NNN (B ends in X), card LOG000000NNN, phone
# 1350000NNNN
my %P;
my %seq = (A => 1, B => 3, C => 4, D => 5, E => 6, F => 7);
for my $k (sort keys %seq) {
    my $n = $seq{$k};
    my $p = { id => id_number(sprintf '35010220150808%03d', $n),
              card => sprintf('LOG%09d', $n),
              phone => sprintf('1350000%04d', $n),
              pw => "password of $k: a tall green tree" };
    $p->{pid} = roster_add(id_number => $p->{id}, si_card => $p->{card},
                           phone => $p->{phone}, name => '李华');
    $P{$k} = $p;
    push @secrets, @$p{qw(id phone pw)};
}
like($P{B}{id}, qr/X$/, 'account B has an ID number ending in X');

# in the roster, never registered
my $N = { id => id_number('35010220150808099'), card => 'LOG000000099',
          phone => '13500000099' };
roster_add(id_number => $N->{id}, si_card => $N->{card},
           phone => $N->{phone});
push @secrets, $N->{id}, $N->{phone};

start_nginx(main_config => $MAIN, config => $CONFIG,
            http_config => "$HTTP    csibiz_captcha off;\n");
push @codes, register_account($_, $AGREE) for @P{sort keys %P};
is(psql_value('SELECT count(*) FROM portal_user'), 6, 'six accounts');
logs_clean('registering nginx');

# the captcha is on from here
start_nginx(main_config => $MAIN, http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();

# ------------------------------------------------------------ success

my $A = $P{A};
my $t0 = time;
my $r = login($A, $A->{pw}, ip => '10.0.1.1');
is($r->{status}, 200, 'login: 200') or diag($r->{body});
like($r->{headers}{'content-type'}, qr{^application/json; charset=utf-8$},
     'JSON');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');

my @sc = set_cookies($r);
is(scalar @sc, 1, 'one Set-Cookie');
like($sc[0], qr/^csibiz=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
     'csibiz=<256 bits, base64url>; Path=/; HttpOnly; SameSite=Lax (no '
     . 'Secure with csibiz_session_secure off, no expiry)');
my $sid1 = sid_of($r);

(my $masked_id = $A->{id}) =~ s/^(...).{11}(....)$/$1***********$2/;
like($r->{json}{csrf_token}, qr/^[A-Za-z0-9_-]{43}$/,
     'csrf_token: 256 bits, base64url');
isnt($r->{json}{csrf_token}, $sid1, '... not the session id');
is($r->{json}{idle_timeout}, 900, 'idle_timeout: 900');
is_deeply($r->{json}{user}, { name => '李*', id_number => $masked_id,
                              phone => '135****0001' },
          'user: name, ID number and phone masked');
my $csrf1 = $r->{json}{csrf_token};

my $keys = redis_keys('csibiz:sess:*');
is(scalar @$keys, 1, 'one session in Redis');
like($keys->[0], qr/^csibiz:sess:[0-9a-f]{64}$/, 'its key: an HMAC in hex');
unlike($keys->[0], qr/\Q$sid1\E/, 'not the cookie value');
my %h = @{ redis_cmd('HGETALL', $keys->[0]) };
is($h{uid}, $A->{uid}, 'the session names the account');
is($h{csrf}, $csrf1, 'and holds the CSRF token');
ok($h{created} >= $t0 && $h{created} <= time, 'created: now');
is($h{auth_at}, $h{created}, 'the password was entered now');
my $ttl = redis_cmd('TTL', $keys->[0]);
ok($ttl > 890 && $ttl <= 900, "expires after the idle timeout ($ttl s)");

my ($u) = psql("SELECT failed_logins, extract(epoch FROM last_login_at)"
               . "::bigint FROM portal_user WHERE id = $A->{uid}");
is($u->[0], 0, 'failed_logins 0');
ok($u->[1] >= $t0 - 1 && $u->[1] <= time + 1, 'last_login_at: now');
is(psql_value("SELECT count(*) FROM audit_log WHERE action = 'account.login'"
              . " AND actor_user_id = $A->{uid} AND client_ip = '10.0.1.1'"),
   1, 'audited with the client address');

my $s = session($sid1);
ok($s->{logged_in}, 'the cookie works: logged in');
is($s->{csrf_token}, $csrf1, '... with the same CSRF token');

# a new session at every login; the one the client came with ends
$r = login($A, $A->{pw}, ip => '10.0.1.1', sid => $sid1);
is($r->{status}, 200, 'login again, with the old cookie: 200');
my $sid2 = sid_of($r);
ok($sid2 && $sid2 ne $sid1, 'a new session id');
isnt($r->{json}{csrf_token}, $csrf1, 'a new CSRF token');
ok(!session($sid1)->{logged_in}, 'the old session no longer works');
ok(session($sid2)->{logged_in}, 'the new one does');
is(scalar @{ redis_keys('csibiz:sess:*') }, 1, 'the old one is gone');

# a session id chosen by someone else is never adopted
my $fixed = 'A' x 43;
$r = login($A, $A->{pw}, ip => '10.0.1.1', sid => $fixed);
is($r->{status}, 200, 'login with a made-up cookie: 200');
my $sid3 = sid_of($r);
ok($sid3 && $sid3 ne $fixed, 'a fresh id, not the one offered');
ok(!session($fixed)->{logged_in}, 'the made-up id is not logged in');

# another device (no cookie) keeps its own session
ok(session($sid2)->{logged_in}, 'the session of another login lives on');

# the ID number is case-insensitive in its X
my $B = $P{B};
is(login(lc $B->{id}, $B->{pw}, ip => '10.0.1.2')->{status}, 200,
   'a lower-case x: 200');

{
    my $r = login(" $B->{id} ", $B->{pw}, ip => '10.0.1.3');
    is($r->{status}, 200, 'spaces around the ID number: 200');
}
clear_login_state();

# --------------------------------- one answer for any wrong credentials

my $unknown_id = id_number('35010220150808999');
my %cases = (
    'unknown ID number'         => [$unknown_id, 'any password at all 1'],
    'ID number without account' => [$N->{id}, 'any password at all 4'],
    'wrong password'            => [$B->{id}, 'a wrong password for B'],
    'malformed ID number'       => ['12345', 'any password at all 2'],
    'ID number missing'         => [undef, 'any password at all 3'],
    'password missing'          => [$B->{id}, undef],
    'password not a string'     => [$B->{id}, 123456789012],
    'password too long'         => [$B->{id}, 'x' x 513],
);
my ($ip, %body, %elapsed) = (0);
for my $name (sort keys %cases) {
    # malformed and missing ID numbers share one (made-up) account
    clear_login_keys();
    for my $try (1 .. 3) {
        # each try from its own address: no captcha, no lock
        $r = login($cases{$name}[0], $cases{$name}[1],
                   ip => '10.0.2.' . ++$ip);
        $body{$name} //= $r->{body};
        push @{ $elapsed{$name} }, $r->{elapsed};
    }
    code_is($r, 401, 'bad_credentials', $name);
}
my $same = $body{'wrong password'};
is($body{$_}, $same, "$_: the same body as a wrong password")
    for grep { $_ ne 'wrong password' } sort keys %body;

# the same hashing for an unknown ID number and a wrong password
my %median = map { $_ => (sort { $a <=> $b } @{ $elapsed{$_} })[1] }
             keys %elapsed;
cmp_ok($median{'unknown ID number'}, '>', 0.005,
       "an unknown ID number is hashed too ("
       . sprintf('%.0f ms', 1000 * $median{'unknown ID number'}) . ')');
cmp_ok($median{'wrong password'}, '>', 0.005,
       'a wrong password is hashed ('
       . sprintf('%.0f ms', 1000 * $median{'wrong password'}) . ')');
my $ratio = $median{'wrong password'} / $median{'unknown ID number'};
ok($ratio > 0.33 && $ratio < 3, sprintf 'roughly the same time (ratio %.2f)',
                                        $ratio);

$r = login($unknown_id, 'whatever it may be', ip => '10.0.2.200',
           lang => 'en');
is($r->{json}{error}{message}, 'The ID number or password is wrong.',
   'bad_credentials in English');
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $B->{uid}"),
   3, 'the wrong passwords counted on the account (not the refusals '
      . 'before hashing)');
clear_login_state();

# ------------------------------------------ captcha after 3 failures

# per client address: 3 failures on 3 unknown ID numbers
for my $n (1 .. 3) {
    code_is(login(id_number(sprintf '35010220150808%03d', 900 + $n),
                  'some password here', ip => '10.0.3.1'),
            401, 'bad_credentials', "address 10.0.3.1, failure $n");
}
$r = login($A, $A->{pw}, ip => '10.0.3.1');
code_is($r, 400, 'captcha_required',
        'then even the right password needs a captcha from that address');
is(sid_of($r), undef, '... and no session');
$r = login($A, $A->{pw}, ip => '10.0.3.1', lang => 'en');
like($r->{json}{error}{message}, qr/characters shown in the image/,
     'captcha_required in English');
code_is(login($A, $A->{pw}, ip => '10.0.3.1',
              fields => { captcha_id => 'x' x 22 }),
        400, 'captcha_required', 'a captcha id without an answer');
my ($cid, $answer) = captcha_new();
(my $other = $answer) =~ tr/A-Z3-9/B-ZA4-93/;
code_is(login($A, $A->{pw}, ip => '10.0.3.1', captcha => [$cid, $other]),
        400, 'captcha_invalid', 'a wrong captcha answer');
code_is(login($A, $A->{pw}, ip => '10.0.3.1', captcha => [$cid, $answer]),
        400, 'captcha_invalid', 'the right answer, once used up');
$r = login($A, $A->{pw}, ip => '10.0.3.1', captcha => [$cid, $answer],
           lang => 'en');
like($r->{json}{error}{message}, qr/image code is wrong or expired/,
     'captcha_invalid in English');
$r = login($A, $A->{pw}, ip => '10.0.3.1', captcha => 1);
is($r->{status}, 200, 'a solved captcha and the right password: 200')
    or diag($r->{body});
ok(sid_of($r), '... and a session');
$r = login($A, 'not the password of A', ip => '10.0.3.1', captcha => 1);
code_is($r, 401, 'bad_credentials', 'a solved captcha, a wrong password');
is(login($A, $A->{pw}, ip => '10.0.3.2')->{status}, 200,
   'another address needs no captcha');

# per account: 3 failures from 3 addresses
my $C = $P{C};
for my $n (1 .. 3) {
    code_is(login($C, 'not the password of C', ip => "10.0.4.$n"),
            401, 'bad_credentials', "account C from 10.0.4.$n");
}
code_is(login($C, $C->{pw}, ip => '10.0.4.4'), 400, 'captcha_required',
        'account C from a fourth address');
is(login($A, $A->{pw}, ip => '10.0.4.4')->{status}, 200,
   'another account from that address: no captcha');
is(login($C, $C->{pw}, ip => '10.0.4.4', captcha => 1)->{status}, 200,
   'account C with a captcha: 200');
clear_login_state();

# ----------------------------------------------------------- the lock

my $D = $P{D};
for my $n (1 .. 4) {
    code_is(login($D, "wrong password number $n", ip => '10.0.5.1',
                  captcha => $n > 3),
            401, 'bad_credentials', "account D from 10.0.5.1, failure $n");
}
$r = login($D, 'wrong password number 5', ip => '10.0.5.1', captcha => 1);
code_is($r, 429, 'locked', 'the 5th failure locks');
is($r->{json}{error}{retry_after}, 900, 'retry_after: 900');
is($r->{headers}{'retry-after'}, 900, 'Retry-After: 900');

$r = login($D, $D->{pw}, ip => '10.0.5.1', captcha => 1);
code_is($r, 429, 'locked', 'locked: the right password is refused too');
my $ra = $r->{json}{error}{retry_after} // -1;
ok($ra >= 890 && $ra <= 900, "retry_after counts down ($ra)");
is($r->{headers}{'retry-after'}, $ra, 'Retry-After header as well');
is(sid_of($r), undef, 'no session');
$r = login($D, $D->{pw}, ip => '10.0.5.1', lang => 'en');
code_is($r, 429, 'locked', 'locked, without a captcha');
like($r->{json}{error}{message}, qr/locked/, 'locked in English');
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $D->{uid}"),
   5, 'refused while locked: not counted as failures');

my ($lock) = @{ redis_keys('csibiz:login:lock:*') };
my ($level) = @{ redis_keys('csibiz:login:level:*') };
ok($lock && $level, 'a lock and a lock level in Redis');
$ttl = $lock ? redis_cmd('TTL', $lock) : -2;
ok($ttl > 890 && $ttl <= 900, "the lock expires in 15 minutes ($ttl s)");
is($level && redis_cmd('GET', $level), 1, 'lock level 1');
$ttl = $level ? redis_cmd('TTL', $level) : -2;
ok($ttl > 86000 && $ttl <= 86400, "the level is kept for 24 h ($ttl s)");
my $all = join ' ', @{ redis_keys('*') };
my @in_keys = grep { index($all, $_) >= 0 } @secrets;
is_deeply(\@in_keys, [], 'no ID number or phone in a Redis key name');

# the lock is per (account, address)
$r = login($D, $D->{pw}, ip => '10.0.5.2');
code_is($r, 400, 'captcha_required',
        'from another address: the account needs a captcha');
$r = login($D, $D->{pw}, ip => '10.0.5.2', captcha => 1);
is($r->{status}, 200, '... and then logs in') or diag($r->{body});
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $D->{uid}"),
   0, 'the success resets failed_logins');
code_is(login($D, $D->{pw}, ip => '10.0.5.1', captcha => 1), 429, 'locked',
        'the first address is still locked');

# doubling: the lock ends (its key is removed), 5 more failures
redis_cmd('DEL', $lock);
for my $n (1 .. 4) {
    code_is(login($D, "wrong again $n", ip => '10.0.5.1', captcha => 1),
            401, 'bad_credentials', "after the lock, failure $n");
}
$r = login($D, 'wrong again 5', ip => '10.0.5.1', captcha => 1);
code_is($r, 429, 'locked', 'the next 5th failure locks again');
is($r->{json}{error}{retry_after}, 1800, 'for 1800 s: doubled');
is($r->{headers}{'retry-after'}, 1800, 'Retry-After: 1800');
$ttl = redis_cmd('TTL', $lock);
ok($ttl > 1790 && $ttl <= 1800, "the lock key lives 30 minutes ($ttl s)");
is(redis_cmd('GET', $level), 2, 'lock level 2');

# the cap: level 9 would be 900 * 2^9 s
redis_cmd('DEL', $lock);
redis_cmd('SET', $level, 8, 'EX', 86400);
for my $n (1 .. 4) {
    login($D, "wrong yet again $n", ip => '10.0.5.1', captcha => 1);
}
$r = login($D, 'wrong yet again 5', ip => '10.0.5.1', captcha => 1);
code_is($r, 429, 'locked', 'a 9th lock');
is($r->{json}{error}{retry_after}, 86400, 'capped at 24 h');

# a success from the address forgets that pair's failures and history
redis_cmd('DEL', $lock);
login($D, 'one more wrong one', ip => '10.0.5.1', captcha => 1);
ok(scalar(grep { /^csibiz:login:fail:[0-9a-f]{64}:[0-9a-f]{32}$/ }
           @{ redis_keys('csibiz:login:fail:*') }),
   'a failure of the pair is counted');
is(login($D, $D->{pw}, ip => '10.0.5.1', captcha => 1)->{status}, 200,
   'the right password after the lock: 200');
is_deeply([grep { /:[0-9a-f]{64}:[0-9a-f]{32}$/ }
           @{ redis_keys('csibiz:login:*') }], [],
          'the pair\'s failures and lock level are forgotten');
clear_login_state();

# ---------------------------------- 100 failures: no dead end any more

# (the lockout attack itself, from many addresses: t/025-login-lockout.t)
my $E = $P{E};
psql("UPDATE portal_user SET failed_logins = 99 WHERE id = $E->{uid}");
code_is(login($E, 'wrong password number 100', ip => '10.0.6.1'),
        401, 'bad_credentials', 'the 100th consecutive failure');
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $E->{uid}"),
   100, 'failed_logins 100');
$r = login($E, $E->{pw}, ip => '10.0.6.2');
is($r->{status}, 200, 'then the right password: 200') or diag($r->{body});
ok(sid_of($r), '... and a session');
psql("UPDATE portal_user SET failed_logins = 1000 WHERE id = $E->{uid}");
is(login($E, $E->{pw}, ip => '10.0.6.4')->{status}, 200, 'more than 100');
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $E->{uid}"),
   0, 'and reset to 0 by the success');
clear_login_state();

unlike(error_log_since($mark), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');
logs_clean('captcha nginx');

# ----------------------------------------------- csibiz_captcha off

start_nginx(main_config => $MAIN, config => $CONFIG,
            http_config => "$HTTP    csibiz_captcha off;\n");
for my $n (1 .. 3) {
    login($P{F}, "wrong password $n", ip => '10.0.7.1');
}
is(login($P{F}, $P{F}{pw}, ip => '10.0.7.1',
         fields => { captcha_id => 'none', captcha_answer => 'none' })
       ->{status},
   200, 'csibiz_captcha off: any captcha answer passes');
clear_login_state();
{
    login($P{F}, "wrong password $_", ip => '10.0.7.2') for 1 .. 3;
    $r = login($P{F}, $P{F}{pw}, ip => '10.0.7.2');
    is($r->{status}, 200, 'csibiz_captcha off: no captcha fields needed');
}
clear_login_state();

# ------------------------------------------------------------ outages

backend_stop('redis');
code_is(login($A, $A->{pw}, ip => '10.0.8.1'), 503, 'backend_unavailable',
        'Redis down');
backend_start('redis');
# Redis back for the module too (its pool backs off for up to a second),
# so that the next 503 is PostgreSQL's
wait_until(sub { login($A, $A->{pw}, ip => '10.0.8.5')->{status} == 200 },
           timeout => 30);
backend_stop('postgres');
code_is(login($A, $A->{pw}, ip => '10.0.8.2'), 503, 'backend_unavailable',
        'PostgreSQL down');
backend_start('postgres');
wait_until(sub { login($A, $A->{pw}, ip => '10.0.8.3')->{status} == 200 },
           timeout => 30);
is(login($A, $A->{pw}, ip => '10.0.8.4')->{status}, 200, 'back: 200');
logs_clean('captcha-off nginx');

# ------------------------------------------ the production cookie

start_nginx(main_config => $MAIN, config => $CONFIG, http_config => <<"EOF");
    $SECRET_CONF
    csibiz_thread_pool csibiz;
EOF
$r = login($A, $A->{pw}, ip => '10.0.9.1');
is($r->{status}, 200, 'default cookie settings: 200');
like(join("\n", set_cookies($r)),
     qr/^__Host-csibiz=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
     'by default: __Host-csibiz=...; Path=/; HttpOnly; SameSite=Lax; Secure');
logs_clean('default-cookie nginx');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
