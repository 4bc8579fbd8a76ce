
/*
 * The error catalogue: one stable code, its Chinese and English message.
 * Chinese is the default; English when Accept-Language prefers it.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"


typedef struct {
    const char                    *code;
    const char                    *zh;
    const char                    *en;
} ngx_http_csibiz_message_t;


static ngx_http_csibiz_message_t  ngx_http_csibiz_messages[] = {

    { "backend_unavailable",
      "服务繁忙，请稍后再试。",
      "The service is busy. Please try again shortly." },

    { "busy",
      "当前访问人数较多，请稍后再试。",
      "Too many people are signing in right now. Please try again in a "
      "moment." },

    { "method_not_allowed",
      "不支持该请求方法。",
      "This method is not allowed here." },

    { "unsupported_media_type",
      "请求内容必须是 JSON（application/json）。",
      "The request body must be JSON (application/json)." },

    { "body_too_large",
      "请求内容过大。",
      "The request body is too large." },

    { "bad_json",
      "请求内容不是有效的 JSON 对象。",
      "The request body is not a valid JSON object." },

    { "invalid_request",
      "请求参数不正确。",
      "The request's parameters are not valid." },

    /* accounts */

    { "invalid",
      "部分信息填写不正确，请检查。",
      "Some fields are not valid; please check them." },

    { "not_logged_in",
      "请先登录。",
      "Please log in first." },

    { "csrf",
      "请求来源校验失败，请刷新页面后重试。",
      "The request could not be verified; reload the page and try again." },

    { "agreement_version",
      "请先阅读并同意最新的用户协议。",
      "Please read and accept the current user agreement." },

    { "captcha_required",
      "请输入图片验证码。",
      "Please enter the characters shown in the image." },

    { "captcha_invalid",
      "图片验证码不正确或已过期，请重新输入。",
      "The image code is wrong or expired; please try again." },

    { "identity_mismatch",
      "身份证号、社保卡号（或医疗保险手册号）或手机号与登记信息不符。",
      "The ID number, social security card (or medical insurance "
      "handbook) number or phone does not match our records." },

    { "phone_not_declared",
      "手机号与学校申报的手机号不一致，请先通过学校变更手机号码。",
      "The phone number differs from the one declared through the school; "
      "please have the school change it first." },

    { "rate_limited",
      "操作过于频繁，请稍后再试。",
      "Too many attempts; please wait and try again." },

    { "sms_code_invalid",
      "短信验证码不正确或已失效。",
      "The SMS code is wrong or no longer valid." },

    { "already_registered",
      "该参保人已注册，请直接登录。",
      "This insured person is already registered; please log in." },

    { "not_registered",
      "该参保人尚未注册，请先注册。",
      "This insured person has no account yet; please register." },

    { "weak_password",
      "密码不符合要求。",
      "The password does not meet the requirements." },

    { "bad_credentials",
      "身份证号或密码不正确。",
      "The ID number or password is wrong." },

    { "locked",
      "登录失败次数过多，账户已暂时锁定。",
      "Too many failed logins; the account is locked for a while." },

    { "reauth_required",
      "请重新输入登录密码后再操作。",
      "Please enter your password again to continue." },

    /* bank accounts */

    { "window_closed",
      "现在不在缴费账户信息采集和变更时间内，请在下次开放时间办理。",
      "Bank details cannot be declared or changed now; please come back "
      "when the declaration window opens." },

    { "idempotency_key_required",
      "请求缺少有效的 Idempotency-Key 请求头。",
      "The request needs a valid Idempotency-Key header." },

    { "idempotency_key_reused",
      "该 Idempotency-Key 已用于另一个请求。",
      "This Idempotency-Key was already used for another request." },

    { "conflict",
      "信息已被修改，请刷新页面后重新提交。",
      "The details were changed meanwhile; reload them and submit again." },

    { "internal",
      "系统内部错误，请稍后再试。",
      "Internal error. Please try again later." },

    { NULL, NULL, NULL }
};


static ngx_http_csibiz_message_t *ngx_http_csibiz_message(const char *code);


static ngx_http_csibiz_message_t *
ngx_http_csibiz_message(const char *code)
{
    ngx_http_csibiz_message_t  *m;

    for (m = ngx_http_csibiz_messages; m->code; m++) {
        if (ngx_strcmp(m->code, code) == 0) {
            return m;
        }
    }

    return NULL;
}


/* an error answer in the request's language; extra is raw JSON members */

ngx_int_t
ngx_http_csibiz_fail_extra(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, ngx_str_t *extra)
{
    u_char                     *body, *p;
    size_t                      len;
    const char                 *text;
    ngx_http_csibiz_ctx_t      *ctx;
    ngx_http_csibiz_message_t  *m;

    ctx = ngx_http_csibiz_get_ctx(r);
    m = ngx_http_csibiz_message(code);

    if (m == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "csibiz: no message for error code \"%s\"", code);
        text = code;

    } else {
        text = (ctx && ctx->lang == CSIBIZ_LANG_EN) ? m->en : m->zh;
    }

    if (ctx) {
        /*
         * for the metrics and $csibiz_error, read at the log phase: the
         * catalogue's own string, as the caller's may live in a PostgreSQL
         * result that is freed before; unknown codes count as "other"
         */
        ctx->error = m ? m->code : "other";
        ctx->error_index = m ? (ngx_uint_t) (m - ngx_http_csibiz_messages)
                             : ngx_http_csibiz_message_count();
    }

    len = sizeof("{\"error\":{\"code\":\"\",\"message\":\"\",}}") - 1
          + ngx_strlen(code) + ngx_strlen(text) + (extra ? extra->len : 0);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"",
                    code, text);

    if (extra && extra->len) {
        *p++ = ',';
        p = ngx_cpymem(p, extra->data, extra->len);
    }

    *p++ = '}';
    *p++ = '}';

    return ngx_http_csibiz_send_json(r, status, body, p - body);
}


ngx_int_t
ngx_http_csibiz_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code)
{
    return ngx_http_csibiz_fail_extra(r, status, code, NULL);
}


/* 429 and the like: when to come back, as a header and in the body */

ngx_int_t
ngx_http_csibiz_fail_retry_after(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, long long seconds)
{
    u_char           *p;
    ngx_str_t         extra;
    ngx_table_elt_t  *h;

    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN + sizeof("\"retry_after\":"));
    h = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%L", seconds) - p;

    extra.data = p + h->value.len;
    extra.len = ngx_sprintf(extra.data, "\"retry_after\":%L", seconds)
                - extra.data;

    return ngx_http_csibiz_fail_extra(r, status, code, &extra);
}


/* a backend operation that did not succeed: 503 when down, else 500 */

ngx_int_t
ngx_http_csibiz_fail_backend(ngx_http_request_t *r, ngx_int_t status)
{
    if (status == NGX_HTTP_CSIBIZ_UNAVAILABLE) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                "internal");
}


/* the catalogue, for the metrics */

ngx_uint_t
ngx_http_csibiz_message_count(void)
{
    return sizeof(ngx_http_csibiz_messages)
           / sizeof(ngx_http_csibiz_message_t) - 1;
}


const char *
ngx_http_csibiz_message_code(ngx_uint_t i)
{
    return ngx_http_csibiz_messages[i].code;
}
