# What the database reveals of an ID number: no plain column holds a
# birth date or any part of an ID number (by name or type, or by a
# fixture's value in any column of any table), and the plain columns
# taken together leave at least 10,000 candidates for a fixture's ID
# number, counted with what an attacker knows besides: the districts of
# the city (a school's name, a phone's prefix, the city the portal
# serves), the age band the category and school imply, the sequence's
# parity the gender gives, the check character.  Then the upgrade of a
# database with plain birth dates and masked ID numbers: sql/012 refuses
# until tools/seal-birth-dates has sealed them, the sealed dates open to
# the old ones and compare equal in a roster import, and sql/013 drops
# the masked ID numbers.

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
use File::Path qw(make_path);
use File::Temp ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $root = repo_root();

# a Shenzhen student born 2011-09-17 without a school, and a Beijing
# student born 2010-03-15 at a middle school
my $G = id_number('44030520110917013');
my $B = id_number('11010520100315027');
my $gpid = roster_add(id_number => $G, si_card => 'PDATA0000001',
                      phone => '13800138801');
my $bpid = roster_add(id_number => $B, si_card => 'PDATA0000002',
                      phone => '13800138802',
                      school => Encode::encode('UTF-8', '北京市第一中学'));

# ------------------------------------------- no plain birth date column

my @cols = psql(
    "SELECT c.table_name, c.column_name, c.data_type"
    . " FROM information_schema.columns c"
    . " JOIN information_schema.tables t USING (table_schema, table_name)"
    . " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
    . " ORDER BY 1, 2");
ok(@cols > 50, scalar(@cols) . ' columns in the schema');

my @named = grep {
    $_->[1] =~ /birth|born|dob|(^|_)age($|_)|(^|_)grade($|_)|birth_?year/i
    && $_->[2] ne 'bytea'
} @cols;
is_deeply(\@named, [], 'no plain column named like a birth date or age');

my @ids = grep { $_->[1] =~ /id_?number|id_?no|(^|_)id_|masked/i
                 && $_->[2] ne 'bytea' } @cols;
is_deeply(\@ids, [], 'no plain column named like an ID number or a mask');
is_deeply([map { "$_->[0].$_->[1] $_->[2]" }
           grep { $_->[1] =~ /^id_number/ } @cols],
          ['insured_person.id_number_enc bytea',
           'insured_person.id_number_hmac bytea'],
          'the ID number is stored sealed, with its blind index');

my @sealed = grep { $_->[1] =~ /^birth_date_(enc|hmac)$/ } @cols;
is_deeply([map { "$_->[0].$_->[1] $_->[2]" } @sealed],
          ['insured_person.birth_date_enc bytea',
           'insured_person.birth_date_hmac bytea'],
          'the birth date is stored sealed, with its HMAC');

# every value of every column (but bytea, which is sealed or keyed) as
# text: none holds a fixture's birth date in any usual spelling
my @found;
for my $c (grep { $_->[2] ne 'bytea' } @cols) {
    my ($t, $n) = @$c;
    my $hits = psql_value(
        qq{SELECT count(*) FROM "$t" WHERE "$n"::text}
        . q{ ~ '2011-?09-?17|110917|2010-?03-?15|100315'});
    push @found, "$t.$n" if $hits;
}
is_deeply(\@found, [], 'no column holds a fixture\'s birth date');

# nor a part of an ID number: its district, or a mask of it (first 3 or
# last 4 beside a star)
@found = ();
for my $c (grep { $_->[2] ne 'bytea' } @cols) {
    my ($t, $n) = @$c;
    my $re = join '|', map {
        (substr($_, 0, 6), '\*' . substr($_, 14, 4), substr($_, 0, 3) . '\*')
    } $G, $B;
    my $hits = psql_value(
        qq{SELECT count(*) FROM "$t" WHERE "$n"::text ~ '$re'});
    push @found, "$t.$n" if $hits;
}
is_deeply(\@found, [], 'no column holds a part of a fixture\'s ID number');

my %plain = map { $_->[0] => [map { Encode::decode('UTF-8', $_) } @$_] }
    psql("SELECT id, gender, category, coalesce(school, '')"
         . " FROM insured_person WHERE id IN ($gpid, $bpid)");

# ------------------------------------------------------- the candidates

# District codes (characters 4-6) under a first 3, GB/T 2260, the
# current ones only (fewer candidates: the conservative count).
my %districts = (
    110 => [qw(101 102 105 106 107 108 109 111 112 113 114 115 116 117
               118 119)],
    440 => [qw(103 104 105 106 111 112 113 114 115 117 118
               203 204 205 222 224 229 232 233 281 282
               303 304 305 306 307 308 309 310 311
               402 403 404
               507 511 512 513 514 515 523
               604 605 606 607 608
               703 704 705 781 783 784 785
               802 803 804 811 823 825 881 882 883
               902 904 981 982 983)],
);

# The birth dates an attacker would try: the band of ages the category
# and the school's name imply, on the test's day.
sub birth_band {
    my ($category, $school) = @_;
    my ($lo, $hi) = $category eq 'child' ? (0, 7)
                  : $school =~ /小学/ ? (5, 14)
                  : $school =~ /中学/ ? (11, 20)
                  : (3, 25);
    my $today = time;
    return ($today - $hi * 365.25 * 86400, $today - $lo * 365.25 * 86400);
}

# ID numbers consistent with what is plain of one and the birth dates
# given, under a list of districts.  The mask sql/013 dropped (first 3
# and last 4 characters): enumerated, the check character (visible) must
# come out right.  Nothing stored: per district and date, the sequence's
# 100 first two digits and the 5 third ones of the gender's parity, each
# with its one check character.
sub candidates {
    my ($masked, $districts, @dates) = @_;
    return @$districts * @dates * 100 * 5 unless defined $masked;
    my ($p, $s) = ($masked =~ /^(\d{3})\*+(\d{3}[\dX])$/) or die $masked;
    my @w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2);
    my $n = 0;
    for my $d (@$districts) {
        for my $b (@dates) {
            my @c = split //, $p . $d . $b . substr($s, 0, 3);
            my $sum = 0;
            $sum += $c[$_] * $w[$_] for 0 .. 16;
            $n++ if substr('10X98765432', $sum % 11, 1) eq substr($s, 3);
        }
    }
    return $n;
}

sub dates {
    my ($from, $to) = @_;
    my @d;
    for (my $t = $from; $t <= $to; $t += 86400) {
        my @t = gmtime $t;
        push @d, sprintf '%04d%02d%02d', $t[5] + 1900, $t[4] + 1, $t[3];
    }
    return @d;
}

sub old_mask {
    my ($id) = @_;
    return substr($id, 0, 3) . '*' x 11 . substr($id, -4);
}

# the holes closed: a plain birth date with the old mask left a handful
# (sql/012); the old mask with a Beijing school's age band, fewer than
# 10,000 (sql/013)
my $hole = candidates(old_mask($G), $districts{440}, '20110917');
ok($hole >= 1 && $hole <= 11,
   "the old mask and a plain birth date: $hole candidates (sql/012)");
my @bdates = dates(birth_band(@{ $plain{$bpid} }[2, 3]));
$hole = candidates(old_mask($B), $districts{110}, @bdates);
cmp_ok($hole, '<', 10_000,
       "the old mask, a Beijing middle school: $hole candidates (sql/013)");

# now, with the city known: Beijing's districts (the school's name),
# Shenzhen's (4403, the ID number's city)
my $b = candidates(undef, $districts{110}, @bdates);
cmp_ok($b, '>=', 10_000, "Beijing middle school student: $b candidates");
my $g = candidates(undef, [grep { /^3/ } @{ $districts{440} }],
                   dates(birth_band(@{ $plain{$gpid} }[2, 3])));
cmp_ok($g, '>=', 10_000, "Shenzhen student: $g candidates");

# the least there can be: one district (a residence permit's 810000), a
# child's band
my $least = candidates(undef, ['000'], dates(birth_band('child', '')));
cmp_ok($least, '>=', 10_000,
       "one district, a child's age band: $least candidates");

# ------------------------------------------------------------ upgrade

my $tmp = File::Temp->newdir;
my ($admin) = pg_conninfo() =~ /^(.*?)dbname=\S+/ or die pg_conninfo();
(my $rest = pg_conninfo()) =~ s/^.*?dbname=\S+//;
my $db = "csibiz_t054_${$}_" . time;
my $conninfo = "${admin}dbname=$db$rest";

sub cmd {
    my (@cmd) = @_;
    my ($rc, $out) = Test::Csibiz::_run_cmd(\@cmd, merge => 1);
    return ($rc, $out);
}

sub db_value {
    my ($sql) = @_;
    my ($rc, $out) = cmd('psql', '-X', '-q', '-A', '-t', '-v',
                         'ON_ERROR_STOP=1', '-d', $conninfo, '-c', $sql);
    die "psql: $out" if $rc;
    chomp $out;
    return $out;
}

END {
    Test::Csibiz::_run_cmd(['psql', '-X', '-q', '-d',
                            "${admin}dbname=postgres$rest", '-c',
                            "DROP DATABASE IF EXISTS $db WITH (FORCE)"]);
}

# the tree before sql/012: HEAD until it is committed
my ($rc, $log) = Test::Csibiz::_run_cmd(
    ['git', '-C', $root, 'log', '--diff-filter=A', '--format=%H', '--',
     'sql/012_birth_date_sealed.sql']);
my ($added) = reverse split /\n/, $log;
my $old = "$tmp/old";
make_path($old);
($rc, my $out) = cmd('sh', '-c',
    'git -C "$1" archive "$2" sql tools/migrate | tar -x -C "$3"', 'sh',
    $root, $added ? "$added^" : 'HEAD', $old);
is($rc, 0, 'the tree before sql/012') or diag($out);

($rc, $out) = cmd('psql', '-X', '-q', '-d', "${admin}dbname=postgres$rest",
                  '-c', "CREATE DATABASE $db");
is($rc, 0, 'a throwaway database') or diag($out);
($rc, $out) = cmd("$old/tools/migrate", $conninfo);
is($rc, 0, 'migrated by the old tree') or diag($out);

# two persons with plain birth dates, as the old roster import left them:
# one from the ID number, one given by the school
my ($hmac, $enc, $mask) = split /\t/, keytool('id', $G);
my ($hmac2, $enc2, $mask2) = split /\t/, keytool('id', $B);
db_value(<<"EOF");
INSERT INTO insured_person (id_number_hmac, id_number_enc, id_number_masked,
    name, gender, birth_date, si_card_no, category, school, declared_phone)
VALUES ('\\x$hmac', '\\x$enc', '$mask', '张甲', 'M', '2011-09-17',
        'PDATA0000001', 'student', NULL, '13800138801'),
       ('\\x$hmac2', '\\x$enc2', '$mask2', '李乙', 'M', '2010-04-01',
        'PDATA0000002', 'student', NULL, '13800138802');
EOF

($rc, $out) = cmd("$root/tools/migrate", $conninfo);
isnt($rc, 0, 'this tree refuses to migrate unsealed birth dates');
like($out, qr/2 insured_person rows have no sealed birth date:/,
     'and says why');
like($out, qr{run tools/seal-birth-dates first}, 'and what to run');
is(db_value("SELECT count(*) FROM information_schema.columns"
            . " WHERE table_name = 'insured_person'"
            . " AND column_name LIKE 'birth_date%'"), 1,
   'nothing changed');

my @ops = ('--db', $conninfo, '--key', $ENV{TEST_NGINX_SECRET_KEY}
                                       // stack_env('SECRET_KEY'));
($rc, $out) = cmd("$root/tools/seal-birth-dates", @ops);
is($rc, 0, 'tools/seal-birth-dates') or diag($out);
is($out, "sealed 2, left 0\n", 'sealed both rows');
unlike($out, qr/2011|2010/, 'no birth date printed');

($rc, $out) = cmd("$root/tools/migrate", $conninfo);
is($rc, 0, 'then the migration applies') or diag($out);

my %row = map { split /\|/ } split /\n/, db_value(
    "SELECT si_card_no, encode(birth_date_enc, 'hex') FROM insured_person");
is(keytool('-a', 'birth_date', 'open', $row{PDATA0000001}), '2011-09-17',
   'the sealed date opens to the plain one');
is(keytool('-a', 'birth_date', 'open', $row{PDATA0000002}), '2010-04-01',
   'a date the school gave too');
is(db_value("SELECT count(*) FROM information_schema.columns"
            . " WHERE table_name = 'insured_person'"
            . " AND column_name = 'birth_date'"), 0,
   'the plain column is gone');
is(db_value("SELECT count(*) FROM information_schema.columns"
            . " WHERE table_name = 'insured_person'"
            . " AND column_name = 'id_number_masked'"), 0,
   'and the masked ID number (sql/013)');
is(db_value("SELECT count(*) FROM insured_person"), 2, 'both rows kept');

($rc, $out) = cmd("$root/tools/seal-birth-dates", @ops);
is($out, "sealed 0, left 0 (already migrated)\n", 'run again: nothing to do');

# the same roster again changes nothing: the HMACs the tool wrote are
# those of the import
my $csv = ops_file('same.csv', join "\n",
    roster_line(id => $G, name => '张甲', card => 'PDATA0000001',
                phone => '13800138801', gender => 'M'),
    roster_line(id => $B, name => '李乙', card => 'PDATA0000002',
                phone => '13800138802', gender => 'M',
                birth => '2010-04-01'), '');
($rc, $out) = cmd("$root/tools/roster-import", @ops, $csv);
is($rc, 0, 'roster import') or diag($out);
like($out, qr/2 rows: 0 inserted, 0 updated, 2 unchanged, 0 rejected/,
     'the sealed dates compare equal to the roster\'s');

done_testing();
