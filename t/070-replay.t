# The replay kit (docs/load-testing.md).  Recording: the csibiz_replay
# access-log format (tools/nginx-replay-log.conf) writes nothing of the
# parent (no cookie, token, body, address, query string), and `tools/replay
# record` maps the logged user pseudonyms to synthetic sessions.  Sending
# (build/csibiz-replay under `tools/replay send`): statuses checked, per
# endpoint and per error code results, a JSON summary and a picture; the
# recorded inter-arrival pattern kept at 2x and 0.5x, as the server sees
# it; and a stalled worker reported as latency (open loop: no coordinated
# omission).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

use JSON::PP ();
use List::Util qw(max);
use Time::HiRes ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

# tools/replay is node.  CI sets CSIBIZ_REQUIRE_NODE (and
# CSIBIZ_REQUIRE_BROWSER, which needs node too): there a missing node is a
# failure, not a skip, or a broken install step would hide this test
unless (grep { -x "$_/node" } split /:/, $ENV{PATH}) {
    my $why = 'node is missing: tools/setup installs nodejs';
    if ($ENV{CSIBIZ_REQUIRE_NODE} || $ENV{CSIBIZ_REQUIRE_BROWSER}) {
        fail("the replay tests cannot run: $why");
        done_testing();
        exit 1;
    }
    plan(skip_all => $why);
}

my $ROOT = repo_root();
my $SR = servroot();
my $LOG = "$SR/logs/replay.log";
my $TICK = "$SR/logs/tick.log";
my $CO = "$SR/logs/co.log";
my $NODE = "$SR/logs/node.log";
my $SPARE = spare_port();

start_bank_nginx(now => '2026-09-10 12:00:00+08', http => <<"EOF",
    include $ROOT/tools/nginx-replay-log.conf;
    access_log $LOG csibiz_replay;
    log_format tick '\$msec \$arg_i';
    log_format node '\$server_port \$http_cookie';
EOF
    config => <<"EOF");
    listen 127.0.0.1:$SPARE;
    location = /node { access_log $NODE node; return 200 "ok\\n"; }
    location = /api/agreement { csibiz agreement; }
    location = /api/session   { csibiz session; }
    location = /tick { access_log $TICK tick; return 200 "ok\\n"; }
    location = /co   { access_log $CO tick; return 200 "ok\\n"; }
EOF

sub slurp {
    my ($f) = @_;
    open(my $fh, '<:raw', $f) or return '';
    local $/;
    return <$fh>;
}

sub spew {
    my ($f, @lines) = @_;
    open(my $fh, '>:raw', $f) or die "$f: $!";
    print {$fh} @lines;
    close $fh or die "$f: $!";
}

my $J = JSON::PP->new->utf8->canonical;

# ------------------------------------------------------------- record

# a parent whose requests are logged, and a synthetic one of the
# "dataset" the recording is mapped to
my $A = parent(1);
my $S = parent(2);
http_req(GET => '/replay-start');
ok(wait_until(sub { slurp($LOG) =~ m{"uri":"/replay-start"} }),
   'the marker is logged');
my $from = index(slurp($LOG), "\n", index(slurp($LOG), '/replay-start')) + 1;

my $form = { %{ self_card(seed => 7) }, version => 0 };
my @want = (
    [GET => '/api/banks', 200],
    [GET => '/api/account', 200],
    [GET => '/api/account', 401],
    [POST => '/api/banks', 405],
    [PUT => '/api/account', 200],
    [POST => '/api/login', 200],
);

is(http_req(GET => '/api/banks')->{status}, 200, 'GET /api/banks');
is(account_get($A)->{status}, 200, 'GET /api/account with the session');
is(http_req(GET => '/api/account?nocookie=1')->{status}, 401,
   'GET /api/account without a session, a query string');
is(http_req(POST => '/api/banks')->{status}, 405, 'POST /api/banks');
my $put = account_put($A, $form, key => 'replay-key-1');
is($put->{status}, 200, 'PUT /api/account, a first declaration')
    or diag($put->{body});
is(login_request($A, $A->{pw})->{status}, 200, 'POST /api/login');
is(json_post('/api/reauth', { password => $A->{pw} },
             headers => { Cookie => "csibiz=$A->{sid}",
                          'X-CSRF-Token' => $A->{csrf} })->{status}, 200,
   'POST /api/reauth');

sub new_lines {
    my @l = split /\n/, substr(slurp($LOG), $from);
    return \@l;
}
ok(wait_until(sub { @{ new_lines() } >= @want + 1 }), 'a log line each');
my $slice = "$SR/logs/replay.slice";
spew($slice, map { "$_\n" } @{ new_lines() });

my $logged = slurp($slice);
for my $secret ([session => $A->{sid}], [csrf => $A->{csrf}],
                [password => $A->{pw}], ['ID number' => $A->{id}],
                [phone => $A->{phone}], ['card number' => $form->{account_no}],
                ['idempotency key' => 'replay-key-1'],
                ['query string' => 'nocookie'], [address => '10.9.0.'])
{
    unlike($logged, qr/\Q$secret->[1]\E/, "the log has no $secret->[0]");
}
like($logged, qr/"user":"[0-9a-f]{16}"/, 'users appear as pseudonyms');

my $dir = "$SR/dataset";
mkdir $dir;
spew("$dir/sessions.tsv", "$S->{sid}\t$S->{csrf}\n");
spew("$dir/accounts.csv", "$S->{id},$S->{pw}\n");

my $file = "$SR/replay.jsonl";
my $err = "$SR/replay.err";
system("$ROOT/tools/replay record --dir '$dir' '$slice' >'$file' 2>'$err'");
is($? >> 8, 0, 'tools/replay record: exit 0') or diag(slurp($err));
like(slurp($err), qr/1 reauth requests left out/,
     'a request whose body cannot be made up is left out, and said');
like(slurp($err), qr/1 requests had a query string/,
     'a dropped query string is said');

my @reqs = map { $J->decode($_) } grep { /\S/ } split /\n/, slurp($file);
is_deeply([map { [$_->{method}, $_->{path}, $_->{status}] } @reqs], \@want,
          'one line per request: method, path, status');
is($reqs[1]{headers}{Cookie}, "csibiz=$S->{sid}",
   'the user is mapped to the synthetic session');
ok(!exists $reqs[2]{headers}{Cookie}, 'no cookie where no user was');
is($reqs[4]{headers}{'X-CSRF-Token'}, $S->{csrf}, 'PUT: its CSRF token');
my $body = $J->decode($reqs[4]{body});
is($body->{version}, 0, 'PUT: a synthetic first declaration');
isnt($body->{account_no}, $form->{account_no}, '... not the recorded card');
is_deeply($J->decode($reqs[5]{body}), { id_number => $S->{id},
                                        password => $S->{pw} },
          'login: a synthetic account');
ok(!grep({ index($_, $A->{sid}) >= 0 || index($_, $A->{id}) >= 0 }
         split /\n/, slurp($file)), 'nothing of the parent in the file');
ok((grep { $_->{t} } @reqs) == @reqs, 'each line has its start time');

spew("$SR/old.log", qq({"method":"GET","uri":"/x","status":200,)
                    . qq("cookie":"csibiz=abc","body":"","msec":1.0}\n));
my $o = qx{$ROOT/tools/replay record --dir '$dir' '$SR/old.log' 2>&1};
is($? >> 8, 1, 'record: a log of the old format (cookies) is refused');
like($o, qr/old csibiz_replay format/, '... and why');

# --------------------------------------------------------------- send

my $url = 'http://127.0.0.1:' . server_port();

sub replay {
    my ($args) = @_;
    my $o = qx{$ROOT/tools/replay send --quiet --url $url $args 2>&1};
    return ($? >> 8, $o);
}

my ($rc, $out) = replay("--speed 4 --json '$SR/run.json' --svg '$SR/run.svg'"
                        . " '$file'");
is($rc, 0, 'send: the recording, exit 0') or diag($out);
like($out, qr/6 requests .*6 as expected, 0 not/, 'send: 6 as expected');
is(psql_value("SELECT count(*) FROM bank_account WHERE insured_person_id"
              . " = $S->{pid}"), 1,
   'the synthetic parent made a first declaration');
my $run = $J->decode(slurp("$SR/run.json"));
is($run->{completed}, 6, 'JSON: 6 completed');
my %ep = map { $_->{name} => $_ } @{ $run->{endpoints} };
is($ep{'GET /api/account'}{count}, 2, 'JSON: per endpoint, the count');
ok(defined $ep{'GET /api/account'}{p99}, 'JSON: per endpoint, the p99');
ok((grep { $_->{name} =~ /^401 \w+$/ && $_->{unexpected} == 0 }
    @{ $run->{codes} }), 'JSON: per status and error code, the 401s')
    or diag(explain($run->{codes}));
like(slurp("$SR/run.svg"), qr/<svg .*<polyline/s, 'a picture of the run');

($rc, $out) = replay("--concurrency 2 --loop 2 --filter GET '$file'");
is($rc, 0, '--filter GET --loop 2: exit 0') or diag($out);
like($out, qr/6 requests .*6 as expected, 0 not/, '--filter GET: 3 x 2')
    or diag($out);

($rc, $out) = replay("--rate 50 --filter '!PUT,!POST /api/login' '$file'");
is($rc, 0, 'send at a rate: exit 0') or diag($out);
like($out, qr/4 requests .*asked 50\/s/, 'the rate asked is reported');

# an expectation the server does not meet
$reqs[2]{status} = 200;
my $changed = "$SR/replay-changed.jsonl";
spew($changed, map { $J->encode($_) . "\n" } @reqs[0 .. 3]);
($rc, $out) = replay("--rate 100 '$changed'");
is($rc, 1, 'send: a status not as expected, exit 1');
like($out, qr{GET /api/account: 401, expected 200 \(1x\)},
     'the mismatch is named: path, status, expected');
like($out, qr/3 as expected, 1 not/, 'the rest as expected');
like($out, qr/^\s+401 \w+\s+1\s+1\s/m, 'the error code, counted');

my $o2 = qx{$ROOT/tools/replay send --quiet --rate 10 --url http://127.0.0.1:1 '$changed' 2>&1};
is($? >> 8, 1, 'send to a closed port: exit 1');
like($o2, qr/ECONNREFUSED/, 'the reason is given');

system("$ROOT/tools/replay send >/dev/null 2>&1");
is($? >> 8, 2, 'send without a file: exit 2');
system("$ROOT/tools/replay send --rate x '$file' >/dev/null 2>&1");
is($? >> 8, 2, 'a bad --rate: exit 2');
system("$ROOT/tools/replay send --speed 2 '$changed.none' >/dev/null 2>&1");
isnt($? >> 8, 0, 'a missing file: an error');

# two nodes (one nginx on two ports): round robin, or by session
spew("$SR/nodes.jsonl", map { $J->encode({ method => 'GET', path => '/node',
                                           status => 200, headers => {
                                           Cookie => 'csibiz=s' . $_ % 3 } })
                              . "\n" } 1 .. 6);
my $nodes = "--nodes $url,http://127.0.0.1:$SPARE --rate 200";
for my $by ('rr', 'session') {
    my $mark = length(slurp($NODE));
    my $o = qx{$ROOT/tools/replay send --quiet $nodes --by $by '$SR/nodes.jsonl' 2>&1};
    is($? >> 8, 0, "--nodes --by $by: exit 0") or diag($o);
    ok(wait_until(sub { (() = substr(slurp($NODE), $mark) =~ /\n/g) == 6 }),
       "--by $by: 6 arrived");
    my (%port, %cookie);
    for (split /\n/, substr(slurp($NODE), $mark)) {
        my ($port, $cookie) = split / /;
        $port{$port}++;
        $cookie{$cookie}{$port}++;
    }
    if ($by eq 'rr') {
        is_deeply([sort values %port], [3, 3], '--by rr: 3 on each node');
    } else {
        ok(!grep({ keys %$_ != 1 } values %cookie),
           '--by session: each session on one node')
            or diag(explain(\%cookie));
    }
}

# -------------------------------------------- the schedule, as it arrives

# bursts and gaps: 3 at 0 s, 3 at 1 s, 1 at 3 s, 2 at 3.2 s, 1 at 5 s
my @t = (0, 0, 0, 1, 1, 1, 3, 3.2, 3.2, 5);
my $base = 1788000000;
my $pattern = "$SR/pattern.jsonl";
spew($pattern, map { $J->encode({ t => $base + $t[$_], method => 'GET',
                                  path => "/tick?i=$_", status => 200 })
                     . "\n" } 0 .. $#t);

sub arrivals {
    my ($from) = @_;
    my %at;
    for (split /\n/, substr(slurp($TICK), $from)) {
        my ($msec, $i) = split / /;
        $at{$i} = $msec;
    }
    return \%at;
}

for my $speed (2, 0.5) {
    my $mark = length(slurp($TICK));
    my ($rc, $out) = replay("--speed $speed '$pattern'");
    is($rc, 0, "--speed $speed: exit 0") or diag($out);
    ok(wait_until(sub { keys %{ arrivals($mark) } == @t }),
       "--speed $speed: every request arrived");
    my $at = arrivals($mark);
    my $first = $at->{0};
    my $worst = max(map { abs(($at->{$_} - $first) - $t[$_] / $speed) }
                    0 .. $#t);
    # a loaded two-CPU machine delays a process by tens of milliseconds
    ok($worst < 0.25, "--speed $speed: each arrival within 0.25 s of its"
                      . " intended time (worst "
                      . sprintf('%.3f', $worst) . ' s)')
        or diag(explain({ map { $_ => $at->{$_} - $first } keys %$at }));
    ok($at->{3} - $at->{2} > 0.7 / $speed,
       "--speed $speed: the gap after the first burst is kept");
}

# ------------------------------------------------- tools/journey's mix

# two sessions for the reads, two fresh ones for first declarations
my $jd = "$SR/journey";
mkdir $jd;
my @jp = map { parent($_) } 3 .. 6;
spew("$jd/sessions.tsv", map { "$_->{sid}\t$_->{csrf}\n" } @jp);
spew("$jd/accounts.csv", map { "$_->{id},$_->{pw}\n" } @jp);

sub journey {
    my ($args) = @_;
    my $o = qx{$ROOT/tools/journey --env test --url $url --dir '$jd' --quiet --seed 1 $args 2>&1};
    return ($? >> 8, $o);
}

($rc, $out) = journey("--mix session:100 --rate 40 -d 1");
is($rc, 0, 'journey: session reads, exit 0') or diag($out);
like($out, qr/^\s+session\s+40\s+0\s/m, 'journey: a row per step');
like($out, qr/mix: session 100\.0% \(asked 100\.0%\)/, 'journey: the mix');

# 20 put steps asked, 2 identities left: the mix drifts, and says so
($rc, $out) = journey("--mix session:50,put:50 --rate 40 -d 1 --put-first 3");
is($rc, 1, 'journey: a drifting mix, exit 1') or diag($out);
like($out, qr/20 put steps expected, 2 identities prepared/,
     'journey: the short pool is named before the run');
like($out, qr/mix: session 95\.0% \(asked 50\.0%\), put 5\.0% \(asked 50\.0%\)/,
     'journey: the mix as planned against the mix asked');
like($out, qr/drifts by 45\.0 points, more than the tolerance of 5/,
     'journey: the drift, past the tolerance');
like($out, qr/^\s+put\s+2\s+0\s/m, 'journey: the 2 PUTs made, as expected');
is(psql_value("SELECT count(*) FROM bank_account WHERE insured_person_id IN"
              . " ($jp[2]{pid}, $jp[3]{pid})"), 2,
   'journey: both first declarations made');

# --------------------------------------- a stall is latency, not silence

spew("$SR/co.jsonl", $J->encode({ method => 'GET', path => '/co',
                                  status => 200 }) . "\n");
my ($worker) = worker_pids();
ok($worker, "the worker: $worker");
my $bg = background(sub {
    qx{$ROOT/tools/replay send --quiet --url $url --rate 200 --duration 4 --json '$SR/co.json' '$SR/co.jsonl' 2>&1};
});
ok(wait_until(sub { (() = slurp($CO) =~ /\n/g) >= 100 }),
   'the replay runs');
my $stopped = kill('STOP', $worker);
Time::HiRes::sleep(1);                 # the stall itself
kill('CONT', $worker) if $stopped;
ok($stopped, 'the worker stopped for 1 s, then continued');
my $res = background_wait($bg);
my $co = $J->decode(slurp("$SR/co.json"));
is($co->{sent}, 800, 'every request sent on schedule meanwhile')
    or diag($res);
is($co->{unexpected}, 0, 'all answered 200');
cmp_ok($co->{latency_ms}{max}, '>=', 900,
       "the max latency shows the stall: $co->{latency_ms}{max} ms");
cmp_ok($co->{latency_ms}{p99}, '>=', 800,
       "so does the p99: $co->{latency_ms}{p99} ms");
cmp_ok($co->{send_lag_ms}{p99}, '<', 500,
       "the replayer itself kept its schedule: send lag p99"
       . " $co->{send_lag_ms}{p99} ms");

done_testing();
