# One option contract and one set of exit statuses for every ops tool
# (tools/ops-lib.sh; docs/operations.md, "The ops tools"): --env ENV |
# --db CONNINFO [--key FILE], the key file required with --db only by
# the tools that index, seal or open values; exit 0 done, 1 rows
# refused, 2 usage, 3 bad input or another failure.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Ops;
use Test::More;

use Encode ();

my $key = $ENV{TEST_NGINX_SECRET_KEY};
# tools/remind's Redis with --db (a stack's own with --env)
$ENV{CSIBIZ_REDIS} = '127.0.0.1:' . redis_port();
my $n = 0;

# a tool's run without --env and without the environment's defaults
sub tool_run {
    my ($tool, @args) = @_;
    Test::Csibiz::ensure_backends();
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [repo_root() . "/tools/$tool", @args],
        clear => [qw(CSIBIZ_PG_CONNINFO CSIBIZ_SECRET_FILE)]);
    return { rc => $rc, out => Encode::decode('UTF-8', $out),
             err => Encode::decode('UTF-8', $err) };
}

my $roster = ops_file('roster.csv', roster_line(
    id => id_number('11010520120520001'), card => 'OPTION000001',
    phone => '13800138000') . "\n");
my $result = ops_file('result.csv', "ref,amount,status,reason_code\n");
my $out = ops_dir() . '/files';

# each tool: whether it needs the key, the arguments of a good run (a
# fresh list per call), and bad input (exit 3)
my %tool = (
    'roster-import' => [1, sub { ($roster) },
                        ['/nonexistent/roster.csv']],
    'roster-add'    => [1, sub { ('--id-number',
                                  id_number(sprintf '110105201205201%02d',
                                            ++$n),
                                  '--name', '王小明', '--si-card',
                                  sprintf('OPTADD%06d', $n), '--category',
                                  'student') },
                        ['--id-number', id_number('11010520120520199'),
                         '--name', '王小明', '--si-card', 'bad',
                         '--category', 'student']],
    'debit-export'  => [1, sub { ('--month', '2026-09', '--out', $out) },
                        ['--month', '2026-12', '--out', $out]],
    'result-import' => [0, sub { ($result) }, ['/nonexistent/result.csv']],
    'year-setup'    => [0, sub { ('--year', '2031', '--premium', '160') },
                        undef],
    # a day when nothing is due: the run reads the calendar only
    'remind'        => [1, sub { ('--month', '2026-09', '--now',
                                  '2026-09-10T10:00:00+08:00') },
                        ['--month', '2026-12', '--now',
                         '2026-12-10T10:00:00+08:00']],
    'seal-birth-dates' => [1, sub { () }, undef],
);

for my $name (sort keys %tool) {
    my ($needs_key, $good, $bad) = @{ $tool{$name} };
    my $where = $needs_key ? '[--env test|demo | --db CONNINFO --key FILE]'
                           : '[--env test|demo | --db CONNINFO]';

    my $r = tool_run($name, '--help');
    is($r->{rc}, 0, "$name --help: exit 0");
    like($r->{out}, qr/^usage: tools\/\Q$name $where\E/,
         "$name --help: the synopsis says $where");
    like($r->{out}, qr/Exit status: 0 done; 1 some rows refused/,
         "$name --help: the exit statuses");
    is(tool_run($name, '-h')->{rc}, 0, "$name -h: exit 0");

    my @needs_args = $good->() ? ([[], 'no arguments']) : ();
    for my $case (
        @needs_args,
        [['--bogus'], 'an unknown option'],
        [['--env'], '--env without a value'],
        [['--env', 'prod', $good->()], '--env prod'],
        [['--env', 'test', '--db', pg_ops_conninfo(), $good->()],
         '--env and --db'],
        [['--env', 'test', '--key', $key, $good->()], '--env and --key'],
        [['--db', pg_ops_conninfo(), '--key'], '--key without a value'])
    {
        my ($args, $what) = @$case;
        $r = tool_run($name, @$args);
        is($r->{rc}, 2, "$name, $what: usage error, exit 2")
            or diag($r->{err});
        like($r->{err}, qr/^tools\/\Q$name\E: .*\nusage: /s,
             "$name, $what: says why, then the usage");
    }

    $r = tool_run($name, '--db', pg_ops_conninfo(), $good->());
    if ($needs_key) {
        is($r->{rc}, 2, "$name --db without --key: usage error, exit 2");
        like($r->{err}, qr/--db needs --key/, "$name: ... saying why");
    } else {
        is($r->{rc}, 0, "$name --db without --key: done, exit 0")
            or diag($r->{err});
    }

    $r = tool_run($name, '--db', pg_ops_conninfo(), '--key', $key, $good->());
    is($r->{rc}, 0, "$name --db --key: done, exit 0") or diag($r->{err});

    $r = tool_run($name, '--env', 'test', $good->());
    is($r->{rc}, 0, "$name --env test: done, exit 0") or diag($r->{err});

    $r = tool_run($name, '--db', 'host=/nonexistent dbname=csibiz', '--key', $key,
             $good->());
    is($r->{rc}, 3, "$name, a database it cannot reach: exit 3")
        or diag($r->{err});

    if ($bad) {
        $r = tool_run($name, '--env', 'test', @$bad);
        is($r->{rc}, 3, "$name, bad input: exit 3") or diag($r->{err});
        like($r->{err}, qr/^tools\/\Q$name\E: /m, "$name: ... saying why");
    }
}

# rows refused: 1, the others applied
my $r = tool_run('roster-import', '--env', 'test', ops_file('mixed.csv',
    roster_line(id => id_number('11010520120520002'), card => 'OPTION000002')
    . "\nbad,row\n"));
is($r->{rc}, 1, 'roster-import, a row refused: exit 1');
like($r->{out}, qr/2 rows: 1 inserted, .* 1 rejected/, '... the other in');

$r = tool_run('result-import', '--env', 'test', ops_file('bad-result.csv',
    "D202609-0000099999,160.00,debited,\n"));
is($r->{rc}, 1, 'result-import, a row refused: exit 1');

psql('INSERT INTO payment (insured_person_id, year, month, amount_cents,'
     . " status) SELECT id, 2031, 9, 16000, 'debited' FROM insured_person"
     . ' LIMIT 1');
$r = tool_run('year-setup', '--env', 'test', '--year', '2031', '--premium',
              '170');
is($r->{rc}, 3, 'year-setup, a new premium for a year with debits: bad '
   . 'input, exit 3');

done_testing();
