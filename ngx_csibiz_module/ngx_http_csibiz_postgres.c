
/*
 * PostgreSQL through libpq in non-blocking pipeline mode, driven by nginx
 * events: the statements of many requests on one connection, each with
 * its own sync point, so each runs in a transaction of its own and one's
 * error never reaches another.
 * libpq owns the socket; nginx only wraps its descriptor in a connection
 * (ngx_get_connection) to get events and timers.  The events are
 * level-triggered, as libpq expects: PQconsumeInput() may leave data in
 * the socket, which an edge-triggered event would never report again.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_pool.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_session.h"
#include "ngx_http_csibiz_status.h"

#include <sys/stat.h>


/* statements beyond this many are sent unprepared */
#define NGX_HTTP_CSIBIZ_PG_MAX_STMTS   256

/* the most requests one batched statement carries */
#define NGX_HTTP_CSIBIZ_PG_BATCH       256

/* batches of one statement and pool in flight before the next one waits */
#define NGX_HTTP_CSIBIZ_PG_FLIGHT      2


typedef struct {
    ngx_http_csibiz_peer_t         peer;
    PGconn                        *conn;
    ino_t                          inode;
    PGresult                      *res;        /* the head op's, so far */
    uint8_t                        prepared[NGX_HTTP_CSIBIZ_PG_MAX_STMTS / 8];
} ngx_http_csibiz_pg_peer_t;


/*
 * A pool's host list: after a connect timed out the next attempt starts
 * one host further, so that a host that does not answer at all (libpq
 * would wait for it until the timer, never trying the next) is tried
 * last.  The lists of the conninfo (host, hostaddr, port), rotated.
 */

typedef struct {
    ngx_uint_t                     first;
    char                          *rotated[3];
} ngx_http_csibiz_pg_hosts_t;


typedef struct ngx_http_csibiz_pg_batch_s  ngx_http_csibiz_pg_batch_t;
typedef struct ngx_http_csibiz_pg_line_s   ngx_http_csibiz_pg_line_t;

typedef struct {
    ngx_http_csibiz_op_t           op;
    ngx_http_csibiz_pg_stmt_t     *stmt;
    const char                   **values;
    int                           *lengths;
    PGresult                      *res;
    ngx_http_csibiz_pg_batch_t    *batch;      /* while waiting in one */
    ngx_uint_t                     index;
} ngx_http_csibiz_pg_op_t;


/*
 * The runs of a batched statement on one pool that start while its line
 * has no room in flight, or in the same event-loop pass: sent as one
 * statement (a posted event), each request then getting its own rows.
 * The batch is the worker's, in a pool of its own: the requests may go
 * away before it ends.
 */

struct ngx_http_csibiz_pg_batch_s {
    ngx_http_csibiz_pg_op_t        op;         /* the batch statement */
    ngx_pool_t                    *pool;
    ngx_http_csibiz_pg_stmt_t     *stmt;       /* the requests' */
    ngx_http_csibiz_pg_line_t     *line;
    ngx_event_t                    event;
    ngx_uint_t                     n;
    ngx_http_csibiz_pg_op_t       *ops[NGX_HTTP_CSIBIZ_PG_BATCH];
};


/*
 * The batches of one statement on one pool.  While FLIGHT of them are in
 * flight the next one collects and goes when one of them ends: under load
 * the batches grow with the backend's latency instead of the statements
 * multiplying, and the cost per statement is paid by more requests.
 */

struct ngx_http_csibiz_pg_line_s {
    ngx_http_csibiz_pg_stmt_t     *stmt;
    ngx_http_csibiz_pool_t        *pool;
    ngx_http_csibiz_pg_batch_t    *batch;      /* collecting */
    ngx_uint_t                     flight;
    ngx_http_csibiz_pg_line_t     *next;
};


static ngx_int_t ngx_http_csibiz_pg_connect(ngx_http_csibiz_peer_t *peer);
static ngx_int_t ngx_http_csibiz_pg_send(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_slot_t *slot);
static void ngx_http_csibiz_pg_close(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_pg_release_connection(ngx_connection_t *c);
static ngx_int_t ngx_http_csibiz_pg_track_socket(
    ngx_http_csibiz_pg_peer_t *pp);
static ngx_int_t ngx_http_csibiz_pg_want(ngx_connection_t *c,
    ngx_uint_t read, ngx_uint_t write);
static void ngx_http_csibiz_pg_connect_handler(ngx_event_t *ev);
static void ngx_http_csibiz_pg_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_csibiz_pg_flush(ngx_http_csibiz_pg_peer_t *pp);
static ngx_int_t ngx_http_csibiz_pg_read(ngx_http_csibiz_pg_peer_t *pp);
static ngx_int_t ngx_http_csibiz_pg_synced(ngx_http_csibiz_pg_peer_t *pp,
    ngx_http_csibiz_slot_t *slot);
static void ngx_http_csibiz_pg_log_result(ngx_log_t *log, PGresult *res,
    ngx_http_csibiz_pg_stmt_t *stmt);
static void ngx_http_csibiz_pg_log_conn_error(ngx_log_t *log,
    ngx_str_t *name, PGconn *conn, const char *what);
static void ngx_http_csibiz_pg_notice(void *arg, const char *message);
static void ngx_http_csibiz_pg_result(ngx_http_csibiz_op_t *op,
    ngx_http_csibiz_result_t *res);
static void ngx_http_csibiz_pg_free(ngx_http_csibiz_op_t *op);
static void ngx_http_csibiz_pg_wipe(void *data);
static void ngx_http_csibiz_pg_pick_pool(ngx_http_request_t *r,
    ngx_http_csibiz_op_t *op);
static ngx_int_t ngx_http_csibiz_pg_batch_add(ngx_http_csibiz_pg_op_t *pop);
static ngx_http_csibiz_pg_line_t *ngx_http_csibiz_pg_line(
    ngx_http_csibiz_pg_op_t *pop);
static ngx_http_csibiz_pg_batch_t *ngx_http_csibiz_pg_batch_create(
    ngx_http_csibiz_pg_line_t *line);
static void ngx_http_csibiz_pg_batch_send(ngx_event_t *ev);
static u_char *ngx_http_csibiz_pg_batch_array(ngx_http_csibiz_pg_batch_t *b,
    ngx_uint_t param, int *len);
static void ngx_http_csibiz_pg_batch_finish(ngx_http_csibiz_op_t *op);
static ngx_int_t ngx_http_csibiz_pg_batch_split(
    ngx_http_csibiz_pg_batch_t *b, PGresult *res);
static void ngx_http_csibiz_pg_batch_alone(ngx_http_csibiz_pg_op_t *pop);
static ngx_uint_t ngx_http_csibiz_pg_list_len(const char *list);
static void ngx_http_csibiz_pg_rotate(const char *list, ngx_uint_t first,
    char *dst);

static const char  *ngx_http_csibiz_pg_list_keys[] = {
    "host", "hostaddr", "port"
};


/* statements get numbers (and so prepared names) as this worker uses them */
static ngx_uint_t  ngx_http_csibiz_pg_nstmts;

/* the worker's lines of batches */
static ngx_http_csibiz_pg_line_t  *ngx_http_csibiz_pg_lines;


ngx_int_t
ngx_http_csibiz_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_pg_conf_t *pcf, const char *name,
    ngx_http_csibiz_pool_t **poolp)
{
    ngx_uint_t                   i;
    ngx_http_csibiz_pool_t      *pool;
    ngx_http_csibiz_pg_peer_t   *peers;
    ngx_http_csibiz_pg_hosts_t  *hosts;

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_csibiz_pool_t));
    peers = ngx_pcalloc(cycle->pool,
                        pcf->pool.size * sizeof(ngx_http_csibiz_pg_peer_t));
    hosts = ngx_pcalloc(cycle->pool, sizeof(ngx_http_csibiz_pg_hosts_t));

    if (pool == NULL || peers == NULL || hosts == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 3; i++) {
        if (pcf->lists[i]) {
            hosts->rotated[i] = ngx_pnalloc(cycle->pool,
                                            ngx_strlen(pcf->lists[i]) + 1);
            if (hosts->rotated[i] == NULL) {
                return NGX_ERROR;
            }
        }
    }

    pool->data = hosts;

    pool->conf = &pcf->pool;
    pool->driver_conf = pcf;
    pool->name.data = (u_char *) name;
    pool->name.len = ngx_strlen(name);
    pool->connect = ngx_http_csibiz_pg_connect;
    pool->send = ngx_http_csibiz_pg_send;
    pool->close = ngx_http_csibiz_pg_close;

    if (ngx_http_csibiz_pool_init(pool, &peers[0].peer,
                                  sizeof(ngx_http_csibiz_pg_peer_t), cycle)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *poolp = pool;

    return NGX_OK;
}


/*
 * Runs one statement with text parameters (params[i].data == NULL is SQL
 * NULL); next(r, flow, res) gets the result, which is freed after it
 * returns.  Returns NGX_DONE, or 500 if nothing started.
 */

ngx_int_t
ngx_http_csibiz_pg_query(ngx_http_request_t *r,
    ngx_http_csibiz_pg_stmt_t *stmt, ngx_str_t *params,
    ngx_http_csibiz_step_pt next, void *flow)
{
    u_char                       *p;
    size_t                        len;
    ngx_int_t                     i;
    ngx_pool_cleanup_t           *cln;
    ngx_http_csibiz_pg_op_t      *pop;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (cmcf->pg_pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: \"csibiz_postgres\" is not configured");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pop = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_pg_op_t));
    if (pop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (stmt->nparams) {
        pop->values = ngx_palloc(r->pool, stmt->nparams * sizeof(char *));
        pop->lengths = ngx_palloc(r->pool, stmt->nparams * sizeof(int));
        if (pop->values == NULL || pop->lengths == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * libpq wants NUL-terminated text values: copies in one block,
         * wiped when the request ends (they may hold personal data; the
         * statement may still be sending them until then)
         */

        len = 0;

        for (i = 0; i < stmt->nparams; i++) {
            len += params[i].data ? params[i].len + 1 : 0;
        }

        p = NULL;

        if (len) {
            p = ngx_pnalloc(r->pool, len);
            cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_str_t));
            if (p == NULL || cln == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            cln->handler = ngx_http_csibiz_pg_wipe;
            ((ngx_str_t *) cln->data)->data = p;
            ((ngx_str_t *) cln->data)->len = len;
        }

        for (i = 0; i < stmt->nparams; i++) {
            if (params[i].data == NULL) {
                pop->values[i] = NULL;
                pop->lengths[i] = 0;
                continue;
            }

            pop->values[i] = (const char *) p;
            pop->lengths[i] = (int) params[i].len;

            p = ngx_cpymem(p, params[i].data, params[i].len);
            *p++ = '\0';
            continue;

        }
    }

    pop->op.request = r;
    ngx_http_csibiz_pg_pick_pool(r, &pop->op);
    pop->op.result = ngx_http_csibiz_pg_result;
    pop->op.free = ngx_http_csibiz_pg_free;
    pop->op.next = next;
    pop->op.flow = flow;
    pop->stmt = stmt;

    if (stmt->batch) {
        return ngx_http_csibiz_pg_batch_add(pop);
    }

    if (ngx_http_csibiz_pool_run(&pop->op) != NGX_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/*
 * A run of a batched statement joins the batch its line is collecting, or
 * starts one, which goes when the pass ends if the line has room in
 * flight, else when a batch in flight ends.
 */

static ngx_int_t
ngx_http_csibiz_pg_batch_add(ngx_http_csibiz_pg_op_t *pop)
{
    ngx_http_csibiz_pg_line_t   *line;
    ngx_http_csibiz_pg_batch_t  *b;

    line = ngx_http_csibiz_pg_line(pop);

    b = line ? line->batch : NULL;

    if (b == NULL) {
        b = line ? ngx_http_csibiz_pg_batch_create(line) : NULL;

        if (b == NULL) {
            /* it runs alone */
            return ngx_http_csibiz_pool_run(&pop->op) == NGX_DONE
                   ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_csibiz_pool_hold(&pop->op) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pop->batch = b;
    pop->index = b->n;
    b->ops[b->n++] = pop;

    if (b->n == NGX_HTTP_CSIBIZ_PG_BATCH) {
        /* full: it goes now, whatever is in flight */
        line->batch = NULL;

        if (!b->event.posted) {
            ngx_post_event(&b->event, &ngx_posted_events);
        }
    }

    return NGX_DONE;
}


static ngx_http_csibiz_pg_line_t *
ngx_http_csibiz_pg_line(ngx_http_csibiz_pg_op_t *pop)
{
    ngx_http_csibiz_pg_line_t  *line;

    for (line = ngx_http_csibiz_pg_lines; line; line = line->next) {
        if (line->stmt == pop->stmt && line->pool == pop->op.pool) {
            return line;
        }
    }

    /* a few per worker (statements times pools), kept for its life */

    line = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_http_csibiz_pg_line_t));
    if (line == NULL) {
        return NULL;
    }

    line->stmt = pop->stmt;
    line->pool = pop->op.pool;
    line->next = ngx_http_csibiz_pg_lines;
    ngx_http_csibiz_pg_lines = line;

    return line;
}


static ngx_http_csibiz_pg_batch_t *
ngx_http_csibiz_pg_batch_create(ngx_http_csibiz_pg_line_t *line)
{
    ngx_log_t                   *log;
    ngx_pool_t                  *pool;
    ngx_http_csibiz_pg_batch_t  *b;

    log = line->pool->log;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }

    b = ngx_pcalloc(pool, sizeof(ngx_http_csibiz_pg_batch_t));
    if (b == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    b->pool = pool;
    b->stmt = line->stmt;
    b->line = line;

    b->op.stmt = line->stmt->batch;
    b->op.op.pool = line->pool;
    b->op.op.result = ngx_http_csibiz_pg_result;
    b->op.op.finish = ngx_http_csibiz_pg_batch_finish;

    b->event.handler = ngx_http_csibiz_pg_batch_send;
    b->event.data = b;
    b->event.log = log;

    if (line->flight < NGX_HTTP_CSIBIZ_PG_FLIGHT) {
        ngx_post_event(&b->event, &ngx_posted_events);
    }

    line->batch = b;

    return b;
}


/*
 * The requests still there go as one statement, each parameter an array
 * of their values; a request alone too, so that it counts in flight.
 */

static void
ngx_http_csibiz_pg_batch_send(ngx_event_t *ev)
{
    int                          *lengths;
    ngx_uint_t                    i, n;
    const char                  **values;
    ngx_http_csibiz_pg_op_t      *pop;
    ngx_http_csibiz_pg_batch_t   *b;

    b = ev->data;

    if (b->line->batch == b) {
        b->line->batch = NULL;
    }

    n = 0;

    for (i = 0; i < b->n; i++) {
        pop = b->ops[i];

        if (pop) {
            pop->index = n;
            b->ops[n++] = pop;
        }
    }

    b->n = n;

    if (n == 0) {
        ngx_destroy_pool(b->pool);
        return;
    }

    values = ngx_palloc(b->pool, b->stmt->nparams * sizeof(char *));
    lengths = ngx_palloc(b->pool, b->stmt->nparams * sizeof(int));

    if (values == NULL || lengths == NULL) {
        goto alone;
    }

    for (i = 0; i < (ngx_uint_t) b->stmt->nparams; i++) {
        values[i] = (const char *) ngx_http_csibiz_pg_batch_array(b, i,
                                                                 &lengths[i]);
        if (values[i] == NULL) {
            goto alone;
        }
    }

    b->op.values = values;
    b->op.lengths = lengths;

    b->line->flight++;

    (void) ngx_http_csibiz_pool_run(&b->op.op);

    return;

alone:

    for (i = 0; i < n; i++) {
        ngx_http_csibiz_pg_batch_alone(b->ops[i]);
    }

    ngx_destroy_pool(b->pool);
}


/*
 * A parameter of the batch: the requests' values as an array literal,
 * each quoted ("..." with \ before " and \), NULL for SQL NULL.  It is
 * wiped with the batch's pool, as the requests' copies are with theirs.
 */

static u_char *
ngx_http_csibiz_pg_batch_array(ngx_http_csibiz_pg_batch_t *b,
    ngx_uint_t param, int *len)
{
    size_t               size;
    u_char              *p, *start;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;
    const u_char        *v;

    size = sizeof("{}");

    for (i = 0; i < b->n; i++) {
        v = (const u_char *) b->ops[i]->values[param];
        size += v ? 2 * (size_t) b->ops[i]->lengths[param] + 3
                  : sizeof("NULL,");
    }

    start = ngx_pnalloc(b->pool, size);
    cln = ngx_pool_cleanup_add(b->pool, sizeof(ngx_str_t));

    if (start == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_csibiz_pg_wipe;
    ((ngx_str_t *) cln->data)->data = start;
    ((ngx_str_t *) cln->data)->len = size;

    p = start;
    *p++ = '{';

    for (i = 0; i < b->n; i++) {
        if (i) {
            *p++ = ',';
        }

        v = (const u_char *) b->ops[i]->values[param];

        if (v == NULL) {
            p = ngx_cpymem(p, "NULL", 4);
            continue;
        }

        *p++ = '"';

        for ( /* void */ ; *v; v++) {
            if (*v == '"' || *v == '\\') {
                *p++ = '\\';
            }

            *p++ = *v;
        }

        *p++ = '"';
    }

    *p++ = '}';
    *p = '\0';

    *len = (int) (p - start);

    return start;
}


/*
 * The batch statement ended.  Its rows go to their requests by ordinal;
 * if it failed in PostgreSQL each request runs alone, so that one
 * request's error never reaches another's answer; if the backend failed
 * (down, timed out) so do its requests, each as if it had run alone.
 */

static void
ngx_http_csibiz_pg_batch_finish(ngx_http_csibiz_op_t *op)
{
    ngx_uint_t                   i;
    ngx_http_csibiz_pg_op_t     *pop;
    ngx_http_csibiz_pg_batch_t  *b;

    b = (ngx_http_csibiz_pg_batch_t *) op;

    /* the batch its line collected meanwhile goes */

    b->line->flight--;

    if (b->line->batch && !b->line->batch->event.posted
        && b->line->flight < NGX_HTTP_CSIBIZ_PG_FLIGHT)
    {
        ngx_post_event(&b->line->batch->event, &ngx_posted_events);
    }

    if (op->status == NGX_HTTP_CSIBIZ_OK
        && ngx_http_csibiz_pg_batch_split(b, b->op.res) == NGX_OK)
    {
        for (i = 0; i < b->n; i++) {
            pop = b->ops[i];

            if (pop) {
                pop->batch = NULL;
                ngx_http_csibiz_pool_end(&pop->op, NGX_HTTP_CSIBIZ_OK);
            }
        }

    } else {
        for (i = 0; i < b->n; i++) {
            pop = b->ops[i];

            if (pop == NULL) {
                continue;
            }

            if (op->status == NGX_HTTP_CSIBIZ_UNAVAILABLE) {
                pop->batch = NULL;
                ngx_http_csibiz_pool_end(&pop->op,
                                         NGX_HTTP_CSIBIZ_UNAVAILABLE);

            } else {
                ngx_http_csibiz_pg_batch_alone(pop);
            }
        }
    }

    ngx_http_csibiz_pg_free(&b->op.op);
    ngx_destroy_pool(b->pool);
}


/*
 * Each request's result: the batch's columns but the ordinal, and the
 * rows of its ordinal, as its statement alone would have answered.
 */

static ngx_int_t
ngx_http_csibiz_pg_batch_split(ngx_http_csibiz_pg_batch_t *b, PGresult *res)
{
    int                       row, col, tuple, nfields, ntuples;
    PGresult                 *one;
    ngx_int_t                 k;
    ngx_uint_t                i;
    PGresAttDesc             *attrs;
    ngx_http_csibiz_pg_op_t  *pop;

    nfields = PQnfields(res) - 1;
    ntuples = PQntuples(res);

    if (nfields < 0) {
        return NGX_ERROR;
    }

    attrs = ngx_palloc(b->pool, (nfields + 1) * sizeof(PGresAttDesc));
    if (attrs == NULL) {
        return NGX_ERROR;
    }

    for (col = 0; col < nfields; col++) {
        attrs[col].name = PQfname(res, col + 1);
        attrs[col].tableid = PQftable(res, col + 1);
        attrs[col].columnid = PQftablecol(res, col + 1);
        attrs[col].format = PQfformat(res, col + 1);
        attrs[col].typid = PQftype(res, col + 1);
        attrs[col].typlen = PQfsize(res, col + 1);
        attrs[col].atttypmod = PQfmod(res, col + 1);
    }

    for (i = 0; i < b->n; i++) {
        pop = b->ops[i];

        if (pop == NULL) {
            continue;
        }

        one = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

        if (one == NULL || !PQsetResultAttrs(one, nfields, attrs)) {
            if (one) {
                PQclear(one);
            }

            return NGX_ERROR;
        }

        pop->res = one;
    }

    for (row = 0; row < ntuples; row++) {
        k = ngx_atoi((u_char *) PQgetvalue(res, row, 0),
                     PQgetlength(res, row, 0));

        if (k < 1 || (ngx_uint_t) k > b->n) {
            return NGX_ERROR;
        }

        pop = b->ops[k - 1];

        if (pop == NULL) {
            /* its request went away */
            continue;
        }

        one = pop->res;
        tuple = PQntuples(one);

        for (col = 0; col < nfields; col++) {
            if (!PQsetvalue(one, tuple, col,
                            PQgetisnull(res, row, col + 1)
                            ? NULL : PQgetvalue(res, row, col + 1),
                            PQgetisnull(res, row, col + 1)
                            ? -1 : PQgetlength(res, row, col + 1)))
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* a request of a batch runs alone, on the pool it would have used */

static void
ngx_http_csibiz_pg_batch_alone(ngx_http_csibiz_pg_op_t *pop)
{
    pop->batch = NULL;

    if (pop->res) {
        PQclear(pop->res);
        pop->res = NULL;
    }

    ngx_http_csibiz_status_backend(pop->op.pool,
                                   NGX_HTTP_CSIBIZ_STAT_OPERATIONS);
    ngx_http_csibiz_pool_place(&pop->op);
}


/*
 * The handler's row says whether its statements only read: those go to
 * the read pool (standbys), with the primary's pool as the fallback when
 * the read pool cannot run them; the other way round for a parent whose
 * session wrote within after_write, so that a parent reads their own
 * write (during a failover a read may then come from a standby: with
 * synchronous replication it has every answered write).
 */

static void
ngx_http_csibiz_pg_pick_pool(ngx_http_request_t *r, ngx_http_csibiz_op_t *op)
{
    ngx_http_csibiz_ctx_t        *ctx;
    ngx_http_csibiz_session_t    *s;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    op->pool = cmcf->pg_pool;
    op->fallback = NULL;

    if (cmcf->pg_read_pool == NULL
        || ctx == NULL || ctx->handler == NULL
        || !(ctx->handler->needs & NGX_HTTP_CSIBIZ_READS))
    {
        return;
    }

    s = ctx->session;

    if (s && s->valid
        && ngx_time() - s->wrote_at < cmcf->postgres_read->after_write)
    {
        op->fallback = cmcf->pg_read_pool;
        return;
    }

    op->pool = cmcf->pg_read_pool;
    op->fallback = cmcf->pg_pool;
}


/* how many entries a comma-separated list has */

static ngx_uint_t
ngx_http_csibiz_pg_list_len(const char *list)
{
    ngx_uint_t  n;

    for (n = 1; *list; list++) {
        n += (*list == ',');
    }

    return n;
}


/* dst: the entries of list from the first'th on, then those before it */

static void
ngx_http_csibiz_pg_rotate(const char *list, ngx_uint_t first, char *dst)
{
    size_t       len;
    const char  *p;

    p = list;
    first %= ngx_http_csibiz_pg_list_len(list);

    while (first && *p) {
        first -= (*p++ == ',');
    }

    len = ngx_strlen(p);
    dst = (char *) ngx_cpymem(dst, p, len);

    if (p != list) {
        if (len) {
            *dst++ = ',';
        }

        len = p - list - 1;
        dst = (char *) ngx_cpymem(dst, list, len);
    }

    *dst = '\0';
}


/* a copy of a field of row 0, which outlives the result */

ngx_int_t
ngx_http_csibiz_pg_copy(ngx_http_request_t *r, PGresult *res, int column,
    ngx_str_t *dst)
{
    return ngx_http_csibiz_copy(r, dst, (u_char *) PQgetvalue(res, 0, column),
                                PQgetlength(res, 0, column));
}


static ngx_int_t
ngx_http_csibiz_pg_connect(ngx_http_csibiz_peer_t *peer)
{
    PGconn                      *conn;
    ngx_uint_t                   i, n;
    ngx_socket_t                 fd;
    ngx_connection_t            *c;
    ngx_http_csibiz_pg_conf_t   *pcf;
    ngx_http_csibiz_pg_peer_t   *pp;
    ngx_http_csibiz_pg_hosts_t  *hosts;
    const char                  *keywords[7], *values[7];

    pp = (ngx_http_csibiz_pg_peer_t *) peer;
    pcf = peer->pool->driver_conf;
    hosts = peer->pool->data;

    /*
     * The conninfo is expanded from "dbname" and overrides what comes
     * before it.  GSSAPI encryption is off unless asked for: probing for
     * Kerberos credentials is not something to do in a worker.
     */

    keywords[0] = "gssencmode";
    values[0] = "disable";
    keywords[1] = "dbname";
    values[1] = (const char *) pcf->conninfo.data;
    keywords[2] = "fallback_application_name";
    values[2] = "csibiz";
    n = 3;

    /* the host lists from where the last timeout left them */

    for (i = 0; hosts->first && i < 3; i++) {
        if (pcf->lists[i]) {
            ngx_http_csibiz_pg_rotate(pcf->lists[i], hosts->first,
                                      hosts->rotated[i]);
            keywords[n] = ngx_http_csibiz_pg_list_keys[i];
            values[n++] = hosts->rotated[i];
        }
    }

    keywords[n] = NULL;
    values[n] = NULL;

    conn = PQconnectStartParams(keywords, values, 1);

    if (conn == NULL) {
        ngx_log_error(NGX_LOG_ERR, peer->pool->log, 0,
                      "csibiz: PQconnectStartParams() failed");
        return NGX_ERROR;
    }

    if (PQstatus(conn) == CONNECTION_BAD) {
        ngx_http_csibiz_pg_log_conn_error(peer->pool->log, &peer->pool->name,
                                          conn, "connect");
        PQfinish(conn);
        return NGX_ERROR;
    }

    PQsetNoticeProcessor(conn, ngx_http_csibiz_pg_notice, peer->pool->log);

    fd = PQsocket(conn);

    c = ngx_get_connection(fd, peer->pool->log);
    if (c == NULL) {
        PQfinish(conn);
        return NGX_ERROR;
    }

    c->data = peer;
    c->read->handler = ngx_http_csibiz_pg_connect_handler;
    c->write->handler = ngx_http_csibiz_pg_connect_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    peer->connection = c;
    pp->conn = conn;
    pp->inode = 0;
    ngx_memzero(pp->prepared, sizeof(pp->prepared));

    (void) ngx_http_csibiz_pg_track_socket(pp);

    ngx_add_timer(c->read, peer->pool->conf->connect_timeout);

    /* a new connection first waits until its socket is writable */

    if (ngx_http_csibiz_pg_want(c, 0, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * libpq may drop a socket and open another one while connecting (SSL or
 * host fallback); the new one can even get the same number.  The inode
 * tells sockets apart, so the events follow the right one.
 */

static ngx_int_t
ngx_http_csibiz_pg_track_socket(ngx_http_csibiz_pg_peer_t *pp)
{
    ngx_socket_t       fd;
    struct stat        st;
    ngx_connection_t  *c, *old;

    fd = PQsocket(pp->conn);
    c = pp->peer.connection;

    if (fd == -1 || fstat(fd, &st) == -1) {
        return NGX_ERROR;
    }

    if (fd == c->fd && st.st_ino == pp->inode) {
        return NGX_OK;
    }

    if (pp->inode == 0) {
        pp->inode = st.st_ino;
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "csibiz: %V connect moved to socket %d",
                   &pp->peer.pool->name, fd);

    old = c;

    c = ngx_get_connection(fd, pp->peer.pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = old->data;
    c->read->handler = old->read->handler;
    c->write->handler = old->write->handler;
    c->read->log = c->log;
    c->write->log = c->log;

    ngx_add_timer(c->read, pp->peer.pool->conf->connect_timeout);

    ngx_http_csibiz_pg_release_connection(old);

    pp->peer.connection = c;
    pp->inode = st.st_ino;

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_pg_want(ngx_connection_t *c, ngx_uint_t read,
    ngx_uint_t write)
{
    if (read && !c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (!read && c->read->active) {
        if (ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (write && !c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (!write && c->write->active) {
        if (ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_csibiz_pg_connect_handler(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_connection_t            *c;
    ngx_http_csibiz_peer_t      *peer;
    ngx_http_csibiz_pg_conf_t   *pcf;
    ngx_http_csibiz_pg_peer_t   *pp;
    ngx_http_csibiz_pg_hosts_t  *hosts;
    PostgresPollingStatusType    status;

    c = ev->data;
    peer = c->data;
    pp = (ngx_http_csibiz_pg_peer_t *) peer;

    if (ev->timedout) {
        hosts = peer->pool->data;
        pcf = peer->pool->driver_conf;

        if (pcf->nhosts > 1) {
            hosts->first = (hosts->first + 1) % pcf->nhosts;

            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "csibiz: %V connections start with host %ui of"
                          " the list now", &peer->pool->name,
                          hosts->first + 1);
        }

        ngx_http_csibiz_pool_timed_out(peer);
        return;
    }

    status = PQconnectPoll(pp->conn);

    if (status == PGRES_POLLING_FAILED) {
        ngx_http_csibiz_pg_log_conn_error(ev->log, &pp->peer.pool->name,
                                          pp->conn, "connect");
        ngx_http_csibiz_pool_close_peer(peer);
        return;
    }

    if (ngx_http_csibiz_pg_track_socket(pp) != NGX_OK) {
        ngx_http_csibiz_pool_close_peer(peer);
        return;
    }

    c = peer->connection;

    switch (status) {

    case PGRES_POLLING_READING:
        rc = ngx_http_csibiz_pg_want(c, 1, 0);
        break;

    case PGRES_POLLING_WRITING:
        rc = ngx_http_csibiz_pg_want(c, 0, 1);
        break;

    default: /* PGRES_POLLING_OK */

        if (PQsetnonblocking(pp->conn, 1) != 0
            || PQenterPipelineMode(pp->conn) != 1
            || ngx_http_csibiz_pg_want(c, 1, 0) != NGX_OK)
        {
            ngx_http_csibiz_pg_log_conn_error(ev->log, &pp->peer.pool->name,
                                              pp->conn, "setup");
            ngx_http_csibiz_pool_close_peer(peer);
            return;
        }

        c->read->handler = ngx_http_csibiz_pg_handler;
        c->write->handler = ngx_http_csibiz_pg_handler;

        ngx_http_csibiz_pool_ready(peer);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_csibiz_pool_close_peer(peer);
    }
}


/*
 * An op on a ready connection: its statement (prepared there the first
 * time, the preparation's result being the driver's) and a sync point go
 * into libpq's buffer; the write event sends all a pass queued at once.
 */

static ngx_int_t
ngx_http_csibiz_pg_send(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_slot_t *slot)
{
    int                         rc;
    ngx_uint_t                  n;
    ngx_connection_t           *c;
    ngx_http_csibiz_pg_op_t    *pop;
    ngx_http_csibiz_pg_peer_t  *pp;
    ngx_http_csibiz_pg_stmt_t  *stmt;
    char                        name[32];

    pp = (ngx_http_csibiz_pg_peer_t *) peer;
    pop = (ngx_http_csibiz_pg_op_t *) slot->op;
    stmt = pop->stmt;
    c = peer->connection;

    if (stmt->index == 0
        && ngx_http_csibiz_pg_nstmts < NGX_HTTP_CSIBIZ_PG_MAX_STMTS - 1)
    {
        stmt->index = ++ngx_http_csibiz_pg_nstmts;
    }

    n = stmt->index;

    if (n == 0) {
        rc = PQsendQueryParams(pp->conn, stmt->sql, stmt->nparams, NULL,
                               pop->values, pop->lengths, NULL, 0);

    } else {
        *ngx_sprintf((u_char *) name, "csibiz_%ui", n) = '\0';

        rc = 1;

        if (!(pp->prepared[n / 8] & (1 << (n % 8)))) {
            rc = PQsendPrepare(pp->conn, name, stmt->sql, stmt->nparams,
                               NULL);

            /* the ops after it on this connection find it prepared */
            pp->prepared[n / 8] |= (uint8_t) (1 << (n % 8));
            slot->skip = 1;
            slot->data = n;
        }

        rc = rc && PQsendQueryPrepared(pp->conn, name, stmt->nparams,
                                       pop->values, pop->lengths, NULL, 0);
    }

    if (rc == 0 || PQpipelineSync(pp->conn) == 0) {
        ngx_http_csibiz_pg_log_conn_error(c->log, &pp->peer.pool->name,
                                          pp->conn, "send");
        return NGX_ERROR;
    }

    slot->left = 1;

    if (!c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_http_csibiz_pg_close(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_pg_peer_t  *pp;

    pp = (ngx_http_csibiz_pg_peer_t *) peer;

    if (pp->res) {
        PQclear(pp->res);
        pp->res = NULL;
    }

    ngx_http_csibiz_pg_release_connection(peer->connection);

    /* PQfinish() closes the socket: nginx must not close it too */
    PQfinish(pp->conn);
    pp->conn = NULL;
}


/* frees the nginx side of a connection whose socket libpq closes */

static void
ngx_http_csibiz_pg_release_connection(ngx_connection_t *c)
{
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    /* the kernel drops the descriptor from epoll when it is closed */

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_csibiz_pg_handler(ngx_event_t *ev)
{
    ngx_connection_t           *c;
    ngx_http_csibiz_peer_t     *peer;
    ngx_http_csibiz_pg_peer_t  *pp;

    c = ev->data;
    peer = c->data;
    pp = (ngx_http_csibiz_pg_peer_t *) peer;

    if (ngx_http_csibiz_pool_idle_event(peer, ev)) {
        return;
    }

    if (ev->timedout) {
        ngx_http_csibiz_pool_timed_out(peer);
        return;
    }

    if (ev->write) {
        if (ngx_http_csibiz_pg_flush(pp) != NGX_OK) {
            ngx_http_csibiz_pool_close_peer(peer);
        }

        return;
    }

    if (!PQconsumeInput(pp->conn)) {
        if (peer->nslots) {
            ngx_http_csibiz_pg_log_conn_error(c->log, &pp->peer.pool->name,
                                              pp->conn, "receive");
        }

        /* else an idle connection the server closed: nothing was lost */
        ngx_http_csibiz_pool_close_peer(peer);
        return;
    }

    if (ngx_http_csibiz_pg_read(pp) != NGX_OK) {
        ngx_http_csibiz_pool_close_peer(peer);
    }
}


/* PQflush() until libpq's output buffer is empty, waiting for writable */

static ngx_int_t
ngx_http_csibiz_pg_flush(ngx_http_csibiz_pg_peer_t *pp)
{
    int                rc;
    ngx_connection_t  *c;

    c = pp->peer.connection;

    rc = PQflush(pp->conn);

    if (rc == -1) {
        ngx_http_csibiz_pg_log_conn_error(c->log, &pp->peer.pool->name,
                                          pp->conn, "send");
        return NGX_ERROR;
    }

    return ngx_http_csibiz_pg_want(c, 1, rc == 1);
}


/*
 * Takes the results libpq has, in order: per op, the preparation's (if
 * any), the statement's, then its sync point, where the op goes on.
 */

static ngx_int_t
ngx_http_csibiz_pg_read(ngx_http_csibiz_pg_peer_t *pp)
{
    PGresult                *res;
    ngx_uint_t               n, end;
    ExecStatusType           status;
    ngx_http_csibiz_peer_t  *peer;
    ngx_http_csibiz_slot_t  *slot;

    peer = &pp->peer;
    end = 0;

    for ( ;; ) {

        slot = ngx_http_csibiz_pool_head(peer);

        if (slot == NULL) {
            /* nothing asked: only the server's going away can come */
            return PQstatus(pp->conn) == CONNECTION_BAD ? NGX_ERROR : NGX_OK;
        }

        if (PQisBusy(pp->conn)) {
            return NGX_OK;
        }

        res = PQgetResult(pp->conn);

        if (res == NULL) {
            /* a statement's results ended; twice: nothing more for now */
            if (end++) {
                return NGX_OK;
            }

            continue;
        }

        end = 0;
        status = PQresultStatus(res);

        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(res);

            if (ngx_http_csibiz_pg_synced(pp, slot) != NGX_OK) {
                return NGX_ERROR;
            }

            if (peer->connection == NULL) {
                /* closed by a step that went on from here */
                return NGX_OK;
            }

            continue;
        }

        if (slot->skip) {
            /* the preparation: an error is the statement's answer */
            slot->skip = 0;

            if (status == PGRES_COMMAND_OK) {
                PQclear(res);
                continue;
            }

            n = slot->data;
            pp->prepared[n / 8] &= (uint8_t) ~(1 << (n % 8));
        }

        /* keep the first error, else the last result */

        if (pp->res == NULL) {
            pp->res = res;

        } else if (PQresultStatus(pp->res) == PGRES_FATAL_ERROR) {
            PQclear(res);

        } else {
            PQclear(pp->res);
            pp->res = res;
        }
    }
}


/* an op's sync point: its result goes to its request */

static ngx_int_t
ngx_http_csibiz_pg_synced(ngx_http_csibiz_pg_peer_t *pp,
    ngx_http_csibiz_slot_t *slot)
{
    char                     *state;
    PGresult                 *res;
    ngx_int_t                 status;
    ngx_connection_t         *c;
    ngx_http_csibiz_pg_op_t  *pop;

    c = pp->peer.connection;
    pop = (ngx_http_csibiz_pg_op_t *) slot->op;

    res = pp->res;
    pp->res = NULL;

    if (res == NULL) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "csibiz: postgres returned no result");
        return NGX_ERROR;
    }

    switch (PQresultStatus(res)) {

    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        status = NGX_HTTP_CSIBIZ_OK;
        break;

    default:
        if (PQstatus(pp->conn) == CONNECTION_BAD) {
            /* the server went away: an outage, not an answer */
            ngx_http_csibiz_pg_log_conn_error(c->log, &pp->peer.pool->name,
                                              pp->conn, "query");
            PQclear(res);
            return NGX_ERROR;
        }

        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        if (state && ngx_strcmp(state, "25006") == 0) {
            /*
             * read_only_sql_transaction: the server became a standby (or
             * was fenced) since we connected.  The connection is closed
             * and its ops fail as unavailable; a new one asks libpq
             * (target_session_attrs) for a read-write host.
             */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "csibiz: %V server is read-only (SQLSTATE 25006),"
                          " closing the connection", &pp->peer.pool->name);
            PQclear(res);
            return NGX_ERROR;
        }

        if (pop) {
            ngx_http_csibiz_pg_log_result(c->log, res, pop->stmt);
        }

        status = NGX_HTTP_CSIBIZ_QUERY_ERROR;
    }

    switch (PQtransactionStatus(pp->conn)) {

    case PQTRANS_IDLE:
    case PQTRANS_ACTIVE:   /* more statements are on their way */
        break;

    default:
        /* no statement of ours leaves a transaction open: out of step */
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "csibiz: postgres connection left in a transaction");
        PQclear(res);
        return NGX_ERROR;
    }

    slot->left = 0;

    if (pop) {
        pop->res = res;

    } else {
        PQclear(res);
    }

    ngx_http_csibiz_pool_done(&pp->peer, status);

    return NGX_OK;
}


/*
 * Only the SQLSTATE and the constraint go to the log: the message text
 * and its detail may quote values, and values can be personal data.
 */

static void
ngx_http_csibiz_pg_log_result(ngx_log_t *log, PGresult *res,
    ngx_http_csibiz_pg_stmt_t *stmt)
{
    char  *state, *constraint;

    state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "csibiz: postgres statement \"%s\" failed: SQLSTATE %s%s%s",
                  stmt->name, state ? state : "?",
                  constraint ? ", constraint " : "",
                  constraint ? constraint : "");
}


static void
ngx_http_csibiz_pg_log_conn_error(ngx_log_t *log, ngx_str_t *name,
    PGconn *conn, const char *what)
{
    u_char  *msg, *end;

    msg = (u_char *) PQerrorMessage(conn);
    end = msg + ngx_strlen(msg);

    while (end > msg && (end[-1] == '\n' || end[-1] == ' ')) {
        end--;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0, "csibiz: %V %s failed: %*s",
                  name, what, end - msg, msg);
}


static void
ngx_http_csibiz_pg_notice(void *arg, const char *message)
{
    ngx_log_t  *log = arg;

    size_t  len;

    len = ngx_strlen(message);

    while (len && message[len - 1] == '\n') {
        len--;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0, "csibiz: postgres: %*s", len,
                  message);
}


static void
ngx_http_csibiz_pg_result(ngx_http_csibiz_op_t *op,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_pg_op_t  *pop;

    pop = (ngx_http_csibiz_pg_op_t *) op;

    res->res = pop->res;
}


static void
ngx_http_csibiz_pg_free(ngx_http_csibiz_op_t *op)
{
    ngx_http_csibiz_pg_op_t  *pop;

    pop = (ngx_http_csibiz_pg_op_t *) op;

    if (pop->batch) {
        /* its request went away while it waited in a batch */
        pop->batch->ops[pop->index] = NULL;
        pop->batch = NULL;
    }

    if (pop->res) {
        PQclear(pop->res);
        pop->res = NULL;
    }
}


/* a request pool cleanup: the parameters' copies */

static void
ngx_http_csibiz_pg_wipe(void *data)
{
    ngx_str_t  *block = data;

    ngx_explicit_memzero(block->data, block->len);
}


/*
 * At configuration time: the conninfo must parse and must not make a
 * worker resolve a host name, which would block it.
 */

char *
ngx_http_csibiz_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_csibiz_pg_conf_t *pcf)
{
    char                *err;
    size_t               len;
    ngx_uint_t           numeric;
    struct in6_addr      in6;
    ngx_str_t           *conninfo;
    ngx_uint_t           i, n;
    PQconninfoOption    *opts, *o;
    const char          *host, *hostaddr, *p;

    conninfo = &pcf->conninfo;

    err = NULL;
    opts = PQconninfoParse((const char *) conninfo->data, &err);

    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid conninfo \"%V\": %s", conninfo,
                           err ? err : "out of memory");
        if (err) {
            PQfreemem(err);
        }

        return NGX_CONF_ERROR;
    }

    len = 0;
    host = NULL;
    hostaddr = NULL;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0') {
            continue;
        }

        /* the lists of several hosts are kept, to be rotated */

        for (i = 0; i < 3; i++) {
            if (ngx_strcmp(o->keyword, ngx_http_csibiz_pg_list_keys[i]) != 0) {
                continue;
            }

            n = ngx_http_csibiz_pg_list_len(o->val);

            if (n > 1) {
                len = ngx_strlen(o->val);

                pcf->lists[i] = ngx_pnalloc(cf->pool, len + 1);
                if (pcf->lists[i] == NULL) {
                    PQconninfoFree(opts);
                    return NGX_CONF_ERROR;
                }

                ngx_memcpy(pcf->lists[i], o->val, len + 1);
                pcf->nhosts = ngx_max(pcf->nhosts, n);
            }
        }

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;
        }
    }

    numeric = 1;

    /* a list ("a,b"): every host of it, each numeric or a socket dir */

    while (hostaddr == NULL && host != NULL && *host) {
        len = ngx_strlen(host);
        p = (const char *) ngx_strlchr((u_char *) host, (u_char *) host + len,
                                       ',');
        if (p) {
            len = p - host;
        }

        if (len && host[0] != '/' && host[0] != '@') {
            numeric = (ngx_inet_addr((u_char *) host, len) != INADDR_NONE
#if (NGX_HAVE_INET6)
                       || ngx_inet6_addr((u_char *) host, len, in6.s6_addr)
                          == NGX_OK
#endif
                      );

            if (!numeric) {
                break;
            }
        }

        host = p ? p + 1 : host + len;
    }

    (void) in6;

    if (!numeric) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"host=%*s\" in conninfo needs a DNS lookup, "
                           "which would block a worker: use \"hostaddr=\" or "
                           "a unix socket directory", len, host);
        PQconninfoFree(opts);
        return NGX_CONF_ERROR;
    }

    PQconninfoFree(opts);

    return NGX_CONF_OK;
}
