package Test::Csibiz::Pages;

# The browser tests of html/ (t/06*.t), on top of Test::Csibiz::Bank and
# ::Query: headless Chromium (Debian's chromium package) driven by
# playwright-core (t/browser/pages.js), the pages served by the same nginx
# as the API with the demo's headers (tools/nginx-pages.conf), and the
# accessibility audits of axe-core run in the same browser.
#
#   need_browser();         # skips (or fails in CI) without the browser
#   start_pages(now => '2026-10-10 12:00+08', idle => 125);
#   browse('journey', {id => …, card => …, phone => …, pw => …}, …);
#   all_routes_audited();   # every #/route of html/js/app.js audited
#
# CSIBIZ_SCREENSHOTS=DIR saves the pages at 360 and 1280 px
# (tools/screenshots).

use strict;
use warnings;
use utf8;

use Exporter 'import';
use JSON::PP ();
use Test::More;

use Test::Csibiz ();
use Test::Csibiz::Bank;
use Test::Csibiz::Query;

our @EXPORT = qw(
    $CHROMIUM need_browser start_pages browse all_routes_audited
);

our $CHROMIUM = $ENV{CSIBIZ_CHROMIUM} || '/usr/bin/chromium';

my $ROOT = Test::Csibiz::repo_root();
my $BROWSER = "$ROOT/t/browser";

# the bank tests' http {} with the captcha on: the pages show it
(my $HTTP = $BANK_HTTP) =~ s/^\s*csibiz_captcha off;\n//m;

# the API as the demo maps it, and the pages
my $CONFIG = $BANK_CONFIG . $QUERY_CONFIG . <<'EOF';
    location = /api/agreement    { csibiz agreement; }
    location = /api/captcha      { csibiz captcha; }
    location = /api/logout       { csibiz logout; }
    location = /api/session      { csibiz session; }
    location = /api/password/reset { csibiz password_reset; }
    location / {
        root $TEST_NGINX_ROOT/html;
        include $TEST_NGINX_ROOT/tools/nginx-pages.conf;
    }
EOF

# The browser part is skipped, saying why, only when chromium, node,
# playwright-core or axe-core is missing: tools/setup (make test)
# installs them.  CI sets CSIBIZ_REQUIRE_BROWSER: there a missing browser
# is a failure, not a skip, or a broken install step would hide every
# page test.
sub need_browser {
    my $why = !-x $CHROMIUM ? "$CHROMIUM is missing: tools/setup installs "
                              . "Debian's chromium package"
            : !grep({ -x "$_/node" } split /:/, $ENV{PATH})
              ? 'node is missing: tools/setup installs nodejs'
            : (map { !-d "$BROWSER/node_modules/$_"
                     ? "$_ is missing: tools/setup runs npm ci in t/browser"
                     : () } qw(playwright-core axe-core))[0];
    return unless $why;
    if ($ENV{CSIBIZ_REQUIRE_BROWSER}) {
        fail("the browser tests cannot run: $why");
        done_testing();
        exit 1;
    }
    diag("browser tests skipped: $why");
    SKIP: { skip($why, 1) }
    done_testing();
    exit 0;
}

# start_pages(now => 'YYYY-MM-DD HH:MM+08', idle => seconds)
sub start_pages {
    my (%o) = @_;
    my $http = $HTTP . "    csibiz_test_now \"$o{now}\";\n";
    $http .= "    csibiz_session_idle_timeout $o{idle}s;\n" if $o{idle};
    Test::Csibiz::start_nginx(main_config => 'thread_pool csibiz threads=2;',
                              http_config => $http, config => $CONFIG);
}

# the routes (#/name) the accessibility audits saw
my %Audited;

# Runs a scenario of t/browser/pages.js: one test per check it reports.
sub browse {
    my ($scenario, @children) = @_;
    my @cmd = ('node', "$BROWSER/pages.js",
               '--base', 'http://127.0.0.1:' . Test::Csibiz::server_port(),
               '--redis-port', Test::Csibiz::redis_port(),
               '--scenario', $scenario, '--chromium', $CHROMIUM,
               '--children', JSON::PP->new->utf8->encode(\@children));
    push @cmd, '--screenshots', $ENV{CSIBIZ_SCREENSHOTS}
        if $ENV{CSIBIZ_SCREENSHOTS};
    open my $fh, '-|', @cmd or die "node: $!";
    my $n = 0;
    while (my $line = <$fh>) {
        my $r = eval { JSON::PP->new->utf8->decode($line) };
        unless ($r) {
            diag("pages.js: $line");
            next;
        }
        $n++;
        $Audited{ $r->{audit} }++ if $r->{audit};
        ok($r->{ok}, $r->{name}) or diag($r->{diag});
    }
    close $fh;
    ok($n > 0, "$scenario: the browser reported") or diag("exit $?");
}

# every view (#/route) of the app was audited at least once
sub all_routes_audited {
    my ($routes) = do { local (@ARGV, $/) = "$ROOT/html/js/app.js"; <> }
                   =~ /var ROUTES = \[([^\]]+)\]/s;
    my @all = ($routes // '') =~ /'([a-z]+)'/g;
    my @missing = grep { !$Audited{$_} } @all;
    ok(@all >= 9 && !@missing,
       'a11y: every route of html/js/app.js was audited: '
       . join(' ', sort keys %Audited))
        or diag("not audited: @missing");
}

1;
