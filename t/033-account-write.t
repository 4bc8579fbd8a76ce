# PUT /api/account and GET /api/account, the writes: login and CSRF, the
# Idempotency-Key (a retry gets the first answer and writes nothing; the
# same key with another request is refused; concurrent retries), the
# version (a stale one is 409), step-up (changing an existing account
# needs the password within 20 minutes, the first entry does not), the
# permission lost when the school changes the phone, what is stored (the
# number sealed, its last 4 digits, masked views, one pending declaration,
# an audit row for each change and none for a refusal, append-only), one
# transaction, and no account number or ID number in any log line.

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

start_bank_nginx(now => '2026-09-10 12:00:00+08');

my $A = parent(1);
my $B = parent(2);

sub counts {
    return join ' ', map { psql_value("SELECT count(*) FROM $_") }
                     qw(bank_account declaration audit_log idempotency_key);
}

sub writes_nothing {
    my ($name, $code) = @_;
    my $before = counts();
    my $r = $code->();
    is(counts(), $before, "$name: nothing written");
    return $r;
}

# ----------------------------------------------------- login, CSRF, key

my $form = { %{ self_card(seed => 100) }, version => 0 };

my $r = http_req(GET => '/api/account');
code_is($r, 401, 'not_logged_in', 'GET without a session');
$r = writes_nothing('PUT without a session', sub {
    account_put({ sid => 'x' }, $form, csrf => 'y') });
code_is($r, 401, 'not_logged_in', 'PUT without a session');

$r = writes_nothing('no CSRF token', sub {
    account_put($A, $form, csrf => undef) });
code_is($r, 403, 'csrf', 'PUT without X-CSRF-Token');
$r = account_put($A, $form, csrf => $B->{csrf});
code_is($r, 403, 'csrf', 'PUT with another session\'s token');

$r = writes_nothing('no key', sub { account_put($A, $form, key => undef) });
code_is($r, 400, 'idempotency_key_required', 'PUT without Idempotency-Key');
code_is(account_put($A, $form, key => ''), 400, 'idempotency_key_required',
        'an empty key');
code_is(account_put($A, $form, key => 'a b'), 400,
        'idempotency_key_required', 'a key with a space');
code_is(account_put($A, $form, key => 'k' x 129), 400,
        'idempotency_key_required', 'a key of 129 characters');

code_is(http_req(POST => '/api/account',
                 headers => { Cookie => "csibiz=$A->{sid}" }),
        405, 'method_not_allowed', 'POST');

# --------------------------------------------------------- first entry

$r = account_get($A);
is($r->{status}, 200, 'GET before any account');
is_deeply([@{ $r->{json} }{qw(account version declaration reauth_required)}],
          [undef, 0, undef, JSON::PP::false],
          'no account, version 0, no declaration');

# the first entry needs no fresh password
age_reauth($A, 5000);
$r = account_put($A, $form, key => 'first');
is($r->{status}, 200, 'the first entry: 200, no step-up needed')
    or diag($r->{body});
my $first = $r->{body};
is($r->{json}{version}, 1, 'version 1');
like($r->{json}{receipt_no}, qr/^R20260910-\d{8}$/, 'a receipt number');
is_deeply($r->{json}{account},
          { payer => 'self', method => 'card',
            bank => { code => 'ICBC', name => '中国工商银行' },
            doc_type => 'id_card',
            account_last4 => substr($form->{account_no}, -4),
            relative => undef,
            updated_at => $r->{json}{account}{updated_at} },
          'the account, masked: the last 4 digits only');
my $receipt1 = $r->{json}{receipt_no};

my $row = (psql("SELECT encode(account_enc, 'hex'), account_last4, version"
                . " FROM bank_account WHERE insured_person_id = $A->{pid}"))[0];
is($row->[1], substr($form->{account_no}, -4), 'last4 stored');
my $keytool = repo_root() . '/build/csibiz-keytool';
my $opened = `$keytool -k $ENV{TEST_NGINX_SECRET_KEY} -a account_no open $row->[0]`;
chomp $opened;
is($opened, $form->{account_no},
   'account_enc opens with the seal key and associated data "account_no"');
my $wrong = `$keytool -k $ENV{TEST_NGINX_SECRET_KEY} -a id_number open $row->[0] 2>/dev/null`;
isnt($?, 0, 'and not with other associated data');

my $dump = join "\n", map { psql_value("SELECT coalesce(string_agg("
                                       . "row_to_json(t)::text, ''), '')"
                                       . " FROM $_ t") }
                      qw(bank_account declaration audit_log idempotency_key);
unlike($dump, qr/\Q$form->{account_no}\E/,
       'the account number is nowhere in plain text');
unlike($dump, qr/\Q@{[ substr($form->{account_no}, 0, 8) ]}\E/,
       'nor its first 8 digits');

my ($audit) = psql("SELECT action, actor_user_id, client_ip, receipt_no,"
                   . " detail->'old', detail->'new'->>'account_last4',"
                   . " detail->>'version'"
                   . " FROM audit_log WHERE action LIKE 'bank_account.%'");
is_deeply($audit, ['bank_account.create', $A->{uid}, '127.0.0.1', $receipt1,
                   'null', substr($form->{account_no}, -4), 1],
          'the audit row: who, from where, receipt, none -> masked new');

is_deeply(declaration_rows($A), [[$receipt1, 'submitted', '2026-09']],
          'a submitted declaration for the September debit');

$r = account_get($A);
is_deeply([@{ $r->{json} }{qw(version editable reauth_required)}],
          [1, JSON::PP::true, JSON::PP::true],
          'GET: version 1; changing it will need the password again');
is($r->{json}{account}{account_last4}, substr($form->{account_no}, -4),
   'GET: the last 4 digits');
is_deeply($r->{json}{declaration},
          { receipt_no => $receipt1, status => 'submitted',
            debit_month => '2026-09',
            submitted_at => $r->{json}{declaration}{submitted_at} },
          'GET: the declaration');

# The submission time stays when the debit export moves the status on.
psql("UPDATE declaration SET submitted_at = '2026-09-06 09:30:00+08',"
     . " status = 'sent_to_bank'");
$r = account_get($A);
is_deeply([@{ $r->{json}{declaration} }{qw(status submitted_at)}],
          ['sent_to_bank', '2026-09-06T09:30:00+08:00'],
          'GET: submitted_at is the submission, not the last change');
psql("UPDATE declaration SET status = 'submitted'");

# ------------------------------------------------------ idempotent retry

$r = account_put($A, $form, key => 'first');
is($r->{status}, 200, 'a retry with the same key: 200');
is($r->{body}, $first, 'the first answer, byte for byte');
is($r->{headers}{'idempotency-replayed'}, 'true',
   'Idempotency-Replayed: true');
is(audit_count(), 1, 'no second audit row');
is(psql_value("SELECT version FROM bank_account"), 1, 'still version 1');
is(scalar @{ declaration_rows($A) }, 1, 'one declaration');

$r = writes_nothing('the key with another request', sub {
    account_put($A, { %$form, doc_type => 'passport' }, key => 'first') });
code_is($r, 422, 'idempotency_key_reused',
        'the same key with another request');

$r = account_put($B, { %{ self_card(seed => 200) }, version => 0 },
                 key => 'first');
is($r->{status}, 200, 'keys are per account: B may use "first" too')
    or diag($r->{body});

# concurrent retries of one request: one write, the same answer; a new
# login counts as entering the password
login($A);
my $ch = { %{ relative_card(seed => 300) }, version => 1 };
my @spec = map { [PUT => '/api/account', headers => {
                     'Content-Type' => 'application/json',
                     Cookie => "csibiz=$A->{sid}",
                     'X-CSRF-Token' => $A->{csrf},
                     'Idempotency-Key' => 'twice' },
                  body => JSON::PP->new->utf8->canonical->encode($ch)] }
           1 .. 2;
my @res = @{ http_concurrent(\@spec) };
is_deeply([map { $_->{status} } @res], [200, 200],
          'two identical requests at once: both 200');
is($res[0]{body}, $res[1]{body}, 'with the same answer');
is(scalar(grep { $_->{headers}{'idempotency-replayed'} } @res), 1,
   'one of them replayed');
is(audit_count($A), 2, 'one audit row for both');
is(psql_value("SELECT version FROM bank_account"
              . " WHERE insured_person_id = $A->{pid}"), 2, 'version 2');

# --------------------------------------------------------------- version

$r = writes_nothing('a stale version', sub {
    account_put($A, { %$ch, version => 1 }) });
code_is($r, 409, 'conflict', 'version 1 after the change to 2');
is($r->{json}{error}{version}, 2, 'the answer names the current version');
code_is(account_put($A, { %$ch, version => 3 }), 409, 'conflict',
        'a version from the future');

# two different changes from the same version: one wins
my @two = map {
    my $f = { %{ self_card(seed => 400 + $_) }, version => 2 };
    [PUT => '/api/account', headers => {
        'Content-Type' => 'application/json', Cookie => "csibiz=$A->{sid}",
        'X-CSRF-Token' => $A->{csrf}, 'Idempotency-Key' => "race-$_" },
     body => JSON::PP->new->utf8->canonical->encode($f)]
} 1 .. 2;
@res = @{ http_concurrent(\@two) };
is_deeply([sort map { $_->{status} } @res], [200, 409],
          'two changes from version 2 at once: one 200, one 409');
is(audit_count($A), 3, 'one more audit row');

# ---------------------------------------------------------------- step-up

age_reauth($A, 1201);
$r = writes_nothing('reauth required', sub {
    account_put($A, { %$ch, version => 3 }) });
code_is($r, 403, 'reauth_required',
        'a change 1201 s after the password was entered');
is(account_get($A)->{json}{reauth_required}, JSON::PP::true,
   'GET says so');

age_reauth($A, 1190);
$r = account_put($A, { %$ch, version => 3 });
is($r->{status}, 200, '1190 s after: allowed') or diag($r->{body});

age_reauth($A, 3600);
$r = json_post('/api/reauth', { password => $A->{pw} },
               headers => { Cookie => "csibiz=$A->{sid}",
                            'X-CSRF-Token' => $A->{csrf} });
is($r->{status}, 200, 'POST /api/reauth') or diag($r->{body});
is(account_get($A)->{json}{reauth_required}, JSON::PP::false,
   'GET: no reauth needed now');
$r = account_put($A, { %{ relative_card(seed => 500) }, version => 4 });
is($r->{status}, 200, 'after /api/reauth: the change is stored')
    or diag($r->{body});
is_deeply($r->{json}{account}{relative},
          { name => '王*娟', gender => 'F', relation => 'mother',
            phone => '139****5678', address => '北京市海淀区****',
            postcode => '100081' },
          'the relative, masked');

($audit) = psql("SELECT action, detail->'old'->>'payer',"
                . " detail->'new'->'relative'->>'name', receipt_no"
                . " FROM audit_log WHERE actor_user_id = $A->{uid}"
                . " ORDER BY id DESC LIMIT 1");
is_deeply([map { Encode::decode('UTF-8', $_) } @$audit],
          ['bank_account.change', 'relative', '王*娟',
                   $r->{json}{receipt_no}],
          'the audit row of a change: old -> new, masked, the receipt');
is(audit_count($A), 5, 'five changes, five audit rows');
my $decl = declaration_rows($A);
is(scalar @$decl, 1, 'still one pending declaration');
is($decl->[0][0], $r->{json}{receipt_no}, 'with the latest receipt');
my $stored = psql_value("SELECT relative_name FROM bank_account"
                        . " WHERE insured_person_id = $A->{pid}");
is(Encode::decode('UTF-8', $stored), '王丽娟', 'the account holder\'s name is kept for the bank');

# ------------------------------------------------------------- permission

# the school declares another phone for A's child
roster_add(id_number => $A->{id}, si_card => $A->{card}, name => '李小华',
           phone => '13700001111');
$r = account_get($A, lang => 'en');
code_is($r, 403, 'phone_not_declared', 'GET after the school changed it');
like($r->{json}{error}{message}, qr/school/, 'the advice: the school');
$r = writes_nothing('permission lost', sub {
    account_put($A, { %$ch, version => 5 }) });
code_is($r, 403, 'phone_not_declared', 'PUT after the school changed it');
roster_add(id_number => $A->{id}, si_card => $A->{card}, name => '李小华');
code_is(account_get($A), 403, 'phone_not_declared', 'no declared phone');
roster_add(id_number => $A->{id}, si_card => $A->{card}, name => '李小华',
           phone => $A->{phone});
is(account_get($A)->{status}, 200, 'the phone declared again: allowed');

# ---------------------------------------------------------- one transaction

psql("ALTER TABLE audit_log ADD CONSTRAINT t033_refuse"
     . " CHECK (action <> 'bank_account.change') NOT VALID");
my $before = counts();
my $v = 0 + psql_value("SELECT version FROM bank_account"
                   . " WHERE insured_person_id = $A->{pid}");
$r = account_put($A, { %{ self_card(seed => 600) }, version => $v },
                 key => 'atomic');
code_is($r, 500, 'internal', 'the audit row refused');
is(counts(), $before, 'nothing of it stays: account, declaration, key');
is(psql_value("SELECT version FROM bank_account"
              . " WHERE insured_person_id = $A->{pid}"), $v,
   'the account is unchanged');
psql("ALTER TABLE audit_log DROP CONSTRAINT t033_refuse");
$r = account_put($A, { %{ self_card(seed => 600) }, version => $v },
                 key => 'atomic');
is($r->{status}, 200, 'the same key works once the write can succeed')
    or diag($r->{body});

my $err = eval { psql("UPDATE audit_log SET action = 'x'"); 1 } ? undef : $@;
ok($err, 'audit_log refuses UPDATE');
$err = eval { psql("DELETE FROM audit_log"); 1 } ? undef : $@;
ok($err, 'audit_log refuses DELETE');

# -------------------------------------------------------------- the logs

my $log = logs_text();
my @found = grep { index($log, $_) >= 0 }
            map { Encode::encode('UTF-8', $_) }
            keys %SECRETS, '王丽娟', map { substr($_, 0, 8) }
                                    grep { /^\d{16,}$/ } keys %SECRETS;
is_deeply(\@found, [], 'no account number, ID number, phone or name in'
                       . ' error.log or access.log');
like($log, qr/SQLSTATE 23514/, 'the refused write is logged by SQLSTATE');

# even at log level debug, which logs every header and step
start_bank_nginx(now => '2026-09-10 12:00:00+08', log_level => 'debug');
login($A);
$v = 0 + psql_value("SELECT version FROM bank_account"
                    . " WHERE insured_person_id = $A->{pid}");
my $last = relative_card(seed => 700);
is(account_put($A, { %$last, version => $v })->{status}, 200,
   'debug: a change');
is(account_put($A, { %$last, version => $v, account_no_confirm =>
                     card_no('621700', 19, 701) })->{status}, 400,
   'debug: a refused one');
is(account_get($A)->{status}, 200, 'debug: a read');
$log = logs_text();
like($log, qr/\[debug\]/, 'debug: the log is at debug level');
@found = grep { index($log, $_) >= 0 }
         map { Encode::encode('UTF-8', $_) }
         keys %SECRETS, '王丽娟', map { substr($_, 0, 8) }
                                 grep { /^\d{16,}$/ } keys %SECRETS;
is_deeply(\@found, [], 'debug: no account number, ID number, phone or name');

done_testing();
