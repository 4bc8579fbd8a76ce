# The request layer of the account handlers: 405 for a method a handler
# does not take, 415 for a body that is not application/json, 413 over
# csibiz_body_limit (and over client_body_buffer_size), 400 bad_json for
# anything but one flat JSON object, field types and escapes, the answer's
# language from Accept-Language, the bodies of refused requests discarded
# on a kept-alive connection, and the body never in the log.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;


binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $MAIN = $ACCOUNT_MAIN;

my $HTTP = "$ACCOUNT_HTTP    csibiz_captcha off;\n";

my $CONFIG = <<'EOF';
    location = /api/health    { csibiz health; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
    location = /api/logout    { csibiz logout; }
    location = /api/reauth    { csibiz reauth; }
    location = /api/session   { csibiz session; }

    location = /small/login   { csibiz login; csibiz_body_limit 1k; }
    location = /big/login     { csibiz login; csibiz_body_limit 64k; }
EOF

my %MSG = (
    method_not_allowed     => ['不支持该请求方法。',
                               'This method is not allowed here.'],
    unsupported_media_type => ['请求内容必须是 JSON（application/json）。',
                               'The request body must be JSON '
                               . '(application/json).'],
    body_too_large         => ['请求内容过大。',
                               'The request body is too large.'],
    bad_json               => ['请求内容不是有效的 JSON 对象。',
                               'The request body is not a valid JSON '
                               . 'object.'],
);

# the whole answer of a refusal: status, JSON error, headers
sub refused {
    my ($r, $status, $code, $name, %o) = @_;
    my $msg = $MSG{$code}[$o{en} ? 1 : 0];
    is($r->{status}, $status, "$name: $status") or diag($r->{body});
    is_deeply($r->{json}, { error => { code => $code, message => $msg } },
              "$name: $code") or diag($r->{body});
    is($r->{headers}{'content-type'}, 'application/json; charset=utf-8',
       "$name: JSON");
    is($r->{headers}{'cache-control'}, 'no-store', "$name: not cached");
}

sub raw_post {
    my ($path, $type, $body, %h) = @_;
    return http_req(POST => $path, body => $body,
                    headers => { (defined $type ? ('Content-Type' => $type)
                                                : ()), %h });
}

# requests on one kept-alive connection: the statuses of the answers
sub pipeline {
    my (@reqs) = @_;
    return [http_raw(join('', @reqs), timeout => 5) =~ m{HTTP/1\.1 (\d{3}) }g];
}

sub request_text {
    my ($method, $path, %o) = @_;
    my $body = $o{body} // '';
    my $t = "$method $path HTTP/1.1\r\nHost: localhost\r\n";
    $t .= "Content-Type: $o{type}\r\n" if $o{type};
    $t .= "Content-Length: " . length($body) . "\r\n" if length $body;
    $t .= "Connection: close\r\n" if $o{last};
    return "$t\r\n$body";
}

start_nginx(main_config => $MAIN, http_config => $HTTP, config => $CONFIG);
my $mark = error_log_mark();

# ----------------------------------------------------------------- 405

my @not_allowed = (
    [GET => '/api/register'], [PUT => '/api/register'],
    [DELETE => '/api/register'], [GET => '/api/login'],
    [PATCH => '/api/login'], [GET => '/api/logout'],
    [DELETE => '/api/logout'], [GET => '/api/reauth'],
    [PUT => '/api/session'], [DELETE => '/api/session'],
    [OPTIONS => '/api/session'],
);
for my $m (@not_allowed) {
    refused(http_req(@$m), 405, 'method_not_allowed', "$m->[0] $m->[1]");
}
refused(http_req(GET => '/api/login', headers => { 'Accept-Language' => 'en' }),
        405, 'method_not_allowed', 'GET /api/login in English', en => 1);
refused(http_req(PUT => '/api/register', body => 'x=1',
                 headers => { 'Content-Type' => 'text/plain' }),
        405, 'method_not_allowed', 'PUT with a text body: 405 before 415');
refused(http_req(POST => '/api/health', body => '{"a":1}',
                 headers => { 'Content-Type' => 'application/json' }),
        405, 'method_not_allowed', 'POST to a GET-only handler');

# ----------------------------------------------------------------- 415

for my $path (qw(/api/register /api/login /api/reauth)) {
    for my $type (undef, 'text/plain', 'application/x-www-form-urlencoded',
                  'multipart/form-data; boundary=x', 'text/json',
                  'application/jsonp', 'application/json-patch+json',
                  'application/javascript') {
        refused(raw_post($path, $type, '{"password":"x"}'), 415,
                'unsupported_media_type',
                "POST $path, Content-Type " . ($type // 'missing'));
    }
}
refused(raw_post('/api/login', 'text/plain', '{}', 'Accept-Language' => 'en'),
        415, 'unsupported_media_type', '415 in English', en => 1);

for my $type ('application/json', 'application/json; charset=utf-8',
              'application/json;charset=UTF-8', 'Application/JSON') {
    my $r = raw_post('/api/login', $type, '{}');
    is($r->{status}, 401, "Content-Type $type: accepted (401 from login)")
        or diag($r->{body});
}

# handlers without a body do not look at it
for my $path (qw(/api/logout /api/session)) {
    my $r = raw_post($path, 'text/plain', 'anything');
    is($r->{json}{error}{code}, 'not_logged_in',
       "POST $path with a text body: not_logged_in, not 415");
}

# ----------------------------------------------------------------- 413

sub json_of_size {
    my ($size) = @_;
    my $head = '{"id_number":"110105201003150011","password":"';
    return $head . ('p' x ($size - length($head) - 2)) . '"}';
}

my $r = raw_post('/small/login', 'application/json', json_of_size(1025));
refused($r, 413, 'body_too_large', 'csibiz_body_limit 1k, 1025 bytes');
$r = raw_post('/small/login', 'application/json', json_of_size(1025),
              'Accept-Language' => 'en');
refused($r, 413, 'body_too_large', '413 in English', en => 1);
$r = raw_post('/small/login', 'application/json', json_of_size(1024));
isnt($r->{status}, 413, 'exactly 1k: accepted');

# chunked: the length is known only once the body is read
sub chunked {
    my ($path, $body) = @_;
    my $chunks = '';
    for (my $i = 0; $i < length $body; $i += 300) {
        my $c = substr($body, $i, 300);
        $chunks .= sprintf("%x\r\n", length $c) . "$c\r\n";
    }
    return http_req(POST => $path, body => "${chunks}0\r\n\r\n",
                    headers => { 'Content-Type' => 'application/json',
                                 'Transfer-Encoding' => 'chunked' });
}
refused(chunked('/small/login', json_of_size(1500)), 413, 'body_too_large',
        'chunked, 1500 bytes');
$r = chunked('/small/login', json_of_size(900));
is($r->{status}, 401, 'chunked, 900 bytes: accepted') or diag($r->{body});

refused(raw_post('/api/login', 'application/json', json_of_size(16385)),
        413, 'body_too_large', 'the default limit: 16k + 1 bytes');
is(raw_post('/api/login', 'application/json', json_of_size(8000))->{status},
   401, 'the default limit: 8000 bytes accepted');
refused(raw_post('/big/login', 'application/json', json_of_size(20000)),
        413, 'body_too_large',
        'csibiz_body_limit 64k, but over client_body_buffer_size (16k)');

# ------------------------------------------------------------- bad_json

my @bad = (
    ['an empty body'           => ''],
    ['white space'             => '  '],
    ['a truncated object'      => '{"id_number":'],
    ['null'                    => 'null'],
    ['a string'                => '"id_number"'],
    ['an array'                => '[{"id_number":"x"}]'],
    ['a nested object'         => '{"id_number":{"a":1}}'],
    ['an array member'         => '{"password":["a","b"]}'],
    ['a duplicate key'         => '{"password":"a","password":"b"}'],
    ['trailing data'           => '{"password":"a"} x'],
    ['two objects'             => '{}{}'],
    ['single quotes'           => "{'password':'a'}"],
    ['a trailing comma'        => '{"password":"a",}'],
    ['an unquoted key'         => '{password:"a"}'],
    ['a byte order mark'       => "\xEF\xBB\xBF{}"],
    ['invalid UTF-8'           => "{\"password\":\"\xFF\xFE\"}"],
    ['an overlong UTF-8 form'  => "{\"password\":\"\xC0\xAF\"}"],
    ['a lone surrogate escape' => '{"password":"\ud800"}'],
    ['an escaped NUL'          => '{"password":"a\u0000b"}'],
    ['a raw control character' => "{\"password\":\"a\x01b\"}"],
    ['a bad escape'            => '{"password":"\q"}'],
    ['a leading zero'          => '{"n":012}'],
    ['33 members'              => '{' . join(',', map { "\"k$_\":1" } 1 .. 33)
                                  . '}'],
);
for my $case (@bad) {
    my ($name, $body) = @$case;
    for my $path (qw(/api/register /api/login)) {
        my $r = http_req(POST => $path, body => $body,
                         headers => { 'Content-Type' => 'application/json' });
        refused($r, 400, 'bad_json', "$path, $name");
    }
}
refused(raw_post('/api/reauth', 'application/json', '[1]'), 400, 'bad_json',
        '/api/reauth, an array (before the session is looked at)');
refused(raw_post('/api/login', 'application/json', '[1]',
                 'Accept-Language' => 'en-GB,en;q=0.9'),
        400, 'bad_json', 'bad_json in English', en => 1);

# what is accepted: 32 members, escapes, numbers, literals
$r = raw_post('/api/login', 'application/json',
              '{' . join(',', map { "\"k$_\":1" } 1 .. 32) . '}');
is($r->{status}, 401, '32 members: accepted') or diag($r->{body});
$r = raw_post('/api/register', 'application/json',
              '{"id_number":"\u0034\u0034030520120520018\u0058",'
              . '"si_card_no":"\u0052EG000000001","phone":null,'
              . '"sms_code":true,"agree_version":1.5e3,'
              . '"password":"\u5bc6\u7801\ud83d\ude00 long enough!"}');
is($r->{status}, 400, 'register with escapes and literals: 400');
is_deeply($r->{json}{error}{fields},
          { phone => 'required', sms_code => 'format',
            sms_ticket => 'required', agree_version => 'format' },
          'escapes decoded (ID, card and password valid), null is missing, '
          . 'true and a number are not strings');

# --------------------------------------------------------- the language

my @langs = (
    [undef,                           0],
    ['en',                            1],
    ['EN',                            1],
    ['en-US',                         1],
    ['en-GB,en;q=0.9',                1],
    ['zh-CN,zh;q=0.9,en;q=0.8',       0],
    ['en;q=0.8,zh-CN;q=0.9',          0],
    ['en-US,zh;q=0.9',                1],
    ['fr-FR',                         0],
    ['fr-FR, en;q=0.5',               1],
    ['*',                             0],
    ['en;q=0',                        0],
    ['zh, en',                        0],
    [';;;,,,q=,en',                   1],
);
for my $l (@langs) {
    my ($lang, $en) = @$l;
    my $r = http_req(GET => '/api/login', headers => {
        defined $lang ? ('Accept-Language' => $lang) : () });
    is($r->{json}{error}{message}, $MSG{method_not_allowed}[$en],
       'Accept-Language ' . ($lang // 'absent') . ': '
       . ($en ? 'English' : 'Chinese'));
}
$r = json_post('/api/register', {}, headers => { 'Accept-Language' => 'en' });
is($r->{json}{error}{message}, 'Some fields are not valid; please check them.',
   'invalid in English');
ok($r->{json}{error}{fields}, '... with its fields');
$r = json_post('/api/login', {}, headers => { 'Accept-Language' => 'en' });
is($r->{json}{error}{message}, 'The ID number or password is wrong.',
   'bad_credentials in English');
$r = http_req(POST => '/api/logout', headers => { 'Accept-Language' => 'en' });
is($r->{json}{error}{message}, 'Please log in first.',
   'not_logged_in in English');

# --------------------------------------- refused bodies are discarded

my $big = json_of_size(2000);
my @cases = (
    ['415' => request_text(POST => '/api/login', type => 'text/plain',
                           body => 'id_number=1&password=2'), 415],
    ['413' => request_text(POST => '/small/login',
                           type => 'application/json', body => $big), 413],
    ['405' => request_text(POST => '/api/health',
                           type => 'application/json', body => '{"a":1}'),
     405],
    ['bad_json' => request_text(POST => '/api/login',
                                type => 'application/json', body => '{"a"'),
     400],
    ['401' => request_text(POST => '/api/login', type => 'application/json',
                           body => '{}'), 401],
);
for my $c (@cases) {
    my ($name, $text, $status) = @$c;
    my $got = pipeline($text, request_text(GET => '/api/session', last => 1));
    is_deeply($got, [$status, 200],
              "a $name and then GET /api/session on one connection");
}

# ---------------------------------------------------------------- logs

my $id = '110105201003150011';
my $r1 = raw_post('/api/login', 'application/json',
                  "{\"id_number\":\"$id\",\"phone\":\"13912345678\"");
is($r1->{status}, 400, 'a truncated body with an ID number and a phone');
my $log = error_log_since($mark);
like($log, qr/\[info\].*csibiz: bad JSON body: syntax/,
     'bad JSON is logged at info, with the reason');
unlike($log, qr/\Q$id\E|13912345678|pppppppppp/,
       'the body is not in the log');
unlike($log, qr/\[(?:alert|crit|emerg|error)\]/, 'no errors logged');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
