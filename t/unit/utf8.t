#!/usr/bin/perl
# C unit tests of lib/csibiz_utf8.c: UTF-8 decoding, validation, trimming
# (t/unit/test_utf8.c, built as build/unit/test_utf8 by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_utf8');
