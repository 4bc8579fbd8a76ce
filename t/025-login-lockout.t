# The lockout attack on POST /api/login: a stranger who knows a child's ID
# number tries wrong passwords from many client addresses, 5 from each
# (each address then locked for 15 minutes), past 100 failures, solving
# the captchas as needed.  No dead end follows: the parent's right
# password with a right captcha logs in, from a new address or from one
# that did not attack; without a captcha the account answers
# captcha_required, however slowly the failures came (the account's count
# outlives the 15-minute windows), until a login succeeds.
#
# Client addresses are made up with the realip module (X-Real-IP from
# 127.0.0.1); captcha answers are read from Redis (captcha_new()).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

my $CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/captcha   { csibiz captcha; }
    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
EOF

ensure_backends();

my $AGREE = current_agreement();

my $P = { id => id_number('35010220150909001'), card => 'LCK000000001',
          phone => '13500009001',
          pw => 'the parent knows this one: a quiet blue lake' };
$P->{pid} = roster_add(id_number => $P->{id}, si_card => $P->{card},
                       phone => $P->{phone}, name => '王芳');

start_nginx(main_config => $ACCOUNT_MAIN, config => $CONFIG,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n");
my @codes = register_account($P, $AGREE);
ok($P->{uid}, 'the parent has an account');

# the captchas of the attack all come from 127.0.0.1 (captcha_new() sends
# no X-Real-IP): their issuance limit is t/010's
start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_limit_captcha off;\n",
            config => $CONFIG);
my $mark = error_log_mark();

sub failures {
    return psql_value("SELECT failed_logins FROM portal_user"
                      . " WHERE id = $P->{uid}");
}

# ------------------------------------------------------------ the attack

# 21 addresses x 5 wrong passwords: 105 failures, a captcha solved for
# every try the server asks one for
my (%answers, $captchas);
for my $a (1 .. 21) {
    for my $n (1 .. 5) {
        my $ip = "10.13.$a.1";
        my $r = login_request($P, "guess $n from $ip", ip => $ip);
        if (($r->{json}{error}{code} // '') eq 'captcha_required') {
            $captchas++;
            $r = login_request($P, "guess $n from $ip", ip => $ip,
                               captcha => 1);
        }
        $answers{"$r->{status} " . ($r->{json}{error}{code} // '')}++;
    }
}
is_deeply(\%answers, { '401 bad_credentials' => 84, '429 locked' => 21 },
          '105 wrong passwords: 84 refused, the 5th of each address locks');
ok($captchas >= 100, "the account asked for a captcha ($captchas times)");
is(failures(), 105, 'failed_logins 105');

# --------------------------------------------------------- the parent

my $r = login_request($P, $P->{pw}, ip => '10.13.100.1');
code_is($r, 400, 'captcha_required',
        'the right password without a captcha: captcha_required');
is(sid_of($r), undef, '... and no session');

my $key = (grep { /^csibiz:login:fail:[0-9a-f]{64}$/ }
           @{ redis_keys('csibiz:login:fail:*') })[0];
ok($key, "the account's count of failures in Redis");
my $ttl = $key ? redis_cmd('TTL', $key) : -2;
ok($ttl > 86000 && $ttl <= 86400,
   "kept for 24 hours after the last failure ($ttl s), not 15 minutes");

# pacing: the 15-minute windows of the addresses and pairs end (their
# keys go), the account's count does not
redis_cmd('DEL', $_) for grep { $_ ne ($key // '') }
                         @{ redis_keys('csibiz:login:*') };
code_is(login_request($P, $P->{pw}, ip => '10.13.1.1'), 400,
        'captcha_required', 'after the windows: still captcha_required');

my ($cid, $answer) = captcha_new();
(my $wrong = $answer) =~ tr/A-Z3-9/B-ZA4-93/;
code_is(login_request($P, $P->{pw}, ip => '10.13.100.1',
                      captcha => [$cid, $wrong]),
        400, 'captcha_invalid', 'the right password, a wrong captcha');

$r = login_request($P, $P->{pw}, ip => '10.13.100.1', captcha => 1);
is($r->{status}, 200, 'the right password and a right captcha: 200')
    or diag($r->{body});
ok(sid_of($r), '... and a session');
is(failures(), 0, 'failed_logins back to 0');
is_deeply([grep { /^csibiz:login:fail:[0-9a-f]{64}$/ }
           @{ redis_keys('csibiz:login:fail:*') }], [],
          "the account's count is forgotten");
is(login_request($P, $P->{pw}, ip => '10.13.100.2')->{status}, 200,
   'the next login needs no captcha');

# the attack again, then the short locks stay: an attacking address is
# still refused, the parent from elsewhere is not
redis_cmd('DEL', $_) for @{ redis_keys('csibiz:login:*') };
for my $n (1 .. 5) {
    login_request($P, "guess $n again", ip => '10.13.1.1',
                  captcha => $n > 3);
}
code_is(login_request($P, $P->{pw}, ip => '10.13.1.1', captcha => 1),
        429, 'locked', 'the attacking address stays locked for a while');
code_is(login_request($P, $P->{pw}, ip => '10.13.100.3'), 400,
        'captcha_required', 'another address: captcha_required');
is(login_request($P, $P->{pw}, ip => '10.13.100.3', captcha => 1)->{status},
   200, '... and with a captcha: 200');

unlike(error_log_since($mark), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');
logs_have_none('the log', 'ID number, phone, password or code',
               @$P{qw(id phone pw)}, @codes);

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
