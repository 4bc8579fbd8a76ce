# The ops tools end to end with the portal: the schools' roster imported
# (tools/roster-import), parents register and enter their bank details
# through the HTTP API, the September debit files are exported
# (tools/debit-export: the numbers the parents typed, per bank), a bank
# answers with a debit and each failure reason (tools/result-import), and
# GET /api/payments and GET /api/declarations show the results from the
# 5th of October (pending / sent_to_bank the day before).  A new phone
# from the school then takes the portal away from the old one.

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

my @reasons = qw(insufficient_balance name_mismatch no_such_account
                 not_debitable insured_data_error other);

# eight children: the first debited, the next six failing for each
# reason, the last paid from the mother's account
my @kids = map {
    { id => id_number(sprintf '11010820150601%03d', 100 + $_),
      card => sprintf('TRIP%08d', $_), phone => sprintf('1390000%04d', $_),
      name => '李小华', pw => "correct horse battery staple $_" }
} 1 .. 8;
$SECRETS{ $_->{id} } = $SECRETS{ $_->{phone} } = 1 for @kids;

# --------------------------------------------------------------- roster

my $roster = join '', map {
    roster_line(id => $_->{id}, name => $_->{name}, card => $_->{card},
                phone => $_->{phone}, school => '海淀实验小学') . "\n"
} @kids;
my $r = ops('roster-import', ops_file('roster.csv',
    "id_number,name,si_card_no,category,school,phone,gender,birth_date\n"
    . $roster . "bad,row\n"));
is($r->{rc}, 1, 'roster: the bad row refused, exit 1');
is($r->{out}, "line 10: record: 2 columns, want 8\n"
              . "9 rows: 8 inserted, 0 updated, 0 unchanged, 1 rejected\n",
   'roster: eight children imported');

# ----------------------------------------- parents, through the API

start_query_nginx(now => '2026-09-10 12:00:00+08');

for my $i (0 .. $#kids) {
    my $p = $kids[$i];
    register_account($p);
    login($p);
    $p->{pid} = person_id($p->{card});
    $p->{form} = $i == 7 ? relative_card(seed => 700)
                         : self_card(seed => 100 + $i);
    $r = account_put($p, { %{ $p->{form} }, version => 0 });
    is($r->{status}, 200, "parent $i: bank details entered")
        or diag($r->{body});
    $p->{receipt} = $r->{json}{receipt_no};
}

# ---------------------------------------------------------------- export

my $dir = ops_dir() . '/debit';
$r = ops('debit-export', '--month', '2026-09', '--out', $dir);
is($r->{rc}, 0, 'export: exit 0') or diag($r->{err});
like($r->{out}, qr/8 debits made, 1280\.00 yuan/, 'export: 8 debits');

my %line;                           # account number -> the file's fields
for my $f (glob "$dir/debit-2026-09-*.csv") {
    my @rows = split /\n/, Encode::decode('UTF-8', file_bytes($f));
    shift @rows;
    for (@rows) {
        my @f = split /,/;
        $line{ $f[3] } = \@f;
    }
}
is_deeply([sort keys %line],
          [sort map { $_->{form}{account_no} } @kids],
          'export: exactly the numbers the parents typed');
is_deeply([map { "@{ $line{ $_->{form}{account_no} } }[1, 2, 4, 5, 6]" }
           @kids],
          [(map { "ICBC card 李小华 $_->{card} 160.00" } @kids[0 .. 6]),
           "CCB card 王丽娟 $kids[7]{card} 160.00"],
          'export: bank, method, holder, card and amount');

my $before = ops('debit-export', '--month', '2026-09', '--out', $dir);
is($before->{rc}, 0, 'export again: exit 0');

# ------------------------------------------------------- result import

my $result = "ref,amount,status,reason_code\n";
for my $i (0 .. $#kids) {
    my $ref = $line{ $kids[$i]{form}{account_no} }[0];
    $kids[$i]{ref} = $ref;
    $result .= $i == 0 || $i == 7 ? "$ref,160.00,debited,\n"
                                  : "$ref,160.00,failed,$reasons[$i - 1]\n";
}
$result .= "D202609-0000099999,160.00,debited,\n";
my $rfile = ops_file('result.csv', $result);
$r = ops('result-import', $rfile);
is($r->{rc}, 1, 'result: the unknown row refused, exit 1');
is($r->{out}, "line 10: ref: no such debit\n"
              . "9 rows: 8 applied, 0 unchanged, 1 rejected\n",
   'result: eight applied');
$r = ops('result-import', $rfile);
is($r->{out}, "line 10: ref: no such debit\n"
              . "9 rows: 0 applied, 8 unchanged, 1 rejected\n",
   'result again: nothing changes');

# ------------------------------------------- what the parents see

sub shown {
    my ($p) = @_;
    my $pay = query_get($p, '/api/payments');
    my $dec = query_get($p, '/api/declarations');
    return [$pay->{status}, $dec->{status},
            map { [@$_{qw(year month amount_cents status reason_code
                          fix_by)}] } @{ $pay->{json}{payments} || [] }],
           [map { [@$_{qw(receipt_no applies_to status reason_code)}] }
                @{ $dec->{json}{declarations} || [] }];
}

stop_nginx();
start_query_nginx(now => '2026-10-04 23:59:00+08');
my ($pay, $dec) = shown($kids[1]);
is_deeply($pay, [200, 200, [2026, 9, 16000, 'pending', undef, undef]],
          '4 October: the result is not shown yet: pending');
is_deeply($dec, [[$kids[1]{receipt}, '2026-09', 'sent_to_bank', undef]],
          '4 October: the declaration is sent_to_bank');

stop_nginx();
start_query_nginx(now => '2026-10-05 00:00:00+08');
for my $i (0 .. $#kids) {
    my $p = $kids[$i];
    my $ok = $i == 0 || $i == 7;
    my $reason = $ok ? undef : $reasons[$i - 1];
    ($pay, $dec) = shown($p);
    is_deeply($pay, [200, 200, [2026, 9, 16000, $ok ? 'debited' : 'failed',
                                $reason, $ok ? undef : '2026-10-19']],
              "5 October, parent $i: the payment "
              . ($ok ? 'debited' : "failed: $reason"));
    is_deeply($dec, [[$p->{receipt}, '2026-09', $ok ? 'debited' : 'failed',
                      $reason]],
              "5 October, parent $i: the declaration");
}

my $advice = query_get($kids[1], '/api/payments')->{json}{payments}[0]{advice};
like($advice, qr/170\.00/, 'insufficient balance: keep the premium + 10 yuan');

# --------------------------------------------- the school's new phone

$r = ops('roster-import', ops_file('phone.csv', roster_line(
    id => $kids[0]{id}, name => $kids[0]{name}, card => $kids[0]{card},
    phone => '13911112222', school => '海淀实验小学') . "\n"));
is($r->{out}, "1 rows: 0 inserted, 1 updated, 0 unchanged, 0 rejected\n",
   'a new declared phone for the first child');
code_is(query_get($kids[0], '/api/payments'), 403, 'phone_not_declared',
        'the old phone\'s parent no longer sees the payments');

# ---------------------------------------------------------------- logs

stop_nginx();
my $logs = logs_text();
my @leaks = grep { index($logs, $_) >= 0 }
            (keys %SECRETS, map { $_->{form}{account_no} } @kids);
is_deeply(\@leaks, [], 'no ID, phone or account number in the logs');

done_testing();
