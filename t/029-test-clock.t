# The test clock (csibiz_test_now) dates every time a request writes and
# judges every time a request compares: under it a registration, a failed
# and a right login, a password reset and a bank account's first
# declaration and its change write the test clock's time into
# portal_user, audit_log, bank_account and declaration; the agreement in
# force is the one published by the test clock's time, and a child born
# after its day has no valid ID number yet.  Without it the same flows (but the
# declaration: the real day may be outside the window) follow
# PostgreSQL's clock.

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

my $NOW = '2026-09-10 12:00:00+08';

my $CONFIG = <<'EOF';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location = /api/password/reset { csibiz password_reset; }
    location = /api/agreement      { csibiz agreement; }
EOF

# A newer agreement, published an hour ago by the real clock: in force
# without the test clock, not yet at the test clock's time.
my $OLD_AGREEMENT = current_agreement();

psql("INSERT INTO agreement (version, title_zh, title_en, text_zh, text_en,"
     . " published_at) SELECT 'test-clock', title_zh, title_en, text_zh,"
     . " text_en, now() - interval '1 hour' FROM agreement"
     . " WHERE version = '$OLD_AGREEMENT'");

sub person {
    my ($i) = @_;
    my $p = {
        id    => id_number(sprintf '11010820160701%03d', $i),
        card  => sprintf('CLK%09d', $i),
        phone => sprintf('1380001%04d', $i),
        pw    => 'the clock on the wall ' . $i,
    };
    $p->{pid} = roster_add(id_number => $p->{id}, si_card => $p->{card},
                           phone => $p->{phone});
    return $p;
}

# a child born the day after the test clock's (and before the real day)
my $LATE = id_number('11010820260911001');

sub late_birth {
    my $r = json_post('/api/sms/send', {
        purpose => 'register', id_number => $LATE,
        si_card_no => 'CLK000000099', phone => '13800019999' });
    return $r->{json}{error}{fields}{id_number}
           // $r->{json}{error}{code} // $r->{status};
}

sub agreement_version {
    my $r = http_req(GET => '/api/agreement');
    return $r->{status} == 200 ? $r->{json}{version} : "($r->{status})";
}

# every flow that writes: register, a wrong and a right login, a reset,
# a login with the new password, the first declaration and a change
# (only in the window: not by the real clock of every day)
sub every_write {
    my ($p, $agreement, $window) = @_;

    register_account($p, $agreement);
    code_is(login_request($p, 'not the password', ip => '10.7.0.1'), 401,
            'bad_credentials', 'a wrong password');
    login($p);

    forget_sms_limits();
    my $code = sms_send($p, purpose => 'reset');
    $p->{pw} = 'a new clock for the wall';
    my $r = reset_request($p, sms_code => $code, password => $p->{pw});
    is($r->{status}, 200, 'the password is reset') or diag($r->{body});

    login($p);
    return unless $window;
    $r = account_put($p, { %{ self_card() }, version => 0 });
    is($r->{status}, 200, 'the account is declared') or diag($r->{body});
    $r = account_put($p, { %{ self_card(seed => 2) }, version => 1 });
    is($r->{status}, 200, 'the account is changed') or diag($r->{body});
}

# the times the flows wrote for $p, as "name|time" in UTC, and the
# audit rows' actions
sub written {
    my ($p) = @_;
    my $fmt = "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";
    my @cols;
    push @cols, map { ["portal_user.$_", 'portal_user', $_,
                       "id = $p->{uid}"] }
                qw(created_at agreed_at last_login_at);
    push @cols, map { ["bank_account.$_", 'bank_account', $_,
                       "insured_person_id = $p->{pid}"] }
                qw(created_at updated_at);
    push @cols, map { ["declaration.$_", 'declaration', $_,
                       "insured_person_id = $p->{pid}"] }
                qw(created_at updated_at submitted_at);
    my %t;
    for my $c (@cols) {
        my ($name, $table, $col, $where) = @$c;
        $t{$name} = psql_value(sprintf "SELECT $fmt FROM %s WHERE %s",
                               $col, $table, $where);
    }
    for my $row (psql(sprintf("SELECT action, $fmt FROM audit_log", 'at')
                      . " WHERE actor_user_id = $p->{uid} ORDER BY id"))
    {
        push @{ $t{'audit_log.at'} }, "$row->[0] $row->[1]";
    }
    return \%t;
}

my @ACTIONS = qw(account.register account.login_failed account.login
                 account.password_reset account.login bank_account.create
                 bank_account.change);

# ------------------------------------------------------ the test clock

start_bank_nginx(now => $NOW, config => $CONFIG);

is(agreement_version(), $OLD_AGREEMENT,
   'test clock: GET /api/agreement gives the one in force at its time');
is(late_birth(), 'birth_date',
   'test clock: an ID number born after its day is refused');

my $p = person(1);
every_write($p, $OLD_AGREEMENT, 1);

my $t = written($p);
my $at = '2026-09-10 04:00:00';

for my $name (sort grep { !ref $t->{$_} } keys %$t) {
    is($t->{$name}, $at, "test clock: $name is the test clock's time");
}

is_deeply($t->{'audit_log.at'}, [map { "$_ $at" } @ACTIONS],
          'test clock: every audit row of the flows has its time')
    or diag(explain($t->{'audit_log.at'}));

is(psql_value("SELECT agreement_version FROM portal_user"
              . " WHERE id = $p->{uid}"),
   $OLD_AGREEMENT, 'test clock: the agreement of its time was agreed to');

my $q = person(2);
my $code = sms_send($q, purpose => 'register');
code_is(register_request($q, sms_code => $code, agree_version => 'test-clock'),
        400, 'agreement_version',
        'test clock: an agreement published after its time is refused');

# ------------------------------------------------------ the real clock

stop_nginx();
start_bank_nginx(config => $CONFIG);

is(agreement_version(), 'test-clock',
   'real clock: GET /api/agreement gives the latest published');
is(late_birth(), 'identity_mismatch',
   'real clock: that ID number is well-formed (and not in the roster)');

every_write($q, 'test-clock');

# within the hour of PostgreSQL's clock
sub recent {
    my ($table, $col, $where) = @_;
    return psql_value("SELECT count(*) FROM $table WHERE $where"
                      . " AND abs(extract(epoch FROM now() - $col)) < 3600");
}

for my $col (qw(created_at agreed_at last_login_at)) {
    is(recent('portal_user', $col, "id = $q->{uid}"), 1,
       "real clock: portal_user.$col is now");
}

is(recent('audit_log', 'at', "actor_user_id = $q->{uid}"), @ACTIONS - 2,
   'real clock: every audit row of the flows is now');

done_testing();
