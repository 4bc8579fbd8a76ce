
/*
 * Image captchas: GET /api/captcha hands out an id and a PNG; the answer
 * waits in Redis under a key derived from the id, for csibiz_captcha_ttl,
 * and any check (ngx_http_csibiz_proof.c) uses it up, right or wrong, so
 * that one image buys one guess.
 *
 * Drawing takes about 0.4 ms of CPU (1.3 ms at worst): on the event loop
 * a flood of captchas would stall every other request of the worker, so
 * the image is drawn in the thread pool, one at a time per worker
 * (ngx_http_csibiz_thread_draw()), after the client's rate limit.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_limit.h"
#include "ngx_http_csibiz_proof.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_step.h"
#include "ngx_http_csibiz_thread.h"

#include <csibiz_captcha.h>


#define NGX_HTTP_CSIBIZ_CAPTCHA_LEN      5


typedef struct {
    ngx_str_t                      id;
    ngx_str_t                      image;      /* the data: URI */

    /* written by the thread, read once it is back */
    uint8_t                       *png;
    int                            png_len;
    int                            failed;
    char                           text[CSIBIZ_CAPTCHA_SIZE];
} ngx_http_csibiz_captcha_t;


static ngx_int_t ngx_http_csibiz_captcha_limited(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static void ngx_http_csibiz_captcha_draw(void *flow);
static ngx_int_t ngx_http_csibiz_captcha_drawn(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_captcha_stored(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static void ngx_http_csibiz_captcha_cleanup(void *data);


/* GET /api/captcha: the client's limit → draw (thread) → store → answer */

ngx_int_t
ngx_http_csibiz_captcha_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_csibiz_captcha_t  *cap;

    cap = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_captcha_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (cap == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the PNG is libgd's until the answer is built, or the request ends */
    cln->handler = ngx_http_csibiz_captcha_cleanup;
    cln->data = cap;

    return ngx_http_csibiz_limit_captcha(r, ngx_http_csibiz_captcha_limited,
                                         cap);
}


static ngx_int_t
ngx_http_csibiz_captcha_limited(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    return ngx_http_csibiz_thread_draw(r, ngx_http_csibiz_captcha_draw,
                                       ngx_http_csibiz_captcha_drawn, flow);
}


/* in a thread: the text and its PNG, nothing of nginx's */

static void
ngx_http_csibiz_captcha_draw(void *flow)
{
    ngx_http_csibiz_captcha_t *cap = flow;

    if (csibiz_captcha_text(cap->text, NGX_HTTP_CSIBIZ_CAPTCHA_LEN) != 0
        || csibiz_captcha_png(cap->text, NGX_HTTP_CSIBIZ_CAPTCHA_LEN,
                              &cap->png, &cap->png_len)
           != 0)
    {
        cap->failed = 1;
    }
}


/* the id, "data:image/png;base64,...", and the answer into Redis */

static ngx_int_t
ngx_http_csibiz_captcha_drawn(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_captcha_t *cap = flow;

    u_char                       *p;
    ngx_str_t                     argv[5], src, dst;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    u_char                        id[NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES];

    if (cap->failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: could not draw a captcha");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    csibiz_random_token(id, sizeof(id));

    if (csibiz_b64url_encode(id, sizeof(id), (char *) p,
                             NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1)
        != 0
        || ngx_http_csibiz_captcha_key(r, id, &argv[1]) != NGX_OK
        || ngx_http_csibiz_integer(r, &argv[4], cmcf->captcha_ttl) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cap->id.data = p;
    cap->id.len = NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN;

    src.data = cap->png;
    src.len = cap->png_len;

    p = ngx_pnalloc(r->pool, sizeof("data:image/png;base64,") - 1
                             + ngx_base64_encoded_length(src.len));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cap->image.data = p;
    p = ngx_cpymem(p, "data:image/png;base64,",
                   sizeof("data:image/png;base64,") - 1);

    dst.data = p;
    ngx_encode_base64(&dst, &src);

    cap->image.len = p - cap->image.data + dst.len;

    csibiz_captcha_free(cap->png);
    cap->png = NULL;

    ngx_str_set(&argv[0], "SET");
    argv[2].data = (u_char *) cap->text;
    argv[2].len = NGX_HTTP_CSIBIZ_CAPTCHA_LEN;
    ngx_str_set(&argv[3], "EX");

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 5, argv);
    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_captcha_stored,
                                      cap);
}


static ngx_int_t
ngx_http_csibiz_captcha_stored(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_captcha_t *cap = flow;

    u_char                       *body, *p;
    size_t                        len;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (res->replies[0]->type != REDIS_REPLY_STATUS) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis did not store a captcha");
        return ngx_http_csibiz_send_unavailable(r);
    }

    len = sizeof("{\"captcha_id\":\"\",\"image\":\"\",\"expires_in\":}") - 1
          + cap->id.len + cap->image.len + NGX_TIME_T_LEN;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * base64 and base64url need no JSON escaping; the image is too long
     * for ngx_http_csibiz_sprintf()
     */

    p = ngx_sprintf(body, "{\"captcha_id\":\"%V\",\"image\":\"%V\","
                    "\"expires_in\":%T}",
                    &cap->id, &cap->image, cmcf->captcha_ttl);

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}


static void
ngx_http_csibiz_captcha_cleanup(void *data)
{
    ngx_http_csibiz_captcha_t *cap = data;

    csibiz_captcha_free(cap->png);
}
