# The medical-insurance handbook number (医疗保险手册号) in place of the
# social security card number: tools/roster-import takes it as an
# optional 9th column (files without it import as before, an empty one
# or none keeps the stored number, a bad, repeated or someone else's one
# is refused); POST /api/sms/send, /api/register and /api/password/reset
# take it in si_card_no; a wrong handbook number gets the very answer a
# wrong card number gets, and a code sent with one number is not good
# for the other.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Ops;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $A = id_number('11010520120520011');
my $B = id_number('11010520130613022');
my $C = id_number('11010520140714033');
my $D = id_number('11010520150815044');

sub handbook_of {
    my ($id) = @_;
    my $h = psql_value("SELECT coalesce(handbook_no, '-') FROM insured_person"
                       . " WHERE si_card_no = '$id'");
    return $h;
}

sub import_lines {
    my ($name, @lines) = @_;
    my $file = ops_file($name, join("\n", @lines) . "\n");
    return ops('roster-import', $file);
}

# --------------------------------------------- roster without the column

my $r = import_lines('eight.csv',
    'id_number,name,si_card_no,category,school,phone,gender,birth_date',
    roster_line(id => $A, card => 'HBK000000001', phone => '13800131001'),
    roster_line(id => $B, card => 'HBK000000002', phone => '13800131002'));
is($r->{rc}, 0, '8 columns: exit 0') or diag($r->{out}, $r->{err});
is($r->{out}, "2 rows: 2 inserted, 0 updated, 0 unchanged, 0 rejected\n",
   '8 columns: imported as before');
is(handbook_of('HBK000000001'), '-', '8 columns: no handbook number');

# ------------------------------------------------ roster with the column

$r = import_lines('nine.csv',
    'id_number,name,si_card_no,category,school,phone,gender,birth_date,'
    . 'handbook_no',
    roster_line(id => $A, card => 'HBK000000001', phone => '13800131001',
                handbook => ' sc1100000001 '),
    roster_line(id => $B, card => 'HBK000000002', phone => '13800131002',
                handbook => undef),
    roster_line(id => $C, card => 'HBK000000003', phone => '13800131003',
                handbook => '1100-0003'),
    roster_line(id => $C, card => 'HBK000000003', phone => '13800131003',
                handbook => 'SC1100000001'),
    roster_line(id => $D, card => 'HBK000000004', handbook => '1234567'),
    roster_line(id => $D, card => 'HBK000000004', handbook => '11000000044'));
is($r->{rc}, 1, '9 columns: some rows refused, exit 1');
is($r->{out}, <<'EOF', '9 columns: the bad handbook numbers by line');
line 4: handbook_no: format
line 5: handbook_no: also on line 2
line 6: handbook_no: format
6 rows: 1 inserted, 1 updated, 1 unchanged, 3 rejected
EOF
is(handbook_of('HBK000000001'), 'SC1100000001',
   '9 columns: the number stored, trimmed and upper-cased');
is(handbook_of('HBK000000002'), '-', '9 columns: an empty one is none');
is(handbook_of('HBK000000004'), '11000000044', '9 columns: a new person');

# someone else's number, from a later file
$r = import_lines('taken.csv',
    roster_line(id => $C, card => 'HBK000000003', handbook => '11000000044'));
is($r->{out}, "line 1: handbook_no: belongs to another person\n"
   . "1 rows: 0 inserted, 0 updated, 0 unchanged, 1 rejected\n",
   'a handbook number of another person is refused');

# the 8-column file again: nothing changes, the number stays
$r = import_lines('eight-again.csv',
    roster_line(id => $A, card => 'HBK000000001', phone => '13800131001'));
is($r->{out}, "1 rows: 0 inserted, 0 updated, 1 unchanged, 0 rejected\n",
   'without the column: unchanged');
is(handbook_of('HBK000000001'), 'SC1100000001',
   'without the column: the handbook number is kept');

$r = import_lines('columns.csv',
    roster_line(id => $A, card => 'HBK000000001', handbook => 'SC1100000001')
    . ',x');
like($r->{out}, qr/^line 1: record: 10 columns, want 9$/m,
     'ten columns are refused');

# ------------------------------------------------------------ over HTTP

start_nginx(main_config => $ACCOUNT_MAIN,
            http_config => "$ACCOUNT_HTTP    csibiz_captcha off;\n",
            config => $PROOF_CONFIG);

sub send_for {
    my ($id, $number, $phone, $purpose) = @_;
    forget_sms_limits();
    return json_post('/api/sms/send', {
        purpose => $purpose // 'register', id_number => $id,
        si_card_no => $number, phone => $phone });
}

# A's handbook number, in lower case as a parent might type it
my $pa = { id => $A, card => 'sc1100000001', phone => '13800131001',
           pw => 'a handbook is as good as a card' };

$r = send_for($A, $pa->{card}, $pa->{phone});
is($r->{status}, 200, 'sms/send with the handbook number') or diag($r->{body});
$pa->{ticket} = $r->{json}{sms_ticket};
my $code = sms_last($pa->{phone})->{code};

$r = register_request($pa, sms_code => $code, si_card_no => 'HBK000000001');
code_is($r, 400, 'identity_mismatch',
        'register with the card after a code sent with the handbook number');

$r = register_request($pa, sms_code => $code);
is($r->{status}, 201, 'register with the handbook number')
    or diag($r->{body});
is(psql_value("SELECT count(*) FROM portal_user u JOIN insured_person p"
              . " ON p.id = u.insured_person_id"
              . " WHERE p.si_card_no = 'HBK000000001'"), 1,
   'the child with that handbook number is registered');
is(login_request($pa, $pa->{pw})->{status}, 200, 'and logs in');

# a wrong number: the same answer, card or handbook
my @wrong = (
    ['another card number', 'HBK000000009'],
    ['another handbook number', 'SC1100000009'],
    ['the handbook number of another child', '11000000044'],
    ['a handbook number for a child who has none', 'SC1100000002'],
);
my %body;
for my $w (@wrong) {
    $r = send_for($B, $w->[1], '13800131002');
    code_is($r, 400, 'identity_mismatch', "sms/send: $w->[0]");
    $body{ $r->{body} } = 1;
}
is(scalar keys %body, 1, 'sms/send: one answer for every wrong number');

$r = send_for($B, '1234567', '13800131002');
code_is($r, 400, 'invalid', 'a number of neither form');
is($r->{json}{error}{fields}{si_card_no}, 'format', '... is a format error');

# the roster loses the number between the code and the registration
my $pd = { id => $D, card => '11000000044', phone => '13800131004',
           pw => 'the roster moves under me' };
roster_add(id_number => $D, si_card => 'HBK000000004', phone => $pd->{phone});
$r = send_for($D, 'HBK000000004', $pd->{phone});
is($r->{status}, 200, 'a code for the card') or diag($r->{body});
code_is(send_for($D, $pd->{card}, $pd->{phone}), 400, 'identity_mismatch',
        'roster-add without --handbook-no cleared the handbook number');
roster_add(id_number => $D, si_card => 'HBK000000004', phone => $pd->{phone},
           handbook_no => $pd->{card});
$r = send_for($D, $pd->{card}, $pd->{phone});
is($r->{status}, 200, 'a code for the handbook number') or diag($r->{body});
$pd->{ticket} = $r->{json}{sms_ticket};
$code = sms_last($pd->{phone})->{code};
roster_add(id_number => $D, si_card => 'HBK000000004', phone => $pd->{phone},
           handbook_no => 'SC1100000044');
code_is(register_request($pd, sms_code => $code), 400, 'identity_mismatch',
        'register: the handbook number is no longer the child\'s');

# ------------------------------------------------------------ the reset

# B registers with the card, then resets with a handbook number the
# school declares later
my $pb = { id => $B, card => 'HBK000000002', phone => '13800131002',
           pw => 'first a card then a handbook' };
register_account($pb);
roster_add(id_number => $B, si_card => 'HBK000000002', phone => $pb->{phone},
           handbook_no => 'SC1100000002');

$pb->{card} = 'SC1100000002';
$r = send_for($B, $pb->{card}, $pb->{phone}, 'reset');
is($r->{status}, 200, 'reset: a code for the handbook number')
    or diag($r->{body});
$pb->{ticket} = $r->{json}{sms_ticket};
$code = sms_last($pb->{phone})->{code};
$pb->{pw} = 'now the handbook number it is';
$r = reset_request($pb, sms_code => $code, password => $pb->{pw});
is($r->{status}, 200, 'reset with the handbook number') or diag($r->{body});
is(login_request($pb, $pb->{pw})->{status}, 200, 'the new password works');

logs_have_none('handbook', 'ID or handbook number', $A, $B, $C, $D,
               'SC1100000001', 'SC1100000002', '11000000044');

done_testing();
