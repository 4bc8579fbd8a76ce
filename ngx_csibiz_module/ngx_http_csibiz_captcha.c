
/*
 * Image captchas: GET /api/captcha hands out an id and a PNG; the answer
 * waits in Redis under a key derived from the id, for csibiz_captcha_ttl,
 * and any check uses it up, right or wrong, so that one image buys one
 * guess.
 *
 * Drawing takes about 0.5 ms of CPU (1.3 ms at worst, measured on the
 * project's machine), cheap enough for the event loop: a thread pool hop
 * would cost more than it saves.
 */


#include "ngx_http_csibiz_module.h"

#include <csibiz_captcha.h>
#include <csibiz_utf8.h>


#define NGX_HTTP_CSIBIZ_CAPTCHA_LEN      5
#define NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES  16
#define NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN                                      \
    (CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES) - 1)

#define NGX_HTTP_CSIBIZ_CAPTCHA_PREFIX   "csibiz:captcha:"
#define NGX_HTTP_CSIBIZ_CAPTCHA_KEYLEN                                     \
    (sizeof(NGX_HTTP_CSIBIZ_CAPTCHA_PREFIX) - 1 + 2 * CSIBIZ_HMACBYTES)

/* an answer longer than this cannot be right: no need to look it up */
#define NGX_HTTP_CSIBIZ_CAPTCHA_MAX_ANSWER  32


typedef struct {
    ngx_str_t                      id;
    ngx_str_t                      image;      /* the data: URI */
} ngx_http_csibiz_captcha_ctx_t;


typedef struct {
    ngx_str_t                      answer;
    ngx_http_csibiz_check_pt       next;
    void                          *data;
} ngx_http_csibiz_captcha_check_t;


static ngx_int_t ngx_http_csibiz_captcha_key(ngx_http_request_t *r,
    u_char *id, ngx_str_t *key);
static ngx_int_t ngx_http_csibiz_captcha_image(ngx_http_request_t *r,
    const char *text, ngx_str_t *image);
static ngx_int_t ngx_http_csibiz_captcha_stored(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_captcha_fetched(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);


/*
 * "csibiz:captcha:" + hex(HMAC(captcha subkey, id)): the id a client
 * holds is not the key name, so a look at Redis's keys gives no id that
 * could be answered with the stored text.
 */

static ngx_int_t
ngx_http_csibiz_captcha_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key)
{
    u_char                       *p;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_hmac_label(cmcf->session_key, "captcha", id,
                          NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_CAPTCHA_KEYLEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;
    p = ngx_cpymem(p, NGX_HTTP_CSIBIZ_CAPTCHA_PREFIX,
                   sizeof(NGX_HTTP_CSIBIZ_CAPTCHA_PREFIX) - 1);
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    key->len = p - key->data;

    return NGX_OK;
}


/* GET /api/captcha */

ngx_int_t
ngx_http_csibiz_captcha_handler(ngx_http_request_t *r)
{
    u_char                         *p;
    ngx_str_t                       argv[5], key;
    ngx_http_csibiz_redis_op_t     *rop;
    ngx_http_csibiz_main_conf_t    *cmcf;
    ngx_http_csibiz_captcha_ctx_t  *ctx;
    u_char                          id[NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES];
    char                            text[CSIBIZ_CAPTCHA_SIZE];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_captcha_ctx_t));
    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1
                             + NGX_TIME_T_LEN);

    if (ctx == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    csibiz_random_token(id, sizeof(id));

    if (csibiz_b64url_encode(id, sizeof(id), (char *) p,
                             NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1)
        != 0
        || ngx_http_csibiz_captcha_key(r, id, &key) != NGX_OK
        || csibiz_captcha_text(text, NGX_HTTP_CSIBIZ_CAPTCHA_LEN) != 0
        || ngx_http_csibiz_captcha_image(r, text, &ctx->image) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->id.data = p;
    ctx->id.len = NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN;
    p += NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN + 1;

    rop = ngx_http_csibiz_redis_create(r);
    if (rop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "SET");
    argv[1] = key;
    argv[2].data = (u_char *) text;
    argv[2].len = NGX_HTTP_CSIBIZ_CAPTCHA_LEN;
    ngx_str_set(&argv[3], "EX");
    argv[4].data = p;
    argv[4].len = ngx_sprintf(p, "%T", cmcf->captcha_ttl) - p;

    if (ngx_http_csibiz_redis_append(rop, 5, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_captcha_stored,
                                      ctx)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
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
ngx_http_csibiz_captcha_stored(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_captcha_ctx_t *ctx = data;

    u_char                       *body, *p;
    size_t                        len;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (status != NGX_HTTP_CSIBIZ_OK
        || n != 1
        || replies[0]->type != REDIS_REPLY_STATUS)
    {
        if (status == NGX_HTTP_CSIBIZ_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "csibiz: redis did not store a captcha");
        }

        return ngx_http_csibiz_send_unavailable(r);
    }

    len = sizeof("{\"captcha_id\":\"\",\"image\":\"\",\"expires_in\":}") - 1
          + ctx->id.len + ctx->image.len + NGX_TIME_T_LEN;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* base64 and base64url need no JSON escaping */

    p = ngx_sprintf(body, "{\"captcha_id\":\"%V\",\"image\":\"%V\","
                    "\"expires_in\":%T}",
                    &ctx->id, &ctx->image, cmcf->captcha_ttl);

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}


/*
 * Checks an answer: next(r, data, NGX_OK or NGX_DECLINED).  The stored
 * answer is taken with GETDEL, so a second try at the same image fails
 * even if the first was wrong.  With "csibiz_captcha off" every answer
 * passes, Redis untouched.
 */

ngx_int_t
ngx_http_csibiz_captcha_check(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *answer, ngx_http_csibiz_check_pt next, void *data)
{
    size_t                            n;
    ngx_str_t                         argv[2], key;
    const char                       *s;
    ngx_http_csibiz_redis_op_t       *rop;
    ngx_http_csibiz_main_conf_t      *cmcf;
    ngx_http_csibiz_captcha_check_t  *ck;
    u_char                            raw[NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (!cmcf->captcha) {
        return next(r, data, NGX_OK);
    }

    ck = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_captcha_check_t));
    if (ck == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ck->next = next;
    ck->data = data;

    /* people type a space before or after; inside, it is a wrong answer */

    s = (const char *) answer->data;
    n = answer->len;
    csibiz_utf8_trim(&s, &n);

    ck->answer.data = (u_char *) s;
    ck->answer.len = n;

    if (id->len != NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN
        || csibiz_b64url_decode((const char *) id->data, id->len, raw,
                                sizeof(raw), &n)
           != 0
        || n != sizeof(raw))
    {
        /* not an id this module made: nothing to use up */
        return next(r, data, NGX_DECLINED);
    }

    if (ngx_http_csibiz_captcha_key(r, raw, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    if (rop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "GETDEL");
    argv[1] = key;

    if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_captcha_fetched,
                                      ck)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_captcha_fetched(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_captcha_check_t *ck = data;

    redisReply  *reply;

    if (status != NGX_HTTP_CSIBIZ_OK || n != 1) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    reply = replies[0];

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis refused GETDEL of a captcha: %s",
                      reply->str);
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (reply->type != REDIS_REPLY_STRING
        || ck->answer.len > NGX_HTTP_CSIBIZ_CAPTCHA_MAX_ANSWER
        || csibiz_captcha_check(reply->str, reply->len,
                                (const char *) ck->answer.data,
                                ck->answer.len)
           != 0)
    {
        return ck->next(r, ck->data, NGX_DECLINED);
    }

    return ck->next(r, ck->data, NGX_OK);
}
