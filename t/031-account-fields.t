# PUT /api/account, the form: both payer cases with every required field
# missing in turn, every field error listed at once (the module's and
# PostgreSQL's, which knows the banks), Luhn, card prefix (BIN) against
# the bank, credit cards, passbook lengths and the number entered twice,
# the guide's non-debitable accounts with their reason, and that a refused
# request writes nothing: no account, declaration, audit row or stored
# Idempotency-Key answer.
#
# The window is pinned open (csibiz_test_now); t/032 tests its edges.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_bank_nginx(now => '2026-09-10 12:00:00+08');

my $p = parent(1);

sub fields_is {
    my ($r, $fields, $name) = @_;
    code_is($r, 400, 'invalid', $name);
    is_deeply($r->{json}{error}{fields}, $fields, "$name: fields")
        or diag($r->{body});
}

sub without {
    my ($form, @names) = @_;
    my %f = %$form;
    delete @f{@names};
    return \%f;
}

sub nothing_written {
    my ($name) = @_;
    is(psql_value("SELECT count(*) FROM bank_account"), 0,
       "$name: no account");
    is(psql_value("SELECT count(*) FROM declaration"), 0,
       "$name: no declaration");
    is(audit_count(), 0, "$name: no audit row");
    is(psql_value("SELECT count(*) FROM idempotency_key"), 0,
       "$name: no stored answer");
}

# ---------------------------------------------------- required fields

my $self = { %{ self_card() }, version => 0 };
my $rel = { %{ relative_card() }, version => 0 };
my $passbook = { payer => 'self', method => 'passbook', bank => 'BOC',
                 doc_type => 'household_register',
                 account_no => '123456789012',
                 account_no_confirm => '123456789012', version => 0 };

fields_is(account_put($p, {}), {
    payer => 'required', method => 'required', bank => 'required',
    doc_type => 'required', account_no => 'required',
    version => 'required' }, 'an empty form: every field at once');

for my $f (qw(payer method bank doc_type account_no version)) {
    fields_is(account_put($p, without($self, $f)), { $f => 'required' },
              "self, card: $f missing");
}

for my $f (qw(payer method bank doc_type account_no)) {
    fields_is(account_put($p, { %$self, $f => '' }), { $f => 'required' },
              "self, card: $f empty");
}

fields_is(account_put($p, { %$self, bank => "  \x{3000}" }),
          { bank => 'required' }, 'self: a blank bank is missing too');

for my $f (qw(payer method bank doc_type account_no account_no_confirm
              version)) {
    fields_is(account_put($p, without($passbook, $f)), { $f => 'required' },
              "self, passbook: $f missing");
}

for my $f (qw(payer method bank doc_type account_no relative_name
              relative_gender relative_relation relative_phone
              relative_address relative_postcode version)) {
    fields_is(account_put($p, without($rel, $f)), { $f => 'required' },
              "relative: $f missing");
}

fields_is(account_put($p, without($rel, grep { /^relative_/ } keys %$rel)),
          { map { $_ => 'required' }
            qw(relative_name relative_gender relative_relation
               relative_phone relative_address relative_postcode) },
          'relative: all six of the holder\'s details missing at once');

# the relative's details are not asked for when the child pays
my $r = account_put($p, { %$self, relative_name => '', relative_postcode
                          => 'x' }, key => 'probe-self');
is($r->{status}, 200, 'self: relative fields are ignored') or
    diag($r->{body});
psql("TRUNCATE bank_account, declaration, audit_log, idempotency_key"
     . " CASCADE");

# ------------------------------------------------- the module's checks

fields_is(account_put($p, { %$self, payer => 'parent', method => 'cash',
                            doc_type => 'student_card', version => '0' }),
          { payer => 'unsupported', method => 'unsupported',
            doc_type => 'unsupported', version => 'format' },
          'unsupported values, a version that is a string');

fields_is(account_put($p, { %$self, version => -1 }),
          { version => 'format' }, 'a negative version');
fields_is(account_put($p, { %$self, version => 1.5 }),
          { version => 'format' }, 'a fractional version');
fields_is(account_put($p, { %$self, account_no => 6222021234567890 }),
          { account_no => 'format' }, 'an account number that is a number');

(my $bad_luhn = $self->{account_no}) =~ s/(\d)$/($1 + 1) % 10/e;
fields_is(account_put($p, { %$self, account_no => $bad_luhn }),
          { account_no => 'luhn' }, 'card: Luhn');
fields_is(account_put($p, { %$self, account_no => '622202123456789' }),
          { account_no => 'length' }, 'card: 15 digits');
fields_is(account_put($p, { %$self, account_no => '6222-02x1' }),
          { account_no => 'format' }, 'card: a letter');

my $grouped = $self->{account_no};
$grouped =~ s/(\d{4})(?=\d)/$1 /g;
fields_is(account_put($p, { %$self, account_no => $grouped,
                            account_no_confirm => $bad_luhn }),
          { account_no_confirm => 'mismatch' },
          'card: an optional confirmation must match');

fields_is(account_put($p, { %$passbook,
                            account_no_confirm => '123456789013' }),
          { account_no_confirm => 'mismatch' }, 'passbook: confirm mismatch');
fields_is(account_put($p, { %$passbook, account_no => '1234 5678 9012',
                            account_no_confirm => '1234 5678 9012' }),
          { account_no => 'format' }, 'passbook: digits only');
fields_is(account_put($p, { %$passbook, account_no => '1234567',
                            account_no_confirm => '1234567' }),
          { account_no => 'length' }, 'passbook: 7 digits');

fields_is(account_put($p, { %$rel, relative_name => '王丽娟2',
                            relative_gender => 'female',
                            relative_relation => 'aunt',
                            relative_phone => '6234',
                            relative_address => '北京',
                            relative_postcode => '10008' }),
          { relative_name => 'charset', relative_gender => 'unsupported',
            relative_relation => 'unsupported', relative_phone => 'format',
            relative_address => 'length', relative_postcode => 'format' },
          'relative: every detail malformed, each named');
fields_is(account_put($p, { %$rel, relative_name => '王',
                            relative_address => "北京市<海淀区>" }),
          { relative_name => 'length', relative_address => 'charset' },
          'relative: a one-character name, markup in the address');

# ------------------------------------------------ the banks' rules

fields_is(account_put($p, { %$self, bank => 'XYZ' }), { bank => 'unknown' },
          'an unknown bank');
fields_is(account_put($p, { %$self, bank => '中国银行' }),
          { bank => 'unknown' }, 'a bank name for a code');
fields_is(account_put($p, { %$self, bank => 'WEBANK',
                            account_no => card_no('623335') }),
          { bank => 'no_debit' }, 'a bank without debits');
fields_is(account_put($p, { %$passbook, bank => 'CMB' }),
          { method => 'not_accepted' }, 'CMB takes no passbooks');

fields_is(account_put($p, { %$self, account_no => card_no('621700') }),
          { account_no => 'bin_mismatch' },
          'a CCB card with ICBC chosen: bin_mismatch');
fields_is(account_put($p, { %$self, account_no => card_no('999999', 16) }),
          { account_no => 'bin_mismatch' }, 'a card nobody issues');
$r = account_put($p, { %$self, bank => 'icbc',
                       account_no => card_no('622202', 16) });
fields_is($r, {}, 'no mistake') if $r->{status} != 200;
is($r->{status}, 200, 'a bank code in lower case, a 16-digit card');
psql("TRUNCATE bank_account, declaration, audit_log, idempotency_key"
     . " CASCADE");

fields_is(account_put($p, { %$self, account_no => card_no('625330') }),
          { account_no => 'credit_card' }, 'an ICBC credit card');
fields_is(account_put($p, { %$self, bank => 'CMB',
                            account_no => card_no('622575', 16) }),
          { account_no => 'credit_card' }, 'a CMB credit card');
fields_is(account_put($p, { %$self, bank => 'CMB',
                            account_no => card_no('427020', 16) }),
          { account_no => 'credit_card' },
          'another bank\'s credit card: credit_card first');

fields_is(account_put($p, { %$passbook, bank => 'ICBC',
                            account_no => '020001234567890123',
                            account_no_confirm => '020001234567890123' }),
          { account_no => 'length' }, 'an ICBC passbook of 18 digits');

# the guide's non-debitable accounts, with their reason
$r = account_put($p, { %$passbook, bank => 'BOB',
                       account_no => '0109123456789012',
                       account_no_confirm => '0109123456789012' });
fields_is($r, { account_no => 'non_debitable' },
          'a Bank of Beijing medical-insurance passbook');
like($r->{json}{error}{reason}, qr/北京银行医保个人账户的存折/,
     'the reason, in Chinese');

my $hf = card_no('62226088', 19);
$r = account_put($p, { %$self, bank => 'BOCOM', account_no => $hf },
                 lang => 'en');
fields_is($r, { account_no => 'non_debitable' },
          'a BOCOM housing-fund card');
like($r->{json}{error}{reason}, qr/housing-fund card cannot be debited/,
     'the reason, in English');
like($r->{json}{error}{message}, qr/^Some fields/, 'the message too');

$r = account_put($p, { %$passbook, bank => 'BOB',
                       account_no => '0209123456789012',
                       account_no_confirm => '0209123456789012' });
is($r->{status}, 200, 'another Bank of Beijing passbook is fine')
    or diag($r->{body});
psql("TRUNCATE bank_account, declaration, audit_log, idempotency_key"
     . " CASCADE");

# ------------------------------------------- all at once, both sources

$r = account_put($p, { %$rel, account_no => card_no('622202'),
                       account_no_confirm => card_no('622202'),
                       relative_phone => '123', relative_gender => '' });
fields_is($r, { account_no => 'bin_mismatch', relative_phone => 'format',
                relative_gender => 'required' },
          'the module\'s errors and the bank\'s in one answer');

$r = account_put($p, { %$rel, bank => 'WEBANK', account_no => '12',
                       relative_postcode => 'ABCDEF' });
fields_is($r, { bank => 'no_debit', account_no => 'length',
                relative_postcode => 'format' }, 'three at once');

nothing_written('after every refusal');

# ------------------------------------------------ a refused key is free

my $form = { %$self, account_no => $bad_luhn };
fields_is(account_put($p, $form, key => 'retry-me'),
          { account_no => 'luhn' }, 'refused with key retry-me');
$r = account_put($p, $self, key => 'retry-me');
is($r->{status}, 200, 'the key of a refused request can be used again')
    or diag($r->{body});
is(audit_count($p), 1, 'one audit row: for the one change');

# -------------------------------------------------------- protocol

$r = account_put($p, $self, raw => '{"payer":');
code_is($r, 400, 'bad_json', 'malformed JSON');
$r = http_req(PUT => '/api/account',
              headers => { Cookie => "csibiz=$p->{sid}",
                           'X-CSRF-Token' => $p->{csrf},
                           'Idempotency-Key' => 'x',
                           'Content-Type' => 'text/plain' },
              body => 'payer=self');
code_is($r, 415, 'unsupported_media_type', 'a form body');

my $log = logs_text();
my @found = grep { index($log, $_) >= 0 } keys %SECRETS;
is_deeply(\@found, [], 'no account number, ID number or phone in'
                       . ' error.log or access.log');

done_testing();
