
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


/*
 * create() and append() keep their failure for send(), so a pipeline is
 * written without a check per command; send() returns NGX_DONE, or 500
 * if anything before it failed.
 */

ngx_http_csibiz_redis_op_t *ngx_http_csibiz_redis_create(
    ngx_http_request_t *r);
void ngx_http_csibiz_redis_append(ngx_http_csibiz_redis_op_t *rop,
    ngx_uint_t argc, ngx_str_t *argv);
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
