
/*
 * Per-worker backend connection pools: a few connections, each carrying
 * many operations at once in the order they were sent, a bound on the
 * operations in flight, idle keepalive, and back-off while the backend is
 * down.  The protocol drivers do the I/O.
 *
 * An operation never completes synchronously inside the call that started
 * it: failures are posted as events, and what is sent goes out from the
 * connection's (posted) write event.  So a content handler always returns
 * NGX_DONE before its callback runs, and the request count stays
 * balanced.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_pool.h"
#include "ngx_http_csibiz_status.h"


#define NGX_HTTP_CSIBIZ_BACKOFF_MIN  100
#define NGX_HTTP_CSIBIZ_BACKOFF_MAX  1000


static ngx_int_t ngx_http_csibiz_pool_begin(ngx_http_csibiz_op_t *op);
static ngx_http_csibiz_peer_t *ngx_http_csibiz_pool_pick(
    ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_pool_send(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_pool_pop_empty(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_pool_arm(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_pool_up(ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_pool_down(ngx_http_csibiz_pool_t *pool);
static ngx_uint_t ngx_http_csibiz_pool_backing_off(
    ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_pool_fail(ngx_http_csibiz_op_t *op);
static void ngx_http_csibiz_pool_op_handler(ngx_event_t *ev);
static void ngx_http_csibiz_pool_complete(ngx_http_csibiz_op_t *op);
static void ngx_http_csibiz_pool_op_cleanup(void *data);


#define ngx_http_csibiz_pool_peer(pool, i)                                    \
    ((ngx_http_csibiz_peer_t *) ((pool)->peers + (i) * (pool)->peer_size))

#define ngx_http_csibiz_pool_slot(peer, i)                                    \
    (&(peer)->slots[((peer)->head + (i)) % (peer)->pool->capacity])


ngx_int_t
ngx_http_csibiz_pool_init(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_peer_t *peers, size_t peer_size, ngx_cycle_t *cycle)
{
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    pool->log = cycle->log;
    pool->peers = (u_char *) peers;
    pool->peer_size = peer_size;

    /* what one connection each could run, and the queue= behind them */
    pool->capacity = pool->conf->size + pool->conf->queue;

    for (i = 0; i < pool->conf->size; i++) {
        peer = ngx_http_csibiz_pool_peer(pool, i);
        peer->pool = pool;

        /* any one connection may carry all of the worker's ops */
        peer->slots = ngx_palloc(cycle->pool, pool->capacity
                                              * sizeof(ngx_http_csibiz_slot_t));
        if (peer->slots == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* the worker exits: its connections close */

void
ngx_http_csibiz_pool_cleanup(ngx_http_csibiz_pool_t *pool)
{
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    for (i = 0; i < pool->conf->size; i++) {
        peer = ngx_http_csibiz_pool_peer(pool, i);

        if (peer->connection) {
            ngx_http_csibiz_pool_close_peer(peer);
        }
    }
}


/*
 * Starts an operation of a request: the request is suspended (count++)
 * and op->next() is called later from an event.  Returns NGX_DONE, or
 * NGX_ERROR if nothing was started.  An op of no request (a driver's
 * batch of the ops of many) ends in op->finish() instead.
 */

ngx_int_t
ngx_http_csibiz_pool_run(ngx_http_csibiz_op_t *op)
{
    if (op->request) {
        if (ngx_http_csibiz_pool_begin(op) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        op->event.handler = ngx_http_csibiz_pool_op_handler;
        op->event.data = op;
        op->event.log = op->pool->log;
        op->start = ngx_current_msec;
    }

    ngx_http_csibiz_status_backend(op->pool, NGX_HTTP_CSIBIZ_STAT_OPERATIONS);

    ngx_http_csibiz_pool_place(op);

    return NGX_DONE;
}


/*
 * An op of a request that its driver runs as part of a batch: the request
 * is suspended as by pool_run(), and the driver ends the op with
 * pool_end(), or places it alone with pool_place().
 */

ngx_int_t
ngx_http_csibiz_pool_hold(ngx_http_csibiz_op_t *op)
{
    return ngx_http_csibiz_pool_begin(op);
}


/* a held op ended: its request goes on */

void
ngx_http_csibiz_pool_end(ngx_http_csibiz_op_t *op, ngx_int_t status)
{
    op->status = status;
    ngx_http_csibiz_pool_complete(op);
}


/* the op goes on a connection of op->pool, or fails (posted) */

void
ngx_http_csibiz_pool_place(ngx_http_csibiz_op_t *op)
{
    ngx_http_csibiz_peer_t  *peer;
    ngx_http_csibiz_pool_t  *pool;
    ngx_http_csibiz_slot_t  *slot;

    pool = op->pool;

    if (pool->nops >= pool->capacity) {
        ngx_log_error(NGX_LOG_WARN, op->request ? op->request->connection->log
                                                : pool->log, 0,
                      "csibiz: %ui %V operations in flight, the most the"
                      " pool and its queue allow", pool->nops, &pool->name);
        ngx_http_csibiz_pool_fail(op);
        return;
    }

    peer = ngx_http_csibiz_pool_pick(pool);

    if (peer == NULL) {
        ngx_http_csibiz_pool_fail(op);
        return;
    }

    slot = ngx_http_csibiz_pool_slot(peer, peer->nslots);
    peer->nslots++;
    pool->nops++;

    slot->op = op;
    slot->start = ngx_current_msec;
    slot->skip = 0;
    slot->left = 0;
    slot->data = 0;

    op->slot = slot;

    if (peer->ready) {
        ngx_http_csibiz_pool_send(peer);
    }
}


static ngx_int_t
ngx_http_csibiz_pool_begin(ngx_http_csibiz_op_t *op)
{
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r;

    r = op->request;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_csibiz_pool_op_cleanup;
    cln->data = op;

    op->event.handler = ngx_http_csibiz_pool_op_handler;
    op->event.data = op;
    op->event.log = r->connection->log;
    op->start = ngx_current_msec;

    r->main->count++;

    return NGX_OK;
}


/*
 * The connection for a new op: an open one with nothing on it; else a
 * new one, while there is room; else the open one with the fewest ops.
 * A backend that was down is tried by one new connection at a time.
 * NULL: none, and none may be tried now.
 */

static ngx_http_csibiz_peer_t *
ngx_http_csibiz_pool_pick(ngx_http_csibiz_pool_t *pool)
{
    ngx_uint_t               i, connecting;
    ngx_http_csibiz_peer_t  *peer, *best, *spare;

    best = NULL;
    spare = NULL;
    connecting = 0;

    for (i = 0; i < pool->conf->size; i++) {
        peer = ngx_http_csibiz_pool_peer(pool, i);

        if (peer->connection == NULL) {
            if (spare == NULL) {
                spare = peer;
            }

            continue;
        }

        if (!peer->ready) {
            connecting = 1;
        }

        if (best == NULL || peer->nslots < best->nslots
            || (peer->nslots == best->nslots && peer->ready))
        {
            best = peer;
        }
    }

    if (best && best->nslots == 0) {
        return best;
    }

    if (spare == NULL || ngx_http_csibiz_pool_backing_off(pool)
        || (pool->down && connecting))
    {
        return best;
    }

    pool->connects++;
    ngx_http_csibiz_status_backend(pool, NGX_HTTP_CSIBIZ_STAT_CONNECTS);

    if (pool->connect(spare) != NGX_OK) {
        ngx_http_csibiz_pool_close_peer(spare);
        return best;
    }

    return spare;
}


/* the ops queued on a ready connection go to the driver, in order */

static void
ngx_http_csibiz_pool_send(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_slot_t  *slot;

    while (peer->nsent < peer->nslots) {
        slot = ngx_http_csibiz_pool_slot(peer, peer->nsent);
        peer->nsent++;

        if (slot->op == NULL) {
            /* its request went away before it was sent: it never is */
            continue;
        }

        if (peer->pool->send(peer, slot) != NGX_OK) {
            ngx_http_csibiz_pool_close_peer(peer);
            return;
        }
    }

    ngx_http_csibiz_pool_pop_empty(peer);
    ngx_http_csibiz_pool_arm(peer);
}


/* the sent ops at the head that expect no reply leave at once */

static void
ngx_http_csibiz_pool_pop_empty(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_slot_t  *slot;

    while (peer->nsent) {
        slot = ngx_http_csibiz_pool_slot(peer, 0);

        if (slot->op || slot->skip || slot->left) {
            return;
        }

        peer->head = (peer->head + 1) % peer->pool->capacity;
        peer->nslots--;
        peer->nsent--;
        peer->pool->nops--;
    }
}


/*
 * The read timer: the oldest op's reply timeout while ops are in flight,
 * the keepalive timeout while none is (then the connection is idle, and
 * graceful shutdown may close it).
 */

static void
ngx_http_csibiz_pool_arm(ngx_http_csibiz_peer_t *peer)
{
    ngx_msec_t                     elapsed, timeout;
    ngx_connection_t              *c;
    ngx_http_csibiz_pool_conf_t   *conf;

    c = peer->connection;
    conf = peer->pool->conf;

    if (c == NULL || !peer->ready) {
        /* the connect timer stands */
        return;
    }

    if (peer->nslots) {
        c->idle = 0;
        c->read->cancelable = 0;

        elapsed = ngx_current_msec - ngx_http_csibiz_pool_slot(peer, 0)->start;
        timeout = conf->timeout;

        ngx_add_timer(c->read, elapsed < timeout ? timeout - elapsed : 1);
        return;
    }

    if (ngx_exiting) {
        ngx_http_csibiz_pool_close_peer(peer);
        return;
    }

    c->idle = 1;
    c->read->cancelable = 1;

    ngx_add_timer(c->read, conf->keepalive_timeout);
}


/* called by a driver once a new connection takes operations */

void
ngx_http_csibiz_pool_ready(ngx_http_csibiz_peer_t *peer)
{
    ngx_connection_t  *c;

    c = peer->connection;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    ngx_http_csibiz_pool_up(peer->pool);
    peer->ready = 1;

    ngx_http_csibiz_pool_send(peer);
}


/* the slot whose replies come next */

ngx_http_csibiz_slot_t *
ngx_http_csibiz_pool_head(ngx_http_csibiz_peer_t *peer)
{
    return peer->nsent ? ngx_http_csibiz_pool_slot(peer, 0) : NULL;
}


/*
 * Called by a driver when the replies of the head op are all in: the op
 * goes on with "status" (its result is the driver's).  Its step may run
 * here and start more ops, on this connection too; it may even close the
 * connection (a send that failed), which the driver checks.
 */

void
ngx_http_csibiz_pool_done(ngx_http_csibiz_peer_t *peer, ngx_int_t status)
{
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_slot_t  *slot;

    slot = ngx_http_csibiz_pool_slot(peer, 0);
    op = slot->op;

    peer->head = (peer->head + 1) % peer->pool->capacity;
    peer->nslots--;
    peer->nsent--;
    peer->pool->nops--;

    ngx_http_csibiz_pool_pop_empty(peer);
    ngx_http_csibiz_pool_arm(peer);

    if (op) {
        op->slot = NULL;
        op->status = status;
        ngx_http_csibiz_pool_complete(op);
    }
}


/*
 * Closes a connection; every op on it fails (503), from the event loop.
 * A connection that was never ready means the backend is down.
 */

void
ngx_http_csibiz_pool_close_peer(ngx_http_csibiz_peer_t *peer)
{
    ngx_uint_t               failed;
    ngx_http_csibiz_op_t    *op;
    ngx_http_csibiz_pool_t  *pool;
    ngx_http_csibiz_slot_t  *slot;

    pool = peer->pool;
    failed = !peer->ready;

    while (peer->nslots) {
        slot = ngx_http_csibiz_pool_slot(peer, 0);
        peer->head = (peer->head + 1) % pool->capacity;
        peer->nslots--;
        pool->nops--;

        op = slot->op;

        if (op) {
            op->slot = NULL;
            ngx_http_csibiz_pool_fail(op);
        }
    }

    peer->head = 0;
    peer->nsent = 0;

    if (peer->connection) {
        pool->close(peer);
        peer->connection = NULL;
    }

    peer->ready = 0;

    if (failed) {
        ngx_http_csibiz_pool_down(pool);
    }
}


/*
 * A driver's read handler asks first: an idle connection's keepalive
 * timer ran out, or graceful shutdown closes it.  1: it is closed.
 */

ngx_uint_t
ngx_http_csibiz_pool_idle_event(ngx_http_csibiz_peer_t *peer,
    ngx_event_t *ev)
{
    if (!peer->ready || peer->nslots
        || !(ev->timedout || peer->connection->close))
    {
        return 0;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "csibiz: closing idle %V connection", &peer->pool->name);

    ngx_http_csibiz_pool_close_peer(peer);

    return 1;
}


/*
 * The connection's timer ran out while connecting or waiting for a
 * reply: it is closed, never reused, and the ops on it fail.
 */

void
ngx_http_csibiz_pool_timed_out(ngx_http_csibiz_peer_t *peer)
{
    ngx_log_error(NGX_LOG_ERR, peer->connection->log, NGX_ETIMEDOUT,
                  "csibiz: %V %s timed out", &peer->pool->name,
                  peer->ready ? "reply" : "connect");

    ngx_http_csibiz_status_backend(peer->pool, NGX_HTTP_CSIBIZ_STAT_TIMEOUTS);
    ngx_http_csibiz_pool_close_peer(peer);
}


/* a connection was made: the backend is up (again) */

static void
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

static void
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

static ngx_uint_t
ngx_http_csibiz_pool_backing_off(ngx_http_csibiz_pool_t *pool)
{
    return pool->down
           && (ngx_msec_int_t) (pool->retry_at - ngx_current_msec) > 0;
}


/* the failure is delivered from the event loop, never synchronously */

static void
ngx_http_csibiz_pool_fail(ngx_http_csibiz_op_t *op)
{
    op->status = NGX_HTTP_CSIBIZ_UNAVAILABLE;

    ngx_post_event(&op->event, &ngx_posted_events);
}


static void
ngx_http_csibiz_pool_op_handler(ngx_event_t *ev)
{
    ngx_http_csibiz_pool_complete(ev->data);
}


/* the operation ended: its request goes on with the step it gave */

static void
ngx_http_csibiz_pool_complete(ngx_http_csibiz_op_t *op)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_http_csibiz_result_t   res;

    if (op->request == NULL) {
        op->finish(op);
        return;
    }

    r = op->request;
    c = r->connection;

    if (op->status == NGX_HTTP_CSIBIZ_UNAVAILABLE && op->fallback) {
        /*
         * an op that may run on either pool (a read-only statement,
         * primary or standby): the other one is tried before the
         * request sees a failure
         */
        ngx_http_csibiz_status_backend(op->pool,
                                       NGX_HTTP_CSIBIZ_STAT_FALLBACKS);
        op->pool = op->fallback;
        op->fallback = NULL;
        ngx_http_csibiz_pool_place(op);
        return;
    }

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


/*
 * What the metrics show, of this worker's pool: connections with ops on
 * them (busy) or none (idle), and the ops waiting behind another.
 */

void
ngx_http_csibiz_pool_state(ngx_http_csibiz_pool_t *pool,
    ngx_http_csibiz_pool_state_t *state)
{
    ngx_uint_t               i;
    ngx_http_csibiz_peer_t  *peer;

    ngx_memzero(state, sizeof(ngx_http_csibiz_pool_state_t));

    state->size = pool->conf->size;
    state->waiting = pool->nops;

    for (i = 0; i < pool->conf->size; i++) {
        peer = ngx_http_csibiz_pool_peer(pool, i);

        if (peer->nslots) {
            state->waiting--;
        }

        if (peer->connection == NULL) {
            continue;
        }

        if (peer->nslots) {
            state->busy++;

        } else {
            state->idle++;
        }
    }
}


/*
 * The request went away before its operation ended (the client's
 * connection was closed or the request terminated).  An op on a
 * connection stays in its place there, so the replies stay in step: they
 * are read and dropped; one not sent yet never is.
 */

static void
ngx_http_csibiz_pool_op_cleanup(void *data)
{
    ngx_http_csibiz_op_t  *op = data;

    if (op->done) {
        return;
    }

    op->done = 1;

    if (op->event.posted) {
        ngx_delete_posted_event(&op->event);
    }

    if (op->slot) {
        op->slot->op = NULL;
        op->slot = NULL;
    }

    if (op->free) {
        op->free(op);
    }
}
