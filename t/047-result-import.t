# tools/result-import: a bank's result file with a debit, every failure
# reason and bad rows (each reported with its line number, the others
# applied); payments and declarations after it; the same file again
# changes nothing; a contradicting result is refused; one transaction (a
# failure applies nothing); the next month's export tries the failed
# debits again, not the debited or pending ones.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank qw(card_no);
use Test::Csibiz::Ops;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my @reasons = qw(insufficient_balance name_mismatch no_such_account
                 not_debitable insured_data_error other);

# eight people with an ICBC card each, debited in September
my @people = map {
    { id => id_number(sprintf '11010520120520%03d', $_),
      card => sprintf('RESULT%06d', $_) }
} 1 .. 8;
my $r = ops('roster-import', ops_file('roster.csv', join('', map {
    roster_line(id => $_->{id}, card => $_->{card}) . "\n" } @people)));
is($r->{rc}, 0, 'roster imported') or diag($r->{out}, $r->{err});
for my $i (0 .. $#people) {
    $people[$i]{pid} = person_id($people[$i]{card});
    account_for($people[$i]{pid}, bank => 'ICBC',
                no => card_no('622202', 19, $i + 1));
}
my $out = ops_dir() . '/files';
$r = ops('debit-export', '--month', '2026-09', '--out', $out);
is($r->{rc}, 0, 'September exported') or diag($r->{err});
my %ref = map { $_->[0] => $_->[1] } psql(
    "SELECT insured_person_id, ref FROM debit_export_row");
my @ref = map { $ref{ $_->{pid} } } @people;

sub state_of {
    return [map { "@$_" } psql(
        "SELECT p.insured_person_id, p.month, p.status,"
        . " coalesce(p.reason_code, '-'), d.status,"
        . " coalesce(d.reason_code, '-')"
        . " FROM payment p JOIN declaration d"
        . " ON d.insured_person_id = p.insured_person_id"
        . " ORDER BY p.insured_person_id, p.month")];
}

# ---------------------------------------------------------------- usage

$r = ops('result-import', '--help');
is($r->{rc}, 0, '--help: exit 0');
like($r->{out}, qr/ref,amount,status,reason_code/, '--help: the layout');
like($r->{out}, qr/insured_data_error/, '--help: the reasons');
is(ops('result-import')->{rc}, 2, 'no FILE: usage error');

# ------------------------------------------------ a mixed result file

my @rows = (
    'ref,amount,status,reason_code',
    "$ref[0],160.00,debited,",
    (map { "$ref[$_],160.00,failed,$reasons[$_ - 1]" } 1 .. 6),
    'D202609-0000009999,160.00,debited,',
    "$ref[7],150.00,debited,",
    "$ref[7],160.00,refunded,",
    "$ref[7],160.00,failed,",
    "$ref[7],160.00,debited,other",
    "$ref[7],160.00,failed,bank_on_fire",
    "$ref[0],160.00,debited,",
    "$ref[7],160.00",
    "$ref[7],\"160.00\"x,debited,",
    "$ref[7],160,debited,",
);
my $file = ops_file('result.csv', join("\r\n", @rows) . "\r\n");

my $expect = <<"EOF";
line 9: ref: no such debit
line 10: amount: not the debit's 160.00
line 11: status: debited or failed
line 12: reason_code: required for failed
line 13: reason_code: none for debited
line 14: reason_code: unknown
line 15: ref: also on line 2
line 16: columns: 2, want 4
line 17: quote
line 18: amount: not like 160.00
EOF

$r = ops('result-import', $file);
is($r->{rc}, 1, 'some rows refused: exit 1') or diag($r->{err});
is($r->{out}, $expect . "17 rows: 7 applied, 0 unchanged, 10 rejected\n",
   'each bad row by its line number, then the counts');

my @want = (
    "$people[0]{pid} 9 debited - debited -",
    (map { "$people[$_]{pid} 9 failed $reasons[$_ - 1] failed "
           . "$reasons[$_ - 1]" } 1 .. 6),
    "$people[7]{pid} 9 pending - sent_to_bank -",
);
is_deeply(state_of(), \@want,
          'payments and declarations: debited, failed with each reason, '
          . 'one still pending');

# ------------------------------------------------------------- again

$r = ops('result-import', $file);
is($r->{rc}, 1, 'the same file again: exit 1 (the same bad rows)');
is($r->{out}, $expect . "17 rows: 0 applied, 7 unchanged, 10 rejected\n",
   'the same file again: all unchanged');
is_deeply(state_of(), \@want, 'nothing changed');

$r = ops('result-import', ops_file('contra.csv',
    "$ref[0],160.00,failed,other\n$ref[1],160.00,failed,other\n"));
is($r->{out}, "line 1: already debited\n"
              . "line 2: already failed (insufficient_balance)\n"
              . "2 rows: 0 applied, 0 unchanged, 2 rejected\n",
   'a result contradicting an imported one is refused');
is_deeply(state_of(), \@want, 'and changes nothing');

# ---------------------------------------------------- one transaction

psql(<<'EOF');
CREATE FUNCTION t047_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 't047: refused'; END $$;
CREATE TRIGGER t047_refuse BEFORE UPDATE ON declaration
    FOR EACH ROW EXECUTE FUNCTION t047_refuse();
EOF
$r = ops('result-import', ops_file('last.csv', "$ref[7],160.00,debited,\n"));
is($r->{rc}, 3, 'the database fails half-way: exit 3');
like($r->{err}, qr/nothing was applied/, 'it says so');
is_deeply(state_of(), \@want, 'the payment was not changed either');
psql('DROP TRIGGER t047_refuse ON declaration; DROP FUNCTION t047_refuse()');

$r = ops('result-import', ops_file('last.csv', "$ref[7],160.00,debited,\n"));
is($r->{out}, "1 rows: 1 applied, 0 unchanged, 0 rejected\n",
   'then it goes through');
$want[7] = "$people[7]{pid} 9 debited - debited -";

# ------------------------------------------- October tries again

$r = ops('debit-export', '--month', '2026-10', '--out', $out);
like($r->{out}, qr/2026-10: 6 debits made/,
     'October: the six failed ones again');
my %oct = map { $_->[0] => $_->[1] } psql(
    "SELECT insured_person_id, ref FROM debit_export_row"
    . " WHERE ref LIKE 'D202610-%'");
is_deeply([sort { $a <=> $b } keys %oct],
          [map { $people[$_]{pid} } 1 .. 6], 'the failed ones, no others');
is(psql_value("SELECT status || ' ' || to_char(applies_to_month, 'YYYY-MM')"
              . " || ' ' || coalesce(reason_code, '-') FROM declaration"
              . " WHERE insured_person_id = $people[1]{pid}"),
   'sent_to_bank 2026-10 -', 'the declaration goes to the bank again');

$r = ops('result-import', ops_file('oct.csv',
    "$oct{ $people[1]{pid} },160.00,debited,\n"));
is($r->{out}, "1 rows: 1 applied, 0 unchanged, 0 rejected\n",
   'October\'s result');
is_deeply([map { "@$_" } psql(
    "SELECT month, status, coalesce(reason_code, '-') FROM payment"
    . " WHERE insured_person_id = $people[1]{pid} ORDER BY month")],
    ['9 failed insufficient_balance', '10 debited -'],
    'the payments: September failed, October debited');

my $audit = audit_rows('ops.result_import');
is(scalar @$audit, 5, 'an audit row per committed run');
like($audit->[0][1], qr/"applied": 7.*"rejected": 10/,
     'with the counts');

done_testing();
