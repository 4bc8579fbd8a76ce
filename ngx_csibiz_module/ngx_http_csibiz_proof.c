
/*
 * Proofs a request may carry: the answer to a captcha image
 * (ngx_http_csibiz_captcha.c hands them out) and an SMS code
 * (ngx_http_csibiz_sms.c sends them).  Registration and login take them
 * here; the keys both sides use are built here too.
 *
 * Redis holds only HMACs: a captcha under a key derived from its id, an
 * SMS code as HMAC(sms key, purpose|phone|code) under a key derived from
 * purpose|phone.  Each check uses its proof up.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_proof.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_step.h"

#include <csibiz_captcha.h>
#include <csibiz_utf8.h>
#include <csibiz_validate.h>


/* an answer longer than this cannot be right: no need to look it up */
#define NGX_HTTP_CSIBIZ_CAPTCHA_MAX_ANSWER  32

#define NGX_HTTP_CSIBIZ_SMS_MAX_TRIES    "5"

/* "register|" + phone + "|" + code */
#define NGX_HTTP_CSIBIZ_SMS_MSG_MAX                                        \
    (sizeof("register") + CSIBIZ_PHONE_LEN + 1                            \
     + NGX_HTTP_CSIBIZ_SMS_CODE_LEN)


/* a check in flight: the answer to compare, and where to go on */

typedef struct {
    ngx_str_t                      answer;
    ngx_http_csibiz_step_pt        next;
    void                          *flow;
} ngx_http_csibiz_proof_t;


static ngx_int_t ngx_http_csibiz_proof_key(ngx_http_request_t *r,
    uint8_t *secret, const char *prefix, const char *label, u_char *msg,
    size_t len, ngx_str_t *key);
static ngx_int_t ngx_http_csibiz_proof_verdict(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow, ngx_int_t rc);
static ngx_int_t ngx_http_csibiz_captcha_fetched(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static size_t ngx_http_csibiz_sms_message(u_char *buf, ngx_str_t *purpose,
    const char *phone, const char *code);
static ngx_int_t ngx_http_csibiz_sms_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


/*
 * KEYS: the code.  ARGV: the MAC of the code tried, the tries allowed.
 * 1: right, and used up; 0: no code, or wrong (counted; the last try
 * allowed burns the code).  The MACs are compared in Lua, not in constant
 * time, which is fine: a MAC under a key the client does not know says
 * nothing about the code.
 */

static ngx_str_t  ngx_http_csibiz_sms_check_script = ngx_string(
    "local mac = redis.call('HGET', KEYS[1], 'mac')\n"
    "if not mac then return 0 end\n"
    "if mac == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end\n"
    "if redis.call('HINCRBY', KEYS[1], 'tries', 1) >= tonumber(ARGV[2])"
    " then redis.call('DEL', KEYS[1]) end\n"
    "return 0\n");


/* prefix + hex(HMAC(the label's subkey of secret, msg)) */

static ngx_int_t
ngx_http_csibiz_proof_key(ngx_http_request_t *r, uint8_t *secret,
    const char *prefix, const char *label, u_char *msg, size_t len,
    ngx_str_t *key)
{
    uint8_t  mac[CSIBIZ_HMACBYTES];

    if (csibiz_hmac_label(secret, label, msg, len, mac) != 0) {
        return NGX_ERROR;
    }

    return ngx_http_csibiz_hex(r, key, prefix, mac, CSIBIZ_HMACBYTES);
}


/* a check's verdict goes on through the runner, as a step's result does */

static ngx_int_t
ngx_http_csibiz_proof_verdict(ngx_http_request_t *r,
    ngx_http_csibiz_step_pt next, void *flow, ngx_int_t rc)
{
    ngx_http_csibiz_result_t  res;

    ngx_memzero(&res, sizeof(ngx_http_csibiz_result_t));
    res.status = NGX_HTTP_CSIBIZ_OK;
    res.rc = rc;

    return ngx_http_csibiz_step_resume(r, next, flow, &res);
}


/*
 * "csibiz:captcha:" + hex(HMAC(captcha subkey, id)): the id a client
 * holds is not the key name, so a look at Redis's keys gives no id that
 * could be answered with the stored text.
 */

ngx_int_t
ngx_http_csibiz_captcha_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return ngx_http_csibiz_proof_key(r, cmcf->session_key, "csibiz:captcha:",
                                     "captcha", id,
                                     NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES, key);
}


/*
 * Checks an answer: res->rc NGX_OK or NGX_DECLINED.  The stored answer is
 * taken with GETDEL, so a second try at the same image fails even if the
 * first was wrong.  With "csibiz_captcha off" every answer passes, Redis
 * untouched.
 */

ngx_int_t
ngx_http_csibiz_captcha_check(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *answer, ngx_http_csibiz_step_pt next, void *flow)
{
    size_t                        n;
    ngx_str_t                     argv[2];
    const char                   *s;
    ngx_http_csibiz_proof_t      *ck;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    u_char                        raw[NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (!cmcf->captcha) {
        return ngx_http_csibiz_proof_verdict(r, next, flow, NGX_OK);
    }

    ck = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_proof_t));
    if (ck == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ck->next = next;
    ck->flow = flow;

    /* people type a space before or after; inside, it is a wrong answer */

    s = (const char *) answer->data;
    n = answer->len;
    csibiz_utf8_trim(&s, &n);

    ck->answer.data = (u_char *) s;
    ck->answer.len = n;

    if (id->len != NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN
        || csibiz_b64url_decode((const char *) id->data, id->len, raw,
                                sizeof(raw), &n)
           != 0
        || n != sizeof(raw))
    {
        /* not an id this module made: nothing to use up */
        return ngx_http_csibiz_proof_verdict(r, next, flow, NGX_DECLINED);
    }

    ngx_str_set(&argv[0], "GETDEL");

    if (ngx_http_csibiz_captcha_key(r, raw, &argv[1]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 2, argv);
    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_captcha_fetched,
                                      ck);
}


static ngx_int_t
ngx_http_csibiz_captcha_fetched(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_proof_t *ck = flow;

    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis refused GETDEL of a captcha: %s",
                      reply->str);
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (reply->type != REDIS_REPLY_STRING
        || ck->answer.len > NGX_HTTP_CSIBIZ_CAPTCHA_MAX_ANSWER
        || csibiz_captcha_check(reply->str, reply->len,
                                (const char *) ck->answer.data,
                                ck->answer.len)
           != 0)
    {
        return ngx_http_csibiz_proof_verdict(r, ck->next, ck->flow,
                                             NGX_DECLINED);
    }

    return ngx_http_csibiz_proof_verdict(r, ck->next, ck->flow, NGX_OK);
}


/* prefix + hex(HMAC(the label's subkey of the SMS key, msg)) */

ngx_int_t
ngx_http_csibiz_sms_key(ngx_http_request_t *r, const char *prefix,
    const char *label, u_char *msg, size_t len, ngx_str_t *key)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return ngx_http_csibiz_proof_key(r, cmcf->sms_key, prefix, label, msg,
                                     len, key);
}


ngx_int_t
ngx_http_csibiz_sms_purpose(ngx_str_t *value, ngx_str_t *purpose)
{
    if (value->len == 8 && ngx_strncmp(value->data, "register", 8) == 0) {
        ngx_str_set(purpose, "register");
        return NGX_OK;
    }

    if (value->len == 5 && ngx_strncmp(value->data, "reset", 5) == 0) {
        ngx_str_set(purpose, "reset");
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* "purpose|phone|code" or, without a code, "purpose|phone" */

static size_t
ngx_http_csibiz_sms_message(u_char *buf, ngx_str_t *purpose,
    const char *phone, const char *code)
{
    u_char  *p;

    p = ngx_sprintf(buf, "%V|%*s", purpose, (size_t) CSIBIZ_PHONE_LEN,
                    phone);

    if (code) {
        p = ngx_sprintf(p, "|%*s", (size_t) NGX_HTTP_CSIBIZ_SMS_CODE_LEN,
                        code);
    }

    return p - buf;
}


/*
 * The code's key, HMAC'd "purpose|phone", and what it is stored as,
 * hex(HMAC(sms key, purpose|phone|code)): the sender and the check agree
 * on both.  phone is normalized, code is NGX_HTTP_CSIBIZ_SMS_CODE_LEN
 * digits.
 */

ngx_int_t
ngx_http_csibiz_sms_code(ngx_http_request_t *r, ngx_str_t *purpose,
    const char *phone, const char *code, ngx_str_t *key, ngx_str_t *mac)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       bin[CSIBIZ_HMACBYTES];
    u_char                        msg[NGX_HTTP_CSIBIZ_SMS_MSG_MAX];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    len = ngx_http_csibiz_sms_message(msg, purpose, phone, NULL);

    if (ngx_http_csibiz_sms_key(r, "csibiz:sms:code:", "code", msg, len, key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = ngx_http_csibiz_sms_message(msg, purpose, phone, code);

    rc = csibiz_hmac(cmcf->sms_key, msg, len, bin);

    ngx_explicit_memzero(msg, sizeof(msg));

    if (rc != 0) {
        return NGX_ERROR;
    }

    return ngx_http_csibiz_hex(r, mac, "", bin, CSIBIZ_HMACBYTES);
}


/*
 * Takes a code: res->rc NGX_OK when it is the latest code sent to the
 * phone for the purpose, unexpired and not burnt (it is used up by this),
 * else NGX_DECLINED, and the wrong try is counted.  phone is taken as the
 * client gave it and normalized here; a code that is not 6 digits cannot
 * be right and costs no try.
 */

ngx_int_t
ngx_http_csibiz_sms_check(ngx_http_request_t *r, ngx_str_t *purpose,
    ngx_str_t *phone, ngx_str_t *code, ngx_http_csibiz_step_pt next,
    void *flow)
{
    ngx_str_t                     argv[6], canon;
    ngx_uint_t                    i;
    ngx_http_csibiz_proof_t      *ck;
    ngx_http_csibiz_redis_op_t   *rop;
    char                          number[CSIBIZ_PHONE_SIZE];

    if (ngx_http_csibiz_sms_purpose(purpose, &canon) != NGX_OK
        || csibiz_phone_normalize((const char *) phone->data, phone->len,
                                  number)
           != 0
        || code->len != NGX_HTTP_CSIBIZ_SMS_CODE_LEN)
    {
        return ngx_http_csibiz_proof_verdict(r, next, flow, NGX_DECLINED);
    }

    for (i = 0; i < NGX_HTTP_CSIBIZ_SMS_CODE_LEN; i++) {
        if (code->data[i] < '0' || code->data[i] > '9') {
            return ngx_http_csibiz_proof_verdict(r, next, flow,
                                                 NGX_DECLINED);
        }
    }

    ck = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_proof_t));
    if (ck == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ck->next = next;
    ck->flow = flow;

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_csibiz_sms_check_script;
    ngx_str_set(&argv[2], "1");
    ngx_str_set(&argv[5], NGX_HTTP_CSIBIZ_SMS_MAX_TRIES);

    if (ngx_http_csibiz_sms_code(r, &canon, number,
                                 (const char *) code->data, &argv[3],
                                 &argv[4])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 6, argv);
    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_sms_checked, ck);
}


static ngx_int_t
ngx_http_csibiz_sms_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_proof_t *ck = flow;

    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis refused the SMS check script: %s",
                      reply->type == REDIS_REPLY_ERROR
                      ? reply->str : "unexpected reply");
        return ngx_http_csibiz_send_unavailable(r);
    }

    return ngx_http_csibiz_proof_verdict(r, ck->next, ck->flow,
                                         reply->integer == 1 ? NGX_OK
                                                             : NGX_DECLINED);
}
