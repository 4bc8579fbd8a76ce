# GET /api/banks: the banks a premium can be debited from, with whether
# they debit, by which methods and their passbooks' lengths, in the
# request's language; no login needed.  The major banks that debit in
# Beijing are there; credit-card prefixes are in the table, marked.

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

start_bank_nginx();

my $r = http_req(GET => '/api/banks');
is($r->{status}, 200, 'GET /api/banks: 200 without a session');
is($r->{headers}{'content-type'}, 'application/json; charset=utf-8',
   'JSON');
is($r->{headers}{'cache-control'}, 'no-store', 'no-store');

my @banks = @{ $r->{json}{banks} || [] };
my %bank = map { $_->{code} => $_ } @banks;

is_deeply([map { $_->{code} } @banks[0 .. 5]],
          [qw(ICBC ABC BOC CCB BOCOM PSBC)],
          'the big state banks first');

for my $code (qw(ICBC ABC BOC CCB BOCOM PSBC BOB BRCB CMB CITIC)) {
    ok($bank{$code} && $bank{$code}{accepts_debit},
       "$code is listed and debits");
}

is_deeply($bank{ICBC},
          { code => 'ICBC', name => '中国工商银行',
            accepts_debit => JSON::PP::true,
            methods => ['card', 'passbook'], passbook_lengths => [19],
            card_prefixes => [qw(621225 621226 621558 621559 622200 622202
                                 622208)] },
          'ICBC in full, in Chinese: its debit card prefixes only');
is($bank{BRCB}{name}, '北京农商银行', 'Beijing Rural Commercial Bank');
is_deeply($bank{CMB}{methods}, ['card'], 'CMB: cards only');
is_deeply($bank{CMB}{passbook_lengths}, [], 'CMB: no passbook lengths');
is_deeply($bank{WEBANK},
          { code => 'WEBANK', name => '微众银行',
            accepts_debit => JSON::PP::false, methods => [],
            passbook_lengths => [], card_prefixes => [] },
          'a bank without a debit agreement: no methods');

$r = http_req(GET => '/api/banks',
              headers => { 'Accept-Language' => 'en-GB,en;q=0.9' });
%bank = map { $_->{code} => $_ } @{ $r->{json}{banks} || [] };
is($bank{BOB}{name}, 'Bank of Beijing', 'names in English');
is($bank{BOCOM}{name}, 'Bank of Communications', 'BOCOM in English');

$r = http_req(POST => '/api/banks');
code_is($r, 405, 'method_not_allowed', 'POST');

# the reference data behind it
cmp_ok(psql_value("SELECT count(DISTINCT bank_code) FROM bank_bin"
                  . " WHERE card_type = 'credit'"), '>=', 10,
       'credit-card prefixes are listed for the major banks');
ok(psql_value("SELECT bool_and(EXISTS (SELECT 1 FROM bank_bin n WHERE"
              . " n.bank_code = b.code AND n.card_type = 'debit'))"
              . " FROM bank b") eq 't', 'every bank has debit prefixes');
like(psql_value("SELECT obj_description('bank_bin'::regclass)"),
     qr/\[reference\]/, 'bank_bin is reference data (kept by a reset)');
like(psql_value("SELECT obj_description('debit_calendar'::regclass)"),
     qr/\[reference\]/, 'debit_calendar is reference data');
is(psql_value("SELECT count(*) FROM non_debitable_account"), 2,
   "the guide's two non-debitable accounts");

done_testing();
