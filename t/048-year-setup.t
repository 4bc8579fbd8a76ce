# tools/year-setup: a new year's window calendar (July-November, days
# 5-25, November 5-20 by default), debit months and premium; a second run
# changes nothing; overrides; the premium fixed once the year has a
# debit; argument errors; the audit rows; and the window the portal then
# uses for that year (window_at, debit_for).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Ops;
use Test::More;

# Calendar tables are reference data, kept by the test reset: the test
# years are cleared first.
ensure_backends();
psql("DELETE FROM $_ WHERE year IN (2097, 2098)")
    for qw(window_calendar debit_calendar premium);

sub calendar {
    my ($year) = @_;
    return {
        window => join(' ', map { "$_->[0]:$_->[1]-$_->[2]" } psql(
            "SELECT month, open_day, close_day FROM window_calendar"
            . " WHERE year = $year ORDER BY month")),
        debit => join(' ', map { "$_->[0]:$_->[1]/$_->[2]" } psql(
            "SELECT month, debit_day, cutoff_day FROM debit_calendar"
            . " WHERE year = $year ORDER BY month")),
        premium => psql_value("SELECT amount_cents FROM premium"
                              . " WHERE year = $year"),
    };
}

# ---------------------------------------------------------------- usage

my $r = ops('year-setup', '--help');
is($r->{rc}, 0, '--help: exit 0');
like($r->{out}, qr/November 5-20/, '--help: the default window');

for my $bad (['--premium', '160'],
             ['--year', '2098'],
             ['--year', '1999', '--premium', '160'],
             ['--year', '2098', '--premium', '1.5'],
             ['--year', '2098', '--premium', '0'],
             ['--year', '2098', '--premium', '160', '--window', '13:5-25'],
             ['--year', '2098', '--premium', '160', '--window', '7:25-5'],
             ['--year', '2098', '--premium', '160', '--window', '2:1-30'],
             ['--year', '2098', '--premium', '160', '--window', '7:5-25',
              '--window', '7:6-20'],
             ['--year', '2098', '--premium', '160', '--debit-months', '9;10'],
             ['--year', '2098', '--premium', '160', '--debit-months',
              '11,12'],
             ['--year', '2098', '--premium', '160', '--cutoff-day', '26']) {
    is(ops('year-setup', @$bad)->{rc}, 2, "usage error: @$bad");
}
is_deeply(calendar(2098), { window => '', debit => '', premium => undef },
          'nothing written by them');

# -------------------------------------------------------------- defaults

$r = ops('year-setup', '--year', '2098', '--premium', '160');
is($r->{rc}, 0, 'a new year: exit 0') or diag($r->{err});
is($r->{out}, "year-setup: 2098: 5 window months and 3 debit months "
              . "changed, premium set to 160 yuan\n", 'what it did');
is_deeply(calendar(2098), {
    window => '7:5-25 8:5-25 9:5-25 10:5-25 11:5-20',
    debit => '9:25/18 10:25/18 11:25/18',
    premium => 16000 }, 'the default calendar and the premium in cents');

$r = ops('year-setup', '--year', '2098', '--premium', '160.00');
is($r->{out}, "year-setup: 2098: already so, nothing changed\n",
   'a second run changes nothing');

is_deeply([psql("SELECT is_open, opens_at AT TIME ZONE 'Asia/Shanghai'"
                . " FROM window_at('2098-08-26 12:00+08')")],
          [['f', '2098-09-05 00:00:00']],
          'the portal then knows the year\'s windows');
is(psql_value("SELECT debit_month FROM debit_for('2098-09-19 10:00+08')"),
   '2098-10-01', 'and its debit months');

# ------------------------------------------------------------ overrides

$r = ops('year-setup', '--year', '2098', '--premium', '180.50',
         '--window', '7:1-31', '--window', '11:5-15', '--debit-months',
         '10,11', '--debit-day', '20', '--cutoff-day', '15');
is($r->{rc}, 0, 'overrides: exit 0');
is_deeply(calendar(2098), {
    window => '7:1-31 11:5-15', debit => '10:20/15 11:20/15',
    premium => 18050 }, 'exactly the windows and debit months given');
$r = ops('year-setup', '--year', '2098', '--premium', '180.50',
         '--window', '7:1-31', '--window', '11:5-15', '--debit-months',
         '10,11', '--debit-day', '20', '--cutoff-day', '15');
like($r->{out}, qr/already so/, 'and a second run changes nothing');

# --------------------------------------------- premium fixed by debits

ops('year-setup', '--year', '2097', '--premium', '160');
my $pid = roster_add(id_number => id_number('11010520120520001'),
                     si_card => 'YEARSETUP001');
psql("INSERT INTO payment (insured_person_id, year, month, amount_cents,"
     . " status) VALUES ($pid, 2097, 9, 16000, 'pending')");
$r = ops('year-setup', '--year', '2097', '--premium', '170');
is($r->{rc}, 3, 'a new premium for a year with debits: exit 3');
like($r->{err}, qr/has debits already/, 'it says why');
is(calendar(2097)->{premium}, 16000, 'the premium stays');
$r = ops('year-setup', '--year', '2097', '--premium', '160',
         '--window', '8:5-25');
is($r->{rc}, 0, 'the calendar may still change');
is(calendar(2097)->{window}, '8:5-25', 'it did');
psql("DELETE FROM payment WHERE year = 2097");

# ---------------------------------------------------------------- audit

my $audit = audit_rows('ops.year_setup');
is(scalar @$audit, 6, 'an audit row per committed run');
like($audit->[0][1], qr/"year": 2098/, 'naming the year');

psql("DELETE FROM $_ WHERE year IN (2097, 2098)")
    for qw(window_calendar debit_calendar premium);

done_testing();
