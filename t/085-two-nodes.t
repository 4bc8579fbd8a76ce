# Two nginx nodes sharing the backends: everything global (sessions, rate
# limits, idempotency keys) lives in Redis and PostgreSQL, so any node can
# serve any request.  Node A is the harness's nginx; node B is a second
# nginx of this file, with the same configuration (the same csibiz_redis,
# csibiz_postgres and csibiz_secret_file) on the file's spare port.
#
# * a session made on A works on B, and a logout on B ends it on A;
# * a client's rate limit counts the requests to both nodes: the 429
#   comes when their sum reaches the burst, though neither node alone
#   has seen that many;
# * a PUT /api/account sent to A and retried with its Idempotency-Key on
#   B is answered from the key: the same receipt, replayed, one
#   declaration in the database.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

use File::Path ();

my $BURST = 6;

start_bank_nginx(now => '2026-09-10 12:00:00+08',
                 http => "    csibiz_limit_client rate=1r/m"
                         . " burst=$BURST;\n",
                 config => <<'EOF');
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/logout    { csibiz logout; }
    location = /api/session   { csibiz session; }
EOF

# ------------------------------------------------------------ node B

my $PORT_A = server_port();
my $PORT_B = spare_port();
my $DIR_B = servroot() . '/node-b';
my $PID_B = "$DIR_B/logs/nginx.pid";
my $NGINX = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

# B's nginx.conf is A's with B's port; its pid file and logs are relative
# to its own prefix.  The temp directories (absolute) are shared: harmless.
File::Path::make_path("$DIR_B/conf", "$DIR_B/logs");
my $conf = do { local (@ARGV, $/) = (servroot() . '/conf/nginx.conf'); <> };
my $n = $conf =~ s/^(\s*listen 127\.0\.0\.1:)\Q$PORT_A\E;/$1$PORT_B;/m;
is($n, 1, "node B: A's configuration, listening on $PORT_B");
{
    open my $fh, '>', "$DIR_B/conf/nginx.conf" or die "$DIR_B: $!";
    print $fh $conf;
    close $fh or die "$DIR_B: $!";
}

sub pid_b {
    open my $fh, '<', $PID_B or return;
    my $pid = <$fh>;
    return $pid && $pid =~ /^(\d+)/ ? $1 : undef;
}

sub stop_b {
    my $pid = pid_b() or return 1;
    kill 'QUIT', $pid;
    return wait_until(sub { !pid_alive($pid) }, timeout => 30);
}

# B is stopped by its own pid file only, whatever happens to the test.
END { stop_b() }

my $out = `'$NGINX' -p '$DIR_B/' -c conf/nginx.conf -e logs/error.log 2>&1`;
is($?, 0, 'node B starts') or diag($out);
ok(wait_until(sub {
       pid_b() && defined http_req(GET => '/api/session',
                                   port => $PORT_B)->{status} },
       timeout => 30),
   'node B answers');
isnt(pid_b(), nginx_pid(), 'node B is another nginx than node A');

# on_b { ... }: the requests of the block go to node B (the fixtures ask
# server_port(), which reads the environment).
sub on_b(&) {
    my ($code) = @_;
    local $ENV{TEST_NGINX_SERVER_PORT} = $PORT_B;
    return $code->();
}

sub session_of {
    my ($p) = @_;
    return http_req(GET => '/api/session',
                    headers => { Cookie => "csibiz=$p->{sid}" });
}

# ------------------------------------------- a session across the nodes

my $P = parent(1);       # registered and logged in on A

my $r = on_b { session_of($P) };
is($r->{status}, 200, 'B: GET /api/session with the session made on A');
ok($r->{json}{logged_in}, 'B: logged in');
is($r->{json}{csrf_token}, $P->{csrf}, 'B: the CSRF token of A\'s login');
is(on_b { account_get($P) }->{status}, 200,
   'B: GET /api/account with A\'s session: 200');

$r = on_b {
    http_req(POST => '/api/logout',
             headers => { Cookie => "csibiz=$P->{sid}",
                          'X-CSRF-Token' => $P->{csrf} }) };
is($r->{status}, 200, 'B: POST /api/logout: 200') or diag($r->{body});
ok($r->{json}{logged_out}, 'B: logged out');

$r = session_of($P);
is($r->{status}, 200, 'A: GET /api/session after the logout on B');
ok(!$r->{json}{logged_in}, 'A: the session has ended');
code_is(account_get($P), 401, 'not_logged_in',
        'A: GET /api/account after the logout on B');

# ------------------------------------------- a limit across the nodes

# Logins from one address, alternately to A and B: each node sees half of
# them, fewer than the burst, but the client is counted once in Redis.
my $i = 0;
my @logins = map {
    my $id = id_number(sprintf '11010520140909%03d', ++$i);
    my $send = sub { login_request($id, 'not the password',
                                   ip => '10.85.0.1') };
    $i % 2 ? $send->() : on_b { $send->() };
} 1 .. $BURST + 2;
is_deeply([map { $_->{status} } @logins],
          [(401) x $BURST, (429) x 2],
          "logins from one address, A and B in turn: $BURST checked"
          . " (" . $BURST / 2 . " on each node), then 429 on both")
    or diag(explain([map { $_->{body} } @logins]));
code_is($logins[-2], 429, 'rate_limited', 'A: over the rate');
code_is($logins[-1], 429, 'rate_limited', 'B: over the rate');
code_is(on_b { login_request($P->{id}, 'not the password',
                             ip => '10.85.0.2') },
        401, 'bad_credentials', 'B: another address logs in as before');

# ------------------------------------ an idempotent PUT across the nodes

my $Q = parent(2);       # logged in on A
my $form = { %{ self_card(seed => 85) }, version => 0 };

my $first = account_put($Q, $form, key => 'two-nodes');
is($first->{status}, 200, 'A: PUT /api/account: 200') or diag($first->{body});
like($first->{json}{receipt_no}, qr/^R20260910-\d{8}$/, 'A: a receipt');
ok(!$first->{headers}{'idempotency-replayed'}, 'A: not a replay');

$r = on_b { account_put($Q, $form, key => 'two-nodes') };
is($r->{status}, 200, 'B: the same PUT with the same key: 200')
    or diag($r->{body});
is($r->{body}, $first->{body}, 'B: A\'s answer, byte for byte');
is($r->{json}{receipt_no}, $first->{json}{receipt_no}, 'B: the same receipt');
is($r->{headers}{'idempotency-replayed'}, 'true',
   'B: Idempotency-Replayed: true');

is_deeply(declaration_rows($Q),
          [[$first->{json}{receipt_no}, 'submitted', '2026-09']],
          'one declaration in the database');
is(audit_count($Q), 1, 'one audit row');
is(psql_value("SELECT version FROM bank_account"
              . " WHERE insured_person_id = $Q->{pid}"), 1, 'version 1');
is(psql_value("SELECT count(*) FROM idempotency_key"), 1, 'one key stored');

# ------------------------------------------------------------- the end

my $log_b = do { local (@ARGV, $/) = ("$DIR_B/logs/access.log"); <> } // '';
my $served = () = $log_b =~ /^/mg;
ok($served >= 8, "node B served its part ($served requests)");
ok(stop_b(), 'node B stops');
my $err_b = do { local (@ARGV, $/) = ("$DIR_B/logs/error.log"); <> } // '';
unlike($err_b, qr/\[(?:alert|crit|emerg)\]|exited on signal/,
       'node B: no alert, no crash');
ok(stop_nginx(), 'node A stops gracefully');

done_testing();
