
/*
 * Sessions in Redis.  The cookie holds 256 random bits; Redis holds only
 * their HMAC, so a copy of Redis does not hand out live sessions.  A
 * session slides on use (the idle timeout is the key's TTL) and ends at an
 * absolute limit from its creation however active it is.  A set per user
 * names the user's sessions, so that a password reset can end them all;
 * it lives as long as its newest session can, and each login drops the
 * members that have ended, so it holds no more than the live sessions.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"
#include "ngx_http_csibiz_status.h"


#define NGX_HTTP_CSIBIZ_SESSION_PREFIX  "csibiz:sess:"
#define NGX_HTTP_CSIBIZ_SESSION_USER    "csibiz:user:sess:%i"

#define NGX_HTTP_CSIBIZ_SESSION_IDBYTES  32
#define NGX_HTTP_CSIBIZ_CSRF_BYTES       32


typedef struct {
    ngx_http_csibiz_handler_t     *handler;    /* load: whom to call */
    ngx_http_csibiz_step_pt        next;       /* the others: go on */
    void                          *flow;
    ngx_http_csibiz_session_t     *session;
    ngx_str_t                      token;      /* X-CSRF-Token */
    ngx_uint_t                     require;
    ngx_uint_t                     touch;
    ngx_uint_t                     csrf;       /* the token must match */
} ngx_http_csibiz_session_ctx_t;


/*
 * Slides the idle timeout only when the request's CSRF token matches the
 * session's: a request refused for CSRF must not keep a session alive.
 * ARGV[3], if given, is when a handler that writes PostgreSQL started:
 * for a while the session's reads go to the primary (read-your-writes).
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_session_touch_script =
    ngx_http_csibiz_redis_script(
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "if #h > 0 and redis.call('HGET', KEYS[1], 'csrf') == ARGV[1] then\n"
    " redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    " if ARGV[3] then redis.call('HSET', KEYS[1], 'wrote', ARGV[3]) end\n"
    "end\n"
    "return h\n");


/*
 * KEYS: the user's set of sessions.  ARGV: the new session's key, the
 * absolute limit (s).  Adds it and drops the members that have ended.
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_session_index_script =
    ngx_http_csibiz_redis_script(
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    " if redis.call('EXISTS', k) == 0 then"
    " redis.call('SREM', KEYS[1], k) end\n"
    "end\n"
    "redis.call('SADD', KEYS[1], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "return 0\n");


/* KEYS: the user's set of sessions.  Ends them all. */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_session_end_script =
    ngx_http_csibiz_redis_script(
    "local s = redis.call('SMEMBERS', KEYS[1])\n"
    "for _, k in ipairs(s) do redis.call('DEL', k) end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return #s\n");


static ngx_int_t ngx_http_csibiz_session_key(ngx_http_request_t *r,
    u_char *id, ngx_str_t *key);
static ngx_int_t ngx_http_csibiz_session_cookie_id(ngx_http_request_t *r,
    u_char *id);
static ngx_int_t ngx_http_csibiz_session_loaded(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_session_written(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_session_csrf_headers(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_csibiz_session_set_cookie(ngx_http_request_t *r,
    u_char *value, size_t len, ngx_uint_t clear);
static ngx_http_csibiz_session_ctx_t *ngx_http_csibiz_session_ctx(
    ngx_http_request_t *r, ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_session_write(ngx_http_request_t *r,
    ngx_http_csibiz_redis_op_t *rop, ngx_http_csibiz_session_t *s,
    ngx_http_csibiz_step_pt next, void *flow);


/* "csibiz:sess:" + hex(HMAC(session key, id)) */

static ngx_int_t
ngx_http_csibiz_session_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key)
{
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_hmac_with(&cmcf->session_mac, id,
                         NGX_HTTP_CSIBIZ_SESSION_IDBYTES, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    return ngx_http_csibiz_hex(r, key, NGX_HTTP_CSIBIZ_SESSION_PREFIX, mac,
                               CSIBIZ_HMACBYTES);
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
 * Loads the request's session for the handler h and calls it with the
 * session; s->valid says whether there is one.  With a required session,
 * a missing one gets 401 and a state-changing request without the
 * session's CSRF token gets 403, and the handler is not called.  TOUCH
 * slides the idle timeout.
 */

ngx_int_t
ngx_http_csibiz_session_load(ngx_http_request_t *r,
    ngx_http_csibiz_handler_t *h)
{
    ngx_str_t                       argv[7], key, ttl;
    ngx_uint_t                      require, touch;
    ngx_http_csibiz_session_t      *s;
    ngx_http_csibiz_redis_op_t     *rop;
    ngx_http_csibiz_main_conf_t    *cmcf;
    ngx_http_csibiz_session_ctx_t  *sctx;
    u_char                          id[NGX_HTTP_CSIBIZ_SESSION_IDBYTES];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    require = h->session & NGX_HTTP_CSIBIZ_SESSION_REQUIRED;
    touch = h->session & NGX_HTTP_CSIBIZ_SESSION_TOUCH;

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_session_t));
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sctx = ngx_http_csibiz_session_ctx(r, s);
    if (sctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sctx->handler = h;

    if (ngx_http_csibiz_session_cookie_id(r, id) != NGX_OK) {
        if (require) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                        "not_logged_in");
        }

        return h->handler(r, s);
    }

    /* what needs no session data is refused before any round trip */

    sctx->csrf = require && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD));

    if (sctx->csrf
        && ngx_http_csibiz_session_csrf_headers(r, &sctx->token) != NGX_OK)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN, "csrf");
    }

    if (ngx_http_csibiz_session_key(r, id, &key) != NGX_OK
        || ngx_http_csibiz_integer(r, &ttl, cmcf->session_idle_timeout)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->key = key;

    rop = ngx_http_csibiz_redis_create(r);

    if (touch && sctx->csrf) {
        ngx_str_set(&argv[2], "1");
        argv[3] = key;
        argv[4] = sctx->token;
        argv[5] = ttl;

        if (h->needs & NGX_HTTP_CSIBIZ_WRITES) {
            if (ngx_http_csibiz_integer(r, &argv[6], ngx_time()) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_session_touch_script,
                                   (h->needs & NGX_HTTP_CSIBIZ_WRITES) ? 7 : 6,
                                   argv);

    } else {
        ngx_str_set(&argv[0], "HGETALL");
        argv[1] = key;

        ngx_http_csibiz_redis_append(rop, 2, argv);

        if (touch) {
            ngx_str_set(&argv[0], "EXPIRE");
            argv[2] = ttl;

        } else {
            ngx_str_set(&argv[0], "TTL");
        }

        ngx_http_csibiz_redis_append(rop, touch ? 3 : 2, argv);
    }

    sctx->require = require;
    sctx->touch = touch;

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_session_loaded,
                                      sctx);
}


static ngx_http_csibiz_session_ctx_t *
ngx_http_csibiz_session_ctx(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_ctx_t          *ctx;
    ngx_http_csibiz_session_ctx_t  *sctx;

    ctx = ngx_http_csibiz_get_ctx(r);
    sctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_session_ctx_t));

    if (ctx == NULL || sctx == NULL) {
        return NULL;
    }

    sctx->session = s;
    ctx->session = s;

    return sctx;
}


/* the request's session, as loaded or last written */

ngx_http_csibiz_session_t *
ngx_http_csibiz_session_get(ngx_http_request_t *r)
{
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    return ctx ? ctx->session : NULL;
}


/* sends a write of the session s, then goes on with next(r, flow, res) */

static ngx_int_t
ngx_http_csibiz_session_write(ngx_http_request_t *r,
    ngx_http_csibiz_redis_op_t *rop, ngx_http_csibiz_session_t *s,
    ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_http_csibiz_session_ctx_t  *sctx;

    sctx = ngx_http_csibiz_session_ctx(r, s);
    if (sctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sctx->next = next;
    sctx->flow = flow;

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_session_written,
                                      sctx);
}


static ngx_int_t
ngx_http_csibiz_session_loaded(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_session_ctx_t *sctx = flow;

    size_t                        i, len;
    u_char                       *p;
    time_t                        now;
    ngx_int_t                     v;
    redisReply                   *h, *f, *val, **replies;
    ngx_http_csibiz_session_t    *s;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    s = sctx->session;
    replies = res->replies;

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

            } else if (len == 5 && ngx_strncmp(f->str, "wrote", 5) == 0) {
                s->wrote_at = v;
            }
        }

        now = ngx_time();

        s->valid = s->user_id > 0 && s->csrf.len
                   && s->created > 0
                   && now - s->created < cmcf->session_timeout;

        if (s->valid) {
            ngx_http_csibiz_status_user(r, s->user_id);

            s->idle_left = cmcf->session_idle_timeout;

            if (!sctx->touch && res->nreplies == 2
                && replies[1]->type == REDIS_REPLY_INTEGER)
            {
                s->idle_left = (time_t) replies[1]->integer;
            }

            /* the absolute limit comes first when it is nearer */
            if (s->created + cmcf->session_timeout - now < s->idle_left) {
                s->idle_left = s->created + cmcf->session_timeout - now;
            }

            if (sctx->handler->stepup) {
                s->stepped_up = now - s->auth_at
                                < NGX_HTTP_CSIBIZ_REAUTH_VALID;
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

        return sctx->handler->handler(r, s);
    }

    if (sctx->csrf
        && (sctx->token.len != s->csrf.len
            || csibiz_equal(sctx->token.data, s->csrf.data, s->csrf.len)
               != 0))
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN, "csrf");
    }

    return sctx->handler->handler(r, s);
}


/*
 * A request that changes state must carry the session's token in
 * X-CSRF-Token, which another site's page cannot read; where the browser
 * says where the request comes from, it must be this site: the Host the
 * request came with, or one of csibiz_origin's.  Here: the headers; the
 * token is compared once the session is loaded.
 */

static ngx_int_t
ngx_http_csibiz_session_csrf_headers(ngx_http_request_t *r,
    ngx_str_t *token)
{
    u_char                      *p, *last;
    ngx_str_t                    origin, site, *o;
    ngx_uint_t                   i;
    ngx_list_part_t             *part;
    ngx_table_elt_t             *h;
    ngx_http_csibiz_loc_conf_t  *clcf;

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

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    if (origin.len && clcf->origins) {
        /* behind a proxy that rewrites Host: one of the origins listed */
        o = clcf->origins->elts;

        for (i = 0; i < clcf->origins->nelts; i++) {
            if (o[i].len == origin.len
                && ngx_strncasecmp(o[i].data, origin.data, origin.len) == 0)
            {
                return NGX_OK;
            }
        }

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
    ngx_int_t person_id, ngx_http_csibiz_step_pt next, void *flow)
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
    p = ngx_pnalloc(r->pool, CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_CSRF_BYTES));

    if (s == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);

    /* the session the client came with, if any, ends now */

    if (ngx_http_csibiz_session_cookie_id(r, id) == NGX_OK
        && ngx_http_csibiz_session_key(r, id, &old) == NGX_OK)
    {
        ngx_str_set(&argv[0], "DEL");
        argv[1] = old;

        ngx_http_csibiz_redis_append(rop, 2, argv);
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

    ngx_http_csibiz_status_user(r, user_id);

    ngx_str_set(&argv[0], "HSET");
    argv[1] = key;
    ngx_str_set(&argv[2], "uid");
    ngx_str_set(&argv[4], "pid");
    ngx_str_set(&argv[6], "created");
    ngx_str_set(&argv[8], "auth_at");
    ngx_str_set(&argv[10], "csrf");
    argv[11] = s->csrf;

    if (ngx_http_csibiz_integer(r, &argv[3], user_id) != NGX_OK
        || ngx_http_csibiz_integer(r, &argv[5], person_id) != NGX_OK
        || ngx_http_csibiz_sprintf(r, &argv[7], "%T", now) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[9] = argv[7];

    ngx_http_csibiz_redis_append(rop, 12, argv);

    ngx_str_set(&argv[0], "EXPIRE");
    argv[1] = key;

    if (ngx_http_csibiz_sprintf(r, &argv[2], "%T",
                                cmcf->session_idle_timeout)
        != NGX_OK
        || ngx_http_csibiz_session_set_cookie(r, (u_char *) cookie,
                                              ngx_strlen(cookie), 0)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_redis_append(rop, 3, argv);

    ngx_str_set(&argv[2], "1");
    argv[4] = key;

    if (ngx_http_csibiz_sprintf(r, &argv[3], NGX_HTTP_CSIBIZ_SESSION_USER,
                                user_id)
        != NGX_OK
        || ngx_http_csibiz_sprintf(r, &argv[5], "%T", cmcf->session_timeout)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_session_index_script,
                               6, argv);

    return ngx_http_csibiz_session_write(r, rop, s, next, flow);
}


/* every session of a user ends: a command goes into the pipeline rop */

ngx_int_t
ngx_http_csibiz_session_end_user(ngx_http_request_t *r,
    ngx_http_csibiz_redis_op_t *rop, ngx_int_t user_id)
{
    ngx_str_t  argv[4];

    ngx_str_set(&argv[2], "1");

    if (ngx_http_csibiz_sprintf(r, &argv[3], NGX_HTTP_CSIBIZ_SESSION_USER,
                                user_id)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_session_end_script, 4,
                               argv);

    return NGX_OK;
}


/* logout: the session is deleted and the cookie cleared */

ngx_int_t
ngx_http_csibiz_session_destroy(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_str_t                    argv[2];
    ngx_http_csibiz_redis_op_t  *rop;

    if (ngx_http_csibiz_session_set_cookie(r, (u_char *) "", 0, 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);

    ngx_str_set(&argv[0], "DEL");
    argv[1] = s->key;

    ngx_http_csibiz_redis_append(rop, 2, argv);

    s->valid = 0;

    return ngx_http_csibiz_session_write(r, rop, s, next, flow);
}


/* step-up: the password was just entered again */

ngx_int_t
ngx_http_csibiz_session_reauth(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_str_t                    argv[4];
    ngx_http_csibiz_redis_op_t  *rop;

    s->auth_at = ngx_time();

    ngx_str_set(&argv[0], "HSET");
    argv[1] = s->key;
    ngx_str_set(&argv[2], "auth_at");

    if (ngx_http_csibiz_sprintf(r, &argv[3], "%T", s->auth_at) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 4, argv);

    return ngx_http_csibiz_session_write(r, rop, s, next, flow);
}


static ngx_int_t
ngx_http_csibiz_session_written(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_session_ctx_t *sctx = flow;

    ngx_uint_t  i;

    for (i = 0; i < res->nreplies; i++) {
        if (res->replies[i]->type == REDIS_REPLY_ERROR) {
            return ngx_http_csibiz_redis_refused(r, res->replies[i],
                                                 "a session command");
        }
    }

    return sctx->next(r, sctx->flow, res);
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
