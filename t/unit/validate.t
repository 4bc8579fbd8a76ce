#!/usr/bin/perl
# C unit tests of lib/csibiz_validate.c: ID numbers, phones, cards, dates, masks
# (t/unit/test_validate.c, built as build/unit/test_validate by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_validate');
