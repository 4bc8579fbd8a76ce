# The read statements of the module (GET /api/me, /api/declarations,
# /api/account, /api/payments) are one query each for PostgreSQL: the SQL
# functions they call, and the helpers those call, are inlined into the
# query of the application role's function (app_me(), app_declarations(),
# app_account_get(), app_payments(): PL/pgSQL, SECURITY DEFINER), whose
# plan PL/pgSQL keeps for the connection.  A helper rewritten so that it
# is no longer inlined (PL/pgSQL, SECURITY DEFINER, SET, a second
# statement, a FROM in a scalar function ...) shows in the plan as a
# call: here it fails, not only in the benchmark (tools/bench-sql).  The
# module's statements are read from its source (the function each
# calls), the queries from that function's file in sql/functions/ (its
# RETURN QUERY, by $n).  The batched forms (app_me_batch(),
# app_declarations_batch(), app_account_batch(), app_payments_batch())
# likewise, with one function scan: unnest() of the requests' elements
# (app_account_batch() has a second one, of the elements' times, for its
# window, run once).  What is the same for every element (texts, banks,
# the window at the time now, payments' reference tables) is read once
# per statement, by an InitPlan, not once per element; app_account_batch()
# reads the window once per distinct time of its elements (a CTE).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

ensure_backends();

my %args = (
    me           => "1, 1, 'zh'",
    declarations => "1, 1, 'en', NULL, 5",
    account_get  => "1, 1, NULL, false, 'zh'",
    payments     => "1, 1, 'zh', NULL, 5",
);

# the batched forms: one element per request, by unnest(), its only
# function scan
my %batch_args = (
    me_batch           => "'{1,2}', '{1,2}', '{zh,en}'",
    declarations_batch => "'{1,2}', '{1,2}', '{en,zh}', '{NULL,NULL}',"
                          . " '{5,5}'",
    account_batch      => "'{1,2}', '{1,2}', '{NULL,NULL}', '{false,true}',"
                          . " '{zh,en}'",
    payments_batch     => "'{1,2}', '{1,2}', '{zh,en}', '{NULL,NULL}',"
                          . " '{5,5}'",
);

# two parents logged in for their child (user i is person i), one with
# bank details and a failed debit, the other a debited one, for the
# batched forms to answer
my $two = '900001,900002';
psql(<<'SQL');
INSERT INTO insured_person (id, id_number_hmac, id_number_enc, name, gender,
                            si_card_no, category, school, declared_phone,
                            birth_date_enc, birth_date_hmac)
SELECT 900000 + i, sha256(('t056 ' || i)::bytea), '\x00', '王小' || i, 'F',
       'T056' || lpad(i::text, 8, '0'), 'child', NULL, '1390056000' || i,
       decode(repeat('00', 51), 'hex'), sha256(('t056 b' || i)::bytea)
  FROM generate_series(1, 2) AS i
ON CONFLICT DO NOTHING;
INSERT INTO portal_user (id, insured_person_id, phone, password_hash,
                         agreement_version, agreed_at)
SELECT 900000 + i, 900000 + i, '1390056000' || i, '$argon2id$t056', 'v1',
       now()
  FROM generate_series(1, 2) AS i
ON CONFLICT DO NOTHING;
INSERT INTO bank_account (insured_person_id, payer, method, bank_code,
                          doc_type, account_enc, account_last4)
SELECT 900001, 'self', 'card', min(code), 'id_card', '\x00', '0056' FROM bank
ON CONFLICT DO NOTHING;
INSERT INTO declaration (insured_person_id, receipt_no, status,
                         applies_to_month, reason_code)
VALUES (900001, 'T056-1', 'failed', '2026-09-01', 'no_such_reason')
ON CONFLICT DO NOTHING;
INSERT INTO payment (insured_person_id, year, month, amount_cents, status,
                     reason_code)
VALUES (900001, 2026, 9, 38000, 'failed', 'no_such_reason'),
       (900002, 2026, 9, 38000, 'debited', NULL)
ON CONFLICT DO NOTHING;
SQL

# functions that must not be called: inlined, each of them (and
# payment_failure(), whose query payments_get() has as a subquery)
my @inlined = qw(me_get declarations_get bank_account_get payments_get
                 query_access query_access_of window_at window_json
                 csibiz_mask csibiz_iso csibiz_json csibiz_json_bool
                 bank_account_json bank_account_text debit_result_visible
                 debit_result_visible_on query_text query_text_map
                 query_lang csibiz_mask_json query_month payment_failure);

# the module's statement: the application role's function it calls
my %stmt;
for my $file (qw(ngx_http_csibiz_query.c ngx_http_csibiz_account.c)) {
    open my $fh, '<', repo_root() . "/ngx_csibiz_module/$file" or die $!;
    my $src = do { local $/; <$fh> };
    while ($src =~ /ngx_http_csibiz_pg_(?:stmt|batched)\("(\w+)",\s*((?:"[^"]*"\s*)+),/g)
    {
        my ($name, $parts) = ($1, $2);
        $stmt{$name} = join '', $parts =~ /"([^"]*)"/g;
    }
}

# that function's query and parameter types, from its file
sub query_of {
    my ($stmt) = @_;
    my ($f) = $stmt =~ /\bFROM (app_\w+)\(/ or return;
    open my $fh, '<', repo_root() . "/sql/functions/$f.sql" or return;
    my $src = do { local $/; <$fh> };
    my ($args) = $src =~ /FUNCTION \Q$f\E\((.*?)\)\s*RETURNS/s or return;
    my @types = map { (split ' ')[1] } split /,/, $args;
    my ($query) = $src =~ /RETURN QUERY\s+(.*?);/s or return;
    return ($f, join(', ', @types), $query);
}

# The generic plan of statement NAME's function query, run with ARGS;
# undef (after a failed check) when there is no such query.
sub plan_of {
    my ($name, $args) = @_;
    ok($stmt{$name}, "the module's statement $name") or return;
    my ($f, $types, $query) = query_of($stmt{$name});
    ok($query, "$name: the query of its function " . ($f // '(none)'))
        or return;

    return join "\n", map { $_->[0] } psql(
        "PREPARE s ($types) AS $query;"
        . " SET plan_cache_mode = force_generic_plan;"
        . " EXPLAIN (VERBOSE, COSTS OFF) EXECUTE s($args)");
}

for my $name (sort keys %args) {
    my $plan = plan_of($name, $args{$name}) // next;

    unlike($plan, qr/Function Scan/, "$name: no function scan");
    for my $f (@inlined) {
        unlike($plan, qr/\b\Q$f\E\(/, "$name: $f inlined");
    }
}

for my $name (sort keys %batch_args) {
    my $plan = plan_of($name, $batch_args{$name}) // next;

    my @scans = sort $plan =~ /Function Scan on (\S+(?: t\b)?)/g;
    is("@scans", $name eq 'account_batch' ? 'a pg_catalog.unnest t' : 'a',
       "$name: one function scan, the elements (a)"
       . ($name eq 'account_batch' ? ", and their times' (t)" : ''));
    like($plan, qr/Function Call: unnest\(/, "$name: a is unnest()");
    for my $f (@inlined) {
        unlike($plan, qr/\b\Q$f\E\(/, "$name: $f inlined");
    }

    # what is the same for every element (the texts, the banks, the
    # window at the time now) is read once per statement, by an InitPlan,
    # for the two parents above (the elements' clocks are NULL, as in
    # production)
    my (undef, $types, $query) = query_of($stmt{$name});
    my $run = join "\n", map { $_->[0] } psql(
        "PREPARE r ($types) AS $query;"
        . " SET plan_cache_mode = force_generic_plan;"
        . " EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
        . " EXECUTE r(" . ($batch_args{$name} =~ s/\{1,2\}/{$two}/gr)
        . ")");
    my @loops = $run =~ /Scan\ (?:using\ \S+\ )?on
                         \ (?:query_text|bank|window_calendar)\b
                         [^\n]*\(actual\ rows=\d+\ loops=(\d+)\)/gx;
    ok(@loops && !grep({ $_ > 1 } @loops),
       "$name: query_text, bank, window_calendar read once a"
       . " statement (loops: @loops)");
    # the window once per distinct time of the elements: once for two
    # elements of the test clock (csibiz_test_now) as for two of NULL
    if ($name eq 'account_batch') {
        my $clock = '2026-09-10 12:00:00+08';
        my $run2 = join "\n", map { $_->[0] } psql(
            "PREPARE r ($types) AS $query;"
            . " SET plan_cache_mode = force_generic_plan;"
            . " EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)"
            . " EXECUTE r(" . ($batch_args{$name} =~ s/\{1,2\}/{$two}/gr
                                                 =~ s/NULL/"$clock"/gr)
            . ")");
        for ([NULL => $run], [$clock => $run2]) {
            my ($t, $r) = @$_;
            like($r, qr/Function\ Scan\ on\ unnest\ t\ [^\n]*
                        \(actual\ rows=2\ loops=1\)/x,
                 "$name, times $t: the times read once a statement");
            my @w = $r =~ /Scan\ using\ \S+\ on\ window_calendar\b
                           [^\n]*\(actual\ rows=\d+\ loops=(\d+)\)/gx;
            is("@w", '1', "$name, times $t: the window worked out once");
        }
    }

    my @rows = psql("SET ROLE csibiz_app; PREPARE b AS $stmt{$name};"
                    . " EXECUTE b($batch_args{$name})");
    is(scalar @rows, 2, "$name: a row per element");
    is(join(',', map { $_->[0] } @rows), '1,2', "$name: in order");
}

# a batch whose elements carry different clocks (and NULL, the time now)
# answers each as app_account_get() does alone with its clock: the window
# is worked out per distinct clock, never taken from another element's
{
    my @e = ([900001, '2026-09-10 12:00:00+08', 'f', 'zh'],
             [900001, '2026-12-01 00:00:00+08', 't', 'en'],
             [900002, undef,                    'f', 'zh'],
             [900002, '2026-09-10 12:00:00+08', 't', 'en'],
             [900001, '2029-01-01 00:00:00+08', 'f', 'zh']);
    my $arr = sub {
        my ($k, $q) = @_;
        return "'{" . join(',', map { defined $_->[$k]
                                      ? ($q ? "\"$_->[$k]\"" : $_->[$k])
                                      : 'NULL' } @e) . "}'";
    };
    my @batch = psql('SELECT i, status, body FROM app_account_batch('
                     . join(', ', $arr->(0), $arr->(0), $arr->(1, 1),
                            $arr->(2), $arr->(3))
                     . ') ORDER BY i');
    is(scalar @batch, scalar @e, 'account_batch, mixed clocks: a row each');
    my %windows;
    for my $i (0 .. $#e) {
        my ($u, $t, $ok, $l) = @{ $e[$i] };
        my $alone = psql("SELECT 0, status, body FROM app_account_get($u,"
                         . " $u, " . (defined $t ? "'$t'" : 'NULL')
                         . ", '$ok', '$l')")->[0];
        is_deeply([@{ $batch[$i] }[1, 2]], [@$alone[1, 2]],
                  'account_batch, mixed clocks: element ' . ($i + 1)
                  . ' as alone (' . ($t // 'NULL') . ')');
        $windows{$1}++ if ($batch[$i][2] // '') =~ /^\{"window": (\{[^}]*\})/;
    }
    cmp_ok(scalar keys %windows, '>=', 3,
           'account_batch, mixed clocks: their windows differ');
}

# and they answer: the same statements, as a 200 for a logged-in user is
# checked by t/040, t/041 and t/030-033; here only that they run, as the
# application role
for my $name (sort keys %args) {
    my @rows = psql("SET ROLE csibiz_app; PREPARE s AS $stmt{$name};"
                    . " EXECUTE s($args{$name})");
    is(scalar @rows, 1, "$name: one row");
}

done_testing();
