package Test::Csibiz::Ops;

# Fixtures for the ops tools' tests (t/045-049): run a tool of tools/
# against the test stack, write input files, make roster lines, seal an
# account number and give a person a bank account and a declaration
# without the HTTP API.
#
#   my $r = ops('roster-import', $file);     # {rc, out, err}
#   my $f = ops_file('r.csv', $text);        # a file in a private dir
#   my $line = roster_line(id => ..., card => ..., phone => ...);
#   my $pid = account_for($person_id, bank => 'ICBC', no => $card_no,
#                         month => '2026-09');

use strict;
use warnings;
use utf8;

use Carp ();
use Encode ();
use Exporter 'import';
use File::Temp ();

use Test::Csibiz ();
use Test::Csibiz::Fixtures;

our @EXPORT = qw(
    ops ops_file ops_dir roster_line keytool account_for file_bytes
    audit_rows person_id @DEBIT_REASONS
);

# the failure reasons of a bank's result file (debit_reason_known())
our @DEBIT_REASONS = qw(insufficient_balance name_mismatch no_such_account
                        not_debitable insured_data_error other);

my $Dir = File::Temp->newdir('csibiz-ops-t-XXXXXX', TMPDIR => 1);

sub ops_dir { return "$Dir" }

# ops('debit-export', '--month', '2026-09', ...): the tool with --env
# test; {rc, out, err} (out and err decoded from UTF-8).
sub ops {
    my ($tool, @args) = @_;
    Test::Csibiz::ensure_backends();
    my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
        [Test::Csibiz::repo_root() . "/tools/$tool", '--env', 'test',
         @args]);
    return { rc => $rc, out => Encode::decode('UTF-8', $out),
             err => Encode::decode('UTF-8', $err) };
}

# ops_file('name', $text): $text (characters, or bytes with raw => 1)
# into a file of the test's private directory; returns the path.
sub ops_file {
    my ($name, $text, %o) = @_;
    my $path = "$Dir/$name";
    open my $fh, '>:raw', $path or Carp::croak("$path: $!");
    print {$fh} $o{raw} ? $text : Encode::encode('UTF-8', $text);
    close $fh or Carp::croak("$path: $!");
    return $path;
}

sub file_bytes {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    return scalar <$fh>;
}

# a roster CSV line: id, name, card, category, school, phone, gender,
# birth date, and the handbook number as a 9th column if handbook is
# given (undef: an empty one)
sub roster_line {
    my (%o) = @_;
    return join ',', map { $_ // '' }
        @o{qw(id)}, $o{name} // '测试学生', $o{card},
        $o{category} // 'student', @o{qw(school phone gender birth)},
        exists $o{handbook} ? $o{handbook} : ();
}

# keytool('-a', 'account_no', 'seal', $value): the tool's output line
sub keytool {
    my (@args) = @_;
    my $value = pop @args;
    my $root = Test::Csibiz::repo_root();
    my $in = File::Temp->new;
    print {$in} "$value\n";
    close $in;
    my $cmd = "$root/build/csibiz-keytool -k $ENV{TEST_NGINX_SECRET_KEY}";
    my $out = qx{$cmd @args - < $in};
    Carp::croak("csibiz-keytool @args failed") if $?;
    chomp $out;
    return $out;
}

sub person_id {
    my ($card) = @_;
    return Test::Csibiz::psql_value(
        "SELECT id FROM insured_person WHERE si_card_no = '$card'");
}

# A bank account and a submitted declaration for a person, as PUT
# /api/account leaves them (the number sealed with "account_no").
my $Receipt = 0;

sub account_for {
    my ($pid, %o) = @_;
    my $enc = keytool('-a', 'account_no', 'seal', $o{no});
    my $last4 = substr($o{no}, -4);
    my $rel = $o{relative};
    Test::Csibiz::psql(Encode::encode('UTF-8',
        "INSERT INTO bank_account (insured_person_id, payer, method,"
        . " bank_code, doc_type, account_enc, account_last4, relative_name,"
        . " relative_gender, relative_relation, relative_phone,"
        . " relative_address, relative_postcode) VALUES ($pid, "
        . ($rel ? "'relative'" : "'self'") . ", '" . ($o{method} // 'card')
        . "', '$o{bank}', 'id_card', '\\x$enc', '$last4', "
        . ($rel ? "'$rel', 'F', 'mother', '13912345678',"
                  . " '北京市海淀区中关村南大街5号', '100081'"
                : 'NULL, NULL, NULL, NULL, NULL, NULL')
        . ") ON CONFLICT (insured_person_id) DO UPDATE SET"
        . " account_enc = EXCLUDED.account_enc,"
        . " account_last4 = EXCLUDED.account_last4"));
    my $month = $o{month} // '2026-09';
    Test::Csibiz::psql(
        "INSERT INTO declaration (insured_person_id, receipt_no,"
        . " applies_to_month) VALUES ($pid, 'RT-" . ++$Receipt . "-$pid',"
        . " '$month-01')");
    return $pid;
}

# the ops.* audit rows: [action, detail as text]
sub audit_rows {
    my ($action) = @_;
    return [Test::Csibiz::psql(
        "SELECT action, detail::text FROM audit_log WHERE action = '$action'"
        . " ORDER BY id")];
}

1;
