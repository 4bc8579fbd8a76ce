
/*
 * csibiz: the self-service portal of the resident medical insurance for
 * students and children, as an nginx module.
 *
 * This header holds what every part shares: the configuration and the
 * handler table.  Each subsystem has a header of its own (step, pool,
 * redis, postgres, thread, session, proof, request, response, status);
 * a file includes the ones whose API it uses.
 */


#ifndef _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <csibiz_crypto.h>
#include <csibiz_validate.h>


typedef struct ngx_http_csibiz_pool_s        ngx_http_csibiz_pool_t;
typedef struct ngx_http_csibiz_redis_conf_s  ngx_http_csibiz_redis_conf_t;
typedef struct ngx_http_csibiz_pg_conf_s     ngx_http_csibiz_pg_conf_t;
typedef struct ngx_http_csibiz_session_s     ngx_http_csibiz_session_t;


/* what others may know of a backend's connection pool (the metrics) */

typedef struct {
    ngx_uint_t                     size;
    ngx_uint_t                     busy;
    ngx_uint_t                     idle;
    ngx_uint_t                     waiting;
} ngx_http_csibiz_pool_state_t;


void ngx_http_csibiz_pool_state(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_pool_state_t *state);


/* module configuration */

/* where a directive was read, for a check made once the http{} is read */

typedef struct {
    u_char                        *file;
    ngx_uint_t                     line;
} ngx_http_csibiz_conf_pos_t;


/* a request rate: one per interval sustained, burst at once */

typedef struct {
    ngx_msec_t                     interval;   /* 0: off */
    ngx_uint_t                     burst;
} ngx_http_csibiz_rate_t;


typedef struct {
    ngx_http_csibiz_redis_conf_t  *redis;
    ngx_http_csibiz_pg_conf_t     *postgres;
    ngx_http_csibiz_pg_conf_t     *postgres_read;  /* standbys */

    ngx_str_t                      secret_file;
    ngx_flag_t                     have_keys;
    uint8_t                        session_key[CSIBIZ_KEYBYTES];
    uint8_t                        index_key[CSIBIZ_KEYBYTES];
    uint8_t                        seal_key[CSIBIZ_KEYBYTES];  /* id 1 */
    uint8_t                        sms_key[CSIBIZ_KEYBYTES];
    uint8_t                        log_key[CSIBIZ_KEYBYTES];
    csibiz_hmac_key_t              session_mac;    /* session_key, padded */
    csibiz_keyring_t               seal_ring;      /* [0] seals */

    ngx_str_t                      thread_pool_name;
    ngx_thread_pool_t             *thread_pool;
    ngx_uint_t                     need_threads;   /* unsigned :1 */

    ngx_flag_t                     captcha;
    time_t                         captcha_ttl;
    time_t                         sms_code_ttl;

    ngx_str_t                      session_cookie;
    ngx_flag_t                     session_secure;
    ngx_http_csibiz_conf_pos_t     session_secure_pos;
    time_t                         session_idle_timeout;
    time_t                         session_timeout;

    /*
     * for tests: the time every request is judged at and its writes are
     * dated with (for PostgreSQL), and its day in China (for the module)
     */
    ngx_str_t                      test_now;
    csibiz_date_t                  test_day;

    /* the day of the next month from which a debit's result is shown */
    ngx_int_t                      payment_result_day;

    /* the flows that hash a password: their limits */
    ngx_http_csibiz_rate_t         limit_client;
    ngx_http_csibiz_rate_t         limit_identity;
    ngx_http_csibiz_rate_t         limit_captcha;  /* per client */
    ngx_int_t                      hash_queue;     /* per worker */

    /* this worker's pools, set in init_process */
    ngx_http_csibiz_pool_t        *redis_pool;
    ngx_http_csibiz_pool_t        *pg_pool;
    ngx_http_csibiz_pool_t        *pg_read_pool;

    ngx_shm_zone_t                *status_zone;

    /* the "csibiz" locations, ngx_http_csibiz_use_t: checked at the end */
    ngx_array_t                    uses;
} ngx_http_csibiz_main_conf_t;


/*
 * The handler table: what a handler needs before it runs.  The dispatcher
 * checks the method, reads the JSON body, loads the session, and then
 * calls handler(r, session); session is NULL when none is needed, and an
 * empty session (valid == 0) when an optional one is missing.
 */

typedef ngx_int_t (*ngx_http_csibiz_handler_pt)(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);


/* needs */
#define NGX_HTTP_CSIBIZ_BODY        0x01  /* a JSON body, parsed */
#define NGX_HTTP_CSIBIZ_THREADS     0x02  /* the thread pool */
#define NGX_HTTP_CSIBIZ_KEYS        0x04  /* csibiz_secret_file */
#define NGX_HTTP_CSIBIZ_NEED_REDIS  0x08  /* csibiz_redis */
#define NGX_HTTP_CSIBIZ_NEED_PG     0x10  /* csibiz_postgres */
#define NGX_HTTP_CSIBIZ_READS       0x20  /* only reads: a standby may answer */
#define NGX_HTTP_CSIBIZ_WRITES      0x40  /* the session's reads: primary */

/* session */
#define NGX_HTTP_CSIBIZ_SESSION_NONE      0
#define NGX_HTTP_CSIBIZ_SESSION_OPTIONAL  1  /* loaded if there is one */
#define NGX_HTTP_CSIBIZ_SESSION_REQUIRED  2  /* else 401; CSRF if writing */
#define NGX_HTTP_CSIBIZ_SESSION_TOUCH     4  /* reading it slides it */


typedef struct {
    ngx_str_t                      name;
    ngx_uint_t                     methods;
    ngx_uint_t                     needs;
    ngx_uint_t                     session;
    ngx_uint_t                     stepup;    /* judges a recent password */
    ngx_http_csibiz_handler_pt     handler;
} ngx_http_csibiz_handler_t;


/* a "csibiz NAME;" location: what its rows need, where it was read */

typedef struct {
    ngx_http_csibiz_handler_t     *handler;   /* the first of its name */
    ngx_uint_t                     needs;
    ngx_http_csibiz_conf_pos_t     pos;
} ngx_http_csibiz_use_t;


typedef struct {
    ngx_http_csibiz_handler_t     *handler;   /* the first of its name */
    size_t                         body_limit;
    ngx_array_t                   *origins;   /* of ngx_str_t */
} ngx_http_csibiz_loc_conf_t;


/* the API handlers, one row per name and methods */

ngx_int_t ngx_http_csibiz_health_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_test_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_agreement_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_captcha_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_sms_send_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_register_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_password_reset_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_login_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_logout_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_reauth_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_session_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_banks_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_account_get_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_account_put_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_me_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_declarations_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_payments_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
ngx_int_t ngx_http_csibiz_status_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);

char *ngx_http_csibiz_test_now(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


extern ngx_http_csibiz_handler_t  ngx_http_csibiz_handlers[];
extern ngx_module_t  ngx_http_csibiz_module;


#endif /* _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_ */
