
/*
 * SMS codes.  POST /api/sms/send checks the request against the roster
 * and the send limits, makes a 6-digit code and queues the message on
 * the Redis stream csibiz:sms:outbox for the SMS gateway (docs/sms.md);
 * the answer carries a random ticket, and registration and password reset
 * take the code with its ticket (ngx_http_csibiz_sms_check(),
 * ngx_http_csibiz_proof.c): wrong tries count against that ticket only,
 * so nobody without it can burn the code.
 *
 * Redis holds only HMACs: the code as HMAC(sms key, purpose|phone|code)
 * (so the phone is bound to the ticket without being stored), the
 * identity it was sent for as an HMAC of ID number and card, and every
 * key name as an HMAC of the ticket, the phone or the client's address
 * under a subkey of its own.  The outbox is the exception, by contract:
 * the gateway needs the plain phone and code.
 *
 * The limits are sliding windows, one sorted set of send times per phone
 * and per client address.  One script checks all of them and, only if
 * none is reached, records the send, stores the code and queues the
 * message: a refused request leaves no trace, so it never pushes a window
 * further out, and two concurrent requests cannot both take the last
 * slot.  Times are Redis's own clock, the same for every nginx node.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_proof.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_step.h"
#include "ngx_http_csibiz_status.h"

#include <csibiz_validate.h>


/* what the client is told to wait before asking again */
#define NGX_HTTP_CSIBIZ_SMS_RESEND       60

/* the limits: per phone 1 a minute, 5 an hour, 10 a day; per client 25 */
#define NGX_HTTP_CSIBIZ_SMS_LIMITS                                         \
    "60000", "1", "3600000", "5", "86400000", "10", "300000", "25"
#define NGX_HTTP_CSIBIZ_SMS_NLIMITS      8


typedef struct {
    ngx_str_t                      purpose;
    char                           id_number[CSIBIZ_ID_NUMBER_SIZE];
    char                           si_card[CSIBIZ_INSURANCE_NO_SIZE];
    char                           phone[CSIBIZ_PHONE_SIZE];
    ngx_str_t                      captcha_id;
    ngx_str_t                      captcha_answer;
    ngx_http_csibiz_sms_ticket_t   ticket;
} ngx_http_csibiz_sms_t;


static ngx_int_t ngx_http_csibiz_sms_captcha_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_sms_looked_up(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_sms_queue(ngx_http_request_t *r,
    ngx_http_csibiz_sms_t *sms);
static ngx_int_t ngx_http_csibiz_sms_queued(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_sms_limited(ngx_http_request_t *r,
    long long ms);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_sms_lookup_stmt =
    ngx_http_csibiz_pg_stmt("sms_lookup",
        "SELECT card_ok, phone_ok"
        " FROM app_sms_lookup($1::bytea, $2::text, $3::text)", 3);


/*
 * KEYS: phone's send times, client's send times, the ticket, the outbox.
 * ARGV: member, code MAC, code TTL (s), phone, purpose, code, outbox
 * MAXLEN, then (window ms, limit) for the phone's three windows and the
 * client's one, then the identity's MAC.  Returns 0 when queued, else the milliseconds until the
 * farthest of the reached limits frees a slot.
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_sms_send_script =
    ngx_http_csibiz_redis_script(
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local wait = 0\n"
    "local function check(key, window, limit)\n"
    "  local from = '(' .. (now - window)\n"
    "  local n = redis.call('ZCOUNT', key, from, '+inf')\n"
    "  if n >= limit then\n"
    "    local e = redis.call('ZRANGEBYSCORE', key, from, '+inf',"
    " 'WITHSCORES', 'LIMIT', n - limit, 1)\n"
    "    local w = tonumber(e[2]) + window - now\n"
    "    if w > wait then wait = w end\n"
    "  end\n"
    "end\n"
    "for i = 0, 2 do\n"
    "  check(KEYS[1], tonumber(ARGV[8 + 2 * i]), tonumber(ARGV[9 + 2 * i]))\n"
    "end\n"
    "check(KEYS[2], tonumber(ARGV[14]), tonumber(ARGV[15]))\n"
    "if wait > 0 then return wait end\n"
    "local member = now .. ':' .. ARGV[1]\n"
    "redis.call('ZADD', KEYS[1], now, member)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ARGV[12])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[12])\n"
    "redis.call('ZADD', KEYS[2], now, member)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ARGV[14])\n"
    "redis.call('PEXPIRE', KEYS[2], ARGV[14])\n"
    "redis.call('HSET', KEYS[3], 'mac', ARGV[2], 'purpose', ARGV[5],"
    " 'identity', ARGV[16], 'tries', 0)\n"
    "redis.call('EXPIRE', KEYS[3], ARGV[3])\n"
    "redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*',"
    " 'phone', ARGV[4], 'purpose', ARGV[5], 'code', ARGV[6],"
    " 'created_at', t[1])\n"
    "return 0\n");


/*
 * POST /api/sms/send: fields → captcha → roster lookup → one script:
 * limits, code, outbox
 */

ngx_int_t
ngx_http_csibiz_sms_send_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t                     value;
    ngx_http_csibiz_sms_t        *sms;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    sms = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_sms_t));
    if (sms == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_field_required(r, "purpose", &value) == NGX_OK
        && ngx_http_csibiz_sms_purpose(&value, &sms->purpose) != NGX_OK)
    {
        ngx_http_csibiz_field_invalid(r, "purpose", "unsupported");
    }

    if (ngx_http_csibiz_identity_fields(r, sms->id_number, sms->si_card,
                                        sms->phone, NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_fields_invalid(r)) {
        return ngx_http_csibiz_fail_invalid(r);
    }

    if (ngx_http_csibiz_field(r, "captcha_id", &sms->captcha_id) != NGX_OK)
    {
        ngx_str_null(&sms->captcha_id);
    }

    if (ngx_http_csibiz_field(r, "captcha_answer", &sms->captcha_answer)
        != NGX_OK)
    {
        ngx_str_null(&sms->captcha_answer);
    }

    if (cmcf->captcha
        && (sms->captcha_id.len == 0 || sms->captcha_answer.len == 0))
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_required");
    }

    return ngx_http_csibiz_captcha_check(r, &sms->captcha_id,
                                         &sms->captcha_answer,
                                         ngx_http_csibiz_sms_captcha_checked,
                                         sms);
}


static ngx_int_t
ngx_http_csibiz_sms_captcha_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_sms_t *sms = flow;

    ngx_str_t                     params[3];
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    if (res->rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_invalid");
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /* the blind index, as bytea text */

    if (csibiz_hmac(cmcf->index_key, sms->id_number, CSIBIZ_ID_NUMBER_LEN,
                    mac)
        != 0
        || ngx_http_csibiz_hex(r, &params[0], "\\x", mac, CSIBIZ_HMACBYTES)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1].data = (u_char *) sms->si_card;
    params[1].len = ngx_strlen(sms->si_card);
    params[2].data = (u_char *) sms->phone;
    params[2].len = CSIBIZ_PHONE_LEN;

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_sms_lookup_stmt,
                                    params, ngx_http_csibiz_sms_looked_up,
                                    sms);
}


/*
 * No row, or a row with another card: one error that does not say which
 * of the two was wrong.  The right ID and card with another phone is told
 * plainly, as the seed system does: the parent can do nothing but have
 * the school correct the declared phone, and whoever knows both numbers
 * learns little from it.
 */

static ngx_int_t
ngx_http_csibiz_sms_looked_up(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    if (PQntuples(res->res) != 1 || PQgetvalue(res->res, 0, 0)[0] != 't') {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "identity_mismatch");
    }

    if (PQgetvalue(res->res, 0, 1)[0] != 't') {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                    "phone_not_declared");
    }

    return ngx_http_csibiz_sms_queue(r, flow);
}


/* the limits, the code and the outbox in one script, one round trip */

static ngx_int_t
ngx_http_csibiz_sms_queue(ngx_http_request_t *r, ngx_http_csibiz_sms_t *sms)
{
    ngx_str_t                     argv[7 + 16], *keys, *args, client;
    ngx_uint_t                    i;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       member[8];
    char                          code[NGX_HTTP_CSIBIZ_SMS_CODE_LEN + 1];

    static char  *limits[] = { NGX_HTTP_CSIBIZ_SMS_LIMITS };

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    ngx_str_set(&argv[2], "4");

    keys = &argv[3];
    args = &argv[7];

    /* a random member: two sends in the same millisecond both count */

    csibiz_random_token(member, sizeof(member));

    if (csibiz_random_digits(code, NGX_HTTP_CSIBIZ_SMS_CODE_LEN) != 0
        || ngx_http_csibiz_client(r, &client) != NGX_OK
        || ngx_http_csibiz_sms_key(r, "csibiz:sms:phone:", "phone",
                                   (u_char *) sms->phone, CSIBIZ_PHONE_LEN,
                                   &keys[0])
           != NGX_OK
        || ngx_http_csibiz_sms_key(r, "csibiz:sms:client:", "client",
                                   client.data, client.len, &keys[1])
           != NGX_OK
        || ngx_http_csibiz_sms_ticket(r, &sms->purpose, sms->phone, code,
                                      sms->id_number, sms->si_card,
                                      &sms->ticket)
           != NGX_OK
        || ngx_http_csibiz_hex(r, &args[0], "", member, sizeof(member))
           != NGX_OK
        || ngx_http_csibiz_integer(r, &args[2], cmcf->sms_code_ttl)
           != NGX_OK)
    {
        ngx_explicit_memzero(code, sizeof(code));
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    keys[2] = sms->ticket.key;
    args[1] = sms->ticket.mac;
    ngx_str_set(&keys[3], NGX_HTTP_CSIBIZ_SMS_OUTBOX);

    args[3].data = (u_char *) sms->phone;
    args[3].len = CSIBIZ_PHONE_LEN;
    args[4] = sms->purpose;
    args[5].data = (u_char *) code;
    args[5].len = NGX_HTTP_CSIBIZ_SMS_CODE_LEN;
    ngx_str_set(&args[6], NGX_HTTP_CSIBIZ_SMS_MAXLEN);

    for (i = 0; i < NGX_HTTP_CSIBIZ_SMS_NLIMITS; i++) {
        args[7 + i].data = (u_char *) limits[i];
        args[7 + i].len = ngx_strlen(limits[i]);
    }

    args[15] = sms->ticket.identity;

    /* the command is copied into the pipeline's buffer */

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_sms_send_script, 7 + 16,
                               argv);

    ngx_explicit_memzero(code, sizeof(code));

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_sms_queued, sms);
}


static ngx_int_t
ngx_http_csibiz_sms_queued(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_sms_t *sms = flow;

    ngx_str_t    body;
    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type != REDIS_REPLY_INTEGER) {
        /* the script's error names no argument, only the line */
        return ngx_http_csibiz_redis_refused(r, reply,
                                             "the SMS send script");
    }

    if (reply->integer > 0) {
        return ngx_http_csibiz_sms_limited(r, reply->integer);
    }

    if (ngx_http_csibiz_sprintf(r, &body,
                                "{\"sent\":true,\"resend_after\":%d,"
                                "\"sms_ticket\":\"%V\"}",
                                NGX_HTTP_CSIBIZ_SMS_RESEND,
                                &sms->ticket.value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_SMS_SENT);

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body.data, body.len);
}


/* 429 with the whole seconds until a slot frees, in the body and header */

static ngx_int_t
ngx_http_csibiz_sms_limited(ngx_http_request_t *r, long long ms)
{
    return ngx_http_csibiz_fail_retry_after(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                            "rate_limited", (ms + 999) / 1000);
}
