
/*
 * What a handler reads of its request: the parsed JSON body's fields,
 * the answer's language, and the builders for what it sends on (Redis
 * arguments, SQL parameters).  The per-request state lives in the
 * module's context.
 */


#ifndef _NGX_HTTP_CSIBIZ_REQUEST_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_REQUEST_H_INCLUDED_


#include "ngx_http_csibiz_module.h"

#include <csibiz_json.h>
#include <csibiz_lang.h>
#include <csibiz_validate.h>


#define NGX_HTTP_CSIBIZ_MAX_FIELDS   32
#define NGX_HTTP_CSIBIZ_INVALID_MAX  512


typedef struct {
    csibiz_lang_t                  lang;
    ngx_uint_t                     catch;      /* steps see failures */
    ngx_http_csibiz_handler_t     *handler;    /* the row that runs */
    ngx_http_csibiz_session_t     *session;
    size_t                         nfields;
    csibiz_json_field_t            fields[NGX_HTTP_CSIBIZ_MAX_FIELDS];

    /* the body's text and unescaped strings, which fields point into */
    u_char                        *body;
    size_t                         body_size;

    /* the body as it arrives, counted against csibiz_body_limit */
    off_t                          body_received;
    unsigned                       body_counted:1;
    unsigned                       body_too_large:1;

    /* the body's field errors, as JSON members: "phone":"format",… */
    size_t                         invalid_len;
    u_char                         invalid[NGX_HTTP_CSIBIZ_INVALID_MAX];

    /* for the metrics and the access log */
    const char                    *error;      /* the error answer's code */
    ngx_uint_t                     error_index;
    ngx_int_t                      user_id;
    ngx_msec_t                     backend_time;
    ngx_uint_t                     backend_ops;
} ngx_http_csibiz_ctx_t;


ngx_http_csibiz_ctx_t *ngx_http_csibiz_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_request_body_filter_init(ngx_conf_t *cf);


/* body fields */

ngx_int_t ngx_http_csibiz_field(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_csibiz_field_required(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
void ngx_http_csibiz_field_invalid(ngx_http_request_t *r, const char *name,
    const char *reason);
ngx_uint_t ngx_http_csibiz_fields_invalid(ngx_http_request_t *r);
void ngx_http_csibiz_trim(ngx_str_t *value);
ngx_int_t ngx_http_csibiz_identity_fields(ngx_http_request_t *r,
    char *id_number, char *si_card, char *phone, csibiz_date_t *birth);
ngx_int_t ngx_http_csibiz_fail_invalid(ngx_http_request_t *r);


/*
 * Builders: each allocates from the request's pool and returns NGX_OK or
 * NGX_ERROR.  sprintf formats as ngx_sprintf() does (at most 512 bytes);
 * hex writes prefix + lower-case hex of bin (a Redis key named by an
 * HMAC, or a bytea literal with the prefix "\\x").
 */

ngx_int_t ngx_http_csibiz_sprintf(ngx_http_request_t *r, ngx_str_t *dst,
    const char *fmt, ...);
ngx_int_t ngx_http_csibiz_integer(ngx_http_request_t *r, ngx_str_t *dst,
    ngx_int_t n);
ngx_int_t ngx_http_csibiz_hex(ngx_http_request_t *r, ngx_str_t *dst,
    const char *prefix, const u_char *bin, size_t len);
ngx_int_t ngx_http_csibiz_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const u_char *src, size_t len);


/*
 * The client as per-client limits count it: its address as the realip
 * module left it (the load balancer's client), an IPv6 address by its
 * /64 ("2001:db8:1:2::/64"), since one subscriber holds a whole /64.
 */

ngx_int_t ngx_http_csibiz_client(ngx_http_request_t *r, ngx_str_t *client);


#endif /* _NGX_HTTP_CSIBIZ_REQUEST_H_INCLUDED_ */
