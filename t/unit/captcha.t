#!/usr/bin/perl
# C unit tests of lib/csibiz_captcha.c: captcha texts, PNGs and answers
# (t/unit/test_captcha.c, built as build/unit/test_captcha by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_captcha');
