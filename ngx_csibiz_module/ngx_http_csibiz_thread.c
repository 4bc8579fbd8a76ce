
/*
 * CPU-heavy work (argon2id password hashing, drawing captchas) runs in an
 * nginx thread pool so that the event loop keeps serving other requests
 * meanwhile.  The request is held (count and blocked) until the work is
 * back: its pool holds the task, which a thread may still be using.
 *
 * The worker's threads share its CPU (tools/bench pins a worker and its
 * threads to one): every runnable thread takes an equal slice from the
 * event loop.  Hashes are few (rate-limited, behind a proof) and bounded
 * by csibiz_hash_queue; captchas are free to ask for, so a worker draws
 * one at a time and lets the others wait in its own queue.
 *
 * A worker that shuts down gracefully waits only for pending timers, and
 * work in a thread has none: a guard timer keeps the worker until the
 * work is back and answered.
 */


#define NGX_HTTP_CSIBIZ_THREAD_GUARD   60000

/* captchas per worker: drawn at once, and drawn or waiting */
#define NGX_HTTP_CSIBIZ_DRAW_RUNNING   1
#define NGX_HTTP_CSIBIZ_DRAW_QUEUE     1024


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_status.h"
#include "ngx_http_csibiz_thread.h"


/* a kind of work: this worker's bounds and counts, and its metrics */
typedef struct {
    ngx_uint_t                     pending;    /* running or waiting */
    ngx_uint_t                     running;    /* posted, not back */
    ngx_uint_t                     max_running;    /* 0: the pool's */
    ngx_queue_t                    waiting;
    ngx_uint_t                     stat_jobs;
    ngx_uint_t                     stat_done;
    ngx_uint_t                     stat_rejected;
} ngx_http_csibiz_thread_kind_t;


typedef struct {
    ngx_http_request_t            *request;
    ngx_thread_task_t             *task;
    ngx_http_csibiz_thread_kind_t *kind;
    ngx_queue_t                    queue;
    ngx_event_t                    guard;
    ngx_http_csibiz_work_pt        work;
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
} ngx_http_csibiz_thread_ctx_t;


static ngx_int_t ngx_http_csibiz_thread_start(ngx_http_request_t *r,
    ngx_http_csibiz_thread_kind_t *kind, ngx_uint_t max_pending,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow);
static ngx_int_t ngx_http_csibiz_thread_post(
    ngx_http_csibiz_thread_ctx_t *ctx);
static void ngx_http_csibiz_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_csibiz_thread_done(ngx_event_t *ev);
static void ngx_http_csibiz_thread_next(ngx_http_csibiz_thread_kind_t *kind);
static void ngx_http_csibiz_thread_guard(ngx_event_t *ev);


static ngx_http_csibiz_thread_kind_t  ngx_http_csibiz_thread_hash = {
    0, 0, 0, { NULL, NULL },
    NGX_HTTP_CSIBIZ_STAT_ARGON2_JOBS,
    NGX_HTTP_CSIBIZ_STAT_ARGON2_DONE,
    NGX_HTTP_CSIBIZ_STAT_ARGON2_REJECTED
};

static ngx_http_csibiz_thread_kind_t  ngx_http_csibiz_thread_captcha = {
    0, 0, NGX_HTTP_CSIBIZ_DRAW_RUNNING, { NULL, NULL },
    NGX_HTTP_CSIBIZ_STAT_CAPTCHA_JOBS,
    NGX_HTTP_CSIBIZ_STAT_CAPTCHA_DONE,
    NGX_HTTP_CSIBIZ_STAT_CAPTCHA_REJECTED
};


/*
 * Runs work(flow) in the thread pool, then next(r, flow, res) in the
 * worker, whose result finalizes the request.  Returns NGX_DONE, or the
 * 503 answer if the work could not be queued (the pool's queue is full).
 */

ngx_int_t
ngx_http_csibiz_thread_run(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /*
     * A longer queue would only make every hash wait longer, and logins
     * with them: refuse at once, so that the client retries later.
     */

    return ngx_http_csibiz_thread_start(r, &ngx_http_csibiz_thread_hash,
                                        cmcf->hash_queue, work, next, flow);
}


/* the same for drawing a captcha: one at a time per worker */

ngx_int_t
ngx_http_csibiz_thread_draw(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow)
{
    return ngx_http_csibiz_thread_start(r, &ngx_http_csibiz_thread_captcha,
                                        NGX_HTTP_CSIBIZ_DRAW_QUEUE, work,
                                        next, flow);
}


static ngx_int_t
ngx_http_csibiz_thread_start(ngx_http_request_t *r,
    ngx_http_csibiz_thread_kind_t *kind, ngx_uint_t max_pending,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_thread_task_t             *task;
    ngx_http_csibiz_main_conf_t   *cmcf;
    ngx_http_csibiz_thread_ctx_t  *ctx;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (max_pending && kind->pending >= max_pending) {
        ngx_http_csibiz_status_event(kind->stat_rejected);
        return ngx_http_csibiz_fail(r, NGX_HTTP_SERVICE_UNAVAILABLE, "busy");
    }

    if (cmcf->thread_pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: no thread pool");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task = ngx_thread_task_alloc(r->pool,
                                 sizeof(ngx_http_csibiz_thread_ctx_t));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = task->ctx;
    ctx->request = r;
    ctx->task = task;
    ctx->kind = kind;
    ctx->work = work;
    ctx->next = next;
    ctx->flow = flow;

    task->handler = ngx_http_csibiz_thread_handler;
    task->event.handler = ngx_http_csibiz_thread_done;
    task->event.data = ctx;
    task->event.log = r->connection->log;

    if (kind->waiting.next == NULL) {
        ngx_queue_init(&kind->waiting);
    }

    if (kind->max_running && kind->running >= kind->max_running) {
        ngx_queue_insert_tail(&kind->waiting, &ctx->queue);

    } else if (ngx_http_csibiz_thread_post(ctx) != NGX_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    kind->pending++;

    ctx->guard.handler = ngx_http_csibiz_thread_guard;
    ctx->guard.data = ctx;
    ctx->guard.log = r->connection->log;
    ngx_add_timer(&ctx->guard, NGX_HTTP_CSIBIZ_THREAD_GUARD);

    r->main->blocked++;
    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_thread_post(ngx_http_csibiz_thread_ctx_t *ctx)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_csibiz_module);

    if (ngx_thread_task_post(cmcf->thread_pool, ctx->task) != NGX_OK) {
        ngx_http_csibiz_status_event(ctx->kind->stat_rejected);
        return NGX_ERROR;
    }

    ngx_http_csibiz_status_event(ctx->kind->stat_jobs);
    ctx->kind->running++;

    return NGX_OK;
}


static void
ngx_http_csibiz_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_csibiz_thread_ctx_t  *ctx = data;

    ctx->work(ctx->flow);
}


static void
ngx_http_csibiz_thread_done(ngx_event_t *ev)
{
    ngx_int_t                      rc;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_csibiz_result_t       res;
    ngx_http_csibiz_thread_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    if (ctx->guard.timer_set) {
        ngx_del_timer(&ctx->guard);
    }

    r->main->blocked--;
    ctx->kind->running--;
    ctx->kind->pending--;

    ngx_http_csibiz_status_event(ctx->kind->stat_done);

    ngx_http_csibiz_thread_next(ctx->kind);

    ngx_memzero(&res, sizeof(ngx_http_csibiz_result_t));

    rc = ngx_http_csibiz_step_resume(r, ctx->next, ctx->flow, &res);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* a task is back: post the next waiting ones of its kind */

static void
ngx_http_csibiz_thread_next(ngx_http_csibiz_thread_kind_t *kind)
{
    ngx_int_t                      rc;
    ngx_queue_t                   *q;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_csibiz_thread_ctx_t  *ctx;

    while (kind->running < kind->max_running
           && !ngx_queue_empty(&kind->waiting))
    {
        q = ngx_queue_head(&kind->waiting);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_csibiz_thread_ctx_t, queue);

        if (ngx_http_csibiz_thread_post(ctx) == NGX_OK) {
            continue;
        }

        r = ctx->request;
        c = r->connection;

        if (ctx->guard.timer_set) {
            ngx_del_timer(&ctx->guard);
        }

        r->main->blocked--;
        kind->pending--;

        rc = ngx_http_csibiz_send_unavailable(r);

        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}


/* the work is still in a thread (a long queue): keep guarding */

static void
ngx_http_csibiz_thread_guard(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_CSIBIZ_THREAD_GUARD);
}
