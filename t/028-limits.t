# csibiz_limit_client and csibiz_limit_identity: the request rates of the
# flows that hash a password, counted in Redis.  A flood from one client
# gets 429 rate_limited (with Retry-After) before anything is checked or
# hashed, while other clients go on, in register, reset and login; an
# IPv6 client is its /64; an identity is counted only once its SMS code is
# proven.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n"
                           . "    csibiz_limit_client rate=1r/m burst=5;\n"
                           . "    csibiz_limit_identity rate=1r/m burst=2;\n",
            config => $PROOF_CONFIG);

my $p = { id => id_number('11010520140808001'), card => 'LIM000000001',
          phone => '13600000001', pw => 'a careful parent passphrase' };
roster_add(id_number => $p->{id}, si_card => $p->{card},
           phone => $p->{phone});

sub from {
    my ($ip) = @_;
    return (headers => { 'X-Real-IP' => $ip });
}

# ------------------------------------------------------ a client's rate

my $h0 = argon2_jobs();
my @flood = map { register_request($p, from('10.9.0.1')) } 1 .. 8;

is_deeply([map { $_->{status} } @flood], [(400) x 5, (429) x 3],
          'a flood from one address: 5 checked, then 429')
    or diag(explain([map { $_->{body} } @flood]));
code_is($flood[-1], 429, 'rate_limited', 'over the rate');
ok($flood[-1]{json}{error}{retry_after} >= 1, 'retry_after in the answer');
ok($flood[-1]{headers}{'retry-after'} >= 1, 'and Retry-After');
is(argon2_jobs(), $h0, 'nothing hashed');

code_is(register_request($p, from('10.9.0.2')), 400, 'sms_code_invalid',
        'another address is checked as before');
code_is(reset_request($p, ip => '10.9.0.1',
                      password => 'a brand new passphrase'),
        400, 'sms_code_invalid',
        'each flow has its own window: reset from the flooding address');

# ----------------------------------------------------- IPv6 by its /64

for my $n (1 .. 5) {
    register_request($p, from("2001:db8:1:2::$n"));
}
code_is(register_request($p, from('2001:db8:1:2:ffff:ffff:ffff:ffff')),
        429, 'rate_limited', 'another address of the same /64: limited');
code_is(register_request($p, from('2001:db8:1:3::1')), 400,
        'sms_code_invalid', 'the next /64: its own window');

# -------------------------------------------------- an identity's rate

my $code = sms_send($p, ip => '10.9.1.1');
my @proven = map { register_request($p, sms_code => $code,
                                    agree_version => 'not the one',
                                    from("10.9.2.$_")) } 1 .. 3;
is_deeply([map { $_->{status} } @proven], [400, 400, 429],
          'the identity, proven twice: then 429 from any address')
    or diag(explain([map { $_->{body} } @proven]));
code_is($proven[0], 400, 'agreement_version', 'a proven code is counted');
code_is($proven[2], 429, 'rate_limited', 'the third: rate_limited');

my @stranger = map { register_request($p, from("10.9.3.$_")) } 1 .. 3;
is_deeply([map { $_->{status} } @stranger], [400, 400, 400],
          'wrong codes are not counted against the identity');

# ------------------------------------------------------------- login

my $n = 0;
my @logins = map {
    login_request(id_number(sprintf '11010520140808%03d', 100 + $n++),
                  'not the password', ip => '10.9.4.1')
} 1 .. 7;
is_deeply([map { $_->{status} } @logins], [(401) x 5, (429) x 2],
          'logins from one address: 5 checked, then 429')
    or diag(explain([map { $_->{body} } @logins]));
code_is($logins[-1], 429, 'rate_limited', 'login over the rate');
code_is(login_request($p->{id}, 'not the password', ip => '10.9.4.2'),
        401, 'bad_credentials', 'another address logs in as before');

ok(stop_nginx(), 'nginx stops gracefully');

# ------------------------------------------------------ the directives

for my $v ('rate=0r/m', 'burst=5', 'rate=10r/h', 'rate=10r/s burst=0',
           'rate=10r/s x=1') {
    ok(!eval { start_nginx(main_config => $ACCOUNT_MAIN,
                           http_config => "$ACCOUNT_HTTP"
                                          . "    csibiz_limit_client $v;\n",
                           config => "location = /l { csibiz login; }");
               1 },
       "csibiz_limit_client $v: nginx refuses to start");
}
ok(eval { start_nginx(main_config => $ACCOUNT_MAIN,
                      http_config => "$ACCOUNT_HTTP"
                                     . "    csibiz_limit_client off;\n",
                      config => "location = /l { csibiz login; }"); 1 },
   'csibiz_limit_client off: starts');
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
