#!/usr/bin/perl
# C unit tests of lib/csibiz_csv.c: CSV records (t/unit/test_csv.c, built
# as build/unit/test_csv by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_csv');
