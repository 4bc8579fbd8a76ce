
/*
 * Sessions in Redis.  The cookie holds 256 random bits; Redis holds only
 * their HMAC, so a copy of Redis does not hand out live sessions.  A
 * session slides on use (the idle timeout is the key's TTL) and ends at an
 * absolute limit from its creation however active it is.
 */


#include "ngx_http_csibiz_module.h"


#define NGX_HTTP_CSIBIZ_SESSION_PREFIX  "csibiz:sess:"
#define NGX_HTTP_CSIBIZ_SESSION_KEYLEN                                     \
    (sizeof(NGX_HTTP_CSIBIZ_SESSION_PREFIX) - 1 + 2 * CSIBIZ_HMACBYTES)

#define NGX_HTTP_CSIBIZ_SESSION_IDBYTES  32
#define NGX_HTTP_CSIBIZ_CSRF_BYTES       32


typedef struct {
    ngx_http_csibiz_session_pt     next;
    ngx_http_csibiz_session_t     *session;
    ngx_str_t                      token;      /* X-CSRF-Token */
    ngx_uint_t                     require;
    ngx_uint_t                     touch;
    ngx_uint_t                     csrf;       /* the token must match */
} ngx_http_csibiz_session_ctx_t;


/*
 * Slides the idle timeout only when the request's CSRF token matches the
 * session's: a request refused for CSRF must not keep a session alive.
 */

static ngx_str_t  ngx_http_csibiz_session_touch_script = ngx_string(
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "if #h > 0 and redis.call('HGET', KEYS[1], 'csrf') == ARGV[1] then\n"
    " redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return h\n");


static ngx_int_t ngx_http_csibiz_session_key(ngx_http_request_t *r,
    u_char *id, ngx_str_t *key);
static ngx_int_t ngx_http_csibiz_session_cookie_id(ngx_http_request_t *r,
    u_char *id);
static ngx_int_t ngx_http_csibiz_session_loaded(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_session_written(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_session_csrf_headers(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_csibiz_session_set_cookie(ngx_http_request_t *r,
    u_char *value, size_t len, ngx_uint_t clear);
static ngx_http_csibiz_session_ctx_t *ngx_http_csibiz_session_ctx(
    ngx_http_request_t *r, ngx_http_csibiz_session_pt next,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_session_run(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_session_ctx_t *sctx,
    ngx_http_csibiz_redis_handler_pt done);


/* "csibiz:sess:" + hex(HMAC(session key, id)) */

static ngx_int_t
ngx_http_csibiz_session_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key)
{
    u_char                       *p;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_hmac_with(&cmcf->session_mac, id,
                         NGX_HTTP_CSIBIZ_SESSION_IDBYTES, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_SESSION_KEYLEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;
    p = ngx_cpymem(p, NGX_HTTP_CSIBIZ_SESSION_PREFIX,
                   sizeof(NGX_HTTP_CSIBIZ_SESSION_PREFIX) - 1);
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    key->len = p - key->data;

    return NGX_OK;
}


/* NGX_OK with the raw id, or NGX_DECLINED: no (well-formed) cookie */

static ngx_int_t
ngx_http_csibiz_session_cookie_id(ngx_http_request_t *r, u_char *id)
{
    size_t                        n;
    ngx_str_t                     value;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &cmcf->session_cookie, &value)
        == NGX_DECLINED)
    {
        return NGX_DECLINED;
    }

    if (csibiz_b64url_decode((const char *) value.data, value.len, id,
                             NGX_HTTP_CSIBIZ_SESSION_IDBYTES, &n)
        != 0
        || n != NGX_HTTP_CSIBIZ_SESSION_IDBYTES)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Loads the request's session and calls next(r, s); s->valid says whether
 * there is one.  With require, a missing session gets 401 and a
 * state-changing request without the session's CSRF token gets 403, and
 * next is not called.  touch slides the idle timeout.
 */

ngx_int_t
ngx_http_csibiz_session_load(ngx_http_request_t *r,
    ngx_http_csibiz_session_pt next, ngx_uint_t require, ngx_uint_t touch)
{
    u_char                         *p;
    ngx_str_t                       argv[6], key, ttl;
    ngx_http_csibiz_session_t      *s;
    ngx_http_csibiz_redis_op_t     *rop;
    ngx_http_csibiz_main_conf_t    *cmcf;
    ngx_http_csibiz_session_ctx_t  *sctx;
    u_char                          id[NGX_HTTP_CSIBIZ_SESSION_IDBYTES];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_session_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sctx = ngx_http_csibiz_session_ctx(r, next, s);
    if (sctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_session_cookie_id(r, id) != NGX_OK) {
        if (require) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                        "not_logged_in");
        }

        return next(r, s);
    }

    /* what needs no session data is refused before any round trip */

    sctx->csrf = require && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD));

    if (sctx->csrf
        && ngx_http_csibiz_session_csrf_headers(r, &sctx->token) != NGX_OK)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN, "csrf");
    }

    if (ngx_http_csibiz_session_key(r, id, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->key = key;

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ttl.data = p;
    ttl.len = ngx_sprintf(p, "%T", cmcf->session_idle_timeout) - p;

    if (touch && sctx->csrf) {
        ngx_str_set(&argv[0], "EVAL");
        argv[1] = ngx_http_csibiz_session_touch_script;
        ngx_str_set(&argv[2], "1");
        argv[3] = key;
        argv[4] = sctx->token;
        argv[5] = ttl;

        if (ngx_http_csibiz_redis_append(rop, 6, argv) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        ngx_str_set(&argv[0], "HGETALL");
        argv[1] = key;

        if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (touch) {
            ngx_str_set(&argv[0], "EXPIRE");
            argv[2] = ttl;

        } else {
            ngx_str_set(&argv[0], "TTL");
        }

        if (ngx_http_csibiz_redis_append(rop, touch ? 3 : 2, argv)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    sctx->require = require;
    sctx->touch = touch;

    return ngx_http_csibiz_session_run(rop, sctx,
                                       ngx_http_csibiz_session_loaded);
}


static ngx_http_csibiz_session_ctx_t *
ngx_http_csibiz_session_ctx(ngx_http_request_t *r,
    ngx_http_csibiz_session_pt next, ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_session_ctx_t  *sctx;

    sctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_session_ctx_t));
    if (sctx == NULL) {
        return NULL;
    }

    sctx->next = next;
    sctx->session = s;

    return sctx;
}


static ngx_int_t
ngx_http_csibiz_session_run(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_session_ctx_t *sctx,
    ngx_http_csibiz_redis_handler_pt done)
{
    if (sctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_redis_send(rop, done, sctx) != NGX_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_session_loaded(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_session_ctx_t *sctx = data;

    size_t                        i, len;
    u_char                       *p;
    time_t                        now;
    ngx_int_t                     v;
    redisReply                   *h, *f, *val;
    ngx_http_csibiz_session_t    *s;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    s = sctx->session;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    h = replies[0];

    if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {

        for (i = 0; i + 1 < h->elements; i += 2) {
            f = h->element[i];
            val = h->element[i + 1];

            if (f->type != REDIS_REPLY_STRING
                || val->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            len = f->len;

            if (len == 4 && ngx_strncmp(f->str, "csrf", 4) == 0) {
                p = ngx_pnalloc(r->pool, val->len);
                if (p == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                ngx_memcpy(p, val->str, val->len);
                s->csrf.data = p;
                s->csrf.len = val->len;
                continue;
            }

            v = ngx_atoi((u_char *) val->str, val->len);

            if (len == 3 && ngx_strncmp(f->str, "uid", 3) == 0) {
                s->user_id = v;

            } else if (len == 3 && ngx_strncmp(f->str, "pid", 3) == 0) {
                s->person_id = v;

            } else if (len == 7 && ngx_strncmp(f->str, "created", 7) == 0) {
                s->created = v;

            } else if (len == 7 && ngx_strncmp(f->str, "auth_at", 7) == 0) {
                s->auth_at = v;
            }
        }

        now = ngx_time();

        s->valid = s->user_id > 0 && s->csrf.len
                   && s->created > 0
                   && now - s->created < cmcf->session_timeout;

        if (s->valid) {
            ngx_http_csibiz_status_user(r, s->user_id);

            s->idle_left = cmcf->session_idle_timeout;

            if (!sctx->touch && n == 2
                && replies[1]->type == REDIS_REPLY_INTEGER)
            {
                s->idle_left = (time_t) replies[1]->integer;
            }

            /* the absolute limit comes first when it is nearer */
            if (s->created + cmcf->session_timeout - now < s->idle_left) {
                s->idle_left = s->created + cmcf->session_timeout - now;
            }
        }
    }

    if (!s->valid) {
        if (sctx->require) {
            /* the cookie names an ended session: the browser may drop it */
            if (ngx_http_csibiz_session_set_cookie(r, (u_char *) "", 0, 1)
                != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                        "not_logged_in");
        }

        return sctx->next(r, s);
    }

    if (sctx->csrf
        && (sctx->token.len != s->csrf.len
            || csibiz_equal(sctx->token.data, s->csrf.data, s->csrf.len)
               != 0))
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN, "csrf");
    }

    return sctx->next(r, s);
}


/*
 * A request that changes state must carry the session's token in
 * X-CSRF-Token, which another site's page cannot read; where the browser
 * says where the request comes from, it must be this site.  Here: the
 * headers; the token is compared once the session is loaded.
 */

static ngx_int_t
ngx_http_csibiz_session_csrf_headers(ngx_http_request_t *r,
    ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_str_t         origin, site;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_str_null(token);
    ngx_str_null(&origin);
    ngx_str_null(&site);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("X-CSRF-Token") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-CSRF-Token",
                               h[i].key.len) == 0)
        {
            *token = h[i].value;

        } else if (h[i].key.len == sizeof("Origin") - 1
                   && ngx_strncasecmp(h[i].key.data, (u_char *) "Origin",
                                      h[i].key.len) == 0)
        {
            origin = h[i].value;

        } else if (h[i].key.len == sizeof("Sec-Fetch-Site") - 1
                   && ngx_strncasecmp(h[i].key.data,
                                      (u_char *) "Sec-Fetch-Site",
                                      h[i].key.len) == 0)
        {
            site = h[i].value;
        }
    }

    if (token->len == 0) {
        return NGX_DECLINED;
    }

    if (site.len
        && !(site.len == 11
             && ngx_strncmp(site.data, "same-origin", 11) == 0)
        && !(site.len == 9 && ngx_strncmp(site.data, "same-site", 9) == 0)
        && !(site.len == 4 && ngx_strncmp(site.data, "none", 4) == 0))
    {
        return NGX_DECLINED;
    }

    if (origin.len && r->headers_in.host) {
        /* "scheme://host[:port]" must name this host */
        p = ngx_strlcasestrn(origin.data, origin.data + origin.len,
                             (u_char *) "://", 3 - 1);
        if (p == NULL) {
            return NGX_DECLINED;
        }

        p += 3;
        last = origin.data + origin.len;

        if ((size_t) (last - p) != r->headers_in.host->value.len
            || ngx_strncasecmp(p, r->headers_in.host->value.data,
                               last - p) != 0)
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/*
 * A new session after a successful login: a fresh id (never the one the
 * client came with), a fresh CSRF token, the old session deleted.
 */

ngx_int_t
ngx_http_csibiz_session_create(ngx_http_request_t *r, ngx_int_t user_id,
    ngx_int_t person_id, ngx_http_csibiz_session_pt next)
{
    u_char                       *p;
    time_t                        now;
    ngx_str_t                     argv[12], key, old;
    ngx_http_csibiz_session_t    *s;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    u_char                        id[NGX_HTTP_CSIBIZ_SESSION_IDBYTES];
    u_char                        csrf[NGX_HTTP_CSIBIZ_CSRF_BYTES];
    char                          cookie[CSIBIZ_B64URL_SIZE(
                                      NGX_HTTP_CSIBIZ_SESSION_IDBYTES)];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_session_t));
    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, 4 * NGX_INT64_LEN
                             + CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_CSRF_BYTES));

    if (s == NULL || rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the session the client came with, if any, ends now */

    if (ngx_http_csibiz_session_cookie_id(r, id) == NGX_OK
        && ngx_http_csibiz_session_key(r, id, &old) == NGX_OK)
    {
        ngx_str_set(&argv[0], "DEL");
        argv[1] = old;

        if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    csibiz_random_token(id, sizeof(id));
    csibiz_random_token(csrf, sizeof(csrf));

    if (ngx_http_csibiz_session_key(r, id, &key) != NGX_OK
        || csibiz_b64url_encode(id, sizeof(id), cookie, sizeof(cookie)) != 0
        || csibiz_b64url_encode(csrf, sizeof(csrf), (char *) p,
                                CSIBIZ_B64URL_SIZE(sizeof(csrf)))
           != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_time();

    s->valid = 1;
    s->key = key;
    s->user_id = user_id;
    s->person_id = person_id;
    s->created = now;
    s->auth_at = now;
    s->idle_left = cmcf->session_idle_timeout;
    s->csrf.data = p;
    s->csrf.len = ngx_strlen(p);
    p += s->csrf.len + 1;

    ngx_http_csibiz_status_user(r, user_id);

    ngx_str_set(&argv[0], "HSET");
    argv[1] = key;
    ngx_str_set(&argv[2], "uid");
    argv[3].data = p;
    p = ngx_sprintf(p, "%i", user_id);
    argv[3].len = p - argv[3].data;
    ngx_str_set(&argv[4], "pid");
    argv[5].data = p;
    p = ngx_sprintf(p, "%i", person_id);
    argv[5].len = p - argv[5].data;
    ngx_str_set(&argv[6], "created");
    argv[7].data = p;
    p = ngx_sprintf(p, "%T", now);
    argv[7].len = p - argv[7].data;
    ngx_str_set(&argv[8], "auth_at");
    argv[9] = argv[7];
    ngx_str_set(&argv[10], "csrf");
    argv[11] = s->csrf;

    if (ngx_http_csibiz_redis_append(rop, 12, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "EXPIRE");
    argv[1] = key;
    argv[2].data = p;
    p = ngx_sprintf(p, "%T", cmcf->session_idle_timeout);
    argv[2].len = p - argv[2].data;

    if (ngx_http_csibiz_redis_append(rop, 3, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_session_set_cookie(r, (u_char *) cookie,
                                           ngx_strlen(cookie), 0)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_session_run(rop,
                                       ngx_http_csibiz_session_ctx(r, next, s),
                                       ngx_http_csibiz_session_written);
}


/* logout: the session is deleted and the cookie cleared */

ngx_int_t
ngx_http_csibiz_session_destroy(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_session_pt next)
{
    ngx_str_t                    argv[2];
    ngx_http_csibiz_redis_op_t  *rop;

    if (ngx_http_csibiz_session_set_cookie(r, (u_char *) "", 0, 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    if (rop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "DEL");
    argv[1] = s->key;

    if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->valid = 0;

    return ngx_http_csibiz_session_run(rop,
                                       ngx_http_csibiz_session_ctx(r, next, s),
                                       ngx_http_csibiz_session_written);
}


/* step-up: the password was just entered again */

ngx_int_t
ngx_http_csibiz_session_reauth(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_session_pt next)
{
    u_char                      *p;
    ngx_str_t                    argv[4];
    ngx_http_csibiz_redis_op_t  *rop;

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->auth_at = ngx_time();

    ngx_str_set(&argv[0], "HSET");
    argv[1] = s->key;
    ngx_str_set(&argv[2], "auth_at");
    argv[3].data = p;
    argv[3].len = ngx_sprintf(p, "%T", s->auth_at) - p;

    if (ngx_http_csibiz_redis_append(rop, 4, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_session_run(rop,
                                       ngx_http_csibiz_session_ctx(r, next, s),
                                       ngx_http_csibiz_session_written);
}


static ngx_int_t
ngx_http_csibiz_session_written(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_session_ctx_t *sctx = data;

    ngx_uint_t  i;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    for (i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "csibiz: redis refused a session command: %s",
                          replies[i]->str);
            return ngx_http_csibiz_send_unavailable(r);
        }
    }

    return sctx->next(r, sctx->session);
}


static ngx_int_t
ngx_http_csibiz_session_set_cookie(ngx_http_request_t *r, u_char *value,
    size_t len, ngx_uint_t clear)
{
    u_char                       *p;
    size_t                        size;
    ngx_table_elt_t              *h;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    size = cmcf->session_cookie.len + 1 + len
           + sizeof("; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0")
           - 1;

    p = ngx_pnalloc(r->pool, size);
    h = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;

    p = ngx_sprintf(p, "%V=%*s; Path=/; HttpOnly; SameSite=Lax",
                    &cmcf->session_cookie, len, value);

    if (cmcf->session_secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    if (clear) {
        p = ngx_cpymem(p, "; Max-Age=0", sizeof("; Max-Age=0") - 1);
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}
