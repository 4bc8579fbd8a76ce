
/*
 * The parents' queries: GET /api/me, GET /api/declarations and
 * GET /api/payments.
 *
 * Each is the session (the dispatcher's), then one PostgreSQL function
 * (sql/functions/) that checks the parent's permission and builds the
 * whole answer: masked personal data, the status texts and the advice for
 * a failed debit are PostgreSQL's (table query_text).  The function's row
 * is answered by ngx_http_csibiz_send_row().
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"


/* the parameters, in the order of the statements: me takes the first 3 */
#define NGX_HTTP_CSIBIZ_Q_USER        0
#define NGX_HTTP_CSIBIZ_Q_PERSON      1
#define NGX_HTTP_CSIBIZ_Q_LANG        2
#define NGX_HTTP_CSIBIZ_Q_NOW         3
#define NGX_HTTP_CSIBIZ_Q_DAY         4
#define NGX_HTTP_CSIBIZ_Q_N           5


static ngx_int_t ngx_http_csibiz_query(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_pg_stmt_t *stmt);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_me_stmt =
    ngx_http_csibiz_pg_stmt("me",
        "SELECT status, code, body, false"
        " FROM me_get($1::bigint, $2::bigint, $3::text)", 3);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_declarations_stmt =
    ngx_http_csibiz_pg_stmt("declarations",
        "SELECT status, code, body, false"
        " FROM declarations_get($1::bigint, $2::bigint, $4::timestamptz,"
        " $3::text, $5::int)", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_payments_stmt =
    ngx_http_csibiz_pg_stmt("payments",
        "SELECT status, code, body, false"
        " FROM payments_get($1::bigint, $2::bigint, $4::timestamptz,"
        " $3::text, $5::int)", 5);


ngx_int_t
ngx_http_csibiz_me_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_me_stmt);
}


ngx_int_t
ngx_http_csibiz_declarations_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_declarations_stmt);
}


ngx_int_t
ngx_http_csibiz_payments_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_payments_stmt);
}


static ngx_int_t
ngx_http_csibiz_query(ngx_http_request_t *r, ngx_http_csibiz_session_t *s,
    ngx_http_csibiz_pg_stmt_t *stmt)
{
    ngx_str_t                     params[NGX_HTTP_CSIBIZ_Q_N];
    ngx_http_csibiz_ctx_t        *rctx;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    rctx = ngx_http_csibiz_get_ctx(r);

    if (ngx_http_csibiz_integer(r, &params[NGX_HTTP_CSIBIZ_Q_USER],
                                s->user_id)
        != NGX_OK
        || ngx_http_csibiz_integer(r, &params[NGX_HTTP_CSIBIZ_Q_PERSON],
                                   s->person_id)
           != NGX_OK
        || ngx_http_csibiz_integer(r, &params[NGX_HTTP_CSIBIZ_Q_DAY],
                                   cmcf->payment_result_day)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rctx && rctx->lang == CSIBIZ_LANG_EN) {
        ngx_str_set(&params[NGX_HTTP_CSIBIZ_Q_LANG], "en");

    } else {
        ngx_str_set(&params[NGX_HTTP_CSIBIZ_Q_LANG], "zh");
    }

    /* NULL: PostgreSQL's own clock */
    params[NGX_HTTP_CSIBIZ_Q_NOW] = cmcf->test_now;

    return ngx_http_csibiz_pg_query(r, stmt, params, ngx_http_csibiz_send_row,
                                    NULL);
}
