# GET /api/payments: per year and month, newest first, the amount and the
# status, and for a failed debit the reason, plain advice (insufficient
# balance: keep the premium + 10 yuan, from the premium table) and the day
# before which to fix it for the next debit (the 19th of the next month);
# November is the year's last debit month: no fix-by day, the advice says
# what to do instead.  A result shows from the 5th of the next month
# (csibiz_payment_result_day), Beijing time: "pending" before, without a
# reason.  Only the logged-in parent's; 401, 405, 503.
#
# Rows are written with SQL (the result import is tested elsewhere).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::More;

use Encode ();

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_query_nginx(now => '2026-12-10 12:00:00+08');

my $A = parent(1);
my $B = parent(2);

my $r = query_get($A, '/api/payments');
is($r->{status}, 200, 'none yet: 200') or diag($r->{body});
is_deeply($r->{json}, { premium_cents => 16000, payments => [] },
          'none yet: this year\'s premium, []');
is($r->{headers}{'cache-control'}, 'no-store', 'Cache-Control: no-store');

# ------------------------------------------------ A's years, newest first

add_payment($A, 2025, 11, 'debited');
add_payment($A, 2026, 9, 'failed', 'insufficient_balance');
add_payment($A, 2026, 11, 'failed', 'no_such_account');
add_payment($A, 2026, 10, 'debited');
add_payment($B, 2026, 9, 'failed', 'name_mismatch', amount => 15000);

my $sep = '请在账户中存入足够金额，并保持余额不少于170.00元（保费加10元）。'
          . '请在10月19日前办妥，以便2026年10月扣款。';
my $last = '2026年11月是本年度最后一次扣款，本年度不再扣款。'
           . '请联系学校（幼儿园）或所在街道（乡镇）社保所办理缴费。';

$r = query_get($A, '/api/payments');
is($r->{status}, 200, 'A: 200');
is_deeply($r->{json}, { premium_cents => 16000, payments => [
    { year => 2026, month => 11, amount_cents => 16000, status => 'failed',
      status_text => '扣款失败', reason_code => 'no_such_account',
      reason_text => '账号不存在或已销户',
      advice => '请核对开户银行和账号，登录本网站改为正确的借记卡或存折账号。'
                . $last,
      fix_by => undef, last_debit_month => JSON::PP::true },
    { year => 2026, month => 10, amount_cents => 16000, status => 'debited',
      status_text => '扣款成功', reason_code => undef, reason_text => undef,
      advice => undef, fix_by => undef,
      last_debit_month => JSON::PP::false },
    { year => 2026, month => 9, amount_cents => 16000, status => 'failed',
      status_text => '扣款失败', reason_code => 'insufficient_balance',
      reason_text => '账户余额不足', advice => $sep,
      fix_by => '2026-10-19', last_debit_month => JSON::PP::false },
    { year => 2025, month => 11, amount_cents => 16000, status => 'debited',
      status_text => '扣款成功', reason_code => undef, reason_text => undef,
      advice => undef, fix_by => undef,
      last_debit_month => JSON::PP::true },
] }, 'newest (year, month) first; advice, fix-by, the last debit month')
    or diag($r->{body});

$r = query_get($A, '/api/payments', lang => 'en');
is($r->{json}{payments}[2]{advice},
   'Put money into the account and keep at least 170.00 yuan in it (the'
   . ' premium plus 10 yuan). Do it before 19 October for the October 2026'
   . ' debit.', 'English: the advice for September');
like($r->{json}{payments}[0]{advice},
     qr/November 2026 was the year's last debit: there is no other this year\./,
     'English: November, the last debit');
is($r->{json}{payments}[1]{status_text}, 'Debited.', 'English: status');

# the bytes of the answer, as payments_get() wrote them before its rows
# were joined in one statement (payment_json() per row): a rewrite for
# speed must not change one
my %bytes = (zh => <<'ZH', en => <<'EN');
{"payments": [{"year": 2026, "month": 11, "advice": "请核对开户银行和账号，登录本网站改为正确的借记卡或存折账号。2026年11月是本年度最后一次扣款，本年度不再扣款。请联系学校（幼儿园）或所在街道（乡镇）社保所办理缴费。", "fix_by": null, "status": "failed", "reason_code": "no_such_account", "reason_text": "账号不存在或已销户", "status_text": "扣款失败", "amount_cents": 16000, "last_debit_month": true},
 {"year": 2026, "month": 10, "advice": null, "fix_by": null, "status": "debited", "reason_code": null, "reason_text": null, "status_text": "扣款成功", "amount_cents": 16000, "last_debit_month": false},
 {"year": 2026, "month": 9, "advice": "请在账户中存入足够金额，并保持余额不少于170.00元（保费加10元）。请在10月19日前办妥，以便2026年10月扣款。", "fix_by": "2026-10-19", "status": "failed", "reason_code": "insufficient_balance", "reason_text": "账户余额不足", "status_text": "扣款失败", "amount_cents": 16000, "last_debit_month": false},
 {"year": 2025, "month": 11, "advice": null, "fix_by": null, "status": "debited", "reason_code": null, "reason_text": null, "status_text": "扣款成功", "amount_cents": 16000, "last_debit_month": true}], "premium_cents": 16000}
ZH
{"payments": [{"year": 2026, "month": 11, "advice": "Check the bank and the account number, and enter the right debit card or passbook on this site. November 2026 was the year's last debit: there is no other this year. Please contact the school (or kindergarten) or the local social insurance office to pay the premium.", "fix_by": null, "status": "failed", "reason_code": "no_such_account", "reason_text": "There is no such account, or it is closed.", "status_text": "The debit failed.", "amount_cents": 16000, "last_debit_month": true},
 {"year": 2026, "month": 10, "advice": null, "fix_by": null, "status": "debited", "reason_code": null, "reason_text": null, "status_text": "Debited.", "amount_cents": 16000, "last_debit_month": false},
 {"year": 2026, "month": 9, "advice": "Put money into the account and keep at least 170.00 yuan in it (the premium plus 10 yuan). Do it before 19 October for the October 2026 debit.", "fix_by": "2026-10-19", "status": "failed", "reason_code": "insufficient_balance", "reason_text": "The balance of the account was too low.", "status_text": "The debit failed.", "amount_cents": 16000, "last_debit_month": false},
 {"year": 2025, "month": 11, "advice": null, "fix_by": null, "status": "debited", "reason_code": null, "reason_text": null, "status_text": "Debited.", "amount_cents": 16000, "last_debit_month": true}], "premium_cents": 16000}
EN
for my $lang (qw(zh en)) {
    (my $want = $bytes{$lang}) =~ s/\n//g;
    is(query_get($A, '/api/payments', lang => $lang)->{body},
       Encode::encode_utf8($want), "$lang: the answer's bytes as before");
}

# ------------------------------------------------- another parent's data

$r = query_get($B, '/api/payments');
is_deeply([map { [@$_{qw(year month amount_cents reason_code)}] }
           @{ $r->{json}{payments} }],
          [[2026, 9, 15000, 'name_mismatch']], 'B sees B\'s payment only');
unlike($r->{body}, qr/no_such_account|insufficient/, 'nothing of A\'s');

# ---------------------------------- each reason: its advice and fix-by day

my %advice = (
    insufficient_balance => qr/^请在账户中存入足够金额，并保持余额不少于170\.00元/,
    name_mismatch        => qr/^请登录本网站修改银行信息：缴费人选择“亲属缴费”/,
    no_such_account      => qr/^请核对开户银行和账号/,
    not_debitable        => qr/^请登录本网站改用其他可以扣款的借记卡或储蓄存折/,
    insured_data_error   => qr/^请联系学校（幼儿园）核对并更正参保人信息/,
    other                => qr/^请联系开户银行或学校（幼儿园）了解原因/,
);

for my $code (sort keys %advice) {
    clear_queries($B);
    add_payment($B, 2026, 10, 'failed', $code);
    my $p = query_get($B, '/api/payments')->{json}{payments}[0];
    is($p->{reason_code}, $code, "$code: the code");
    like($p->{advice}, $advice{$code}, "$code: its advice");
    like($p->{advice}, qr/请在11月19日前办妥，以便2026年11月扣款。$/,
         "$code: before the 19th of November, for November's debit");
    is($p->{fix_by}, '2026-11-19', "$code: fix_by");
}

clear_queries($B);
add_payment($B, 2026, 10, 'failed', 'bank_on_fire');
is_deeply([@{ query_get($B, '/api/payments')->{json}{payments}[0] }
            {qw(reason_code reason_text)}], ['other', '其他原因'],
          'a reason code the texts do not know: other');

# November for each reason: no fix_by, the advice says what to do then
for my $code (sort keys %advice) {
    clear_queries($B);
    add_payment($B, 2026, 11, 'failed', $code);
    my $p = query_get($B, '/api/payments')->{json}{payments}[0];
    is_deeply([@$p{qw(fix_by last_debit_month)}], [undef, JSON::PP::true],
              "November $code: no fix_by, the last debit month");
    like($p->{advice}, qr/\Q$last\E$/, "November $code: what to do now");
}

# the premium comes from the premium table, per year
psql('UPDATE premium SET amount_cents = 18050 WHERE year = 2027');
END { eval { psql('UPDATE premium SET amount_cents = 16000'
                  . ' WHERE year = 2027') } }
start_query_nginx(now => '2027-10-20 12:00:00+08');
clear_queries($B);
add_payment($B, 2027, 9, 'failed', 'insufficient_balance', amount => 18050);
$r = query_get($B, '/api/payments');
is($r->{json}{premium_cents}, 18050, '2027: this year\'s premium');
like($r->{json}{payments}[0]{advice}, qr/不少于190\.50元/,
     '2027: keep at least 190.50 yuan (180.50 + 10)');
like(query_get($B, '/api/payments', lang => 'en')->{json}{payments}[0]
         {advice}, qr/keep at least 190\.50 yuan/, '2027: in English');
psql('UPDATE premium SET amount_cents = 16000 WHERE year = 2027');

# ------------------------------------ the result from the 5th, Beijing time

clear_queries($B);
add_payment($B, 2026, 9, 'failed', 'not_debitable');

sub shown_at {
    my ($now, %o) = @_;
    start_query_nginx(now => $now, %o);
    my $p = query_get($B, '/api/payments')->{json}{payments}[0];
    return [@$p{qw(status status_text reason_code advice fix_by)}];
}

my $hidden = ['pending', '等待扣款结果', undef, undef, undef];
my $shown = shown_at('2026-10-05 00:00:00+08');
is_deeply([@$shown[0, 2, 4]], ['failed', 'not_debitable', '2026-10-19'],
          '5 Oct 00:00:00: failed, with reason and fix_by');
result_day_edges(\&shown_at, $hidden, $shown);
is_deeply(shown_at('2026-10-08 12:00:00+08', result_day => 9), $hidden,
          'csibiz_payment_result_day 9: the 8th, pending');
is_deeply(shown_at('2026-10-09 00:00:00+08', result_day => 9), $shown,
          'csibiz_payment_result_day 9: the 9th, shown');

# November's result shows in December, a success the same way
clear_queries($B);
add_payment($B, 2026, 11, 'debited');
is(shown_at('2026-12-04 23:59:59+08')->[0], 'pending',
   'November debited: pending on 4 Dec');
is(shown_at('2026-12-05 00:00:00+08')->[0], 'debited',
   'November debited: shown on 5 Dec');

# a row the import left pending stays pending
clear_queries($B);
add_payment($B, 2026, 10, 'pending');
is(shown_at('2026-12-10 12:00:00+08')->[0], 'pending', 'stored pending');

# ---------------------------------------------------------- refusals

code_is(query_get(undef, '/api/payments'), 401, 'not_logged_in',
        'no cookie');
code_is(http_req(POST => '/api/payments', headers => {
            Cookie => "csibiz=$A->{sid}", 'X-CSRF-Token' => $A->{csrf},
            'Content-Type' => 'application/json' }, body => '{}'),
        405, 'method_not_allowed', 'POST');
$r = query_get($A, '/api/payments', method => 'HEAD');
is_deeply([$r->{status}, $r->{body}], [200, ''], 'HEAD: 200, no body');

backend_stop('postgres');
$r = query_get($A, '/api/payments');
code_is($r, 503, 'backend_unavailable', 'PostgreSQL down');
like($r->{headers}{'content-type'}, qr{^application/json}, '503: JSON');
backend_start('postgres');

done_testing();
