# Two changes of the bank details at the same test clock time (found by
# tools/season): the second replaces the pending declaration, and its
# times are still the test clock's, not the real time that the triggers
# of updated_at and submitted_at fill in for a writer that leaves them
# as they were.  A writer outside a request still gets now().

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

my $now = '2026-09-10 12:00:00+08';
start_bank_nginx(now => $now);
my $p = parent(1);

for my $v (0, 1) {
    my $r = account_put($p, { %{ self_card(seed => 40 + $v) },
                              version => $v });
    is($r->{status}, 200, "change $v at $now") or diag($r->{body});
}

is_deeply([psql("SELECT count(*), min(submitted_at) = '$now',"
                . " min(updated_at) = '$now' FROM declaration"
                . " WHERE insured_person_id = $p->{pid}")],
          [[1, 't', 't']],
          'one declaration, replaced: submitted_at and updated_at are the'
          . ' test clock\'s');
is_deeply([psql("SELECT version, updated_at = '$now' FROM bank_account"
                . " WHERE insured_person_id = $p->{pid}")],
          [[2, 't']], 'the account: version 2, updated_at the test clock\'s');

psql("UPDATE declaration SET status = 'sent_to_bank'"
     . " WHERE insured_person_id = $p->{pid}");
is(psql_value("SELECT updated_at > '$now' FROM declaration"
              . " WHERE insured_person_id = $p->{pid}"),
   't', 'a writer outside a request: updated_at is now()');

done_testing();
