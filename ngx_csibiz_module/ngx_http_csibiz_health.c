
/*
 * GET /api/health: a real round trip to each backend, run in parallel
 * (Redis PING, PostgreSQL csibiz_health() as the application role).  200
 * when both are up, else 503 naming what is down; for load balancers and
 * ops.  nginx -t refuses the handler without both backends configured.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_response.h"


typedef struct {
    ngx_uint_t                     pending;
    unsigned                       redis:1;      /* up */
    unsigned                       postgres:1;
} ngx_http_csibiz_health_ctx_t;


static ngx_int_t ngx_http_csibiz_health_redis_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_health_pg_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_health_send(ngx_http_request_t *r,
    ngx_http_csibiz_health_ctx_t *ctx);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_health_stmt =
    ngx_http_csibiz_pg_stmt("health", "SELECT csibiz_health()", 0);


/* both at once; the steps see failures, which are the answer here */

ngx_int_t
ngx_http_csibiz_health_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t                      ping;
    ngx_http_csibiz_redis_op_t    *rop;
    ngx_http_csibiz_health_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_health_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_step_catch(r);

    ngx_str_set(&ping, "PING");

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 1, &ping);

    if (ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_health_redis_done,
                                   ctx)
        == NGX_DONE)
    {
        ctx->pending++;
    }

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_health_stmt, NULL,
                                 ngx_http_csibiz_health_pg_done, ctx)
        == NGX_DONE)
    {
        ctx->pending++;
    }

    if (ctx->pending == 0) {
        return ngx_http_csibiz_health_send(r, ctx);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_health_redis_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_health_ctx_t  *ctx = flow;

    if (res->status == NGX_HTTP_CSIBIZ_OK
        && res->replies[0]->type == REDIS_REPLY_STATUS)
    {
        ctx->redis = 1;
    }

    if (--ctx->pending) {
        return NGX_DONE;
    }

    return ngx_http_csibiz_health_send(r, ctx);
}


static ngx_int_t
ngx_http_csibiz_health_pg_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_health_ctx_t  *ctx = flow;

    if (res->status == NGX_HTTP_CSIBIZ_OK && PQntuples(res->res) == 1) {
        ctx->postgres = 1;
    }

    if (--ctx->pending) {
        return NGX_DONE;
    }

    return ngx_http_csibiz_health_send(r, ctx);
}


static ngx_int_t
ngx_http_csibiz_health_send(ngx_http_request_t *r,
    ngx_http_csibiz_health_ctx_t *ctx)
{
    u_char  *body, *p;

    body = ngx_pnalloc(r->pool, sizeof("{\"redis\":\"down\","
                                       "\"postgres\":\"down\"}"));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"redis\":\"%s\",\"postgres\":\"%s\"}",
                    ctx->redis ? "up" : "down",
                    ctx->postgres ? "up" : "down");

    return ngx_http_csibiz_send_json(r, ctx->redis && ctx->postgres
                                        ? NGX_HTTP_OK
                                        : NGX_HTTP_SERVICE_UNAVAILABLE,
                                     body, p - body);
}
