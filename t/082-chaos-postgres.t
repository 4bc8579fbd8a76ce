# PostgreSQL restarted under a load of PUT /api/account submissions with
# an Idempotency-Key (3 parents, one client each): every submission that
# got a 200 is in the database afterwards, none twice; the others got 503
# backend_unavailable and succeed when retried with the same key.
# tools/chaos postgres runs it longer and prints the numbers
# (CSIBIZ_CHAOS_SECONDS).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Chaos;
use Test::More;
use Time::HiRes qw(sleep time);

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

my $CLIENTS = 3;
my $SECONDS = chaos_seconds(6);

start_bank_nginx(now => '2026-09-10 12:00:00+08', log_level => 'notice');

my @P = map { parent($_) } 1 .. $CLIENTS;
my $mark = error_log_mark();

# one submission: the first answer, then retries with the same key while
# it is 503, as a client should
sub submit {
    my ($p, $version, $key, $seed) = @_;
    my $form = { %{ self_card(seed => $seed) }, version => $version };
    my (@tries, $r);
    my $end = time + 30;
    while (1) {
        $r = account_put($p, $form, key => $key);
        push @tries, $r->{status} // 0;
        last unless ($r->{status} // 0) == 503 && time < $end;
        sleep 0.2;
    }
    return { %$r, key => $key, tries => \@tries,
             version => ($r->{json} // {})->{version},
             replayed => ($r->{headers}{'idempotency-replayed'} // '') };
}

my $load = load_start(clients => $CLIENTS, seconds => $SECONDS + 60,
                      keep => [qw(key tries version replayed)],
                      request => sub {
    my ($c, $n) = @_;
    our $version //= 0;
    my $r = submit($P[$c - 1], $version, "chaos-$c-$n", 1000 * $c + $n);
    $version = $r->{version} if ($r->{status} // 0) == 200;
    return $r;
});

sleep($SECONDS / 3);
backend_stop('postgres');
my $t_down = time;
sleep($SECONDS / 6);
backend_start('postgres');
my $t_up = time;
sleep($SECONDS / 2);
load_stop($load);
my @r = load_wait($load);

my @ok = grep { $_->{status} == 200 } @r;
my @retried = grep { @{ $_->{tries} } > 1 } @r;
my @retried_ok = grep { $_->{status} == 200 } @retried;
my @bad = grep { $_->{status} != 200 } @r;
my @first_bad = grep { !grep { $_ == 200 || $_ == 503 } $_->{tries}[0] } @r;
my $answers = 0;
$answers += @{ $_->{tries} } for @r;

my $n503 = grep { $_ == 503 } map { @{ $_->{tries} } } @r;
diag(sprintf 'postgres chaos: %.1f s outage; %d submissions, %d answers '
             . '(%d of them 503); %d submissions met the outage and were '
             . 'retried with their key, %d then got 200 (%d replayed)',
             $t_up - $t_down, scalar @r, $answers, $n503,
             scalar @retried, scalar @retried_ok,
             scalar grep { $_->{replayed} } @retried_ok);

cmp_ok(scalar @r, '>=', $CLIENTS * 2, 'the load ran');
ok(@retried > 0, 'some submissions met the outage');
ok(!@first_bad, 'every first answer is 200 or 503')
    or diag(explain([map { $_->{tries} } @first_bad[0 .. 2]]));
ok(!@bad, 'every submission succeeded, retried with its key')
    or diag(explain([map { [$_->{key}, $_->{tries}] } @bad]));

# the database: every 200 is there once, and nothing else was written
for my $c (1 .. $CLIENTS) {
    my $p = $P[$c - 1];
    my @mine = grep { $_->{client} == $c && $_->{status} == 200 } @r;
    my %keys = map { $_->{key} => 1 } @mine;
    my $in_db = psql_value(
        "SELECT count(*) FROM idempotency_key WHERE user_id = $p->{uid}"
        . " AND key LIKE 'chaos-$c-%' AND response_status = 200");
    is($in_db, scalar keys %keys, "parent $c: each 200 has its key stored "
       . '(' . scalar(keys %keys) . ')');
    is(psql_value("SELECT version FROM bank_account"
                  . " WHERE insured_person_id = $p->{pid}"),
       scalar @mine, "parent $c: one write per 200, none twice");
    is(audit_count($p), scalar @mine, "parent $c: one audit row per write");
    my @v = map { $_->{version} } @mine;
    is("@v", join(' ', 1 .. @mine), "parent $c: versions 1.." . @mine
       . ' in order');
}

my @alerts = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
             split /\n/, error_log_since($mark);
ok(!@alerts, 'no alert or crash in error.log') or diag(join "\n", @alerts);
ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
