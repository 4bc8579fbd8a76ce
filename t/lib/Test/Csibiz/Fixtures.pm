package Test::Csibiz::Fixtures;

# Account fixtures for the t/*.t tests, on top of Test::Csibiz: valid
# resident ID numbers, roster rows (through tools/roster-add, so that the
# ID number is indexed and sealed under the test stack's key), captcha
# answers and SMS codes read back from Redis.
#
#   use Test::Csibiz;
#   use Test::Csibiz::Fixtures;
#
#   my $id = id_number('11010520100315005');       # adds the check digit
#   roster_add(id_number => $id, si_card => 'ABC123DEF456',
#              phone => '13800138000');             # name etc. defaulted
#   my ($cid, $answer) = captcha_new();             # GET /api/captcha
#   my $msg = sms_last('13800138000');              # {phone, code, ...}
#
# The nginx config needs the test key file: $SECRET_CONF in http_config.

use strict;
use warnings;

use Carp ();
use Exporter 'import';
use JSON::PP ();

use Test::Csibiz ();

our @EXPORT = qw(
    $SECRET_CONF $ACCOUNT_MAIN $ACCOUNT_HTTP
    id_number roster_add captcha_new sms_outbox sms_last redis_keys
    json_post code_is current_agreement register_account
    register_request sms_send reset_request $NO_TICKET login_request
    login_session set_cookies sid_of logs_text logs_have_none
    $PROOF_CONFIG argon2_jobs metric forget_sms_limits
);

# The key file of the file's test stack (var/test/t/FILE/secret.key).
our $SECRET_CONF = 'csibiz_secret_file $TEST_NGINX_SECRET_KEY;';

# The account flows' nginx: main and http config (hashing in a thread
# pool, a plain-HTTP session cookie named csibiz).  Tests add their own
# lines, e.g. "    csibiz_captcha off;\n".
our $ACCOUNT_MAIN = 'thread_pool csibiz threads=2;';
our $ACCOUNT_HTTP = <<"EOF";
    $SECRET_CONF
    csibiz_thread_pool csibiz;
    csibiz_session_secure off;
    csibiz_session_cookie csibiz;
EOF

# The server block of the flows that take an SMS code or a password, with
# client addresses from X-Real-IP and the metrics.
our $PROOF_CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/sms/send       { csibiz sms_send; }
    location = /api/register       { csibiz register; }
    location = /api/password/reset { csibiz password_reset; }
    location = /api/login          { csibiz login; }
    location = /metrics            { csibiz status; }
EOF

# metric('csibiz_errors_total{handler="login",code="locked"}'): a value of
# /metrics (which $PROOF_CONFIG serves), 0 when it is not there yet
sub metric {
    my ($name) = @_;
    my $r = Test::Csibiz::http_req(GET => '/metrics');
    die "metrics: $r->{status}" unless $r->{status} == 200;
    my ($n) = $r->{body} =~ /^\Q$name\E (\d+)$/m;
    return $n // 0;
}

# argon2_jobs(): the password hashes counted so far
sub argon2_jobs {
    return metric('csibiz_argon2_jobs_total');
}

# id_number('11010520100315005') -> '11010520100315005X': the first 17
# characters and the GB 11643-1999 MOD 11-2 check character.
sub id_number {
    my ($first17) = @_;
    Carp::croak("17 digits expected") unless $first17 =~ /^[0-9]{17}$/;
    my @w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2);
    my @d = split //, $first17;
    my $sum = 0;
    $sum += $d[$_] * $w[$_] for 0 .. 16;
    return $first17 . substr('10X98765432', $sum % 11, 1);
}

# roster_add(id_number => ..., si_card => ..., phone => ..., name => ...,
# category => 'student', school => ..., handbook_no => ...): one insured
# person in the test database; phone => undef leaves the declared phone
# empty.  Returns the row's id.
sub roster_add {
    my (%o) = @_;
    Test::Csibiz::ensure_backends();
    my @cmd = (Test::Csibiz::repo_root() . '/tools/roster-add',
               '--env', 'test', '--id-number', $o{id_number},
               '--name', $o{name} // '测试学生',
               '--si-card', $o{si_card},
               '--category', $o{category} // 'student');
    push @cmd, '--school', $o{school} if defined $o{school};
    push @cmd, '--phone', $o{phone} if defined $o{phone};
    push @cmd, '--handbook-no', $o{handbook_no} if defined $o{handbook_no};
    my $out = qx{@{[ join ' ', map { _sh($_) } @cmd ]} 2>&1};
    Carp::croak("tools/roster-add failed: $out") if $?;
    my ($id) = $out =~ /^insured_person (\d+) /m
        or Carp::croak("tools/roster-add said: $out");
    return $id;
}

sub _sh {
    my ($s) = @_;
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

# captcha_new(path => '/api/captcha') -> ($captcha_id, $answer, $response):
# fetches a captcha and reads its answer from Redis, where it is the one
# csibiz:captcha:* key that was not there before.
my %SeenCaptcha;

sub captcha_new {
    my (%o) = @_;
    $SeenCaptcha{$_} = 1 for @{ redis_keys('csibiz:captcha:*') };
    my $r = Test::Csibiz::http_req(GET => $o{path} // '/api/captcha');
    Carp::croak("GET captcha: " . ($r->{status} // $r->{error}))
        unless ($r->{status} // 0) == 200;
    my @new = grep { !$SeenCaptcha{$_}++ }
              @{ redis_keys('csibiz:captcha:*') };
    Carp::croak("expected one new captcha key, found " . scalar @new)
        unless @new == 1;
    my $answer = Test::Csibiz::redis_cmd('GET', $new[0]);
    return ($r->{json}{captcha_id}, $answer, $r, $new[0]);
}

sub redis_keys {
    my ($pattern) = @_;
    return [sort @{ Test::Csibiz::redis_cmd('KEYS', $pattern) || [] }];
}

# The messages of the csibiz:sms:outbox stream, oldest first, as
# {id, phone, purpose, code, created_at}.
sub sms_outbox {
    my $entries = Test::Csibiz::redis_cmd('XRANGE', 'csibiz:sms:outbox',
                                          '-', '+') || [];
    return [map { { id => $_->[0], @{ $_->[1] } } } @$entries];
}

# The latest message to a phone (11 digits), or undef.
sub sms_last {
    my ($phone) = @_;
    my ($m) = grep { $_->{phone} eq $phone } reverse @{ sms_outbox() };
    return $m;
}

# json_post($path, {field => value, ...}, %http_req_options)
sub json_post {
    my ($path, $fields, %o) = @_;
    my $headers = { 'Content-Type' => 'application/json',
                    %{ $o{headers} || {} } };
    delete $o{headers};
    return Test::Csibiz::http_req(
        POST => $path, headers => $headers,
        body => JSON::PP->new->utf8->canonical->encode($fields), %o);
}

# code_is($r, 404, 'not_found', 'name'): two tests, the status and the
# error code of a JSON error answer.
sub code_is {
    my ($r, $status, $code, $name) = @_;
    Test::More::is($r->{status}, $status, "$name: $status")
        or Test::More::diag($r->{body});
    Test::More::is(ref $r->{json} eq 'HASH' && ref $r->{json}{error} eq 'HASH'
                   ? $r->{json}{error}{code} : undef, $code, "$name: $code");
}

# The version of the user agreement in force.
sub current_agreement {
    return Test::Csibiz::psql_value('SELECT version FROM agreement'
        . ' WHERE published_at <= now() ORDER BY published_at DESC LIMIT 1');
}

# A ticket of the right form that POST /api/sms/send never handed out.
our $NO_TICKET = 'A' x 43;

# register_request($p, sms_code => ..., sms_ticket => ..., password => ...,
# agree_version => ..., headers => {...}): POST /api/register for person
# $p ({id, card, phone, pw, ticket}); sms_code defaults to 000000,
# sms_ticket to $p->{ticket} (the last sms_send's) or $NO_TICKET, password
# to $p->{pw}, agree_version to the agreement in force; a field given as
# undef is left out.  Returns the response.
sub register_request {
    my ($p, %o) = @_;
    my $headers = delete $o{headers};
    my %f = (id_number => $p->{id}, si_card_no => $p->{card},
             phone => $p->{phone}, sms_code => '000000',
             sms_ticket => $p->{ticket} // $NO_TICKET,
             password => $p->{pw}, %o);
    $f{agree_version} = current_agreement() unless exists $f{agree_version};
    delete $f{$_} for grep { !defined $f{$_} } keys %f;
    return json_post('/api/register', \%f,
                     $headers ? (headers => $headers) : ());
}

# sms_send($p, purpose => 'register', ip => ...): POST /api/sms/send for
# person $p (the captcha must be off), dies unless it was sent; returns
# the code, and sets $p->{ticket} to the answer's sms_ticket.
sub sms_send {
    my ($p, %o) = @_;
    my $r = json_post('/api/sms/send', {
        purpose => $o{purpose} // 'register', id_number => $p->{id},
        si_card_no => $p->{card}, phone => $p->{phone} },
        headers => { 'X-Real-IP' => $o{ip} // '10.254.0.1' });
    Carp::croak("SMS for $p->{card}: $r->{body}") unless $r->{status} == 200;
    $p->{ticket} = $r->{json}{sms_ticket};
    return sms_last($p->{phone})->{code};
}

# reset_request($p, sms_code => ..., sms_ticket => ..., password => ...,
# ip => ...): POST /api/password/reset for person $p ({id, card, phone,
# ticket}); a field given as undef is left out.  Returns the response.
sub reset_request {
    my ($p, %o) = @_;
    my $ip = delete $o{ip} // '10.253.0.1';
    my %f = (id_number => $p->{id}, si_card_no => $p->{card},
             phone => $p->{phone}, sms_code => '000000',
             sms_ticket => $p->{ticket} // $NO_TICKET, %o);
    delete $f{$_} for grep { !defined $f{$_} } keys %f;
    return json_post('/api/password/reset', \%f,
                     headers => { 'X-Real-IP' => $ip });
}

# login_request($p | $id_number, $password, ip => '10.0.0.1',
#               captcha => 1 | [id, answer], sid => cookie value,
#               lang => 'en', fields => {...}): POST /api/login (the
# client address in X-Real-IP); returns the response.
sub login_request {
    my ($who, $pw, %o) = @_;
    my %f = (id_number => ref $who ? $who->{id} : $who, password => $pw,
             %{ $o{fields} || {} });
    if ($o{captcha}) {
        my ($cid, $answer) = ref $o{captcha} ? @{ $o{captcha} }
                                             : captcha_new();
        @f{qw(captcha_id captcha_answer)} = ($cid, $answer);
    }
    delete $f{$_} for grep { !defined $f{$_} } keys %f;
    my %h = ('X-Real-IP' => $o{ip} // '10.255.0.1');
    $h{Cookie} = "csibiz=$o{sid}" if defined $o{sid};
    $h{'Accept-Language'} = $o{lang} if $o{lang};
    return json_post('/api/login', \%f, headers => \%h);
}

# login_session($p, ip => ...): logs $p ({id, pw}) in, dies unless it
# worked; returns the new session {sid, csrf}.  Give each login its own
# address, so that no captcha is ever asked for.
sub login_session {
    my ($p, %o) = @_;
    my $r = login_request($p, $p->{pw}, ip => $o{ip});
    my $sid = sid_of($r);
    Carp::croak("login: $r->{status} $r->{body}")
        unless $r->{status} == 200 && $sid;
    return { sid => $sid, csrf => $r->{json}{csrf_token} };
}

# The Set-Cookie header values of a response.
sub set_cookies {
    my ($r) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq 'set-cookie' }
                           @{ $r->{header_list} };
}

# The csibiz session cookie a response sets, or undef.
sub sid_of {
    my ($r) = @_;
    my ($sid) = map { /^csibiz=([^;]*)/ ? $1 : () } set_cookies($r);
    return $sid;
}

# error.log and access.log of the running (or last) nginx, as bytes
sub logs_text {
    return join '', map { local (@ARGV, $/) = ($_); <> }
                    grep { -f }
                    map { Test::Csibiz::servroot() . "/logs/$_" }
                    qw(error.log access.log);
}

# logs_have_none($name, $what, @secrets): two tests on the logs of the last
# nginx (each start_nginx() makes a fresh servroot, so call it before each
# restart): none of @secrets (as UTF-8) in error.log or access.log
# ("$name: no $what in ..."), and no alert.
sub logs_have_none {
    my ($name, $what, @secrets) = @_;
    my $all = logs_text();
    my @found = grep { index($all, $_) >= 0 }
                map { my $v = $_; utf8::encode($v); $v } @secrets;
    Test::More::is_deeply(\@found, [],
                          "$name: no $what in error.log or access.log");
    Test::More::unlike($all, qr/\[(?:alert|crit|emerg)\]/, "$name: no alert");
}

# forget_sms_limits(): the SMS send limits of every phone and client
# cleared, for a test that sends more codes than they allow
sub forget_sms_limits {
    Test::Csibiz::redis_cmd('DEL', $_)
        for @{ redis_keys('csibiz:sms:phone:*') },
            @{ redis_keys('csibiz:sms:client:*') };
}

# register_account({id, card, phone, pw}, $agree_version): registers the
# person through the API (the captcha must be off), dies on failure, and
# returns the SMS code that was used; $p->{uid} is set to the new
# account's id.  The SMS limits are cleared first.
sub register_account {
    my ($p, $agree) = @_;
    forget_sms_limits();
    my $r = json_post('/api/sms/send', {
        purpose => 'register', id_number => $p->{id},
        si_card_no => $p->{card}, phone => $p->{phone} });
    die "SMS for $p->{card}: $r->{body}" unless $r->{status} == 200;
    my $code = sms_last($p->{phone})->{code};
    $r = register_request($p, sms_code => $code,
                          sms_ticket => $r->{json}{sms_ticket},
                          agree_version => $agree // current_agreement());
    die "register $p->{card}: $r->{body}" unless $r->{status} == 201;
    $p->{uid} = Test::Csibiz::psql_value(
        "SELECT u.id FROM portal_user u JOIN insured_person p"
        . " ON p.id = u.insured_person_id WHERE p.si_card_no = '$p->{card}'");
    return $code;
}

1;
