package Test::Csibiz::Query;

# Fixtures for the parents' queries (t/04*.t), on top of
# Test::Csibiz::Bank: nginx with /api/me, /api/declarations and
# /api/payments mapped, GET as a logged-in parent, and declaration and
# payment rows written straight into the test database (the ops tools
# that make them are tested elsewhere).
#
#   start_query_nginx(now => '2026-10-05 00:00:00+08', result_day => 5);
#   my $p = parent(1);
#   add_payment($p, 2026, 9, 'failed', 'insufficient_balance');
#   my $r = query_get($p, '/api/payments', lang => 'en');

use strict;
use warnings;
use utf8;

use Exporter 'import';

use Test::Csibiz ();
use Test::Csibiz::Bank;

our @EXPORT = qw(
    $QUERY_CONFIG start_query_nginx query_get add_payment add_declaration
    clear_queries result_day_edges
);

our $QUERY_CONFIG = <<'EOF';
    location = /api/me            { csibiz me; }
    location = /api/declarations  { csibiz declarations; }
    location = /api/payments      { csibiz payments; }
EOF

# start_query_nginx(now => …, result_day => N, and start_bank_nginx's
# options)
sub start_query_nginx {
    my (%o) = @_;
    my $day = delete $o{result_day};
    $o{http} = ($o{http} // '')
               . (defined $day ? "    csibiz_payment_result_day $day;\n"
                               : '');
    start_bank_nginx(%o, config => $QUERY_CONFIG);
}

# query_get($p, '/api/me', lang => 'en', method => 'HEAD', cookie => …):
# $p undef sends no cookie
sub query_get {
    my ($p, $path, %o) = @_;
    my %h;
    my $cookie = exists $o{cookie} ? $o{cookie}
                 : $p ? "csibiz=$p->{sid}" : undef;
    $h{Cookie} = $cookie if defined $cookie;
    $h{'Accept-Language'} = $o{lang} if $o{lang};
    return Test::Csibiz::http_req($o{method} // 'GET', $path,
                                  headers => \%h);
}

sub _q {
    my ($v) = @_;
    return 'NULL' unless defined $v;
    $v =~ s/'/''/g;
    return "'$v'";
}

# add_payment($p, $year, $month, $status, $reason, amount => cents)
sub add_payment {
    my ($p, $year, $month, $status, $reason, %o) = @_;
    Test::Csibiz::psql(sprintf
        'INSERT INTO payment (insured_person_id, year, month, amount_cents,'
        . ' status, reason_code) VALUES (%d, %d, %d, %d, %s, %s)',
        $p->{pid}, $year, $month, $o{amount} // 16000, _q($status),
        _q($reason));
}

# add_declaration($p, $receipt, $applies_to 'YYYY-MM', $status, $reason,
# $submitted_at, default now)
sub add_declaration {
    my ($p, $receipt, $month, $status, $reason, $at) = @_;
    Test::Csibiz::psql(sprintf
        'INSERT INTO declaration (insured_person_id, receipt_no, status,'
        . ' applies_to_month, reason_code, submitted_at)'
        . ' VALUES (%d, %s, %s, %s, %s, %s)',
        $p->{pid}, _q($receipt), _q($status), _q("$month-01"), _q($reason),
        defined $at ? _q($at) : 'now()');
}

# result_day_edges(\&shown_at, $hidden, $shown): the result of a
# September debit at the edges of 5 October 00:00 Beijing time, written
# in +08 and in UTC, with nginx and PostgreSQL in zones far from China;
# shown_at($now, %start_query_nginx_options) returns what the query shows.
sub result_day_edges {
    my ($shown_at, $hidden, $shown) = @_;
    for my $case (
        ['2026-10-04 23:59:59+08', $hidden, '4 Oct 23:59:59: not yet'],
        ['2026-10-05 00:00:00+08', $shown, '5 Oct 00:00:00: shown'],
        ['2026-10-04 15:59:59+00', $hidden,
         'the 4th 23:59:59 Beijing written in UTC'],
        ['2026-10-04 16:00:00+00', $shown,
         'the 5th 00:00 Beijing written in UTC (still the 4th in UTC)'],
        ['2026-10-05 00:00:00+08', $shown,
         'the 5th 00:00 with PostgreSQL and nginx far from China',
         pg_tz => 'Pacific/Honolulu', tz => 'Pacific/Kiritimati'],
        ['2026-10-04 23:59:59+08', $hidden,
         'the 4th 23:59:59 with PostgreSQL in UTC+14',
         pg_tz => 'Pacific/Kiritimati', tz => 'America/Los_Angeles'],
        ['2026-09-30 12:00:00+08', $hidden, 'in the debit month itself'])
    {
        my ($now, $want, $name, %o) = @$case;
        Test::More::is_deeply($shown_at->($now, %o), $want, $name);
    }
}

# every payment and declaration of $p gone
sub clear_queries {
    my ($p) = @_;
    Test::Csibiz::psql("DELETE FROM $_ WHERE insured_person_id = $p->{pid}")
        for qw(payment declaration);
}

1;
