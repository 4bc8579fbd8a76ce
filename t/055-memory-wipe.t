# Secrets do not outlive their request in a worker's memory: after a
# registration, logins and a PUT /api/account, a core dump of every
# worker (gcore) holds neither the password nor the account number --
# the request bodies, the module's copies of the number and the
# PostgreSQL parameters are wiped when each request ends.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::More;

use File::Temp ();

my ($gcore) = grep { -x } map { "$_/gcore" } split /:/, $ENV{PATH};
plan skip_all => 'gcore (gdb) is not installed' unless $gcore;

start_bank_nginx(now => '2026-09-10 12:00:00+08');

# a registration and four logins
my $p = parent(1);
login($p) for 1 .. 3;

# the number typed twice, by a relative
my $form = relative_card(seed => 5501);
my $r = account_put($p, { %$form, version => 0 });
is($r->{status}, 200, 'PUT /api/account: 200') or diag($r->{body});

# and refused once, after the number was read: the flow's early exit
$r = account_put($p, { %$form, version => 0, relative_postcode => 'x' });
is($r->{status}, 400, 'a refused PUT: 400') or diag($r->{body});

my @workers = worker_pids();
ok(@workers, scalar(@workers) . ' worker(s)');

my $dir = File::Temp->newdir;
for my $pid (@workers) {
    my ($rc, $out) = Test::Csibiz::_run_cmd(
        [$gcore, '-o', "$dir/core", $pid], merge => 1);
    my $core = "$dir/core.$pid";
    ok(!$rc && -s $core, "worker $pid dumped") or diag($out);

    open my $fh, '<:raw', $core or next;
    my ($buf, $tail, %found) = ('', '');
    # in 1 MiB pieces, each with the end of the last (no match is split)
    while (read $fh, $buf, 1 << 20) {
        my $text = $tail . $buf;
        for my $what (['password', $p->{pw}],
                      ['account number', $form->{account_no}])
        {
            $found{ $what->[0] }++ if index($text, $what->[1]) >= 0;
        }
        $tail = substr($text, -64);
    }
    close $fh;
    unlink $core;

    is_deeply(\%found, {}, "worker $pid: no password, no account number");
}

done_testing();
