
/*
 * csibiz: directives, configuration, worker start and stop, and the
 * content handler that dispatches a location to its API handler.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_limit.h"
#include "ngx_http_csibiz_pool.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_status.h"

#include <sodium.h>


static ngx_int_t ngx_http_csibiz_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_csibiz_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_csibiz_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_csibiz_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_csibiz_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_csibiz_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_csibiz_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_csibiz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_csibiz_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_csibiz_pool_conf_init(ngx_http_csibiz_pool_conf_t *pcf,
    ngx_uint_t size, ngx_msec_t timeout);
static ngx_int_t ngx_http_csibiz_parse_pool_param(ngx_conf_t *cf,
    ngx_str_t *param, ngx_http_csibiz_pool_conf_t *pcf);
static ngx_int_t ngx_http_csibiz_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_csibiz_init_process(ngx_cycle_t *cycle);
static void ngx_http_csibiz_exit_process(ngx_cycle_t *cycle);


/*
 * The API handlers a location can name with "csibiz NAME;": a name may
 * have several rows, one per method set.  Columns: name, methods, needs,
 * session, step-up, handler.  READS: every statement only reads, so the
 * read pool (standbys) may answer; WRITES: the session's reads go to the
 * primary for a while after it.
 */

ngx_http_csibiz_handler_t  ngx_http_csibiz_handlers[] = {

    { ngx_string("health"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      0,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_health_handler },

    { ngx_string("test"),
      NGX_HTTP_GET,
      0,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_test_handler },

    { ngx_string("agreement"),
      NGX_HTTP_GET,
      0,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_agreement_handler },

    { ngx_string("captcha"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_captcha_handler },

    { ngx_string("sms_send"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_sms_send_handler },

    { ngx_string("register"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_register_handler },

    { ngx_string("password_reset"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_password_reset_handler },

    { ngx_string("login"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_login_handler },

    { ngx_string("logout"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_KEYS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED,
      0,
      ngx_http_csibiz_logout_handler },

    { ngx_string("reauth"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_reauth_handler },

    { ngx_string("session"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_KEYS,
      NGX_HTTP_CSIBIZ_SESSION_OPTIONAL,
      0,
      ngx_http_csibiz_session_handler },

    { ngx_string("session"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_KEYS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_session_handler },

    { ngx_string("banks"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_banks_handler },

    { ngx_string("account"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      1,
      ngx_http_csibiz_account_get_handler },

    { ngx_string("account"),
      NGX_HTTP_PUT,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_WRITES,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      1,
      ngx_http_csibiz_account_put_handler },

    { ngx_string("me"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_me_handler },

    { ngx_string("declarations"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_declarations_handler },

    { ngx_string("payments"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_payments_handler },

    { ngx_string("status"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      0,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_status_handler },

    { ngx_null_string, 0, 0, 0, 0, NULL }
};


/* a debit's result is shown from this day of the next month */
static ngx_conf_num_bounds_t  ngx_http_csibiz_payment_result_day_bounds = {
    ngx_conf_check_num_bounds, 1, 28
};


static ngx_command_t  ngx_http_csibiz_commands[] = {

    { ngx_string("csibiz_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_csibiz_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_csibiz_postgres,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_csibiz_secret_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("csibiz_captcha"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, captcha),
      NULL },

    { ngx_string("csibiz_captcha_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, captcha_ttl),
      NULL },

    { ngx_string("csibiz_sms_code_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, sms_code_ttl),
      NULL },

    { ngx_string("csibiz_session_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, session_cookie),
      NULL },

    { ngx_string("csibiz_session_secure"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, session_secure),
      NULL },

    { ngx_string("csibiz_session_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, session_idle_timeout),
      NULL },

    { ngx_string("csibiz_session_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, session_timeout),
      NULL },

    { ngx_string("csibiz_test_now"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_csibiz_test_now,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_payment_result_day"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, payment_result_day),
      &ngx_http_csibiz_payment_result_day_bounds },

    { ngx_string("csibiz_limit_client"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_csibiz_limit_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, limit_client),
      NULL },

    { ngx_string("csibiz_limit_identity"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_csibiz_limit_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, limit_identity),
      NULL },

    { ngx_string("csibiz_limit_captcha"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_csibiz_limit_rate,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, limit_captcha),
      NULL },

    { ngx_string("csibiz_hash_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, hash_queue),
      NULL },

    { ngx_string("csibiz"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_csibiz,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_body_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_csibiz_loc_conf_t, body_limit),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_csibiz_module_ctx = {
    ngx_http_csibiz_status_add_variables,  /* preconfiguration */
    ngx_http_csibiz_postconfiguration,     /* postconfiguration */

    ngx_http_csibiz_create_main_conf,      /* create main configuration */
    ngx_http_csibiz_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_csibiz_create_loc_conf,       /* create location configuration */
    ngx_http_csibiz_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_csibiz_module = {
    NGX_MODULE_V1,
    &ngx_http_csibiz_module_ctx,           /* module context */
    ngx_http_csibiz_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_csibiz_init_module,           /* init module */
    ngx_http_csibiz_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_csibiz_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_csibiz_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_csibiz_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     cmcf->redis = NULL;
     *     cmcf->postgres = NULL;
     *     cmcf->postgres_read = NULL;
     *     cmcf->secret_file = { 0, NULL };
     *     cmcf->thread_pool_name = { 0, NULL };
     *     cmcf->thread_pool = NULL;
     *     cmcf->need_threads = 0;
     *     cmcf->session_cookie = { 0, NULL };
     *     cmcf->test_now = { 0, NULL };
     *     cmcf->redis_pool = NULL;
     *     cmcf->pg_pool = NULL;
     *     cmcf->pg_read_pool = NULL;
     */

    cmcf->have_keys = 0;
    cmcf->captcha = NGX_CONF_UNSET;
    cmcf->captcha_ttl = NGX_CONF_UNSET;
    cmcf->sms_code_ttl = NGX_CONF_UNSET;
    cmcf->session_secure = NGX_CONF_UNSET;
    cmcf->session_idle_timeout = NGX_CONF_UNSET;
    cmcf->session_timeout = NGX_CONF_UNSET;
    cmcf->payment_result_day = NGX_CONF_UNSET;
    cmcf->limit_client.burst = NGX_CONF_UNSET_UINT;
    cmcf->limit_identity.burst = NGX_CONF_UNSET_UINT;
    cmcf->limit_captcha.burst = NGX_CONF_UNSET_UINT;
    cmcf->hash_queue = NGX_CONF_UNSET;

    return cmcf;
}


static char *
ngx_http_csibiz_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    if (cmcf->session_cookie.data == NULL) {
        ngx_str_set(&cmcf->session_cookie, "__Host-csibiz");
    }

    ngx_conf_init_value(cmcf->captcha, 1);
    ngx_conf_init_value(cmcf->captcha_ttl, 120);
    ngx_conf_init_value(cmcf->sms_code_ttl, 300);
    ngx_conf_init_value(cmcf->session_secure, 1);
    ngx_conf_init_value(cmcf->session_idle_timeout, 900);
    ngx_conf_init_value(cmcf->session_timeout, 12 * 60 * 60);
    ngx_conf_init_value(cmcf->payment_result_day, 5);

    /*
     * a client: one a second, 30 at once; an identity: 10 a minute; a
     * client's captchas: one in 2 seconds, 30 at once
     */

    if (cmcf->limit_client.burst == NGX_CONF_UNSET_UINT) {
        cmcf->limit_client.interval = 1000;
        cmcf->limit_client.burst = 30;
    }

    if (cmcf->limit_identity.burst == NGX_CONF_UNSET_UINT) {
        cmcf->limit_identity.interval = 6000;
        cmcf->limit_identity.burst = 10;
    }

    if (cmcf->limit_captcha.burst == NGX_CONF_UNSET_UINT) {
        cmcf->limit_captcha.interval = 2000;
        cmcf->limit_captcha.burst = 30;
    }

    ngx_conf_init_value(cmcf->hash_queue, 64);

    if (cmcf->postgres_read && cmcf->postgres == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"csibiz_postgres ... role=read\" needs a "
                           "\"csibiz_postgres\" for writes too");
        return NGX_CONF_ERROR;
    }

    if (!cmcf->session_secure
        && ngx_strncmp(cmcf->session_cookie.data, "__Host-", 7) == 0)
    {
        /* browsers drop a __Host- cookie without Secure */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a \"__Host-\" session cookie must be secure: "
                           "rename it with \"csibiz_session_cookie\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Once the whole http{} block is read: handlers that hash passwords get
 * the thread pool, and handlers that need keys get a refusal to start
 * without csibiz_secret_file.
 */

static ngx_int_t
ngx_http_csibiz_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_csibiz_module);

    if (cmcf->need_threads) {
        cmcf->thread_pool = ngx_thread_pool_add(cf,
                                                cmcf->thread_pool_name.len
                                                ? &cmcf->thread_pool_name
                                                : NULL);
        if (cmcf->thread_pool == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_csibiz_status_init(cf);
}


static void *
ngx_http_csibiz_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_csibiz_loc_conf_t  *clcf;

    clcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_csibiz_loc_conf_t));
    if (clcf == NULL) {
        return NULL;
    }

    clcf->handler = NGX_CONF_UNSET_PTR;
    clcf->body_limit = NGX_CONF_UNSET_SIZE;

    return clcf;
}


static char *
ngx_http_csibiz_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_csibiz_loc_conf_t *prev = parent;
    ngx_http_csibiz_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->handler, prev->handler, NULL);
    ngx_conf_merge_size_value(conf->body_limit, prev->body_limit, 16384);

    return NGX_CONF_OK;
}


static void
ngx_http_csibiz_pool_conf_init(ngx_http_csibiz_pool_conf_t *pcf,
    ngx_uint_t size, ngx_msec_t timeout)
{
    pcf->size = size;
    pcf->queue = 1024;
    pcf->connect_timeout = 1000;
    pcf->timeout = timeout;
    pcf->queue_timeout = 1000;
    pcf->keepalive_timeout = 60000;
}


/*
 * The pool parameters both backends share.  NGX_DECLINED: not a pool
 * parameter, the caller may know it.
 */

static ngx_int_t
ngx_http_csibiz_parse_pool_param(ngx_conf_t *cf, ngx_str_t *param,
    ngx_http_csibiz_pool_conf_t *pcf)
{
    ngx_int_t    n;
    ngx_str_t    s;
    ngx_uint_t   i;
    ngx_msec_t  *msec;

    static struct {
        ngx_str_t   name;
        size_t      offset;
    } timeouts[] = {
        { ngx_string("connect_timeout="),
          offsetof(ngx_http_csibiz_pool_conf_t, connect_timeout) },
        { ngx_string("timeout="),
          offsetof(ngx_http_csibiz_pool_conf_t, timeout) },
        { ngx_string("queue_timeout="),
          offsetof(ngx_http_csibiz_pool_conf_t, queue_timeout) },
        { ngx_string("keepalive_timeout="),
          offsetof(ngx_http_csibiz_pool_conf_t, keepalive_timeout) },
    };

    if (ngx_strncmp(param->data, "pool=", 5) == 0) {
        n = ngx_atoi(param->data + 5, param->len - 5);

        if (n == NGX_ERROR || n == 0) {
            goto invalid;
        }

        pcf->size = n;
        return NGX_OK;
    }

    if (ngx_strncmp(param->data, "queue=", 6) == 0) {
        n = ngx_atoi(param->data + 6, param->len - 6);

        if (n == NGX_ERROR) {
            goto invalid;
        }

        pcf->queue = n;
        return NGX_OK;
    }

    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        if (param->len < timeouts[i].name.len
            || ngx_strncmp(param->data, timeouts[i].name.data,
                           timeouts[i].name.len) != 0)
        {
            continue;
        }

        s.data = param->data + timeouts[i].name.len;
        s.len = param->len - timeouts[i].name.len;

        n = ngx_parse_time(&s, 0);

        if (n == NGX_ERROR || n == 0) {
            goto invalid;
        }

        msec = (ngx_msec_t *) ((u_char *) pcf + timeouts[i].offset);
        *msec = (ngx_msec_t) n;

        return NGX_OK;
    }

    return NGX_DECLINED;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\"", param);

    return NGX_ERROR;
}


static char *
ngx_http_csibiz_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    ngx_int_t                      rc;
    ngx_str_t                     *value;
    ngx_url_t                      u;
    ngx_uint_t                     i;
    ngx_http_csibiz_redis_conf_t  *rcf;

    if (cmcf->redis) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_csibiz_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = value[1];
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis address \"%V\"", u.err, &u.url);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for redis \"%V\"", &u.url);
        return NGX_CONF_ERROR;
    }

    rcf->addr = u.addrs[0];

    /* Redis connections are shared by every request: a few suffice */
    ngx_http_csibiz_pool_conf_init(&rcf->pool, 2, 1000);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            rcf->password.data = value[i].data + 9;
            rcf->password.len = value[i].len - 9;

            if (rcf->password.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rcf->db = ngx_atoi(value[i].data + 3, value[i].len - 3);

            if (rcf->db == NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        rc = ngx_http_csibiz_parse_pool_param(cf, &value[i], &rcf->pool);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    cmcf->redis = rcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_csibiz_postgres(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    time_t                      after_write;
    ngx_int_t                   rc;
    ngx_str_t                  *value, s;
    ngx_uint_t                  i, read;
    ngx_http_csibiz_pg_conf_t  *pcf;

    pcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_csibiz_pg_conf_t));
    if (pcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    /* configuration values are NUL-terminated, as libpq needs */
    pcf->conninfo = value[1];

    if (ngx_http_csibiz_pg_check_conninfo(cf, pcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_http_csibiz_pool_conf_init(&pcf->pool, 16, 5000);

    read = 0;
    after_write = NGX_CONF_UNSET;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "role=read") == 0) {
            read = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "role=write") == 0) {
            read = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "after_write=", 12) == 0) {
            s.data = value[i].data + 12;
            s.len = value[i].len - 12;

            after_write = ngx_parse_time(&s, 1);

            if (after_write == (time_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        rc = ngx_http_csibiz_parse_pool_param(cf, &value[i], &pcf->pool);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    if (!read && after_write != NGX_CONF_UNSET) {
        return "takes \"after_write=\" with \"role=read\" only";
    }

    /* reads after a parent's own write: the primary's for this long */
    pcf->after_write = (after_write == NGX_CONF_UNSET) ? 10 : after_write;

    if (read) {
        if (cmcf->postgres_read) {
            return "is duplicate";
        }

        cmcf->postgres_read = pcf;

    } else {
        if (cmcf->postgres) {
            return "is duplicate";
        }

        cmcf->postgres = pcf;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_csibiz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_loc_conf_t *clcf = conf;

    ngx_str_t                    *value;
    ngx_uint_t                    needs;
    ngx_http_csibiz_handler_t    *h, *row;
    ngx_http_core_loc_conf_t     *core;
    ngx_http_csibiz_main_conf_t  *cmcf;

    if (clcf->handler != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (h = ngx_http_csibiz_handlers; h->name.len; h++) {
        if (h->name.len == value[1].len
            && ngx_strncmp(h->name.data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (h->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown csibiz handler \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* the rows of the name, one per method set: what any of them needs */

    needs = 0;

    for (row = h; row->name.len == h->name.len; row++) {
        if (ngx_strncmp(row->name.data, h->name.data, h->name.len) != 0) {
            break;
        }

        needs |= row->needs;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_csibiz_module);

    if ((needs & NGX_HTTP_CSIBIZ_KEYS) && !cmcf->have_keys) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "csibiz handler \"%V\" needs "
                           "\"csibiz_secret_file\" set before it", &h->name);
        return NGX_CONF_ERROR;
    }

    if (needs & NGX_HTTP_CSIBIZ_THREADS) {
        cmcf->need_threads = 1;
    }

    clcf->handler = h;

    core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    core->handler = ngx_http_csibiz_handler;

    return NGX_CONF_OK;
}


/*
 * Reads the secret (32 or more random bytes) in the master, which can read
 * a file that the workers can't, and derives one key per purpose so that
 * no two uses share a key.
 */

static char *
ngx_http_csibiz_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    char         *rv;
    ssize_t       n;
    ngx_str_t    *value;
    ngx_file_t    file;
    ngx_fd_t      fd;
    u_char        buf[1024];
    uint8_t       master[CSIBIZ_KEYBYTES];

    if (cmcf->secret_file.data) {
        return "is duplicate";
    }

    if (sodium_init() == -1) {
        return "could not initialize libsodium";
    }

    value = cf->args->elts;
    cmcf->secret_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &cmcf->secret_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(cmcf->secret_file.data, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed",
                           &cmcf->secret_file);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = cmcf->secret_file;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, sizeof(buf), 0);

    rv = NGX_CONF_OK;

    if (n < CSIBIZ_KEYBYTES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" must hold at least %d "
                           "random bytes", &cmcf->secret_file,
                           CSIBIZ_KEYBYTES);
        rv = NGX_CONF_ERROR;

    } else {
        crypto_generichash(master, sizeof(master), buf, n, NULL, 0);

        if (csibiz_derive_key(master, "session", cmcf->session_key) != 0
            || csibiz_derive_key(master, "index", cmcf->index_key) != 0
            || csibiz_derive_key(master, "seal", cmcf->seal_key) != 0
            || csibiz_derive_key(master, "sms", cmcf->sms_key) != 0
            || csibiz_derive_key(master, "log", cmcf->log_key) != 0)
        {
            rv = "could not derive keys";

        } else {
            /* the session key's HMAC runs on every request: pads once */
            csibiz_hmac_key_init(&cmcf->session_mac, cmcf->session_key);
            cmcf->have_keys = 1;
        }
    }

    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(master, sizeof(master));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed",
                           &cmcf->secret_file);
    }

    return rv;
}


static ngx_int_t
ngx_http_csibiz_init_module(ngx_cycle_t *cycle)
{
    if (sodium_init() == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "csibiz: could not initialize libsodium");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_init_process(ngx_cycle_t *cycle)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_csibiz_module);

    if (cmcf == NULL) {
        return NGX_OK;
    }

    if (ngx_http_csibiz_status_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cmcf->redis
        && ngx_http_csibiz_redis_init_process(cycle, cmcf->redis,
                                              &cmcf->redis_pool)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cmcf->postgres
        && ngx_http_csibiz_pg_init_process(cycle, cmcf->postgres, "postgres",
                                           &cmcf->pg_pool)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cmcf->postgres_read
        && ngx_http_csibiz_pg_init_process(cycle, cmcf->postgres_read,
                                           "postgres_read",
                                           &cmcf->pg_read_pool)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* closes the pooled connections before nginx counts leftover sockets */

static void
ngx_http_csibiz_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_csibiz_module);

    if (cmcf == NULL) {
        return;
    }

    if (cmcf->redis_pool) {
        ngx_http_csibiz_pool_cleanup(cmcf->redis_pool);
    }

    if (cmcf->pg_pool) {
        ngx_http_csibiz_pool_cleanup(cmcf->pg_pool);
    }

    if (cmcf->pg_read_pool) {
        ngx_http_csibiz_pool_cleanup(cmcf->pg_read_pool);
    }

    ngx_http_csibiz_status_exit_process(cycle);
}


/*
 * csibiz_test_now "2026-09-25 23:59:00+08";  -- for tests only: the time
 * every request's writes are dated with and its window, debit month and
 * agreement are judged at, instead of PostgreSQL's clock.  Checked here
 * for its form; PostgreSQL reads it as timestamptz.
 */

char *
ngx_http_csibiz_test_now(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    u_char      *s;
    ngx_str_t   *value;
    ngx_uint_t   i;

    static const char  form[] = "dddd-dd-dd dd:dd";

    if (cmcf->test_now.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    s = value[1].data;

    if (value[1].len < sizeof(form) - 1 || value[1].len > 40) {
        goto invalid;
    }

    for (i = 0; i < sizeof(form) - 1; i++) {
        if (form[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != form[i]) {
            goto invalid;
        }
    }

    for ( /* void */ ; i < value[1].len; i++) {
        if (ngx_strchr("0123456789:.+- ", s[i]) == NULL) {
            goto invalid;
        }
    }

    /* the module's own idea of "today", for the ID number's birth date */

    if (csibiz_date_in_china((const char *) s, value[1].len,
                             &cmcf->test_day)
        != 0)
    {
        goto invalid;
    }

    cmcf->test_now = value[1];

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "csibiz_test_now \"%V\": the declaration window "
                       "ignores the clock; for tests only", &value[1]);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid csibiz_test_now \"%V\": "
                       "\"YYYY-MM-DD HH:MM[:SS][+HH]\" expected", &value[1]);

    return NGX_CONF_ERROR;
}
