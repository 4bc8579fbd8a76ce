# POST /api/password/reset end to end: an SMS code of purpose reset with
# its ticket, the identity and the phone the school declares now, the
# password policy; then the old password is refused and the new one
# works, every old session ends (401), the login failures are forgotten
# (reset_required lifted), the outbox holds the notice, audit_log the
# reset.  A parent whose phone the school changed resets with the new
# phone, logs in and reaches GET /api/account; the old phone gets no code.

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

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_bank_nginx(config => <<'EOF');
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/password/reset { csibiz password_reset; }
    location = /api/session        { csibiz session; }
EOF

my $NEW_PW = 'a brand new kettle for the morning';

# the send limits are t/011-sms.t's: forgotten before each send here
sub forget_limits {
    redis_cmd('DEL', $_) for @{ redis_keys('csibiz:sms:phone:*') },
                             @{ redis_keys('csibiz:sms:client:*') };
}

sub session_of {
    my ($sid) = @_;
    return http_req(GET => '/api/account',
                    headers => { Cookie => "csibiz=$sid" });
}

# -------------------------------------------------- the reset, end to end

my $p = parent(1);
my $first = { sid => $p->{sid} };
my $second = login_session($p, ip => '10.1.0.2');
is(session_of($first->{sid})->{status}, 200, 'an old session works');
is(scalar @{ redis_cmd('SMEMBERS', "csibiz:user:sess:$p->{uid}") }, 2,
   'the user\'s sessions are indexed');

# failures: an address locked out, 100 in the database
for (1 .. 5) {
    login_request($p, 'not the password', ip => '10.1.0.9');
}
code_is(login_request($p, $p->{pw}, ip => '10.1.0.9'), 429, 'locked',
        'before: the address is locked out of the account');
psql("UPDATE portal_user SET failed_logins = 100 WHERE id = $p->{uid}");
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $p->{uid}"),
   100, 'before: 100 failures recorded');

forget_limits();
my $code = sms_send($p, purpose => 'reset', ip => '10.1.0.9');
like($p->{ticket}, qr/^[A-Za-z0-9_-]{43}$/, 'sms/send: a ticket');

# policy first, and nothing spent by it
my $r = reset_request($p, sms_code => $code, password => 'short',
                      ip => '10.1.0.9');
is_deeply($r->{json}{error}{fields}, { password => 'too_short' },
          'the password policy of registration');
$r = reset_request($p, sms_code => $code, password => undef,
                   sms_ticket => undef, ip => '10.1.0.9');
is_deeply($r->{json}{error}{fields},
          { password => 'required', sms_ticket => 'required' },
          'password and ticket required');

# a register code is no reset code
my $reg = { %$p };
forget_limits();
my $reg_code = sms_send($reg, purpose => 'register', ip => '10.1.0.9');
code_is(reset_request($p, sms_code => $reg_code, sms_ticket => $reg->{ticket},
                      password => $NEW_PW, ip => '10.1.0.9'),
        400, 'sms_code_invalid', 'a code sent for register');

my $outbox_before = scalar @{ sms_outbox() };
$r = reset_request($p, sms_code => $code, password => $NEW_PW,
                   ip => '10.1.0.9');
is($r->{status}, 200, 'reset: 200') or diag($r->{body});
is_deeply($r->{json}, { reset => JSON::PP::true }, '{"reset":true}');

code_is(login_request($p, $p->{pw}, ip => '10.1.0.4'), 401,
        'bad_credentials', 'the old password is refused');
$r = login_request($p, $NEW_PW, ip => '10.1.0.9');
is($r->{status}, 200, 'the new password works, from the locked address too')
    or diag($r->{body});
is(session_of($first->{sid})->{status}, 401, 'old session 1: 401');
is(session_of($second->{sid})->{status}, 401, 'old session 2: 401');
is(session_of(sid_of($r))->{status}, 200, 'the new session works');
is(psql_value("SELECT failed_logins FROM portal_user WHERE id = $p->{uid}"),
   0, 'failed_logins cleared');

my $out = sms_outbox();
is(scalar @$out, $outbox_before + 1, 'one message more in the outbox');
my $m = $out->[-1];
is($m->{phone}, $p->{phone}, 'the notice goes to the phone');
is($m->{purpose}, 'password_changed', 'purpose password_changed');
is($m->{code}, '', 'no code');
is(Encode::decode_utf8($m->{text}), '您的密码已修改；如非本人操作，请致电12333。',
   'the text in Chinese');
like($m->{text_en}, qr/^Your password was changed\b.*12333/,
     'and in English');

my @audit = psql("SELECT action, detail::text, host(client_ip) FROM audit_log"
                 . " WHERE actor_user_id = $p->{uid}"
                 . " AND action = 'account.password_reset'");
is(scalar @audit, 1, 'audit_log: account.password_reset');
is($audit[0][1], '{}', '... with no personal data');
is($audit[0][2], '10.1.0.9', '... and the client address');

code_is(reset_request($p, sms_code => $code, password => 'yet another kettle'
                      . ' tune', ip => '10.1.0.9'),
        400, 'sms_code_invalid', 'the code is used up');

# ---------------------------------------------- no account, no identity

my $q = { id => id_number('11010820150601099'), card => 'BNK000000099',
          phone => '13900000099' };
roster_add(id_number => $q->{id}, si_card => $q->{card},
           phone => $q->{phone});
forget_limits();
$code = sms_send($q, purpose => 'reset', ip => '10.1.0.10');
code_is(reset_request($q, sms_code => $code, password => $NEW_PW,
                      ip => '10.1.0.10'),
        404, 'not_registered', 'a child without an account');

# --------------------------------------------- the school changed the phone

my $c = parent(2);
my $old_sid = $c->{sid};
my $new_phone = '13700000002';
$SECRETS{$new_phone} = 1;
psql("UPDATE insured_person SET declared_phone = '$new_phone'"
     . " WHERE id = $c->{pid}");
code_is(session_of($old_sid), 403, 'phone_not_declared',
        'GET /api/account: the account\'s phone is no longer declared');

# the old phone gets no code any more
code_is(json_post('/api/sms/send', {
            purpose => 'reset', id_number => $c->{id},
            si_card_no => $c->{card}, phone => $c->{phone} },
            headers => { 'X-Real-IP' => '10.1.1.1' }),
        403, 'phone_not_declared', 'the old phone: no code');

my $c2 = { %$c, phone => $new_phone };
forget_limits();
$code = sms_send($c2, purpose => 'reset', ip => '10.1.1.1');
is(sms_last($new_phone)->{purpose}, 'reset', 'a code to the new phone');

# a ticket for the new phone is no ticket for the old one
code_is(reset_request($c, sms_code => $code, sms_ticket => $c2->{ticket},
                      password => $NEW_PW, ip => '10.1.1.1'),
        400, 'sms_code_invalid', 'the code with the old phone');

$r = reset_request($c2, sms_code => $code, password => $NEW_PW,
                   ip => '10.1.1.1');
is($r->{status}, 200, 'reset with the new phone: 200') or diag($r->{body});
is(psql_value("SELECT phone FROM portal_user WHERE id = $c->{uid}"),
   $new_phone, 'the account\'s phone is the declared one now');
is(sms_last($new_phone)->{purpose}, 'password_changed',
   'the notice goes to the new phone');
is(session_of($old_sid)->{status}, 401, 'the old session ended');
code_is(login_request($c, $c->{pw}, ip => '10.1.1.2'), 401,
        'bad_credentials', 'the old password is refused');

$r = login_request($c, $NEW_PW, ip => '10.1.1.2');
is($r->{status}, 200, 'logs in with the new password') or diag($r->{body});
$r = session_of(sid_of($r));
is($r->{status}, 200, 'and reaches GET /api/account') or diag($r->{body});

# ------------------------------------------------------------ the logs

my $all = logs_text();
my @found = grep { index($all, $_) >= 0 }
            ($NEW_PW, map { $_ } keys %SECRETS);
is_deeply(\@found, [], 'nothing personal in the logs');
unlike($all, qr/\[(?:alert|crit|emerg|error)\]/, 'no errors logged');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
