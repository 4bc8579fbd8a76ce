
/*
 * Answers.  Every answer of the API, errors included, is JSON; an error
 * is {"error":{"code":…,"message":…}} with a code of the catalogue
 * (ngx_http_csibiz_messages.c) and its message in the request's language.
 * Each returns what the request is finalized with.
 */


#ifndef _NGX_HTTP_CSIBIZ_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_RESPONSE_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


ngx_int_t ngx_http_csibiz_send_body(ngx_http_request_t *r, u_char *body,
    size_t len);
ngx_int_t ngx_http_csibiz_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len);

ngx_int_t ngx_http_csibiz_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code);
ngx_int_t ngx_http_csibiz_fail_extra(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *extra);
ngx_int_t ngx_http_csibiz_fail_retry_after(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, long long seconds);
ngx_int_t ngx_http_csibiz_fail_backend(ngx_http_request_t *r,
    ngx_int_t status);
ngx_int_t ngx_http_csibiz_send_unavailable(ngx_http_request_t *r);


/*
 * A step for the SQL functions that answer one row (status, code, body,
 * replayed): code NULL and the JSON body to send with status, or an error
 * code of the catalogue and its extra members.  Columns after the fourth
 * are the caller's (GET /api/me's sealed birth date) and ignored.
 */

ngx_int_t ngx_http_csibiz_send_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res);


/* the catalogue, for the metrics */
ngx_uint_t ngx_http_csibiz_message_count(void);
const char *ngx_http_csibiz_message_code(ngx_uint_t i);


#endif /* _NGX_HTTP_CSIBIZ_RESPONSE_H_INCLUDED_ */
