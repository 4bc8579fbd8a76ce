# Behind a load balancer: the per-address limits (SMS sends, logins) count
# the client that nginx's realip module finds in X-Forwarded-For when the
# balancer is trusted (set_real_ip_from, real_ip_recursive), each client
# apart; without set_real_ip_from the header is ignored, so a client that
# forges it gets nothing; IPv6 clients count by their /64.  The CSRF
# Origin check behind a proxy that rewrites Host: csibiz_origin lists the
# pages' origins; without it, Origin must name Host as before.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

my $REALIP = <<'EOF';
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
EOF

start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n"
                           . "    csibiz_limit_client rate=1r/m burst=3;\n",
            config => <<"EOF");
    # the balancer's address is trusted; realip per location, so that one
    # server has both kinds
    location = /api/sms/send { $REALIP csibiz sms_send; }
    location = /api/register { $REALIP csibiz register; }
    location = /api/login    { $REALIP csibiz login; }
    location = /api/session  { $REALIP csibiz session; }
    location = /api/logout   { $REALIP csibiz logout; }

    # the same behind a proxy that rewrites Host
    location = /lb/session {
        csibiz_origin https://portal.example.cn https://m.example.cn:8443;
        csibiz session;
    }

    # no set_real_ip_from: X-Forwarded-For is only a header
    location = /direct/sms/send { csibiz sms_send; }
    location = /direct/login    { csibiz login; }
EOF

sub forget_limits {
    my $keys = redis_keys('csibiz:limit:*');
    redis_cmd('DEL', @$keys) if @$keys;
    forget_sms_limits();
}

# a login with a wrong password, each for another ID number: only the
# client's window counts them
my $n = 0;
sub login_from {
    my ($path, $xff) = @_;
    my $id = id_number(sprintf '110105201501%05d', ++$n);
    return json_post($path, { id_number => $id,
                              password => 'not the password' },
                     headers => { 'X-Forwarded-For' => $xff });
}

# the statuses of logins, one per X-Forwarded-For value
sub logins {
    my ($path, @xff) = @_;
    return join ' ', map { login_from($path, $_)->{status} } @xff;
}

# ------------------------------------------------------ login, per client

forget_limits();
is(logins('/api/login', map { '198.51.100.1' } 1 .. 4), '401 401 401 429',
   'one client: 3 logins, then 429');
is(logins('/api/login', '198.51.100.2', '198.51.100.3'), '401 401',
   'two other clients behind the same balancer: each its own window');

is(logins('/api/login', '198.51.100.4, 127.0.0.1', '198.51.100.4',
          '198.51.100.4, 127.0.0.1', '198.51.100.4'),
   '401 401 401 429',
   'through a second trusted proxy (real_ip_recursive): the same client');

is(logins('/api/login', map { "6.6.6.$_, 198.51.100.5" } 1 .. 4),
   '401 401 401 429',
   'addresses the client put in front of its own: ignored');

# IPv6: a /64 is one client
is(logins('/api/login', '2001:db8:aa:1::1', '2001:db8:aa:1::2',
          '2001:db8:aa:1:ffff:ffff:ffff:fffe', '2001:db8:aa:1::3'),
   '401 401 401 429', 'four addresses of one IPv6 /64: one window');
is(logins('/api/login', '2001:db8:aa:2::1', '2001:db8:ab:1::1'),
   '401 401', 'the next /64s: their own windows');

# without set_real_ip_from the balancer's address is the client
forget_limits();
is(logins('/direct/login', map { "203.0.113.$_" } 1 .. 4),
   '401 401 401 429',
   'without set_real_ip_from: a forged X-Forwarded-For gives nothing');
is(logins('/direct/login', '203.0.113.9'), '429',
   '... every request is the balancer\'s');
is(logins('/api/login', '203.0.113.9'), '401',
   'the same header through the trusted location: a client of its own');

# --------------------------------------------------------- SMS, per client

# 25 sends a client in 5 minutes; one a phone a minute, so 27 people
forget_limits();
my @people = map {
    my $p = { id => id_number(sprintf '11010520150202%03d', $_),
              card => sprintf('PRX%09d', $_),
              phone => sprintf('1370000%04d', $_) };
    roster_add(id_number => $p->{id}, si_card => $p->{card},
               phone => $p->{phone});
    $p;
} 1 .. 27;

sub send_from {
    my ($path, $p, $xff) = @_;
    return json_post($path, { purpose => 'register', id_number => $p->{id},
                              si_card_no => $p->{card},
                              phone => $p->{phone} },
                     headers => { 'X-Forwarded-For' => $xff });
}

my @st = map { send_from('/api/sms/send', $people[$_], '192.0.2.1')->{status} }
         0 .. 25;
is(join(' ', @st), join(' ', (200) x 25, 429),
   'SMS: 25 sends from one client, then 429');
is(send_from('/api/sms/send', $people[26], '192.0.2.2')->{status}, 200,
   'SMS: another client behind the same balancer is served');

forget_limits();
@st = map { send_from('/direct/sms/send', $people[$_], "192.0.2.$_")->{status} }
      0 .. 25;
is(join(' ', @st), join(' ', (200) x 25, 429),
   'SMS without set_real_ip_from: forged addresses share one window');

# ------------------------------------------------------ the Origin check

my $p = { id => id_number('11010520150303001'), card => 'PRX100000001',
          phone => '13700009999', pw => 'a passphrase behind a proxy' };
roster_add(id_number => $p->{id}, si_card => $p->{card},
           phone => $p->{phone});
forget_limits();
register_account($p);
my $s = login_session($p, ip => '10.7.0.1');

sub post_session {
    my ($path, %h) = @_;
    return http_req(POST => $path,
                    headers => { Cookie => "csibiz=$s->{sid}",
                                 'X-CSRF-Token' => $s->{csrf}, %h });
}

# the proxy sends Host: an internal name; the browser's Origin is public
my %proxied = (Host => 'csibiz-backend.internal:8080');
is(post_session('/lb/session', %proxied,
                Origin => 'https://portal.example.cn')->{status},
   200, 'csibiz_origin: the listed origin, whatever Host says');
is(post_session('/lb/session', %proxied,
                Origin => 'HTTPS://Portal.Example.CN')->{status},
   200, '... in any case');
is(post_session('/lb/session', %proxied,
                Origin => 'https://m.example.cn:8443')->{status},
   200, '... the second one listed, with its port');
is(post_session('/lb/session', %proxied)->{status}, 200,
   '... no Origin (an older browser): the token decides');
for my $bad ('https://evil.example', 'http://portal.example.cn',
             'https://portal.example.cn:8443', 'https://m.example.cn',
             'https://portal.example.cn.evil.example',
             'http://csibiz-backend.internal:8080', 'null') {
    code_is(post_session('/lb/session', %proxied, Origin => $bad), 403,
            'csrf', "csibiz_origin: Origin $bad refused");
}

# without csibiz_origin: Origin must be Host, as before
is(post_session('/api/session', %proxied,
                Origin => 'https://csibiz-backend.internal:8080')->{status},
   200, 'without csibiz_origin: Origin naming Host passes');
code_is(post_session('/api/session', %proxied,
                     Origin => 'https://portal.example.cn'),
        403, 'csrf',
        'without csibiz_origin: the public origin behind a Host-rewriting '
        . 'proxy is refused (hence the directive)');

done_testing();
