# tools/season, short: three seeded seasons of 30 children each through
# the real stack (nginx with the test clock, Redis, PostgreSQL) and the
# real ops tools, every invariant checked after every step.  Then a
# mutation: the export made to take the account as it is now instead of
# the declaration in force at the cut-off (in this file's database only);
# the simulator must catch it and print the seed to replay.  The long run
# is in docs/performance.md.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

ensure_backends();
my @season = (repo_root() . '/tools/season', '--children', 30,
              '--register', 4);

my ($rc, $out, $err) = Test::Csibiz::_run_cmd([@season, '--seeds', '1-3']);
is($rc, 0, 'three seasons: every check passed') or diag($out, $err);
for my $seed (1 .. 3) {
    like($out, qr/^seed[ ]$seed:[ ]30[ ]children[ ]\(\d+[ ]registered
                  [ ]through[ ]the[ ]API\),
                  [ ][1-9]\d*[ ]bank[ ]details[ ]accepted[ ].*
                  [ ][1-9]\d*[ ]lines[ ]exported,[ ][1-9]\d*[ ]debited,
                  [ ][1-9]\d*[ ]failed,[ ].*[ ]ok[ ]/mx,
         "seed $seed: exports, debits and failures, ok");
}
note($out);

# The mutation: the pick of debit_export_make() reads the account of
# bank_account (the details as they are when the file is made) instead
# of the declaration's own copy.
my $sql = do {
    local (@ARGV, $/) = (repo_root() . '/sql/functions/debit_export_make.sql');
    <>;
};
my $n = ($sql =~ s/d\.method, d\.account_enc,/d.method, (SELECT a.account_enc
    FROM bank_account a WHERE a.insured_person_id = d.insured_person_id)
    AS account_enc,/);
is($n, 1, 'the mutation applies to debit_export_make()');
psql($sql);

($rc, $out, $err) = Test::Csibiz::_run_cmd([@season, '--seed', 1]);
is($rc, 1, 'the mutated export: exit 1') or diag($out, $err);
like($out, qr/^tools\/season:[ ]FAILED[ ]seed[ ]1,[ ]step[ ]\d+
               [ ]\(2026-\d\d-\d\d[ ][^)]*\):[ ]2026-\d\d's[ ]line[ ]of
               [ ]SEA\d+:[ ].*[ ]the[ ]declaration[ ]in[ ]force[ ]at[ ]the
               [ ]cut-off[ ]/mx,
     'the line that is not the declaration in force at the cut-off');
like($out, qr/^replay: tools\/season --children 30 --register 4 --seed 1$/m,
     'the seed to replay it');
note($out);

done_testing();
