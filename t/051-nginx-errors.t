# tools/nginx-api-errors.conf: the refusals nginx makes itself, before
# the module sees a request, come as the API's JSON errors too.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $ROOT = repo_root();

start_bank_nginx(now => '2026-09-10 12:00:00+08',
                 config => "include $ROOT/tools/nginx-api-errors.conf;\n");

# status line, Content-Type and the error code of a raw exchange
sub refusal {
    my ($in) = @_;
    my ($head, $body) = split /\r\n\r\n/, $in, 2;
    my ($status) = $head =~ m{\AHTTP/1\.1 (\d+)};
    my ($type) = $head =~ m{^Content-Type: ([^\r]*)}mi;
    my $json = eval { JSON::PP->new->utf8->decode($body // '') };
    return [$status, $type, $json ? $json->{error}{code} : $body];
}

my $json = 'application/json; charset=utf-8';

is_deeply(refusal(http_raw("POST /api/login HTTP/1.1\r\nHost: localhost\r\n"
                           . "Content-Type: application/json\r\n"
                           . "Content-Length: 10000000\r\n"
                           . "Connection: close\r\n\r\n{")),
          [413, $json, 'body_too_large'],
          '10 MB announced (over client_max_body_size): JSON 413');

is_deeply(refusal(http_raw("GET /api/health HTTP/1.1\r\nHost: localhost\r\n"
                           . join('', map { "X-Flood-$_: " . ('v' x 20)
                                            . "\r\n" } 1 .. 2000)
                           . "Connection: close\r\n\r\n")),
          [400, $json, 'bad_request'], '2000 headers: JSON 400');

is_deeply(refusal(http_raw("GET /api/account HTTP/1.1\r\nHost: localhost\r\n"
                           . 'Cookie: csibiz=' . ('A' x 40_000) . "\r\n"
                           . "Connection: close\r\n\r\n")),
          [400, $json, 'bad_request'], 'a 40 kB cookie: JSON 400');

is_deeply(refusal(http_raw('GET /api/health?' . ('q' x 20_000)
                           . " HTTP/1.1\r\nHost: localhost\r\n"
                           . "Connection: close\r\n\r\n")),
          [414, $json, 'uri_too_long'], 'a 20 kB URI: JSON 414');

is_deeply(refusal(http_raw("BROKEN\r\n\r\n")), [400, $json, 'bad_request'],
          'a request line that is not HTTP: JSON 400');

# the module's own answers are untouched
code_is(http_req(POST => '/api/login', body => '{',
                 headers => { 'Content-Type' => 'application/json' }),
        400, 'bad_json', 'the module\'s own 400 keeps its code');

done_testing();
