
/*
 * What every API request goes through before its handler: the method,
 * the JSON body (content type, size, syntax), the session, and the
 * answer's language; then what handlers read of the request, and the
 * builders for what they send on.  The parsed body and the language live
 * in the request's module context.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"

#include <csibiz_utf8.h>


static ngx_int_t ngx_http_csibiz_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_csibiz_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_csibiz_parse_body(ngx_http_request_t *r,
    ngx_uint_t *status, const char **code);
static void ngx_http_csibiz_body_wipe(void *data);
static ngx_uint_t ngx_http_csibiz_is_json(ngx_http_request_t *r);
static ngx_http_csibiz_handler_t *ngx_http_csibiz_find_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_csibiz_run_handler(ngx_http_request_t *r,
    ngx_http_csibiz_handler_t *h);


static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


ngx_http_csibiz_ctx_t *
ngx_http_csibiz_get_ctx(ngx_http_request_t *r)
{
    ngx_table_elt_t        *h;
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    h = r->headers_in.accept_language;

    ctx->lang = h ? csibiz_lang_pick((const char *) h->value.data,
                                     h->value.len)
                  : CSIBIZ_LANG_ZH;

    ngx_http_set_ctx(r, ctx, ngx_http_csibiz_module);

    return ctx;
}


/*
 * The location's content handler: the method picks the handler's row,
 * then the body is read and parsed, the session loaded, and the handler
 * called with it.
 */

ngx_int_t
ngx_http_csibiz_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *cln;
    ngx_http_csibiz_ctx_t       *ctx;
    ngx_http_csibiz_handler_t   *h;
    ngx_http_csibiz_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    ctx = ngx_http_csibiz_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_csibiz_find_handler(r);

    if (h == NULL
        || !(h->needs & NGX_HTTP_CSIBIZ_BODY)
        || (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        if (h == NULL) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_NOT_ALLOWED,
                                        "method_not_allowed");
        }

        return ngx_http_csibiz_run_handler(r, h);
    }

    if (!ngx_http_csibiz_is_json(r)) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_csibiz_fail(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "unsupported_media_type");
    }

    if (r->headers_in.content_length_n > (off_t) clcf->body_limit) {
        /* at once: no "100 Continue" invites the body first */
        r->expect_tested = 1;

        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_csibiz_fail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    "body_too_large");
    }

    /*
     * passwords and account numbers: wiped when the request ends, even if
     * it ends before the body is read to its end
     */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_csibiz_body_wipe;
    cln->data = r;

    /*
     * the whole body in one memory buffer (a temporary file only when it
     * is larger than client_body_buffer_size: refused); a chunked body is
     * counted as it arrives and refused once over the limit
     */
    r->request_body_in_single_buf = 1;
    ctx->body_counted = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_csibiz_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {

        if (ctx->body_too_large) {
            /* over the limit in what came with the headers */
            r->keepalive = 0;

            return ngx_http_csibiz_fail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "body_too_large");
        }

        return rc;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_http_csibiz_request_body_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_csibiz_request_body_filter;

    return NGX_OK;
}


/*
 * A body without Content-Length (chunked; HTTP/2 without the header) is
 * refused as soon as it is over csibiz_body_limit, as nginx refuses one
 * over client_max_body_size: never read to its end or written to disk.
 * Refused later than the headers, the answer is nginx's own 413, which
 * nginx-api-errors.conf makes the API's JSON.
 */

static ngx_int_t
ngx_http_csibiz_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t                 *cl;
    ngx_http_csibiz_ctx_t       *ctx;
    ngx_http_csibiz_loc_conf_t  *clcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx == NULL || !ctx->body_counted) {
        return ngx_http_next_request_body_filter(r, in);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    for (cl = in; cl; cl = cl->next) {
        ctx->body_received += ngx_buf_size(cl->buf);
    }

    if (ctx->body_received > (off_t) clcf->body_limit) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "csibiz: request body over csibiz_body_limit %uz",
                      clcf->body_limit);

        ctx->body_too_large = 1;
        r->lingering_close = 1;

        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    return ngx_http_next_request_body_filter(r, in);
}


/* the row of the location's name whose methods include the request's */

static ngx_http_csibiz_handler_t *
ngx_http_csibiz_find_handler(ngx_http_request_t *r)
{
    ngx_http_csibiz_handler_t   *h;
    ngx_http_csibiz_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    for (h = clcf->handler; h->handler; h++) {

        if (h->name.len != clcf->handler->name.len
            || ngx_strncmp(h->name.data, clcf->handler->name.data,
                           h->name.len)
               != 0)
        {
            break;
        }

        if (r->method & h->methods) {
            return h;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_csibiz_run_handler(ngx_http_request_t *r,
    ngx_http_csibiz_handler_t *h)
{
    ngx_http_csibiz_ctx_t  *ctx;

    /* its needs pick the PostgreSQL pool of its statements */
    ctx = ngx_http_csibiz_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->handler = h;

    if (h->session == NGX_HTTP_CSIBIZ_SESSION_NONE) {
        return h->handler(r, NULL);
    }

    return ngx_http_csibiz_session_load(r, h);
}


static void
ngx_http_csibiz_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_uint_t                  status;
    const char                 *code;
    ngx_http_csibiz_handler_t  *h;

    h = ngx_http_csibiz_find_handler(r);

    switch (ngx_http_csibiz_parse_body(r, &status, &code)) {

    case NGX_OK:
        rc = ngx_http_csibiz_run_handler(r, h);
        break;

    case NGX_DECLINED:
        rc = ngx_http_csibiz_fail(r, status, code);
        break;

    default:
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r, rc);
}


/* NGX_OK; NGX_DECLINED with the error to answer; NGX_ERROR */

static ngx_int_t
ngx_http_csibiz_parse_body(ngx_http_request_t *r, ngx_uint_t *status,
    const char **code)
{
    u_char                      *buf, *p;
    size_t                       len;
    ngx_chain_t                 *cl;
    csibiz_json_rc_t             jrc;
    ngx_http_csibiz_ctx_t       *ctx;
    ngx_http_csibiz_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);
    ctx = ngx_http_csibiz_get_ctx(r);

    len = 0;

    if (r->request_body && r->request_body->bufs) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (cl->buf->in_file) {
                /* larger than client_body_buffer_size */
                *status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
                *code = "body_too_large";
                return NGX_DECLINED;
            }

            len += cl->buf->last - cl->buf->pos;
        }
    }

    if (len > clcf->body_limit) {
        *status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        *code = "body_too_large";
        return NGX_DECLINED;
    }

    *status = NGX_HTTP_BAD_REQUEST;
    *code = "bad_json";

    if (len == 0) {
        return NGX_DECLINED;
    }

    /* one copy for the text, one for unescaped strings */

    buf = ngx_pnalloc(r->pool, 2 * len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    ctx->body = buf;
    ctx->body_size = 2 * len;

    p = buf;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    jrc = csibiz_json_parse((const char *) buf, len, ctx->fields,
                            NGX_HTTP_CSIBIZ_MAX_FIELDS, &ctx->nfields,
                            (char *) buf + len, len);

    if (jrc != CSIBIZ_JSON_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "csibiz: bad JSON body: %s", csibiz_json_rc_name(jrc));
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * A pool cleanup of a request with a body: the module's copy and the body
 * as nginx read it are wiped before the memory is freed or reused.  Of a
 * buffer in the request's header buffer only the body's own bytes: what
 * follows may be a pipelined request.
 */

static void
ngx_http_csibiz_body_wipe(void *data)
{
    ngx_http_request_t *r = data;

    ngx_buf_t              *b, *h;
    ngx_chain_t            *cl;
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx && ctx->body) {
        ngx_explicit_memzero(ctx->body, ctx->body_size);
        ctx->body = NULL;
    }

    if (r->request_body == NULL) {
        return;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file && b->pos && b->last > b->pos) {
            ngx_explicit_memzero(b->pos, b->last - b->pos);
        }
    }

    b = r->request_body->buf;
    h = r->header_in;

    if (b && b->start && b->last > b->start
        && (h == NULL || b->start < h->start || b->start >= h->end))
    {
        ngx_explicit_memzero(b->start, b->last - b->start);
    }
}


static ngx_uint_t
ngx_http_csibiz_is_json(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;

    if (h == NULL) {
        return 0;
    }

    p = h->value.data;
    last = p + h->value.len;

    if (h->value.len < sizeof("application/json") - 1
        || ngx_strncasecmp(p, (u_char *) "application/json",
                           sizeof("application/json") - 1) != 0)
    {
        return 0;
    }

    p += sizeof("application/json") - 1;

    return p == last || *p == ';' || *p == ' ';
}


/*
 * A field of the JSON body as a string.  NGX_DECLINED: absent or null;
 * NGX_ERROR: present but not a string.
 */

ngx_int_t
ngx_http_csibiz_field(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_http_csibiz_ctx_t      *ctx;
    const csibiz_json_field_t  *f;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    f = csibiz_json_find(ctx->fields, ctx->nfields, name);

    if (f == NULL || f->type == CSIBIZ_JSON_NULL) {
        return NGX_DECLINED;
    }

    if (f->type != CSIBIZ_JSON_STRING) {
        return NGX_ERROR;
    }

    value->data = (u_char *) f->value;
    value->len = f->value_len;

    return NGX_OK;
}


/*
 * A field that must be a non-empty string.  NGX_DECLINED: it is not, and
 * the field error ("required" or "format") is recorded.
 */

ngx_int_t
ngx_http_csibiz_field_required(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_int_t  rc;

    rc = ngx_http_csibiz_field(r, name, value);

    if (rc == NGX_ERROR) {
        ngx_http_csibiz_field_invalid(r, name, "format");
        return NGX_DECLINED;
    }

    if (rc != NGX_OK || value->len == 0) {
        ngx_http_csibiz_field_invalid(r, name, "required");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Field errors are gathered so that a form can show them all at once:
 * {"error":{"code":"invalid",…,"fields":{"id_number":"checksum",…}}}.
 * Names and reasons are the module's own identifiers: no escaping.
 */

void
ngx_http_csibiz_field_invalid(ngx_http_request_t *r, const char *name,
    const char *reason)
{
    u_char                 *p;
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_csibiz_get_ctx(r);
    if (ctx == NULL) {
        return;
    }

    p = ngx_slprintf(ctx->invalid + ctx->invalid_len,
                     ctx->invalid + sizeof(ctx->invalid), "%s\"%s\":\"%s\"",
                     ctx->invalid_len ? "," : "", name, reason);

    ctx->invalid_len = p - ctx->invalid;
}


ngx_uint_t
ngx_http_csibiz_fields_invalid(ngx_http_request_t *r)
{
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_csibiz_get_ctx(r);

    return ctx == NULL || ctx->invalid_len != 0;
}


ngx_int_t
ngx_http_csibiz_fail_invalid(ngx_http_request_t *r)
{
    ngx_str_t               extra;
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_csibiz_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    extra.len = sizeof("\"fields\":{}") - 1 + ctx->invalid_len;
    extra.data = ngx_pnalloc(r->pool, extra.len);
    if (extra.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(extra.data, "\"fields\":{%*s}", ctx->invalid_len,
                ctx->invalid);

    return ngx_http_csibiz_fail_extra(r, NGX_HTTP_BAD_REQUEST, "invalid",
                                      &extra);
}


/*
 * The child's identity as the roster knows it: ID number, social security
 * card number or medical-insurance handbook number (one field,
 * si_card_no, as the parents' guide has it; si_card gets
 * CSIBIZ_INSURANCE_NO_SIZE bytes) and the declared phone, validated and
 * normalized into the caller's buffers (CSIBIZ_*_SIZE bytes); errors are
 * recorded as field errors.  NGX_ERROR only when the date can't be had.
 */

ngx_int_t
ngx_http_csibiz_identity_fields(ngx_http_request_t *r, char *id_number,
    char *si_card, char *phone, csibiz_date_t *birth)
{
    size_t                        n;
    ngx_str_t                     value;
    const char                   *s;
    csibiz_date_t                 today;
    csibiz_id_rc_t                rc;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /* China's day: a child born today has a valid ID number */

    if (cmcf->test_now.data) {
        today = cmcf->test_day;

    } else if (csibiz_date_from_unix(ngx_time(), 8 * 3600, &today) != 0) {
        return NGX_ERROR;
    }

    if (ngx_http_csibiz_field_required(r, "id_number", &value) == NGX_OK) {
        ngx_http_csibiz_trim(&value);
        s = (const char *) value.data;
        n = value.len;

        rc = csibiz_id_number_check(s, n, birth, &today);

        if (rc != CSIBIZ_ID_OK) {
            ngx_http_csibiz_field_invalid(r, "id_number",
                                          csibiz_id_rc_name(rc));

        } else if (csibiz_id_number_normalize(s, n, id_number) != 0) {
            ngx_http_csibiz_field_invalid(r, "id_number", "format");
        }
    }

    if (ngx_http_csibiz_field_required(r, "si_card_no", &value) == NGX_OK
        && csibiz_insurance_no_normalize((const char *) value.data,
                                         value.len, si_card)
           != 0)
    {
        ngx_http_csibiz_field_invalid(r, "si_card_no", "format");
    }

    if (ngx_http_csibiz_field_required(r, "phone", &value) == NGX_OK
        && csibiz_phone_normalize((const char *) value.data, value.len,
                                  phone)
           != 0)
    {
        ngx_http_csibiz_field_invalid(r, "phone", "format");
    }

    return NGX_OK;
}


/* surrounding white space, ideographic space included, as people type */

void
ngx_http_csibiz_trim(ngx_str_t *value)
{
    size_t       n;
    const char  *s;

    s = (const char *) value->data;
    n = value->len;

    csibiz_utf8_trim(&s, &n);

    value->data = (u_char *) s;
    value->len = n;
}


/* the builders: what handlers send on, in the request's pool */

ngx_int_t
ngx_http_csibiz_sprintf(ngx_http_request_t *r, ngx_str_t *dst,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;
    u_char    buf[512];

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    return ngx_http_csibiz_copy(r, dst, buf, p - buf);
}


ngx_int_t
ngx_http_csibiz_integer(ngx_http_request_t *r, ngx_str_t *dst, ngx_int_t n)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;
    dst->len = ngx_sprintf(p, "%i", n) - p;

    return NGX_OK;
}


/* prefix + hex(bin): a key named by an HMAC, or a bytea literal ("\\x") */

ngx_int_t
ngx_http_csibiz_hex(ngx_http_request_t *r, ngx_str_t *dst,
    const char *prefix, const u_char *bin, size_t len)
{
    u_char  *p;
    size_t   plen;

    plen = ngx_strlen(prefix);

    p = ngx_pnalloc(r->pool, plen + 2 * len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;
    p = ngx_cpymem(p, prefix, plen);
    p = ngx_hex_dump(p, (u_char *) bin, len);
    dst->len = p - dst->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_csibiz_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const u_char *src, size_t len)
{
    dst->data = ngx_pnalloc(r->pool, len ? len : 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->len = len;

    return NGX_OK;
}


ngx_int_t
ngx_http_csibiz_client(ngx_http_request_t *r, ngx_str_t *client)
{
#if (NGX_HAVE_INET6)
    u_char               *p;
    struct sockaddr_in6   sin6;

    if (r->connection->sockaddr->sa_family == AF_INET6) {
        ngx_memcpy(&sin6, r->connection->sockaddr,
                   sizeof(struct sockaddr_in6));

        /* an IPv4 client of a dual-stack listener is one address */

        if (!IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
            ngx_memzero(&sin6.sin6_addr.s6_addr[8], 8);

            p = ngx_pnalloc(r->pool, NGX_INET6_ADDRSTRLEN + sizeof("/64"));
            if (p == NULL) {
                return NGX_ERROR;
            }

            client->data = p;
            p += ngx_inet6_ntop(sin6.sin6_addr.s6_addr, p,
                                NGX_INET6_ADDRSTRLEN);
            p = ngx_cpymem(p, "/64", 3);
            client->len = p - client->data;

            return NGX_OK;
        }
    }
#endif

    *client = r->connection->addr_text;

    return NGX_OK;
}
