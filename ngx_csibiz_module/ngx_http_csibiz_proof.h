
/*
 * Proofs a request may carry: a captcha answer, an SMS code with its
 * ticket.  A check goes on with next(r, flow, res), res->rc NGX_OK
 * (passed; a captcha is used up by passing, a code by
 * ngx_http_csibiz_sms_spend()) or NGX_DECLINED (wrong, expired or used
 * up).  The keys they live under in Redis are named here, for the
 * handlers that issue them.
 */


#ifndef _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_step.h"


#define NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES  16
#define NGX_HTTP_CSIBIZ_CAPTCHA_IDLEN                                      \
    (CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_CAPTCHA_IDBYTES) - 1)

#define NGX_HTTP_CSIBIZ_SMS_CODE_LEN     6

#define NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES  32
#define NGX_HTTP_CSIBIZ_SMS_TICKET_LEN                                     \
    (CSIBIZ_B64URL_SIZE(NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES) - 1)

/* the SMS gateway's stream (docs/sms.md), trimmed to about MAXLEN */
#define NGX_HTTP_CSIBIZ_SMS_OUTBOX       "csibiz:sms:outbox"
#define NGX_HTTP_CSIBIZ_SMS_MAXLEN       "100000"

/*
 * A notice (a message without a code) into the outbox, the end of a Lua
 * script.  KEYS[1]: the outbox.  ARGV: phone, purpose, text, text_en,
 * MAXLEN, and the time (s) until which it may be sent, or "" for a
 * code's validity.  tools/remind reads this text from here, so that
 * every notice has the one format of docs/sms.md.
 */
#define NGX_HTTP_CSIBIZ_SMS_NOTICE_LUA                                     \
    "local t = redis.call('TIME')\n"                                       \
    "local f = {'phone', ARGV[1], 'purpose', ARGV[2], 'code', '',"         \
    " 'text', ARGV[3], 'text_en', ARGV[4], 'created_at', t[1]}\n"          \
    "if ARGV[6] ~= '' then\n"                                              \
    "  f[#f + 1] = 'send_by'\n"                                            \
    "  f[#f + 1] = ARGV[6]\n"                                              \
    "end\n"                                                                \
    "redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', unpack(f))\n"

/* sms_check's res->rc: the right code, sent for another identity */
#define NGX_HTTP_CSIBIZ_SMS_OTHER        NGX_ABORT


/* a code's ticket: what the client holds, and what Redis holds of it */

typedef struct {
    ngx_str_t                      value;     /* base64url, the client's */
    ngx_str_t                      key;       /* its hash in Redis */
    ngx_str_t                      mac;       /* hex MAC of the code */
    ngx_str_t                      identity;  /* hex MAC of ID|card */
} ngx_http_csibiz_sms_ticket_t;


/* a code to check: set the fields, then ngx_http_csibiz_sms_check() */

typedef struct {
    ngx_str_t                      purpose;   /* "register" or "reset" */
    ngx_str_t                      code;
    const char                    *phone;     /* normalized */
    const char                    *id_number; /* normalized */
    const char                    *si_card;   /* or handbook number */
    ngx_http_csibiz_sms_ticket_t   ticket;    /* value set, the rest made */
} ngx_http_csibiz_sms_proof_t;


ngx_int_t ngx_http_csibiz_captcha_check(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *answer, ngx_http_csibiz_step_pt next,
    void *flow);
ngx_int_t ngx_http_csibiz_sms_check(ngx_http_request_t *r,
    ngx_http_csibiz_sms_proof_t *p, ngx_http_csibiz_step_pt next,
    void *flow);
void ngx_http_csibiz_sms_spend(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_sms_proof_t *p);

ngx_int_t ngx_http_csibiz_captcha_key(ngx_http_request_t *r, u_char *id,
    ngx_str_t *key);
ngx_int_t ngx_http_csibiz_sms_key(ngx_http_request_t *r, const char *prefix,
    const char *label, u_char *msg, size_t len, ngx_str_t *key);

/* NGX_OK for a purpose a code can be sent for, set to a static string */
ngx_int_t ngx_http_csibiz_sms_purpose(ngx_str_t *value, ngx_str_t *purpose);

/* NGX_OK when value has a ticket's form; raw gets its bytes */
ngx_int_t ngx_http_csibiz_sms_ticket_valid(ngx_str_t *value, u_char *raw);

/* a new ticket for the code to send, and what to store of it */
ngx_int_t ngx_http_csibiz_sms_ticket(ngx_http_request_t *r,
    ngx_str_t *purpose, const char *phone, const char *code,
    const char *id_number, const char *si_card,
    ngx_http_csibiz_sms_ticket_t *t);


#endif /* _NGX_HTTP_CSIBIZ_PROOF_H_INCLUDED_ */
