# tools/debit-export: the month's files, one per bank, exactly as
# documented (account numbers opened, the holder's name, the premium),
# mode 0600; pending payments and declarations sent_to_bank; who is left
# out (a later month, no account, a bank that does not debit); a second
# run gives the same bytes whatever changed since; a month that is not a
# debit month is refused; audit rows without account numbers.

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

use Encode ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my @names = qw(王小明 李朵朵 陈思远 赵一一 孙悟空 周小周 吴小吴);
my @people = map {
    { id => id_number(sprintf '11010520120520%03d', $_),
      card => sprintf('EXPORT%06d', $_), name => $names[$_ - 1] }
} 1 .. 7;

my $r = ops('roster-import', ops_file('roster.csv', join('', map {
    roster_line(id => $_->{id}, card => $_->{card}, name => $_->{name},
                phone => '13800138000') . "\n" } @people)));
is($r->{rc}, 0, 'roster imported') or diag($r->{out}, $r->{err});
$_->{pid} = person_id($_->{card}) for @people;

my @acct = (
    { bank => 'ICBC', no => card_no('622202', 19, 1) },
    { bank => 'CCB', no => card_no('621700', 19, 2), relative => '王丽娟' },
    { bank => 'ICBC', no => card_no('622208', 19, 3) },
    { bank => 'BOC', no => '1234567890123456789', method => 'passbook',
      month => '2026-08' },
    { bank => 'ICBC', no => card_no('621226', 19, 5), month => '2026-10' },
    undef,
    { bank => 'WEBANK', no => card_no('623335', 19, 7) },
);
for my $i (0 .. $#acct) {
    account_for($people[$i]{pid}, %{ $acct[$i] }) if $acct[$i];
}

my $out = ops_dir() . '/files';
my $counts = sub {
    join ' ', map { psql_value("SELECT count(*) FROM $_") }
              qw(payment debit_export debit_export_row);
};

# ------------------------------------------------------- refusals

$r = ops('debit-export', '--help');
is($r->{rc}, 0, '--help: exit 0');
like($r->{out},
     qr/ref,bank,method,account_no,account_holder,si_card_no,amount,month/,
     '--help shows the layout');
is(ops('debit-export', '--month', '2026-9', '--out', $out)->{rc}, 2,
   'a month not YYYY-MM: usage error');
is(ops('debit-export', '--month', '2026-09')->{rc}, 2, 'no --out: usage');

$r = ops('debit-export', '--month', '2026-12', '--out', $out);
is($r->{rc}, 3, 'December is no debit month: exit 3');
like($r->{err}, qr/not a debit month/, 'and says so');
is($counts->(), '0 0 0', 'nothing written');
ok(!-e $out || !glob("$out/*"), 'no file');

# ---------------------------------------------------- the first run

$r = ops('debit-export', '--month', '2026-09', '--out', $out);
is($r->{rc}, 0, 'September: exit 0') or diag($r->{err});
like($r->{out}, qr/2026-09: 4 debits made, 640\.00 yuan/, 'four debits');

my %ref = map { $_->[0] => $_->[1] } psql(
    "SELECT insured_person_id, ref FROM debit_export_row");
my $line = sub {
    my ($i, $holder) = @_;
    my $a = $acct[$i];
    return join(',', $ref{ $people[$i]{pid} }, $a->{bank},
                $a->{method} // 'card', $a->{no},
                $holder // $people[$i]{name}, $people[$i]{card}, '160.00',
                '2026-09') . "\n";
};
my $head = "ref,bank,method,account_no,account_holder,si_card_no,amount,"
           . "month\n";
my %want = (
    'debit-2026-09-BOC.csv'  => $head . $line->(3),
    'debit-2026-09-CCB.csv'  => $head . $line->(1, '王丽娟'),
    'debit-2026-09-ICBC.csv' => $head . $line->(0) . $line->(2),
);

opendir my $dh, $out or die "$out: $!";
my @files = sort grep { !/^\.\.?$/ } readdir $dh;
is_deeply(\@files, [sort keys %want],
          'one file per bank, nothing else in the directory');
my %got = map { $_ => Encode::decode('UTF-8', file_bytes("$out/$_")) }
          @files;
is_deeply(\%got, \%want, 'the lines: ref, bank, method, the account '
          . 'number, the holder (the relative\'s name), card, 160.00, month');
is_deeply([map { sprintf '%o', (stat "$out/$_")[2] & 07777 } @files],
          ['600', '600', '600'], 'the files are mode 0600');
is(sprintf('%o', (stat $out)[2] & 07777), '700',
   'the directory it made is mode 0700');

is_deeply([map { "@$_" } psql(
    "SELECT insured_person_id, year, month, amount_cents, status"
    . " FROM payment ORDER BY insured_person_id")],
    [map { "$people[$_]{pid} 2026 9 16000 pending" } 0 .. 3],
    'a pending payment of the premium for each');
is_deeply([map { "@$_" } psql(
    "SELECT insured_person_id, status, to_char(applies_to_month, 'YYYY-MM')"
    . " FROM declaration ORDER BY insured_person_id")],
    [(map { "$people[$_]{pid} sent_to_bank 2026-09" } 0 .. 3),
     "$people[4]{pid} submitted 2026-10",
     "$people[6]{pid} submitted 2026-09"],
    'declarations sent_to_bank (an August leftover too); October\'s and '
    . 'a bank without debits wait');

# ------------------------------------------------------- the second run

my %first = map { $_ => file_bytes("$out/$_") } @files;

# what changes afterwards does not change the month's files: a new
# account and declaration, the roster's name
account_for($people[0]{pid}, bank => 'ICBC', no => card_no('622202', 19, 9),
            month => '2026-09');
psql(Encode::encode('UTF-8', "UPDATE insured_person SET name = '王大明'"
                    . " WHERE id = $people[0]{pid}"));
my $before = $counts->();

$r = ops('debit-export', '--month', '2026-09', '--out', $out);
is($r->{rc}, 0, 'September again: exit 0');
like($r->{out}, qr/made before, 4 debits; writing the same files/,
     'it says the export was made before');
is_deeply({ map { $_ => file_bytes("$out/$_") } @files }, \%first,
          'the same bytes');
is($counts->(), $before, 'no payment or line added');

unlink "$out/$_" for @files;
ops('debit-export', '--month', '2026-09', '--out', $out);
is_deeply({ map { $_ => file_bytes("$out/$_") } @files }, \%first,
          'files lost: written again, the same bytes');

# -------------------------------------------------------------- October

$r = ops('debit-export', '--month', '2026-10', '--out', $out);
is($r->{rc}, 0, 'October: exit 0');
like($r->{out}, qr/2026-10: 1 debits made/,
     'October: the October declaration only (September\'s still pending)');
ok(-f "$out/debit-2026-10-ICBC.csv", 'its ICBC file');

# ------------------------------------------------------------- privacy

my $dump = join "\n", map { psql_value(
    "SELECT coalesce(string_agg(row_to_json(t)::text, ''), '') FROM $_ t") }
    qw(payment debit_export debit_export_row declaration audit_log);
my @leaks = grep { index($dump, $_->{no}) >= 0 } grep { $_ } @acct;
is_deeply(\@leaks, [], 'no account number in plain text in the database');

my $audit = audit_rows('ops.debit_export');
is(scalar @$audit, 4, 'an audit row per run that got as far as the export');
like($audit->[0][1], qr/"banks": \{"BOC": 1, "CCB": 1, "ICBC": 2\}/,
     'the first: counts per bank');
like($audit->[1][1], qr/"created": false/, 'a re-run says created false');

done_testing();
