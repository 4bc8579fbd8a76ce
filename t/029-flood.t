# A register flood from one address (many requests in flight at once,
# wrong codes) is answered 429 rate_limited before anything is hashed,
# and the other parents' logins stay about as fast as without it.  The
# logins under the flood are compared with an unloaded run of the same
# file: medians, a generous ratio and a floor, never a fixed time, so a
# slow or shared machine slows both alike.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

use File::Temp ();
use JSON::PP ();
use Time::HiRes ();

# How much slower the median login may be under the flood, and the floor
# of the unloaded median it is compared with.  The flood takes a core
# (the test's own client, nginx's event loop), which argon2id shares on a
# small machine: up to 2 x here.  A flood of the same shape that hashes
# (logins with wrong passwords, no client limit) queues each login behind
# up to $IN_FLIGHT hashes on the pool's 2 threads: 27 x here.
my $RATIO = 5;
my $FLOOR = 0.05;

# logins per run (odd: the median is one of them), flood requests in
# flight at once
my $LOGINS = 9;
my $IN_FLIGHT = 32;

start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n"
                           . "    csibiz_limit_client rate=1r/m burst=10;\n",
            config => $PROOF_CONFIG);

# the parents who log in: one registered through the API, the others
# given its password hash (one argon2id each would only slow the set-up)
my @parents = map {
    my $n = sprintf '%03d', $_;
    { id => id_number("11010520130606$n"), card => "FLOOD0000$n",
      phone => "13700000$n", pw => 'a parent who logs in calmly' }
} 1 .. $LOGINS;
roster_add(id_number => $_->{id}, si_card => $_->{card},
           phone => $_->{phone}) for @parents;
register_account($parents[0]);
psql("INSERT INTO portal_user (insured_person_id, phone, password_hash,"
     . " agreement_version, agreed_at)"
     . " SELECT p.id, p.declared_phone, u.password_hash,"
     . " u.agreement_version, now()"
     . " FROM insured_person p, portal_user u"
     . " WHERE p.si_card_no LIKE 'FLOOD%' AND p.si_card_no <> 'FLOOD0000001'"
     . " AND u.id = $parents[0]{uid}");

# the flooder's victim: a child on the roster, never registered
my $victim = { id => id_number('11010520130707001'), card => 'FLOODV000001',
               phone => '13700001001', pw => 'a stranger guesses codes' };
roster_add(id_number => $victim->{id}, si_card => $victim->{card},
           phone => $victim->{phone});

sub median {
    my @s = sort { $a <=> $b } @_;
    return $s[$#s / 2];
}

# each parent once, one after the other, each from an address of its own;
# the seconds of each
sub logins {
    my ($net) = @_;
    my @t;
    for my $i (0 .. $#parents) {
        my $r = login_request($parents[$i], $parents[$i]{pw},
                              ip => "10.29.$net." . ($i + 1));
        die "login $i: $r->{status} $r->{body}" unless $r->{status} == 200;
        push @t, $r->{elapsed};
    }
    return @t;
}

# ----------------------------------------------------------- unloaded

logins(1);          # warm-up: connections, prepared statements
my @calm = logins(2);

# -------------------------------------------------------------- flood

my $stop = File::Temp->new;
my $body = JSON::PP->new->canonical->encode({
    id_number => $victim->{id}, si_card_no => $victim->{card},
    phone => $victim->{phone}, sms_code => '000000',
    sms_ticket => $NO_TICKET, password => $victim->{pw},
    agree_version => current_agreement() });
my $jobs = argon2_jobs();
my $rejected = metric('csibiz_argon2_rejected_total');
my $limited = metric(
    'csibiz_errors_total{handler="register",code="rate_limited"}');

# batches of requests, $IN_FLIGHT at once, until the stop file is gone
# (at most 120 s); the answers counted by status
my $flood = background(sub {
    my %status;
    my $until = Time::HiRes::time() + 120;
    while (-e "$stop" && Time::HiRes::time() < $until) {
        my $res = http_concurrent(
            [map { [POST => '/api/register',
                    headers => { 'Content-Type' => 'application/json',
                                 'X-Real-IP' => '10.29.9.9' },
                    body => $body, timeout => 30] } 1 .. $IN_FLIGHT * 4],
            max_parallel => $IN_FLIGHT);
        $status{$_->{status} // 'none'}++ for @$res;
    }
    return \%status;
});

# under way: the flood is being limited
ok(wait_until(sub {
       metric('csibiz_errors_total{handler="register",code="rate_limited"}') > $limited + 100
   }, timeout => 60),
   'the flood is under way and answered 429');

my @flooded = logins(3);
my $flooded = median(@flooded);
my $hashed = argon2_jobs() - $jobs;

unlink "$stop";
my $status = background_wait($flood, timeout => 180);
note('flood answers: '
     . join ', ', map { "$_ x $status->{$_}" } sort keys %$status);

# unloaded again, after it: the calm median is of both runs, so that a
# moment of other load on the machine weighs less
push @calm, logins(4);
my $calm = median(@calm);
note(sprintf 'logins: median %.3f s unloaded, %.3f s under the flood',
             $calm, $flooded);

ok(($status->{429} // 0) > 100, 'the flood got many 429s');
is_deeply([grep { $_ ne '429' && $_ ne '400' } sort keys %$status], [],
          'and no other answer than 429 and the 400s of the burst');
ok(($status->{400} // 0) <= 15,
   'only the burst (10) was checked: ' . ($status->{400} // 0));
is($hashed, $LOGINS, 'hashes meanwhile: the logins\' only');
is(metric('csibiz_argon2_rejected_total'), $rejected,
   'no hash refused for a full queue');

my $bound = $RATIO * ($calm > $FLOOR ? $calm : $FLOOR);
cmp_ok($flooded, '<=', $bound,
       sprintf 'the others\' median login under the flood (%.3f s) is at'
               . ' most %d x the unloaded one (%.3f s, at least %.2f)',
               $flooded, $RATIO, $calm, $FLOOR);

# the limit is the flooding address's alone
code_is(register_request($victim, headers => { 'X-Real-IP' => '10.29.8.8' }),
        400, 'sms_code_invalid', 'another address registers as before');

ok(stop_nginx(), 'nginx stops gracefully');

done_testing();
