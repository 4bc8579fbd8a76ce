
/*
 * Request rate limits of the flows that cost a password hash (login,
 * register, password reset) or a captcha's drawing: per client
 * (ngx_http_csibiz_client(): IPv6 by its /64) and per identity, as GCRA
 * sliding windows in Redis, so that every nginx node behind a load
 * balancer counts the same.  A request over a limit is answered 429
 * rate_limited with Retry-After, and next is not called; a passed request
 * is counted in every window at once.
 */


#ifndef _NGX_HTTP_CSIBIZ_LIMIT_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_LIMIT_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


/* the client's window of the flow named, e.g. "login" */
ngx_int_t ngx_http_csibiz_limit_client(ngx_http_request_t *r,
    const char *name, ngx_http_csibiz_step_pt next, void *flow);

/* the client's window of GET /api/captcha (csibiz_limit_captcha) */
ngx_int_t ngx_http_csibiz_limit_captcha(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow);

/* the identity's window: index is its blind index (bytes) */
ngx_int_t ngx_http_csibiz_limit_identity(ngx_http_request_t *r,
    const char *name, u_char *index, size_t len,
    ngx_http_csibiz_step_pt next, void *flow);

char *ngx_http_csibiz_limit_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_CSIBIZ_LIMIT_H_INCLUDED_ */
