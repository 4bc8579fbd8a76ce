
/*
 * csibiz: directives, configuration, worker start and stop, and the
 * content handler that dispatches a location to its API handler.
 */


#include "ngx_http_csibiz_module.h"


static void *ngx_http_csibiz_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_csibiz_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_csibiz_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_csibiz_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_csibiz_postgres(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_csibiz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void ngx_http_csibiz_pool_conf_init(ngx_http_csibiz_pool_conf_t *pcf,
    ngx_msec_t timeout);
static ngx_int_t ngx_http_csibiz_parse_pool_param(ngx_conf_t *cf,
    ngx_str_t *param, ngx_http_csibiz_pool_conf_t *pcf);
static ngx_int_t ngx_http_csibiz_init_process(ngx_cycle_t *cycle);
static void ngx_http_csibiz_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_csibiz_handler(ngx_http_request_t *r);


/* the API handlers a location can name with "csibiz NAME;" */

static ngx_http_csibiz_handler_t  ngx_http_csibiz_handlers[] = {

    { ngx_string("health"),
      NGX_HTTP_GET|NGX_HTTP_HEAD,
      ngx_http_csibiz_health_handler },

    { ngx_string("test"),
      NGX_HTTP_GET,
      ngx_http_csibiz_test_handler },

    { ngx_null_string, 0, NULL }
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

    { ngx_string("csibiz"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_csibiz,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_csibiz_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_csibiz_create_main_conf,      /* create main configuration */
    NULL,                                  /* init main configuration */

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
    NULL,                                  /* init module */
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
     *     cmcf->redis_pool = NULL;
     *     cmcf->pg_pool = NULL;
     */

    return cmcf;
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

    return clcf;
}


static char *
ngx_http_csibiz_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_csibiz_loc_conf_t *prev = parent;
    ngx_http_csibiz_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->handler, prev->handler, NULL);

    return NGX_CONF_OK;
}


static void
ngx_http_csibiz_pool_conf_init(ngx_http_csibiz_pool_conf_t *pcf,
    ngx_msec_t timeout)
{
    pcf->size = 16;
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

    ngx_http_csibiz_pool_conf_init(&rcf->pool, 1000);

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

    ngx_int_t                   rc;
    ngx_str_t                  *value;
    ngx_uint_t                  i;
    ngx_http_csibiz_pg_conf_t  *pcf;

    if (cmcf->postgres) {
        return "is duplicate";
    }

    pcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_csibiz_pg_conf_t));
    if (pcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    /* configuration values are NUL-terminated, as libpq needs */
    pcf->conninfo = value[1];

    if (ngx_http_csibiz_pg_check_conninfo(cf, &pcf->conninfo)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_http_csibiz_pool_conf_init(&pcf->pool, 5000);

    for (i = 2; i < cf->args->nelts; i++) {

        rc = ngx_http_csibiz_parse_pool_param(cf, &value[i], &pcf->pool);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    cmcf->postgres = pcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_csibiz(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_csibiz_loc_conf_t *clcf = conf;

    ngx_str_t                 *value;
    ngx_http_csibiz_handler_t *h;
    ngx_http_core_loc_conf_t  *core;

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

    clcf->handler = h;

    core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    core->handler = ngx_http_csibiz_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_csibiz_init_process(ngx_cycle_t *cycle)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_csibiz_module);

    if (cmcf == NULL) {
        return NGX_OK;
    }

    if (cmcf->redis
        && ngx_http_csibiz_redis_init_process(cycle, cmcf->redis,
                                              &cmcf->redis_pool)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cmcf->postgres
        && ngx_http_csibiz_pg_init_process(cycle, cmcf->postgres,
                                           &cmcf->pg_pool)
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
}


static ngx_int_t
ngx_http_csibiz_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_csibiz_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & clcf->handler->methods)) {
        return ngx_http_csibiz_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                          "method_not_allowed",
                                          "不支持该请求方法。");
    }

    return clcf->handler->handler(r);
}
