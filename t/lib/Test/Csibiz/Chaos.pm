package Test::Csibiz::Chaos;

# Fault tests (t/08[1-3]-chaos-*.t, tools/chaos): a steady load of
# requests from forked clients while a backend is killed or nginx
# reloaded, with what every request got, and the metrics page.
#
#   my $load = load_start(clients => 4, seconds => 6,
#                         request => sub { http_req(GET => '/t?...') });
#   ... the fault ...
#   my @reqs = load_wait($load);     # {start, elapsed, status, code, error}
#
# load_stop($load) ends it early (the clients finish their request).
#   my $m = metrics();               # {'name{labels}' => value}
#
# The length of a run comes from CSIBIZ_CHAOS_SECONDS (tools/chaos sets
# it); the default keeps the suite short.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use Time::HiRes ();

use Test::Csibiz ();

our @EXPORT = qw(chaos_seconds load_start load_stop load_wait metrics m_get
                 summary redis_pid);

sub chaos_seconds {
    my ($default) = @_;
    return $ENV{CSIBIZ_CHAOS_SECONDS} || $default;
}

# clients forked children, each sending request->($client, $n) in a loop
# until seconds have passed; request returns an http_req result (plus
# anything it wants kept).
sub load_start {
    my (%o) = @_;
    my $end = Time::HiRes::time() + $o{seconds};
    my $stop = File::Temp->new;
    unlink "$stop";
    my @bg;
    for my $c (1 .. ($o{clients} // 4)) {
        push @bg, Test::Csibiz::background(sub {
            my @out;
            my $n = 0;
            while (Time::HiRes::time() < $end && !-e "$stop") {
                my $r = $o{request}->($c, ++$n);
                push @out, {
                    client  => $c,
                    start   => $r->{start},
                    elapsed => $r->{elapsed},
                    status  => $r->{status} // 0,
                    code    => ($r->{json} && ref $r->{json} eq 'HASH'
                                && $r->{json}{error})
                               ? $r->{json}{error}{code} : undef,
                    error   => $r->{error},
                    (map { $_ => $r->{$_} } @{ $o{keep} || [] }),
                };
                Time::HiRes::sleep($o{pause}) if $o{pause};
            }
            return \@out;
        });
    }
    return { bg => \@bg, seconds => $o{seconds}, stop => $stop };
}

sub load_stop {
    my ($load) = @_;
    open my $fh, '>', "$load->{stop}" or die "$load->{stop}: $!";
    close $fh;
}

sub load_wait {
    my ($load) = @_;
    my @all;
    for my $bg (@{ $load->{bg} }) {
        push @all, @{ Test::Csibiz::background_wait(
            $bg, timeout => $load->{seconds} + 60) };
    }
    return sort { $a->{start} <=> $b->{start} } @all;
}

sub metrics {
    my $r = Test::Csibiz::http_req(GET => '/metrics');
    my %m;
    return \%m unless ($r->{status} // 0) == 200;
    for (split /\n/, $r->{body}) {
        $m{$1} = $2 if /^([^#\s]\S*) (\d+)$/;
    }
    return \%m;
}

sub m_get { my ($m, $k) = @_; return $m->{$k} // 0 }

# "n=… 200=… 503=… other=… max_ms=…" of a list of requests
sub summary {
    my (@r) = @_;
    my %by;
    my $max = 0;
    for (@r) {
        my $k = $_->{error} ? 'transport' : $_->{status};
        $by{$k}++;
        $max = $_->{elapsed} if ($_->{elapsed} // 0) > $max;
    }
    return sprintf('n=%d %s max=%.0fms', scalar @r,
                   join(' ', map { "$_=$by{$_}" } sort keys %by),
                   $max * 1000);
}

sub redis_pid {
    my $f = Test::Csibiz::stack_env('CSIBIZ_VAR') . '/redis/redis.pid';
    open my $fh, '<', $f or return undef;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

1;
