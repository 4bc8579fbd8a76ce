
/*
 * CPU-heavy work (argon2id password hashing) runs in an nginx thread pool
 * so that the event loop keeps serving other requests meanwhile.  The
 * request is held (count and blocked) until the work is back: its pool
 * holds the task, which a thread may still be using.
 *
 * A worker that shuts down gracefully waits only for pending timers, and
 * work in a thread has none: a guard timer keeps the worker until the
 * work is back and answered.
 */


#define NGX_HTTP_CSIBIZ_THREAD_GUARD  60000


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_status.h"
#include "ngx_http_csibiz_thread.h"


typedef struct {
    ngx_http_request_t            *request;
    ngx_event_t                    guard;
    ngx_http_csibiz_work_pt        work;
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
} ngx_http_csibiz_thread_ctx_t;


static void ngx_http_csibiz_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_csibiz_thread_done(ngx_event_t *ev);
static void ngx_http_csibiz_thread_guard(ngx_event_t *ev);


/* this worker's tasks posted and not back yet */
static ngx_int_t  ngx_http_csibiz_thread_pending;


/*
 * Runs work(flow) in the thread pool, then next(r, flow, res) in the
 * worker, whose result finalizes the request.  Returns NGX_DONE, or the
 * 503 answer if the work could not be queued (the pool's queue is full).
 */

ngx_int_t
ngx_http_csibiz_thread_run(ngx_http_request_t *r,
    ngx_http_csibiz_work_pt work, ngx_http_csibiz_step_pt next, void *flow)
{
    ngx_thread_task_t             *task;
    ngx_http_csibiz_main_conf_t   *cmcf;
    ngx_http_csibiz_thread_ctx_t  *ctx;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /*
     * A longer queue would only make every hash wait longer, and logins
     * with them: refuse at once, so that the client retries later.
     */

    if (cmcf->hash_queue
        && ngx_http_csibiz_thread_pending >= cmcf->hash_queue)
    {
        ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ARGON2_REJECTED);
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
    ctx->work = work;
    ctx->next = next;
    ctx->flow = flow;

    task->handler = ngx_http_csibiz_thread_handler;
    task->event.handler = ngx_http_csibiz_thread_done;
    task->event.data = ctx;
    task->event.log = r->connection->log;

    if (ngx_thread_task_post(cmcf->thread_pool, task) != NGX_OK) {
        ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ARGON2_REJECTED);
        return ngx_http_csibiz_send_unavailable(r);
    }

    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ARGON2_JOBS);
    ngx_http_csibiz_thread_pending++;

    ctx->guard.handler = ngx_http_csibiz_thread_guard;
    ctx->guard.data = ctx;
    ctx->guard.log = r->connection->log;
    ngx_add_timer(&ctx->guard, NGX_HTTP_CSIBIZ_THREAD_GUARD);

    r->main->blocked++;
    r->main->count++;

    return NGX_DONE;
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
    ngx_http_csibiz_thread_pending--;

    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ARGON2_DONE);

    ngx_memzero(&res, sizeof(ngx_http_csibiz_result_t));

    rc = ngx_http_csibiz_step_resume(r, ctx->next, ctx->flow, &res);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the work is still in a thread (a long queue): keep guarding */

static void
ngx_http_csibiz_thread_guard(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_HTTP_CSIBIZ_THREAD_GUARD);
}
