
/*
 * Image captchas: GET /api/captcha hands out an id and a PNG; the answer
 * waits in Redis under a key derived from the id, for csibiz_captcha_ttl,
 * and any check (ngx_http_csibiz_proof.c) uses it up, right or wrong, so
 * that one image buys one guess.
 *
 * Drawing takes about 0.5 ms of CPU (1.3 ms at worst, measured on the
 * project's machine), cheap enough for the event loop: a thread pool hop
 * would cost more than it saves.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_proof.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_step.h"

#include <csibiz_captcha.h>


#define NGX_HTTP_CSIBIZ_CAPTCHA_LEN      5


typedef struct {
    ngx_str_t                      id;
    ngx_str_t                      image;      /* the data: URI */
} ngx_http_csibiz_captcha_t;


static ngx_int_t ngx_http_csibiz_captcha_image(ngx_http_request_t *r,
    const char *text, ngx_str_t *image);
static ngx_int_t ngx_http_csibiz_captcha_stored(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


/* GET /api/captcha: draw → store the answer → id and image */

ngx_int_t
ngx_http_csibiz_captcha_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    u_char                       *p;
    ngx_str_t                     argv[5];
    ngx_http_csibiz_captcha_t    *cap;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    u_char                        id[NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES];
    char                          text[CSIBIZ_CAPTCHA_SIZE];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    cap = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_captcha_t));
    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1);

    if (cap == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    csibiz_random_token(id, sizeof(id));

    if (csibiz_b64url_encode(id, sizeof(id), (char *) p,
                             NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1)
        != 0
        || ngx_http_csibiz_captcha_key(r, id, &argv[1]) != NGX_OK
        || csibiz_captcha_text(text, NGX_HTTP_CSIBIZ_CAPTCHA_LEN) != 0
        || ngx_http_csibiz_captcha_image(r, text, &cap->image) != NGX_OK
        || ngx_http_csibiz_integer(r, &argv[4], cmcf->captcha_ttl) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cap->id.data = p;
    cap->id.len = NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN;

    ngx_str_set(&argv[0], "SET");
    argv[2].data = (u_char *) text;
    argv[2].len = NGX_HTTP_CSIBIZ_CAPTCHA_LEN;
    ngx_str_set(&argv[3], "EX");

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 5, argv);
    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_captcha_stored,
                                      cap);
}


/* "data:image/png;base64,..." */

static ngx_int_t
ngx_http_csibiz_captcha_image(ngx_http_request_t *r, const char *text,
    ngx_str_t *image)
{
    int         len;
    u_char     *p;
    uint8_t    *png;
    ngx_str_t   src, dst;

    if (csibiz_captcha_png(text, NGX_HTTP_CSIBIZ_CAPTCHA_LEN, &png, &len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: could not draw a captcha");
        return NGX_ERROR;
    }

    src.data = png;
    src.len = len;

    p = ngx_pnalloc(r->pool, sizeof("data:image/png;base64,") - 1
                             + ngx_base64_encoded_length(src.len));
    if (p == NULL) {
        csibiz_captcha_free(png);
        return NGX_ERROR;
    }

    image->data = p;
    p = ngx_cpymem(p, "data:image/png;base64,",
                   sizeof("data:image/png;base64,") - 1);

    dst.data = p;
    ngx_encode_base64(&dst, &src);

    image->len = p - image->data + dst.len;

    csibiz_captcha_free(png);

    return NGX_OK;
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
