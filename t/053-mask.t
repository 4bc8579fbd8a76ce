# Masking follows one rule on both sides of the boundary: SQL's
# csibiz_mask() (what PostgreSQL answers) gives what lib's csibiz_mask()
# gives (t/unit/test_validate.c) for the same text, counted in UTF-8
# characters, at least one masked, the tail shrinking first.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::More;
use utf8;
use Encode qw(encode_utf8 decode_utf8);

ensure_backends();

# text, head, tail, expected (lib's answers)
my @cases = (
    ['张三丰', 1, 1, '张*丰'],
    ['张三', 1, 1, '张*'],
    ['张', 1, 1, '*'],
    ['', 1, 1, ''],
    ['13800138000', 3, 4, '138****8000'],
    ['110105201205200035', 3, 4, '110***********0035'],
    ['abc', 3, 4, 'ab*'],
    ['北京市东城区某街道1号', 6, 0, '北京市东城区*****'],
    ['欧阳娜娜', 1, 1, '欧**娜'],
    ['abcdef', 0, 0, '******'],
    ['abcdef', 2, 0, 'ab****'],
    ['abcdef', 0, 2, '****ef'],
    ['abcdef', 3, 3, 'abc*ef'],
    ['abcdef', 9, 9, 'abcde*'],
    ['Zhéng', 1, 1, 'Z***g'],
    ["a\x{1F600}b", 1, 1, 'a*b'],
    # around head + tail: all kept but one, then the first masked
    ['1234567', 3, 4, '123*567'],
    ['12345678', 3, 4, '123*5678'],
    ['12345678901', 3, 4, '123****8901'],
    ["\x{1F600}\x{1F600}", 1, 1, "\x{1F600}*"],
    ["\x{1F600}\x{1F600}\x{1F600}", 1, 1, "\x{1F600}*\x{1F600}"],
    ['北京市东城区', 6, 0, '北京市东城*'],
    ['北京市东城区某', 6, 0, '北京市东城区*'],
    ['ab', 0, 0, '**'],
    ['a', 0, 5, '*'],
);

for my $c (@cases) {
    my ($t, $h, $k, $want) = @$c;
    my $got = psql_value(encode_utf8("SELECT csibiz_mask('$t', $h, $k)"));
    is(decode_utf8($got // ''), $want,
       encode_utf8("csibiz_mask('$t', $h, $k)"));
}

done_testing();
