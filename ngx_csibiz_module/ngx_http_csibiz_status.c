
/*
 * Metrics and access log variables.
 *
 * Counters live in one shared memory zone, "csibiz_status", that the
 * module creates itself (its size follows from the handler and error
 * tables, so there is nothing to configure); every worker adds to them
 * atomically.  The zone is kept across "nginx -s reload", so counters
 * keep counting; they start from zero when nginx is restarted or upgraded
 * to a new binary.
 *
 * Requests and errors are counted in one place, the log phase, which sees
 * every request of a csibiz location with its handler, final status and
 * error code.  Pool gauges are per worker: each worker claims a slot by
 * its pid (old workers that drain after a reload keep theirs until they
 * exit) and copies its pools' state there every second and when it
 * answers a scrape.  Slots of processes that are gone are not summed.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_status.h"

#include <signal.h>


#define NGX_HTTP_CSIBIZ_STATUS_SLOTS    128
#define NGX_HTTP_CSIBIZ_STATUS_PUBLISH  1000
#define NGX_HTTP_CSIBIZ_STATUS_LINE     256

#define NGX_HTTP_CSIBIZ_BACKENDS        3
#define NGX_HTTP_CSIBIZ_REDIS           0
#define NGX_HTTP_CSIBIZ_POSTGRES        1
#define NGX_HTTP_CSIBIZ_POSTGRES_READ   2

/* per-worker gauges of a pool */
#define NGX_HTTP_CSIBIZ_GAUGE_BUSY      0
#define NGX_HTTP_CSIBIZ_GAUGE_IDLE      1
#define NGX_HTTP_CSIBIZ_GAUGE_WAITING   2
#define NGX_HTTP_CSIBIZ_GAUGE_SIZE      3
#define NGX_HTTP_CSIBIZ_GAUGES          4


typedef struct {
    ngx_atomic_t                   pid;
    ngx_atomic_t                   gauge[NGX_HTTP_CSIBIZ_BACKENDS]
                                        [NGX_HTTP_CSIBIZ_GAUGES];
} ngx_http_csibiz_status_slot_t;


typedef struct {
    ngx_uint_t                     nhandlers;
    ngx_uint_t                     ncodes;     /* the catalogue + "other" */
    ngx_atomic_t                   backend[NGX_HTTP_CSIBIZ_BACKENDS]
                                          [NGX_HTTP_CSIBIZ_STAT_BACKEND_N];
    ngx_atomic_t                   event[NGX_HTTP_CSIBIZ_STAT_EVENT_N];
    ngx_http_csibiz_status_slot_t  slot[NGX_HTTP_CSIBIZ_STATUS_SLOTS];

    /* requests[nhandlers][statuses], then errors[nhandlers][ncodes] */
    ngx_atomic_t                   counter[1];
} ngx_http_csibiz_status_shctx_t;


typedef struct {
    const char                    *name;
    const char                    *help;
    const char                    *type;
} ngx_http_csibiz_status_metric_t;


static ngx_int_t ngx_http_csibiz_status_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_csibiz_status_log_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_csibiz_status_slot_of(ngx_uint_t status);
static ngx_uint_t ngx_http_csibiz_status_backend_of(
    ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_status_publish(ngx_event_t *ev);
static void ngx_http_csibiz_status_publish_pool(ngx_http_csibiz_pool_t *pool,
    ngx_atomic_t *gauge);
static u_char *ngx_http_csibiz_status_header(u_char *p, u_char *end,
    ngx_http_csibiz_status_metric_t *m);
static u_char *ngx_http_csibiz_status_render(ngx_http_csibiz_status_shctx_t *sh,
    u_char *p, u_char *end);
static ngx_int_t ngx_http_csibiz_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* the HTTP statuses counted one by one; the last slot is "other" */

static ngx_uint_t  ngx_http_csibiz_statuses[] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422,
    423, 429, 499, 500, 502, 503, 504, 0
};

#define NGX_HTTP_CSIBIZ_NSTATUSES                                            \
    (sizeof(ngx_http_csibiz_statuses) / sizeof(ngx_uint_t))


static const char  *ngx_http_csibiz_backend_names[] = {
    "redis", "postgres", "postgres_read"
};


static ngx_http_csibiz_status_metric_t  ngx_http_csibiz_backend_metrics[] = {
    { "csibiz_backend_connects_total",
      "Connections opened to the backend.", "counter" },
    { "csibiz_backend_connect_failures_total",
      "Connection attempts that failed.", "counter" },
    { "csibiz_backend_timeouts_total",
      "Connects and replies that timed out.", "counter" },
    { "csibiz_backend_unavailable_total",
      "Operations answered as unavailable (down, timeout, queue).",
      "counter" },
    { "csibiz_backend_query_errors_total",
      "Statements the backend answered with an error.", "counter" },
    { "csibiz_backend_operations_total",
      "Operations of requests (a Redis pipeline, a statement).", "counter" },
    { "csibiz_backend_writes_total",
      "Writes to Redis connections, each carrying the operations queued"
      " since the last.", "counter" },
    { "csibiz_backend_fallbacks_total",
      "Read-only statements this pool could not run, sent to the other"
      " PostgreSQL pool.", "counter" },
};


static ngx_http_csibiz_status_metric_t  ngx_http_csibiz_event_metrics[] = {
    { "csibiz_sms_sent_total",
      "SMS codes queued for sending.", "counter" },
    { "csibiz_logins_failed_total",
      "Wrong passwords at login and reauth.", "counter" },
    { "csibiz_accounts_locked_total",
      "Accounts locked by a failed password.", "counter" },
    { "csibiz_argon2_jobs_total",
      "Password hashes queued to the thread pool.", "counter" },
    { "csibiz_argon2_jobs_done_total",
      "Password hashes finished.", "counter" },
    { "csibiz_argon2_rejected_total",
      "Password hashes refused: the thread pool queue was full.",
      "counter" },
    { "csibiz_captcha_jobs_total",
      "Captchas queued to be drawn in the thread pool.", "counter" },
    { "csibiz_captcha_jobs_done_total",
      "Captchas drawn in the thread pool.", "counter" },
    { "csibiz_captcha_rejected_total",
      "Captchas refused: too many waiting to be drawn.", "counter" },
};


static ngx_http_csibiz_status_metric_t  ngx_http_csibiz_gauge_metrics[] = {
    { "csibiz_pool_busy",
      "Connections in use or connecting, all workers.", "gauge" },
    { "csibiz_pool_idle",
      "Connected and idle, all workers.", "gauge" },
    { "csibiz_pool_waiting",
      "Operations waiting for a connection, all workers.", "gauge" },
    { "csibiz_pool_size",
      "Configured connections, all workers.", "gauge" },
};


static ngx_http_variable_t  ngx_http_csibiz_vars[] = {

    { ngx_string("csibiz_handler"), NULL, ngx_http_csibiz_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("csibiz_error"), NULL, ngx_http_csibiz_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("csibiz_user"), NULL, ngx_http_csibiz_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("csibiz_backend_time"), NULL, ngx_http_csibiz_variable,
      3, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* this worker's view: set in init_process, NULL in the master */
static ngx_http_csibiz_status_shctx_t  *ngx_http_csibiz_status_sh;
static ngx_http_csibiz_status_slot_t   *ngx_http_csibiz_status_slot;
static ngx_http_csibiz_main_conf_t     *ngx_http_csibiz_status_cmcf;
static ngx_event_t                      ngx_http_csibiz_status_timer;


ngx_int_t
ngx_http_csibiz_status_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_csibiz_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* the zone and the log phase handler, from postconfiguration */

ngx_int_t
ngx_http_csibiz_status_init(ngx_conf_t *cf)
{
    size_t                        size;
    ngx_str_t                     name;
    ngx_uint_t                    nh, nc;
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *core;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_csibiz_module);

    for (nh = 0; ngx_http_csibiz_handlers[nh].name.len; nh++) { /* void */ }
    nc = ngx_http_csibiz_message_count() + 1;

    size = offsetof(ngx_http_csibiz_status_shctx_t, counter)
           + nh * (NGX_HTTP_CSIBIZ_NSTATUSES + nc) * sizeof(ngx_atomic_t);

    /* the slab allocator's own pages, then whole pages for the counters */
    size = 8 * ngx_pagesize + ngx_align(size, ngx_pagesize);

    ngx_str_set(&name, "csibiz_status");

    cmcf->status_zone = ngx_shared_memory_add(cf, &name, size,
                                              &ngx_http_csibiz_module);
    if (cmcf->status_zone == NULL) {
        return NGX_ERROR;
    }

    cmcf->status_zone->init = ngx_http_csibiz_status_init_zone;
    cmcf->status_zone->data = (void *) (uintptr_t) nh;

    core = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&core->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_csibiz_status_log_handler;

    return NGX_OK;
}


/* a reload with the same binary finds the same layout: counters go on */

static ngx_int_t
ngx_http_csibiz_status_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                           size;
    ngx_uint_t                       nh, nc;
    ngx_slab_pool_t                 *shpool;
    ngx_http_csibiz_status_shctx_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    nh = (uintptr_t) shm_zone->data;
    nc = ngx_http_csibiz_message_count() + 1;

    size = offsetof(ngx_http_csibiz_status_shctx_t, counter)
           + nh * (NGX_HTTP_CSIBIZ_NSTATUSES + nc) * sizeof(ngx_atomic_t);

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->nhandlers = nh;
    sh->ncodes = nc;

    shm_zone->data = sh;

    return NGX_OK;
}


ngx_int_t
ngx_http_csibiz_status_init_process(ngx_cycle_t *cycle)
{
    ngx_pid_t                        pid;
    ngx_uint_t                       i;
    ngx_http_csibiz_status_slot_t   *slot;
    ngx_http_csibiz_main_conf_t     *cmcf;
    ngx_http_csibiz_status_shctx_t  *sh;

    cmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_csibiz_module);

    if (cmcf == NULL || cmcf->status_zone == NULL
        || cmcf->status_zone->data == NULL)
    {
        return NGX_OK;
    }

    sh = cmcf->status_zone->data;

    ngx_http_csibiz_status_sh = sh;
    ngx_http_csibiz_status_cmcf = cmcf;

    /* a free slot, or one left by a process that is gone (a crash) */

    for (i = 0; i < NGX_HTTP_CSIBIZ_STATUS_SLOTS; i++) {
        slot = &sh->slot[i];
        pid = (ngx_pid_t) slot->pid;

        if (pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH)) {
            continue;
        }

        if (ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) pid,
                               (ngx_atomic_uint_t) ngx_pid))
        {
            ngx_memzero((void *) slot->gauge, sizeof(slot->gauge));
            ngx_http_csibiz_status_slot = slot;
            break;
        }
    }

    if (ngx_http_csibiz_status_slot == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "csibiz: no free status slot, this worker's pool "
                      "gauges are not counted");
        return NGX_OK;
    }

    ngx_http_csibiz_status_timer.handler = ngx_http_csibiz_status_publish;
    ngx_http_csibiz_status_timer.log = cycle->log;
    ngx_http_csibiz_status_timer.data = cmcf;

    /* does not keep a worker that shuts down gracefully */
    ngx_http_csibiz_status_timer.cancelable = 1;

    ngx_add_timer(&ngx_http_csibiz_status_timer,
                  NGX_HTTP_CSIBIZ_STATUS_PUBLISH);

    return NGX_OK;
}


void
ngx_http_csibiz_status_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_csibiz_status_slot_t  *slot;

    slot = ngx_http_csibiz_status_slot;

    if (slot == NULL) {
        return;
    }

    ngx_memzero((void *) slot->gauge, sizeof(slot->gauge));
    ngx_atomic_cmp_set(&slot->pid, (ngx_atomic_uint_t) ngx_pid, 0);

    ngx_http_csibiz_status_slot = NULL;
}


static void
ngx_http_csibiz_status_publish(ngx_event_t *ev)
{
    ngx_http_csibiz_main_conf_t    *cmcf;
    ngx_http_csibiz_status_slot_t  *slot;

    cmcf = ngx_http_csibiz_status_cmcf;
    slot = ngx_http_csibiz_status_slot;

    if (slot == NULL) {
        return;
    }

    if (cmcf->redis_pool) {
        ngx_http_csibiz_status_publish_pool(cmcf->redis_pool,
                                    slot->gauge[NGX_HTTP_CSIBIZ_REDIS]);
    }

    if (cmcf->pg_pool) {
        ngx_http_csibiz_status_publish_pool(cmcf->pg_pool,
                                    slot->gauge[NGX_HTTP_CSIBIZ_POSTGRES]);
    }

    if (cmcf->pg_read_pool) {
        ngx_http_csibiz_status_publish_pool(cmcf->pg_read_pool,
                                slot->gauge[NGX_HTTP_CSIBIZ_POSTGRES_READ]);
    }

    /* a draining old worker goes on too: a cancelable timer holds no one */
    if (ev) {
        ngx_add_timer(ev, NGX_HTTP_CSIBIZ_STATUS_PUBLISH);
    }
}


static void
ngx_http_csibiz_status_publish_pool(ngx_http_csibiz_pool_t *pool,
    ngx_atomic_t *gauge)
{
    ngx_http_csibiz_pool_state_t  state;

    ngx_http_csibiz_pool_state(pool, &state);

    gauge[NGX_HTTP_CSIBIZ_GAUGE_BUSY] = state.busy;
    gauge[NGX_HTTP_CSIBIZ_GAUGE_IDLE] = state.idle;
    gauge[NGX_HTTP_CSIBIZ_GAUGE_WAITING] = state.waiting;
    gauge[NGX_HTTP_CSIBIZ_GAUGE_SIZE] = state.size;
}


static ngx_uint_t
ngx_http_csibiz_status_backend_of(ngx_http_csibiz_pool_t *pool)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_csibiz_status_cmcf;

    if (cmcf && pool == cmcf->pg_pool) {
        return NGX_HTTP_CSIBIZ_POSTGRES;
    }

    if (cmcf && pool == cmcf->pg_read_pool) {
        return NGX_HTTP_CSIBIZ_POSTGRES_READ;
    }

    return NGX_HTTP_CSIBIZ_REDIS;
}


void
ngx_http_csibiz_status_backend(ngx_http_csibiz_pool_t *pool, ngx_uint_t what)
{
    ngx_http_csibiz_status_shctx_t  *sh;

    sh = ngx_http_csibiz_status_sh;

    if (sh) {
        (void) ngx_atomic_fetch_add(
                  &sh->backend[ngx_http_csibiz_status_backend_of(pool)][what],
                  1);
    }
}


void
ngx_http_csibiz_status_event(ngx_uint_t what)
{
    if (ngx_http_csibiz_status_sh) {
        (void) ngx_atomic_fetch_add(&ngx_http_csibiz_status_sh->event[what],
                                    1);
    }
}


/* an operation has ended: its time, for $csibiz_backend_time */

void
ngx_http_csibiz_status_time(ngx_http_request_t *r, ngx_msec_t start)
{
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx) {
        ctx->backend_time += ngx_current_msec - start;
        ctx->backend_ops++;
    }
}


/* the request acts for this user: $csibiz_user */

void
ngx_http_csibiz_status_user(ngx_http_request_t *r, ngx_int_t user_id)
{
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx) {
        ctx->user_id = user_id;
    }
}


static ngx_uint_t
ngx_http_csibiz_status_slot_of(ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CSIBIZ_NSTATUSES - 1; i++) {
        if (ngx_http_csibiz_statuses[i] == status) {
            break;
        }
    }

    return i;
}


static ngx_int_t
ngx_http_csibiz_status_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                       h, i, status;
    ngx_atomic_t                    *errors;
    ngx_http_csibiz_ctx_t           *ctx;
    ngx_http_csibiz_loc_conf_t      *clcf;
    ngx_http_csibiz_status_shctx_t  *sh;

    sh = ngx_http_csibiz_status_sh;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);

    if (sh == NULL || clcf->handler == NULL || r != r->main) {
        return NGX_OK;
    }

    h = clcf->handler - ngx_http_csibiz_handlers;

    if (h >= sh->nhandlers) {
        return NGX_OK;
    }

    /* as $status has it: a closed connection is 499, a reset 0 */
    status = r->err_status ? r->err_status : r->headers_out.status;

    i = h * NGX_HTTP_CSIBIZ_NSTATUSES + ngx_http_csibiz_status_slot_of(status);

    (void) ngx_atomic_fetch_add(&sh->counter[i], 1);

    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    if (ctx && ctx->error) {
        errors = &sh->counter[sh->nhandlers * NGX_HTTP_CSIBIZ_NSTATUSES];

        (void) ngx_atomic_fetch_add(&errors[h * sh->ncodes
                                           + ngx_min(ctx->error_index,
                                                     sh->ncodes - 1)],
                                    1);
    }

    return NGX_OK;
}


/* "csibiz status;": the counters in Prometheus' text format */

ngx_int_t
ngx_http_csibiz_status_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    size_t                           size;
    u_char                          *body, *p;
    ngx_uint_t                       n;
    ngx_http_csibiz_status_shctx_t  *sh;

    sh = ngx_http_csibiz_status_sh;

    if (sh == NULL) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    /* this worker's gauges fresh, the others' at most a second old */
    ngx_http_csibiz_status_publish(NULL);

    /*
     * room for every counter, not only those non-zero now: other workers
     * keep counting while this one renders, and a cut line would make
     * the whole scrape unreadable
     */
    n = sh->nhandlers * (NGX_HTTP_CSIBIZ_NSTATUSES + sh->ncodes);

    size = (n + 128) * NGX_HTTP_CSIBIZ_STATUS_LINE;

    body = ngx_pnalloc(r->pool, size);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_csibiz_status_render(sh, body, body + size);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = p - body;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_csibiz_send_body(r, body, p - body);
}


static u_char *
ngx_http_csibiz_status_header(u_char *p, u_char *end,
    ngx_http_csibiz_status_metric_t *m)
{
    return ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s %s\n",
                        m->name, m->help, m->name, m->type);
}


static u_char *
ngx_http_csibiz_status_render(ngx_http_csibiz_status_shctx_t *sh, u_char *p,
    u_char *end)
{
    ngx_pid_t                         pid;
    ngx_uint_t                        h, i, b, g, live;
    ngx_atomic_t                     *errors, v;
    ngx_atomic_uint_t                 sum;
    ngx_http_csibiz_status_metric_t   m;
    u_char                            alive[NGX_HTTP_CSIBIZ_STATUS_SLOTS];

    m.name = "csibiz_requests_total";
    m.help = "Requests answered, by handler and HTTP status.";
    m.type = "counter";
    p = ngx_http_csibiz_status_header(p, end, &m);

    for (h = 0; h < sh->nhandlers; h++) {
        for (i = 0; i < NGX_HTTP_CSIBIZ_NSTATUSES; i++) {
            v = sh->counter[h * NGX_HTTP_CSIBIZ_NSTATUSES + i];

            if (v == 0) {
                continue;
            }

            p = ngx_slprintf(p, end,
                             "csibiz_requests_total{handler=\"%V\","
                             "status=\"", &ngx_http_csibiz_handlers[h].name);

            p = ngx_http_csibiz_statuses[i]
                ? ngx_slprintf(p, end, "%ui", ngx_http_csibiz_statuses[i])
                : ngx_slprintf(p, end, "other");

            p = ngx_slprintf(p, end, "\"} %uA\n", v);
        }
    }

    m.name = "csibiz_errors_total";
    m.help = "JSON error answers, by handler and error code.";
    p = ngx_http_csibiz_status_header(p, end, &m);

    errors = &sh->counter[sh->nhandlers * NGX_HTTP_CSIBIZ_NSTATUSES];

    for (h = 0; h < sh->nhandlers; h++) {
        for (i = 0; i < sh->ncodes; i++) {
            v = errors[h * sh->ncodes + i];

            if (v == 0) {
                continue;
            }

            p = ngx_slprintf(p, end,
                             "csibiz_errors_total{handler=\"%V\","
                             "code=\"%s\"} %uA\n",
                             &ngx_http_csibiz_handlers[h].name,
                             i < sh->ncodes - 1
                             ? ngx_http_csibiz_message_code(i) : "other",
                             v);
        }
    }

    for (i = 0; i < NGX_HTTP_CSIBIZ_STAT_BACKEND_N; i++) {
        p = ngx_http_csibiz_status_header(p, end,
                                          &ngx_http_csibiz_backend_metrics[i]);

        for (b = 0; b < NGX_HTTP_CSIBIZ_BACKENDS; b++) {
            p = ngx_slprintf(p, end, "%s{backend=\"%s\"} %uA\n",
                             ngx_http_csibiz_backend_metrics[i].name,
                             ngx_http_csibiz_backend_names[b],
                             sh->backend[b][i]);
        }
    }

    for (i = 0; i < NGX_HTTP_CSIBIZ_STAT_EVENT_N; i++) {
        p = ngx_http_csibiz_status_header(p, end,
                                          &ngx_http_csibiz_event_metrics[i]);
        p = ngx_slprintf(p, end, "%s %uA\n",
                         ngx_http_csibiz_event_metrics[i].name,
                         sh->event[i]);
    }

    /* gauges: the live workers' slots summed */

    live = 0;

    for (i = 0; i < NGX_HTTP_CSIBIZ_STATUS_SLOTS; i++) {
        pid = (ngx_pid_t) sh->slot[i].pid;

        alive[i] = (pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH));
        live += alive[i];
    }

    for (g = 0; g < NGX_HTTP_CSIBIZ_GAUGES; g++) {
        p = ngx_http_csibiz_status_header(p, end,
                                          &ngx_http_csibiz_gauge_metrics[g]);

        for (b = 0; b < NGX_HTTP_CSIBIZ_BACKENDS; b++) {
            sum = 0;

            for (i = 0; i < NGX_HTTP_CSIBIZ_STATUS_SLOTS; i++) {
                if (alive[i]) {
                    sum += sh->slot[i].gauge[b][g];
                }
            }

            p = ngx_slprintf(p, end, "%s{backend=\"%s\"} %uA\n",
                             ngx_http_csibiz_gauge_metrics[g].name,
                             ngx_http_csibiz_backend_names[b], sum);
        }
    }

    m.name = "csibiz_workers";
    m.help = "Worker processes counted, old ones still draining included.";
    m.type = "gauge";
    p = ngx_http_csibiz_status_header(p, end, &m);
    p = ngx_slprintf(p, end, "csibiz_workers %ui\n", live);

    return p;
}


/* the access log variables; empty ones are logged as "-" */

static ngx_int_t
ngx_http_csibiz_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char                       *p;
    ngx_uint_t                    i;
    ngx_http_csibiz_ctx_t        *ctx;
    ngx_http_csibiz_loc_conf_t   *clcf;
    ngx_http_csibiz_main_conf_t  *cmcf;
    u_char                        buf[NGX_INT_T_LEN];
    uint8_t                       mac[CSIBIZ_HMACBYTES];

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_csibiz_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    switch (data) {

    case 0:
        if (clcf->handler == NULL) {
            break;
        }

        v->len = clcf->handler->name.len;
        v->data = clcf->handler->name.data;
        return NGX_OK;

    case 1:
        if (ctx == NULL || ctx->error == NULL) {
            break;
        }

        v->len = ngx_strlen(ctx->error);
        v->data = (u_char *) ctx->error;
        return NGX_OK;

    case 2:
        cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

        if (ctx == NULL || ctx->user_id <= 0 || !cmcf->have_keys) {
            break;
        }

        /* a pseudonym: the same user gets the same one, no one can undo it */
        p = ngx_sprintf(buf, "%i", ctx->user_id);
        csibiz_hmac(cmcf->log_key, buf, p - buf, mac);

        v->data = ngx_pnalloc(r->pool, 16);
        if (v->data == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < 8; i++) {
            v->data[2 * i] = "0123456789abcdef"[mac[i] >> 4];
            v->data[2 * i + 1] = "0123456789abcdef"[mac[i] & 0xf];
        }

        v->len = 16;
        return NGX_OK;

    case 3:
        if (ctx == NULL || ctx->backend_ops == 0) {
            break;
        }

        v->data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 4);
        if (v->data == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(v->data, "%T.%03M",
                             (time_t) ctx->backend_time / 1000,
                             ctx->backend_time % 1000)
                 - v->data;
        return NGX_OK;
    }

    v->not_found = 1;

    return NGX_OK;
}
