# GET /api/agreement: the latest agreement published by now, in the
# request's language.  Versions added here are removed at the end: the
# table is reference data, which the test reset keeps.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;

use Encode ();

# it stops PostgreSQL: a cluster of its own, not the shared one
own_postgres();

ensure_backends();

# psql() with a Perl text: the command line takes UTF-8 bytes
sub sql { return psql(Encode::encode('UTF-8', $_[0])) }

my @ADDED = ('t-012-newer', 't-012-future');

sub cleanup {
    psql("DELETE FROM agreement WHERE version IN ('" . join("','", @ADDED)
         . "')");
    psql("UPDATE agreement SET published_at = published_at"
         . " - interval '1000 years' WHERE published_at"
         . " > now() + interval '900 years'");
}

cleanup();
END { eval { cleanup() } }

my ($first) = psql("SELECT version, title_zh, title_en FROM agreement"
                   . " ORDER BY published_at LIMIT 1");
is($first->[0], '2024-09-01', 'the first version comes with the migration');

start_nginx(config => <<'EOF');
    location = /api/agreement { csibiz agreement; }
EOF

sub get {
    my ($lang) = @_;
    return http_req(GET => '/api/agreement',
                    headers => $lang ? { 'Accept-Language' => $lang } : {});
}

my $r = get();
is($r->{status}, 200, 'GET: 200');
like($r->{headers}{'content-type'}, qr{^application/json; charset=utf-8},
     'JSON in UTF-8');
is($r->{headers}{'cache-control'}, 'no-store', 'not cached');
is_deeply([sort keys %{ $r->{json} }], [qw(text title version)],
          'version, title, text');
is($r->{json}{version}, '2024-09-01', 'version');
is($r->{json}{title}, Encode::decode('UTF-8', $first->[1]),
   'Chinese title by default');
like($r->{json}{text}, qr/^欢迎使用.*\n\n一、服务内容\n/s,
     'Chinese text, paragraphs kept');
like($r->{json}{text}, qr/个人信息保护/, '... about personal information');
unlike($r->{body}, qr/[<>&]/, 'the body is HTML-safe');

for my $lang ('en', 'en-US,en;q=0.9', 'en-GB, zh;q=0.5') {
    $r = get($lang);
    is($r->{json}{title}, $first->[2], "English for '$lang'");
}
like($r->{json}{text}, qr/^Welcome .*Personal information/s, 'English text');
is($r->{json}{version}, '2024-09-01', 'the same version in English');

for my $lang ('zh-CN', 'zh-CN,zh;q=0.9,en;q=0.8', 'fr') {
    $r = get($lang);
    like($r->{json}{text}, qr/^欢迎使用/, "Chinese for '$lang'");
}

# a version published later is in force; one to come is not yet
sql("INSERT INTO agreement VALUES ('t-012-future', '未来', 'Future',"
     . " '未来的文本', 'Future text', now() + interval '1 day')");
is(get()->{json}{version}, '2024-09-01', 'a future version is not in force');

sql("INSERT INTO agreement VALUES ('t-012-newer', '新版 \"协议\"',"
     . " 'New <b>terms</b>', E'第一行\\n第二行\\t\\\\', 'Line \"1\"',"
     . " now() - interval '1 second')");
$r = get();
is($r->{json}{version}, 't-012-newer', 'a newer published version is');
is($r->{json}{title}, '新版 "协议"', 'quotes escaped');
is($r->{json}{text}, "第一行\n第二行\t\\", 'control characters escaped');
$r = get('en');
is($r->{json}{title}, 'New <b>terms</b>', 'English title');
unlike($r->{body}, qr/[<>]/, '< and > escaped as \\u003c, \\u003e');

psql("DELETE FROM agreement WHERE version = 't-012-newer'");
is(get()->{json}{version}, '2024-09-01', 'back to the first');

# none in force: an internal error, logged
psql("UPDATE agreement SET published_at = published_at"
     . " + interval '1000 years'");
my $mark = error_log_mark();
$r = get();
is($r->{status}, 500, 'none published: 500');
is($r->{json}{error}{code}, 'internal', 'none published: internal');
like(error_log_since($mark), qr/no user agreement is published/,
     'none published: logged');
cleanup();
is(get()->{json}{version}, '2024-09-01', 'published again');

$r = http_req(POST => '/api/agreement', body => '');
is($r->{status}, 405, 'POST: 405');

backend_stop('postgres');
$r = get();
is($r->{status}, 503, 'PostgreSQL down: 503');
is($r->{json}{error}{code}, 'backend_unavailable',
   'PostgreSQL down: backend_unavailable');
backend_start('postgres');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
