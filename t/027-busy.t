# csibiz_hash_queue: a worker lets at most N password hashes wait or run;
# one more is answered 503 busy (Retry-After: 1) at once instead of
# queueing, and the count goes back down as hashes finish, so nothing
# stays refused.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;
use Test::Csibiz::Fixtures;
use Test::More;

ensure_backends();

my $CONFIG = <<'EOF2';
    location = /api/login { csibiz login; }
EOF2

# failures would soon ask for a captcha: not what is tested here
my $HTTP = $ACCOUNT_HTTP . "    csibiz_captcha off;\n";

start_nginx(main_config => 'thread_pool csibiz threads=1;',
            http_config => $HTTP . "    csibiz_hash_queue 2;\n",
            config => $CONFIG);

# well-formed ID numbers without an account cost the same hash; each
# login its own, so that no account's failures lock it
my $n = 0;
sub login_spec {
    my $id = id_number(sprintf('110105194912%05d', $n++));
    return (POST => '/api/login',
            headers => { 'Content-Type' => 'application/json' },
            body => qq({"id_number":"$id","password":"not the one"}),
            timeout => 30);
}

my $res = http_concurrent([map { [login_spec()] } 1 .. 12]);

my @busy = grep { $_->{status} == 503 } @$res;
my @done = grep { $_->{status} == 401 } @$res;

is(@busy + @done, 12, 'every login answered 401 or 503')
    or diag(explain([map { "$_->{status} $_->{body}" } @$res]));
ok(@busy >= 1, 'logins beyond the queue: 503');
ok(@done >= 2, 'the queued ones were hashed: 401');
is((grep { ($_->{json}{error}{code} // '') eq 'busy' } @busy), @busy,
   'the 503s say busy');
is((grep { ($_->{headers}{'retry-after'} // '') eq '1' } @busy), @busy,
   'with Retry-After: 1');

# the queue empties as the hashes finish: one at a time is never refused
my @after = map { http_req(login_spec())->{status} } 1 .. 3;
is_deeply(\@after, [401, 401, 401], "one at a time afterwards: 401 each")
    or diag(explain(\@after));

ok(stop_nginx(), 'nginx stops gracefully');

# the directive's values
for my $v ('-1', 'x') {
    ok(!eval { start_nginx(http_config => $HTTP
                                          . "    csibiz_hash_queue $v;\n",
                           main_config => 'thread_pool csibiz threads=1;',
                           config => $CONFIG); 1 },
       "csibiz_hash_queue $v: nginx refuses to start");
}

done_testing();
