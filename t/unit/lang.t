#!/usr/bin/perl
# C unit tests of lib/csibiz_lang.c: the language of an answer
# (t/unit/test_lang.c, built as build/unit/test_lang by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_lang');
