# The pages of html/ in a real browser: headless Chromium (Debian's
# chromium package) driven by playwright-core (t/browser/pages.js), served
# by the same nginx as the API with the demo's headers
# (tools/nginx-pages.conf; Test::Csibiz::Pages).  The journey of two
# parents, one paying from the child's own card (with a bad card number
# first), one from the mother's passbook (with the English switch on the
# way); a change of the first account that asks for the password again;
# the window closed; the idle warning with a short idle timeout; the
# school's new phone and the password reset that lets the parent in with
# it.  Each view on the way is audited with axe-core (no serious or
# critical violation), and every route of the app must have been.
#
# First, without a browser: the files have nothing a strict CSP refuses,
# and the two message catalogues the same keys.  The browser part is
# skipped, saying why, only when chromium, node, playwright-core or
# axe-core is missing: tools/setup (make test) installs them.
# CSIBIZ_SCREENSHOTS=DIR saves every page at 360 and 1280 px
# (tools/screenshots).  t/061-pages-slow.t: slow and failing backends,
# 360 px wide.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::Csibiz::Bank;
use Test::Csibiz::Query;
use Test::Csibiz::Pages;
use Test::More;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $ROOT = repo_root();

# ------------------------------------------------ the files themselves

# A strict Content-Security-Policy: no inline script, style or handler.
for my $file (glob("$ROOT/html/*.html"), glob("$ROOT/html/js/*.js"),
              glob("$ROOT/html/img/*.svg")) {
    my $text = do { local (@ARGV, $/) = $file; <> };
    (my $name = $file) =~ s{^\Q$ROOT/\E}{};
    my @bad = grep { $text =~ $_->[1] } (
        ['inline script', qr/<script(?![^>]*\bsrc=)[^>]*>/i],
        ['style attribute or element', qr/\sstyle\s*=|<style\b/i],
        ['inline event handler', qr/<[^>]+\son[a-z]+\s*=/i],
        ['innerHTML or eval', qr/\.innerHTML\b|\beval\s*\(/]);
    ok(!@bad, "$name: nothing a strict CSP refuses")
        or diag(join ', ', map { $_->[0] } @bad);
}

# One catalogue per language, with the same keys.
my %keys;
for my $lang ('zh-CN', 'en') {
    my $text = do { local (@ARGV, $/) = "$ROOT/html/js/messages.$lang.js"; <> };
    $keys{$lang} = [sort $text =~ /^\s+'([A-Za-z0-9_.-]+)':/mg];
}
ok(@{ $keys{en} } > 100, scalar(@{ $keys{en} }) . ' messages');
is_deeply($keys{en}, $keys{'zh-CN'}, 'English has the keys of Chinese');

# ------------------------------------------------------ in the browser

need_browser();

# a card number whose check digit is off by one
sub bad_luhn {
    my ($no) = @_;
    substr($no, -1, 1, (substr($no, -1) + 1) % 10);
    return $no;
}

ensure_backends();

my $card = card_no('622202', 19, 61);
my @children = (
    { payer => 'self', name => '张小明', id => id_number('11010520120520011'),
      card => 'PGS000000001', phone => '13700000001',
      pw => 'the kettle sings at seven', card_no => $card,
      card_no2 => card_no('621226', 19, 62),
      bad_card => bad_luhn($card) },
    { payer => 'relative', name => '李小红',
      id => id_number('11010520130611022'), card => 'PGS000000002',
      phone => '13700000002', pw => 'a quiet morning by the lake',
      passbook => '1100' . ('2' x 14) . '7' },
);
my @pid = map {
    roster_add(id_number => $_->{id}, si_card => $_->{card},
               phone => $_->{phone}, name => $_->{name},
               school => '北京市海淀区实验小学')
} @children;

# a September debit that failed: the payments page shows why, and what to
# do by when
add_payment({ pid => $pid[0] }, 2026, 9, 'failed', 'insufficient_balance');

# ----------------------------------------------------------- window open

start_pages(now => '2026-10-10 12:00+08');

my $r = http_req(GET => '/');
is($r->{status}, 200, 'GET /: the pages');
like($r->{headers}{'content-security-policy'} // '',
     qr/default-src 'none'; script-src 'self'; style-src 'self'/,
     'a strict Content-Security-Policy');
is($r->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff');
$r = http_req(GET => '/js/app.js');
like($r->{headers}{'content-type'} // '', qr{^application/javascript},
     'scripts are served as JavaScript');

browse('journey', @children);

# -------------------------------------------------------- window closed

# sessions and accounts live on: nginx only judges another day
start_pages(now => '2026-11-27 12:00+08');
my $receipt = psql_value('SELECT receipt_no FROM declaration'
                         . " WHERE insured_person_id = $pid[0]"
                         . ' ORDER BY id DESC LIMIT 1');
ok($receipt, 'the journey declared: ' . ($receipt // 'nothing'));
browse('closed', { %{ $children[0] }, receipt => $receipt });

# ---------------------------------------------------------- idle warning

start_pages(now => '2026-10-10 12:00+08', idle => 125);
browse('idle', $children[0]);

# --------------------------------------- a new phone, the password reset

# the school declares another phone: home says to reset the password,
# which the page does with a code to the new phone
psql("UPDATE insured_person SET declared_phone = '13700000009'"
     . " WHERE id = $pid[0]");
start_pages(now => '2026-10-10 12:00+08');
browse('reset', { %{ $children[0] }, new_phone => '13700000009',
                  new_pw => 'a new kettle for the morning' });

all_routes_audited();

done_testing();
