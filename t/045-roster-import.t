# tools/roster-import: a roster CSV with good and bad rows (every bad row
# reported with its line number, the good ones imported), what is stored
# (the blind index and the sealed ID number as the module makes them,
# gender and birth date from the ID number, the phone normalized), a
# re-run changing nothing, --dry-run, a new phone replacing the old one
# and an empty one keeping it, the audit rows, and no personal data in
# the tool's output or the audit.

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

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $A = id_number('11010520120520003');
my $B = id_number('11010520160808004');
my $D = id_number('65010220100101001');
my $E = id_number('44030520091130001');
my $F = id_number('11010520110101002');
my $G = id_number('11010520100101003');
my $H = id_number('11010520130303005');
my $P0 = id_number('11010820150601999');
my $badcheck = id_number('11010520120520004');
substr($badcheck, 17, 1) = $badcheck =~ /1$/ ? '2' : '1';

my @secrets = ($A, $B, $D, $E, $F, $G, $H, $P0, '13800138000',
               '13800138001', '13900139000');

# someone already in the roster, whose card line 14 claims
roster_add(id_number => $P0, si_card => 'TAKEN0000001', name => '赵一一');

# ------------------------------------------------------------ usage

my $r = ops('roster-import', '--help');
is($r->{rc}, 0, '--help: exit 0');
like($r->{out},
     qr/id_number,name,si_card_no,category,school,phone,gender,birth_date/,
     '--help names the columns');
is(ops('roster-import')->{rc}, 2, 'no FILE: usage error, exit 2');
is(ops('roster-import', '--bogus', 'x')->{rc}, 2, 'unknown option: exit 2');
$r = ops('roster-import', ops_dir() . '/missing.csv');
is($r->{rc}, 3, 'a missing file: exit 3');

# ------------------------------------------------- good and bad rows

my @lines = (
    "\x{feff}id_number,name,si_card_no,category,school,phone,gender,birth_date",
    roster_line(id => $A, name => '王小明', card => 'ROSTER000001',
                school => '朝阳实验小学', phone => '+8613800138000'),
    roster_line(id => $B, name => '李朵朵', card => 'roster000002',
                category => '儿童', phone => '13800138001', gender => '女',
                birth => '2016-08-08'),
    roster_line(id => $badcheck, card => 'ROSTER000003'),
    roster_line(id => $E, card => 'ABC'),
    roster_line(id => $E, card => 'ROSTER000005', phone => '12345'),
    join(',', $E, '测试学生', 'ROSTER000006', 'student', '', '', ''),
    roster_line(id => $E, card => 'ROSTER000007', category => 'adult'),
    roster_line(id => $E, card => 'ROSTER000008', school => 'a"b'),
    roster_line(id => $E, card => 'ROSTER000009',
                school => "\"第一\n小学\""),
    roster_line(id => $D, name => '阿依古丽·买买提', card => 'ROSTER000011'),
    roster_line(id => $A, card => 'ROSTER000012'),
    roster_line(id => $F, card => 'TAKEN0000001'),
    "LATIN1",
    '',
    roster_line(id => $G, card => 'ROSTER000016', gender => 'X',
                birth => '2016-02-30'),
    roster_line(id => $E, name => '陈思远', card => 'ROSTER000017',
                school => '南山中学') . "\r",
);
my $text = Encode::encode('UTF-8', join("\n", @lines) . "\n");
my $latin = roster_line(id => $G, name => "caf\xe9", card => 'ROSTER000014');
$text =~ s/LATIN1/$latin/;          # not UTF-8
my $file = ops_file('roster.csv', $text, raw => 1);

my $expect = <<'EOF';
line 4: id_number: checksum
line 5: si_card_no: format
line 6: phone: format
line 7: record: 7 columns, want 8
line 8: category: unknown
line 9: record: quote
line 10: school: charset
line 13: id_number: also on line 2
line 14: si_card_no: belongs to another person
line 15: record: encoding
line 17: gender: unknown; birth_date: format
EOF

$r = ops('roster-import', $file);
is($r->{rc}, 1, 'some rows refused: exit 1') or diag($r->{err});
is($r->{out}, $expect
   . "15 rows: 4 inserted, 0 updated, 0 unchanged, 11 rejected\n",
   'every bad row by its line number, then the counts');

my %row = map { $_->[0] => $_ } psql(
    "SELECT si_card_no, name, gender, encode(birth_date_enc, 'hex'),"
    . " category,"
    . " coalesce(school, ''), coalesce(declared_phone, ''),"
    . " encode(id_number_hmac, 'hex'),"
    . " encode(id_number_enc, 'hex') FROM insured_person");
is(scalar keys %row, 5, 'four persons imported (and the one before)');

# the birth date is sealed: opened here as the module opens it
for my $card (qw(ROSTER000001 ROSTER000002)) {
    $row{$card}[3] = keytool('-a', 'birth_date', 'open', $row{$card}[3]);
}

my $enc = sub { Encode::encode('UTF-8', $_[0]) };
is_deeply([@{ $row{ROSTER000001} }[1 .. 6]],
          [$enc->('王小明'), 'M', '2012-05-20', 'student',
           $enc->('朝阳实验小学'), '13800138000'],
          'A: gender and birth date from the ID number, phone normalized');
is($row{ROSTER000001}[7], keytool('index', $A),
   'A: the blind index the module looks up');
is(keytool('-a', 'id_number', 'open', $row{ROSTER000001}[8]), $A,
   'A: the ID number sealed with associated data id_number');
is_deeply([@{ $row{ROSTER000002} }[1 .. 6]],
          [$enc->('李朵朵'), 'F', '2016-08-08', 'child', '', '13800138001'],
          'B: card upper-cased, 儿童 is child, no school');
is($row{ROSTER000011}[1], $enc->('阿依古丽·买买提'),
   'D: a transliterated name with a middle dot');
is_deeply([@{ $row{ROSTER000017} }[5, 6]], [$enc->('南山中学'), ''],
          'E (a CRLF line): imported, no phone');

# ------------------------------------------------------------ re-run

my $snapshot = sub {
    return psql("SELECT id, name, si_card_no, declared_phone, updated_at"
                . " FROM insured_person ORDER BY id");
};
my @before = $snapshot->();
$r = ops('roster-import', $file);
is($r->{rc}, 1, 'the same file again: exit 1 (the same bad rows)');
is($r->{out}, $expect
   . "15 rows: 0 inserted, 0 updated, 4 unchanged, 11 rejected\n",
   'the same report; the good rows unchanged');
is_deeply([$snapshot->()], \@before, 'nothing written (updated_at too)');

# ----------------------------------------------- dry run, phone change

my $change = ops_file('change.csv', join("\n",
    roster_line(id => $A, name => '王小明', card => 'ROSTER000001',
                school => '朝阳实验小学', phone => '13900139000'),
    roster_line(id => $H, card => 'ROSTER000020', phone => '13800138099'),
) . "\n");
$r = ops('roster-import', '--dry-run', $change);
is($r->{rc}, 0, '--dry-run: exit 0');
is($r->{out}, "2 rows: 1 inserted, 1 updated, 0 unchanged, 0 rejected\n"
              . "dry run: nothing was written\n", '--dry-run: the counts');
is_deeply([$snapshot->()], \@before, '--dry-run: nothing written');

$r = ops('roster-import', $change);
is($r->{rc}, 0, 'a clean file: exit 0');
is($r->{out}, "2 rows: 1 inserted, 1 updated, 0 unchanged, 0 rejected\n",
   'one new person, one new phone');
is(psql_value("SELECT declared_phone FROM insured_person"
              . " WHERE si_card_no = 'ROSTER000001'"), '13900139000',
   'the new declared phone replaced the old one');

my $nophone = ops_file('nophone.csv', roster_line(
    id => $A, name => '王小明', card => 'ROSTER000001',
    school => '朝阳实验小学') . "\n");
$r = ops('roster-import', $nophone);
is($r->{out}, "1 rows: 0 inserted, 0 updated, 1 unchanged, 0 rejected\n",
   'an empty phone: unchanged');
is(psql_value("SELECT declared_phone FROM insured_person"
              . " WHERE si_card_no = 'ROSTER000001'"), '13900139000',
   'an empty phone keeps the declared one');

# a school fixes a name: an update in place
my $fix = ops_file('fix.csv', roster_line(
    id => $B, name => '李多多', card => 'ROSTER000002', category => 'child',
    phone => '13800138001') . "\n");
$r = ops('roster-import', $fix);
is($r->{out}, "1 rows: 0 inserted, 1 updated, 0 unchanged, 0 rejected\n",
   'a corrected name: updated');
is(psql_value("SELECT count(*) FROM insured_person"
              . " WHERE si_card_no = 'ROSTER000002'"), 1, 'still one row');

# --------------------------------------------------------- a larger file

my @many = map {
    roster_line(id => id_number(sprintf '3301062011%02d%02d%03d',
                                1 + $_ % 12, 1 + $_ % 28, $_ % 1000),
                card => sprintf('BULK%08d', $_),
                phone => sprintf('137%08d', $_))
} 1 .. 2000;
$r = ops('roster-import', ops_file('many.csv', join("\n", @many) . "\n"));
is($r->{out}, "2000 rows: 2000 inserted, 0 updated, 0 unchanged, 0 rejected\n",
   '2000 rows in one run');

# ------------------------------------------------------ audit, privacy

my $audit = audit_rows('ops.roster_import');
is(scalar @$audit, 7, 'one audit row per run, dry runs too');
like($audit->[0][1], qr/"rejected": 11/, 'the audit row has the counts');
like($audit->[2][1], qr/"dry_run": true/, 'and says dry_run');
my $logged = join "\n", map { $_->[1] } @$audit;
my @leaks = grep { index($logged, $_) >= 0 } @secrets;
is_deeply(\@leaks, [], 'no ID number or phone in the audit rows');
unlike($logged, qr/\Q@{[ $enc->('王小明') ]}\E/, 'nor a name');

$r = ops('roster-import', $file);
my $said = $r->{out} . $r->{err};
@leaks = grep { index($said, $_) >= 0 } @secrets;
is_deeply(\@leaks, [], 'no ID number or phone in the tool\'s output');

# ------------------------------------- the keytool's other batch modes

my $kt = repo_root() . "/build/csibiz-keytool -k $ENV{TEST_NGINX_SECRET_KEY}";
my $tsv = ops_file('ids.tsv', "1\t$A\tx\n2\t$badcheck\ty\n3\t$B\tz\n");
my $err = ops_dir() . '/ids.err';
my $ids = `$kt -f 2 id < $tsv 2>$err`;
is($? >> 8, 1, 'keytool -f 2 id: exit 1 when a value was refused');
is(file_bytes($err), "csibiz-keytool: line 2: checksum\n",
   'keytool -f 2 id: the line and the reason, not the value');
my @ids = map { [split /\t/] } split /\n/, $ids;
is_deeply([map { "$_->[0] $_->[3] $_->[4]" } @ids],
          ['1 ' . substr($A, 0, 3) . '*' x 11 . substr($A, -4) . ' x',
           '3 ' . substr($B, 0, 3) . '*' x 11 . substr($B, -4) . ' z'],
          'keytool -f 2 id: the other fields kept, the bad line left out');
is($ids[0][1], '\\\\x' . keytool('index', $A),
   'keytool -f 2 id: the HMAC as COPY reads bytea');
my $seal = ops_file('seal.tsv', join '', map { "$_->[0]\t$_->[2]\n" } @ids);
is(`$kt -f 2 open < $seal`, "1\t$A\n3\t$B\n",
   'keytool -f 2 open: the sealed ID numbers opened');
is(`$kt csv 2 < @{[ ops_file('two.csv', "a,\"b,c\"\nx\n") ]}`,
   "1\t\\N\ta\tb,c\n2\tcolumns: 1, want 2\t\\N\t\\N\n",
   'keytool csv 2: fields, or why not');

# ------------------------------------------------ the database and its key

# another database never borrows the test stack's key
{
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [repo_root() . '/tools/roster-import', '--db', pg_ops_conninfo(),
         ops_file('nokey.csv', "x\n")]);
    is($rc, 2, '--db without --key: usage error, exit 2');
    like($err, qr/--db needs --key/, '... saying why');
}

# a line break in a value cannot end psql's \set and run as SQL
{
    my $r = ops('roster-add', '--id-number', id_number('11010520120520003'),
                '--name', "王\nCREATE TABLE t045_injected (x int); --",
                '--si-card', 'INJX00000001', '--category', 'student');
    is($r->{rc}, 2, 'roster-add: a name with a line break is refused');
    is(psql_value("SELECT to_regclass('t045_injected') IS NULL"), 't',
       'no SQL ran from it');
    my (undef, $q) = Test::Csibiz::_run_cmd(
        ['bash', '-c', 'PROG=t; source "$1"; ops_quote "$2"', '_',
         repo_root() . '/tools/ops-lib.sh', "a\nb'c"]);
    is($q, "'a\\nb''c'", 'ops_quote: the line break as psql\'s \\n');
}

done_testing();
