#!/usr/bin/perl
# C unit tests of lib/csibiz_crypto.c: HMAC, subkeys, sealing, tokens, hashes
# (t/unit/test_crypto.c, built as build/unit/test_crypto by `make unit`).

use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use RunUnit;

RunUnit::run('test_crypto');
