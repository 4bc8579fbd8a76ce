
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
 * the placeholder, the same length, in the row itself.  The ID number's
 * mask likewise (no part of the ID number is stored plain): me_get()
 * answers 18 stars, the statement adds the sealed ID number as a sixth
 * column, and the module writes its mask (first 3 and last 4) over them.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"

#include <csibiz_crypto.h>
#include <csibiz_validate.h>


/* the parameters, in the order of the statements: me takes the first 3 */
#define NGX_HTTP_CSIBIZ_Q_USER        0
#define NGX_HTTP_CSIBIZ_Q_PERSON      1
#define NGX_HTTP_CSIBIZ_Q_LANG        2
#define NGX_HTTP_CSIBIZ_Q_NOW         3
#define NGX_HTTP_CSIBIZ_Q_DAY         4
#define NGX_HTTP_CSIBIZ_Q_N           5

/* insured_person.birth_date_enc: YYYY-MM-DD sealed */
#define NGX_HTTP_CSIBIZ_BIRTH_AD      "birth_date"
#define NGX_HTTP_CSIBIZ_BIRTH_LEN     10
#define NGX_HTTP_CSIBIZ_BIRTH_HOLDER  "\"birth_date\": \""

/* insured_person.id_number_enc, and the member of the mask it replaces */
#define NGX_HTTP_CSIBIZ_ID_AD         "id_number"
#define NGX_HTTP_CSIBIZ_ID_HOLDER     "\"id_number_masked\": \""

/* the columns of the me statement's row */
#define NGX_HTTP_CSIBIZ_ME_BODY       2
#define NGX_HTTP_CSIBIZ_ME_BIRTH      4
#define NGX_HTTP_CSIBIZ_ME_ID         5
#define NGX_HTTP_CSIBIZ_ME_N          6


static ngx_int_t ngx_http_csibiz_query(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_http_csibiz_pg_stmt_t *stmt,
    ngx_http_csibiz_step_pt handler);
static ngx_int_t ngx_http_csibiz_me_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result);
static ngx_int_t ngx_http_csibiz_me_birth(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_http_csibiz_me_id_number(ngx_http_request_t *r,
    PGresult *res);
static ngx_int_t ngx_http_csibiz_me_open(ngx_http_request_t *r,
    PGresult *res, int column, const char *ad, u_char *out, size_t len);
static u_char *ngx_http_csibiz_me_member(ngx_http_request_t *r,
    PGresult *res, const char *holder, size_t len);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_me_batch_stmt =
    ngx_http_csibiz_pg_stmt("me_batch",
        "SELECT i, status, code, body, replayed, birth_date_enc,"
        " id_number_enc"
        " FROM app_me_batch($1::bigint[], $2::bigint[], $3::text[])", 3);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_me_stmt =
    ngx_http_csibiz_pg_batched("me",
        "SELECT status, code, body, replayed, birth_date_enc, id_number_enc"
        " FROM app_me($1::bigint, $2::bigint, $3::text)", 3,
        &ngx_http_csibiz_me_batch_stmt);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_declarations_batch_stmt =
    ngx_http_csibiz_pg_stmt("declarations_batch",
        "SELECT i, status, code, body, replayed"
        " FROM app_declarations_batch($1::bigint[], $2::bigint[],"
        " $3::text[], $4::timestamptz[], $5::int[])", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_declarations_stmt =
    ngx_http_csibiz_pg_batched("declarations",
        "SELECT status, code, body, replayed"
        " FROM app_declarations($1::bigint, $2::bigint, $3::text,"
        " $4::timestamptz, $5::int)", 5,
        &ngx_http_csibiz_declarations_batch_stmt);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_payments_batch_stmt =
    ngx_http_csibiz_pg_stmt("payments_batch",
        "SELECT i, status, code, body, replayed"
        " FROM app_payments_batch($1::bigint[], $2::bigint[],"
        " $3::text[], $4::timestamptz[], $5::int[])", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_payments_stmt =
    ngx_http_csibiz_pg_batched("payments",
        "SELECT status, code, body, replayed"
        " FROM app_payments($1::bigint, $2::bigint, $3::text,"
        " $4::timestamptz, $5::int)", 5,
        &ngx_http_csibiz_payments_batch_stmt);


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


/*
 * me_get()'s row with the birth date and the ID number's mask opened
 * into it, then answered
 */

static ngx_int_t
ngx_http_csibiz_me_row(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result)
{
    PGresult  *res;

    res = result->res;

    if (PQntuples(res) == 1 && PQnfields(res) == NGX_HTTP_CSIBIZ_ME_N
        && PQgetisnull(res, 0, 1)
        && (ngx_http_csibiz_me_birth(r, res) != NGX_OK
            || ngx_http_csibiz_me_id_number(r, res) != NGX_OK))
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    return ngx_http_csibiz_send_row(r, flow, result);
}


static ngx_int_t
ngx_http_csibiz_me_birth(ngx_http_request_t *r, PGresult *res)
{
    u_char      *p;
    ngx_uint_t   i;
    u_char       date[NGX_HTTP_CSIBIZ_BIRTH_LEN];

    if (ngx_http_csibiz_me_open(r, res, NGX_HTTP_CSIBIZ_ME_BIRTH,
                                NGX_HTTP_CSIBIZ_BIRTH_AD, date, sizeof(date))
        != NGX_OK)
    {
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

    p = ngx_http_csibiz_me_member(r, res, NGX_HTTP_CSIBIZ_BIRTH_HOLDER,
                                  sizeof(date));

    if (p != NULL) {
        ngx_memcpy(p, date, sizeof(date));
    }

    ngx_explicit_memzero(date, sizeof(date));

    return p ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_csibiz_me_id_number(ngx_http_request_t *r, PGresult *res)
{
    u_char      *p;
    ngx_uint_t   i;
    char         masked[CSIBIZ_ID_NUMBER_SIZE];
    u_char       id[CSIBIZ_ID_NUMBER_LEN];

    if (ngx_http_csibiz_me_open(r, res, NGX_HTTP_CSIBIZ_ME_ID,
                                NGX_HTTP_CSIBIZ_ID_AD, id, sizeof(id))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the keytool checked it: digits and X, nothing to escape */
    for (i = 0; i < sizeof(id); i++) {
        if ((id[i] < '0' || id[i] > '9') && id[i] != 'X') {
            ngx_explicit_memzero(id, sizeof(id));
            return NGX_ERROR;
        }
    }

    if (csibiz_mask_id_number((char *) id, sizeof(id), masked,
                              sizeof(masked))
        != 0)
    {
        ngx_explicit_memzero(id, sizeof(id));
        return NGX_ERROR;
    }

    ngx_explicit_memzero(id, sizeof(id));

    p = ngx_http_csibiz_me_member(r, res, NGX_HTTP_CSIBIZ_ID_HOLDER,
                                  CSIBIZ_ID_NUMBER_LEN);

    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, masked, CSIBIZ_ID_NUMBER_LEN);

    return NGX_OK;
}


/* a sealed column of the row (bytea) opened: exactly len bytes */

static ngx_int_t
ngx_http_csibiz_me_open(ngx_http_request_t *r, PGresult *res, int column,
    const char *ad, u_char *out, size_t len)
{
    int                           id;
    u_char                       *p;
    size_t                        n, hlen;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       sealed[CSIBIZ_SEALED_LEN(
                                      CSIBIZ_ID_NUMBER_LEN)];

    if (PQgetisnull(res, 0, NGX_HTTP_CSIBIZ_ME_BODY)
        || PQgetisnull(res, 0, column))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: no sealed %s", ad);
        return NGX_ERROR;
    }

    /* bytea in libpq's text form: \x and lower-case hex */
    p = (u_char *) PQgetvalue(res, 0, column);
    hlen = PQgetlength(res, 0, column);

    if (hlen < 2 || p[0] != '\\' || p[1] != 'x'
        || CSIBIZ_SEALED_LEN(len) > sizeof(sealed)
        || csibiz_hex_decode((char *) p + 2, hlen - 2, sealed,
                             sizeof(sealed), &n)
           != 0
        || n != CSIBIZ_SEALED_LEN(len))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: sealed %s malformed", ad);
        return NGX_ERROR;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_keyring_open(&cmcf->seal_ring, sealed, n, ad, ngx_strlen(ad),
                            out, len, &n)
        != 0
        || n != len)
    {
        ngx_explicit_memzero(out, len);

        /* which key: an old csibiz_seal_key removed too soon shows here */
        id = sealed[0];
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: cannot open the %s (key id %d%s)", ad, id,
                      csibiz_keyring_key(&cmcf->seal_ring, id)
                      ? "" : ", which no csibiz_seal_key has");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Where the value of a member of the answer starts, given the member's
 * text up to the value's first character and the value's length: its
 * quotes cannot be those of a string's content, which jsonb escapes, so
 * the first match is the member.
 */

static u_char *
ngx_http_csibiz_me_member(ngx_http_request_t *r, PGresult *res,
    const char *holder, size_t len)
{
    u_char  *body, *p, *last;
    size_t   hlen;

    body = (u_char *) PQgetvalue(res, 0, NGX_HTTP_CSIBIZ_ME_BODY);
    last = body + PQgetlength(res, 0, NGX_HTTP_CSIBIZ_ME_BODY);
    hlen = ngx_strlen(holder);

    p = memmem(body, last - body, holder, hlen);

    if (p == NULL || last - p < (ssize_t) (hlen + len + 1)
        || p[hlen + len] != '"')
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: me: no %s member in the answer", holder);
        return NULL;
    }

    return p + hlen;
}
