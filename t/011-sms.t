# POST /api/sms/send and the SMS code check (through POST /api/register,
# whose code check it is): validation, the roster match, the limits (per
# phone 1/60 s, 5/h, 10/day; per client 25/5 min) and how they free up,
# the outbox stream, codes stored as HMACs, single use, the latest only,
# expiry, 5 wrong tries, and nothing personal in the logs.
#
# The captcha is off here (t/010-captcha.t tests it); the hourly and daily
# windows are tested by writing past send times into Redis.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use Time::HiRes ();

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

my $CONFIG = <<'EOF';
    location = /api/sms/send { csibiz sms_send; }
    location = /api/register { csibiz register; }
EOF

my $HTTP = "$SECRET_CONF\n    csibiz_captcha off;";

# ------------------------------------------------------------- roster

ensure_backends();

# person $i: ID 11010520100315NNN + check, card SMS000000NNN, phone
# 1370000NNNN; 40 and up have no declared phone.
my (%P, @secrets);
for my $i (1 .. 45) {
    my $p = {
        id    => id_number(sprintf '11010520100315%03d', $i),
        card  => sprintf('SMS%09d', $i),
        phone => sprintf('1370000%04d', $i),
    };
    roster_add(id_number => $p->{id}, si_card => $p->{card},
               phone => $i < 40 ? $p->{phone} : undef);
    $P{$i} = $p;
    push @secrets, $p->{id}, $p->{phone};
}

my ($AGREE) = psql('SELECT version FROM agreement WHERE published_at'
                   . ' <= now() ORDER BY published_at DESC LIMIT 1');
$AGREE = $AGREE->[0];

sub send_sms {
    my ($p, %o) = @_;
    my %f = (purpose => 'register', id_number => $p->{id},
             si_card_no => $p->{card}, phone => $p->{phone}, %o);
    delete $f{$_} for grep { !defined $f{$_} } keys %f;
    return json_post('/api/sms/send', \%f);
}

sub register {
    my ($p, $code) = @_;
    return register_request($p, sms_code => $code, agree_version => $AGREE,
                            password => 'a long enough passphrase 42');
}

sub sent_ok {
    my ($r, $name) = @_;
    is($r->{status}, 200, "$name: 200") or diag($r->{body});
    is_deeply({ %{ $r->{json} || {} }, sms_ticket => 'T' },
              { sent => JSON::PP::true, resend_after => 60,
                sms_ticket => 'T' },
              "$name: sent, resend_after 60");
    like($r->{json}{sms_ticket}, qr/^[A-Za-z0-9_-]{43}$/,
         "$name: a ticket of 256 bits, base64url");
}

sub redis_now_ms {
    my $t = redis_cmd('TIME');
    return $t->[0] * 1000 + int($t->[1] / 1000);
}

# the one key matching a pattern
sub key_of {
    my ($pattern) = @_;
    my $keys = redis_keys($pattern);
    is(scalar @$keys, 1, "one key $pattern") or diag(explain $keys);
    return $keys->[0];
}

# Replaces a phone's send times by times that many seconds ago.
sub seed_sends {
    my ($key, @ago) = @_;
    my $now = redis_now_ms();
    redis_cmd('DEL', $key);
    my $i = 0;
    for my $s (@ago) {
        redis_cmd('ZADD', $key, $now - $s * 1000, "seed" . $i++);
    }
    redis_cmd('PEXPIRE', $key, 86400000);
}

sub retry_after_is {
    my ($r, $lo, $hi, $name) = @_;
    code_is($r, 429, 'rate_limited', $name);
    my $ra = $r->{json} && $r->{json}{error} && $r->{json}{error}{retry_after};
    ok(defined $ra && $ra >= $lo && $ra <= $hi,
       "$name: retry_after $lo..$hi") or diag($r->{body});
    is($r->{headers}{'retry-after'}, $ra, "$name: Retry-After header");
    return $ra;
}

# Every code sent, and a check of the logs that nginx wrote (each
# start_nginx() makes a fresh servroot, so before each restart): at level
# info, no ID number, phone or code in error.log or access.log.
my @codes;

sub flush {
    push @codes, map { $_->{code} } @{ sms_outbox() };
    redis_cmd('FLUSHALL');
}

sub logs_clean {
    my ($name) = @_;
    push @codes, map { $_->{code} } @{ sms_outbox() };
    logs_have_none($name, 'ID number, phone or code',
                   @secrets, map { lc } @secrets, @codes);
}

start_nginx(http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();

# --------------------------------------------------------- validation

my $r = json_post('/api/sms/send', {});
code_is($r, 400, 'invalid', 'empty object');
is_deeply($r->{json}{error}{fields},
          { purpose => 'required', id_number => 'required',
            si_card_no => 'required', phone => 'required' },
          'every field required');

(my $bad_check = $P{1}{id}) =~ s/(.)$/$1 eq '0' ? '1' : '0'/e;
$r = send_sms($P{1}, purpose => 'login', id_number => $bad_check,
              si_card_no => 'SMS-1', phone => '12345678901');
code_is($r, 400, 'invalid', 'all wrong');
is_deeply($r->{json}{error}{fields},
          { purpose => 'unsupported', id_number => 'checksum',
            si_card_no => 'format', phone => 'format' },
          'a reason for each field');

$r = send_sms($P{1}, id_number => '110105100315001', phone => 13700000001);
is_deeply($r->{json}{error}{fields},
          { id_number => 'length', phone => 'format' },
          '15-digit ID; a phone that is a JSON number');

$r = send_sms($P{1}, phone => '+86 13700000001');
is_deeply($r->{json}{error}{fields}, { phone => 'format' },
          'no space after +86');

$r = http_req(POST => '/api/sms/send',
              headers => { 'Content-Type' => 'application/json' },
              body => '{"purpose":');
code_is($r, 400, 'bad_json', 'malformed JSON');
$r = http_req(POST => '/api/sms/send', body => 'purpose=register',
              headers => { 'Content-Type' =>
                           'application/x-www-form-urlencoded' });
code_is($r, 415, 'unsupported_media_type', 'form body');
code_is(http_req(GET => '/api/sms/send'), 405, 'method_not_allowed', 'GET');

# ----------------------------------------------------- roster matching

my $unknown = { id => id_number('11010520100315999'), card => 'SMS000000999',
                phone => '13700000999' };
my $r1 = send_sms($unknown);
code_is($r1, 400, 'identity_mismatch', 'unknown ID number');
my $r2 = send_sms($P{2}, si_card_no => 'SMS000000003');
code_is($r2, 400, 'identity_mismatch', 'another card');
is($r2->{body}, $r1->{body}, 'the same answer for an unknown ID and '
                             . 'a wrong card');
code_is(send_sms($P{2}, si_card_no => 'SMS000000003',
                 phone => '13700009999'),
        400, 'identity_mismatch', 'another card and another phone');
code_is(send_sms($P{2}, phone => '13700009999'), 403, 'phone_not_declared',
        'another phone');
code_is(send_sms($P{40}), 403, 'phone_not_declared', 'no declared phone');
$r = json_post('/api/sms/send',
               { purpose => 'register', id_number => $P{2}{id},
                 si_card_no => $P{2}{card}, phone => '13700009999' },
               headers => { 'Accept-Language' => 'en-US,en;q=0.9' });
like($r->{json}{error}{message}, qr/school/, 'phone_not_declared in English '
                                            . 'says to ask the school');
is_deeply(sms_outbox(), [], 'no message for any of these');
is_deeply(redis_keys('csibiz:sms:*'), [], '... and no limit used up');

# ------------------------------------------------------------ success

# a lower-case x, +86, a lower-case card, spaces around
my ($px) = grep { $P{$_}{id} =~ /X$/ } sort { $a <=> $b } keys %P;
ok($px && $px < 40, "person $px has an ID number ending in X");
my $t0 = time;
sent_ok(send_sms($P{$px}, id_number => ' ' . lc($P{$px}{id}) . ' ',
                 si_card_no => lc $P{$px}{card},
                 phone => "+86$P{$px}{phone}"),
        'normalized fields');
$r = send_sms($P{1}, phone => "0086$P{1}{phone}");
sent_ok($r, '0086 prefix');

my $out = sms_outbox();
is(scalar @$out, 2, 'two messages in csibiz:sms:outbox');
my $m = $out->[0];
is_deeply([sort keys %$m], [qw(code created_at id phone purpose)],
          'fields: phone, purpose, code, created_at');
is($m->{phone}, $P{$px}{phone}, 'phone: 11 digits');
is($m->{purpose}, 'register', 'purpose');
like($m->{code}, qr/^[0-9]{6}$/, 'code: 6 digits');
ok(abs($m->{created_at} - $t0) <= 5, 'created_at: unix time now');
isnt($out->[1]{code}, $m->{code}, 'another code for another phone');

my $codes = redis_keys('csibiz:sms:ticket:*');
is(scalar @$codes, 2, 'two codes in Redis');
like($codes->[0], qr/^csibiz:sms:ticket:[0-9a-f]{64}$/,
     'code key: an HMAC of the ticket');
my %h = @{ redis_cmd('HGETALL', $codes->[0]) };
like($h{mac}, qr/^[0-9a-f]{64}$/, 'the code is stored as an HMAC');
is($h{tries}, 0, 'no tries yet');
is($h{purpose}, 'register', 'its purpose');
like($h{identity}, qr/^[0-9a-f]{64}$/, 'its identity, as an HMAC');
my $ttl = redis_cmd('TTL', $codes->[0]);
ok($ttl > 290 && $ttl <= 300, "valid 300 s (TTL $ttl)");

my @all = @{ redis_keys('*') };
my $secret_re = join '|', map { quotemeta } @secrets,
                          map { $_->{code} } @$out;
is_deeply([grep { /$secret_re/ } @all], [],
          'no phone, ID or code in a key name');
is_deeply([grep { /$secret_re/ } map { redis_cmd('TYPE', $_) eq 'hash'
                                       ? @{ redis_cmd('HGETALL', $_) } : () }
                                 @all],
          [], 'no phone or code in the stored code');

# ------------------------------------------------------ the 60 s limit

flush();

sent_ok(send_sms($P{3}), 'first send');
my $ra1 = retry_after_is(send_sms($P{3}), 58, 60, 'again at once');
Time::HiRes::sleep(1.1);
my $ra2 = retry_after_is(send_sms($P{3}), 57, 59, 'again a second later');
cmp_ok($ra2, '<', $ra1, 'a refused request does not extend the window');
retry_after_is(send_sms($P{3}, purpose => 'reset'), 57, 59,
               'another purpose, same phone');
my $pkey = key_of('csibiz:sms:phone:*');
is(redis_cmd('ZCARD', $pkey), 1, 'refusals are not recorded');
is(scalar @{ sms_outbox() }, 1, 'one message only');
sent_ok(send_sms($P{4}), 'another phone from the same client');

# the minute passes: the entry is made 59.5 s old
seed_sends($pkey, 59.5);
retry_after_is(send_sms($P{3}), 1, 1, 'half a second before the minute');
Time::HiRes::sleep(0.7);
sent_ok(send_sms($P{3}), 'the minute passed');

# ---------------------------------------------------- 5 an hour, 10 a day

flush();
sent_ok(send_sms($P{5}), 'creates the send times');
$pkey = key_of('csibiz:sms:phone:*');

seed_sends($pkey, 3000, 2400, 1800, 1200, 600);
retry_after_is(send_sms($P{5}), 599, 601, '5 in the last hour');
seed_sends($pkey, 2400, 1800, 1200, 600);
sent_ok(send_sms($P{5}), '4 in the last hour');
is(redis_cmd('ZCARD', $pkey), 5, 'now 5');
seed_sends($pkey, 3599.5, 2400, 1800, 1200, 600);
retry_after_is(send_sms($P{5}), 1, 1, 'the oldest of 5 is nearly an hour old');
Time::HiRes::sleep(0.7);
sent_ok(send_sms($P{5}), 'the hour passed');

seed_sends($pkey, map { 86000 - 10 * $_ } 0 .. 9);
retry_after_is(send_sms($P{5}), 399, 401, '10 in the last day');
seed_sends($pkey, (map { 86000 - 10 * $_ } 0 .. 9), 3000, 2000, 1000, 500,
           300);
retry_after_is(send_sms($P{5}), 599, 601,
               'day and hour: the later of the two');
seed_sends($pkey, map { 86000 - 10 * $_ } 0 .. 8);
sent_ok(send_sms($P{5}), '9 in the last day');
seed_sends($pkey, 86401, map { 86000 - 10 * $_ } 0 .. 8);
sent_ok(send_sms($P{5}), 'a send older than a day no longer counts');
my $pttl = redis_cmd('PTTL', $pkey);
ok($pttl > 86000000 && $pttl <= 86400000, 'send times kept for a day');

# -------------------------------------------------- 25 per client / 5 min

flush();
my $ok = 0;
for my $i (10 .. 34) {
    $r = send_sms($P{$i});
    $ok++ if $r->{status} == 200;
}
is($ok, 25, '25 sends from one client, to 25 phones');
my $ckey = key_of('csibiz:sms:client:*');
is(redis_cmd('ZCARD', $ckey), 25, '25 recorded for the client');
retry_after_is(send_sms($P{35}), 295, 300, 'the 26th');
is(redis_cmd('ZCARD', $ckey), 25, 'the refusal is not recorded');
$pttl = redis_cmd('PTTL', $ckey);
ok($pttl > 290000 && $pttl <= 300000, 'client sends kept for 5 minutes');
is(scalar @{ sms_outbox() }, 25, '25 messages');

# the oldest one is made 5 minutes old
my ($first) = @{ redis_cmd('ZRANGE', $ckey, 0, 0) };
redis_cmd('ZADD', $ckey, redis_now_ms() - 300000, $first);
sent_ok(send_sms($P{35}), 'after the oldest is 5 minutes old');

# ------------------------------------------------------- reset purpose

flush();
sent_ok(send_sms($P{6}, purpose => 'reset'), 'purpose reset');
is(sms_last($P{6}{phone})->{purpose}, 'reset', 'outbox: purpose reset');

# ------------------------------------------------------ the code check

flush();

sub code_for {
    my ($p, %o) = @_;
    my $r = send_sms($p, %o);
    is($r->{status}, 200, "code for $p->{phone} sent") or diag($r->{body});
    $p->{ticket} = $r->{json}{sms_ticket};
    my $m = sms_last($p->{phone});
    return $m && $m->{code};
}

sub wrong {
    my ($code) = @_;
    return sprintf '%06d', ($code + 1) % 1000000;
}

# right at once
my $code = code_for($P{11});
$r = register($P{11}, $code);
is($r->{status}, 201, 'register with the code: 201') or diag($r->{body});
is_deeply(redis_keys('csibiz:sms:ticket:*'), [], 'the code is used up');

# 4 wrong tries, then right
$code = code_for($P{12});
for my $n (1 .. 4) {
    code_is(register($P{12}, wrong($code)), 400, 'sms_code_invalid',
            "wrong code, try $n");
}
my $kc = key_of('csibiz:sms:ticket:*');
is(redis_cmd('HGET', $kc, 'tries'), 4, '4 tries counted');
code_is(register($P{12}, 'abcdef'), 400, 'sms_code_invalid',
        'not digits');
is(redis_cmd('HGET', $kc, 'tries'), 4, '... costs no try');
is(register($P{12}, $code)->{status}, 201, 'the 5th try right: 201');

# 5 wrong tries burn it
$code = code_for($P{13});
for my $n (1 .. 5) {
    code_is(register($P{13}, wrong($code)), 400, 'sms_code_invalid',
            "wrong code, try $n");
}
is_deeply(redis_keys('csibiz:sms:ticket:*'), [], 'the 5th wrong try burns it');
code_is(register($P{13}, $code), 400, 'sms_code_invalid',
        'the right code after 5 wrong tries');

# only the latest code works
flush();
my $old = code_for($P{14});
seed_sends(key_of('csibiz:sms:phone:*'), 61);
my $new = code_for($P{14});
SKIP: {
    skip 'the same code twice (1 in a million)', 1 if $old eq $new;
    code_is(register($P{14}, $old), 400, 'sms_code_invalid',
            'the older of two codes');
}
is(register($P{14}, $new)->{status}, 201, 'the latest code: 201');

# a code for another purpose
flush();
$code = code_for($P{15}, purpose => 'reset');
code_is(register($P{15}, $code), 400, 'sms_code_invalid',
        'a code sent for reset');

# no code at all
code_is(register($P{16}, '123456'), 400, 'sms_code_invalid', 'no code sent');

unlike(error_log_since($mark), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');
logs_clean('first nginx');

# -------------------------------------------------------------- expiry

start_nginx(http_config => "$HTTP\n    csibiz_sms_code_ttl 1s;",
            config => $CONFIG);
flush();
$code = code_for($P{17});
ok(redis_cmd('PTTL', key_of('csibiz:sms:ticket:*')) <= 1000,
   'csibiz_sms_code_ttl 1s: stored for 1 s');
Time::HiRes::sleep(1.5);
code_is(register($P{17}, $code), 400, 'sms_code_invalid', 'expired');
push @codes, $code;

# ------------------------------------------------------------- outages

flush();
backend_stop('postgres');
code_is(send_sms($P{18}), 503, 'backend_unavailable', 'PostgreSQL down');
backend_start('postgres');
# PostgreSQL back for the module too (its pool backs off for up to a
# second), so that the next 503 is Redis's
wait_until(sub { flush(); send_sms($P{18})->{status} == 200 }, timeout => 30);
flush();
backend_stop('redis');
code_is(send_sms($P{18}), 503, 'backend_unavailable', 'Redis down');
backend_start('redis');
# both pools may still be backing off after the failures: wait until a
# send goes through (each try on an empty Redis, so no limit is hit)
wait_until(sub { flush(); send_sms($P{18})->{status} == 200 }, timeout => 30);

# ------------------------------------------- the reference consumer

flush();
sent_ok(send_sms($P{19}), 'a message for the consumer');
my $msg = sms_last($P{19}{phone});
my $root = repo_root();
my $cout = qx{"$root/tools/sms-consumer" --env test --once 2>&1};
is($?, 0, 'tools/sms-consumer --once: exit 0') or diag($cout);
(my $masked = $P{19}{phone}) =~ s/^(...)....(....)$/$1****$2/;
like($cout, qr/\Q$msg->{id}\E to \Q$masked\E purpose=register/,
     'logs the message, phone masked');
my $phone19 = $P{19}{phone};
unlike($cout, qr/\Q$phone19\E|\Q$msg->{code}\E/,
       'never the phone or the code');
is(redis_cmd('XLEN', 'csibiz:sms:outbox'), 0, 'deleted from the stream');
my $groups = redis_cmd('XINFO', 'GROUPS', 'csibiz:sms:outbox');
my %g = @{ $groups->[0] };
is($g{name}, 'sms-gateway', 'consumer group sms-gateway');
is($g{pending}, 0, 'nothing pending');
push @codes, $msg->{code};

logs_clean('second nginx');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
