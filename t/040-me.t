# GET /api/me: the child's basic data, masked (ID number, social security
# card number, declared phone: first 3 + last 4), in Chinese or English;
# only the logged-in parent's child; 401 without a session, 403 once the
# school declared another phone, 405 for other methods, 503 when a
# backend is down; nothing personal in the logs.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::Csibiz::Ops qw(keytool ops);
use Test::More;

use Encode ();

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_query_nginx();

my $A = parent(1, name => '张小明', school => '北京市第一中学');
my $B = parent(2, name => '王小红', category => 'child');

# what the roster holds, to compare with
my ($gender, $birth, $registered) = psql(
    "SELECT p.gender, encode(p.birth_date_enc, 'hex'),"
    . " to_char(u.created_at AT TIME ZONE"
    . " 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"')"
    . " FROM insured_person p JOIN portal_user u"
    . " ON u.insured_person_id = p.id WHERE p.id = $A->{pid}");
($gender, $birth, $registered) = @$gender;
# sealed in the database; the fixture's is the ID number's
is(keytool('-a', 'birth_date', 'open', $birth),
   join('-', unpack('x6 A4 A2 A2', $A->{id})),
   'the birth date is sealed with associated data birth_date');
$birth = join('-', unpack('x6 A4 A2 A2', $A->{id}));

my $r = query_get($A, '/api/me');
is($r->{status}, 200, 'GET /api/me: 200') or diag($r->{body});
is_deeply($r->{json}, { person => {
    name => '张小明',
    gender => $gender,
    gender_text => $gender eq 'M' ? '男' : '女',
    birth_date => $birth,
    category => 'student',
    category_text => '学生',
    school => '北京市第一中学',
    si_card_no_masked => 'BNK*****0001',
    id_number_masked => substr($A->{id}, 0, 3) . ('*' x 11)
                        . substr($A->{id}, -4),
    phone_masked => '139****0001',
    registered_at => $registered,
} }, 'the child\'s data, masked') or diag($r->{body});
like($registered, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/,
     'registered_at: Beijing time');
is($r->{headers}{'cache-control'}, 'no-store', 'Cache-Control: no-store');
like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON');
for my $secret ($A->{id}, $A->{card}, $A->{phone}) {
    unlike($r->{body}, qr/\Q$secret\E/, 'nothing unmasked in the answer');
}

$r = query_get($A, '/api/me', lang => 'en');
is($r->{json}{person}{gender_text}, $gender eq 'M' ? 'male' : 'female',
   'English: gender');
is($r->{json}{person}{category_text}, 'student', 'English: category');

# a birth date the school gave, not the ID number's: the answer shows the
# sealed one, opened by the module
my $u8 = sub { Encode::encode('UTF-8', $_[0]) };
my $re = ops('roster-add', '--id-number', $A->{id},
             '--name', $u8->('张小明'), '--si-card', $A->{card},
             '--category', 'student', '--school', $u8->('北京市第一中学'),
             '--phone', $A->{phone}, '--birth-date', '2012-01-02');
is($re->{rc}, 0, 'roster-add: another birth date') or diag($re->{err});
$r = query_get($A, '/api/me');
is($r->{json}{person}{birth_date}, '2012-01-02',
   'the school\'s date, opened from the sealed column');

# ------------------------------------------------- another parent's child

$r = query_get($B, '/api/me');
is($r->{status}, 200, 'B: 200');
is_deeply([@{ $r->{json}{person} }{qw(name category category_text school
                                      si_card_no_masked phone_masked)}],
          ['王小红', 'child', '儿童', undef, 'BNK*****0002', '139****0002'],
          'B sees B\'s child only, no school: null');
unlike($r->{body}, qr/张小明|0001/, 'nothing of A in B\'s answer');

# a school whose name a page must not read as markup or a line end: the
# answer escapes < > & U+2028 U+2029, and the name decodes unchanged
{
    my $school = "<b>A&B</b>\x{2028}x\x{2029}\x{2027}中学";
    psql("UPDATE insured_person SET school = convert_from(decode('"
         . unpack('H*', Encode::encode('UTF-8', $school))
         . "', 'hex'), 'UTF8') WHERE id = $B->{pid}");
    $r = query_get($B, '/api/me');
    is($r->{json}{person}{school}, $school, 'a school of markup: unchanged');
    my $u2027 = Encode::encode('UTF-8', "\x{2027}");
    like($r->{body},
         qr/"\\u003cb\\u003eA\\u0026B\\u003c\/b\\u003e
             \\u2028x\\u2029\Q$u2027\E/x,
         'a school of markup: < > & U+2028 U+2029 escaped, U+2027 not');
    psql("UPDATE insured_person SET school = NULL WHERE id = $B->{pid}");
}

# ---------------------------------------------------------- refusals

code_is(query_get(undef, '/api/me'), 401, 'not_logged_in', 'no cookie');
code_is(query_get(undef, '/api/me', cookie => 'csibiz=' . ('A' x 43)), 401,
        'not_logged_in', 'an unknown session');
$r = http_req(POST => '/api/me', headers => { Cookie => "csibiz=$A->{sid}",
              'Content-Type' => 'application/json',
              'X-CSRF-Token' => $A->{csrf} }, body => '{}');
code_is($r, 405, 'method_not_allowed', 'POST');
$r = http_req(DELETE => '/api/me', headers => {
              Cookie => "csibiz=$A->{sid}" });
code_is($r, 405, 'method_not_allowed', 'DELETE');

$r = query_get($A, '/api/me', method => 'HEAD');
is($r->{status}, 200, 'HEAD: 200');
is($r->{body}, '', 'HEAD: no body');

# the school declares another phone for A's child: the old one may no
# longer see the data
roster_add(id_number => $A->{id}, si_card => $A->{card}, name => '张小明',
           school => '北京市第一中学', phone => '13700001111');
$r = query_get($A, '/api/me', lang => 'en');
code_is($r, 403, 'phone_not_declared', 'after the school changed the phone');
unlike($r->{body}, qr/张小明/, 'and nothing of the child');
roster_add(id_number => $A->{id}, si_card => $A->{card}, name => '张小明',
           school => '北京市第一中学', phone => $A->{phone});
is(query_get($A, '/api/me')->{status}, 200, 'the phone declared again');

# ------------------------------------------------------ backends down

backend_stop('postgres');
$r = query_get($A, '/api/me');
code_is($r, 503, 'backend_unavailable', 'PostgreSQL down');
backend_start('postgres');
wait_until(sub { query_get($A, '/api/me')->{status} == 200 }, timeout => 30);
is(query_get($A, '/api/me')->{status}, 200, 'PostgreSQL back: 200');

backend_stop('redis');
code_is(query_get($A, '/api/me'), 503, 'backend_unavailable', 'Redis down');
backend_start('redis');
# the worker's pool backs off for up to a second after the failures, so
# Redis answering is not yet the module answering
wait_until(sub { query_get($A, '/api/me')->{status} != 503 }, timeout => 30);

# the test Redis keeps nothing on disk: the sessions are gone
code_is(query_get($A, '/api/me'), 401, 'not_logged_in',
        'Redis back, without the session');
login($_) for $A, $B;
is(query_get($A, '/api/me')->{status}, 200, 'Redis back, logged in: 200');

# ----------------------------------------------------------- the logs

# at debug level, which logs every header and step
start_query_nginx(log_level => 'debug');
is(query_get($A, '/api/me')->{status}, 200, 'debug: a read');
is(query_get($B, '/api/me', lang => 'en')->{status}, 200,
   'debug: another');
my $log = logs_text();
like($log, qr/\[debug\]/, 'debug: the log is at debug level');
my @found = grep { index($log, $_) >= 0 }
            map { Encode::encode('UTF-8', $_) }
            keys %SECRETS, $A->{card}, $B->{card}, '张小明', '王小红';
is_deeply(\@found, [], 'no ID number, card number, phone or name in'
                       . ' error.log or access.log');

done_testing();
