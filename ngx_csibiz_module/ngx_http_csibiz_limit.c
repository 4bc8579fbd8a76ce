
/*
 * GCRA (the generic cell rate algorithm, as nginx's limit_req counts
 * leaky buckets): each window keeps one number in Redis, the theoretical
 * arrival time of the next request; a request is allowed when that time
 * is at most burst intervals ahead of now.  Times are Redis's own clock,
 * the same for every node.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_limit.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"


typedef struct {
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
} ngx_http_csibiz_limit_t;


static ngx_int_t ngx_http_csibiz_limit_address(ngx_http_request_t *r,
    const char *name, ngx_http_csibiz_rate_t *rate,
    ngx_http_csibiz_step_pt next, void *flow);
static ngx_int_t ngx_http_csibiz_limit(ngx_http_request_t *r,
    const char *name, const char *scope, u_char *msg, size_t len,
    ngx_http_csibiz_rate_t *rate, ngx_http_csibiz_step_pt next, void *flow);
static ngx_int_t ngx_http_csibiz_limit_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


/*
 * KEYS: the window.  ARGV: the interval (ms), the burst.  Returns 0 when
 * allowed (and counted), else the milliseconds until a request would be.
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_limit_script =
    ngx_http_csibiz_redis_script(
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local interval = tonumber(ARGV[1])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
    "if tat < now then tat = now end\n"
    "local wait = tat + interval - interval * tonumber(ARGV[2]) - now\n"
    "if wait > 0 then return wait end\n"
    "redis.call('SET', KEYS[1], tat + interval, 'PX', tat + interval - now)\n"
    "return 0\n");


ngx_int_t
ngx_http_csibiz_limit_client(ngx_http_request_t *r, const char *name,
    ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return ngx_http_csibiz_limit_address(r, name, &cmcf->limit_client, next,
                                         flow);
}


/* GET /api/captcha: its own window, "csibiz:limit:captcha:client:..." */

ngx_int_t
ngx_http_csibiz_limit_captcha(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return ngx_http_csibiz_limit_address(r, "captcha", &cmcf->limit_captcha,
                                         next, flow);
}


static ngx_int_t
ngx_http_csibiz_limit_address(ngx_http_request_t *r, const char *name,
    ngx_http_csibiz_rate_t *rate, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_str_t  client;

    if (ngx_http_csibiz_client(r, &client) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_limit(r, name, "client", client.data, client.len,
                                 rate, next, flow);
}


ngx_int_t
ngx_http_csibiz_limit_identity(ngx_http_request_t *r, const char *name,
    u_char *index, size_t len, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return ngx_http_csibiz_limit(r, name, "identity", index, len,
                                 &cmcf->limit_identity, next, flow);
}


/* "csibiz:limit:NAME:SCOPE:" + hex(HMAC(limit subkey, msg)) */

static ngx_int_t
ngx_http_csibiz_limit(ngx_http_request_t *r, const char *name,
    const char *scope, u_char *msg, size_t len, ngx_http_csibiz_rate_t *rate,
    ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_str_t                     argv[6], prefix;
    ngx_http_csibiz_limit_t      *lim;
    ngx_http_csibiz_result_t      off;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       mac[CSIBIZ_HMACBYTES];

    if (rate->interval == 0) {
        ngx_memzero(&off, sizeof(ngx_http_csibiz_result_t));
        return next(r, flow, &off);
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    lim = ngx_palloc(r->pool, sizeof(ngx_http_csibiz_limit_t));
    if (lim == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lim->next = next;
    lim->flow = flow;

    ngx_str_set(&argv[2], "1");

    if (csibiz_hmac_label(cmcf->session_key, "limit", msg, len, mac) != 0
        || ngx_http_csibiz_sprintf(r, &prefix, "csibiz:limit:%s:%s:%Z",
                                   name, scope)
           != NGX_OK
        || ngx_http_csibiz_hex(r, &argv[3], (const char *) prefix.data, mac,
                               CSIBIZ_HMACBYTES)
           != NGX_OK
        || ngx_http_csibiz_sprintf(r, &argv[4], "%M", rate->interval)
           != NGX_OK
        || ngx_http_csibiz_integer(r, &argv[5], rate->burst) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_limit_script, 6, argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_limit_checked,
                                      lim);
}


static ngx_int_t
ngx_http_csibiz_limit_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_limit_t *lim = flow;

    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type != REDIS_REPLY_INTEGER) {
        return ngx_http_csibiz_redis_refused(r, reply, "the limit script");
    }

    if (reply->integer > 0) {
        return ngx_http_csibiz_fail_retry_after(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                                "rate_limited",
                                                (reply->integer + 999)
                                                / 1000);
    }

    return lim->next(r, lim->flow, res);
}


/*
 * csibiz_limit_client rate=60r/m [burst=30] | off;
 * csibiz_limit_identity rate=10r/m [burst=10] | off;
 * csibiz_limit_captcha rate=30r/m [burst=30] | off;
 */

char *
ngx_http_csibiz_limit_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    size_t                   len;
    ngx_int_t                n, scale;
    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_http_csibiz_rate_t  *rate;

    rate = (ngx_http_csibiz_rate_t *) (p + cmd->offset);

    if (rate->burst != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0)
    {
        rate->interval = 0;
        rate->burst = 0;
        return NGX_CONF_OK;
    }

    rate->interval = 0;
    rate->burst = 1;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {

            len = value[i].len;
            scale = 0;

            if (len > 8
                && ngx_strncmp(value[i].data + len - 3, "r/s", 3) == 0)
            {
                scale = 1;

            } else if (len > 8
                       && ngx_strncmp(value[i].data + len - 3, "r/m", 3) == 0)
            {
                scale = 60;
            }

            n = ngx_atoi(value[i].data + 5, len - 8);

            if (scale == 0 || n <= 0 || n > 1000) {
                goto invalid;
            }

            rate->interval = (ngx_msec_t) (scale * 1000 / n);
            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {

            n = ngx_atoi(value[i].data + 6, value[i].len - 6);

            if (n <= 0 || n > 100000) {
                goto invalid;
            }

            rate->burst = n;
            continue;
        }

        goto invalid;
    }

    if (rate->interval == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "no \"rate=\" given");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}
