# Key rotation: 100 000 sealed bank accounts (and their 100 000 insured
# persons' sealed ID numbers and birth dates) under key A, the secret
# file's own seal key (id 1); nginx reloaded with key B (csibiz_seal_key,
# id 2) as the current key and A as an old one; `csibiz-keytool rotate`
# seals everything again under B while a client reads GET /api/me and
# GET /api/account throughout (every answer 200 with the right masked
# values, updated_at untouched); then A is removed, nginx reloaded, and
# every value still opens (keytool verify, and each account number
# compared).  Then a new secret file: the blind indexes made again
# (keytool reindex), sessions gone, a login finds the ID number.  Before
# all that: the key files that nginx -t and the keytool refuse (mode, id,
# the same key twice).

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::More;

use Time::HiRes ();

my $N = 100_000;
my $ROOT = repo_root();
my $KEYTOOL = "$ROOT/build/csibiz-keytool";
my $GEN = "$ROOT/build/csibiz-gen";

system('make', '-C', $ROOT, '-s', '-f', 'mk/keytool.mk', 'keytool', 'gen')
    == 0 or BAIL_OUT('cannot build csibiz-keytool and csibiz-gen');

ensure_backends();

my $DIR = stack_env('CSIBIZ_VAR');
my $A = $ENV{TEST_NGINX_SECRET_KEY};
my $B = "$DIR/seal-b.key";
my $KEYS_CONF = "$DIR/seal-keys.conf";
my $CONNINFO = pg_conninfo();
my $PSQL = (stack_env('PG_BIN') // '') . '/psql';
$PSQL = 'psql' unless -x $PSQL;

sub spew {
    my ($path, $text, $mode) = @_;
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print {$fh} $text;
    close $fh or die "$path: $!";
    chmod $mode // 0600, $path;
}

sub random_key { join '', map { chr int rand 256 } 1 .. 32 }

spew($B, random_key());

# quoted for a shell command line
sub sh { my $v = shift; $v =~ s/'/'\\''/g; "'$v'" }

# (exit status, stdout, stderr) of a shell command
sub runcmd {
    my ($cmd) = @_;
    my $err = "$DIR/run.err";
    my $out = qx{$cmd 2>$err};
    my $rc = $? >> 8;
    open my $fh, '<', $err or die;
    local $/;
    my $e = <$fh> // '';
    return ($rc, $out, $e);
}

# -------------------------------------------------- refused key files

my $loose = "$DIR/loose.key";
spew($loose, random_key(), 0644);

my $ok = eval {
    start_nginx(http_config => "csibiz_secret_file $loose;",
                config => 'location = /h { csibiz health; }');
    1;
};
ok(!$ok, 'nginx -t refuses a secret file others can read');
like($@, qr/\[emerg\] key file "\Q$loose\E" must be a file that group and others can neither read nor write/,
     '[emerg] names the file');

chmod 0640, $loose;
$ok = eval {
    start_nginx(http_config => "csibiz_secret_file $A;\n"
                               . "csibiz_seal_key $loose id=2;",
                config => 'location = /h { csibiz health; }');
    1;
};
ok(!$ok, 'nginx -t refuses a seal key its group can read');
like($@, qr/\[emerg\] key file "\Q$loose\E" must be/, 'naming it');

for my $case (["csibiz_seal_key $B id=0;", qr/invalid key id "id=0"/],
              ["csibiz_seal_key $B;", qr/invalid number of arguments/],
              ["csibiz_seal_key $B key=2;", qr/needs "id="/],
              ["csibiz_seal_key $B id=2;\ncsibiz_seal_key $A id=2;",
               qr/duplicate seal key id 2/],
              ["csibiz_seal_key $B id=2;\ncsibiz_seal_key $B id=3;",
               qr/is given twice/]) {
    $ok = eval {
        start_nginx(http_config => "csibiz_secret_file $A;\n$case->[0]",
                    config => 'location = /h { csibiz health; }');
        1;
    };
    (my $name = $case->[0]) =~ s/\n/ /g;
    $name =~ s/\Q$DIR\E\///g;
    ok(!$ok, "nginx -t refuses: $name");
    like($@, $case->[1], 'with the reason');
}

my ($rc, $out, $err) = runcmd("$KEYTOOL -k $A -s 2:$loose seal x");
is($rc, 1, 'the keytool refuses a seal key file its group can read');
like($err, qr/key file \Q$loose\E must be a file that group and others/,
     'naming it');
chmod 0600, $loose;

# ------------------------------------------- key A: accounts, 100 000 rows

spew($KEYS_CONF, "# key A: csibiz_secret_file's own seal key, id 1\n");
start_query_nginx(now => '2026-09-10 12:00:00+08',
                  http => "    include $KEYS_CONF;\n");

my @P = map { parent($_) } 1 .. 4;
for my $i (0 .. $#P) {
    my $r = account_put($P[$i], self_card(seed => 100 + $i, version => 0));
    is($r->{status}, 200, "parent $i: PUT /api/account under key A")
        or diag($r->{body});
}

# what the reader must see throughout: the masked values of each parent
my @Want;
for my $p (@P[0 .. 2]) {
    my $me = query_get($p, '/api/me')->{json}{person};
    my $acc = account_get($p)->{json}{account};
    push @Want, { sid => $p->{sid}, id => $me->{id_number_masked},
                  birth => $me->{birth_date},
                  last4 => $acc->{account_last4},
                  updated => $acc->{updated_at} };
}
is(scalar(grep { $_->{id} && $_->{birth} && $_->{last4} } @Want), 3,
   'the parents\' masked values');

is(psql_value('SELECT string_agg(DISTINCT get_byte(account_enc, 0)::text,'
              . " ',') FROM bank_account"),
   '1', 'the module sealed under key id 1');
my $old_hex = psql_value("SELECT encode(account_enc, 'hex') FROM bank_account"
                         . " WHERE insured_person_id = $P[0]{pid}");

my $first = psql_value('SELECT max(id) + 1 FROM insured_person');
my $t0 = Time::HiRes::time();
($rc, undef, $err) = runcmd(
    "$GEN -k $A --count $N --first-id $first persons | $PSQL -X -q"
    . " -v ON_ERROR_STOP=1 " . sh($CONNINFO) . " -c "
    . sh('COPY insured_person (id, id_number_hmac, id_number_enc, name,'
         . ' gender, birth_date_enc, birth_date_hmac, si_card_no, category,'
         . ' school, declared_phone, handbook_no) FROM STDIN'));
is($rc, 0, "$N insured persons copied") or diag($err);

# account number of person $pid: 19 digits, made from the id
sub account_of { sprintf '62220200%011d', $_[0] }

my $in = "$DIR/accounts.tsv";
open my $fh, '>', $in or die;
for my $pid ($first .. $first + $N - 1) {
    my $no = account_of($pid);
    print {$fh} join("\t", $pid, $no, 'self', 'card', 'ICBC', 'id_card',
                     substr($no, -4)), "\n";
}
close $fh;
($rc, undef, $err) = runcmd(
    "$KEYTOOL -k $A -a account_no -f 2 seal < $in | $PSQL -X -q"
    . " -v ON_ERROR_STOP=1 " . sh($CONNINFO) . " -c "
    . sh('COPY bank_account (insured_person_id, account_enc, payer, method,'
         . ' bank_code, doc_type, account_last4) FROM STDIN'));
is($rc, 0, "$N bank accounts sealed by the keytool and copied")
    or diag($err);
unlink $in;
psql('ANALYZE insured_person; ANALYZE bank_account');
diag(sprintf '%d persons and accounts seeded in %.1f s', $N,
     Time::HiRes::time() - $t0);

is(psql_value('SELECT count(*) FROM bank_account'
              . ' WHERE get_byte(account_enc, 0) = 1'),
   $N + 4, 'every account sealed under key id 1');

# ------------------------------------------------ a reader throughout

my $STOP = "$DIR/reader.stop";
unlink $STOP;

my $reader = background(sub {
    my (%n, @bad);
    my $deadline = time + 900;
    my $last_round = 0;
    while (time < $deadline) {
        $last_round = 1 if -e $STOP;
        for my $w (@Want) {
            my $p = { sid => $w->{sid} };
            my $r = query_get($p, '/api/me');
            my $me = $r->{json} && $r->{json}{person};
            if ($r->{status} == 200 && $me
                && $me->{id_number_masked} eq $w->{id}
                && $me->{birth_date} eq $w->{birth}) {
                $n{me}++;
            } else {
                push @bad, "me: $r->{status} " . substr($r->{body} // '', 0, 200)
                    if @bad < 10;
            }
            $r = account_get($p);
            my $acc = $r->{json} && $r->{json}{account};
            if ($r->{status} == 200 && $acc
                && $acc->{account_last4} eq $w->{last4}
                && $acc->{updated_at} eq $w->{updated}) {
                $n{account}++;
            } else {
                push @bad, "account: $r->{status} "
                           . substr($r->{body} // '', 0, 200) if @bad < 10;
            }
        }
        last if $last_round;
    }
    return { %n, bad => \@bad };
});

# ------------------------------------- key B current, key A still opens

my $wait_generation = sub {
    my ($what) = @_;
    reload_nginx(wait => 1, timeout => 30);
    # the old generation has answered its last request and gone
    ok(wait_until(sub {
        my @all = worker_pids(all => 1);
        my @new = worker_pids();
        @all == @new;
    }, timeout => 60), "$what: only the new workers are left");
};

spew($KEYS_CONF, "csibiz_seal_key $B id=2;\ncsibiz_seal_key $A id=1;\n");
$wait_generation->('key B added');

my $probe = $P[3];
my $seed = 200;
ok(wait_until(sub {
    my $version = account_get($probe)->{json}{version};
    my $r = account_put($probe, self_card(seed => ++$seed,
                                          version => $version));
    $r->{status} == 200
        && psql_value('SELECT get_byte(account_enc, 0) FROM bank_account'
                      . " WHERE insured_person_id = $probe->{pid}") == 2;
}, timeout => 60), 'the new generation seals under key id 2');

# ------------------------------------------------------------ rotate

my $ring = "-k $A -s 2:$B -s 1:$A -d " . sh($CONNINFO);

# a part first (-n): the next run goes on where it stopped
($rc, $out, $err) = runcmd("$KEYTOOL $ring -n 30000 rotate");
is($rc, 1, 'rotate -n 30000: stopped with rows left');
my ($part) = $out =~ /^insured_person: (\d+) sealed again/m;
ok($part && $part >= 30000 && $part < 32000,
   "rotate -n 30000: $part rows sealed again") or diag($out, $err);

$t0 = Time::HiRes::time();
($rc, $out, $err) = runcmd("$KEYTOOL $ring -b 1000 rotate");
my $secs = Time::HiRes::time() - $t0;
is($rc, 0, 'rotate: exit 0') or diag($out, $err);
my %done = $out =~ /^(\w+): (\d+) sealed again, 0 refused, 0 left under other keys$/mg;
is($done{insured_person}, $N + 4 - $part,
   'insured_person: the rows the first run left, and no other');
is($done{bank_account}, $N + 4 - 1,
   'bank_account: all but the one the new key sealed');
is($done{declaration}, 3,
   'declaration: the parents\' copies (the fourth\'s is under key B)');
is($done{debit_export_row}, 0, 'debit_export_row: none there');
like($err, qr/^csibiz-keytool: rotate: \w+: \d+ sealed again/m,
     'progress on standard error');
diag(sprintf 'rotate: %d rows in %.1f s', $done{insured_person}
     + $done{bank_account} + $done{declaration}, $secs);

for my $col ([qw(insured_person id_number_enc)],
             [qw(insured_person birth_date_enc)],
             [qw(bank_account account_enc)],
             [qw(declaration account_enc)]) {
    is(psql_value("SELECT count(*) FROM $col->[0]"
                  . " WHERE get_byte($col->[1], 0) <> 2"),
       0, "$col->[0].$col->[1]: every value under key id 2");
}

($rc, $out) = runcmd("$KEYTOOL $ring rotate");
is($rc, 0, 'rotate again: nothing to do');
like($out, qr/^bank_account: 0 sealed again, 0 refused, 0 left/m,
     'rotate again: 0 sealed');

# --------------------------------------------------------- A removed

spew($KEYS_CONF, "csibiz_seal_key $B id=2;\n");
$wait_generation->('key A removed');

for my $w (@Want) {
    my $r = query_get({ sid => $w->{sid} }, '/api/me');
    is($r->{status}, 200, 'GET /api/me without key A') or diag($r->{body});
    is($r->{json}{person}{id_number_masked}, $w->{id}, 'the same mask');
}

spew($STOP, '');
my $got = background_wait($reader);
ok($got->{me} && $got->{me} > 10, "the reader: $got->{me} GET /api/me");
ok($got->{account} && $got->{account} > 10,
   "the reader: $got->{account} GET /api/account");
is_deeply($got->{bad}, [],
          'every read 200 with the right masked values and updated_at');

# every value opens under key B alone
my $ring_b = "-k $A -s 2:$B -d " . sh($CONNINFO);
$t0 = Time::HiRes::time();
($rc, $out, $err) = runcmd("$KEYTOOL $ring_b verify");
diag(sprintf 'verify: %.1f s', Time::HiRes::time() - $t0);
is($rc, 0, 'verify with key B alone: exit 0') or diag($out, $err);
for my $col (qw(insured_person.id_number_enc insured_person.birth_date_enc
                bank_account.account_enc)) {
    like($out, qr/^\Q$col\E: (\d+) sealed: key 2 \1, cannot open 0$/m,
         "verify: $col all under key 2");
}
my ($n_acc) = $out =~ /^bank_account\.account_enc: (\d+) sealed/m;
is($n_acc, $N + 4, 'verify: every account');

# and each account number is the one that was sealed under A
($rc, $out, $err) = runcmd(
    "$PSQL -X -q -At " . sh($CONNINFO) . " -c "
    . sh("COPY (SELECT insured_person_id, encode(account_enc, 'hex')"
         . " FROM bank_account WHERE insured_person_id >= $first)"
         . ' TO STDOUT')
    . " | $KEYTOOL -k $A -s 2:$B -a account_no -f 2 open");
is($rc, 0, 'every account opened by key B') or diag($err);
my ($same, $lines) = (0, 0);
for (split /\n/, $out) {
    my ($pid, $no) = split /\t/;
    $lines++;
    $same++ if $no eq account_of($pid);
}
is($lines, $N, "$N accounts opened");
is($same, $N, 'each the number sealed under key A');

# what A sealed opens under A and not without it: A is really gone
($rc) = runcmd("$KEYTOOL -k $A -s 2:$B -a account_no open $old_hex");
is($rc, 1, 'a value sealed under A: not opened without A');
($rc) = runcmd("$KEYTOOL -k $A -a account_no open $old_hex >/dev/null");
is($rc, 0, 'the same value opens under A');

# ----------------------- a new secret file: the blind indexes made again

# the rotation's nginx: nothing failed to open, nothing personal logged
my $log = error_log_since(0);
unlike($log, qr/cannot open|\[alert\]|\[crit\]|\[emerg\]/,
       'nothing failed to open in the error log');
my @leak = grep { index($log, $_) >= 0 }
           (map { account_of($_) } $first .. $first + 9), keys %SECRETS;
is_deeply(\@leak, [], 'no account number in the error log');

stop_nginx();
my $S2 = "$DIR/secret-2.key";
spew($S2, random_key());
$t0 = Time::HiRes::time();
($rc, $out, $err) = runcmd("$KEYTOOL -k $S2 -s 2:$B -d " . sh($CONNINFO)
                           . ' reindex');
is($rc, 0, 'reindex under a new secret file: exit 0') or diag($err);
diag(sprintf 'reindex: %d persons in %.1f s', $N + 4,
     Time::HiRes::time() - $t0);
like($out, qr/^insured_person: @{[ $N + 4 ]} indexed again, 0 refused$/m,
     'reindex: every person');
($rc, $out) = runcmd("$KEYTOOL -k $S2 -s 2:$B -d " . sh($CONNINFO)
                     . ' reindex');
like($out, qr/^insured_person: 0 indexed again, 0 refused$/m,
     'reindex again: nothing left to do');

my ($hmac, $bhmac) = @{ (psql(
    "SELECT encode(id_number_hmac, 'hex'), encode(birth_date_hmac, 'hex')"
    . " FROM insured_person WHERE id = $P[0]{pid}"))[0] };
is($hmac, (runcmd("$KEYTOOL -k $S2 index $P[0]{id}"))[1] =~ s/\n//r,
   'the index is the new key\'s');
my $birth = join '-', unpack 'x6 A4 A2 A2', $P[0]{id};
like((runcmd("printf '%s\\t%s\\n' $hmac $birth"
             . " | $KEYTOOL -k $S2 -s 2:$B -f 2 birth"))[1],
     qr/\t\\\\x\Q$bhmac\E$/m,
     'the birth date\'s index too, as the roster import makes it');

{
    local $ENV{TEST_NGINX_SECRET_KEY} = $S2;
    start_query_nginx(now => '2026-09-10 12:00:00+08',
                      http => "    include $KEYS_CONF;\n");
}
my $r = query_get($P[0], '/api/me');
is($r->{status}, 401, 'the new secret: sessions of before are gone');
login($P[0]);
$r = query_get($P[0], '/api/me');
is($r->{status}, 200, 'logged in again: the ID number found by the new index')
    or diag($r->{body});
is($r->{json}{person}{id_number_masked}, $Want[0]{id}, 'the same mask');

unlike(error_log_since(0), qr/cannot open|\[alert\]|\[crit\]|\[emerg\]/,
       'the new secret\'s nginx: nothing failed');

stop_nginx();
done_testing();
