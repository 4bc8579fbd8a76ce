# Register and password reset check the SMS code and its ticket before
# anything else: a wrong code or a ticket that is not the code's costs no
# password hash (csibiz_argon2_jobs_total does not move), gets the same
# answer for a real identity, a registered one and a made-up one, and
# cannot burn the parent's code: the parent's own ticket still works
# afterwards.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n",
            config => $PROOF_CONFIG);

sub forget_limits {
    redis_cmd('DEL', $_) for @{ redis_keys('csibiz:sms:phone:*') },
                             @{ redis_keys('csibiz:sms:client:*') };
}

# a ticket of the right form that nobody was given
sub made_up_ticket {
    my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
    return join('', map { $c[int rand @c] } 1 .. 42) . 'A';
}

sub wrong {
    my ($code) = @_;
    return sprintf '%06d', ($code + 1) % 1000000;
}

my %P;
for my $i (1 .. 3) {
    my $p = { id => id_number(sprintf '11010520130707%03d', $i),
              card => sprintf('ORD%09d', $i),
              phone => sprintf('1350000%04d', $i),
              pw => "a patient parent's passphrase $i" };
    roster_add(id_number => $p->{id}, si_card => $p->{card},
               phone => $p->{phone});
    $P{$i} = $p;
}
my $made_up = { id => id_number('11010520130707999'), card => 'ORD000000999',
                phone => '13500000999', pw => 'a made-up passphrase here' };

# person 3 has an account
register_account($P{3});

# ------------------------------------------------------------- register

forget_limits();
my $code = sms_send($P{1}, ip => '10.2.0.1');
my $ticket = $P{1}{ticket};
my $h0 = argon2_jobs();

my @answers = (
    [ 'the parent\'s ticket, a wrong code',
      register_request($P{1}, sms_code => wrong($code)) ],
    [ 'a made-up ticket, the right code',
      register_request($P{1}, sms_code => $code,
                       sms_ticket => made_up_ticket()) ],
    [ 'another child in the roster, a made-up ticket',
      register_request($P{2}, sms_ticket => made_up_ticket()) ],
    [ 'a registered child, a made-up ticket',
      register_request($P{3}, sms_code => $code,
                       sms_ticket => made_up_ticket()) ],
    [ 'a made-up identity, a made-up ticket',
      register_request($made_up, sms_ticket => made_up_ticket()) ],
    [ 'a made-up identity, the parent\'s ticket, a wrong code',
      register_request($made_up, sms_ticket => $ticket,
                       sms_code => wrong($code)) ],
);
for my $a (@answers) {
    code_is($a->[1], 400, 'sms_code_invalid', "register: $a->[0]");
}
is_deeply([map { $_->[1]{body} } @answers],
          [map { $answers[0][1]{body} } @answers],
          'register: the same answer, byte for byte, whatever the identity');

# strangers with their own tickets try the parent's code: no effect on it
for my $n (1 .. 6) {
    register_request($P{1}, sms_code => $code,
                     sms_ticket => made_up_ticket());
}
is(argon2_jobs(), $h0, 'register: no password hashed for any of them');

# the right code for another identity: told so, still without hashing
code_is(register_request($P{2}, sms_code => $code, sms_ticket => $ticket,
                         phone => $P{1}{phone}),
        400, 'identity_mismatch', 'register: the code of another identity');
is(argon2_jobs(), $h0, '... no password hashed');

my $r = register_request($P{1}, sms_code => $code);
is($r->{status}, 201, 'register: the parent\'s own ticket still works')
    or diag($r->{body});
is(argon2_jobs(), $h0 + 1, 'one password hashed, for it');

# ---------------------------------------------------------------- reset

forget_limits();
$code = sms_send($P{3}, purpose => 'reset', ip => '10.2.0.2');
$ticket = $P{3}{ticket};
my $new = 'the kettle sings a new song';
$h0 = argon2_jobs();

@answers = (
    [ 'the parent\'s ticket, a wrong code',
      reset_request($P{3}, sms_code => wrong($code), password => $new) ],
    [ 'a made-up ticket, the right code',
      reset_request($P{3}, sms_code => $code, password => $new,
                    sms_ticket => made_up_ticket()) ],
    [ 'a child without an account, a made-up ticket',
      reset_request($P{2}, password => $new,
                    sms_ticket => made_up_ticket()) ],
    [ 'a made-up identity, a made-up ticket',
      reset_request($made_up, password => $new,
                    sms_ticket => made_up_ticket()) ],
);
for my $a (@answers) {
    code_is($a->[1], 400, 'sms_code_invalid', "reset: $a->[0]");
}
is_deeply([map { $_->[1]{body} } @answers],
          [map { $answers[0][1]{body} } @answers],
          'reset: the same answer, byte for byte, whatever the identity');
for my $n (1 .. 6) {
    reset_request($P{3}, sms_code => $code, password => $new,
                  sms_ticket => made_up_ticket());
}
is(argon2_jobs(), $h0, 'reset: no password hashed for any of them');

$r = reset_request($P{3}, sms_code => $code, password => $new);
is($r->{status}, 200, 'reset: the parent\'s own ticket still works')
    or diag($r->{body});
is(argon2_jobs(), $h0 + 1, 'one password hashed, for it');
is(login_request($P{3}, $new, ip => '10.2.0.3')->{status}, 200,
   'and the new password logs in');

# ------------------------------------------- 5 wrong tries burn a ticket

forget_limits();
$code = sms_send($P{2}, ip => '10.2.0.4');
for my $n (1 .. 5) {
    register_request($P{2}, sms_code => wrong($code));
}
code_is(register_request($P{2}, sms_code => $code), 400, 'sms_code_invalid',
        'the right code after 5 wrong tries with its ticket');

unlike(error_log_since(0), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
