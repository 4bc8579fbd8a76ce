
/*
 * Redis for the handlers: a pipeline of commands, sent together, whose
 * replies (one per command, in order) come to one step.  Replies live in
 * the request's pool.
 */


#ifndef _NGX_HTTP_CSIBIZ_REDIS_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_REDIS_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"

#include <hiredis/hiredis.h>


typedef struct ngx_http_csibiz_redis_op_s  ngx_http_csibiz_redis_op_t;


/* a Lua script, run by its digest (EVALSHA); the rest is the driver's */

typedef struct {
    ngx_str_t                      text;
    ngx_uint_t                     index;
    u_char                         sha1[40];
} ngx_http_csibiz_redis_script_t;


#define ngx_http_csibiz_redis_script(text)  { ngx_string(text), 0, "" }


/*
 * create(), append() and eval() keep their failure for send(), so a
 * pipeline is written without a check per command; send() returns
 * NGX_DONE, or 500 if anything before it failed.  eval() fills in
 * argv[0] and argv[1] (EVALSHA and the script's digest); argv[2] on are
 * EVAL's: the number of keys, the keys, the arguments.
 */

ngx_http_csibiz_redis_op_t *ngx_http_csibiz_redis_create(
    ngx_http_request_t *r);
void ngx_http_csibiz_redis_append(ngx_http_csibiz_redis_op_t *rop,
    ngx_uint_t argc, ngx_str_t *argv);
void ngx_http_csibiz_redis_eval(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_redis_script_t *script, ngx_uint_t argc, ngx_str_t *argv);
ngx_int_t ngx_http_csibiz_redis_send(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_step_pt next, void *flow);


/* a reply's integer: INTEGER as is, a STRING of digits parsed, else 0 */
ngx_int_t ngx_http_csibiz_redis_integer(redisReply *reply);

/*
 * A reply not of the type the step expects: Redis refused the command (an
 * error reply) or a script is out of step with the module.  Logged with
 * what was sent ("the limit script"), answered 503 as an outage is.
 */
ngx_int_t ngx_http_csibiz_redis_refused(ngx_http_request_t *r,
    redisReply *reply, const char *what);


#endif /* _NGX_HTTP_CSIBIZ_REDIS_H_INCLUDED_ */
