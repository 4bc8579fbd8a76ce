# POST /api/register: every field error at once, the ID number rules
# (length, charset, province, birth date, check digit), the password
# policy (length, common, derived from the ID number, birth date or
# phone), the SMS code and its ticket (wrong, missing, expired), then
# the roster match (identity_mismatch, phone_not_declared) and the
# agreement version, which only a proven code gets to, one account
# per insured person (409), what is stored (argon2id hash, the agreement
# accepted and when), English messages, and nothing personal in the logs.
#
# The captcha is off (t/010-captcha.t tests it); SMS codes are read back
# from the csibiz:sms:outbox stream.

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
    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
EOF

# ------------------------------------------------------------- roster

ensure_backends();

# person $i: born 2012-05-20 (ID 44030520120520NNN + check digit), card
# REG000000NNN, phone 1360000NNNN; 8 has an ID number ending in X (NNN is
# 018 for it), 9 no declared phone.
my (%P, @secrets);
for my $i (1 .. 9) {
    my $p = {
        id    => id_number(sprintf '44030520120520%03d', $i == 8 ? 18 : $i),
        card  => sprintf('REG%09d', $i),
        phone => sprintf('1360000%04d', $i),
    };
    $p->{pid} = roster_add(id_number => $p->{id}, si_card => $p->{card},
                           name => '王小明',
                           phone => $i == 9 ? undef : $p->{phone});
    $P{$i} = $p;
    push @secrets, $p->{id}, $p->{phone};
}

my $AGREE = psql_value('SELECT version FROM agreement WHERE published_at'
                       . ' <= now() ORDER BY published_at DESC LIMIT 1');
ok($AGREE, "the agreement in force: $AGREE");

my $PW = 'blue kettle on a quiet morning';
push @secrets, $PW;

# ------------------------------------------------------------ helpers

sub fields_are {
    my ($r, $fields, $name) = @_;
    is($r->{status}, 400, "$name: 400");
    my $e = ref $r->{json} eq 'HASH' ? $r->{json}{error} : undef;
    is($e && $e->{code}, 'invalid', "$name: invalid");
    is_deeply($e && $e->{fields}, $fields, "$name: fields")
        or diag($r->{body});
}

# the send limits are tested in t/011-sms.t: forget them before each send
sub forget_sms_limits {
    for my $k (@{ redis_keys('csibiz:sms:phone:*') },
               @{ redis_keys('csibiz:sms:client:*') }) {
        redis_cmd('DEL', $k);
    }
}

my @codes;

# an SMS code for person $p, read from the outbox stream
sub code_for {
    my ($p) = @_;
    forget_sms_limits();
    my $r = json_post('/api/sms/send', {
        purpose => 'register', id_number => $p->{id},
        si_card_no => $p->{card}, phone => $p->{phone} });
    is($r->{status}, 200, "SMS code for $p->{card} sent") or diag($r->{body});
    $p->{ticket} = $r->{json}{sms_ticket};
    my $m = sms_last($p->{phone});
    push @codes, $m->{code} if $m;
    return $m && $m->{code};
}

sub register {
    my ($p, %o) = @_;
    return register_request($p, password => $PW, agree_version => $AGREE,
                            %o);
}

# every log nginx wrote (before each restart): no ID number, phone,
# password or SMS code
sub logs_clean {
    my ($name) = @_;
    push @codes, map { $_->{code} } @{ sms_outbox() };
    logs_have_none($name, 'ID number, phone, password or code',
                   @secrets, @codes);
}

start_nginx(main_config => $MAIN, http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();

# ------------------------------------------------- field errors together

my $r = json_post('/api/register', {});
fields_are($r, { id_number => 'required', si_card_no => 'required',
                 phone => 'required', sms_code => 'required',
                 sms_ticket => 'required', agree_version => 'required',
                 password => 'required' },
           'empty object: every field at once');
like($r->{json}{error}{message}, qr/[\x{4e00}-\x{9fff}]/,
     'a Chinese message by default');
{
    is($r->{json}{error}{fields}{password}, 'required',
       'a missing password is "required" like the other fields');
}

(my $bad_check = $P{1}{id}) =~ s/(.)$/$1 eq '0' ? '1' : '0'/e;
$r = register($P{1}, id_number => $bad_check, si_card_no => 'REG-1',
              phone => '12345678901', sms_code => '12345', password => 'short',
              sms_ticket => 'not-a-ticket', agree_version => undef);
fields_are($r, { id_number => 'checksum', si_card_no => 'format',
                 phone => 'format', sms_code => 'format',
                 sms_ticket => 'format', agree_version => 'required',
                 password => 'too_short' },
           'everything wrong: a reason for each field');

$r = register($P{1}, id_number => 440305120520001, phone => 13600000001,
              sms_code => 123456, password => undef);
fields_are($r, { id_number => 'format', phone => 'format',
                 sms_code => 'format', password => 'required' },
           'numbers where strings are expected');

$r = register($P{1}, id_number => '', si_card_no => '', phone => '',
              sms_code => '', sms_ticket => '', agree_version => '');
fields_are($r, { id_number => 'required', si_card_no => 'required',
                 phone => 'required', sms_code => 'required',
                 sms_ticket => 'required', agree_version => 'required' },
           'empty strings are missing values');

# --------------------------------------------------------- the ID number

my %id_cases = (
    '440305120520001'            => 'length',       # 15 digits: refused
    substr($P{1}{id}, 0, 17)     => 'length',
    $P{1}{id} . '1'              => 'length',
    '4403052012052000A1'         => 'charset',
    id_number('99030520120520001') => 'province',
    id_number('00030520120520001') => 'province',
    id_number('44030520120230001') => 'birth_date',  # 30 February
    id_number('44030520121320001') => 'birth_date',  # month 13
    id_number('44030521000101001') => 'birth_date',  # in the future
    $bad_check                   => 'checksum',
);
for my $id (sort keys %id_cases) {
    $r = register($P{1}, id_number => $id);
    fields_are($r, { id_number => $id_cases{$id} },
               "ID number $id: $id_cases{$id}");
}

# the refusals above came before any lookup: no code was asked for
is_deeply(sms_outbox(), [], 'no SMS sent so far');

# ----------------------------------------------------------- passwords

# person 1: born 2012-05-20, ID $P{1}{id}, phone 13600000001
my $id1 = $P{1}{id};
my %pw_cases = (
    'abcdefghijk'                   => 'too_short',     # 11 characters
    '孩子的生日快乐'                 => 'too_short',     # 7, in 21 bytes
    ('x' x 129)                     => 'too_long',
    'password1234'                  => 'common',
    'PassWord1234'                  => 'common',        # case ignored
    'woaini5201314'                 => 'common',
    'qwertyuiop123'                 => 'common',
    "id $id1"                       => 'derived_id',
    lc("my child $id1 ok")          => 'derived_id',
    '20120520abcd'                  => 'derived_birth',
    '2012.05.20-2012.05.20'         => 'derived_birth',
    '13600000001 phone'             => 'derived_phone',
    'xyzxyzxyzxyz'                  => 'repetitive',
    'aaaaaaaaaaaaaaaaaaaa'          => 'repetitive',
);
for my $pw (sort keys %pw_cases) {
    $r = register($P{1}, password => $pw);
    (my $shown = $pw) =~ s/^(x{3})x+$/$1... (129)/;
    fields_are($r, { password => $pw_cases{$pw} },
               "password '$shown': $pw_cases{$pw}");
}

# the same digits are fine for a child born another day
$r = register($P{1}, id_number => id_number('44030520110101001'),
              password => '20120520abcd');
code_is($r, 400, 'sms_code_invalid',
        'a date that is not the child\'s birth date is not "derived"');

# derived checks need the other fields to be valid: a wrong phone is
# reported, the password that contains it is not
$r = register($P{1}, phone => '1360000000', password => 'my 1360000000 xx');
fields_are($r, { phone => 'format' },
           'a malformed phone is not used to judge the password');

# 12 characters is enough, CJK counts characters, not bytes
for my $pw ('kettle-ocean', '我们的孩子今年上小学三年级') {
    $r = register($P{1}, password => $pw);
    isnt($r->{json} && $r->{json}{error} && $r->{json}{error}{code},
         'invalid', "password '$pw' passes the policy")
        or diag($r->{body});
}

# ------------------------------------------------------ the roster match

# Before the code is proven, nothing about the child is looked up: a
# made-up identity and a real one get the same answer.
my $unknown = { id => id_number('44030520120520999'), card => 'REG000000999',
                phone => '13600000999' };
my $r1 = register($unknown);
code_is($r1, 400, 'sms_code_invalid', 'unknown ID number, no code');
my $r2 = register($P{1}, si_card_no => $P{2}{card});
code_is($r2, 400, 'sms_code_invalid', 'the card of another person, no code');
is($r2->{body}, $r1->{body}, 'the same answer for both');

# A code proves the identity it was sent for, no other.
my $code = code_for($P{1});
$r1 = register($unknown, sms_code => $code, sms_ticket => $P{1}{ticket},
              phone => $P{1}{phone});
code_is($r1, 400, 'identity_mismatch', 'unknown ID number, P1\'s code');
$r2 = register($P{1}, si_card_no => $P{2}{card}, sms_code => $code);
code_is($r2, 400, 'identity_mismatch', 'the card of another person');
is($r2->{body}, $r1->{body}, 'the same answer for both');
$r = register($unknown, sms_code => $code, sms_ticket => $P{1}{ticket},
              phone => $P{1}{phone}, headers => { 'Accept-Language' => 'en' });
is($r->{json}{error}{message}, 'The ID number, social security card (or '
                               . 'medical insurance handbook) number or '
                               . 'phone does not match our records.',
   'identity_mismatch in English');
redis_cmd('HSET', $_, 'tries', 0) for @{ redis_keys('csibiz:sms:ticket:*') };
code_is(register($P{1}, id_number => $P{2}{id}, sms_code => $code), 400,
        'identity_mismatch', 'the ID number of another person');

# The phone is bound to the code: another phone is a wrong code.
code_is(register($P{1}, phone => '13600009999', sms_code => $code), 400,
        'sms_code_invalid', 'another phone than the one the code went to');

# The school declares another phone after the code was sent.
redis_cmd('HSET', $_, 'tries', 0) for @{ redis_keys('csibiz:sms:ticket:*') };
psql("UPDATE insured_person SET declared_phone = '13600009999'"
     . " WHERE id = $P{1}{pid}");
$r = register($P{1}, sms_code => $code);
code_is($r, 403, 'phone_not_declared', 'another phone than the declared one');
like($r->{json}{error}{message}, qr/学校/, '... the message names the school');
$r = register($P{1}, sms_code => $code,
              headers => { 'Accept-Language' => 'en' });
like($r->{json}{error}{message}, qr/school/i, '... in English too');
psql("UPDATE insured_person SET declared_phone = '$P{1}{phone}'"
     . " WHERE id = $P{1}{pid}");
code_is(json_post('/api/sms/send', {
            purpose => 'register', id_number => $P{9}{id},
            si_card_no => $P{9}{card}, phone => $P{9}{phone} }),
        403, 'phone_not_declared', 'no declared phone: no code');

# ------------------------------------------------------------ agreement

$r = register($P{1}, sms_code => $code, agree_version => '1999-01-01');
code_is($r, 400, 'agreement_version', 'an old agreement version');
$r = register($P{1}, sms_code => $code, agree_version => 'nonsense',
              headers => { 'Accept-Language' => 'en-US,en;q=0.9' });
like($r->{json}{error}{message}, qr/agreement/i, '... in English');

# --------------------------------------------------------- the SMS code

code_is(register($P{1}, sms_code => '123456', sms_ticket => $NO_TICKET),
        400, 'sms_code_invalid', 'no code was sent');

redis_cmd('DEL', $_) for @{ redis_keys('csibiz:sms:ticket:*') };
$code = code_for($P{1});
like($code, qr/^[0-9]{6}$/, 'a 6-digit code in the outbox');
my $wrong = do { my $n = "$code"; sprintf '%06d', ($n + 1) % 1000000 };
$r = register($P{1}, sms_code => $wrong);
code_is($r, 400, 'sms_code_invalid', 'a wrong code');
$r = register($P{1}, sms_code => $wrong,
              headers => { 'Accept-Language' => 'en' });
like($r->{json}{error}{message}, qr/SMS code/, '... in English');
is(psql_value('SELECT count(*) FROM portal_user'), 0, 'no account yet');

# ------------------------------------------------------------- success

my $t0 = time;
$r = register($P{1}, sms_code => $code);
is($r->{status}, 201, 'the right code: 201 Created') or diag($r->{body});
like($r->{headers}{'content-type'}, qr{^application/json; charset=utf-8$},
     'JSON');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');
(my $masked_id = $P{1}{id}) =~ s/^(...).{11}(....)$/$1***********$2/;
is_deeply($r->{json}, {
    user => { name => '王*明', id_number => $masked_id,
              phone => '136****0001',
              registered_at => $r->{json}{user}{registered_at} } },
    'the account, masked: name, ID number, phone');
like($r->{json}{user}{registered_at},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/,
     'registered_at: ISO 8601, China time');
is(scalar(set_cookies($r)), 0, 'registering does not log in (no cookie)');
my ($id_1, $phone_1) = @{ $P{1} }{qw(id phone)};
unlike($r->{body}, qr/\Q$id_1\E|\Q$phone_1\E/,
       'neither the ID number nor the phone in the answer');
is_deeply(redis_keys('csibiz:sms:ticket:*'), [], 'the code is used up');

my ($u) = psql("SELECT u.phone, u.password_hash, u.agreement_version,"
               . " extract(epoch FROM u.agreed_at)::bigint,"
               . " u.failed_logins, u.last_login_at IS NULL"
               . " FROM portal_user u WHERE u.insured_person_id"
               . " = $P{1}{pid}");
ok($u, 'a portal_user row for the insured person');
is($u->[0], $P{1}{phone}, 'phone stored');
like($u->[1], qr/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+\/]{22}\$[A-Za-z0-9+\/]{43}$/,
     'password stored as argon2id, m=19 MiB, t=2');
unlike($u->[1], qr/\Q$PW\E/, 'not the password itself');
is($u->[2], $AGREE, 'the agreement version accepted');
ok($u->[3] >= $t0 - 1 && $u->[3] <= time + 1, 'agreed_at: now');
is($u->[4], 0, 'no failed logins');
is($u->[5], 't', 'never logged in');
is(psql_value("SELECT count(*) FROM audit_log WHERE action ="
              . " 'account.register'"), 1, 'audited');

# the new account can log in with the password
$r = json_post('/api/login', { id_number => $P{1}{id}, password => $PW });
is($r->{status}, 200, 'login with the new password: 200') or diag($r->{body});

# ------------------------------------------------- one account per child

$r = register($P{1});
code_is($r, 400, 'sms_code_invalid',
        'a second registration (no code): nothing told');
$code = code_for($P{1});
code_is(register($P{1}, sms_code => $code), 409, 'already_registered',
        'a second registration with a valid code');
$r = register($P{1}, sms_code => $code,
              headers => { 'Accept-Language' => 'en' });
like($r->{json}{error}{message}, qr/already registered/, '... in English');
is(psql_value("SELECT count(*) FROM portal_user WHERE insured_person_id"
              . " = $P{1}{pid}"), 1, 'still one account');
is(psql_value("SELECT password_hash FROM portal_user WHERE"
              . " insured_person_id = $P{1}{pid}"), $u->[1],
   'its password unchanged');

# ------------------------------------------------- normalized input

my $px = 8;
like($P{$px}{id}, qr/X$/, 'person 8 has an ID number ending in X');
{
    $code = code_for($P{$px});
    $r = register($P{$px}, id_number => ' ' . lc($P{$px}{id}) . ' ',
                  si_card_no => lc $P{$px}{card},
                  phone => "+86$P{$px}{phone}", sms_code => $code);
    is($r->{status}, 201, 'lower-case x, spaces, lower-case card, +86: 201')
        or diag($r->{body});
    is(psql_value("SELECT phone FROM portal_user WHERE insured_person_id"
                  . " = $P{$px}{pid}"), $P{$px}{phone},
       'the phone stored as 11 digits');
    is(json_post('/api/login', { id_number => $P{$px}{id},
                                 password => $PW })->{status},
       200, 'and logs in with the upper-case X');
}

# a CJK password of 12 characters works end to end
my $cjk = '我们的孩子今年上小学三年级';
push @secrets, $cjk;
$code = code_for($P{3});
is(register($P{3}, sms_code => $code, password => $cjk)->{status}, 201,
   'register with a CJK password: 201');
is(json_post('/api/login', { id_number => $P{3}{id}, password => $cjk })
       ->{status}, 200, 'login with it: 200');

# ------------------------------------------------------ the stored hash

# each account has its own salt
my @hashes = map { $_->[0] } psql('SELECT password_hash FROM portal_user');
my %salts = map { (split /\$/, $_)[4] => 1 } @hashes;
is(scalar keys %salts, scalar @hashes, 'a salt per account');

unlike(error_log_since($mark), qr/\[(?:alert|crit|emerg|error)\]/,
       'no errors logged');
logs_clean('first nginx');

# ------------------------------------------------------------ expiry

start_nginx(main_config => $MAIN, config => $CONFIG,
            http_config => "$HTTP    csibiz_sms_code_ttl 1s;\n");
redis_cmd('DEL', $_) for @{ redis_keys('csibiz:sms:ticket:*') };
$code = code_for($P{4});
my ($kc) = @{ redis_keys('csibiz:sms:ticket:*') };
my $pttl = $kc ? redis_cmd('PTTL', $kc) : -2;
ok($pttl > 0 && $pttl <= 1000, "csibiz_sms_code_ttl 1s: kept 1 s ($pttl ms)");
Time::HiRes::sleep(1.5);
code_is(register($P{4}, sms_code => $code), 400, 'sms_code_invalid',
        'the code after 1.5 s');
$code = code_for($P{4});
is(register($P{4}, sms_code => $code)->{status}, 201,
   'a new code at once: 201');

logs_clean('second nginx');

# ------------------------------------------- the thread pool is full

# One hashing thread, one waiting task: logins that fill the pool make a
# registration that comes along get 503.  The parent tries again with the
# same code, which must still be valid.
start_nginx(main_config => 'thread_pool csibiz threads=1 max_queue=1;',
            http_config => $HTTP, config => $CONFIG);
my ($busy, $again);
for my $i (5, 6, 7) {
    my $p = $P{$i};
    $code = code_for($p);
    my @logins = map {
        http_start(POST => '/api/login',
                   headers => { 'Content-Type' => 'application/json' },
                   body => qq({"id_number":"$p->{id}","password":"$PW",)
                           . qq("captcha_id":"-","captcha_answer":"-"}))
    } 1 .. 4;
    Time::HiRes::sleep(0.02);
    $r = register($p, sms_code => $code);
    http_finish($_) for @logins;
    next unless $r->{status} == 503;
    $busy = $r;
    $again = register($p, sms_code => $code);
    last;
}
SKIP: {
    skip 'the registration never found the thread pool full', 3
        unless $busy;
    code_is($busy, 503, 'backend_unavailable', 'thread pool queue full');
    {
        is($again->{status}, 201, 'the same code again: 201')
            or diag($again->{body});
    }
}
logs_clean('third nginx');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
