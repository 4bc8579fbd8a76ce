
/*
 * Per-worker backend connection pools: a bounded number of connections,
 * a FIFO queue of operations waiting for one, idle keepalive, and back-off
 * while the backend is down.  The protocol drivers do the I/O.
 *
 * An operation never completes synchronously inside the call that started
 * it: failures are posted as events, work on a connection starts from its
 * (posted) write event.  So a content handler always returns NGX_DONE
 * before its callback runs, and the request count stays balanced.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_pool.h"
#include "ngx_http_csibiz_status.h"


#define NGX_HTTP_CSIBIZ_BACKOFF_MIN  100
#define NGX_HTTP_CSIBIZ_BACKOFF_MAX  1000


static void ngx_http_csibiz_pool_attach(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_op_t *op);
static void ngx_http_csibiz_pool_connect_peer(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_op_t *op);
static void ngx_http_csibiz_pool_release(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_pool_next(ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_pool_fail_waiting(ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_pool_op_handler(ngx_event_t *ev);
static void ngx_http_csibiz_pool_op_cleanup(void *data);
static void ngx_http_csibiz_pool_dummy_handler(ngx_event_t *ev);


void
ngx_http_csibiz_pool_init(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_peer_t *peers, size_t peer_size, ngx_log_t *log)
{
    u_char                  *p;
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    ngx_queue_init(&pool->free);
    ngx_queue_init(&pool->idle);
    ngx_queue_init(&pool->waiting);

    pool->log = log;
    pool->peers = (u_char *) peers;
    pool->peer_size = peer_size;

    p = (u_char *) peers;

    for (i = 0; i < pool->conf->size; i++) {
        peer = (ngx_http_csibiz_peer_t *) (p + i * peer_size);
        peer->pool = pool;
        ngx_queue_insert_tail(&pool->free, &peer->queue);
    }
}


void
ngx_http_csibiz_pool_cleanup(ngx_http_csibiz_pool_t *pool)
{
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    for (i = 0; i < pool->conf->size; i++) {
        peer = (ngx_http_csibiz_peer_t *) (pool->peers + i * pool->peer_size);

        if (peer->connection) {
            if (peer->op) {
                peer->op->peer = NULL;
                peer->op = NULL;
            }

            ngx_http_csibiz_pool_close_peer(peer);
        }
    }
}


/*
 * What every operation does first, whatever its driver: the request is
 * suspended (count++) and "cleanup" runs if the request goes away before
 * the operation ends.
 */

ngx_int_t
ngx_http_csibiz_pool_begin(ngx_http_csibiz_op_t *op,
    ngx_pool_cleanup_pt cleanup)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r;

    r = op->request;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = cleanup;
    cln->data = op;

    op->event.handler = ngx_http_csibiz_pool_op_handler;
    op->event.data = op;
    op->event.log = r->connection->log;
    op->start = ngx_current_msec;

    r->main->count++;

    ngx_http_csibiz_status_backend(op->pool, NGX_HTTP_CSIBIZ_STAT_OPERATIONS);

    return NGX_OK;
}


/*
 * Starts an operation of a request: the request is suspended (count++)
 * and op->next() is called later from an event.  Returns NGX_DONE, or
 * NGX_ERROR if nothing was started.
 */

ngx_int_t
ngx_http_csibiz_pool_run(ngx_http_csibiz_op_t *op)
{
    ngx_queue_t             *q;
    ngx_http_request_t      *r;
    ngx_http_csibiz_peer_t  *peer;
    ngx_http_csibiz_pool_t  *pool;

    r = op->request;
    pool = op->pool;

    if (ngx_http_csibiz_pool_begin(op, ngx_http_csibiz_pool_op_cleanup)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ngx_queue_empty(&pool->idle)) {
        q = ngx_queue_head(&pool->idle);
        ngx_queue_remove(q);

        peer = ngx_queue_data(q, ngx_http_csibiz_peer_t, queue);
        ngx_http_csibiz_pool_attach(peer, op);

        return NGX_DONE;
    }

    if (!ngx_queue_empty(&pool->free)) {
        ngx_http_csibiz_pool_connect_peer(pool, op);
        return NGX_DONE;
    }

    if (pool->nwaiting >= pool->conf->queue) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "csibiz: %V pool and its queue of %ui are full",
                      &pool->name, pool->conf->queue);
        ngx_http_csibiz_pool_fail(op);
        return NGX_DONE;
    }

    ngx_queue_insert_tail(&pool->waiting, &op->queue);
    pool->nwaiting++;
    op->waiting = 1;

    ngx_add_timer(&op->event, pool->conf->queue_timeout);

    return NGX_DONE;
}


/* hands a connected peer to an operation; the driver starts the I/O */

static void
ngx_http_csibiz_pool_attach(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_op_t *op)
{
    ngx_connection_t  *c;

    c = peer->connection;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    c->read->cancelable = 0;
    c->idle = 0;
    peer->idle = 0;
    c->log = op->request->connection->log;
    c->read->log = c->log;
    c->write->log = c->log;

    peer->op = op;
    op->peer = peer;

    peer->pool->start(peer);
}


static void
ngx_http_csibiz_pool_connect_peer(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_op_t *op)
{
    ngx_queue_t             *q;
    ngx_http_csibiz_peer_t  *peer;

    if (ngx_http_csibiz_pool_backing_off(pool)) {
        /* fail fast while the back-off runs: no reconnect storm */
        ngx_http_csibiz_pool_fail(op);
        return;
    }

    q = ngx_queue_head(&pool->free);
    ngx_queue_remove(q);

    peer = ngx_queue_data(q, ngx_http_csibiz_peer_t, queue);
    peer->op = op;
    peer->connected = 0;
    op->peer = peer;

    pool->connects++;
    ngx_http_csibiz_status_backend(pool, NGX_HTTP_CSIBIZ_STAT_CONNECTS);

    if (pool->connect(peer) != NGX_OK) {
        ngx_http_csibiz_pool_connect_failed(peer);
    }
}


/* called by a driver once a new connection is ready for commands */

void
ngx_http_csibiz_pool_connected(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_pool_t  *pool;

    pool = peer->pool;

    ngx_http_csibiz_pool_up(pool);
    peer->connected = 1;

    if (peer->op) {
        ngx_http_csibiz_pool_attach(peer, peer->op);

    } else {
        ngx_http_csibiz_pool_release(peer);
    }
}


/* a connection was made: the backend is up (again) */

void
ngx_http_csibiz_pool_up(ngx_http_csibiz_pool_t *pool)
{
    if (pool->down) {
        ngx_log_error(NGX_LOG_NOTICE, pool->log, 0,
                      "csibiz: %V is up again", &pool->name);
    }

    pool->down = 0;
    pool->backoff = 0;
}


/* a connection could not be made: a growing back-off starts */

void
ngx_http_csibiz_pool_down(ngx_http_csibiz_pool_t *pool)
{
    pool->failures++;
    ngx_http_csibiz_status_backend(pool,
                                   NGX_HTTP_CSIBIZ_STAT_CONNECT_FAILURES);
    pool->down = 1;
    pool->backoff = pool->backoff ? ngx_min(pool->backoff * 2,
                                            NGX_HTTP_CSIBIZ_BACKOFF_MAX)
                                  : NGX_HTTP_CSIBIZ_BACKOFF_MIN;
    pool->retry_at = ngx_current_msec + pool->backoff;
}


/* while the back-off runs no connection is tried: no reconnect storm */

ngx_uint_t
ngx_http_csibiz_pool_backing_off(ngx_http_csibiz_pool_t *pool)
{
    return pool->down
           && (ngx_msec_int_t) (pool->retry_at - ngx_current_msec) > 0;
}


/*
 * called by a driver (or the pool) when a connection could not be made:
 * the backend counts as down for a growing back-off, and everything that
 * waits for it fails now rather than at its timeout
 */

void
ngx_http_csibiz_pool_connect_failed(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_pool_t  *pool;

    pool = peer->pool;
    op = peer->op;

    peer->op = NULL;

    ngx_http_csibiz_pool_close_peer(peer);
    ngx_http_csibiz_pool_down(pool);

    if (op) {
        op->peer = NULL;
        ngx_http_csibiz_pool_fail(op);
    }

    ngx_http_csibiz_pool_fail_waiting(pool);
}


/*
 * called by a driver when the operation on a peer has ended; "reusable"
 * says whether the connection is clean enough to serve another one
 */

void
ngx_http_csibiz_pool_finish(ngx_http_csibiz_peer_t *peer, ngx_int_t status,
    ngx_uint_t reusable)
{
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_pool_t  *pool;

    pool = peer->pool;
    op = peer->op;

    peer->op = NULL;

    if (op) {
        op->peer = NULL;
        op->status = status;
    }

    if (reusable) {
        ngx_http_csibiz_pool_release(peer);

    } else {
        ngx_http_csibiz_pool_close_peer(peer);
        ngx_http_csibiz_pool_next(pool);
    }

    if (op) {
        ngx_http_csibiz_pool_complete(op);
    }
}


void
ngx_http_csibiz_pool_close_peer(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_pool_t  *pool;

    pool = peer->pool;

    if (peer->idle) {
        ngx_queue_remove(&peer->queue);
        peer->idle = 0;
    }

    if (peer->connection) {
        pool->close(peer);
        peer->connection = NULL;
    }

    peer->connected = 0;
    peer->op = NULL;

    ngx_queue_insert_tail(&pool->free, &peer->queue);
}


static void
ngx_http_csibiz_pool_release(ngx_http_csibiz_peer_t *peer)
{
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_pool_t  *pool;

    pool = peer->pool;

    if (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);
        pool->nwaiting--;

        op = ngx_queue_data(q, ngx_http_csibiz_op_t, queue);
        op->waiting = 0;

        if (op->event.timer_set) {
            ngx_del_timer(&op->event);
        }

        ngx_http_csibiz_pool_attach(peer, op);
        return;
    }

    c = peer->connection;

    c->log = pool->log;
    c->read->log = pool->log;
    c->write->log = pool->log;

    c->read->handler = ngx_http_csibiz_pool_idle_handler;
    c->write->handler = ngx_http_csibiz_pool_dummy_handler;

    /* lets graceful shutdown close it and not wait for the timer */
    c->idle = 1;
    c->read->cancelable = 1;
    ngx_add_timer(c->read, pool->conf->keepalive_timeout);

    /* most recently used first: the rest may expire */
    ngx_queue_insert_head(&pool->idle, &peer->queue);
    peer->idle = 1;
}


/* a slot was freed: the first waiting operation gets a new connection */

static void
ngx_http_csibiz_pool_next(ngx_http_csibiz_pool_t *pool)
{
    ngx_queue_t           *q;
    ngx_http_csibiz_op_t  *op;

    if (ngx_queue_empty(&pool->waiting) || ngx_queue_empty(&pool->free)) {
        return;
    }

    q = ngx_queue_head(&pool->waiting);
    ngx_queue_remove(q);
    pool->nwaiting--;

    op = ngx_queue_data(q, ngx_http_csibiz_op_t, queue);
    op->waiting = 0;

    if (op->event.timer_set) {
        ngx_del_timer(&op->event);
    }

    ngx_http_csibiz_pool_connect_peer(pool, op);
}


/* the failure is delivered from the event loop, never synchronously */

void
ngx_http_csibiz_pool_fail(ngx_http_csibiz_op_t *op)
{
    op->status = NGX_HTTP_CSIBIZ_UNAVAILABLE;

    if (op->event.timer_set) {
        ngx_del_timer(&op->event);
    }

    ngx_post_event(&op->event, &ngx_posted_events);
}


static void
ngx_http_csibiz_pool_fail_waiting(ngx_http_csibiz_pool_t *pool)
{
    ngx_queue_t           *q;
    ngx_http_csibiz_op_t  *op;

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);
        pool->nwaiting--;

        op = ngx_queue_data(q, ngx_http_csibiz_op_t, queue);
        op->waiting = 0;

        ngx_http_csibiz_pool_fail(op);
    }
}


static void
ngx_http_csibiz_pool_op_handler(ngx_event_t *ev)
{
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_pool_t  *pool;

    op = ev->data;
    pool = op->pool;

    if (op->waiting) {
        /* the queue timeout */
        ngx_queue_remove(&op->queue);
        pool->nwaiting--;
        op->waiting = 0;

        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "csibiz: no %V connection free within %M ms",
                      &pool->name, pool->conf->queue_timeout);

        op->status = NGX_HTTP_CSIBIZ_UNAVAILABLE;
    }

    ngx_http_csibiz_pool_complete(op);
}


/* the operation ended: its request goes on with the step it gave */

void
ngx_http_csibiz_pool_complete(ngx_http_csibiz_op_t *op)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_csibiz_result_t   res;

    r = op->request;
    c = r->connection;

    op->done = 1;

    ngx_http_csibiz_status_time(r, op->start);

    if (op->status == NGX_HTTP_CSIBIZ_UNAVAILABLE) {
        ngx_http_csibiz_status_backend(op->pool,
                                       NGX_HTTP_CSIBIZ_STAT_UNAVAILABLE);

    } else if (op->status == NGX_HTTP_CSIBIZ_QUERY_ERROR) {
        ngx_http_csibiz_status_backend(op->pool,
                                       NGX_HTTP_CSIBIZ_STAT_QUERY_ERRORS);
    }

    ngx_memzero(&res, sizeof(ngx_http_csibiz_result_t));
    res.status = op->status;

    if (op->status == NGX_HTTP_CSIBIZ_OK) {
        op->result(op, &res);
    }

    rc = ngx_http_csibiz_step_resume(r, op->next, op->flow, &res);

    if (op->free) {
        op->free(op);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* what the metrics show: walks the slots, only of this worker's pool */

void
ngx_http_csibiz_pool_state(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_pool_state_t *state)
{
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    ngx_memzero(state, sizeof(ngx_http_csibiz_pool_state_t));

    state->size = pool->conf->size;
    state->waiting = pool->nwaiting;

    for (i = 0; i < pool->conf->size; i++) {
        peer = (ngx_http_csibiz_peer_t *) (pool->peers + i * pool->peer_size);

        if (peer->connection == NULL) {
            continue;
        }

        if (peer->idle) {
            state->idle++;

        } else {
            state->busy++;
        }
    }
}


/*
 * The request went away before its operation ended (the client's
 * connection was closed or the request terminated): a connection in the
 * middle of an exchange can't be reused, so it is closed.
 */

static void
ngx_http_csibiz_pool_op_cleanup(void *data)
{
    ngx_http_csibiz_op_t  *op = data;

    ngx_http_csibiz_peer_t  *peer;
    ngx_http_csibiz_pool_t  *pool;

    if (op->done) {
        return;
    }

    op->done = 1;
    pool = op->pool;

    if (op->waiting) {
        ngx_queue_remove(&op->queue);
        pool->nwaiting--;
        op->waiting = 0;
    }

    if (op->event.timer_set) {
        ngx_del_timer(&op->event);
    }

    if (op->event.posted) {
        ngx_delete_posted_event(&op->event);
    }

    peer = op->peer;

    if (peer) {
        peer->op = NULL;
        op->peer = NULL;

        ngx_http_csibiz_pool_close_peer(peer);
        ngx_http_csibiz_pool_next(pool);
    }

    if (op->free) {
        op->free(op);
    }
}


/*
 * An idle connection: its keepalive timer ran out, graceful shutdown asks
 * it to close, or the backend sent something (an error, its close).
 */

void
ngx_http_csibiz_pool_idle_handler(ngx_event_t *ev)
{
    u_char                   buf[1];
    ssize_t                  n;
    ngx_err_t                err;
    ngx_connection_t        *c;
    ngx_http_csibiz_peer_t  *peer;

    c = ev->data;
    peer = c->data;

    if (ev->timedout || c->close) {
        goto close;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = ngx_socket_errno;

    if (n == -1 && err == NGX_EAGAIN) {
        return;
    }

close:

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "csibiz: closing idle %V connection", &peer->pool->name);

    ngx_http_csibiz_pool_close_peer(peer);
}


static void
ngx_http_csibiz_pool_dummy_handler(ngx_event_t *ev)
{
}
