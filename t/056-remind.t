# tools/remind: SMS reminders of a debit month in the outbox.  Before the
# debit: the premium of the premium table, the balance to keep, the last
# 4 digits of the account of the file (not one declared since), to the
# parent's portal phone; children debited already, or without a portal
# account, skipped.  After the results: each failure reason in words, the
# advice and the day to fix it by.  A second run queues nothing; outside
# the sending hours nothing is queued; a kind not due is left; Redis
# down or the wrong key file queue and record nothing; after November,
# the failure says no debit follows; no ID number, no whole account
# number and no phone in the messages' other fields or the tool's
# output; the reference consumer drops reminders past their send_by.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank qw(card_no);
use Test::Csibiz::Ops;
use Test::More;

use Encode ();
use Time::Local ();

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my @reasons = @DEBIT_REASONS;

# k0-k5: a portal account each, failing in September for each reason;
# k6: debited before the reminder; k7: no portal account
my @kids = map {
    { id => id_number(sprintf '11010520130310%03d', 300 + $_),
      card => sprintf('REMIND%06d', $_), name => '王小明',
      phone => sprintf('1380013%04d', $_),
      no => card_no('622202', 19, 40 + $_) }
} 0 .. 7;

my $r = ops('roster-import', ops_file('roster.csv', join('', map {
    roster_line(id => $_->{id}, card => $_->{card}, name => $_->{name})
    . "\n" } @kids)));
is($r->{rc}, 0, 'roster imported') or diag($r->{out}, $r->{err});

# the premium of the year: not the default, so that the texts show it
# comes from the table
psql('UPDATE premium SET amount_cents = 18350 WHERE year = 2026');

for my $i (0 .. $#kids) {
    my $k = $kids[$i];
    $k->{pid} = person_id($k->{card});
    account_for($k->{pid}, bank => 'ICBC', no => $k->{no});
    next if $i == 7;
    psql("INSERT INTO portal_user (insured_person_id, phone, password_hash,"
         . " agreement_version, agreed_at) VALUES ($k->{pid},"
         . " '$k->{phone}', '\$argon2id\$v=19\$test', '2024-09-01', now())");
}

$r = ops('debit-export', '--month', '2026-09', '--out', ops_dir() . '/out');
is($r->{rc}, 0, 'September exported') or diag($r->{err});
like($r->{out}, qr/8 debits made, 1468\.00 yuan/, '... 8 x 183.50 yuan');
my %ref = map { @$_ } psql(
    "SELECT insured_person_id, ref FROM debit_export_row");

# k1's parent enters another card after the cut-off: for October
my $new_no = card_no('622202', 19, 99);
account_for($kids[1]{pid}, bank => 'ICBC', no => $new_no, month => '2026-10');

# k6 debited already (the bank answered early)
$r = ops('result-import', ops_file('early.csv',
    "$ref{ $kids[6]{pid} },183.50,debited,\n"));
is($r->{rc}, 0, "k6's debit imported") or diag($r->{out}, $r->{err});

my @all_out;                        # every output of the tool, for the end

sub remind {
    my (@args) = @_;
    unshift @args, '--month', '2026-09' unless $args[0] eq '--month';
    my $r = ops('remind', @args);
    push @all_out, $r->{out}, $r->{err};
    return $r;
}

sub outbox_len { return redis_cmd('XLEN', 'csibiz:sms:outbox') || 0 }

# the tool's counts of a kind
sub counts {
    my ($kind, @n) = @_;
    return qr/\Q$kind: $n[0] queued, skipped $n[1] already sent, $n[2]\E
              \Q already debited, $n[3] no phone\E\n/x;
}

# seconds since the epoch of an hour of a day, Beijing time
sub bj_epoch {
    my ($day, $hour) = @_;
    my ($y, $m, $d) = split /-/, $day;
    return Time::Local::timegm(0, 0, 0, $d, $m - 1, $y) + ($hour - 8) * 3600;
}

# ------------------------------------------------------------- usage

$r = ops('remind', '--help');
is($r->{rc}, 0, '--help: exit 0');
like($r->{out}, qr/--before-days N.*--hours HH-HH.*Exit status/s,
     '--help: the options and the exit statuses');

for my $case (
    [['--month', '2026-09', '--hours', '20-09'], '--hours 20-09'],
    [['--month', '2026-09', '--hours', '9-20'], '--hours 9-20'],
    [['--month', '2026-09', '--before-days', '21'], '--before-days 21'],
    [['--month', '2026-09', '--now', 'yesterday-ish'], '--now nonsense'],
    [['--month', '2026-9'], '--month 2026-9'],
    [['--month', '2026-09', '--redis', '127.0.0.1:1'], '--env with --redis'])
{
    my ($args, $what) = @$case;
    $r = ops('remind', @$args);
    is($r->{rc}, 2, "$what: usage error, exit 2") or diag($r->{err});
}

$r = ops('remind', '--month', '2026-12', '--now', '2026-12-05T10:00+08:00');
is($r->{rc}, 3, 'December, no debit month: exit 3');
like($r->{err}, qr/2026-12 is no debit month/, '... saying so');

# -------------------------------------------------- before the debit

$r = remind('--now', '2026-09-21T10:00:00+08:00');
is($r->{rc}, 0, '21 September: exit 0') or diag($r->{err});
is($r->{out}, "remind: 2026-09, before the debit: not due (2026-09-22 to"
              . " 2026-09-25)\nremind: 2026-09, failed debits: not due"
              . " (2026-10-05 to 2026-10-18)\n",
   '21 September: neither kind is due (3 days before the 25th)');
is(outbox_len(), 0, '... nothing queued');

$r = remind('--now', '2026-09-21T10:00:00+08:00', '--before-days', '4');
like($r->{out}, qr/before the debit: 6 queued/,
     '--before-days 4: due on the 21st');
psql('TRUNCATE sms_reminder');
redis_cmd('DEL', 'csibiz:sms:outbox');

for my $t ('2026-09-22T08:59:59+08:00', '2026-09-22T20:00:00+08:00',
           '2026-09-22T13:00:00+00:00')
{
    $r = remind('--now', $t);
    is($r->{rc}, 0, "$t: exit 0") or diag($r->{err});
    like($r->{out}, qr/^remind:\ 2026-09-22\ \d\d:\d\d\ Beijing\ time\ is
                       \ outside\ the\ sending\ hours\ 09-20:\ nothing
                       \ queued;\ run\ it\ again\ between\ 09:00\ and
                       \ 20:00\n\z/x,
         "$t: outside the sending hours, says so");
}
is(outbox_len(), 0, 'outside the hours: nothing queued');
is(psql_value('SELECT count(*) FROM sms_reminder'), 0, '... nothing claimed');

$r = remind('--now', '2026-09-22T21:30:00+08:00', '--hours', '08-22');
like($r->{out}, counts('before the debit', 6, 0, 1, 1),
     '21:30 with --hours 08-22: 6 queued, k6 debited, k7 without a phone')
    or diag($r->{out}, $r->{err});
is($r->{rc}, 0, '... exit 0');
like($r->{out}, qr/failed debits: not due/, '... failed debits not due');

my $msgs = sms_outbox();
is(scalar @$msgs, 6, 'six messages in the outbox');
my %to = map { $_->{phone} => $_ } @$msgs;
is_deeply([sort keys %to], [map { $_->{phone} } @kids[0 .. 5]],
          "to the portal phones of k0-k5");
my $send_by = bj_epoch('2026-09-22', 22);
for my $i (0 .. 5) {
    my $k = $kids[$i];
    my $m = $to{ $k->{phone} };
    my $last4 = substr($k->{no}, -4);
    is($m->{purpose}, 'debit_reminder', "k$i: purpose debit_reminder");
    is($m->{code}, '', "k$i: no code");
    is(Encode::decode('UTF-8', $m->{text}),
       "王*明的家长：本月25日前后将从尾号${last4}的账户扣缴2026年度居民医保"
       . "费用183.50元，请保持余额不少于193.50元。",
       "k$i: the text: the day, the account's last 4, premium and balance");
    is(Encode::decode('UTF-8', $m->{text_en}),
       "Parent of 王*明: around 25 September the 2026 residents' medical"
       . " insurance premium of 183.50 yuan will be debited from the"
       . " account ending $last4; please keep at least 193.50 yuan in it.",
       "k$i: in English");
    is($m->{send_by}, $send_by, "k$i: to be sent by 22:00 Beijing time");
    like($m->{created_at}, qr/^\d{10}$/, "k$i: created_at");
    is_deeply([grep { !/^(?:id|phone|purpose|code|text|text_en|created_at
                         |send_by)$/x } keys %$m], [],
              "k$i: the fields of the module's notice and send_by only");
}
unlike($to{ $kids[1]{phone} }{text}, qr/\Q@{[substr $new_no, -4]}\E/,
       "k1: the card of the file, not the one entered after the cut-off");

# the module's own notice has the same fields in the same order
my @order = map { $_->[1] } @{ redis_cmd('XRANGE', 'csibiz:sms:outbox', '-',
                                         '+', 'COUNT', 1) };
is(join(',', @{ $order[0] }[grep { !($_ % 2) } 0 .. $#{ $order[0] }]),
   'phone,purpose,code,text,text_en,created_at,send_by',
   'the fields in the order of the notice script (proof.h)');

$r = remind('--now', '2026-09-24T10:00:00+08:00');
is($r->{rc}, 0, 'again on the 24th: exit 0') or diag($r->{err});
like($r->{out}, counts('before the debit', 0, 6, 1, 1),
     '... nothing queued: each child had its reminder');
is(outbox_len(), 6, '... the outbox as it was');

$r = remind('--now', '2026-09-26T10:00:00+08:00');
like($r->{out}, qr/before the debit: not due \(2026-09-22 to 2026-09-25\)/,
     'the 26th: the debit day is over');

# ---------------------------------------------------- failed debits

$r = ops('result-import', ops_file('result.csv', join('', map {
    "$ref{ $kids[$_]{pid} },183.50,failed,$reasons[$_]\n" } 0 .. 5)
    . "$ref{ $kids[7]{pid} },183.50,failed,other\n"));
is($r->{rc}, 0, 'September results: six failures') or diag($r->{err});
redis_cmd('DEL', 'csibiz:sms:outbox');

$r = remind('--now', '2026-10-04T12:00:00+08:00');
like($r->{out}, qr/failed debits: not due \(2026-10-05 to 2026-10-18\)/,
     '4 October: before the parents see the results, not due');

# Redis down: nothing queued, nothing claimed
my $spare = spare_port();
my ($rc, $out, $err) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/remind', '--db', pg_ops_conninfo(), '--key',
     $ENV{TEST_NGINX_SECRET_KEY}, '--redis', "127.0.0.1:$spare",
     '--month', '2026-09', '--now', '2026-10-05T10:00:00+08:00']);
push @all_out, Encode::decode('UTF-8', $out . $err);
is($rc, 3, 'a Redis that does not answer: exit 3');
like($err, qr/nothing queued: the outbox .* did not take/,
     '... saying nothing was queued');
is(psql_value("SELECT count(*) FROM sms_reminder WHERE kind = 'failed'"), 0,
   '... and nothing claimed');

# another installation's key file: the account numbers do not open
my $other_key = ops_file('other.key', join('', map { chr int rand 256 }
                                                 1 .. 32), raw => 1);
chmod 0600, $other_key;
($rc, $out, $err) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/remind', '--db', pg_ops_conninfo(), '--key',
     $other_key, '--redis', '127.0.0.1:' . redis_port(), '--month',
     '2026-09', '--now', '2026-10-05T10:00:00+08:00']);
push @all_out, Encode::decode('UTF-8', $out . $err);
is($rc, 3, 'the wrong key file: exit 3');
like($err, qr/nothing queued: an account number could not be opened/,
     '... saying so');
is(outbox_len() . ' ' . psql_value('SELECT count(*) FROM sms_reminder'
                                   . " WHERE kind = 'failed'"), '0 0',
   '... nothing queued, nothing claimed');

$r = remind('--now', '2026-10-05T10:00:00+08:00');
is($r->{rc}, 0, '5 October: exit 0') or diag($r->{err});
like($r->{out}, counts('failed debits', 6, 0, 0, 1),
     '5 October: six failures queued, k7 without a phone');
like($r->{out}, qr/before the debit: not due/, '... the other kind not due');

%to = map { $_->{phone} => $_ } @{ sms_outbox() };
# the reasons in the words of the parents' payments page
my %reason_zh = map { @$_ } psql(
    "SELECT code, zh FROM query_text WHERE kind = 'reason'");
is_deeply([sort keys %reason_zh], [sort @reasons],
          'every reason the result import knows has its words');
for my $i (0 .. 5) {
    my $m = $to{ $kids[$i]{phone} };
    my $text = Encode::decode('UTF-8', $m->{text});
    my $last4 = substr($kids[$i]{no}, -4);
    is($m->{purpose}, 'debit_failed', "$reasons[$i]: purpose debit_failed");
    like($text, qr/^王\*明的家长：2026年9月从尾号${last4}的账户扣缴居民医保
                   费用未成功，原因：\Q@{[Encode::decode('UTF-8',
                   $reason_zh{$reasons[$i]})]}\E。/x,
         "$reasons[$i]: the reason in words");
    like($text, qr/请在10月19日前办妥，以便2026年10月扣款。$/,
         "$reasons[$i]: the day to fix it by, for the October debit");
    my $en = join '', '^Parent of .*: the September 2026 debit .* ending ',
        "$last4 failed\\. .* Do it before 19 October for the October 2026",
        ' debit\.$';
    like(Encode::decode('UTF-8', $m->{text_en}), qr/$en/,
         "$reasons[$i]: in English");
}
like(Encode::decode('UTF-8', $to{ $kids[0]{phone} }{text}),
     qr/保持余额不少于193\.50元/, 'insufficient balance: the balance to keep');

$r = remind('--now', '2026-10-18T19:59:00+08:00');
like($r->{out}, counts('failed debits', 0, 6, 0, 1),
     'again on the 18th: nothing queued');
$r = remind('--now', '2026-10-19T10:00:00+08:00');
like($r->{out}, qr/failed debits: not due/, 'the 19th: too late to fix');

# the reference consumer sends a reminder within its hours or not at all:
# these were to go by 20:00 on 5 October
my ($crc, $cout) = Test::Csibiz::_run_cmd(
    [repo_root() . '/tools/sms-consumer', '--env', 'test', '--once']);
is($crc, 0, 'tools/sms-consumer --once: exit 0');
is(scalar(() = $cout =~ /past its send_by, dropped/g), 6,
   '... drops the six reminders past their send_by');
push @all_out, $cout;

# November, the year's last debit: the failure says no debit follows
sub refs_of {
    my ($month) = @_;
    return { map { @$_ } psql(
        "SELECT r.insured_person_id, r.ref FROM debit_export_row r"
        . " JOIN debit_export e ON e.id = r.export_id"
        . " WHERE e.month = $month") };
}
for my $month (10, 11) {
    $r = ops('debit-export', '--month', "2026-$month", '--out',
             ops_dir() . '/out');
    is($r->{rc}, 0, "2026-$month exported") or diag($r->{err});
    my $refs = refs_of($month);
    $r = ops('result-import', ops_file("result-$month.csv", join('', map {
        my $k = $kids[$_];
        my $failed = $month == 10 || $_ == 0 || $_ == 7;
        "$refs->{ $k->{pid} },183.50,"
        . ($failed ? 'failed,no_such_account' : 'debited,') . "\n"
    } grep { $refs->{ $kids[$_]{pid} } } 0 .. $#kids)));
    is($r->{rc}, 0, "2026-$month results imported") or diag($r->{err});
}
redis_cmd('DEL', 'csibiz:sms:outbox');
$r = remind('--month', '2026-11', '--now', '2026-12-04T10:00+08:00');
is($r->{out}, "remind: 2026-11, before the debit: not due (2026-11-22 to"
              . " 2026-11-25)\nremind: 2026-11, failed debits: not due (from"
              . " 2026-12-05)\n", '4 December: not due yet, then no end');
$r = remind('--month', '2026-11', '--now', '2026-12-15T10:00+08:00');
like($r->{out}, counts('failed debits', 1, 0, 0, 1),
     "15 December: k0's November failure (k7 without a phone)")
    or diag($r->{err});
my ($nov) = @{ sms_outbox() };
like(Encode::decode('UTF-8', $nov->{text}),
     qr/^王\*明的家长：2026年11月从尾号\d{4}的账户扣缴居民医保费用未成功，原因：
        账号不存在或已销户。.*2026年11月是本年度最后一次扣款，本年度不再扣款。/x,
     '... the last debit of the year: no date to fix it by');

# ----------------------------------------------------- what leaks

my @secret = map { ($_->{id}, $_->{no}) } @kids;
my @fields = map { values %$_ } @$msgs, values %to, $nov;
is_deeply([grep { my $s = $_; grep { index($_, $s) >= 0 } @fields }
           @secret], [], 'no ID number or account number in the messages');
my $printed = join '', @all_out;
is_deeply([grep { index($printed, $_) >= 0 }
           map { ($_->{phone}, $_->{id}, $_->{no}) } @kids], [],
          'no phone, ID number or account number in the output');

my $audit = audit_rows('ops.remind');
ok(scalar @$audit >= 4, 'each run that queued has its audit row');
unlike(join('', map { $_->[1] } @$audit), qr/1380013/, '... without phones');

done_testing();
