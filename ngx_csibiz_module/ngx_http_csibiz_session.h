
/*
 * Sessions in Redis.  The dispatcher loads the session a handler's row
 * asks for; the user-account flows create, step up and end sessions.
 */


#ifndef _NGX_HTTP_CSIBIZ_SESSION_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_SESSION_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_step.h"


/* how long a password entered at login or reauth allows bank writes */
#define NGX_HTTP_CSIBIZ_REAUTH_VALID  1200


struct ngx_http_csibiz_session_s {
    ngx_uint_t                     valid;
    ngx_str_t                      key;        /* in Redis */
    ngx_int_t                      user_id;
    ngx_int_t                      person_id;
    time_t                         created;
    time_t                         auth_at;    /* password last entered */
    time_t                         wrote_at;   /* a WRITES handler ran */
    time_t                         idle_left;
    ngx_str_t                      csrf;
    ngx_uint_t                     stepped_up; /* auth_at is recent */
};


/*
 * Loads the session for the handler h and calls it: with a required
 * session, a missing one is answered 401 not_logged_in and a
 * state-changing request without the session's CSRF token 403 csrf.
 */

ngx_int_t ngx_http_csibiz_session_load(ngx_http_request_t *r,
    ngx_http_csibiz_handler_t *h);


/* these go on with next(r, flow, res); the session is session_get(r) */

ngx_int_t ngx_http_csibiz_session_create(ngx_http_request_t *r,
    ngx_int_t user_id, ngx_int_t person_id, ngx_http_csibiz_step_pt next,
    void *flow);
ngx_int_t ngx_http_csibiz_session_destroy(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_step_pt next, void *flow);
ngx_int_t ngx_http_csibiz_session_reauth(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_step_pt next, void *flow);

ngx_http_csibiz_session_t *ngx_http_csibiz_session_get(
    ngx_http_request_t *r);

/* appends to rop the command that ends every session of the user */
ngx_int_t ngx_http_csibiz_session_end_user(ngx_http_request_t *r,
    ngx_http_csibiz_redis_op_t *rop, ngx_int_t user_id);


#endif /* _NGX_HTTP_CSIBIZ_SESSION_H_INCLUDED_ */
