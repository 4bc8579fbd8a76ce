# The pages of html/ when the backend is slow or unavailable, and on a
# narrow screen, in headless Chromium (Test::Csibiz::Pages, the browser
# tests of t/060-pages.t).  Every slow action (login, the SMS code, the
# password reset, the bank account, loading home, the status and the
# payments) says that it is working, gives up after the client's timeout,
# and on no answer, no connection or a 503 offers 重试, which does it
# again; the bank account's retry after a lost answer gets the first
# answer.  The backend is slowed or cut off by intercepting the browser's
# requests (t/browser/pages.js, scenario slow).  At 360 px wide nothing
# scrolls sideways: the tables stack, one card per row (scenario narrow).
# The states on the way are audited with axe-core.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::Csibiz::Pages;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

need_browser();
ensure_backends();

# a parent registered and with an account on file (the API, captcha off),
# two declarations and two debits, one failed
start_query_nginx(now => '2026-10-10 12:00:00+08');
my $p = parent(1, name => '张小明', school => '北京市海淀区实验小学');
is(account_put($p, self_card(seed => 3, version => 0))->{status}, 200,
   'an account on file');
add_declaration($p, 'R20260905-000777', '2026-09', 'debited', undef,
                '2026-09-05 10:00:00+08');
add_payment($p, 2026, 9, 'debited', undef);
add_payment($p, 2026, 10, 'failed', 'insufficient_balance');

# the pages, with the captcha on
start_pages(now => '2026-10-10 12:00+08');
my $child = { payer => 'self', id => $p->{id}, card => $p->{card}, phone => $p->{phone},
              pw => $p->{pw}, card_no => card_no('622202', 19, 71) };
browse('slow', $child);
browse('narrow', $child);

done_testing();
