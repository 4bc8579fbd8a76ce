# What would fail at run time fails nginx -t instead, with an [emerg] at
# the file and line of the directive to fix: a handler whose backend or
# key is not configured, a thread pool nobody declares, a session cookie
# that browsers would drop, an origin that is not one.  The directives may
# come in any order in http{}; a good configuration passes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;
use File::Temp ();

no_backends();

my $dir = File::Temp->newdir();
my $key = "$dir/secret.key";
{
    open(my $fh, '>', $key) or die "$key: $!";
    print $fh join('', map { chr(int(rand(256))) } 1 .. 32);
    close $fh;
    chmod 0600, $key;
}

my $REDIS = 'csibiz_redis 127.0.0.1:1;';
my $PG = 'csibiz_postgres "hostaddr=127.0.0.1 port=1 dbname=x user=x";';
my $KEY = "csibiz_secret_file $key;";
my $POOL = 'thread_pool csibiz threads=1;';

# nginx -t of a configuration: (passed, output, the config's lines)
sub config_test {
    my (%o) = @_;
    my $ok = eval { start_nginx(no_backends => 1, %o); 1 };
    my $out = $ok ? '' : $@;
    stop_nginx() if $ok;
    open(my $fh, '<', servroot() . '/conf/nginx.conf') or die $!;
    my @lines = <$fh>;
    return ($ok, $out, \@lines);
}

# the line (1-based) of the config that holds $marker
sub line_of {
    my ($lines, $marker) = @_;
    for my $i (0 .. $#$lines) {
        return $i + 1 if index($lines->[$i], $marker) >= 0;
    }
    die "no line with $marker";
}

# nginx -t fails with an [emerg] matching $re at the line of $marker
sub refused {
    my ($name, $re, $marker, %o) = @_;
    my ($ok, $out, $lines) = config_test(%o);
    ok(!$ok, "$name: nginx -t fails");
    my $file = $o{file} // servroot() . '/conf/nginx.conf';
    my $line = $o{file} ? $o{line} : line_of($lines, $marker);
    like($out, qr/\[emerg\] [^\n]*$re[^\n]* in \Q$file\E:$line\n/,
         "$name: [emerg] at $file:$line") or diag($out);
}

# ------------------------------------------- a backend or key not configured

refused('health without csibiz_redis',
        qr/csibiz handler "health" needs "csibiz_redis"/, 'csibiz health',
        http_config => "$PG\n$KEY\n",
        config => "    location = /a { csibiz agreement; }\n"
                  . "    location = /h { csibiz health; }\n");

refused('captcha without csibiz_redis',
        qr/csibiz handler "captcha" needs "csibiz_redis"/, 'csibiz captcha',
        main_config => $POOL, http_config => "$PG\n$KEY\n",
        config => "    location = /c { csibiz captcha; }\n");

refused('banks without csibiz_postgres',
        qr/csibiz handler "banks" needs "csibiz_postgres"/, 'csibiz banks',
        http_config => "$REDIS\n",
        config => "    location = /s { csibiz status; }\n"
                  . "    location = /b { csibiz banks; }\n");

refused('login without csibiz_secret_file',
        qr/csibiz handler "login" needs "csibiz_secret_file"/,
        'csibiz login', main_config => $POOL,
        http_config => "$REDIS\n$PG\n",
        config => "    location = /l { csibiz login; }\n");

# in an included file: that file and its line
{
    my $inc = "$dir/api.conf";
    open(my $fh, '>', $inc) or die $!;
    print $fh "# the API\nlocation = /api/health { csibiz health; }\n"
              . "location = /api/me { csibiz me; }\n";
    close $fh;
    refused('in an included file', qr/csibiz handler "health" needs/, '',
            file => $inc, line => 2,
            http_config => "$PG\n$KEY\n",
            config => "    include $inc;\n");
}

# ---------------------------------------------------------- thread pools

refused('csibiz_thread_pool naming an undeclared pool',
        qr/unknown thread pool "nosuch"/, 'csibiz_thread_pool nosuch',
        main_config => $POOL,
        http_config => "$REDIS\n$PG\n$KEY\ncsibiz_thread_pool nosuch;\n",
        config => "    location = /l { csibiz login; }\n");

refused('csibiz_thread_pool: an undeclared pool, even if unused',
        qr/unknown thread pool "other"/, 'csibiz_thread_pool other',
        http_config => "$REDIS\n$PG\ncsibiz_thread_pool other;\n",
        config => "    location = /h { csibiz health; }\n");

# -------------------------------------------------------- session cookie

refused('the default __Host- cookie with csibiz_session_secure off',
        qr/"csibiz_session_secure off" with the session cookie "__Host-csibiz"/,
        'csibiz_session_secure off',
        http_config => "$REDIS\n$PG\ncsibiz_session_secure off;\n",
        config => "    location = /h { csibiz health; }\n");

refused('a __Secure- cookie with csibiz_session_secure off',
        qr/session cookie "__Secure-sid"/, 'csibiz_session_secure off',
        http_config => "$REDIS\n$PG\ncsibiz_session_secure off;\n"
                       . "csibiz_session_cookie __Secure-sid;\n",
        config => "    location = /h { csibiz health; }\n");

refused('a __host- cookie (browsers ignore the case)',
        qr/session cookie "__host-sid"/, 'csibiz_session_secure off',
        http_config => "$REDIS\n$PG\ncsibiz_session_cookie __host-sid;\n"
                       . "csibiz_session_secure off;\n",
        config => "    location = /h { csibiz health; }\n");

for my $bad ('"sid; Domain=example.com"', 'sid=x', '"s id"', '""') {
    refused("cookie name $bad",
            qr/(invalid session cookie name|takes a cookie name)/,
            "csibiz_session_cookie $bad",
            http_config => "$REDIS\n$PG\ncsibiz_session_cookie $bad;\n",
            config => "    location = /h { csibiz health; }\n");
}

# -------------------------------------------------------------- origins

for my $bad ('portal.example.cn', 'https://portal.example.cn/',
             'https://portal.example.cn/api', 'https://', 'ftp://x.cn',
             'https://:443') {
    refused("csibiz_origin $bad", qr/invalid origin "\Q$bad\E"/,
            "csibiz_origin https://a.example.cn $bad",
            http_config => "$REDIS\n$PG\n",
            config => "    csibiz_origin https://a.example.cn $bad;\n"
                      . "    location = /h { csibiz health; }\n");
}

refused('csibiz_origin twice in one place', qr/is duplicate/,
        'csibiz_origin http://b',
        http_config => "$REDIS\n$PG\n",
        config => "    csibiz_origin https://a.example.cn;\n"
                  . "    csibiz_origin http://b.example.cn;\n"
                  . "    location = /h { csibiz health; }\n");

# ----------------------------------------------------- good configurations

my ($ok, $out) = config_test(
    main_config => "thread_pool csibiz threads=1;",
    http_config => "csibiz_thread_pool csibiz;\n"
                   . "csibiz_session_cookie __Host-sid;\n"
                   . "csibiz_session_secure on;\n"
                   . "csibiz_origin https://portal.example.cn "
                   . "https://portal.example.cn:8443 http://[::1]:8080;\n",
    config => join('', map { "    location = /api/$_ { csibiz $_; }\n" }
                       qw(health agreement captcha sms_send register
                          password_reset login logout reauth session banks
                          account me declarations payments status))
              . "    location = /other { csibiz_origin https://b.example.cn;"
              . " csibiz health; }\n"
              # the backends and the key after the locations that need them
              . "}\n$REDIS\n$PG\n$KEY\nserver {\n"
              . "    listen 127.0.0.1:" . spare_port() . ";\n");
ok($ok, 'every handler, backends and key after the server: nginx -t passes')
    or diag($out);

($ok, $out) = config_test(
    http_config => "$REDIS\n$PG\ncsibiz_session_cookie csibiz;\n"
                   . "csibiz_session_secure off;\n",
    config => "    location = /h { csibiz health; }\n"
              . "    location = /s { csibiz status; }\n");
ok($ok, 'a plain cookie name with csibiz_session_secure off (a demo): passes')
    or diag($out);

($ok, $out) = config_test(
    config => "    location = /s { csibiz status; }\n");
ok($ok, 'status alone needs no backend') or diag($out);

done_testing();
