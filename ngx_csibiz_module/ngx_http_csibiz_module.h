
/*
 * csibiz: the self-service portal of the resident medical insurance for
 * students and children, as an nginx module.
 */


#ifndef _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <csibiz_crypto.h>
#include <csibiz_json.h>
#include <csibiz_lang.h>
#include <csibiz_validate.h>


/* what a backend operation ended with, as seen by its handler */
#define NGX_HTTP_CSIBIZ_OK           0
#define NGX_HTTP_CSIBIZ_UNAVAILABLE  1   /* down, timed out, queue full */
#define NGX_HTTP_CSIBIZ_QUERY_ERROR  2   /* PostgreSQL answered an error */


typedef struct ngx_http_csibiz_pool_s  ngx_http_csibiz_pool_t;
typedef struct ngx_http_csibiz_peer_s  ngx_http_csibiz_peer_t;
typedef struct ngx_http_csibiz_op_s    ngx_http_csibiz_op_t;


/*
 * A per-worker pool of connections to one backend.  The generic part
 * (bounded size, FIFO wait queue, idle keepalive, back-off while the
 * backend is down) lives in ngx_http_csibiz_pool.c; the protocol drivers
 * (Redis, PostgreSQL) plug in through the three callbacks.
 */

typedef struct {
    ngx_uint_t                     size;
    ngx_uint_t                     queue;
    ngx_msec_t                     connect_timeout;
    ngx_msec_t                     timeout;
    ngx_msec_t                     queue_timeout;
    ngx_msec_t                     keepalive_timeout;
} ngx_http_csibiz_pool_conf_t;


typedef ngx_int_t (*ngx_http_csibiz_peer_connect_pt)(
    ngx_http_csibiz_peer_t *peer);
typedef void (*ngx_http_csibiz_peer_start_pt)(ngx_http_csibiz_peer_t *peer);
typedef void (*ngx_http_csibiz_peer_close_pt)(ngx_http_csibiz_peer_t *peer);
typedef void (*ngx_http_csibiz_op_free_pt)(ngx_http_csibiz_op_t *op);


struct ngx_http_csibiz_pool_s {
    ngx_http_csibiz_pool_conf_t   *conf;
    void                          *driver_conf;
    void                          *data;       /* driver state */
    ngx_str_t                      name;
    ngx_log_t                     *log;

    u_char                        *peers;
    size_t                         peer_size;

    ngx_queue_t                    free;       /* unused peer slots */
    ngx_queue_t                    idle;       /* connected, no op */
    ngx_queue_t                    waiting;    /* ops waiting for a peer */
    ngx_uint_t                     nwaiting;

    ngx_uint_t                     connects;
    ngx_uint_t                     failures;

    /* back-off while the backend is down: no reconnect storm */
    ngx_msec_t                     backoff;
    ngx_msec_t                     retry_at;
    ngx_uint_t                     down;       /* unsigned down:1; */

    ngx_http_csibiz_peer_connect_pt  connect;
    ngx_http_csibiz_peer_start_pt    start;
    ngx_http_csibiz_peer_close_pt    close;
};


struct ngx_http_csibiz_peer_s {
    ngx_queue_t                    queue;
    ngx_http_csibiz_pool_t        *pool;
    ngx_connection_t              *connection;
    ngx_http_csibiz_op_t          *op;
    void                          *data;       /* driver state */
    unsigned                       connected:1;
    unsigned                       idle:1;
};


/*
 * One operation of a request on a backend: a pipeline of Redis commands,
 * or one PostgreSQL statement.  It lives in the request pool; a cleanup
 * detaches it if the request goes away first.
 */

struct ngx_http_csibiz_op_s {
    ngx_queue_t                    queue;
    ngx_http_request_t            *request;
    ngx_http_csibiz_pool_t        *pool;
    ngx_http_csibiz_peer_t        *peer;
    ngx_event_t                    event;      /* queue timeout, posting */
    ngx_int_t                      status;
    ngx_msec_t                     start;      /* for $csibiz_backend_time */

    /* called once: calls the user handler, returns its finalize code */
    ngx_int_t                    (*complete)(ngx_http_csibiz_op_t *op);
    ngx_http_csibiz_op_free_pt     free;

    unsigned                       waiting:1;
    unsigned                       done:1;
};


void ngx_http_csibiz_pool_init(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_peer_t *peers, size_t peer_size, ngx_log_t *log);
void ngx_http_csibiz_pool_cleanup(ngx_http_csibiz_pool_t *pool);
ngx_int_t ngx_http_csibiz_pool_run(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_pool_connected(ngx_http_csibiz_peer_t *peer);
void ngx_http_csibiz_pool_connect_failed(ngx_http_csibiz_peer_t *peer);
void ngx_http_csibiz_pool_finish(ngx_http_csibiz_peer_t *peer,
    ngx_int_t status, ngx_uint_t reusable);
void ngx_http_csibiz_pool_close_peer(ngx_http_csibiz_peer_t *peer);
void ngx_http_csibiz_pool_idle_handler(ngx_event_t *ev);


/* Redis */

typedef struct {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_addr_t                     addr;
    ngx_str_t                      password;
    ngx_int_t                      db;
} ngx_http_csibiz_redis_conf_t;


typedef ngx_int_t (*ngx_http_csibiz_redis_handler_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);


typedef struct ngx_http_csibiz_redis_op_s  ngx_http_csibiz_redis_op_t;


ngx_http_csibiz_redis_op_t *ngx_http_csibiz_redis_create(
    ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_redis_append(ngx_http_csibiz_redis_op_t *rop,
    ngx_uint_t argc, ngx_str_t *argv);
ngx_int_t ngx_http_csibiz_redis_send(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_redis_handler_pt handler, void *data);
ngx_int_t ngx_http_csibiz_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_redis_conf_t *rcf, ngx_http_csibiz_pool_t **pool);


/* PostgreSQL */

typedef struct {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_str_t                      conninfo;
} ngx_http_csibiz_pg_conf_t;


/*
 * A statement is declared once, statically; each connection prepares it
 * on first use and then runs it by name.
 */

typedef struct {
    const char                    *name;
    const char                    *sql;
    int                            nparams;
    ngx_uint_t                     index;      /* 0: not numbered yet */
} ngx_http_csibiz_pg_stmt_t;

#define ngx_http_csibiz_pg_stmt(name, sql, nparams)                         \
    { name, sql, nparams, 0 }


typedef ngx_int_t (*ngx_http_csibiz_pg_handler_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);


ngx_int_t ngx_http_csibiz_pg_query(ngx_http_request_t *r,
    ngx_http_csibiz_pg_stmt_t *stmt, ngx_str_t *params,
    ngx_http_csibiz_pg_handler_pt handler, void *data);
ngx_int_t ngx_http_csibiz_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_pg_conf_t *pcf, ngx_http_csibiz_pool_t **pool);
char *ngx_http_csibiz_pg_check_conninfo(ngx_conf_t *cf, ngx_str_t *conninfo);


/* module configuration */

typedef struct {
    ngx_http_csibiz_redis_conf_t  *redis;
    ngx_http_csibiz_pg_conf_t     *postgres;

    ngx_str_t                      secret_file;
    ngx_flag_t                     have_keys;
    uint8_t                        session_key[CSIBIZ_KEYBYTES];
    uint8_t                        index_key[CSIBIZ_KEYBYTES];
    uint8_t                        seal_key[CSIBIZ_KEYBYTES];
    uint8_t                        sms_key[CSIBIZ_KEYBYTES];
    uint8_t                        log_key[CSIBIZ_KEYBYTES];
    csibiz_hmac_key_t              session_mac;    /* session_key, padded */

    ngx_str_t                      thread_pool_name;
    ngx_thread_pool_t             *thread_pool;
    ngx_uint_t                     need_threads;   /* unsigned :1 */

    ngx_flag_t                     captcha;
    time_t                         captcha_ttl;
    time_t                         sms_code_ttl;

    ngx_str_t                      session_cookie;
    ngx_flag_t                     session_secure;
    time_t                         session_idle_timeout;
    time_t                         session_timeout;

    /* for tests: the time the declaration window is judged at */
    ngx_str_t                      test_now;

    /* the day of the next month from which a debit's result is shown */
    ngx_int_t                      payment_result_day;

    /* this worker's pools, set in init_process */
    ngx_http_csibiz_pool_t        *redis_pool;
    ngx_http_csibiz_pool_t        *pg_pool;

    ngx_shm_zone_t                *status_zone;
} ngx_http_csibiz_main_conf_t;


typedef ngx_int_t (*ngx_http_csibiz_handler_pt)(ngx_http_request_t *r);


/* what a handler needs before it runs */
#define NGX_HTTP_CSIBIZ_BODY      0x01    /* a JSON body, parsed */
#define NGX_HTTP_CSIBIZ_THREADS   0x02    /* the thread pool */
#define NGX_HTTP_CSIBIZ_KEYS      0x04    /* csibiz_secret_file */


typedef struct {
    ngx_str_t                      name;
    ngx_uint_t                     methods;
    ngx_uint_t                     needs;
    ngx_http_csibiz_handler_pt     handler;
} ngx_http_csibiz_handler_t;


typedef struct {
    ngx_http_csibiz_handler_t     *handler;
    size_t                         body_limit;
} ngx_http_csibiz_loc_conf_t;


/* CPU-heavy work in the thread pool */

typedef void (*ngx_http_csibiz_work_pt)(void *data);
typedef ngx_int_t (*ngx_http_csibiz_work_done_pt)(ngx_http_request_t *r,
    void *data);

ngx_int_t ngx_http_csibiz_thread_run(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_work_done_pt done,
    void *data);


/* requests and responses */

#define NGX_HTTP_CSIBIZ_MAX_FIELDS  32
#define NGX_HTTP_CSIBIZ_INVALID_MAX  512


typedef struct {
    csibiz_lang_t                  lang;
    void                          *data;       /* the handler's state */
    size_t                         nfields;
    csibiz_json_field_t            fields[NGX_HTTP_CSIBIZ_MAX_FIELDS];

    /* the body's field errors, as JSON members: "phone":"format",… */
    size_t                         invalid_len;
    u_char                         invalid[NGX_HTTP_CSIBIZ_INVALID_MAX];

    /* for the metrics and the access log */
    const char                    *error;      /* the error answer's code */
    ngx_uint_t                     error_index;
    ngx_int_t                      user_id;
    ngx_msec_t                     backend_time;
    ngx_uint_t                     backend_ops;
} ngx_http_csibiz_ctx_t;


ngx_http_csibiz_ctx_t *ngx_http_csibiz_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_field(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_csibiz_field_required(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
void ngx_http_csibiz_field_invalid(ngx_http_request_t *r, const char *name,
    const char *reason);
ngx_uint_t ngx_http_csibiz_fields_invalid(ngx_http_request_t *r);
void ngx_http_csibiz_trim(ngx_str_t *value);
ngx_int_t ngx_http_csibiz_identity_fields(ngx_http_request_t *r,
    char *id_number, char *si_card, char *phone, csibiz_date_t *birth);
ngx_int_t ngx_http_csibiz_fail_invalid(ngx_http_request_t *r);

ngx_int_t ngx_http_csibiz_send_body(ngx_http_request_t *r, u_char *body,
    size_t len);
ngx_int_t ngx_http_csibiz_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len);
ngx_int_t ngx_http_csibiz_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code);
ngx_int_t ngx_http_csibiz_fail_extra(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, ngx_str_t *extra);
ngx_int_t ngx_http_csibiz_fail_retry_after(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, long long seconds);
ngx_int_t ngx_http_csibiz_send_unavailable(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_fail_backend(ngx_http_request_t *r,
    ngx_int_t status);
ngx_uint_t ngx_http_csibiz_message_count(void);
const char *ngx_http_csibiz_message_code(ngx_uint_t i);


/* sessions */

/* how long a password entered at login or reauth allows bank writes */
#define NGX_HTTP_CSIBIZ_REAUTH_VALID  1200


typedef struct {
    ngx_uint_t                     valid;
    ngx_str_t                      key;        /* in Redis */
    ngx_int_t                      user_id;
    ngx_int_t                      person_id;
    time_t                         created;
    time_t                         auth_at;    /* password last entered */
    time_t                         idle_left;
    ngx_str_t                      csrf;
} ngx_http_csibiz_session_t;


typedef ngx_int_t (*ngx_http_csibiz_session_pt)(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);


ngx_int_t ngx_http_csibiz_session_load(ngx_http_request_t *r,
    ngx_http_csibiz_session_pt next, ngx_uint_t require, ngx_uint_t touch);
ngx_int_t ngx_http_csibiz_session_create(ngx_http_request_t *r,
    ngx_int_t user_id, ngx_int_t person_id, ngx_http_csibiz_session_pt next);
ngx_int_t ngx_http_csibiz_session_destroy(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_session_pt next);
ngx_int_t ngx_http_csibiz_session_reauth(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_session_pt next);


/*
 * Checks that other handlers use: next(r, data, rc) is called with NGX_OK
 * (passed; a captcha or code is used up by passing) or NGX_DECLINED
 * (wrong, expired or used up); a backend outage is answered with 503
 * before next would be called.
 */

typedef ngx_int_t (*ngx_http_csibiz_check_pt)(ngx_http_request_t *r,
    void *data, ngx_int_t rc);

ngx_int_t ngx_http_csibiz_captcha_check(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *answer, ngx_http_csibiz_check_pt next,
    void *data);
ngx_int_t ngx_http_csibiz_sms_check(ngx_http_request_t *r,
    ngx_str_t *purpose, ngx_str_t *phone, ngx_str_t *code,
    ngx_http_csibiz_check_pt next, void *data);


/* handlers */

ngx_int_t ngx_http_csibiz_health_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_test_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_agreement_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_captcha_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_sms_send_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_register_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_login_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_logout_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_reauth_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_session_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_banks_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_account_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_csibiz_me_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_declarations_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_payments_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_csibiz_status_handler(ngx_http_request_t *r);

char *ngx_http_csibiz_test_now(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/*
 * Shared by the handlers whose SQL functions answer a row (status, code,
 * body, replayed): code NULL and the body to send, or an error code of the
 * catalogue and its extra members (ngx_http_csibiz_bank.c).
 */

ngx_int_t ngx_http_csibiz_account_done(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res);
ngx_int_t ngx_http_csibiz_bank_integer(ngx_http_request_t *r, ngx_str_t *dst,
    ngx_int_t n);


/*
 * Metrics (ngx_http_csibiz_status.c): counters in a shared memory zone,
 * summed over all workers.
 */

#define NGX_HTTP_CSIBIZ_STAT_CONNECTS          0
#define NGX_HTTP_CSIBIZ_STAT_CONNECT_FAILURES  1
#define NGX_HTTP_CSIBIZ_STAT_TIMEOUTS          2
#define NGX_HTTP_CSIBIZ_STAT_UNAVAILABLE       3
#define NGX_HTTP_CSIBIZ_STAT_QUERY_ERRORS      4
#define NGX_HTTP_CSIBIZ_STAT_BACKEND_N         5

#define NGX_HTTP_CSIBIZ_STAT_SMS_SENT          0
#define NGX_HTTP_CSIBIZ_STAT_LOGINS_FAILED     1
#define NGX_HTTP_CSIBIZ_STAT_ACCOUNTS_LOCKED   2
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_JOBS       3
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_DONE       4
#define NGX_HTTP_CSIBIZ_STAT_ARGON2_REJECTED   5
#define NGX_HTTP_CSIBIZ_STAT_EVENT_N           6

ngx_int_t ngx_http_csibiz_status_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_csibiz_status_init(ngx_conf_t *cf);
ngx_int_t ngx_http_csibiz_status_init_process(ngx_cycle_t *cycle);
void ngx_http_csibiz_status_exit_process(ngx_cycle_t *cycle);
void ngx_http_csibiz_status_backend(ngx_http_csibiz_pool_t *pool,
    ngx_uint_t what);
void ngx_http_csibiz_status_event(ngx_uint_t what);
void ngx_http_csibiz_status_op(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_status_user(ngx_http_request_t *r, ngx_int_t user_id);


extern ngx_http_csibiz_handler_t  ngx_http_csibiz_handlers[];
extern ngx_module_t  ngx_http_csibiz_module;


#endif /* _NGX_HTTP_CSIBIZ_MODULE_H_INCLUDED_ */
