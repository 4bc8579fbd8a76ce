#!/usr/bin/perl
# C unit tests of lib/csibiz_bank.c: account numbers, account holders'
# names, addresses and contact phones (t/unit/test_bank.c, built as
# build/unit/test_bank by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_bank');
