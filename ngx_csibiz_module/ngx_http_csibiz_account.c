
/*
 * The bank account the premium is debited from: GET /api/banks,
 * GET /api/account and PUT /api/account (issue 4).
 *
 * The module checks what needs no data (each field's form, the card's
 * Luhn digit, the passbook number entered twice), seals the account number
 * (AEAD under the seal key, associated data "account_no") and hands
 * everything to one PL/pgSQL function, bank_account_put() of
 * sql/functions/bank_account_put.sql, which in one transaction checks the
 * Idempotency-Key, the permission, the window, step-up, the bank's rules
 * and the version, and writes the account, the declaration, the audit row
 * and the key's answer.  The form's values reach it as one JSON object.
 * PostgreSQL sees the sealed number, its last 4 digits and its first 8
 * (the BIN and product, to check against the bank's); never the whole
 * number in plain text.
 *
 * The answers of the functions are JSON built by PostgreSQL: sent as they
 * are, after escaping the characters that are unsafe in HTML (the
 * module's own JSON writer escapes them too).
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_session.h"

#include <csibiz_bank.h>
#include <csibiz_crypto.h>


#define NGX_HTTP_CSIBIZ_BANK_KEY_MAX       128
#define NGX_HTTP_CSIBIZ_BANK_AD            "account_no"

/* bank_account_put()'s parameters: the request's context, then the form */
#define NGX_HTTP_CSIBIZ_P_USER        0
#define NGX_HTTP_CSIBIZ_P_PERSON      1
#define NGX_HTTP_CSIBIZ_P_KEY         2
#define NGX_HTTP_CSIBIZ_P_HASH        3
#define NGX_HTTP_CSIBIZ_P_NOW         4
#define NGX_HTTP_CSIBIZ_P_REAUTH      5
#define NGX_HTTP_CSIBIZ_P_IP          6
#define NGX_HTTP_CSIBIZ_P_LANG        7
#define NGX_HTTP_CSIBIZ_P_FIELDS      8
#define NGX_HTTP_CSIBIZ_P_FORM        9

/* the form's values, the members of the JSON object $10 */
#define NGX_HTTP_CSIBIZ_P_VERSION     10
#define NGX_HTTP_CSIBIZ_P_PAYER       11
#define NGX_HTTP_CSIBIZ_P_METHOD      12
#define NGX_HTTP_CSIBIZ_P_BANK        13
#define NGX_HTTP_CSIBIZ_P_DOC_TYPE    14
#define NGX_HTTP_CSIBIZ_P_ACCOUNT     15
#define NGX_HTTP_CSIBIZ_P_HEAD        16
#define NGX_HTTP_CSIBIZ_P_LAST4       17
#define NGX_HTTP_CSIBIZ_P_LEN         18
#define NGX_HTTP_CSIBIZ_P_REL_NAME    19
#define NGX_HTTP_CSIBIZ_P_REL_GENDER  20
#define NGX_HTTP_CSIBIZ_P_REL_REL     21
#define NGX_HTTP_CSIBIZ_P_REL_PHONE   22
#define NGX_HTTP_CSIBIZ_P_REL_ADDR    23
#define NGX_HTTP_CSIBIZ_P_REL_POST    24
#define NGX_HTTP_CSIBIZ_P_N           25


typedef struct {
    ngx_str_t                      params[NGX_HTTP_CSIBIZ_P_N];
    char                           account[CSIBIZ_ACCOUNT_NO_SIZE];
    size_t                         account_len;
} ngx_http_csibiz_bank_ctx_t;


static ngx_int_t ngx_http_csibiz_account_fields(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static void ngx_http_csibiz_account_number(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static void ngx_http_csibiz_account_relative(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_account_seal(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_account_hash(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static void ngx_http_csibiz_account_wipe(void *data);
static ngx_int_t ngx_http_csibiz_account_form(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_bank_required(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static ngx_int_t ngx_http_csibiz_bank_enum(ngx_http_request_t *r,
    const char *name, const char **values, ngx_str_t *out);
static ngx_int_t ngx_http_csibiz_bank_header(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static void ngx_http_csibiz_bank_common(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_str_t *params);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_banks_stmt =
    ngx_http_csibiz_pg_stmt("banks",
        "SELECT 200, NULL::text, banks_json($1), false", 1);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_account_batch_stmt =
    ngx_http_csibiz_pg_stmt("account_batch",
        "SELECT i, status, code, body, replayed"
        " FROM app_account_batch($1::bigint[], $2::bigint[],"
        " $3::timestamptz[], $4::boolean[], $5::text[])", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_account_get_stmt =
    ngx_http_csibiz_pg_batched("account_get",
        "SELECT status, code, body, replayed"
        " FROM app_account_get($1::bigint, $2::bigint, $3::timestamptz,"
        " $4::boolean, $5::text)", 5,
        &ngx_http_csibiz_account_batch_stmt);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_account_put_stmt =
    ngx_http_csibiz_pg_stmt("account_put",
        "SELECT status, code, body, replayed"
        " FROM bank_account_put($1::bigint, $2::bigint, $3::text,"
        " $4::bytea, $5::timestamptz, $6::boolean, $7::inet, $8::text,"
        " $9::jsonb, $10::jsonb)", 10);


static const char  *ngx_http_csibiz_payers[] = { "self", "relative", NULL };
static const char  *ngx_http_csibiz_methods[] = { "card", "passbook", NULL };
static const char  *ngx_http_csibiz_genders[] = { "M", "F", NULL };

/* the documents a bank account can be opened with */
static const char  *ngx_http_csibiz_doc_types[] = {
    "id_card", "household_register", "passport", "hk_macao_permit",
    "taiwan_permit", "foreign_permanent_residence", NULL
};

static const char  *ngx_http_csibiz_relations[] = {
    "father", "mother", "grandparent", "sibling", "guardian", "other", NULL
};


/* GET /api/banks: no login needed */

ngx_int_t
ngx_http_csibiz_banks_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t               lang;
    ngx_http_csibiz_ctx_t  *rctx;

    rctx = ngx_http_csibiz_get_ctx(r);

    if (rctx && rctx->lang == CSIBIZ_LANG_EN) {
        ngx_str_set(&lang, "en");

    } else {
        ngx_str_set(&lang, "zh");
    }

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_banks_stmt, &lang,
                                    ngx_http_csibiz_send_row, NULL);
}


/* user, person, now, reauth, lang: what both functions take */

static void
ngx_http_csibiz_bank_common(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s, ngx_str_t *params)
{
    ngx_http_csibiz_ctx_t        *rctx;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    rctx = ngx_http_csibiz_get_ctx(r);

    /* NULL: PostgreSQL's own clock */
    params[2] = cmcf->test_now;

    if (s->stepped_up) {
        ngx_str_set(&params[3], "t");

    } else {
        ngx_str_set(&params[3], "f");
    }

    if (rctx && rctx->lang == CSIBIZ_LANG_EN) {
        ngx_str_set(&params[4], "en");

    } else {
        ngx_str_set(&params[4], "zh");
    }
}


/* GET /api/account */

ngx_int_t
ngx_http_csibiz_account_get_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t  params[5];

    if (ngx_http_csibiz_integer(r, &params[0], s->user_id) != NGX_OK
        || ngx_http_csibiz_integer(r, &params[1], s->person_id) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_bank_common(r, s, params);

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_account_get_stmt,
                                    params, ngx_http_csibiz_send_row, NULL);
}


/*
 * PUT /api/account: the Idempotency-Key → the form's fields, all of them
 * checked → the account number sealed → one function in PostgreSQL.
 */

ngx_int_t
ngx_http_csibiz_account_put_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    size_t                       i;
    u_char                      *p;
    ngx_str_t                    key, common[5];
    ngx_pool_cleanup_t          *cln;
    ngx_http_csibiz_ctx_t       *rctx;
    ngx_http_csibiz_bank_ctx_t  *ctx;

    /* the header first: without it a retry could write twice */

    if (ngx_http_csibiz_bank_header(r, "Idempotency-Key", &key) != NGX_OK
        || key.len == 0 || key.len > NGX_HTTP_CSIBIZ_BANK_KEY_MAX)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "idempotency_key_required");
    }

    for (i = 0; i < key.len; i++) {
        if (key.data[i] < 0x21 || key.data[i] > 0x7e) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                        "idempotency_key_required");
        }
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_bank_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (ctx == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the number's copies, whatever the answer: wiped at the end */
    cln->handler = ngx_http_csibiz_account_wipe;
    cln->data = ctx;

    /* ngx_pcalloc(): every parameter is NULL until set */

    if (ngx_http_csibiz_account_fields(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the field errors found here go to PostgreSQL, which adds its own */

    rctx = ngx_http_csibiz_get_ctx(r);
    if (rctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, rctx->invalid_len + 2);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->params[NGX_HTTP_CSIBIZ_P_FIELDS].data = p;
    ctx->params[NGX_HTTP_CSIBIZ_P_FIELDS].len =
        ngx_sprintf(p, "{%*s}", rctx->invalid_len, rctx->invalid) - p;

    if (ngx_http_csibiz_integer(r, &ctx->params[NGX_HTTP_CSIBIZ_P_USER],
                                s->user_id)
        != NGX_OK
        || ngx_http_csibiz_integer(r, &ctx->params[NGX_HTTP_CSIBIZ_P_PERSON],
                                   s->person_id)
           != NGX_OK
        || ngx_http_csibiz_account_seal(r, ctx) != NGX_OK
        || ngx_http_csibiz_account_hash(r, ctx) != NGX_OK
        || ngx_http_csibiz_account_form(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->params[NGX_HTTP_CSIBIZ_P_KEY] = key;

    ngx_http_csibiz_bank_common(r, s, common);
    ctx->params[NGX_HTTP_CSIBIZ_P_NOW] = common[2];
    ctx->params[NGX_HTTP_CSIBIZ_P_REAUTH] = common[3];
    ctx->params[NGX_HTTP_CSIBIZ_P_LANG] = common[4];

    if (r->connection->sockaddr->sa_family != AF_UNIX) {
        ctx->params[NGX_HTTP_CSIBIZ_P_IP] = r->connection->addr_text;
    }

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_account_put_stmt,
                                    ctx->params, ngx_http_csibiz_send_row,
                                    ctx);
}


/*
 * Every field of the form, checked and normalized into ctx->params; the
 * errors are recorded as field errors, all of them.
 */

static ngx_int_t
ngx_http_csibiz_account_fields(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    size_t                        i;
    ngx_str_t                     value;
    long long                     version;
    ngx_http_csibiz_ctx_t        *rctx;
    const csibiz_json_field_t    *f;

    (void) ngx_http_csibiz_bank_enum(r, "payer", ngx_http_csibiz_payers,
                                     &ctx->params[NGX_HTTP_CSIBIZ_P_PAYER]);
    (void) ngx_http_csibiz_bank_enum(r, "method", ngx_http_csibiz_methods,
                                     &ctx->params[NGX_HTTP_CSIBIZ_P_METHOD]);

    /* a bank code: upper-cased; one that can't be a code is unknown */

    if (ngx_http_csibiz_bank_required(r, "bank", &value) == NGX_OK) {

        for (i = 0; i < value.len; i++) {
            if (!((value.data[i] >= 'A' && value.data[i] <= 'Z')
                  || (value.data[i] >= 'a' && value.data[i] <= 'z')
                  || (value.data[i] >= '0' && value.data[i] <= '9'
                      && i > 0)
                  || (value.data[i] == '_' && i > 0)))
            {
                break;
            }
        }

        if (value.len < 2 || value.len > 16 || i < value.len) {
            ngx_http_csibiz_field_invalid(r, "bank", "unknown");

        } else {
            if (ngx_http_csibiz_copy(r, &ctx->params[NGX_HTTP_CSIBIZ_P_BANK],
                                     value.data, value.len)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            for (i = 0; i < value.len; i++) {
                ctx->params[NGX_HTTP_CSIBIZ_P_BANK].data[i] =
                    ngx_toupper(ctx->params[NGX_HTTP_CSIBIZ_P_BANK].data[i]);
            }
        }
    }

    (void) ngx_http_csibiz_bank_enum(r, "doc_type",
                                     ngx_http_csibiz_doc_types,
                                     &ctx->params[NGX_HTTP_CSIBIZ_P_DOC_TYPE]);

    ngx_http_csibiz_account_number(r, ctx);

    if (ctx->params[NGX_HTTP_CSIBIZ_P_PAYER].len == sizeof("relative") - 1) {
        ngx_http_csibiz_account_relative(r, ctx);
    }

    /* the version the client read: a JSON integer */

    rctx = ngx_http_csibiz_get_ctx(r);
    f = csibiz_json_find(rctx->fields, rctx->nfields, "version");

    if (f == NULL || f->type == CSIBIZ_JSON_NULL) {
        ngx_http_csibiz_field_invalid(r, "version", "required");

    } else if (csibiz_json_integer(f, &version) != 0
               || version < 0 || version > NGX_MAX_INT32_VALUE)
    {
        ngx_http_csibiz_field_invalid(r, "version", "format");

    } else if (ngx_http_csibiz_integer(r,
                   &ctx->params[NGX_HTTP_CSIBIZ_P_VERSION],
                   (ngx_int_t) version)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The account number by method: a card's 16 to 19 digits with a valid
 * Luhn digit, a passbook's digits entered twice.  For a card the
 * confirmation is optional, but must match when given.  ctx->account_len
 * is set only when the number passed.
 */

static void
ngx_http_csibiz_account_number(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    size_t             n, again_len;
    ngx_str_t          value, confirm;
    ngx_int_t          rc, crc, passbook;
    csibiz_acct_rc_t   arc;
    char               again[CSIBIZ_ACCOUNT_NO_SIZE];

    passbook = ctx->params[NGX_HTTP_CSIBIZ_P_METHOD].len
               == sizeof("passbook") - 1;

    ngx_str_null(&confirm);

    rc = ngx_http_csibiz_bank_required(r, "account_no", &value);

    if (passbook) {
        crc = ngx_http_csibiz_bank_required(r, "account_no_confirm",
                                             &confirm);

    } else {
        crc = ngx_http_csibiz_field(r, "account_no_confirm", &confirm);

        if (crc == NGX_ERROR) {
            ngx_http_csibiz_field_invalid(r, "account_no_confirm", "format");

        } else if (crc == NGX_DECLINED || confirm.len == 0) {
            /* none given: nothing to compare */
            ngx_str_null(&confirm);
            crc = NGX_OK;
        }
    }

    if (rc != NGX_OK || ctx->params[NGX_HTTP_CSIBIZ_P_METHOD].len == 0) {
        /* no number, or no method to judge it by */
        return;
    }

    if (passbook) {
        arc = csibiz_passbook_number_check((const char *) value.data,
                                           value.len, ctx->account, &n);

    } else {
        arc = csibiz_card_number_check((const char *) value.data, value.len,
                                       ctx->account, &n);
    }

    if (arc != CSIBIZ_ACCT_OK) {
        ngx_http_csibiz_field_invalid(r, "account_no",
                                      csibiz_acct_rc_name(arc));
        return;
    }

    if (crc != NGX_OK) {
        /* the confirmation's error is recorded already */
        return;
    }

    if (confirm.data) {
        if (passbook) {
            arc = csibiz_passbook_number_check((const char *) confirm.data,
                                               confirm.len, again,
                                               &again_len);

        } else {
            arc = csibiz_card_number_check((const char *) confirm.data,
                                           confirm.len, again, &again_len);
        }

        rc = (arc == CSIBIZ_ACCT_OK && again_len == n
              && ngx_memcmp(again, ctx->account, n) == 0);

        ngx_explicit_memzero(again, sizeof(again));

        if (!rc) {
            ngx_http_csibiz_field_invalid(r, "account_no_confirm",
                                          "mismatch");
            return;
        }
    }

    ctx->account_len = n;
}


/* the relative's details: the account holder's, as the bank has them */

static void
ngx_http_csibiz_account_relative(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    ngx_str_t          value;
    csibiz_text_rc_t   trc;
    char               phone[CSIBIZ_CONTACT_PHONE_SIZE], postcode[8];

    if (ngx_http_csibiz_bank_required(r, "relative_name", &value)
        == NGX_OK)
    {
        trc = csibiz_person_name_check((const char *) value.data, value.len);

        if (trc != CSIBIZ_TEXT_OK) {
            ngx_http_csibiz_field_invalid(r, "relative_name",
                                          csibiz_text_rc_name(trc));

        } else {
            ctx->params[NGX_HTTP_CSIBIZ_P_REL_NAME] = value;
        }
    }

    (void) ngx_http_csibiz_bank_enum(r, "relative_gender",
                                     ngx_http_csibiz_genders,
                                     &ctx->params[NGX_HTTP_CSIBIZ_P_REL_GENDER]);
    (void) ngx_http_csibiz_bank_enum(r, "relative_relation",
                                     ngx_http_csibiz_relations,
                                     &ctx->params[NGX_HTTP_CSIBIZ_P_REL_REL]);

    if (ngx_http_csibiz_bank_required(r, "relative_phone", &value)
        == NGX_OK)
    {
        if (csibiz_contact_phone_normalize((const char *) value.data,
                                           value.len, phone)
            != 0)
        {
            ngx_http_csibiz_field_invalid(r, "relative_phone", "format");

        } else {
            (void) ngx_http_csibiz_copy(r,
                       &ctx->params[NGX_HTTP_CSIBIZ_P_REL_PHONE],
                       (u_char *) phone, ngx_strlen(phone));
        }
    }

    if (ngx_http_csibiz_bank_required(r, "relative_address", &value)
        == NGX_OK)
    {
        trc = csibiz_address_check((const char *) value.data, value.len);

        if (trc != CSIBIZ_TEXT_OK) {
            ngx_http_csibiz_field_invalid(r, "relative_address",
                                          csibiz_text_rc_name(trc));

        } else {
            ctx->params[NGX_HTTP_CSIBIZ_P_REL_ADDR] = value;
        }
    }

    if (ngx_http_csibiz_bank_required(r, "relative_postcode", &value)
        == NGX_OK)
    {
        if (csibiz_postcode_normalize((const char *) value.data, value.len,
                                      postcode)
            != 0)
        {
            ngx_http_csibiz_field_invalid(r, "relative_postcode", "format");

        } else {
            (void) ngx_http_csibiz_copy(r,
                       &ctx->params[NGX_HTTP_CSIBIZ_P_REL_POST],
                       (u_char *) postcode, CSIBIZ_POSTCODE_LEN);
        }
    }
}


/*
 * The sealed number ("\x" + hex, for bytea), its last 4 and first 8
 * digits and its length; the plain number is wiped.  Nothing when the
 * number was refused.
 */

static ngx_int_t
ngx_http_csibiz_account_seal(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    u_char                       *p;
    size_t                        n, written;
    ngx_str_t                    *params;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       sealed[CSIBIZ_SEALED_LEN(
                                      CSIBIZ_ACCOUNT_NO_SIZE)];

    n = ctx->account_len;

    if (n == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);
    params = ctx->params;

    if (csibiz_keyring_seal(&cmcf->seal_ring, ctx->account, n,
                            NGX_HTTP_CSIBIZ_BANK_AD,
                            sizeof(NGX_HTTP_CSIBIZ_BANK_AD) - 1, sealed,
                            sizeof(sealed), &written)
        != 0)
    {
        return NGX_ERROR;
    }

    if (ngx_http_csibiz_hex(r, &params[NGX_HTTP_CSIBIZ_P_ACCOUNT], "\\x",
                            sealed, written)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, 4 + CSIBIZ_ACCOUNT_HEAD_LEN + NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    params[NGX_HTTP_CSIBIZ_P_LAST4].data = p;
    p = ngx_cpymem(p, ctx->account + n - 4, 4);
    params[NGX_HTTP_CSIBIZ_P_LAST4].len = 4;

    params[NGX_HTTP_CSIBIZ_P_HEAD].data = p;
    p = ngx_cpymem(p, ctx->account, CSIBIZ_ACCOUNT_HEAD_LEN);
    params[NGX_HTTP_CSIBIZ_P_HEAD].len = CSIBIZ_ACCOUNT_HEAD_LEN;

    params[NGX_HTTP_CSIBIZ_P_LEN].data = p;
    params[NGX_HTTP_CSIBIZ_P_LEN].len = ngx_sprintf(p, "%uz", n) - p;

    return NGX_OK;
}


/*
 * The request's fingerprint for the Idempotency-Key: an HMAC of every
 * normalized value (the account number in plain, then wiped), so that the
 * key's answer is given only to the same request.  Keyed: the table must
 * not let anyone test guesses of account numbers.
 */

static ngx_int_t
ngx_http_csibiz_account_hash(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    u_char                       *buf, *p;
    size_t                        len, i;
    ngx_str_t                    *v;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       mac[CSIBIZ_HMACBYTES];

    static ngx_uint_t  fields[] = {
        NGX_HTTP_CSIBIZ_P_VERSION, NGX_HTTP_CSIBIZ_P_PAYER,
        NGX_HTTP_CSIBIZ_P_METHOD, NGX_HTTP_CSIBIZ_P_BANK,
        NGX_HTTP_CSIBIZ_P_DOC_TYPE, NGX_HTTP_CSIBIZ_P_REL_NAME,
        NGX_HTTP_CSIBIZ_P_REL_GENDER, NGX_HTTP_CSIBIZ_P_REL_REL,
        NGX_HTTP_CSIBIZ_P_REL_PHONE, NGX_HTTP_CSIBIZ_P_REL_ADDR,
        NGX_HTTP_CSIBIZ_P_REL_POST, NGX_HTTP_CSIBIZ_P_FIELDS
    };

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    len = ctx->account_len + 1;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        len += ctx->params[fields[i]].len + 2;
    }

    buf = ngx_pnalloc(r->pool, len);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    /* each value and a NUL; a missing one is "\1" */

    p = ngx_cpymem(buf, ctx->account, ctx->account_len);
    *p++ = '\0';

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        v = &ctx->params[fields[i]];

        if (v->data == NULL) {
            *p++ = '\1';

        } else {
            p = ngx_cpymem(p, v->data, v->len);
        }

        *p++ = '\0';
    }

    (void) csibiz_hmac_label(cmcf->index_key, "idempotency", buf, p - buf,
                             mac);

    ngx_explicit_memzero(buf, len);
    ngx_explicit_memzero(ctx->account, sizeof(ctx->account));

    return ngx_http_csibiz_hex(r, &ctx->params[NGX_HTTP_CSIBIZ_P_HASH], "\\x",
                               mac, CSIBIZ_HMACBYTES);
}


/*
 * The form's values as one JSON object for bank_account_put(): strings
 * through the module's JSON escaper, the version and the length as
 * numbers, the sealed number as hex (bytea's text without its \x).  A value
 * that is missing or was refused is left out: NULL in PostgreSQL.
 */

static ngx_int_t
ngx_http_csibiz_account_form(ngx_http_request_t *r,
    ngx_http_csibiz_bank_ctx_t *ctx)
{
    u_char     *p, *last;
    size_t      len, i, skip;
    ngx_str_t  *v;

    static const struct {
        ngx_uint_t   param;
        const char  *name;
        ngx_uint_t   number;
    } members[] = {
        { NGX_HTTP_CSIBIZ_P_VERSION, "version", 1 },
        { NGX_HTTP_CSIBIZ_P_PAYER, "payer", 0 },
        { NGX_HTTP_CSIBIZ_P_METHOD, "method", 0 },
        { NGX_HTTP_CSIBIZ_P_BANK, "bank", 0 },
        { NGX_HTTP_CSIBIZ_P_DOC_TYPE, "doc_type", 0 },
        { NGX_HTTP_CSIBIZ_P_ACCOUNT, "account_enc", 0 },
        { NGX_HTTP_CSIBIZ_P_HEAD, "account_head", 0 },
        { NGX_HTTP_CSIBIZ_P_LAST4, "account_last4", 0 },
        { NGX_HTTP_CSIBIZ_P_LEN, "account_len", 1 },
        { NGX_HTTP_CSIBIZ_P_REL_NAME, "relative_name", 0 },
        { NGX_HTTP_CSIBIZ_P_REL_GENDER, "relative_gender", 0 },
        { NGX_HTTP_CSIBIZ_P_REL_REL, "relative_relation", 0 },
        { NGX_HTTP_CSIBIZ_P_REL_PHONE, "relative_phone", 0 },
        { NGX_HTTP_CSIBIZ_P_REL_ADDR, "relative_address", 0 },
        { NGX_HTTP_CSIBIZ_P_REL_POST, "relative_postcode", 0 }
    };

    len = sizeof("{}");

    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        len += sizeof(",\"\":\"\"") + ngx_strlen(members[i].name)
               + CSIBIZ_JSON_ESCAPE_MAX(ctx->params[members[i].param].len);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->params[NGX_HTTP_CSIBIZ_P_FORM].data = p;
    last = p + len;
    *p++ = '{';

    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        v = &ctx->params[members[i].param];

        if (v->data == NULL) {
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        p = ngx_sprintf(p, "\"%s\":", members[i].name);

        if (members[i].number) {
            p = ngx_cpymem(p, v->data, v->len);
            continue;
        }

        skip = (members[i].param == NGX_HTTP_CSIBIZ_P_ACCOUNT) ? 2 : 0;

        *p++ = '"';
        p += csibiz_json_escape((const char *) v->data + skip, v->len - skip,
                                (char *) p, last - p);
        *p++ = '"';
    }

    *p++ = '}';

    ctx->params[NGX_HTTP_CSIBIZ_P_FORM].len =
        p - ctx->params[NGX_HTTP_CSIBIZ_P_FORM].data;

    return NGX_OK;
}


/*
 * A pool cleanup of PUT /api/account: the plain number (if a step failed
 * before it was wiped), its first and last digits, and the form built of
 * them for PostgreSQL.
 */

static void
ngx_http_csibiz_account_wipe(void *data)
{
    ngx_http_csibiz_bank_ctx_t *ctx = data;

    ngx_str_t   *v;
    ngx_uint_t   i;

    static ngx_uint_t  params[] = {
        NGX_HTTP_CSIBIZ_P_HEAD, NGX_HTTP_CSIBIZ_P_LAST4,
        NGX_HTTP_CSIBIZ_P_FORM
    };

    ngx_explicit_memzero(ctx->account, sizeof(ctx->account));

    for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        v = &ctx->params[params[i]];

        if (v->data) {
            ngx_explicit_memzero(v->data, v->len);
        }
    }
}


/* a required field, trimmed: white space only is missing too */

static ngx_int_t
ngx_http_csibiz_bank_required(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    if (ngx_http_csibiz_field_required(r, name, value) != NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_http_csibiz_trim(value);

    if (value->len == 0) {
        ngx_http_csibiz_field_invalid(r, name, "required");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a required field that takes one of values: out is set to the static one */

static ngx_int_t
ngx_http_csibiz_bank_enum(ngx_http_request_t *r, const char *name,
    const char **values, ngx_str_t *out)
{
    size_t      len;
    ngx_str_t   value;
    ngx_uint_t  i;

    if (ngx_http_csibiz_bank_required(r, name, &value) != NGX_OK) {
        return NGX_DECLINED;
    }


    for (i = 0; values[i]; i++) {
        len = ngx_strlen(values[i]);

        if (value.len == len
            && ngx_strncmp(value.data, values[i], len) == 0)
        {
            out->data = (u_char *) values[i];
            out->len = len;
            return NGX_OK;
        }
    }

    ngx_http_csibiz_field_invalid(r, name, "unsupported");

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_csibiz_bank_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            *value = h[i].value;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


