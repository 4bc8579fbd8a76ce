package Test::Csibiz::Bank;

# Fixtures for the bank-account tests (t/03*.t), on top of Test::Csibiz
# and Test::Csibiz::Fixtures: the nginx configuration, parents who are
# registered and logged in, card numbers with a valid Luhn digit, and
# PUT /api/account.
#
#   my $p = parent(1);                  # roster row, account, session
#   my $r = account_put($p, { %SELF_CARD, version => 0 });
#   my $r = account_get($p);
#   age_reauth($p, 1300);               # the password entered 1300 s ago
#
# start_bank_nginx(now => '2026-09-10 12:00:00+08') starts nginx with the
# window pinned there (csibiz_test_now); sessions live in Redis and stay
# valid across restarts.

use strict;
use warnings;
use utf8;

use Carp ();
use Exporter 'import';
use JSON::PP ();

use Test::Csibiz ();
use Test::Csibiz::Fixtures;

our @EXPORT = qw(
    $BANK_HTTP $BANK_CONFIG start_bank_nginx
    parent login card_no account_put account_get age_reauth
    self_card relative_card audit_count declaration_rows logs_text
    %SECRETS
);

# every personal value a test used, for the log checks
our %SECRETS;

our $BANK_HTTP = "$ACCOUNT_HTTP    csibiz_captcha off;\n";

our $BANK_CONFIG = <<'EOF';
    location = /api/sms/send  { csibiz sms_send; }
    location = /api/register  { csibiz register; }
    location = /api/login     { csibiz login; }
    location = /api/reauth    { csibiz reauth; }
    location = /api/banks     { csibiz banks; }
    location = /api/account   { csibiz account; }
EOF

# start_bank_nginx(now => '…', http => extra http_config, main => …,
# config => extra server config, log_level => …): the server in UTC (env
# TZ for the workers), PostgreSQL sessions in UTC unless pg_tz names
# another zone.
sub start_bank_nginx {
    my (%o) = @_;
    my $http = $BANK_HTTP;
    $http .= "    csibiz_test_now \"$o{now}\";\n" if defined $o{now};
    $http .= $o{http} // '';
    my $tz = $o{pg_tz} // 'UTC';
    $http = "csibiz_postgres \"\$TEST_NGINX_PG_CONNINFO "
            . "options='-c TimeZone=$tz'\";\n$http";
    Test::Csibiz::start_nginx(
        main_config => "$ACCOUNT_MAIN\nenv TZ="
                       . ($o{tz} // 'UTC') . ";\n" . ($o{main} // ''),
        http_config => $http,
        config => $BANK_CONFIG . ($o{config} // ''),
        (defined $o{log_level} ? (log_level => $o{log_level}) : ()));
}

# card_no('622202', 19) -> a 19-digit card number starting with 622202
# whose last digit makes the Luhn check pass; the middle digits come from
# $seed (default 1).
sub card_no {
    my ($prefix, $len, $seed) = @_;
    $len //= 19;
    $seed //= 1;
    my $body = $prefix;
    my $x = $seed * 7919 + 17;
    while (length($body) < $len - 1) {
        $x = ($x * 1103515245 + 12345) % 2147483648;
        $body .= int($x / 65536) % 10;
    }
    my $sum = 0;
    my @d = reverse split //, $body;
    for my $i (0 .. $#d) {
        my $v = $d[$i];
        if ($i % 2 == 0) {
            $v *= 2;
            $v -= 9 if $v > 9;
        }
        $sum += $v;
    }
    my $card = $body . ((10 - $sum % 10) % 10);
    $SECRETS{$card} = 1;
    return $card;
}

# parent($i): insured person $i (ID 11010820150601NNN, card BNK000000NNN,
# phone 1390000NNNN), registered and logged in: {id, card, phone, pw, pid,
# uid, sid, csrf}.  Cached per $i.  name, category and school can be
# given for the roster row.
my %Parents;
my $Ip = 0;

sub parent {
    my ($i, %o) = @_;
    return $Parents{$i} if $Parents{$i} && !$o{fresh};
    my $p = {
        id    => id_number(sprintf '11010820150601%03d', $i),
        card  => sprintf('BNK%09d', $i),
        phone => sprintf('1390000%04d', $i),
        pw    => 'correct horse battery staple ' . $i,
    };
    $SECRETS{$p->{id}} = 1;
    $SECRETS{$p->{phone}} = 1;
    $p->{pid} = roster_add(id_number => $p->{id}, si_card => $p->{card},
                           name => $o{name} // '李小华',
                           phone => $p->{phone},
                           map { defined $o{$_} ? ($_ => $o{$_}) : () }
                               qw(category school));
    register_account($p);
    login($p);
    return $Parents{$i} = $p;
}

# a new session for $p: sets $p->{sid} and $p->{csrf}
sub login {
    my ($p) = @_;
    my $s = login_session($p, ip => '10.9.0.' . ++$Ip);
    @$p{qw(sid csrf)} = @$s{qw(sid csrf)};
    return $p;
}

# account_put($p, {fields}, key => 'K' (default: a new one), csrf =>
# token | undef, headers => {...}, lang => 'en', raw => 'body')
my $KeyN = 0;

sub account_put {
    my ($p, $fields, %o) = @_;
    my %h = ('Content-Type' => 'application/json',
             Cookie => "csibiz=$p->{sid}", %{ $o{headers} || {} });
    my $csrf = exists $o{csrf} ? $o{csrf} : $p->{csrf};
    $h{'X-CSRF-Token'} = $csrf if defined $csrf;
    my $key = exists $o{key} ? $o{key} : 'k-' . $$ . '-' . ++$KeyN;
    $h{'Idempotency-Key'} = $key if defined $key;
    $h{'Accept-Language'} = $o{lang} if $o{lang};
    my $body = $o{raw} // JSON::PP->new->utf8->canonical->encode($fields);
    return Test::Csibiz::http_req(PUT => '/api/account', headers => \%h,
                                  body => $body);
}

sub account_get {
    my ($p, %o) = @_;
    my %h = (Cookie => "csibiz=$p->{sid}");
    $h{'Accept-Language'} = $o{lang} if $o{lang};
    return Test::Csibiz::http_req(GET => '/api/account', headers => \%h);
}

# The session's password time moved $seconds into the past.
sub age_reauth {
    my ($p, $seconds) = @_;
    for my $key (@{ redis_keys('csibiz:sess:*') }) {
        my $uid = Test::Csibiz::redis_cmd('HGET', $key, 'uid') // '';
        next unless $uid eq $p->{uid};
        Test::Csibiz::redis_cmd('HSET', $key, 'auth_at', time - $seconds);
    }
}

# Valid forms: an ICBC debit card of the child's own, and a CCB card of
# the mother's.
sub self_card {
    my (%o) = @_;
    my $no = card_no('622202', 19, $o{seed});
    return { payer => 'self', method => 'card', bank => 'ICBC',
             doc_type => 'id_card', account_no => $no, %o };
}

sub relative_card {
    my (%o) = @_;
    my $no = card_no('621700', 19, $o{seed});
    $SECRETS{'13912345678'} = 1;
    return { payer => 'relative', method => 'card', bank => 'CCB',
             doc_type => 'id_card', account_no => $no,
             account_no_confirm => $no,
             relative_name => '王丽娟', relative_gender => 'F',
             relative_relation => 'mother', relative_phone => '13912345678',
             relative_address => '北京市海淀区中关村南大街5号院3号楼201室',
             relative_postcode => '100081', %o };
}

sub audit_count {
    my ($p) = @_;
    return Test::Csibiz::psql_value(
        "SELECT count(*) FROM audit_log WHERE action LIKE 'bank_account.%'"
        . ($p ? " AND actor_user_id = $p->{uid}" : ''));
}

sub declaration_rows {
    my ($p) = @_;
    return [Test::Csibiz::psql(
        "SELECT receipt_no, status, to_char(applies_to_month, 'YYYY-MM')"
        . " FROM declaration WHERE insured_person_id = $p->{pid}"
        . " ORDER BY id")];
}

1;
