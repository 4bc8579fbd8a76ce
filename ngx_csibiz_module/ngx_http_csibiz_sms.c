
/*
 * SMS codes.  POST /api/sms/send checks the request against the roster
 * and the send limits, makes a 6-digit code and queues the message on
 * the Redis stream csibiz:sms:outbox for the SMS gateway (docs/sms.md);
 * ngx_http_csibiz_sms_check() is what registration and password reset use
 * to take a code.
 *
 * Redis holds only HMACs: the code as HMAC(sms key, purpose|phone|code),
 * and every key name as an HMAC of the phone or the client's address
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

#include <csibiz_validate.h>


#define NGX_HTTP_CSIBIZ_SMS_CODE_LEN     6
#define NGX_HTTP_CSIBIZ_SMS_MAX_TRIES    "5"

/* what the client is told to wait before asking again */
#define NGX_HTTP_CSIBIZ_SMS_RESEND       60

/* the limits: per phone 1 a minute, 5 an hour, 10 a day; per client 25 */
#define NGX_HTTP_CSIBIZ_SMS_LIMITS                                         \
    "60000", "1", "3600000", "5", "86400000", "10", "300000", "25"
#define NGX_HTTP_CSIBIZ_SMS_NLIMITS      8

/* the outbox is trimmed to about this many messages */
#define NGX_HTTP_CSIBIZ_SMS_OUTBOX       "csibiz:sms:outbox"
#define NGX_HTTP_CSIBIZ_SMS_MAXLEN       "100000"

#define NGX_HTTP_CSIBIZ_SMS_KEY_MAX                                        \
    (sizeof("csibiz:sms:phone:") - 1 + 2 * CSIBIZ_HMACBYTES)

/* "register|" + phone + "|" + code */
#define NGX_HTTP_CSIBIZ_SMS_MSG_MAX                                        \
    (sizeof("register") + CSIBIZ_PHONE_LEN + 1                            \
     + NGX_HTTP_CSIBIZ_SMS_CODE_LEN)



typedef struct {
    ngx_str_t                      purpose;
    char                           id_number[CSIBIZ_ID_NUMBER_SIZE];
    char                           si_card[CSIBIZ_SOCIAL_CARD_SIZE];
    char                           phone[CSIBIZ_PHONE_SIZE];
    ngx_str_t                      captcha_id;
    ngx_str_t                      captcha_answer;

} ngx_http_csibiz_sms_ctx_t;


typedef struct {
    ngx_http_csibiz_check_pt       next;
    void                          *data;
} ngx_http_csibiz_sms_check_t;


static ngx_int_t ngx_http_csibiz_sms_purpose(ngx_str_t *value,
    ngx_str_t *purpose);
static ngx_int_t ngx_http_csibiz_sms_key(ngx_http_request_t *r,
    const char *prefix, const char *label, u_char *msg, size_t len,
    ngx_str_t *key);
static size_t ngx_http_csibiz_sms_message(u_char *buf, ngx_str_t *purpose,
    const char *phone, const char *code);
static ngx_int_t ngx_http_csibiz_sms_captcha_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_csibiz_sms_looked_up(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static ngx_int_t ngx_http_csibiz_sms_queue(ngx_http_request_t *r,
    ngx_http_csibiz_sms_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_sms_queued(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_sms_limited(ngx_http_request_t *r,
    long long ms);
static ngx_int_t ngx_http_csibiz_sms_checked(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_sms_lookup_stmt =
    ngx_http_csibiz_pg_stmt("sms_lookup",
        "SELECT si_card_no = $2, coalesce(declared_phone = $3, false)"
        " FROM insured_person WHERE id_number_hmac = $1::bytea", 3);


/*
 * KEYS: phone's send times, client's send times, the code, the outbox.
 * ARGV: member, code MAC, code TTL (s), phone, purpose, code, outbox
 * MAXLEN, then (window ms, limit) for the phone's three windows and the
 * client's one.  Returns 0 when queued, else the milliseconds until the
 * farthest of the reached limits frees a slot.
 */

static ngx_str_t  ngx_http_csibiz_sms_send_script = ngx_string(
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
    "redis.call('DEL', KEYS[3])\n"
    "redis.call('HSET', KEYS[3], 'mac', ARGV[2], 'tries', 0)\n"
    "redis.call('EXPIRE', KEYS[3], ARGV[3])\n"
    "redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*',"
    " 'phone', ARGV[4], 'purpose', ARGV[5], 'code', ARGV[6],"
    " 'created_at', t[1])\n"
    "return 0\n");


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


/* NGX_OK for a purpose a code can be sent for, set to a static string */

static ngx_int_t
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


/* prefix + hex(HMAC(the label's subkey of the SMS key, msg)) */

static ngx_int_t
ngx_http_csibiz_sms_key(ngx_http_request_t *r, const char *prefix,
    const char *label, u_char *msg, size_t len, ngx_str_t *key)
{
    u_char                       *p;
    size_t                        plen;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_hmac_label(cmcf->sms_key, label, msg, len, mac) != 0) {
        return NGX_ERROR;
    }

    plen = ngx_strlen(prefix);

    p = ngx_pnalloc(r->pool, plen + 2 * CSIBIZ_HMACBYTES);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;
    p = ngx_cpymem(p, prefix, plen);
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    key->len = p - key->data;

    return NGX_OK;
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


/* POST /api/sms/send */

ngx_int_t
ngx_http_csibiz_sms_send_handler(ngx_http_request_t *r)
{
    ngx_str_t                     value;
    ngx_http_csibiz_sms_ctx_t    *ctx;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_sms_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_field_required(r, "purpose", &value) == NGX_OK
        && ngx_http_csibiz_sms_purpose(&value, &ctx->purpose) != NGX_OK)
    {
        ngx_http_csibiz_field_invalid(r, "purpose", "unsupported");
    }

    if (ngx_http_csibiz_identity_fields(r, ctx->id_number, ctx->si_card,
                                        ctx->phone, NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_fields_invalid(r)) {
        return ngx_http_csibiz_fail_invalid(r);
    }

    if (ngx_http_csibiz_field(r, "captcha_id", &ctx->captcha_id) != NGX_OK)
    {
        ngx_str_null(&ctx->captcha_id);
    }

    if (ngx_http_csibiz_field(r, "captcha_answer", &ctx->captcha_answer)
        != NGX_OK)
    {
        ngx_str_null(&ctx->captcha_answer);
    }

    if (cmcf->captcha
        && (ctx->captcha_id.len == 0 || ctx->captcha_answer.len == 0))
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_required");
    }

    return ngx_http_csibiz_captcha_check(r, &ctx->captcha_id,
                                         &ctx->captcha_answer,
                                         ngx_http_csibiz_sms_captcha_checked,
                                         ctx);
}


static ngx_int_t
ngx_http_csibiz_sms_captcha_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_csibiz_sms_ctx_t *ctx = data;

    u_char                       *p;
    ngx_str_t                     params[3];
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    if (rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_invalid");
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    /* the blind index, as bytea text: "\x" and hex */

    if (csibiz_hmac(cmcf->index_key, ctx->id_number, CSIBIZ_ID_NUMBER_LEN,
                    mac)
        != 0)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, 2 + 2 * CSIBIZ_HMACBYTES);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    *p++ = '\\';
    *p++ = 'x';
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    params[0].len = p - params[0].data;

    params[1].data = (u_char *) ctx->si_card;
    params[1].len = CSIBIZ_SOCIAL_CARD_LEN;
    params[2].data = (u_char *) ctx->phone;
    params[2].len = CSIBIZ_PHONE_LEN;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_sms_lookup_stmt, params,
                                 ngx_http_csibiz_sms_looked_up, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/*
 * No row, or a row with another card: one error that does not say which
 * of the two was wrong.  The right ID and card with another phone is told
 * plainly, as the seed system does: the parent can do nothing but have
 * the school correct the declared phone, and whoever knows both numbers
 * learns little from it.
 */

static ngx_int_t
ngx_http_csibiz_sms_looked_up(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_sms_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't') {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "identity_mismatch");
    }

    if (PQgetvalue(res, 0, 1)[0] != 't') {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                    "phone_not_declared");
    }

    return ngx_http_csibiz_sms_queue(r, ctx);
}


/* the limits, the code and the outbox in one script, one round trip */

static ngx_int_t
ngx_http_csibiz_sms_queue(ngx_http_request_t *r,
    ngx_http_csibiz_sms_ctx_t *ctx)
{
    u_char                       *p;
    size_t                        len;
    ngx_int_t                     rc;
    ngx_str_t                     argv[7 + 15], *keys, *args;
    ngx_uint_t                    i;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    uint8_t                       member[8];
    u_char                        msg[NGX_HTTP_CSIBIZ_SMS_MSG_MAX];
    char                          code[NGX_HTTP_CSIBIZ_SMS_CODE_LEN + 1];

    static char  *limits[] = { NGX_HTTP_CSIBIZ_SMS_LIMITS };

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    p = ngx_pnalloc(r->pool, 2 * sizeof(member) + 2 * CSIBIZ_HMACBYTES
                             + NGX_TIME_T_LEN);
    rop = ngx_http_csibiz_redis_create(r);

    if (p == NULL || rop == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (csibiz_random_digits(code, NGX_HTTP_CSIBIZ_SMS_CODE_LEN) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_csibiz_sms_send_script;
    ngx_str_set(&argv[2], "4");

    keys = &argv[3];
    args = &argv[7];

    len = ngx_http_csibiz_sms_message(msg, &ctx->purpose, ctx->phone, NULL);

    if (ngx_http_csibiz_sms_key(r, "csibiz:sms:phone:", "phone",
                                (u_char *) ctx->phone, CSIBIZ_PHONE_LEN,
                                &keys[0])
        != NGX_OK
        || ngx_http_csibiz_sms_key(r, "csibiz:sms:client:", "client",
                                   r->connection->addr_text.data,
                                   r->connection->addr_text.len, &keys[1])
           != NGX_OK
        || ngx_http_csibiz_sms_key(r, "csibiz:sms:code:", "code", msg, len,
                                   &keys[2])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&keys[3], NGX_HTTP_CSIBIZ_SMS_OUTBOX);

    len = ngx_http_csibiz_sms_message(msg, &ctx->purpose, ctx->phone, code);

    if (csibiz_hmac(cmcf->sms_key, msg, len, mac) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a random member: two sends in the same millisecond both count */

    csibiz_random_token(member, sizeof(member));

    args[0].data = p;
    p = ngx_hex_dump(p, member, sizeof(member));
    args[0].len = p - args[0].data;

    args[1].data = p;
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    args[1].len = p - args[1].data;

    args[2].data = p;
    args[2].len = ngx_sprintf(p, "%T", cmcf->sms_code_ttl) - p;

    args[3].data = (u_char *) ctx->phone;
    args[3].len = CSIBIZ_PHONE_LEN;
    args[4] = ctx->purpose;
    args[5].data = (u_char *) code;
    args[5].len = NGX_HTTP_CSIBIZ_SMS_CODE_LEN;
    ngx_str_set(&args[6], NGX_HTTP_CSIBIZ_SMS_MAXLEN);

    for (i = 0; i < NGX_HTTP_CSIBIZ_SMS_NLIMITS; i++) {
        args[7 + i].data = (u_char *) limits[i];
        args[7 + i].len = ngx_strlen(limits[i]);
    }

    /* the command is copied into the pipeline's buffer */

    rc = ngx_http_csibiz_redis_append(rop, 7 + 15, argv);

    ngx_explicit_memzero(code, sizeof(code));
    ngx_explicit_memzero(msg, sizeof(msg));

    if (rc != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_sms_queued, ctx)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_sms_queued(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    u_char  *body, *p;

    if (status != NGX_HTTP_CSIBIZ_OK || n != 1) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type != REDIS_REPLY_INTEGER) {
        /* the script's error names no argument, only the line */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis refused the SMS send script: %s",
                      replies[0]->type == REDIS_REPLY_ERROR
                      ? replies[0]->str : "unexpected reply");
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->integer > 0) {
        return ngx_http_csibiz_sms_limited(r, replies[0]->integer);
    }

    body = ngx_pnalloc(r->pool, sizeof("{\"sent\":true,\"resend_after\":}")
                                + NGX_INT_T_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"sent\":true,\"resend_after\":%d}",
                    NGX_HTTP_CSIBIZ_SMS_RESEND);

    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_SMS_SENT);

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}


/* 429 with the whole seconds until a slot frees, in the body and header */

static ngx_int_t
ngx_http_csibiz_sms_limited(ngx_http_request_t *r, long long ms)
{
    return ngx_http_csibiz_fail_retry_after(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                            "rate_limited", (ms + 999) / 1000);
}


/*
 * Takes a code: next(r, data, NGX_OK) when it is the latest code sent to
 * the phone for the purpose, unexpired and not burnt (it is used up by
 * this), else NGX_DECLINED, and the wrong try is counted.  phone is taken
 * as the client gave it and normalized here; a code that is not 6 digits
 * cannot be right and costs no try.
 */

ngx_int_t
ngx_http_csibiz_sms_check(ngx_http_request_t *r, ngx_str_t *purpose,
    ngx_str_t *phone, ngx_str_t *code, ngx_http_csibiz_check_pt next,
    void *data)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                     argv[6], canon;
    ngx_uint_t                    i;
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;
    ngx_http_csibiz_sms_check_t  *ck;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    u_char                        msg[NGX_HTTP_CSIBIZ_SMS_MSG_MAX];
    char                          number[CSIBIZ_PHONE_SIZE];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (ngx_http_csibiz_sms_purpose(purpose, &canon) != NGX_OK
        || csibiz_phone_normalize((const char *) phone->data, phone->len,
                                  number)
           != 0
        || code->len != NGX_HTTP_CSIBIZ_SMS_CODE_LEN)
    {
        return next(r, data, NGX_DECLINED);
    }

    for (i = 0; i < NGX_HTTP_CSIBIZ_SMS_CODE_LEN; i++) {
        if (code->data[i] < '0' || code->data[i] > '9') {
            return next(r, data, NGX_DECLINED);
        }
    }

    ck = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_sms_check_t));
    p = ngx_pnalloc(r->pool, 2 * CSIBIZ_HMACBYTES);

    if (ck == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ck->next = next;
    ck->data = data;

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_csibiz_sms_check_script;
    ngx_str_set(&argv[2], "1");

    len = ngx_http_csibiz_sms_message(msg, &canon, number, NULL);

    if (ngx_http_csibiz_sms_key(r, "csibiz:sms:code:", "code", msg, len,
                                &argv[3])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_http_csibiz_sms_message(msg, &canon, number,
                                      (const char *) code->data);

    if (csibiz_hmac(cmcf->sms_key, msg, len, mac) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_explicit_memzero(msg, sizeof(msg));

    argv[4].data = p;
    argv[4].len = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES) - p;
    ngx_str_set(&argv[5], NGX_HTTP_CSIBIZ_SMS_MAX_TRIES);

    rop = ngx_http_csibiz_redis_create(r);

    if (rop == NULL
        || ngx_http_csibiz_redis_append(rop, 6, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_sms_checked, ck)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_sms_checked(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_sms_check_t *ck = data;

    if (status != NGX_HTTP_CSIBIZ_OK || n != 1) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: redis refused the SMS check script: %s",
                      replies[0]->type == REDIS_REPLY_ERROR
                      ? replies[0]->str : "unexpected reply");
        return ngx_http_csibiz_send_unavailable(r);
    }

    return ck->next(r, ck->data, replies[0]->integer == 1 ? NGX_OK
                                                          : NGX_DECLINED);
}
