#!/usr/bin/perl
# C unit tests of lib/csibiz_password.c: the registration password policy
# (t/unit/test_password.c, built as build/unit/test_password by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_password');
