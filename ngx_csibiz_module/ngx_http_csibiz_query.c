
/*
 * The parents' queries: GET /api/me, GET /api/declarations and
 * GET /api/payments.
 *
 * Each is the session (the dispatcher's), then one PostgreSQL function
 * (sql/functions/) that checks the parent's permission and builds the
 * whole answer: masked personal data, the status texts and the advice for
 * a failed debit are PostgreSQL's (table query_text).  The function's row
 * is answered by ngx_http_csibiz_send_row().
 *
 * The birth date is sealed in the database (a plain one, with the masked
 * ID number, would leave a handful of candidates for the ID number):
 * me_get() answers "0000-00-00" in its place, and the statement adds the
 * sealed date as a fifth column, which the module opens and writes over
 * the placeholder, the same length, in the row itself.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"

#include <csibiz_crypto.h>


/* the parameters, in the order of the statements: me takes the first 3 */
#define NGX_HTTP_CSIBIZ_Q_USER        0
#define NGX_HTTP_CSIBIZ_Q_PERSON      1
#define NGX_HTTP_CSIBIZ_Q_LANG        2
#define NGX_HTTP_CSIBIZ_Q_NOW         3
#define NGX_HTTP_CSIBIZ_Q_DAY         4
#define NGX_HTTP_CSIBIZ_Q_N           5

/* insured_person.birth_date_enc: YYYY-MM-DD sealed, key version 1 */
#define NGX_HTTP_CSIBIZ_BIRTH_AD      "birth_date"
#define NGX_HTTP_CSIBIZ_BIRTH_LEN     10
#define NGX_HTTP_CSIBIZ_BIRTH_HOLDER  "\"birth_date\": \"0000-00-00\""


static ngx_int_t ngx_http_csibiz_query(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_pg_stmt_t *stmt,
    ngx_http_csibiz_step_pt handler);
static ngx_int_t ngx_http_csibiz_me_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result);
static ngx_int_t ngx_http_csibiz_me_birth(ngx_http_request_t *r,
    PGresult *res);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_me_stmt =
    ngx_http_csibiz_pg_stmt("me",
        "SELECT m.status, m.code, m.body, false, p.birth_date_enc"
        " FROM me_get($1::bigint, $2::bigint, $3::text) AS m"
        " LEFT JOIN insured_person p"
        " ON m.code IS NULL AND p.id = $2::bigint", 3);

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
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_me_stmt,
                                 ngx_http_csibiz_me_row);
}


ngx_int_t
ngx_http_csibiz_declarations_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_declarations_stmt,
                                 ngx_http_csibiz_send_row);
}


ngx_int_t
ngx_http_csibiz_payments_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_query(r, s, &ngx_http_csibiz_payments_stmt,
                                 ngx_http_csibiz_send_row);
}


static ngx_int_t
ngx_http_csibiz_query(ngx_http_request_t *r, ngx_http_csibiz_session_t *s,
    ngx_http_csibiz_pg_stmt_t *stmt, ngx_http_csibiz_step_pt handler)
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

    return ngx_http_csibiz_pg_query(r, stmt, params, handler, NULL);
}


/* me_get()'s row with the birth date opened into it, then answered */

static ngx_int_t
ngx_http_csibiz_me_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result)
{
    PGresult  *res;

    res = result->res;

    if (PQntuples(res) == 1 && PQnfields(res) == 5 && PQgetisnull(res, 0, 1)
        && ngx_http_csibiz_me_birth(r, res) != NGX_OK)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    return ngx_http_csibiz_send_row(r, flow, result);
}


static ngx_int_t
ngx_http_csibiz_me_birth(ngx_http_request_t *r, PGresult *res)
{
    u_char                       *body, *p;
    size_t                        n, len;
    ngx_uint_t                    i;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       sealed[CSIBIZ_SEALED_LEN(
                                      NGX_HTTP_CSIBIZ_BIRTH_LEN)];
    u_char                        date[NGX_HTTP_CSIBIZ_BIRTH_LEN];

    if (PQgetisnull(res, 0, 2) || PQgetisnull(res, 0, 4)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: no sealed birth date");
        return NGX_ERROR;
    }

    /* bytea in libpq's text form: \x and lower-case hex */
    p = (u_char *) PQgetvalue(res, 0, 4);
    len = PQgetlength(res, 0, 4);

    if (len < 2 || p[0] != '\\' || p[1] != 'x'
        || csibiz_hex_decode((char *) p + 2, len - 2, sealed, sizeof(sealed),
                             &n)
           != 0
        || n != sizeof(sealed))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: sealed birth date malformed");
        return NGX_ERROR;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_open(cmcf->seal_key, sealed, n, NGX_HTTP_CSIBIZ_BIRTH_AD,
                    sizeof(NGX_HTTP_CSIBIZ_BIRTH_AD) - 1, date,
                    sizeof(date), &n)
        != 0
        || n != sizeof(date))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: cannot open the birth date");
        return NGX_ERROR;
    }

    /* the keytool wrote it: digits and dashes only, nothing to escape */
    for (i = 0; i < sizeof(date); i++) {
        if ((i == 4 || i == 7) ? date[i] != '-'
                               : (date[i] < '0' || date[i] > '9'))
        {
            ngx_explicit_memzero(date, sizeof(date));
            return NGX_ERROR;
        }
    }

    /*
     * The placeholder member: its quotes cannot be those of a string's
     * content, which jsonb escapes, so the first match is the member.
     */
    body = (u_char *) PQgetvalue(res, 0, 2);
    p = ngx_strnstr(body, NGX_HTTP_CSIBIZ_BIRTH_HOLDER,
                    PQgetlength(res, 0, 2));

    if (p == NULL) {
        ngx_explicit_memzero(date, sizeof(date));
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: no birth date in the answer");
        return NGX_ERROR;
    }

    ngx_memcpy(p + sizeof(NGX_HTTP_CSIBIZ_BIRTH_HOLDER) - 1
               - NGX_HTTP_CSIBIZ_BIRTH_LEN - 1, date, sizeof(date));
    ngx_explicit_memzero(date, sizeof(date));

    return NGX_OK;
}
