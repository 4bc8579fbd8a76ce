# GET /api/me, /api/declarations, /api/account and /api/payments of many
# parents at once: the requests of one event-loop pass go to PostgreSQL as
# one batched statement (app_me_batch(), app_declarations_batch(),
# app_account_batch(), app_payments_batch()), fewer statements than
# requests, and each parent gets the answer they get alone.  A
# parent refused (another phone declared) gets their refusal, the others
# their data; when the batch fails in PostgreSQL because of one parent,
# each request runs alone: that parent gets 500, the others their answer
# (me; payments, whose statement reads its reference tables once for the
# whole batch).
# While two batches of a statement wait on PostgreSQL, the requests that
# come meanwhile collect into the next one instead of each adding a
# statement.

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

start_bank_nginx(config => $QUERY_CONFIG
                           . "    location = /metrics { csibiz status; }\n");

my @P = map { parent($_, $_ == 8 ? (school => '第八小学') : ()) } 1 .. 12;
my $REFUSED = $P[3];
my $FAILING = $P[7];

roster_add(id_number => $REFUSED->{id}, si_card => $REFUSED->{card},
           name => '李小华', phone => '13700001111');

sub ops {
    my $r = http_req(GET => '/metrics');
    die "metrics: $r->{status}" unless $r->{status} == 200;
    my ($n) = $r->{body}
        =~ /^csibiz_backend_operations_total\{backend="postgres"\} (\d+)$/m;
    return $n // 0;
}

sub all_at_once {
    my ($path) = @_;
    my @specs = map { my $p = $_;
                      map { [GET => $path,
                             headers => { Cookie => "csibiz=$p->{sid}" }] }
                          1 .. 3 } @P;
    my $before = ops();
    my $res = http_concurrent(\@specs);
    return ($res, ops() - $before - 1);     # the /metrics of before: none
}

for my $path (qw(/api/me /api/declarations /api/account /api/payments)) {
    my %alone = map { $_->{pid} => query_get($_, $path) } @P;

    is($alone{ $REFUSED->{pid} }{status}, 403, "$path: the refused parent");
    is(scalar(grep { $alone{ $_->{pid} }{status} == 200 } @P), 11,
       "$path: the others 200, alone");

    # batching depends on how the requests meet in the worker: a few
    # rounds, each checked, until one shows fewer statements than requests
    my ($batched, $wrong) = (0, 0);
    for my $round (1 .. 20) {
        my ($res, $ops) = all_at_once($path);
        for my $i (0 .. $#$res) {
            my $p = $P[int($i / 3)];
            my $want = $alone{ $p->{pid} };
            next if $res->[$i]{status} == $want->{status}
                    && $res->[$i]{body} eq $want->{body};
            $wrong++;
            diag("$path $i: $res->[$i]{status} $res->[$i]{body}"
                 . " want $want->{status} $want->{body}") if $wrong < 3;
        }
        if ($ops < @$res) {
            $batched = 1;
            last;
        }
    }
    ok($batched, "$path: fewer statements than requests");
    is($wrong, 0, "$path: each parent the answer they get alone");
}

# one parent's data makes the statement fail: their school, which
# me_get() writes with csibiz_json()
psql(<<"EOF2");
ALTER FUNCTION csibiz_json(text) RENAME TO csibiz_json_real;
CREATE FUNCTION csibiz_json(t text) RETURNS text
LANGUAGE plpgsql STABLE AS \$\$
BEGIN
    IF t = '第八小学' THEN
        RAISE EXCEPTION 'a failure for the test';
    END IF;
    RETURN csibiz_json_real(t);
END
\$\$;
GRANT EXECUTE ON FUNCTION csibiz_json(text) TO PUBLIC;
EOF2

# PATH's batch with $FAILING fails in PostgreSQL (statement STMT,
# SQLSTATE STATE), and each of its requests gets the answer it gets alone
sub failing_alone {
    my ($path, $stmt, $state) = @_;

    my %alone = map { $_->{pid} => query_get($_, $path) } @P;
    is($alone{ $FAILING->{pid} }{status}, 500,
       "$path: the failing parent: 500 alone");
    is($alone{ $P[0]{pid} }{status}, 200, "$path: another: 200 alone");

    my ($failed, $wrong) = (0, 0);
    for my $round (1 .. 20) {
        my $mark = error_log_mark();
        my ($res) = all_at_once($path);
        for my $i (0 .. $#$res) {
            my $want = $alone{ $P[int($i / 3)]{pid} };
            $wrong++ unless $res->[$i]{status} == $want->{status}
                            && $res->[$i]{body} eq $want->{body};
        }
        if (error_log_since($mark)
            =~ /postgres statement "$stmt" failed: SQLSTATE $state/)
        {
            $failed = 1;
            last;
        }
    }
    ok($failed, "$path: a batch with the failing parent failed");
    is($wrong, 0, "$path: each request of it ran alone: every answer as"
                  . " alone");
}

failing_alone('/api/me', 'me_batch', 'P0001');

psql('DROP FUNCTION csibiz_json(text);'
     . ' ALTER FUNCTION csibiz_json_real(text) RENAME TO csibiz_json');

# payments: a failed debit in a year whose premium + 10 yuan (the
# advice's amount) overflows an int
psql('INSERT INTO premium (year, amount_cents) VALUES (2024, 2147483000)');
add_payment($FAILING, 2024, 9, 'failed', 'insufficient_balance');
add_payment($P[0], 2025, 9, 'failed', 'insufficient_balance');

failing_alone('/api/payments', 'payments_batch', '22003');

psql('DELETE FROM payment WHERE year IN (2024, 2025);'
     . ' DELETE FROM premium WHERE year = 2024');

# PostgreSQL held: a lock that every GET /api/me statement waits for
sub hgetalls {
    my ($n) = redis_cmd('INFO', 'commandstats')
        =~ /^cmdstat_hgetall:calls=(\d+)/m;
    return $n // 0;
}

sub waiting {
    return psql_value("SELECT count(*) FROM pg_stat_activity"
                      . " WHERE usename = 'csibiz_app_login'"
                      . " AND wait_event_type = 'Lock'");
}

{
    my %alone = map { $_->{pid} => query_get($_, '/api/me') } @P;

    open(my $lock, '|-', Test::Csibiz::_psql_bin(), '-X', '-q',
         '-o', '/dev/null', '-v', 'ON_ERROR_STOP=1', '-d', pg_conninfo())
        or die "psql: $!";
    $lock->autoflush(1);
    print $lock "BEGIN; LOCK TABLE insured_person IN ACCESS EXCLUSIVE MODE;"
                . " SELECT pg_advisory_lock(40);\n";
    ok(wait_until(sub { psql_value('SELECT count(*) FROM pg_locks'
                                   . " WHERE locktype = 'advisory'"
                                   . ' AND objid = 40 AND granted') },
                  timeout => 30),
       'held: insured_person locked');

    my $ops = ops();
    my $calls = hgetalls();
    my @reqs = map { my $p = $P[$_ % @P];
                     http_start(GET => '/api/me',
                                headers => { Cookie => "csibiz=$p->{sid}" }) }
                   0 .. 29;

    ok(wait_until(sub { hgetalls() >= $calls + 30 }, timeout => 30),
       'held: the 30 sessions read');
    ok(wait_until(sub { waiting() == 2 }, timeout => 30),
       'held: two statements wait on PostgreSQL');
    my $most = 0;
    for (1 .. 10) {
        my $n = waiting();
        $most = $n if $n > $most;
    }
    is($most, 2, 'held: no more than two, whatever else came');

    print $lock "COMMIT;\n";
    close $lock;

    my $wrong = 0;
    for my $i (0 .. $#reqs) {
        my $r = http_finish($reqs[$i]);
        my $want = $alone{ $P[$i % @P]{pid} };
        $wrong++ unless $r->{status} == $want->{status}
                        && $r->{body} eq $want->{body};
    }
    is($wrong, 0, 'held: every answer as alone');
    my $statements = ops() - $ops;
    ok($statements <= 10,
       "held: 30 requests in $statements statements");
}

done_testing();
