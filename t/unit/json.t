#!/usr/bin/perl
# C unit tests of lib/csibiz_json.c: the JSON reader and escaper
# (t/unit/test_json.c, built as build/unit/test_json by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_json');
