
/*
 * Metrics (ngx_http_csibiz_status.c): counters in a shared memory zone,
 * summed over all workers, and the access log's variables.
 */


#ifndef _NGX_HTTP_CSIBIZ_STATUS_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_STATUS_H_INCLUDED_


#include "ngx_http_csibiz_module.h"


#define NGX_HTTP_CSIBIZ_STAT_CONNECTS          0
#define NGX_HTTP_CSIBIZ_STAT_CONNECT_FAILURES  1
#define NGX_HTTP_CSIBIZ_STAT_TIMEOUTS          2
#define NGX_HTTP_CSIBIZ_STAT_UNAVAILABLE       3
#define NGX_HTTP_CSIBIZ_STAT_QUERY_ERRORS      4
#define NGX_HTTP_CSIBIZ_STAT_OPERATIONS        5
#define NGX_HTTP_CSIBIZ_STAT_WRITES            6
#define NGX_HTTP_CSIBIZ_STAT_FALLBACKS         7
#define NGX_HTTP_CSIBIZ_STAT_BACKEND_N         8

#define NGX_HTTP_CSIBIZ_STAT_SMS_SENT          0
#define NGX_HTTP_CSIBIZ_STAT_LOGINS_FAILED     1
#define NGX_HTTP_CSIBIZ_STAT_ACCOUNTS_LOCKED   2
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_JOBS       3
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_DONE       4
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_REJECTED   5
#define NGX_HTTP_CSIBIZ_STAT_CAPTCHA_JOBS      6
#define NGX_HTTP_CSIBIZ_STAT_CAPTCHA_DONE      7
#define NGX_HTTP_CSIBIZ_STAT_CAPTCHA_REJECTED  8
#define NGX_HTTP_CSIBIZ_STAT_EVENT_N           9

ngx_int_t ngx_http_csibiz_status_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_csibiz_status_init(ngx_conf_t *cf);
ngx_int_t ngx_http_csibiz_status_init_process(ngx_cycle_t *cycle);
void ngx_http_csibiz_status_exit_process(ngx_cycle_t *cycle);
void ngx_http_csibiz_status_backend(ngx_http_csibiz_pool_t *pool,
    ngx_uint_t what);
void ngx_http_csibiz_status_time(ngx_http_request_t *r, ngx_msec_t start);
void ngx_http_csibiz_status_event(ngx_uint_t what);
void ngx_http_csibiz_status_user(ngx_http_request_t *r, ngx_int_t user_id);


#endif /* _NGX_HTTP_CSIBIZ_STATUS_H_INCLUDED_ */
