# The declaration window and the debit month, Beijing time whatever the
# server's time zone: writes from the 5th to the 25th of July to October
# and the 5th to the 20th of November, from the window_calendar table;
# outside it 403 window_closed with the next opening, while reads go on.
# The edges 4th/5th, 25th/26th, Nov 20th/21st at 23:59:59 and 00:00, with
# nginx (TZ) and PostgreSQL sessions (TimeZone) in UTC, and in zones far
# from China.  The receipt's debit: the month whose cut-off (the 18th,
# table debit_calendar) has not passed; after it, "too late" and the next.
#
# "now" is pinned with csibiz_test_now; nginx restarts for each time, the
# session stays in Redis.

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
my $version = 0;
my $seed = 0;

# a change at the pinned time: the answer
sub change {
    my (%o) = @_;
    my $r = account_put($p, { %{ self_card(seed => ++$seed) },
                              version => $version }, %o);
    $version = $r->{json}{version} if $r->{status} == 200;
    return $r;
}

sub at {
    my ($now, %o) = @_;
    start_bank_nginx(now => $now, %o);
}

sub open_at {
    my ($now, $name, %o) = @_;
    at($now, %o);
    my $r = change();
    is($r->{status}, 200, "$name: open, the change is stored")
        or diag($r->{body});
    is(account_get($p)->{json}{editable}, JSON::PP::true,
       "$name: GET says editable");
    return $r;
}

sub closed_at {
    my ($now, $name, $opens, $closes, %o) = @_;
    at($now, %o);
    my $before = audit_count();
    my $r = change();
    code_is($r, 403, 'window_closed', $name);
    is_deeply($r->{json}{error}{next_window},
              defined $opens ? { opens_at => $opens, closes_at => $closes }
                             : undef,
              "$name: the next window") or diag($r->{body});
    is(audit_count(), $before, "$name: nothing written");
    my $g = account_get($p);
    is($g->{status}, 200, "$name: reading is allowed");
    is_deeply([@{ $g->{json} }{qw(editable window)}],
              [JSON::PP::false,
               { open => JSON::PP::false, opens_at => $opens,
                 closes_at => $closes }],
              "$name: GET says closed, and when it opens");
    return $r;
}

# ------------------------------------------------------------- edges

my $r = open_at('2026-09-10 12:00:00+08', 'September 10th');
like($r->{json}{message}, qr/^本次信息将用于2026年9月的扣款（约9月25日）。$/,
     'the receipt: the September debit, about 25 Sep');
is_deeply($r->{json}{debit},
          { month => '2026-09', date => '2026-09-25',
            too_late_for_this_month => JSON::PP::false },
          'debit: 2026-09, on time');
like($r->{json}{receipt_no}, qr/^R20260910-\d{8}$/, 'a receipt number');

closed_at('2026-09-04 23:59:59+08', '4th 23:59:59',
          '2026-09-05T00:00:00+08:00', '2026-09-26T00:00:00+08:00');
open_at('2026-09-05 00:00:00+08', '5th 00:00:00');
open_at('2026-09-25 23:59:59+08', '25th 23:59:59');
closed_at('2026-09-26 00:00:00+08', '26th 00:00:00',
          '2026-10-05T00:00:00+08:00', '2026-10-26T00:00:00+08:00');

# the same instants written in UTC: the server's zone does not matter
closed_at('2026-09-25 16:00:00+00', '26th 00:00 Beijing as 16:00 UTC',
          '2026-10-05T00:00:00+08:00', '2026-10-26T00:00:00+08:00');
open_at('2026-09-25 15:59:59+00', '25th 23:59:59 Beijing as UTC');
open_at('2026-09-04 16:00:00+00', '5th 00:00 Beijing as UTC, 4th in UTC');
closed_at('2026-10-04 15:59:59+00', '4th 23:59:59 Beijing as UTC',
          '2026-10-05T00:00:00+08:00', '2026-10-26T00:00:00+08:00');

# nginx and PostgreSQL in zones far from China
open_at('2026-09-25 23:59:59+08', '25th 23:59:59, PostgreSQL in UTC+14',
        pg_tz => 'Pacific/Kiritimati', tz => 'America/Los_Angeles');
closed_at('2026-09-26 00:00:00+08', '26th 00:00, PostgreSQL in UTC-10',
          '2026-10-05T00:00:00+08:00', '2026-10-26T00:00:00+08:00',
          pg_tz => 'Pacific/Honolulu', tz => 'Pacific/Kiritimati');

# November closes on the 20th
$r = open_at('2026-11-20 23:59:59+08', 'November 20th 23:59:59');
is_deeply($r->{json}{debit},
          { month => '2027-09', date => '2027-09-25',
            too_late_for_this_month => JSON::PP::true },
          'November 20th: too late for November, the last debit month:'
          . ' next September');
closed_at('2026-11-21 00:00:00+08', 'November 21st 00:00:00',
          '2027-07-05T00:00:00+08:00', '2027-07-26T00:00:00+08:00');
closed_at('2026-11-04 23:59:59+08', 'November 4th 23:59:59',
          '2026-11-05T00:00:00+08:00', '2026-11-21T00:00:00+08:00');
open_at('2026-11-05 00:00:00+08', 'November 5th 00:00:00');

# outside the season
closed_at('2026-06-30 12:00:00+08', 'June',
          '2026-07-05T00:00:00+08:00', '2026-07-26T00:00:00+08:00');
closed_at('2026-12-31 23:59:59+08', 'New Year\'s Eve',
          '2027-07-05T00:00:00+08:00', '2027-07-26T00:00:00+08:00');
closed_at('2026-07-26 00:00:00+08', 'July 26th',
          '2026-08-05T00:00:00+08:00', '2026-08-26T00:00:00+08:00');

# ------------------------------------------------------ debit months

$r = open_at('2026-07-05 00:00:00+08', 'July 5th');
is_deeply($r->{json}{debit},
          { month => '2026-09', date => '2026-09-25',
            too_late_for_this_month => JSON::PP::false },
          'July: no July debit, the September one');

$r = open_at('2026-09-18 23:59:59+08', 'September 18th 23:59:59');
is($r->{json}{debit}{month}, '2026-09', 'the 18th: still September');
is($r->{json}{debit}{too_late_for_this_month}, JSON::PP::false,
   'the 18th: on time');

$r = open_at('2026-09-19 00:00:00+08', 'September 19th 00:00');
is_deeply($r->{json}{debit},
          { month => '2026-10', date => '2026-10-25',
            too_late_for_this_month => JSON::PP::true },
          'the 19th: too late for September, the October debit');
like($r->{json}{message},
     qr/^本月扣款信息已报送银行，本次信息将用于2026年10月的扣款（约10月25日）。$/,
     'the receipt says so');

at('2026-10-18 10:00:00+08');
$r = account_put($p, { %{ self_card(seed => ++$seed) }, version => $version },
                 lang => 'en');
$version = $r->{json}{version} if $r->{status} == 200;
is($r->{json}{message},
   'These bank details will be used for the October 2026 debit'
   . ' (about 25 Oct).', 'in English');
$r = open_at('2026-11-18 23:59:59+08', 'November 18th');
is($r->{json}{debit}{month}, '2026-11', 'November 18th: November');

# one pending declaration per debit month, each the latest change before
# that month's cut-off (a change after it is the next month's)
my $decl = declaration_rows($p);
is_deeply([map { "@$_[1, 2]" } @$decl],
          ['submitted 2026-09', 'submitted 2026-10', 'submitted 2027-09',
           'submitted 2026-11'],
          'one declaration per debit month (November 20th: after the last '
          . 'cut-off of 2026, next September)');
is($decl->[3][0], $r->{json}{receipt_no},
   'November\'s with the latest receipt number');
like($decl->[0][0], qr/^R20260918-/,
     'September\'s: the change of the 18th, its last day');
is(account_get($p)->{json}{declaration}{receipt_no}, $decl->[2][0],
   'GET shows the one submitted last by the test clock (November 20th)');

# ---------------------------------------------- the calendar is data

psql("UPDATE window_calendar SET close_day = 27"
     . " WHERE year = 2026 AND month = 10");
open_at('2026-10-27 20:00:00+08', 'an exceptional day added by ops');
closed_at('2026-10-28 00:00:00+08', 'and after it',
          '2026-11-05T00:00:00+08:00', '2026-11-21T00:00:00+08:00');
psql("UPDATE window_calendar SET close_day = 25"
     . " WHERE year = 2026 AND month = 10");

psql("DELETE FROM window_calendar WHERE year > 2026");
closed_at('2026-11-21 00:00:00+08', 'no window after this one: null',
          undef, undef);
psql("INSERT INTO window_calendar (year, month, open_day, close_day)"
     . " SELECT y, m, 5, CASE WHEN m = 11 THEN 20 ELSE 25 END"
     . " FROM generate_series(2027, 2028) y, generate_series(7, 11) m");

# ---------------------------------------------------- the real clock

start_bank_nginx();
my $g = account_get($p);
is($g->{json}{editable} ? 't' : 'f',
   psql_value('SELECT is_open FROM window_at(now())'),
   'without csibiz_test_now: PostgreSQL\'s clock');

# the directive is checked when the configuration is read
for my $bad ('tomorrow', '2026-9-5 00:00', '2026-09-05 00:00; DROP') {
    my $ok = eval { start_bank_nginx(now => $bad); 1 };
    ok(!$ok, "csibiz_test_now \"$bad\" is refused");
    like($@ // '', qr/invalid csibiz_test_now/, "\"$bad\": said why");
}

done_testing();
