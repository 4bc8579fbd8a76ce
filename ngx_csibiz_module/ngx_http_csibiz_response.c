
/*
 * JSON answers.  Every answer of the API, errors included, is JSON with
 * a stable machine code; none may be cached, since they carry personal
 * data or state.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_response.h"

#include <libpq-fe.h>


static ngx_int_t ngx_http_csibiz_add_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_csibiz_html_safe(ngx_http_request_t *r,
    u_char *src, size_t len, ngx_str_t *dst);


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


/*
 * A step for the SQL functions that answer one row (status, code, body,
 * replayed): code NULL and the answer, or an error code of the catalogue
 * and its extra members as a JSON object.
 */

ngx_int_t
ngx_http_csibiz_send_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result)
{
    ngx_int_t         code;
    ngx_str_t         body, extra;
    PGresult         *res;
    ngx_table_elt_t  *h;

    res = result->res;

    if (PQntuples(res) != 1 || PQnfields(res) < 4) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    code = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                    PQgetlength(res, 0, 0));

    if (code < 200 || code > 599) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    ngx_str_null(&body);

    if (!PQgetisnull(res, 0, 2)
        && ngx_http_csibiz_html_safe(r, (u_char *) PQgetvalue(res, 0, 2),
                                     PQgetlength(res, 0, 2), &body)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!PQgetisnull(res, 0, 1)) {

        /* the object's members, without its braces */

        ngx_str_null(&extra);

        if (body.len > 2 && body.data[0] == '{'
            && body.data[body.len - 1] == '}')
        {
            extra.data = body.data + 1;
            extra.len = body.len - 2;
        }

        return ngx_http_csibiz_fail_extra(r, code, PQgetvalue(res, 0, 1),
                                          &extra);
    }

    if (body.len == 0) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    if (PQgetvalue(res, 0, 3)[0] == 't') {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Idempotency-Replayed");
        ngx_str_set(&h->value, "true");
    }

    return ngx_http_csibiz_send_json(r, code, body.data, body.len);
}


/*
 * JSON text from PostgreSQL made safe inside HTML as the module's own
 * escaper makes it: '<', '>', '&', U+2028 and U+2029 as \u escapes.  In
 * JSON they can only be inside strings, where the escape means the same.
 */

static ngx_int_t
ngx_http_csibiz_html_safe(ngx_http_request_t *r, u_char *src, size_t len,
    ngx_str_t *dst)
{
    u_char  *p, *run, *last;

    /* the bytes that may need escaping; the runs between them are copied */
    static const u_char  special[256] = {
        ['<'] = 1, ['>'] = 1, ['&'] = 1, [0xe2] = 1
    };

    dst->data = ngx_pnalloc(r->pool, 6 * len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    p = dst->data;
    last = src + len;

    for ( ;; ) {
        run = src;

        while (src < last && !special[*src]) {
            src++;
        }

        p = ngx_cpymem(p, run, src - run);

        if (src == last) {
            break;
        }

        switch (*src) {

        case '<':
            p = ngx_cpymem(p, "\\u003c", 6);
            src++;
            continue;

        case '>':
            p = ngx_cpymem(p, "\\u003e", 6);
            src++;
            continue;

        case '&':
            p = ngx_cpymem(p, "\\u0026", 6);
            src++;
            continue;

        default: /* 0xe2 */
            if (last - src >= 3 && src[1] == 0x80
                && (src[2] == 0xa8 || src[2] == 0xa9))
            {
                p = ngx_cpymem(p, src[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                src += 3;
                continue;
            }

            *p++ = *src++;
        }
    }

    dst->len = p - dst->data;

    return NGX_OK;
}
