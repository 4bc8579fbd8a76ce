# The directives: every directive and parameter passes nginx -t (and
# works), bad values are refused with an [emerg] naming them.

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::Csibiz;

run_tests();

__DATA__

=== TEST 1: every directive and every parameter (nginx -t only: the password would fail AUTH)
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=secret db=1 pool=4
             queue=100 connect_timeout=500ms timeout=2s queue_timeout=300ms
             keepalive_timeout=30s;
csibiz_postgres "$TEST_NGINX_PG_CONNINFO application_name=csibiz-test"
                pool=4 queue=100 connect_timeout=500ms timeout=2s
                queue_timeout=300ms keepalive_timeout=30s;
--- config
    location = /h { csibiz health; }
    location = /t { csibiz test; }
--- config_test_only
--- no_error_log
[emerg]
[warn]



=== TEST 2: unix socket addresses
--- http_config
csibiz_redis unix:/tmp/csibiz-no-such-redis.sock;
csibiz_postgres "host=/var/run/postgresql dbname=csibiz user=csibiz";
--- config
    location = /h { csibiz health; }
--- config_test_only
--- no_error_log
[emerg]



=== TEST 3: every parameter but the password, in use
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=1 pool=4 queue=100
             connect_timeout=500ms timeout=2s queue_timeout=300ms
             keepalive_timeout=30s;
csibiz_postgres "$TEST_NGINX_PG_CONNINFO application_name=csibiz-test"
                pool=4 queue=100 connect_timeout=500ms timeout=2s
                queue_timeout=300ms keepalive_timeout=30s;
--- config
    location = /h { csibiz health; }
--- request
GET /h
--- error_code: 200
--- response_body_json
{"redis":"up","postgres":"up"}
--- no_error_log
[error]



=== TEST 4: csibiz_redis: unknown parameter
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT colour=blue;
--- must_die
--- error_log
[emerg]
"colour=blue"



=== TEST 5: csibiz_postgres: unknown parameter
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" password=x;
--- must_die
--- error_log
[emerg]
"password=x"



=== TEST 6: pool=0
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT pool=0;
--- must_die
--- error_log
[emerg]
"pool=0"



=== TEST 7: pool=abc
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" pool=abc;
--- must_die
--- error_log
[emerg]
"pool=abc"



=== TEST 8: timeout=abc
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT timeout=abc;
--- must_die
--- error_log
[emerg]
"timeout=abc"



=== TEST 9: postgres connect_timeout=soon
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" connect_timeout=soon;
--- must_die
--- error_log
[emerg]
"connect_timeout=soon"



=== TEST 10: queue=many
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT queue=many;
--- must_die
--- error_log
[emerg]
"queue=many"



=== TEST 11: db=x
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT db=x;
--- must_die
--- error_log
[emerg]
"db=x"



=== TEST 12: duplicate csibiz_redis
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- must_die
--- error_log
[emerg]
"csibiz_redis" directive is duplicate



=== TEST 13: duplicate csibiz_postgres
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO";
csibiz_postgres "$TEST_NGINX_PG_CONNINFO";
--- must_die
--- error_log
[emerg]
"csibiz_postgres" directive is duplicate



=== TEST 14: unknown handler
--- config
    location = /x { csibiz nosuchhandler; }
--- must_die
--- error_log
[emerg]
nosuchhandler



=== TEST 15: conninfo with a host name (a DNS lookup in a worker)
--- http_config
csibiz_postgres "host=db.example.com dbname=csibiz user=csibiz";
--- must_die
--- error_log
[emerg]
db.example.com



=== TEST 16: conninfo that libpq cannot parse
--- http_config
csibiz_postgres "hostaddr=127.0.0.1 port";
--- must_die
--- error_log
[emerg]



=== TEST 17: bad redis address: port out of range
--- http_config
csibiz_redis 127.0.0.1:99999;
--- must_die
--- error_log
[emerg]
127.0.0.1:99999



=== TEST 18: bad redis address: not a port
--- http_config
csibiz_redis 127.0.0.1:redis;
--- must_die
--- error_log
[emerg]
127.0.0.1:redis



=== TEST 19: empty password
--- http_config
csibiz_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT password=;
--- must_die
--- error_log
[emerg]
"password="



=== TEST 20: csibiz is for locations only
--- config
    csibiz health;
--- must_die
--- error_log
[emerg]
"csibiz" directive is not allowed here



=== TEST 21: csibiz_redis is for http{} only
--- config
    location = /h { csibiz_redis 127.0.0.1:6379; csibiz health; }
--- must_die
--- error_log
[emerg]
"csibiz_redis" directive is not allowed here



=== TEST 22: csibiz takes one handler
--- config
    location = /h { csibiz health test; }
--- must_die
--- error_log
[emerg]
invalid number of arguments in "csibiz" directive



=== TEST 23: csibiz_payment_result_day: 1 and 28 are the bounds
--- http_config
csibiz_payment_result_day 28;
--- config
    location = /h { csibiz health; }
--- config_test_only
--- no_error_log
[emerg]
[warn]



=== TEST 24: csibiz_payment_result_day 1, in use
--- http_config
csibiz_payment_result_day 1;
--- config
    location = /h { csibiz health; }
--- request
GET /h
--- error_code: 200
--- no_error_log
[error]



=== TEST 25: csibiz_payment_result_day 0
--- http_config
csibiz_payment_result_day 0;
--- must_die
--- error_log
[emerg]
value must be between 1 and 28



=== TEST 26: csibiz_payment_result_day 29
--- http_config
csibiz_payment_result_day 29;
--- must_die
--- error_log
[emerg]
value must be between 1 and 28



=== TEST 27: csibiz_payment_result_day fifth
--- http_config
csibiz_payment_result_day fifth;
--- must_die
--- error_log
[emerg]
"csibiz_payment_result_day" directive invalid number



=== TEST 28: duplicate csibiz_payment_result_day
--- http_config
csibiz_payment_result_day 5;
csibiz_payment_result_day 6;
--- must_die
--- error_log
[emerg]
"csibiz_payment_result_day" directive is duplicate



=== TEST 29: csibiz_payment_result_day is for http{} only
--- config
    location = /h { csibiz_payment_result_day 5; csibiz health; }
--- must_die
--- error_log
[emerg]
"csibiz_payment_result_day" directive is not allowed here



=== TEST 30: csibiz_postgres: a host list and a read pool
--- http_config
csibiz_postgres "hostaddr=127.0.0.1,127.0.0.1 port=$TEST_NGINX_PG_PORT,1 dbname=csibiz user=csibiz target_session_attrs=read-write";
csibiz_postgres "host=127.0.0.1,/var/run/postgresql port=$TEST_NGINX_PG_PORT,5432 dbname=csibiz user=csibiz target_session_attrs=prefer-standby"
                role=read after_write=15s pool=4;
--- config
    location = /h { csibiz health; }
--- config_test_only
--- no_error_log
[emerg]



=== TEST 31: a host list with a host name
--- http_config
csibiz_postgres "host=127.0.0.1,db.example.com port=5432,5432 dbname=csibiz";
--- must_die
--- error_log
[emerg]
"host=db.example.com" in conninfo needs a DNS lookup



=== TEST 32: a read pool without one for writes
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" role=read;
--- no_backends
--- must_die
--- error_log
[emerg]
needs a "csibiz_postgres" for writes too



=== TEST 33: two read pools
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO";
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" role=read;
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" role=read;
--- must_die
--- error_log
[emerg]
"csibiz_postgres" directive is duplicate



=== TEST 34: after_write= is the read pool's
--- http_config
csibiz_postgres "$TEST_NGINX_PG_CONNINFO" after_write=5s;
--- must_die
--- error_log
[emerg]
takes "after_write=" with "role=read" only
