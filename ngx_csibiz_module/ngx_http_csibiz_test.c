
/*
 * "csibiz test": for the test suite only, never for a public location.
 * It makes a backend echo a value or sleep, to prove that a slow backend
 * does not stall a worker and that pooled connections stay in step.
 *
 *   ?backend=redis|postgres&op=echo&value=STR
 *   ?backend=redis|postgres&op=sleep&seconds=N
 *   ?backend=redis&op=script&value=STR   (echoed by a script, EVALSHA)
 *   ?backend=redis|postgres&op=fail      (refused, a division by zero: 500)
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_response.h"


typedef struct {
    ngx_str_t                      backend;
    ngx_str_t                      op;
    ngx_str_t                      value;
} ngx_http_csibiz_test_ctx_t;


static ngx_int_t ngx_http_csibiz_test_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_csibiz_test_redis_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_test_pg_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_test_send(ngx_http_request_t *r,
    ngx_http_csibiz_test_ctx_t *ctx, u_char *value, size_t len);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_test_echo_stmt =
    ngx_http_csibiz_pg_stmt("test_echo", "SELECT $1::text", 1);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_test_sleep_stmt =
    ngx_http_csibiz_pg_stmt("test_sleep",
                            "SELECT pg_sleep($1::float8)::text", 1);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_test_fail_stmt =
    ngx_http_csibiz_pg_stmt("test_fail", "SELECT $1::text || 1 / 0", 1);

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_test_script =
    ngx_http_csibiz_redis_script("return ARGV[1]");


ngx_int_t
ngx_http_csibiz_test_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t                    argv[4], seconds;
    ngx_uint_t                   argc;
    ngx_http_csibiz_test_ctx_t  *ctx;
    ngx_http_csibiz_redis_op_t  *rop;
    ngx_http_csibiz_pg_stmt_t   *stmt;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_test_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_test_arg(r, "backend", &ctx->backend) != NGX_OK
        || ngx_http_csibiz_test_arg(r, "op", &ctx->op) != NGX_OK)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "invalid_request");
    }

    if (ctx->op.len == 4 && ngx_strncmp(ctx->op.data, "echo", 4) == 0) {
        if (ngx_http_csibiz_test_arg(r, "value", &ctx->value) != NGX_OK) {
            ngx_str_set(&ctx->value, "");
        }

        ngx_str_set(&argv[0], "ECHO");
        argv[1] = ctx->value;
        argc = 2;
        stmt = &ngx_http_csibiz_test_echo_stmt;

    } else if (ctx->op.len == 5
               && ngx_strncmp(ctx->op.data, "sleep", 5) == 0
               && ngx_http_csibiz_test_arg(r, "seconds", &seconds) == NGX_OK)
    {
        ngx_str_set(&argv[0], "BLPOP");
        ngx_str_set(&argv[1], "csibiz:test:never");
        argv[2] = seconds;
        argc = 3;
        ctx->value = seconds;
        stmt = &ngx_http_csibiz_test_sleep_stmt;

    } else if (ctx->op.len == 6
               && ngx_strncmp(ctx->op.data, "script", 6) == 0)
    {
        if (ngx_http_csibiz_test_arg(r, "value", &ctx->value) != NGX_OK) {
            ngx_str_set(&ctx->value, "");
        }

        ngx_str_set(&argv[2], "0");
        argv[3] = ctx->value;
        argc = 4;
        stmt = NULL;

    } else if (ctx->op.len == 4 && ngx_strncmp(ctx->op.data, "fail", 4) == 0)
    {
        ngx_str_set(&argv[0], "CSIBIZ-NO-SUCH-COMMAND");
        argc = 1;
        stmt = &ngx_http_csibiz_test_fail_stmt;

    } else {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "invalid_request");
    }

    if (ctx->backend.len == 8 && stmt
        && ngx_strncmp(ctx->backend.data, "postgres", 8) == 0)
    {
        return ngx_http_csibiz_pg_query(r, stmt, &ctx->value,
                                        ngx_http_csibiz_test_pg_done, ctx);
    }

    if (ctx->backend.len == 5
        && ngx_strncmp(ctx->backend.data, "redis", 5) == 0)
    {
        rop = ngx_http_csibiz_redis_create(r);

        if (argc == 4) {
            ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_test_script,
                                       argc, argv);

        } else {
            ngx_http_csibiz_redis_append(rop, argc, argv);
        }

        return ngx_http_csibiz_redis_send(rop,
                                          ngx_http_csibiz_test_redis_done,
                                          ctx);
    }

    return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST, "invalid_request");
}


static ngx_int_t
ngx_http_csibiz_test_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, raw.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_test_redis_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_test_ctx_t  *ctx = flow;

    redisReply  **replies;

    replies = (redisReply **) res->replies;

    if (replies[0]->type == REDIS_REPLY_ERROR) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    if (replies[0]->type == REDIS_REPLY_STRING) {
        return ngx_http_csibiz_test_send(r, ctx, (u_char *) replies[0]->str,
                                         replies[0]->len);
    }

    return ngx_http_csibiz_test_send(r, ctx, NULL, 0);
}


static ngx_int_t
ngx_http_csibiz_test_pg_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_test_ctx_t  *ctx = flow;

    if (ctx->op.len == 4) {
        return ngx_http_csibiz_test_send(r, ctx,
                                         (u_char *) PQgetvalue(res->res, 0, 0),
                                         PQgetlength(res->res, 0, 0));
    }

    return ngx_http_csibiz_test_send(r, ctx, NULL, 0);
}


static ngx_int_t
ngx_http_csibiz_test_send(ngx_http_request_t *r,
    ngx_http_csibiz_test_ctx_t *ctx, u_char *value, size_t len)
{
    u_char  *body, *p;
    size_t   size;

    /* the value is echoed JSON-escaped: every byte may need \u00XX */

    size = sizeof("{\"backend\":\"postgres\",\"value\":\"\"}") + 6 * len;

    body = ngx_pnalloc(r->pool, size);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"backend\":\"%V\",", &ctx->backend);

    if (ctx->op.len == 5) {
        p = ngx_cpymem(p, "\"slept\":true}", sizeof("\"slept\":true}") - 1);

    } else {
        p = ngx_cpymem(p, "\"value\":\"", sizeof("\"value\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, value, len);
        *p++ = '"';
        *p++ = '}';
    }

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}
