# The debit cut-off (docs/operations.md, "A declaration's life"), through
# the HTTP API under the test clock and the real ops tools.  A failed
# September debit; one parent changes the card on the October cut-off day
# (in October's file) and again a second after it, the other a second
# after it (in November's, the answer says so); October's file, made "on the 18th at 23:59" (in a
# transaction rolled back), on the 20th and again, is the same and holds
# the card in force at the cut-off; the October result lands on the
# declaration exported; November's file takes the later change, and a
# change after November's cut-off is for the next year.  Every time a
# request writes follows the test clock.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::Csibiz::Ops;
use Test::More;

use Encode ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

# A fails in September and changes the card after October's cut-off; B
# fails in September and changes on the cut-off day; C is debited in
# September.
my @kids = map {
    { id => id_number(sprintf '11010820150601%03d', 200 + $_),
      card => sprintf('CUT%09d', $_), phone => sprintf('1390001%04d', $_),
      name => '张小军', pw => "correct horse battery staple $_" }
} 1 .. 3;
my ($A, $B, $C) = @kids;
$SECRETS{ $_->{id} } = $SECRETS{ $_->{phone} } = 1 for @kids;

my $r = ops('roster-import', ops_file('roster.csv', join '', map {
    roster_line(id => $_->{id}, name => $_->{name}, card => $_->{card},
                phone => $_->{phone}, school => '海淀实验小学') . "\n"
} @kids));
is($r->{rc}, 0, 'roster imported') or diag($r->{out}, $r->{err});

sub at {
    my ($now) = @_;
    stop_nginx();
    start_query_nginx(now => $now);
}

# a PUT of $form (a fresh session: a change needs a recent password)
sub put {
    my ($p, $form) = @_;
    login($p);
    my $v = account_get($p)->{json}{version} // 0;
    my $res = account_put($p, { %$form, version => $v });
    is($res->{status}, 200, "$p->{card}: bank details accepted")
        or diag($res->{body});
    return $res->{json};
}

# the lines of a month's files: account number -> [fields]
sub lines_of {
    my ($dir, $month) = @_;
    my %line;
    for my $f (glob "$dir/debit-$month-*.csv") {
        my @rows = split /\n/, Encode::decode('UTF-8', file_bytes($f));
        shift @rows;
        for (@rows) {
            my @f = split /,/;
            $line{ $f[3] } = \@f;
        }
    }
    return \%line;
}

sub files_of {
    my ($dir, $month) = @_;
    return { map { (split m{/})[-1] => file_bytes($_) }
             glob "$dir/debit-$month-*.csv" };
}

# the rows of a month's export, as the files are written from them
my $Rows = "SELECT 'row', r.ref, r.bank_code, r.seq, r.method,"
    . " encode(r.account_enc, 'hex'), r.account_holder, r.si_card_no,"
    . " r.amount_cents FROM debit_export_row r JOIN debit_export e"
    . " ON e.id = r.export_id WHERE e.year = %d AND e.month = %d"
    . " ORDER BY r.bank_code, r.seq";

# the export of a month made in a transaction that is rolled back: what
# the files would hold if they were made now
sub export_now {
    my ($year, $month) = @_;
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [Test::Csibiz::_psql_bin(), '-X', '-q', '-A', '-t', '-F', ',',
         '-v', 'ON_ERROR_STOP=1', '-d', Test::Csibiz::pg_conninfo(),
         '-c', 'BEGIN',
         '-c', "SELECT 1 FROM debit_export_make($year, $month)",
         '-c', sprintf($Rows, $year, $month), '-c', 'ROLLBACK']);
    die "export_now: $err" if $rc;
    return [grep { s/^row,// } split /\n/, Encode::decode('UTF-8', $out)];
}

sub export_rows {
    my ($year, $month) = @_;
    return [map { Encode::decode('UTF-8', join ',', @$_[1 .. $#$_]) }
            psql(sprintf $Rows, $year, $month)];
}

sub decl {
    my ($p) = @_;
    return [map { "@$_" } psql(
        "SELECT receipt_no, status, to_char(applies_to_month, 'YYYY-MM'),"
        . " coalesce(reason_code, '-') FROM declaration"
        . " WHERE insured_person_id = $p->{pid} ORDER BY id")];
}

# ---------------------------------------------------------- September

at('2026-09-10 12:00:00+08');
my %card;
for my $i (0 .. $#kids) {
    my $p = $kids[$i];
    register_account($p);
    $p->{pid} = person_id($p->{card});
    $card{ $p->{card} }{sep} = self_card(seed => 300 + $i);
    $p->{sep} = put($p, $card{ $p->{card} }{sep})->{receipt_no};
}

my $dir = ops_dir() . '/debit';
$r = ops('debit-export', '--month', '2026-09', '--out', $dir);
is($r->{rc}, 0, 'September exported') or diag($r->{err});
my $sep = lines_of($dir, '2026-09');
my $result = "ref,amount,status,reason_code\n"
    . "$sep->{ $card{ $A->{card} }{sep}{account_no} }[0],160.00,failed,"
    . "insufficient_balance\n"
    . "$sep->{ $card{ $B->{card} }{sep}{account_no} }[0],160.00,failed,"
    . "no_such_account\n"
    . "$sep->{ $card{ $C->{card} }{sep}{account_no} }[0],160.00,debited,\n";
$r = ops('result-import', ops_file('sep.csv', $result));
is($r->{out}, "3 rows: 3 applied, 0 unchanged, 0 rejected\n",
   'September: A and B failed, C debited');

# ------------------------------------------------- October's cut-off

# B on the cut-off day's last second: October's file
at('2026-10-18 23:59:59+08');
$card{ $B->{card} }{oct} = self_card(seed => 311);
my $put = put($B, $card{ $B->{card} }{oct});
my $put_b18 = $put->{receipt_no};
is_deeply([@{ $put->{debit} }{qw(month too_late_for_this_month)}],
          ['2026-10', JSON::PP::false()],
          'B on 18 Oct 23:59:59: for October');

# what a file made at this moment would hold
my $at_cutoff = export_now(2026, 10);
is(scalar @$at_cutoff, 2, 'a file made at the cut-off: A and B');

# A a second after the cut-off: November's file
at('2026-10-19 00:00:00+08');
$card{ $A->{card} }{nov} = self_card(seed => 312);
$put = put($A, $card{ $A->{card} }{nov});
is_deeply([@{ $put->{debit} }{qw(month too_late_for_this_month)}],
          ['2026-11', JSON::PP::true()],
          'A on 19 Oct 00:00:00: too late, for November');
my $a_new = $put->{receipt_no};

# B changes again after the cut-off: November's; the declaration of the
# 18th stays October's
$card{ $B->{card} }{nov} = self_card(seed => 313);
my $b_put = put($B, $card{ $B->{card} }{nov});
is($b_put->{debit}{month}, '2026-11', 'B on 19 Oct: for November');
like($a_new, qr/^R20261019-/, 'the receipt number follows the test clock');

my $dec = query_get($A, '/api/declarations')->{json}{declarations};
is_deeply([map { [@$_{qw(receipt_no applies_to status submitted_at)}] }
           @$dec],
          [[$a_new, '2026-11', 'submitted', '2026-10-19T00:00:00+08:00'],
           [$A->{sep}, '2026-09', 'failed', '2026-09-10T12:00:00+08:00']],
          'A: the new declaration for November, submitted at the test '
          . 'clock\'s time; September\'s failed one');
is(psql_value("SELECT count(*) FROM declaration d JOIN bank_account a"
              . " ON a.insured_person_id = d.insured_person_id"
              . " WHERE d.receipt_no = '$a_new'"
              . " AND d.created_at = '2026-10-19 00:00:00+08'"
              . " AND d.updated_at = d.created_at"
              . " AND d.submitted_at = d.created_at"
              . " AND a.updated_at = d.created_at"),
   1, 'created_at, updated_at, submitted_at of the declaration and the '
      . 'account: the test clock');
is(psql_value("SELECT count(*) FROM audit_log WHERE receipt_no = '$a_new'"
              . " AND at = '2026-10-19 00:00:00+08'"),
   1, 'the audit row: the test clock');

# ------------------------------------------------- October's export

at('2026-10-20 10:00:00+08');
$r = ops('debit-export', '--month', '2026-10', '--out', $dir);
is($r->{rc}, 0, 'October exported on the 20th') or diag($r->{err});
like($r->{out}, qr/2 debits made, 320\.00 yuan/, 'October: A and B');

my $oct = lines_of($dir, '2026-10');
is_deeply([sort keys %$oct],
          [sort $card{ $A->{card} }{sep}{account_no},
                $card{ $B->{card} }{oct}{account_no}],
          'October\'s file: A\'s old card (the change after the cut-off '
          . 'is not in it), B\'s card of the cut-off day');
is_deeply([map { $_->[7] } values %$oct], ['2026-10', '2026-10'],
          'the month is October');
is_deeply(export_rows(2026, 10), $at_cutoff,
          'the same lines as a file made at the cut-off');

my $first = files_of($dir, '2026-10');
$r = ops('debit-export', '--month', '2026-10', '--out', $dir);
like($r->{out}, qr/made before/, 'October again');
is_deeply(files_of($dir, '2026-10'), $first, 'twice: the same bytes');

at('2026-10-24 10:00:00+08');
unlink glob "$dir/debit-2026-10-*.csv";
ops('debit-export', '--month', '2026-10', '--out', $dir);
is_deeply(files_of($dir, '2026-10'), $first,
          'on another day: the same bytes');

is_deeply(decl($A), ["$A->{sep} sent_to_bank 2026-10 -",
                     "$a_new submitted 2026-11 -"],
          'A: the exported declaration sent_to_bank for October, the '
          . 'new one waits for November');

is_deeply([@{ decl($B) }[1, 2]],
          ["$put_b18 sent_to_bank 2026-10 -",
           "$b_put->{receipt_no} submitted 2026-11 -"],
          'B: the declaration of the 18th sent_to_bank for October, the '
          . 'change of the 19th waits for November');

# ------------------------------------------------- October's result

my $ref_a = $oct->{ $card{ $A->{card} }{sep}{account_no} }[0];
my $ref_b = $oct->{ $card{ $B->{card} }{oct}{account_no} }[0];
$r = ops('result-import', ops_file('oct.csv',
    "$ref_a,160.00,failed,insufficient_balance\n$ref_b,160.00,debited,\n"));
is($r->{out}, "2 rows: 2 applied, 0 unchanged, 0 rejected\n",
   'October\'s result imported');
is_deeply(decl($A), ["$A->{sep} failed 2026-10 insufficient_balance",
                     "$a_new submitted 2026-11 -"],
          'A: the result on the declaration exported; the new one waits');
is(psql_value("SELECT d.receipt_no FROM debit_export_row r"
              . " JOIN declaration d ON d.id = r.declaration_id"
              . " WHERE r.ref = '$ref_b'"),
   psql_value("SELECT receipt_no FROM declaration WHERE insured_person_id"
              . " = $B->{pid} AND status = 'debited'"),
   'B: debited, the declaration of the cut-off day');

at('2026-11-05 10:00:00+08');
$dec = query_get($A, '/api/declarations')->{json}{declarations};
is_deeply([map { [@$_{qw(receipt_no applies_to status reason_code)}] }
           @$dec],
          [[$a_new, '2026-11', 'submitted', undef],
           [$A->{sep}, '2026-10', 'failed', 'insufficient_balance']],
          'A sees the October failure on the old card\'s declaration');

# ------------------------------------------------ November's export

$r = ops('debit-export', '--month', '2026-11', '--out', $dir);
is($r->{rc}, 0, 'November exported') or diag($r->{err});
my $nov = lines_of($dir, '2026-11');
is_deeply([keys %$nov], [$card{ $A->{card} }{nov}{account_no}],
          'November: A\'s new card only (B and C debited this year)');
is_deeply(decl($A), ["$A->{sep} failed 2026-10 insufficient_balance",
                     "$a_new sent_to_bank 2026-11 -"],
          'A: the new declaration sent_to_bank for November');

# after November's cut-off: nothing more this year
at('2026-11-19 00:00:00+08');
$card{ $A->{card} }{later} = self_card(seed => 314);
$put = put($A, $card{ $A->{card} }{later});
is_deeply([@{ $put->{debit} }{qw(month too_late_for_this_month)}],
          ['2027-09', JSON::PP::true()],
          'a change after November\'s cut-off: the next year\'s September');

my $logs = logs_text();
is_deeply([grep { index($logs, $_) >= 0 }
           (keys %SECRETS,
            map { $_->{account_no} } map { values %$_ } values %card)],
          [], 'no ID, phone or account number in the logs');

done_testing();
