
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
static char *ngx_http_csibiz_seal_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_csibiz_key_file(ngx_conf_t *cf, ngx_str_t *name,
    uint8_t master[CSIBIZ_KEYBYTES]);
static void ngx_http_csibiz_hmac_key_cleanup(void *data);
static char *ngx_http_csibiz_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_csibiz_session_cookie(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_csibiz_session_secure(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_csibiz_origin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_csibiz_check_uses(ngx_conf_t *cf,
    ngx_http_csibiz_main_conf_t *cmcf);
static void ngx_http_csibiz_conf_pos(ngx_conf_t *cf,
    ngx_http_csibiz_conf_pos_t *pos);
static void ngx_http_csibiz_pool_conf_init(ngx_http_csibiz_pool_conf_t *pcf,
    ngx_uint_t size, ngx_msec_t timeout);
static ngx_int_t ngx_http_csibiz_parse_pool_param(ngx_conf_t *cf,
    ngx_str_t *param, ngx_http_csibiz_pool_conf_t *pcf);
static ngx_int_t ngx_http_csibiz_redis_addr(ngx_conf_t *cf, ngx_str_t *url,
    in_port_t port, void *addr, ngx_uint_t one);
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
      NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_health_handler },

    { ngx_string("test"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_test_handler },

    { ngx_string("agreement"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_agreement_handler },

    { ngx_string("captcha"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS|NGX_HTTP_CSIBIZ_NEED_REDIS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_captcha_handler },

    { ngx_string("sms_send"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS
      |NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_sms_send_handler },

    { ngx_string("register"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS
      |NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_register_handler },

    { ngx_string("password_reset"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS
      |NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_password_reset_handler },

    { ngx_string("login"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS
      |NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_login_handler },

    { ngx_string("logout"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED,
      0,
      ngx_http_csibiz_logout_handler },

    { ngx_string("reauth"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_THREADS
      |NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_reauth_handler },

    { ngx_string("session"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS,
      NGX_HTTP_CSIBIZ_SESSION_OPTIONAL,
      0,
      ngx_http_csibiz_session_handler },

    { ngx_string("session"),
      NGX_HTTP_POST,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_session_handler },

    { ngx_string("banks"),
      NGX_HTTP_GET,
      NGX_HTTP_CSIBIZ_NEED_PG|NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_NONE,
      0,
      ngx_http_csibiz_banks_handler },

    { ngx_string("account"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG
      |NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      1,
      ngx_http_csibiz_account_get_handler },

    { ngx_string("account"),
      NGX_HTTP_PUT,
      NGX_HTTP_CSIBIZ_BODY|NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS
      |NGX_HTTP_CSIBIZ_NEED_PG|NGX_HTTP_CSIBIZ_WRITES,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      1,
      ngx_http_csibiz_account_put_handler },

    { ngx_string("me"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG
      |NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_me_handler },

    { ngx_string("declarations"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG
      |NGX_HTTP_CSIBIZ_READS,
      NGX_HTTP_CSIBIZ_SESSION_REQUIRED|NGX_HTTP_CSIBIZ_SESSION_TOUCH,
      0,
      ngx_http_csibiz_declarations_handler },

    { ngx_string("payments"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      NGX_HTTP_CSIBIZ_KEYS|NGX_HTTP_CSIBIZ_NEED_REDIS|NGX_HTTP_CSIBIZ_NEED_PG
      |NGX_HTTP_CSIBIZ_READS,
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

    { ngx_string("csibiz_seal_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_csibiz_seal_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("csibiz_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_csibiz_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
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
      ngx_http_csibiz_session_cookie,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_csibiz_main_conf_t, session_cookie),
      NULL },

    { ngx_string("csibiz_session_secure"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_http_csibiz_session_secure,
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

    { ngx_string("csibiz_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_csibiz_origin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
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
     *     cmcf->seal_ring = { 0 };
     *     cmcf->thread_pool_name = { 0, NULL };
     *     cmcf->thread_pool = NULL;
     *     cmcf->need_threads = 0;
     *     cmcf->session_cookie = { 0, NULL };
     *     cmcf->test_now = { 0, NULL };
     *     cmcf->redis_pool = NULL;
     *     cmcf->pg_pool = NULL;
     *     cmcf->session_secure_pos = { NULL, 0 };
     *     cmcf->pg_read_pool = NULL;
     */

    if (ngx_array_init(&cmcf->uses, cf->pool, 16,
                       sizeof(ngx_http_csibiz_use_t))
        != NGX_OK)
    {
        return NULL;
    }

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

    /*
     * without csibiz_seal_key the secret file's own seal key, id 1, seals
     * and opens: what every version before key rotation did
     */

    if (cmcf->seal_ring.n == 0 && cmcf->have_keys
        && csibiz_keyring_add(&cmcf->seal_ring, 1, cmcf->seal_key) != 0)
    {
        return "could not add the seal key";
    }

    ngx_explicit_memzero(cmcf->seal_key, CSIBIZ_KEYBYTES);

    /*
     * browsers drop a __Host- or __Secure- cookie without Secure (and
     * match the prefixes in any case): every login would seem to fail;
     * secure is off only when set so, at the line named
     */

    if (!cmcf->session_secure
        && ((cmcf->session_cookie.len > 7
             && ngx_strncasecmp(cmcf->session_cookie.data,
                                (u_char *) "__Host-", 7) == 0)
            || (cmcf->session_cookie.len > 9
                && ngx_strncasecmp(cmcf->session_cookie.data,
                                   (u_char *) "__Secure-", 9) == 0)))
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"csibiz_session_secure off\" with the session "
                      "cookie \"%V\", which browsers accept only with "
                      "Secure: name the cookie without its prefix with "
                      "\"csibiz_session_cookie\" in %s:%ui",
                      &cmcf->session_cookie, cmcf->session_secure_pos.file,
                      cmcf->session_secure_pos.line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Once the whole http{} block is read, so that the backends and the key
 * may be set anywhere in it: a location whose handler needs one that is
 * not set is refused at its own line, as nginx -t shows it; handlers that
 * hash passwords get the default thread pool unless csibiz_thread_pool
 * named one.
 */

static ngx_int_t
ngx_http_csibiz_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_csibiz_module);

    if (ngx_http_csibiz_check_uses(cf, cmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_csibiz_request_body_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cmcf->need_threads && cmcf->thread_pool == NULL) {
        cmcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (cmcf->thread_pool == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_csibiz_status_init(cf);
}


static ngx_int_t
ngx_http_csibiz_check_uses(ngx_conf_t *cf, ngx_http_csibiz_main_conf_t *cmcf)
{
    char                   *missing;
    ngx_uint_t              i;
    ngx_http_csibiz_use_t  *use;

    use = cmcf->uses.elts;

    for (i = 0; i < cmcf->uses.nelts; i++) {

        if ((use[i].needs & NGX_HTTP_CSIBIZ_NEED_REDIS)
            && cmcf->redis == NULL)
        {
            missing = "csibiz_redis";

        } else if ((use[i].needs & NGX_HTTP_CSIBIZ_NEED_PG)
                   && cmcf->postgres == NULL)
        {
            missing = "csibiz_postgres";

        } else if ((use[i].needs & NGX_HTTP_CSIBIZ_KEYS) && !cmcf->have_keys)
        {
            missing = "csibiz_secret_file";

        } else {
            continue;
        }

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "csibiz handler \"%V\" needs \"%s\" in http{} "
                      "in %s:%ui", &use[i].handler->name, missing,
                      use[i].pos.file, use[i].pos.line);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the directive being read, for an error found once http{} is read */

static void
ngx_http_csibiz_conf_pos(ngx_conf_t *cf, ngx_http_csibiz_conf_pos_t *pos)
{
    pos->file = cf->conf_file->file.name.data;
    pos->line = cf->conf_file->line;
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
    clcf->origins = NGX_CONF_UNSET_PTR;

    return clcf;
}


static char *
ngx_http_csibiz_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_csibiz_loc_conf_t *prev = parent;
    ngx_http_csibiz_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->handler, prev->handler, NULL);
    ngx_conf_merge_size_value(conf->body_limit, prev->body_limit, 16384);
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);

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


/*
 * csibiz_redis address | sentinel=address... master=name [params]: one
 * server, or the master that Redis Sentinels name (asked by each new
 * connection, see ngx_http_csibiz_redis.c)
 */

static char *
ngx_http_csibiz_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    ngx_int_t                      rc;
    ngx_str_t                     *value;
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

    /* Redis connections are shared by every request: a few suffice */
    ngx_http_csibiz_pool_conf_init(&rcf->pool, 2, 1000);

    i = 1;

    if (ngx_strncmp(value[1].data, "sentinel=", 9) != 0) {
        if (ngx_http_csibiz_redis_addr(cf, &value[1], 6379, &rcf->addr, 1)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        i = 2;
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "sentinel=", 9) == 0) {
            if (rcf->addr.sockaddr) {
                return "takes an address or sentinel=, not both";
            }

            if (rcf->sentinels == NULL) {
                rcf->sentinels = ngx_array_create(cf->pool, 3,
                                                  sizeof(ngx_addr_t));
                if (rcf->sentinels == NULL) {
                    return NGX_CONF_ERROR;
                }
            }

            value[i].data += 9;
            value[i].len -= 9;

            if (ngx_http_csibiz_redis_addr(cf, &value[i], 26379,
                                           rcf->sentinels, 0)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "master=", 7) == 0) {
            rcf->master.data = value[i].data + 7;
            rcf->master.len = value[i].len - 7;

            if (rcf->master.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "sentinel_password=", 18) == 0) {
            rcf->sentinel_password.data = value[i].data + 18;
            rcf->sentinel_password.len = value[i].len - 18;

            if (rcf->sentinel_password.len == 0) {
                goto invalid;
            }

            continue;
        }

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

    if (rcf->sentinels && rcf->master.len == 0) {
        return "needs master= with sentinel=";
    }

    if (rcf->sentinels == NULL
        && (rcf->master.len || rcf->sentinel_password.len))
    {
        return "takes master= and sentinel_password= only with sentinel=";
    }

    cmcf->redis = rcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * A Redis server's or Sentinel's address, resolved once: the first
 * address into "addr" (one), or every one onto the array "addr" (many)
 */

static ngx_int_t
ngx_http_csibiz_redis_addr(ngx_conf_t *cf, ngx_str_t *url, in_port_t port,
    void *addr, ngx_uint_t one)
{
    ngx_url_t    u;
    ngx_uint_t   i;
    ngx_addr_t  *a;

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *url;
    u.default_port = port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in redis address \"%V\"", u.err, &u.url);
        }

        return NGX_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for redis \"%V\"", &u.url);
        return NGX_ERROR;
    }

    if (one) {
        *(ngx_addr_t *) addr = u.addrs[0];
        return NGX_OK;
    }

    for (i = 0; i < u.naddrs; i++) {
        a = ngx_array_push(addr);
        if (a == NULL) {
            return NGX_ERROR;
        }

        *a = u.addrs[i];
    }

    return NGX_OK;
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
    ngx_http_csibiz_use_t        *use;
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

    /* what it needs is checked once the http{} block is read */

    use = ngx_array_push(&cmcf->uses);
    if (use == NULL) {
        return NGX_CONF_ERROR;
    }

    use->handler = h;
    use->needs = needs;
    ngx_http_csibiz_conf_pos(cf, &use->pos);

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

    char                *rv;
    ngx_str_t           *value;
    ngx_pool_cleanup_t  *cln;
    uint8_t              master[CSIBIZ_KEYBYTES];

    if (cmcf->secret_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    cmcf->secret_file = value[1];

    if (ngx_http_csibiz_key_file(cf, &cmcf->secret_file, master) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_OK;

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

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            csibiz_hmac_key_free(&cmcf->session_mac);
            rv = NGX_CONF_ERROR;

        } else {
            cln->handler = ngx_http_csibiz_hmac_key_cleanup;
            cln->data = &cmcf->session_mac;
        }
    }

    sodium_memzero(master, sizeof(master));

    return rv;
}


/* the old cycle's prepared session key, when a reload or exit frees it */

static void
ngx_http_csibiz_hmac_key_cleanup(void *data)
{
    csibiz_hmac_key_free(data);
}


/*
 * csibiz_seal_key file id=N: a sealing key of its own, derived from the
 * file as the secret file's seal key is (so the secret file itself,
 * given as id=1, is the key of the versions before rotation).  The
 * first one seals; every one opens what carries its id.
 */

static char *
ngx_http_csibiz_seal_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    char       *rv;
    ngx_int_t   id;
    ngx_str_t  *value, name;
    uint8_t     master[CSIBIZ_KEYBYTES], key[CSIBIZ_KEYBYTES];

    value = cf->args->elts;

    if (value[2].len <= 3 || ngx_strncmp(value[2].data, "id=", 3) != 0) {
        return "needs \"id=\" with a number from 1 to 255";
    }

    id = ngx_atoi(value[2].data + 3, value[2].len - 3);

    if (id < 1 || id > 255) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid key id \"%V\": a number from 1 to 255",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (csibiz_keyring_key(&cmcf->seal_ring, id) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate seal key id %i", id);
        return NGX_CONF_ERROR;
    }

    if (cmcf->seal_ring.n >= CSIBIZ_KEYRING_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many seal keys: at most %d",
                           CSIBIZ_KEYRING_MAX);
        return NGX_CONF_ERROR;
    }

    name = value[1];

    if (ngx_http_csibiz_key_file(cf, &name, master) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_OK;

    if (csibiz_derive_key(master, "seal", key) != 0) {
        rv = "could not derive the seal key";

    } else if (csibiz_keyring_add(&cmcf->seal_ring, id, key) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "seal key \"%V\" is given twice, under another "
                           "id too", &name);
        rv = NGX_CONF_ERROR;
    }

    sodium_memzero(master, sizeof(master));
    sodium_memzero(key, sizeof(key));

    return rv;
}


/*
 * A key file: a regular file that only its owner may read or write
 * (nginx -t fails otherwise, naming it), with at least 32 random bytes,
 * of which the first 1024 are hashed into master.  name is made absolute.
 */

static ngx_int_t
ngx_http_csibiz_key_file(ngx_conf_t *cf, ngx_str_t *name,
    uint8_t master[CSIBIZ_KEYBYTES])
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_int_t        rc;
    ngx_file_t       file;
    ngx_file_info_t  fi;
    u_char           buf[1024];

    if (sodium_init() == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "could not initialize libsodium");
        return NGX_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", name);
        goto close;
    }

    /* a key anyone else can read is no secret; one they can write, ours */
    if (!ngx_is_file(&fi) || (ngx_file_access(&fi) & 077)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "key file \"%V\" must be a file that group and "
                           "others can neither read nor write: "
                           "chmod 600 it", name);
        goto close;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *name;
    file.log = cf->log;

    n = ngx_read_file(&file, buf, sizeof(buf), 0);

    if (n < CSIBIZ_KEYBYTES) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" must hold at least %d "
                           "random bytes", name, CSIBIZ_KEYBYTES);

    } else {
        crypto_generichash(master, CSIBIZ_KEYBYTES, buf, n, NULL, 0);
        rc = NGX_OK;
    }

    sodium_memzero(buf, sizeof(buf));

close:

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", name);
    }

    return rc;
}


/*
 * The pool is added here, not when the http{} block ends, so that nginx
 * names this line when no "thread_pool" declares it.
 */

static char *
ngx_http_csibiz_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    ngx_str_t  *value;

    if (cmcf->thread_pool_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a thread pool's name";
    }

    cmcf->thread_pool_name = value[1];

    cmcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (cmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A cookie name is an HTTP token: anything else (";", "=", a space) would
 * be read by the browser as the cookie's attributes or value.
 */

static char *
ngx_http_csibiz_session_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char      c;
    ngx_str_t  *value;
    ngx_uint_t  i;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a cookie name";
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || ngx_strchr("!#$%&'*+-.^_`|~", c) != NULL)
        {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid session cookie name \"%V\": letters, "
                           "digits and !#$%%&'*+-.^_`|~ only", &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_conf_set_str_slot(cf, cmd, conf);
}


static char *
ngx_http_csibiz_session_secure(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_csibiz_main_conf_t *cmcf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK) {
        ngx_http_csibiz_conf_pos(cf, &cmcf->session_secure_pos);
    }

    return rv;
}


/*
 * csibiz_origin https://portal.example.cn ...;  the origins the pages are
 * served from, for a proxy in front that rewrites Host: "scheme://host"
 * with an optional port, nothing after it.
 */

static char *
ngx_http_csibiz_origin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_loc_conf_t *clcf = conf;

    u_char      *p, *last;
    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (clcf->origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_str_t));
    if (clcf->origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        p = value[i].data;
        last = p + value[i].len;

        if (value[i].len > 8 && ngx_strncmp(p, "https://", 8) == 0) {
            p += 8;

        } else if (value[i].len > 7 && ngx_strncmp(p, "http://", 7) == 0) {
            p += 7;

        } else {
            goto invalid;
        }

        if (*p == ':') {
            goto invalid;
        }

        for ( /* void */ ; p < last; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                || (*p >= '0' && *p <= '9')
                || *p == '.' || *p == '-' || *p == ':'
                || *p == '[' || *p == ']')
            {
                continue;
            }

            goto invalid;
        }

        origin = ngx_array_push(clcf->origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid origin \"%V\": \"https://host[:port]\" "
                       "expected, without a path", &value[i]);

    return NGX_CONF_ERROR;
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
        ngx_http_csibiz_redis_exit_process(cmcf->redis_pool);
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
