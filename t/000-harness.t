# Self-test of Test::Csibiz with plain nginx: no csibiz directives, no
# backends; the module is loaded only if it has been built.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;

no_backends();
module_optional();
repeat_each(2);

# Blocks first, then the plain-Perl helpers; block_tests() counts exactly
# what run_blocks() runs, so a wrong count shows up as a plan mismatch.
plan tests => block_tests() + 29;

run_blocks();

# ----------------------------------------------------- plain-Perl helpers

start_nginx(no_backends => 1, config => <<'EOF');
    location = /hello { return 200 "hello"; }
    location = /len   { return 200 "$request_method $content_length"; }
    location = /json  { default_type application/json;
                        return 200 '{"a":1,"b":[true,null,"x"]}'; }
    location = /slow  { proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/hello;
                        proxy_set_header Connection ""; }
    location = /chunked { default_type text/html; sub_filter_once off;
                          sub_filter "l" "L"; return 200 "hello"; }
EOF

my $r = http_req(GET => '/hello');
is($r->{status}, 200, 'http_req: status');
is($r->{body}, 'hello', 'http_req: body');
is($r->{headers}{'content-length'}, 5, 'http_req: lower-case header names');
ok($r->{elapsed} > 0 && $r->{elapsed} < 2, 'http_req: elapsed');

$r = http_req(GET => '/json');
is_deeply($r->{json}, { a => 1, b => [JSON::PP::true(), undef, 'x'] },
          'http_req: json decoded');

$r = http_req(GET => '/chunked');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'chunked response');
is($r->{body}, 'heLLo', 'chunked body decoded');

$r = http_req(POST => '/len', body => 'x' x 10, timeout => 3);
is($r->{body}, 'POST 10', 'POST with a body');

$r = http_req(GET => '/hello', headers => { Connection => 'keep-alive' },
              timeout => 3);
is($r->{body}, 'hello', 'keep-alive response complete by Content-Length');

my $res = http_concurrent([map { [GET => '/hello'] } 1 .. 30],
                          max_parallel => 10);
is(scalar @$res, 30, 'http_concurrent: 30 results');
is(scalar(grep { ($_->{status} // 0) == 200 && $_->{body} eq 'hello' } @$res),
   30, 'http_concurrent: all 200 hello');
ok(!grep({ !$_->{start} || $_->{finish} < $_->{start} } @$res),
   'http_concurrent: start and finish times');

my $ticks = 0;
$res = http_concurrent([[GET => '/hello'], { method => 'GET', path => '/json' }],
                       tick => sub { $ticks++ });
is($res->[1]{json}{a}, 1, 'http_concurrent: hashref spec, order kept');
ok($ticks >= 1, 'http_concurrent: tick callback');

my $h = http_start(GET => '/hello');
$r = http_finish($h);
is($r->{body}, 'hello', 'http_start + http_finish');

$h = http_start(GET => '/hello');
$r = http_abort($h);
is($r->{error}, 'aborted by the client', 'http_abort');

$r = http_req(GET => '/hello', port => 1, timeout => 1);
like($r->{error}, qr/connect/, 'connect error reported');

my $master = nginx_pid();
ok($master, 'nginx_pid');
my @w = worker_pids();
is(scalar @w, 1, 'worker_pids: one worker');

my $mark = error_log_mark();
http_req(GET => '/nothere');
ok(wait_until(sub { error_log_since($mark) =~ /No such file or directory/ },
              timeout => 2),
   'error_log_since sees the new line');
unlike(error_log_since($mark), qr/signal process started/,
       'error_log_since starts at the mark');

reload_nginx(wait => 1);
ok(wait_until(sub { my @n = worker_pids(all => 1);
                    @n == 1 && $n[0] != $w[0] }, timeout => 5),
   'reload_nginx: a new worker replaces the old one');
is(nginx_pid(), $master, 'reload keeps the master');

my $bg = background(sub { my $x = http_req(GET => '/hello'); $x->{status} });
is(background_wait($bg), 200, 'background + background_wait');

ok(stop_nginx(), 'stop_nginx: graceful');
ok(!pid_alive($master), 'master gone after stop_nginx');

# json_like
ok(!defined json_like({ a => 1, b => 'xyz', c => [1] },
                      { b => 're:^x', c => [1] }), 'json_like: subset + regex');
like(json_like({ a => 1 }, { a => 2 }), qr/got '1', expected '2'/,
     'json_like: mismatch explained');
like(json_like({ a => [1, 2] }, { a => [1] }), qr/2 elements/,
     'json_like: array length');

__DATA__

=== TEST 1: return 200 with a body
--- config
    location = /t { return 200 "hello"; }
--- request
GET /t
--- error_code: 200
--- response_headers
Content-Type: text/plain
Content-Length: 5
!X-Nothing
--- response_body chomp
hello
--- no_error_log
[error]
[warn]



=== TEST 2: return 404
--- config
    location = /t { return 404; }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 3: added headers, headers like
--- config
    location = /t {
        add_header X-Csibiz "yes, it is";
        add_header X-Port $server_port;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
X-Csibiz: yes, it is
X-Port: $TEST_NGINX_SERVER_PORT
--- response_headers_like
Server: ^nginx
--- response_body
ok



=== TEST 4: request headers and a request body
--- config
    location = /t {
        return 200 "$request_method $http_x_one $http_x_two $content_length";
    }
--- request
POST /t
abc=1
--- more_headers
X-One: first
X-Two: second
--- error_code: 200
--- response_body chomp
POST first second 5



=== TEST 5: request eval, several requests
--- config
    location = /a { return 200 "A"; }
    location = /b { return 201 "B"; }
--- request eval
["GET /a", "GET /b", { method => "HEAD", path => "/a" }]
--- error_code eval
[200, 201, 200]
--- response_body eval
["A", "B", ""]



=== TEST 6: JSON compared structurally
--- config
    location = /t {
        default_type application/json;
        return 200 '{ "b": [1, 2, {"c": null}], "a": "x", "t": true }';
    }
--- request
GET /t
--- response_body_json
{"a":"x","t":true,"b":[1,2,{"c":null}]}



=== TEST 7: JSON like: subset and regex
--- config
    location = /t {
        default_type application/json;
        return 503 '{"error":{"code":"backend_unavailable","message":"redis is down"}}';
    }
--- request
GET /t
--- error_code: 503
--- response_body_json_like
{"error":{"code":"backend_unavailable","message":"re:\\bdown$"}}



=== TEST 8: error_log substrings and regexes
--- config
    location / { root html; }
--- request
GET /nothere.txt
--- error_code: 404
--- error_log eval
["No such file or directory",
 qr/\[error\] \d+#\d+: \*\d+ open\(\) "[^"]+nothere\.txt" failed/]
--- no_error_log eval
[qr/\[crit\]/, "Permission denied"]



=== TEST 9: log level and wait
--- log_level: debug
--- config
    location = /t { return 204; }
--- request
GET /t
--- wait: 0.1
--- error_code: 204
--- response_body:
--- error_log
[debug]



=== TEST 10: a bad directive makes nginx -t fail
--- config
    location = /t { no_such_directive on; }
--- must_die
--- error_log
[emerg]
unknown directive "no_such_directive"



=== TEST 11: nginx -t only, main and http config
--- main_config
worker_rlimit_nofile 2048;
--- http_config
server_tokens off;
--- config
    location = /t { return 200; }
--- config_test_only
--- error_log
syntax is ok
--- no_error_log
[warn]



=== TEST 12: server_tokens from http_config, 2 workers
--- workers: 2
--- http_config
server_tokens off;
--- config
    location = /t { return 200 "w"; }
--- request
GET /t
--- response_headers
Server: nginx
--- response_body chomp
w
