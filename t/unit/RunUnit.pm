package RunUnit;

# Runs one C unit test program, build/unit/NAME, as a prove test: its TAP
# goes straight to prove.  `make unit` (run by `make test`) normally built
# it already; if it is missing or older than its sources, it is built
# first, with make's output sent to stderr so as not to mix with the TAP.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);

sub run {
    my ($name) = @_;

    # the repository root, from this file's place: t/unit/RunUnit.pm
    my $root = abs_path(dirname(abs_path(__FILE__)) . '/../..');
    my $bin = "$root/build/unit/$name";

    my @sources = ("$root/t/unit/$name.c", "$root/t/unit/tap.h",
                   "$root/mk/unit.mk", glob("$root/lib/*.[ch]"));

    my $bin_mtime = -e $bin ? (stat _)[9] : undef;

    if (!defined $bin_mtime
        || grep { -e $_ && (stat _)[9] > $bin_mtime } @sources)
    {
        my $rc = system("make -s -C \Q$root\E \Q$bin\E 1>&2");

        if ($rc != 0 || !-x $bin) {
            print "1..1\n";
            print "not ok 1 - build $name (make -C $root $bin)\n";
            exit 1;
        }
    }

    exec $bin or do {
        print "1..1\n";
        print "not ok 1 - run $bin: $!\n";
        exit 1;
    };
}

1;
