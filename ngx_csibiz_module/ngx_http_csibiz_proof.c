
/*
 * Proofs a request may carry: the answer to a captcha image
 * (ngx_http_csibiz_captcha.c hands them out) and an SMS code
 * (ngx_http_csibiz_sms.c sends them).  Registration and login take them
 * here; the keys both sides use are built here too.
 *
 * Redis holds only HMACs: a captcha under a key derived from its id, an
 * SMS code as HMAC(sms key, purpose|phone|code) under a key derived from
 * its ticket, a random value only the client that asked for the code
 * holds.  A captcha check uses the captcha up; a right code stays until
 * the flow that took it has done its work (ngx_http_csibiz_sms_spend()),
 * so that a later refusal or an outage does not cost the parent the code.
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

/* "ID number|card or handbook number", longer than "register|phone|code" */
#define NGX_HTTP_CSIBIZ_SMS_MSG_MAX                                        \
    (CSIBIZ_ID_NUMBER_LEN + 1 + CSIBIZ_INSURANCE_NO_SIZE - 1)


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
static ngx_int_t ngx_http_csibiz_sms_names(ngx_http_request_t *r,
    u_char *raw, ngx_str_t *purpose, const char *phone, const char *code,
    const char *id_number, const char *si_card,
    ngx_http_csibiz_sms_ticket_t *t);
static ngx_int_t ngx_http_csibiz_sms_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


/*
 * KEYS: the ticket.  ARGV: the MAC of the code tried, the keyed hash of
 * the identity given, the tries allowed.  1: right, for this identity (the
 * ticket stays until it is spent); 2: the right code for another
 * identity; 0: no such ticket, or a wrong code.  2 and 0 count a try, and
 * the last try allowed burns the ticket.  The MACs are compared in Lua,
 * not in constant time, which is fine: a MAC under a key the client does
 * not know says nothing about the code.
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_sms_check_script =
    ngx_http_csibiz_redis_script(
    "local h = redis.call('HMGET', KEYS[1], 'mac', 'identity')\n"
    "if not h[1] then return 0 end\n"
    "local rc = 0\n"
    "if h[1] == ARGV[1] then\n"
    "  if h[2] == ARGV[2] then return 1 end\n"
    "  rc = 2\n"
    "end\n"
    "if redis.call('HINCRBY', KEYS[1], 'tries', 1) >= tonumber(ARGV[3])"
    " then redis.call('DEL', KEYS[1]) end\n"
    "return rc\n");


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
        return ngx_http_csibiz_redis_refused(r, reply,
                                             "GETDEL of a captcha");
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


/* NGX_OK when value has the form of a ticket this module hands out */

ngx_int_t
ngx_http_csibiz_sms_ticket_valid(ngx_str_t *value, u_char *raw)
{
    size_t  n;

    if (value->len != NGX_HTTP_CSIBIZ_SMS_TICKET_LEN
        || csibiz_b64url_decode((const char *) value->data, value->len, raw,
                                NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES, &n)
           != 0
        || n != NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* "purpose|phone|code" */

static size_t
ngx_http_csibiz_sms_message(u_char *buf, ngx_str_t *purpose,
    const char *phone, const char *code)
{
    u_char  *p;

    p = ngx_sprintf(buf, "%V|%*s|%*s", purpose, (size_t) CSIBIZ_PHONE_LEN,
                    phone, (size_t) NGX_HTTP_CSIBIZ_SMS_CODE_LEN, code);

    return p - buf;
}


/*
 * What the sender stores and the check compares, from the raw ticket:
 * its key, "csibiz:sms:ticket:" + hex(HMAC(ticket)); the code as
 * hex(HMAC(sms key, purpose|phone|code)); the identity it was sent for as
 * hex(HMAC(identity subkey, ID number|card)).  phone and id_number are
 * normalized, code is NGX_HTTP_CSIBIZ_SMS_CODE_LEN digits.
 */

static ngx_int_t
ngx_http_csibiz_sms_names(ngx_http_request_t *r, u_char *raw,
    ngx_str_t *purpose, const char *phone, const char *code,
    const char *id_number, const char *si_card,
    ngx_http_csibiz_sms_ticket_t *t)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       bin[CSIBIZ_HMACBYTES];
    u_char                        msg[NGX_HTTP_CSIBIZ_SMS_MSG_MAX];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (ngx_http_csibiz_sms_key(r, "csibiz:sms:ticket:", "ticket", raw,
                                NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES, &t->key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = ngx_sprintf(msg, "%*s|%s", (size_t) CSIBIZ_ID_NUMBER_LEN,
                      id_number, si_card)
          - msg;

    rc = ngx_http_csibiz_sms_key(r, "", "identity", msg, len, &t->identity);

    ngx_explicit_memzero(msg, sizeof(msg));

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    len = ngx_http_csibiz_sms_message(msg, purpose, phone, code);

    rc = csibiz_hmac(cmcf->sms_key, msg, len, bin);

    ngx_explicit_memzero(msg, sizeof(msg));

    if (rc != 0) {
        return NGX_ERROR;
    }

    return ngx_http_csibiz_hex(r, &t->mac, "", bin, CSIBIZ_HMACBYTES);
}


/* a new ticket for a code about to be sent: t->value is its base64url */

ngx_int_t
ngx_http_csibiz_sms_ticket(ngx_http_request_t *r, ngx_str_t *purpose,
    const char *phone, const char *code, const char *id_number,
    const char *si_card, ngx_http_csibiz_sms_ticket_t *t)
{
    u_char  *p;
    u_char   raw[NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES];

    p = ngx_pnalloc(r->pool, NGX_HTTP_CSIBIZ_SMS_TICKET_LEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    csibiz_random_token(raw, sizeof(raw));

    if (csibiz_b64url_encode(raw, sizeof(raw), (char *) p,
                             NGX_HTTP_CSIBIZ_SMS_TICKET_LEN + 1)
        != 0)
    {
        return NGX_ERROR;
    }

    t->value.data = p;
    t->value.len = NGX_HTTP_CSIBIZ_SMS_TICKET_LEN;

    return ngx_http_csibiz_sms_names(r, raw, purpose, phone, code,
                                     id_number, si_card, t);
}


/*
 * Checks a code against its ticket: res->rc NGX_OK when the ticket is
 * one the module handed out for the purpose, phone and identity given,
 * unexpired, unburnt, and the code is its code; NGX_HTTP_CSIBIZ_SMS_OTHER
 * when the code is right but the ticket was issued for another identity;
 * else NGX_DECLINED.  Both refusals count a try of that ticket only.  A
 * malformed ticket or code cannot be right and costs no try.  On NGX_OK
 * p->ticket.key names the ticket, for ngx_http_csibiz_sms_spend().
 */

ngx_int_t
ngx_http_csibiz_sms_check(ngx_http_request_t *r,
    ngx_http_csibiz_sms_proof_t *p, ngx_http_csibiz_step_pt next,
    void *flow)
{
    ngx_str_t                     argv[7];
    ngx_uint_t                    i;
    ngx_http_csibiz_proof_t      *ck;
    ngx_http_csibiz_redis_op_t   *rop;
    u_char                        raw[NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES];
    char                          code[NGX_HTTP_CSIBIZ_SMS_CODE_LEN + 1];

    if (ngx_http_csibiz_sms_ticket_valid(&p->ticket.value, raw) != NGX_OK
        || p->code.len != NGX_HTTP_CSIBIZ_SMS_CODE_LEN)
    {
        return ngx_http_csibiz_proof_verdict(r, next, flow, NGX_DECLINED);
    }

    for (i = 0; i < NGX_HTTP_CSIBIZ_SMS_CODE_LEN; i++) {
        if (p->code.data[i] < '0' || p->code.data[i] > '9') {
            return ngx_http_csibiz_proof_verdict(r, next, flow,
                                                 NGX_DECLINED);
        }

        code[i] = p->code.data[i];
    }

    code[i] = '\0';

    ck = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_proof_t));
    if (ck == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ck->next = next;
    ck->flow = flow;

    if (ngx_http_csibiz_sms_names(r, raw, &p->purpose, p->phone, code,
                                  p->id_number, p->si_card, &p->ticket)
        != NGX_OK)
    {
        ngx_explicit_memzero(code, sizeof(code));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_explicit_memzero(code, sizeof(code));

    ngx_str_set(&argv[2], "1");
    argv[3] = p->ticket.key;
    argv[4] = p->ticket.mac;
    argv[5] = p->ticket.identity;
    ngx_str_set(&argv[6], NGX_HTTP_CSIBIZ_SMS_MAX_TRIES);

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_sms_check_script, 7,
                               argv);
    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_sms_checked, ck);
}


static ngx_int_t
ngx_http_csibiz_sms_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_proof_t *ck = flow;

    ngx_int_t    rc;
    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type != REDIS_REPLY_INTEGER) {
        return ngx_http_csibiz_redis_refused(r, reply,
                                             "the SMS check script");
    }

    switch (reply->integer) {
    case 1:
        rc = NGX_OK;
        break;
    case 2:
        rc = NGX_HTTP_CSIBIZ_SMS_OTHER;
        break;
    default:
        rc = NGX_DECLINED;
    }

    return ngx_http_csibiz_proof_verdict(r, ck->next, ck->flow, rc);
}


/* a proven code is used up: "DEL key" goes into the flow's pipeline */

void
ngx_http_csibiz_sms_spend(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_sms_proof_t *p)
{
    ngx_str_t  argv[2];

    ngx_str_set(&argv[0], "DEL");
    argv[1] = p->ticket.key;

    ngx_http_csibiz_redis_append(rop, 2, argv);
}
