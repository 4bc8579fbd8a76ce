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
    $SECRET_CONF
    id_number roster_add captcha_new sms_outbox sms_last redis_keys
    json_post code_is current_agreement register_account
);

# The key file of the file's test stack (var/test/t/FILE/secret.key).
our $SECRET_CONF = 'csibiz_secret_file $TEST_NGINX_SECRET_KEY;';

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
# category => 'student', school => ...): one insured person in the test
# database; phone => undef leaves the declared phone empty.  Returns the
# row's id.
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

# register_account({id, card, phone, pw}, $agree_version): registers the
# person through the API (the captcha must be off), dies on failure, and
# returns the SMS code that was used; $p->{uid} is set to the new
# account's id.  The SMS limits are cleared first.
sub register_account {
    my ($p, $agree) = @_;
    Test::Csibiz::redis_cmd('DEL', $_)
        for @{ redis_keys('csibiz:sms:phone:*') },
            @{ redis_keys('csibiz:sms:client:*') };
    my $r = json_post('/api/sms/send', {
        purpose => 'register', id_number => $p->{id},
        si_card_no => $p->{card}, phone => $p->{phone} });
    die "SMS for $p->{card}: $r->{body}" unless $r->{status} == 200;
    my $code = sms_last($p->{phone})->{code};
    $r = json_post('/api/register', {
        id_number => $p->{id}, si_card_no => $p->{card},
        phone => $p->{phone}, sms_code => $code, password => $p->{pw},
        agree_version => $agree // current_agreement() });
    die "register $p->{card}: $r->{body}" unless $r->{status} == 201;
    $p->{uid} = Test::Csibiz::psql_value(
        "SELECT u.id FROM portal_user u JOIN insured_person p"
        . " ON p.id = u.insured_person_id WHERE p.si_card_no = '$p->{card}'");
    return $code;
}

1;
