# The replay kit (docs/load-testing.md): requests logged in the
# csibiz_replay access-log format (tools/nginx-replay-log.conf) are
# recorded by `tools/replay record` into JSONL, and `tools/replay send`
# sends them again and checks every status: a run as recorded passes, a
# changed expectation or an unreachable server fails it.

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
my $LOG = servroot() . '/logs/replay.log';

start_bank_nginx(now => '2026-09-10 12:00:00+08', http => <<"EOF");
    include $ROOT/tools/nginx-replay-log.conf;
    access_log $LOG csibiz_replay;
EOF

# registered and logged in before the recording starts; the recording
# begins after the line of a marker request, as lines are written once
# each answer is sent
my $A = parent(1);
http_req(GET => '/replay-start');
ok(wait_until(sub { (slurp_log() // '') =~ m{"uri":"/replay-start"} }),
   'the marker is logged');
my $from = index(slurp_log(), "\n", index(slurp_log(), '/replay-start')) + 1;

sub slurp_log {
    open(my $fh, '<:raw', $LOG) or return undef;
    local $/;
    return <$fh>;
}

my $form = { %{ self_card(seed => 7) }, version => 0 };
my @want = (
    [GET => '/api/banks', 200],
    [GET => '/api/account', 200],
    [GET => '/api/account?nocookie', 401],
    [POST => '/api/banks', 405],
    [PUT => '/api/account', 200],
);

is(http_req(GET => '/api/banks')->{status}, 200, 'GET /api/banks');
is(account_get($A)->{status}, 200, 'GET /api/account with the session');
is(http_req(GET => '/api/account?nocookie')->{status}, 401,
   'GET /api/account without a session');
is(http_req(POST => '/api/banks')->{status}, 405, 'POST /api/banks');
my $put = account_put($A, $form, key => 'replay-key-1');
is($put->{status}, 200, 'PUT /api/account, a first declaration')
    or diag($put->{body});

# the lines of this test only
sub new_lines {
    my @l = split /\n/, substr(slurp_log(), $from);
    return \@l;
}
ok(wait_until(sub { @{ new_lines() } >= @want }), 'a log line per request');
my $slice = servroot() . '/logs/replay.slice';
open(my $out, '>:raw', $slice) or die "$slice: $!";
print {$out} "$_\n" for @{ new_lines() };
close $out;

# ------------------------------------------------------------- record

my $file = servroot() . '/replay.jsonl';
my $err = servroot() . '/replay.err';
system("$ROOT/tools/replay record '$slice' >'$file' 2>'$err'");
is($? >> 8, 0, 'tools/replay record: exit 0');

open(my $fh, '<:raw', $file) or die "$file: $!";
my @reqs = map { JSON::PP->new->utf8->decode($_) } grep { /\S/ } <$fh>;
close $fh;

is_deeply([map { [$_->{method}, $_->{path}, $_->{status}] } @reqs], \@want,
          'one line per request: method, path, status');
is($reqs[1]{headers}{Cookie}, "csibiz=$A->{sid}", 'the cookie');
ok(!exists $reqs[2]{headers}{Cookie}, 'no cookie where none was sent');
is($reqs[4]{headers}{'Idempotency-Key'}, 'replay-key-1',
   'PUT: the Idempotency-Key');
is($reqs[4]{headers}{'X-CSRF-Token'}, $A->{csrf}, 'PUT: the CSRF token');
like($reqs[4]{headers}{'Content-Type'}, qr{^application/json},
     'PUT: the Content-Type');
is_deeply(JSON::PP->new->decode($reqs[4]{body}),
          JSON::PP->new->decode(JSON::PP->new->canonical->encode($form)),
          'PUT: the body, as sent');
is($reqs[0]{body}, undef, 'GET: no body');

# --------------------------------------------------------------- send

my $url = 'http://127.0.0.1:' . server_port();

sub replay {
    my ($args) = @_;
    my $o = qx{$ROOT/tools/replay send --url $url $args 2>&1};
    return ($? >> 8, $o);
}

my ($rc, $o) = replay("--concurrency 2 --loop 2 '$file'");
is($rc, 0, 'send: as recorded, exit 0') or diag($o);
like($o, qr/10 requests .*10 as expected, 0 not/, 'send: 10 as expected');
is(psql_value("SELECT count(*) FROM bank_account WHERE insured_person_id"
              . " = $A->{pid}"), 1,
   'the PUT replayed is the first answer again (same key): one account');

($rc, $o) = replay("--rate 50 --concurrency 1 '$file'");
is($rc, 0, 'send at a rate: exit 0') or diag($o);
like($o, qr/asked 50\/s/, 'the rate asked is reported');

# an expectation the server does not meet
$reqs[2]{status} = 200;
my $changed = servroot() . '/replay-changed.jsonl';
open($out, '>:raw', $changed) or die;
print {$out} JSON::PP->new->utf8->canonical->encode($_), "\n" for @reqs;
close $out;

($rc, $o) = replay("'$changed'");
is($rc, 1, 'send: a status not as expected, exit 1');
like($o, qr{GET /api/account: 401, expected 200 \(1x\)},
     'the mismatch is named: path, status, expected');
like($o, qr/4 as expected, 1 not/, 'the rest as expected');

# nobody listening
my $o2 = qx{$ROOT/tools/replay send --url http://127.0.0.1:1 '$file' 2>&1};
is($? >> 8, 1, 'send to a closed port: exit 1');
like($o2, qr/ECONNREFUSED/, 'the reason is given');

# usage errors
system("$ROOT/tools/replay send >/dev/null 2>&1");
is($? >> 8, 2, 'send without a file: exit 2');
system("$ROOT/tools/replay send --rate x '$file' >/dev/null 2>&1");
is($? >> 8, 2, 'a bad --rate: exit 2');

done_testing();
