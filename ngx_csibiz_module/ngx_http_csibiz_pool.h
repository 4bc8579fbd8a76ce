
/*
 * Per-worker connection pools: the part the protocol drivers share.
 * Only the drivers (Redis, PostgreSQL) and the configuration see this.
 */


#ifndef _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"


/*
 * A per-worker pool of connections to one backend, each carrying many
 * operations at once (Redis pipelining, libpq's pipeline mode): an
 * operation goes on the least busy connection, a new connection is
 * opened only while every open one is busy, and the replies come back in
 * the order the operations were sent.  The generic part (the order of
 * operations on a connection, their timeouts, the bound on operations in
 * flight, idle keepalive, back-off while the backend is down) lives in
 * ngx_http_csibiz_pool.c; the protocol drivers plug in through three
 * callbacks and report each operation's end with pool_done().
 */

typedef struct {
    ngx_uint_t                     size;
    ngx_uint_t                     queue;
    ngx_msec_t                     connect_timeout;
    ngx_msec_t                     timeout;
    ngx_msec_t                     queue_timeout;   /* accepted, unused */
    ngx_msec_t                     keepalive_timeout;
} ngx_http_csibiz_pool_conf_t;


typedef struct ngx_http_csibiz_peer_s  ngx_http_csibiz_peer_t;
typedef struct ngx_http_csibiz_op_s    ngx_http_csibiz_op_t;


/* an operation on a connection, in the order of its replies */

typedef struct {
    ngx_http_csibiz_op_t          *op;         /* NULL: its request went */
    ngx_msec_t                     start;
    ngx_uint_t                     skip;       /* the driver's replies */
    ngx_uint_t                     left;       /* the op's, still to come */
    ngx_uint_t                     data;       /* the driver's */
} ngx_http_csibiz_slot_t;


typedef ngx_int_t (*ngx_http_csibiz_peer_connect_pt)(
    ngx_http_csibiz_peer_t *peer);
typedef ngx_int_t (*ngx_http_csibiz_peer_send_pt)(
    ngx_http_csibiz_peer_t *peer, ngx_http_csibiz_slot_t *slot);
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

    ngx_uint_t                     nops;       /* in flight */
    ngx_uint_t                     capacity;   /* the most in flight */

    ngx_uint_t                     connects;
    ngx_uint_t                     failures;

    /* back-off while the backend is down: no reconnect storm */
    ngx_msec_t                     backoff;
    ngx_msec_t                     retry_at;
    ngx_uint_t                     down;       /* unsigned down:1; */

    /* connect: started (NGX_OK) or not; the driver calls pool_ready() */
    ngx_http_csibiz_peer_connect_pt  connect;
    /* send: the op of the slot, on a ready connection; sets slot->left */
    ngx_http_csibiz_peer_send_pt     send;
    ngx_http_csibiz_peer_close_pt    close;
};


struct ngx_http_csibiz_peer_s {
    ngx_http_csibiz_pool_t        *pool;
    ngx_connection_t              *connection;

    /* the ops on it, a ring: the first nsent are sent, in their order */
    ngx_http_csibiz_slot_t        *slots;
    ngx_uint_t                     head;
    ngx_uint_t                     nslots;
    ngx_uint_t                     nsent;

    unsigned                       ready:1;
};


/*
 * One operation of a request on a backend: a pipeline of Redis commands,
 * or one PostgreSQL statement.  It lives in the request pool; a cleanup
 * detaches it if the request goes away first.
 */

struct ngx_http_csibiz_op_s {
    ngx_http_request_t            *request;
    ngx_http_csibiz_pool_t        *pool;
    ngx_http_csibiz_pool_t        *fallback;   /* tried if pool fails it */
    ngx_http_csibiz_slot_t        *slot;       /* while on a connection */
    ngx_event_t                    event;      /* a failure, posted */
    ngx_int_t                      status;
    ngx_msec_t                     start;      /* for $csibiz_backend_time */

    /* where the request goes on: the driver fills in the result */
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
    void                         (*result)(ngx_http_csibiz_op_t *op,
                                           ngx_http_csibiz_result_t *res);
    ngx_http_csibiz_op_free_pt     free;

    /* an op of no request (a batch): where it ends, op->status set */
    void                         (*finish)(ngx_http_csibiz_op_t *op);

    unsigned                       done:1;
};


ngx_int_t ngx_http_csibiz_pool_init(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_peer_t *peers, size_t peer_size, ngx_cycle_t *cycle);
void ngx_http_csibiz_pool_cleanup(ngx_http_csibiz_pool_t *pool);
ngx_int_t ngx_http_csibiz_pool_run(ngx_http_csibiz_op_t *op);
ngx_int_t ngx_http_csibiz_pool_hold(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_pool_end(ngx_http_csibiz_op_t *op, ngx_int_t status);
void ngx_http_csibiz_pool_place(ngx_http_csibiz_op_t *op);
void ngx_http_csibiz_pool_ready(ngx_http_csibiz_peer_t *peer);
ngx_http_csibiz_slot_t *ngx_http_csibiz_pool_head(
    ngx_http_csibiz_peer_t *peer);
void ngx_http_csibiz_pool_done(ngx_http_csibiz_peer_t *peer,
    ngx_int_t status);
void ngx_http_csibiz_pool_close_peer(ngx_http_csibiz_peer_t *peer);
ngx_uint_t ngx_http_csibiz_pool_idle_event(ngx_http_csibiz_peer_t *peer,
    ngx_event_t *ev);
void ngx_http_csibiz_pool_timed_out(ngx_http_csibiz_peer_t *peer);


/* the backends' configuration */

struct ngx_http_csibiz_redis_conf_s {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_addr_t                     addr;       /* or: */
    ngx_array_t                   *sentinels;  /* of ngx_addr_t */
    ngx_str_t                      master;     /* the Sentinels' name */
    ngx_str_t                      sentinel_password;
    ngx_str_t                      password;
    ngx_int_t                      db;
};


struct ngx_http_csibiz_pg_conf_s {
    ngx_http_csibiz_pool_conf_t    pool;
    ngx_str_t                      conninfo;
    time_t                         after_write;  /* role=read */

    /* the conninfo's host, hostaddr and port lists, rotated on timeouts */
    ngx_uint_t                     nhosts;
    char                          *lists[3];
};


ngx_int_t ngx_http_csibiz_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_redis_conf_t *rcf, ngx_http_csibiz_pool_t **pool);
void ngx_http_csibiz_redis_exit_process(ngx_http_csibiz_pool_t *pool);
ngx_int_t ngx_http_csibiz_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_pg_conf_t *pcf, const char *name,
    ngx_http_csibiz_pool_t **pool);
char *ngx_http_csibiz_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_csibiz_pg_conf_t *pcf);


#endif /* _NGX_HTTP_CSIBIZ_POOL_H_INCLUDED_ */
