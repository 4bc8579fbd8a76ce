
/*
 * GET /api/agreement: the user agreement in force (the latest one
 * published by now, or by csibiz_test_now's time; table agreement,
 * sql/003_agreement.sql) in the request's language.  Registration
 * stores the version the parent agreed to, so the version is what a
 * client must send back.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"


static ngx_int_t ngx_http_csibiz_agreement_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_agreement_stmt =
    ngx_http_csibiz_pg_stmt("agreement_current",
        "SELECT version, title_zh, text_zh, title_en, text_en"
        " FROM app_agreement_current($1::timestamptz)", 1);


ngx_int_t
ngx_http_csibiz_agreement_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /* in force at the test clock, if set: registration compares it so */

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_agreement_stmt,
                                    &cmcf->test_now,
                                    ngx_http_csibiz_agreement_done, NULL);
}


static ngx_int_t
ngx_http_csibiz_agreement_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *result)
{
    int                     col;
    u_char                 *body, *p;
    size_t                  len, i;
    PGresult               *res;
    ngx_str_t               value[3];
    ngx_http_csibiz_ctx_t  *ctx;

    res = result->res;

    if (PQntuples(res) != 1) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: no user agreement is published");
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    ctx = ngx_http_csibiz_get_ctx(r);

    /* columns: version, then title and text in Chinese, then in English */

    col = (ctx && ctx->lang == CSIBIZ_LANG_EN) ? 3 : 1;

    value[0].data = (u_char *) PQgetvalue(res, 0, 0);
    value[0].len = PQgetlength(res, 0, 0);
    value[1].data = (u_char *) PQgetvalue(res, 0, col);
    value[1].len = PQgetlength(res, 0, col);
    value[2].data = (u_char *) PQgetvalue(res, 0, col + 1);
    value[2].len = PQgetlength(res, 0, col + 1);

    len = sizeof("{\"version\":\"\",\"title\":\"\",\"text\":\"\"}");

    for (i = 0; i < 3; i++) {
        len += CSIBIZ_JSON_ESCAPE_MAX(value[i].len);
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"version\":\"", sizeof("{\"version\":\"") - 1);
    p += csibiz_json_escape((const char *) value[0].data, value[0].len,
                            (char *) p, body + len - p);

    p = ngx_cpymem(p, "\",\"title\":\"", sizeof("\",\"title\":\"") - 1);
    p += csibiz_json_escape((const char *) value[1].data, value[1].len,
                            (char *) p, body + len - p);

    p = ngx_cpymem(p, "\",\"text\":\"", sizeof("\",\"text\":\"") - 1);
    p += csibiz_json_escape((const char *) value[2].data, value[2].len,
                            (char *) p, body + len - p);

    p = ngx_cpymem(p, "\"}", 2);

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}
