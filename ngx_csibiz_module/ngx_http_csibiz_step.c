
/*
 * The runner: every asynchronous step of every request goes on through
 * here, so that a backend failure is answered the same way everywhere.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_step.h"


/*
 * Calls next(r, flow, res), or answers a failed backend operation: 503
 * backend_unavailable when the backend is down, timed out or its queue
 * full, 500 internal when PostgreSQL answered an error.  Returns what the
 * request is finalized with.
 */

ngx_int_t
ngx_http_csibiz_step_resume(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow, ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_ctx_t  *ctx;

    if (res->status != NGX_HTTP_CSIBIZ_OK) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_csibiz_module);

        if (ctx == NULL || !ctx->catch) {
            return ngx_http_csibiz_fail_backend(r, res->status);
        }
    }

    return next(r, flow, res);
}


/* this request's steps see backend failures themselves (health) */

void
ngx_http_csibiz_step_catch(ngx_http_request_t *r)
{
    ngx_http_csibiz_ctx_t  *ctx;

    ctx = ngx_http_csibiz_get_ctx(r);

    if (ctx) {
        ctx->catch = 1;
    }
}
