
/*
 * Per-worker connection pools: the part the protocol drivers share.
 * Only the drivers (Redis, PostgreSQL) and the configuration see this.
 */


#ifndef _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


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


typedef struct ngx_http_csibiz_peer_s  ngx_http_csibiz_peer_t;
typedef struct ngx_http_csibiz_op_s    ngx_http_csibiz_op_t;


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

    /* where the request goes on: the driver fills in the result */
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
    void                         (*result)(ngx_http_csibiz_op_t *op,
                                           ngx_http_csibiz_result_t *res);
    ngx_http_csibiz_op_free_pt     free;

    unsigned                       waiting:1;
    unsigned                       done:1;
};


ngx_int_t ngx_http_csibiz_pool_begin(ngx_http_csibiz_op_t *op,
    ngx_pool_cleanup_pt cleanup);
void ngx_http_csibiz_pool_fail(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_pool_complete(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_pool_up(ngx_http_csibiz_pool_t *pool);
void ngx_http_csibiz_pool_down(ngx_http_csibiz_pool_t *pool);
ngx_uint_t ngx_http_csibiz_pool_backing_off(ngx_http_csibiz_pool_t *pool);
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



/* the backends' configuration */

struct ngx_http_csibiz_redis_conf_s {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_addr_t                     addr;
    ngx_str_t                      password;
    ngx_int_t                      db;
};


struct ngx_http_csibiz_pg_conf_s {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_str_t                      conninfo;
};


ngx_int_t ngx_http_csibiz_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_redis_conf_t *rcf, ngx_http_csibiz_pool_t **pool);
void ngx_http_csibiz_redis_cleanup(ngx_http_csibiz_pool_t *pool);
ngx_int_t ngx_http_csibiz_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_pg_conf_t *pcf, ngx_http_csibiz_pool_t **pool);
char *ngx_http_csibiz_pg_check_conninfo(ngx_conf_t *cf, ngx_str_t *conninfo);


#endif /* _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_ */
