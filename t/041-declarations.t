# GET /api/declarations: each submission of bank details, newest first,
# with its receipt, the debit month it applies to, its status and its
# meaning in words, and for a failed debit the reason.  A debit's result
# shows from the 5th of the next month (csibiz_payment_result_day),
# Beijing time; before that the declaration is still "sent_to_bank".
# Only the logged-in parent's; 401, 405, 503.
#
# Rows are written with SQL (the ops tools that make them are tested
# elsewhere), except one made by PUT /api/account.

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

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_query_nginx(now => '2026-11-10 12:00:00+08');

my $A = parent(1);
my $B = parent(2);

my $r = query_get($A, '/api/declarations');
is($r->{status}, 200, 'none yet: 200') or diag($r->{body});
is_deeply($r->{json}, { declarations => [] }, 'none yet: []');
is($r->{headers}{'cache-control'}, 'no-store', 'Cache-Control: no-store');

# A's history: September failed, October debited, November sent to the
# bank, and a new submission
add_declaration($A, 'R20260906-00000001', '2026-09', 'failed',
                'insufficient_balance', '2026-09-06 09:30:00+08');
add_declaration($A, 'R20261008-00000002', '2026-10', 'debited', undef,
                '2026-10-08 10:00:00+08');
add_declaration($A, 'R20261106-00000003', '2026-11', 'sent_to_bank', undef,
                '2026-11-06 08:00:00+08');
add_declaration($A, 'R20261110-00000004', '2026-11', 'submitted', undef,
                '2026-11-10 11:00:00+08');
add_declaration($B, 'R20260907-00000005', '2026-09', 'failed',
                'no_such_account', '2026-09-07 09:30:00+08');

$r = query_get($A, '/api/declarations');
is($r->{status}, 200, 'A: 200');
is_deeply($r->{json}, { declarations => [
    { receipt_no => 'R20261110-00000004',
      submitted_at => '2026-11-10T11:00:00+08:00', applies_to => '2026-11',
      status => 'submitted', status_text => '已提交，等待发送银行',
      reason_code => undef, reason_text => undef },
    { receipt_no => 'R20261106-00000003',
      submitted_at => '2026-11-06T08:00:00+08:00', applies_to => '2026-11',
      status => 'sent_to_bank', status_text => '已发送银行，等待扣款结果',
      reason_code => undef, reason_text => undef },
    { receipt_no => 'R20261008-00000002',
      submitted_at => '2026-10-08T10:00:00+08:00', applies_to => '2026-10',
      status => 'debited', status_text => '扣款成功',
      reason_code => undef, reason_text => undef },
    { receipt_no => 'R20260906-00000001',
      submitted_at => '2026-09-06T09:30:00+08:00', applies_to => '2026-09',
      status => 'failed', status_text => '扣款失败',
      reason_code => 'insufficient_balance', reason_text => '账户余额不足' },
] }, 'newest first, each status in words, the reason of the failure')
    or diag($r->{body});

$r = query_get($A, '/api/declarations', lang => 'en');
is_deeply([map { $_->{status_text} } @{ $r->{json}{declarations} }],
          ['Submitted; waiting to be sent to the bank.',
           'Sent to the bank; waiting for the result of the debit.',
           'The premium was debited.', 'The debit failed.'],
          'English: the statuses');
is($r->{json}{declarations}[3]{reason_text},
   'The balance of the account was too low.', 'English: the reason');

# ------------------------------------------------- another parent's data

$r = query_get($B, '/api/declarations');
is_deeply([map { $_->{receipt_no} } @{ $r->{json}{declarations} }],
          ['R20260907-00000005'], 'B sees B\'s declaration only');
is($r->{json}{declarations}[0]{reason_code}, 'no_such_account',
   'B: its reason');

# ------------------------------------------- every reason, and unknown

my %reason_zh = (
    insufficient_balance => '账户余额不足',
    name_mismatch        => '选择了本人缴费，但账户不是参保人本人的',
    no_such_account      => '账号不存在或已销户',
    not_debitable        => '该账户不能扣款',
    insured_data_error   => '参保人信息有误',
    other                => '其他原因',
);
clear_queries($B);
for my $code (sort keys %reason_zh) {
    clear_queries($B);
    (my $rn = "R-$code") =~ tr/_/-/;
    add_declaration($B, $rn, '2026-10', 'failed', $code);
    my $d = query_get($B, '/api/declarations')->{json}{declarations}[0];
    is_deeply([@$d{qw(status reason_code reason_text)}],
              ['failed', $code, $reason_zh{$code}], "reason $code");
}
clear_queries($B);
add_declaration($B, 'R-unknown', '2026-10', 'failed', 'bank_on_fire');
is_deeply([@{ query_get($B, '/api/declarations')->{json}{declarations}[0] }
            {qw(reason_code reason_text)}], ['other', '其他原因'],
          'a reason code the texts do not know: other');

# ------------------------------------ the result from the 5th, Beijing time

clear_queries($B);
add_declaration($B, 'R-sep', '2026-09', 'failed', 'not_debitable',
                '2026-09-06 09:30:00+08');

sub shown_at {
    my ($now, %o) = @_;
    start_query_nginx(now => $now, %o);
    my $d = query_get($B, '/api/declarations')->{json}{declarations}[0];
    return [@$d{qw(status reason_code reason_text)}];
}

my $hidden = ['sent_to_bank', undef, undef];
my $shown = ['failed', 'not_debitable', '该账户不能扣款'];

result_day_edges(\&shown_at, $hidden, $shown);

# the day is the directive's
is_deeply(shown_at('2026-10-09 23:59:59+08', result_day => 10), $hidden,
          'csibiz_payment_result_day 10: the 9th, hidden');
is_deeply(shown_at('2026-10-10 00:00:00+08', result_day => 10), $shown,
          'csibiz_payment_result_day 10: the 10th, shown');
is_deeply(shown_at('2026-10-01 00:00:00+08', result_day => 1), $shown,
          'csibiz_payment_result_day 1: from the 1st');

# November's result in December; a debited one hidden the same way
clear_queries($B);
add_declaration($B, 'R-nov', '2026-11', 'debited');
is(shown_at('2026-12-04 23:59:59+08')->[0], 'sent_to_bank',
   'November debited: hidden on 4 Dec');
is(shown_at('2026-12-05 00:00:00+08')->[0], 'debited',
   'November debited: shown on 5 Dec');

# ------------------------------------ a declaration made through the API

start_query_nginx(now => '2026-09-10 12:00:00+08');
clear_queries($A);
my $put = account_put($A, { %{ self_card(seed => 41) }, version => 0 });
is($put->{status}, 200, 'PUT /api/account') or diag($put->{body});
add_declaration($A, 'R-older', '2025-11', 'failed', 'other',
                '2025-11-06 09:30:00+08');
$r = query_get($A, '/api/declarations');
is_deeply([map { [@$_{qw(receipt_no applies_to status)}] }
           @{ $r->{json}{declarations} }],
          [[$put->{json}{receipt_no}, '2026-09', 'submitted'],
           ['R-older', '2025-11', 'failed']],
          'the receipt of PUT /api/account comes first, submitted');
like($r->{json}{declarations}[0]{submitted_at},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/, 'its time, Beijing');

# ---------------------------------------------------------- refusals

code_is(query_get(undef, '/api/declarations'), 401, 'not_logged_in',
        'no cookie');
code_is(http_req(PUT => '/api/declarations', headers => {
            Cookie => "csibiz=$A->{sid}" }),
        405, 'method_not_allowed', 'PUT');
$r = query_get($A, '/api/declarations', method => 'HEAD');
is_deeply([$r->{status}, $r->{body}], [200, ''], 'HEAD: 200, no body');

backend_stop('postgres');
code_is(query_get($A, '/api/declarations'), 503, 'backend_unavailable',
        'PostgreSQL down');
backend_start('postgres');

done_testing();
