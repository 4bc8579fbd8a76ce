
/*
 * CPU-heavy work (argon2id, captcha images) in nginx's thread pool, off
 * the event loop
 */


#ifndef _NGX_HTTP_CSIBIZ_THREAD_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_THREAD_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


typedef void (*ngx_http_csibiz_work_pt)(void *flow);


/*
 * Runs work(flow) in a thread, then next(r, flow, res) in the worker.
 * Returns NGX_DONE, or the 503 answer when the pool's queue is full.
 */

ngx_int_t ngx_http_csibiz_thread_run(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow);

/*
 * The same for a captcha: one drawn at a time per worker, the others wait
 * in the worker (a runnable thread takes CPU from the event loop); 503
 * busy when too many wait.
 */

ngx_int_t ngx_http_csibiz_thread_draw(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow);


#endif /* _NGX_HTTP_CSIBIZ_THREAD_H_INCLUDED_ */
