
/*
 * JSON answers.  Every answer of the API, errors included, is JSON with
 * a stable machine code; none may be cached, since they carry personal
 * data or state.
 */


#include "ngx_http_csibiz_module.h"


static ngx_int_t ngx_http_csibiz_add_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);


ngx_int_t
ngx_http_csibiz_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_str_t     key, value;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type,
                "application/json; charset=utf-8");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;

    ngx_str_set(&key, "Cache-Control");
    ngx_str_set(&value, "no-store");

    if (ngx_http_csibiz_add_header(r, &key, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        ngx_str_set(&key, "Retry-After");
        ngx_str_set(&value, "1");

        if (ngx_http_csibiz_add_header(r, &key, &value) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_csibiz_send_body(r, body, len);
}


/* the headers as set, then the body from memory */

ngx_int_t
ngx_http_csibiz_send_body(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_csibiz_send_unavailable(ngx_http_request_t *r)
{
    return ngx_http_csibiz_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "backend_unavailable");
}


static ngx_int_t
ngx_http_csibiz_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}
