
/*
 * One continuation shape for every asynchronous step of a request: a
 * Redis pipeline, a PostgreSQL statement, a task in the thread pool, a
 * check (captcha, SMS code) or a session operation.  A step is started
 * with the function to continue with and the flow's state; the function
 * is called later, from the event loop, with the step's result.
 *
 * Backend failures never reach a step: the runner answers them the same
 * way everywhere (503 backend_unavailable when a backend is down, timed
 * out or its queue is full; 500 internal when PostgreSQL answered an
 * error), unless the request asked to see them (the health handler).
 */


#ifndef _NGX_HTTP_CSIBIZ_STEP_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_STEP_H_INCLUDED_


#include "ngx_http_csibiz_module.h"


/* what a backend operation ended with */
#define NGX_HTTP_CSIBIZ_OK           0
#define NGX_HTTP_CSIBIZ_UNAVAILABLE  1   /* down, timed out, queue full */
#define NGX_HTTP_CSIBIZ_QUERY_ERROR  2   /* PostgreSQL answered an error */


struct redisReply;
struct pg_result;


typedef struct {
    ngx_int_t                      status;

    struct redisReply            **replies;    /* Redis: one per command */
    ngx_uint_t                     nreplies;

    struct pg_result              *res;        /* PostgreSQL; freed after */

    ngx_int_t                      rc;         /* a check's or task's */
} ngx_http_csibiz_result_t;


/* returns what the request is finalized with: an answer, or NGX_DONE */
typedef ngx_int_t (*ngx_http_csibiz_step_pt)(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


ngx_int_t ngx_http_csibiz_step_resume(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow, ngx_http_csibiz_result_t *res);
void ngx_http_csibiz_step_catch(ngx_http_request_t *r);


#endif /* _NGX_HTTP_CSIBIZ_STEP_H_INCLUDED_ */
