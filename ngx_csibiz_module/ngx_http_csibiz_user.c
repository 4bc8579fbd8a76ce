
/*
 * User accounts (the parents' logins): registration, login, logout,
 * step-up re-authentication and the session's state.  Each handler is a
 * short list of steps, one per backend round trip; password hashing runs
 * in the thread pool.
 *
 * Login failures are counted in Redis per (account, client) to lock, and
 * per account and per client to ask for a captcha.  Accounts are named in
 * Redis only by the HMAC blind index of the ID number, clients by an HMAC
 * of their address: no personal data in key names.
 */


#include "ngx_http_csibiz_module.h"

#include <csibiz_password.h>
#include <csibiz_validate.h>


#define NGX_HTTP_CSIBIZ_LOGIN_WINDOW      900
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_AFTER  5
#define NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA     3
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_BASE   900
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_MAX    86400
#define NGX_HTTP_CSIBIZ_LOGIN_MAX_FAILS   100
#define NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS  5

#define NGX_HTTP_CSIBIZ_INDEX_HEX         (2 * CSIBIZ_HMACBYTES)
#define NGX_HTTP_CSIBIZ_CLIENT_HEX        32


typedef struct {
    ngx_http_csibiz_session_t     *session;

    char                           id_number[CSIBIZ_ID_NUMBER_SIZE];
    char                           phone[CSIBIZ_PHONE_SIZE];
    char                           si_card[CSIBIZ_SOCIAL_CARD_SIZE];
    csibiz_date_t                  birth;

    ngx_str_t                      password;
    ngx_str_t                      sms_code;
    ngx_str_t                      agree_version;
    ngx_str_t                      captcha_id;
    ngx_str_t                      captcha_answer;

    ngx_str_t                      index;       /* "\x" + hex, for SQL */
    ngx_str_t                      account;     /* hex, for Redis keys */
    ngx_str_t                      client;      /* hex, for Redis keys */
    ngx_str_t                      client_ip;

    ngx_int_t                      user_id;
    ngx_int_t                      person_id;
    ngx_str_t                      name;
    ngx_str_t                      id_masked;
    ngx_str_t                      user_phone;
    ngx_str_t                      created;

    char                           hash[CSIBIZ_PWHASH_STRBYTES];
    ngx_uint_t                     have_hash;
    int                            work_rc;
} ngx_http_csibiz_user_ctx_t;


static ngx_http_csibiz_user_ctx_t *ngx_http_csibiz_user_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_csibiz_user_keys(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_user_copy(ngx_http_request_t *r,
    ngx_str_t *dst, const char *src, size_t len);
static ngx_int_t ngx_http_csibiz_user_send_user(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx, ngx_uint_t status,
    ngx_http_csibiz_session_t *s);

static ngx_int_t ngx_http_csibiz_register_looked_up(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static ngx_int_t ngx_http_csibiz_register_sms_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_csibiz_register_hash(void *data);
static ngx_int_t ngx_http_csibiz_register_hashed(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_csibiz_register_inserted(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);

static ngx_int_t ngx_http_csibiz_login_counted(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_login_captcha_checked(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_csibiz_login_lookup(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_login_looked_up(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static void ngx_http_csibiz_login_verify(void *data);
static ngx_int_t ngx_http_csibiz_login_verified(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_csibiz_login_recorded(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static ngx_int_t ngx_http_csibiz_login_cleared(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_login_session_created(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_login_fail(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx);
static ngx_int_t ngx_http_csibiz_login_fail_count(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static ngx_int_t ngx_http_csibiz_login_fail_counted(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);

static ngx_int_t ngx_http_csibiz_logout_session(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_logout_done(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_reauth_session(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_reauth_redis(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx, const char *cmd,
    ngx_http_csibiz_redis_handler_pt done);
static ngx_int_t ngx_http_csibiz_reauth_counted(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_reauth_fail_counted(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_reauth_cleared(ngx_http_request_t *r,
    void *data, ngx_int_t status, redisReply **replies, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_reauth_looked_up(ngx_http_request_t *r,
    void *data, ngx_int_t status, PGresult *res);
static ngx_int_t ngx_http_csibiz_reauth_verified(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_csibiz_reauth_done(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);
static ngx_int_t ngx_http_csibiz_session_state(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_register_lookup_stmt =
    ngx_http_csibiz_pg_stmt("register_lookup",
        "SELECT p.id, p.declared_phone, u.id IS NOT NULL,"
        " (SELECT version FROM agreement WHERE published_at <= now()"
        "  ORDER BY published_at DESC LIMIT 1)"
        " FROM insured_person p"
        " LEFT JOIN portal_user u ON u.insured_person_id = p.id"
        " WHERE p.id_number_hmac = $1::bytea AND p.si_card_no = $2", 2);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_register_insert_stmt =
    ngx_http_csibiz_pg_stmt("register_insert",
        "WITH u AS ("
        " INSERT INTO portal_user (insured_person_id, phone, password_hash,"
        "  agreement_version, agreed_at)"
        " VALUES ($1, $2, $3, $4, now())"
        " ON CONFLICT (insured_person_id) DO NOTHING"
        " RETURNING id, created_at),"
        " a AS ("
        " INSERT INTO audit_log (actor_user_id, client_ip, action, detail)"
        " SELECT id, $5::inet, 'account.register',"
        "  jsonb_build_object('agreement_version', $4::text) FROM u)"
        " SELECT u.id, to_char(u.created_at AT TIME ZONE 'Asia/Shanghai',"
        "  'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"'),"
        "  p.name, p.id_number_masked"
        " FROM u JOIN insured_person p ON p.id = $1", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_lookup_stmt =
    ngx_http_csibiz_pg_stmt("login_lookup",
        "SELECT u.id, u.password_hash, u.failed_logins, p.id, p.name,"
        " p.id_number_masked, u.phone"
        " FROM insured_person p"
        " JOIN portal_user u ON u.insured_person_id = p.id"
        " WHERE p.id_number_hmac = $1::bytea", 1);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_ok_stmt =
    ngx_http_csibiz_pg_stmt("login_ok",
        "WITH u AS ("
        " UPDATE portal_user SET failed_logins = 0, last_login_at = now()"
        " WHERE id = $1 RETURNING id)"
        " INSERT INTO audit_log (actor_user_id, client_ip, action)"
        " SELECT id, $2::inet, 'account.login' FROM u", 2);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_failed_stmt =
    ngx_http_csibiz_pg_stmt("login_failed",
        "WITH u AS ("
        " UPDATE portal_user SET failed_logins = failed_logins + 1"
        " WHERE id = $1 RETURNING id, failed_logins)"
        " INSERT INTO audit_log (actor_user_id, client_ip, action, detail)"
        " SELECT id, $2::inet, 'account.login_failed',"
        "  jsonb_build_object('failures', failed_logins) FROM u", 2);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_reauth_lookup_stmt =
    ngx_http_csibiz_pg_stmt("reauth_lookup",
        "SELECT password_hash FROM portal_user WHERE id = $1", 1);


/*
 * One failed login, atomically: counts per (account, client), account and
 * client in a 15-minute window; the 5th failure of an (account, client)
 * locks that pair for 15 minutes, doubling with each lock of the last
 * 24 hours, at most 24 hours.  Returns the lock's seconds, or 0.
 */

static ngx_str_t  ngx_http_csibiz_login_fail_script = ngx_string(
    "local w = tonumber(ARGV[1])\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], w) end\n"
    "if redis.call('INCR', KEYS[2]) == 1 then"
    " redis.call('EXPIRE', KEYS[2], w) end\n"
    "if redis.call('INCR', KEYS[3]) == 1 then"
    " redis.call('EXPIRE', KEYS[3], w) end\n"
    "if n < tonumber(ARGV[2]) then return 0 end\n"
    "local level = redis.call('INCR', KEYS[5])\n"
    "redis.call('EXPIRE', KEYS[5], ARGV[4])\n"
    "local t = math.min(tonumber(ARGV[3]) * 2 ^ (level - 1),"
    " tonumber(ARGV[4]))\n"
    "redis.call('SET', KEYS[4], 1, 'EX', t)\n"
    "redis.call('DEL', KEYS[1])\n"
    "return t\n");


/*
 * One wrong step-up password: a session's holder gets 5 tries in 15
 * minutes, like a login from one client.  Returns the lock's seconds, or
 * 0.
 */

static ngx_str_t  ngx_http_csibiz_reauth_fail_script = ngx_string(
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "if n < tonumber(ARGV[2]) then return 0 end\n"
    "return redis.call('TTL', KEYS[1])\n");


static ngx_http_csibiz_user_ctx_t *
ngx_http_csibiz_user_ctx(ngx_http_request_t *r)
{
    ngx_http_csibiz_user_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_user_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->client_ip = r->connection->addr_text;

    return ctx;
}


/* the blind index of the ID number and the HMAC of the client's address */

static ngx_int_t
ngx_http_csibiz_user_keys(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx)
{
    u_char                       *p;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    p = ngx_pnalloc(r->pool, 2 + NGX_HTTP_CSIBIZ_INDEX_HEX
                             + NGX_HTTP_CSIBIZ_CLIENT_HEX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (csibiz_hmac(cmcf->index_key, ctx->id_number, CSIBIZ_ID_NUMBER_LEN,
                    mac)
        != 0)
    {
        return NGX_ERROR;
    }

    ctx->index.data = p;
    *p++ = '\\';
    *p++ = 'x';
    p = ngx_hex_dump(p, mac, CSIBIZ_HMACBYTES);
    ctx->index.len = p - ctx->index.data;

    ctx->account.data = ctx->index.data + 2;
    ctx->account.len = NGX_HTTP_CSIBIZ_INDEX_HEX;

    if (csibiz_hmac_label(cmcf->session_key, "client",
                          ctx->client_ip.data, ctx->client_ip.len, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    ctx->client.data = p;
    p = ngx_hex_dump(p, mac, NGX_HTTP_CSIBIZ_CLIENT_HEX / 2);
    ctx->client.len = p - ctx->client.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_user_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src, size_t len)
{
    dst->data = ngx_pnalloc(r->pool, len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->len = len;

    return NGX_OK;
}


/* the account as a parent may see it: every personal field masked */

static ngx_int_t
ngx_http_csibiz_user_send_user(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx, ngx_uint_t status,
    ngx_http_csibiz_session_t *s)
{
    u_char                       *body, *p;
    size_t                        len;
    ngx_http_csibiz_main_conf_t  *cmcf;
    char                          name[256], phone[CSIBIZ_PHONE_SIZE];

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_mask_name((const char *) ctx->name.data, ctx->name.len,
                         name, sizeof(name))
        != 0)
    {
        ngx_cpystrn((u_char *) name, (u_char *) "*", sizeof(name));
    }

    if (csibiz_mask_phone((const char *) ctx->user_phone.data,
                          ctx->user_phone.len, phone, sizeof(phone))
        != 0)
    {
        phone[0] = '\0';
    }

    len = sizeof("{\"csrf_token\":\"\",\"idle_timeout\":,"
                 "\"user\":{\"name\":\"\",\"id_number\":\"\","
                 "\"phone\":\"\",\"registered_at\":\"\"}}")
          + (s ? s->csrf.len : 0) + NGX_TIME_T_LEN
          + 6 * ngx_strlen(name) + ctx->id_masked.len + ngx_strlen(phone)
          + ctx->created.len;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{", 1);

    if (s) {
        p = ngx_sprintf(p, "\"csrf_token\":\"%V\",\"idle_timeout\":%T,",
                        &s->csrf, cmcf->session_idle_timeout);
    }

    p = ngx_cpymem(p, "\"user\":{\"name\":\"",
                   sizeof("\"user\":{\"name\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) name, ngx_strlen(name));
    p = ngx_sprintf(p, "\",\"id_number\":\"%V\",\"phone\":\"%s\"",
                    &ctx->id_masked, phone);

    if (ctx->created.len) {
        p = ngx_sprintf(p, ",\"registered_at\":\"%V\"", &ctx->created);
    }

    p = ngx_cpymem(p, "}}", 2);

    return ngx_http_csibiz_send_json(r, status, body, p - body);
}


/* POST /api/register */

ngx_int_t
ngx_http_csibiz_register_handler(ngx_http_request_t *r)
{
    ngx_str_t                       params[2];
    csibiz_pw_rc_t                  pw;
    csibiz_pw_context_t             pwctx;
    ngx_http_csibiz_user_ctx_t  *ctx;

    ctx = ngx_http_csibiz_user_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_identity_fields(r, ctx->id_number, ctx->si_card,
                                        ctx->phone, &ctx->birth)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_field_required(r, "sms_code", &ctx->sms_code)
        == NGX_OK)
    {
        ngx_http_csibiz_trim(&ctx->sms_code);

        if (ctx->sms_code.len != 6) {
            ngx_http_csibiz_field_invalid(r, "sms_code", "format");
        }
    }

    (void) ngx_http_csibiz_field_required(r, "agree_version",
                                          &ctx->agree_version);

    /* the password is judged against the child's data where it is valid */

    if (ngx_http_csibiz_field_required(r, "password", &ctx->password)
        != NGX_OK)
    {
        goto checked;
    }

    ngx_memzero(&pwctx, sizeof(csibiz_pw_context_t));

    if (ctx->id_number[0]) {
        pwctx.id_number = ctx->id_number;
        pwctx.id_number_len = CSIBIZ_ID_NUMBER_LEN;
        pwctx.birth = &ctx->birth;
    }

    if (ctx->phone[0]) {
        pwctx.phone = ctx->phone;
        pwctx.phone_len = CSIBIZ_PHONE_LEN;
    }

    pw = csibiz_password_check((const char *) ctx->password.data,
                               ctx->password.len, &pwctx);

    if (pw != CSIBIZ_PW_OK) {
        ngx_http_csibiz_field_invalid(r, "password",
                                      csibiz_password_rc_name(pw));
    }

checked:

    if (ngx_http_csibiz_fields_invalid(r)) {
        return ngx_http_csibiz_fail_invalid(r);
    }

    if (ngx_http_csibiz_user_keys(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ctx->index;
    params[1].data = (u_char *) ctx->si_card;
    params[1].len = CSIBIZ_SOCIAL_CARD_LEN;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_register_lookup_stmt,
                                 params, ngx_http_csibiz_register_looked_up,
                                 ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_register_looked_up(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    if (PQntuples(res) != 1) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "identity_mismatch");
    }

    if (PQgetisnull(res, 0, 1)
        || ngx_strcmp(PQgetvalue(res, 0, 1), ctx->phone) != 0)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                    "phone_not_declared");
    }

    if (PQgetvalue(res, 0, 2)[0] == 't') {
        return ngx_http_csibiz_fail(r, NGX_HTTP_CONFLICT,
                                    "already_registered");
    }

    if (PQgetisnull(res, 0, 3)
        || (size_t) PQgetlength(res, 0, 3) != ctx->agree_version.len
        || ngx_strncmp(PQgetvalue(res, 0, 3), ctx->agree_version.data,
                       ctx->agree_version.len) != 0)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "agreement_version");
    }

    ctx->person_id = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                              PQgetlength(res, 0, 0));

    /*
     * The password is hashed before the SMS code is used up: a full thread
     * pool then answers 503 and the same code still works on a retry.
     */

    if (ngx_http_csibiz_thread_run(r, ngx_http_csibiz_register_hash,
                                   ngx_http_csibiz_register_hashed, ctx)
        != NGX_DONE)
    {
        return ngx_http_csibiz_send_unavailable(r);
    }

    return NGX_DONE;
}


/* in a thread of the pool */

static void
ngx_http_csibiz_register_hash(void *data)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    ctx->work_rc = csibiz_password_hash((const char *) ctx->password.data,
                                        ctx->password.len, ctx->hash);

    ngx_explicit_memzero(ctx->password.data, ctx->password.len);
}


static ngx_int_t
ngx_http_csibiz_register_hashed(ngx_http_request_t *r, void *data)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    ngx_str_t  purpose, phone;

    if (ctx->work_rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: password hashing failed");
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    ngx_str_set(&purpose, "register");
    phone.data = (u_char *) ctx->phone;
    phone.len = CSIBIZ_PHONE_LEN;

    return ngx_http_csibiz_sms_check(r, &purpose, &phone, &ctx->sms_code,
                                     ngx_http_csibiz_register_sms_checked,
                                     ctx);
}


static ngx_int_t
ngx_http_csibiz_register_sms_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    u_char     *p;
    ngx_str_t   params[5];

    if (rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "sms_code_invalid");
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    params[0].len = ngx_sprintf(p, "%i", ctx->person_id) - p;
    params[1].data = (u_char *) ctx->phone;
    params[1].len = CSIBIZ_PHONE_LEN;
    params[2].data = (u_char *) ctx->hash;
    params[2].len = ngx_strlen(ctx->hash);
    params[3] = ctx->agree_version;
    params[4] = ctx->client_ip;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_register_insert_stmt,
                                 params, ngx_http_csibiz_register_inserted,
                                 ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_register_inserted(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    if (PQntuples(res) != 1) {
        /* registered by a concurrent request meanwhile */
        return ngx_http_csibiz_fail(r, NGX_HTTP_CONFLICT,
                                    "already_registered");
    }

    ctx->user_id = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                            PQgetlength(res, 0, 0));

    if (ngx_http_csibiz_user_copy(r, &ctx->created, PQgetvalue(res, 0, 1),
                                     PQgetlength(res, 0, 1))
        != NGX_OK
        || ngx_http_csibiz_user_copy(r, &ctx->name, PQgetvalue(res, 0, 2),
                                        PQgetlength(res, 0, 2))
           != NGX_OK
        || ngx_http_csibiz_user_copy(r, &ctx->id_masked,
                                        PQgetvalue(res, 0, 3),
                                        PQgetlength(res, 0, 3))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->user_phone.data = (u_char *) ctx->phone;
    ctx->user_phone.len = CSIBIZ_PHONE_LEN;

    return ngx_http_csibiz_user_send_user(r, ctx, NGX_HTTP_CREATED, NULL);
}


/* POST /api/login */

ngx_int_t
ngx_http_csibiz_login_handler(ngx_http_request_t *r)
{
    u_char                         *p;
    ngx_str_t                       id, argv[2];
    ngx_http_csibiz_redis_op_t     *rop;
    ngx_http_csibiz_user_ctx_t  *ctx;

    ctx = ngx_http_csibiz_user_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_field(r, "password", &ctx->password) != NGX_OK
        || ctx->password.len == 0
        || ctx->password.len > CSIBIZ_PASSWORD_MAX_BYTES)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                    "bad_credentials");
    }

    /*
     * A malformed ID number can't have an account: it gets the same answer
     * as a wrong password, after the same work, from the same counters.
     */

    ngx_str_null(&id);

    if (ngx_http_csibiz_field(r, "id_number", &id) == NGX_OK) {
        ngx_http_csibiz_trim(&id);
    }

    if (id.data == NULL
        || csibiz_id_number_normalize((const char *) id.data, id.len,
                                      ctx->id_number)
           != 0)
    {
        ngx_memset(ctx->id_number, '0', CSIBIZ_ID_NUMBER_LEN);
        ctx->id_number[CSIBIZ_ID_NUMBER_LEN] = '\0';
    }

    (void) ngx_http_csibiz_field(r, "captcha_id", &ctx->captcha_id);
    (void) ngx_http_csibiz_field(r, "captcha_answer", &ctx->captcha_answer);

    if (ngx_http_csibiz_user_keys(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, 3 * 128);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "TTL");
    argv[1].data = p;
    p = ngx_sprintf(p, "csibiz:login:lock:%V:%V", &ctx->account,
                    &ctx->client);
    argv[1].len = p - argv[1].data;

    if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "GET");
    argv[1].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:%V", &ctx->account);
    argv[1].len = p - argv[1].data;

    if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[1].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:ip:%V", &ctx->client);
    argv[1].len = p - argv[1].data;

    if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_login_counted, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_counted(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    ngx_int_t                     account, client;
    ngx_uint_t                    captcha;
    ngx_http_csibiz_main_conf_t  *cmcf;

    if (status != NGX_HTTP_CSIBIZ_OK || n != 3) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type == REDIS_REPLY_INTEGER && replies[0]->integer > 0) {
        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked",
                                                replies[0]->integer);
    }

    account = (replies[1]->type == REDIS_REPLY_STRING)
              ? ngx_atoi((u_char *) replies[1]->str, replies[1]->len) : 0;
    client = (replies[2]->type == REDIS_REPLY_STRING)
             ? ngx_atoi((u_char *) replies[2]->str, replies[2]->len) : 0;

    captcha = account >= NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA
              || client >= NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (!captcha || !cmcf->captcha) {
        return ngx_http_csibiz_login_lookup(r, ctx);
    }

    if (ctx->captcha_id.len == 0 || ctx->captcha_answer.len == 0) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_required");
    }

    return ngx_http_csibiz_captcha_check(r, &ctx->captcha_id,
                                         &ctx->captcha_answer,
                                         ngx_http_csibiz_login_captcha_checked,
                                         ctx);
}


static ngx_int_t
ngx_http_csibiz_login_captcha_checked(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    if (rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_invalid");
    }

    return ngx_http_csibiz_login_lookup(r, data);
}


static ngx_int_t
ngx_http_csibiz_login_lookup(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx)
{
    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_login_lookup_stmt,
                                 &ctx->index,
                                 ngx_http_csibiz_login_looked_up, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_looked_up(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    if (PQntuples(res) == 1) {

        if (ngx_atoi((u_char *) PQgetvalue(res, 0, 2),
                     PQgetlength(res, 0, 2))
            >= NGX_HTTP_CSIBIZ_LOGIN_MAX_FAILS)
        {
            return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                        "reset_required");
        }

        if ((size_t) PQgetlength(res, 0, 1) >= sizeof(ctx->hash)) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "internal");
        }

        ngx_cpystrn((u_char *) ctx->hash, (u_char *) PQgetvalue(res, 0, 1),
                    sizeof(ctx->hash));
        ctx->have_hash = 1;

        ctx->user_id = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                                PQgetlength(res, 0, 0));
        ctx->person_id = ngx_atoi((u_char *) PQgetvalue(res, 0, 3),
                                  PQgetlength(res, 0, 3));

        if (ngx_http_csibiz_user_copy(r, &ctx->name,
                                         PQgetvalue(res, 0, 4),
                                         PQgetlength(res, 0, 4))
            != NGX_OK
            || ngx_http_csibiz_user_copy(r, &ctx->id_masked,
                                            PQgetvalue(res, 0, 5),
                                            PQgetlength(res, 0, 5))
               != NGX_OK
            || ngx_http_csibiz_user_copy(r, &ctx->user_phone,
                                            PQgetvalue(res, 0, 6),
                                            PQgetlength(res, 0, 6))
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_csibiz_thread_run(r, ngx_http_csibiz_login_verify,
                                   ngx_http_csibiz_login_verified, ctx)
        != NGX_DONE)
    {
        return ngx_http_csibiz_send_unavailable(r);
    }

    return NGX_DONE;
}


/*
 * In a thread of the pool.  An unknown account costs the same hashing as
 * a known one, so that timing does not tell which IDs have accounts.
 */

static void
ngx_http_csibiz_login_verify(void *data)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (ctx->have_hash) {
        ctx->work_rc = csibiz_password_verify(ctx->hash,
                                              (const char *) ctx->password.data,
                                              ctx->password.len);

    } else {
        (void) csibiz_password_verify_dummy((const char *) ctx->password.data,
                                            ctx->password.len);
        ctx->work_rc = -1;
    }

    ngx_explicit_memzero(ctx->password.data, ctx->password.len);
}


static ngx_int_t
ngx_http_csibiz_login_verified(ngx_http_request_t *r, void *data)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    u_char     *p;
    ngx_str_t   params[2];

    if (ctx->work_rc != 0) {
        return ngx_http_csibiz_login_fail(r, ctx);
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    params[0].len = ngx_sprintf(p, "%i", ctx->user_id) - p;
    params[1] = ctx->client_ip;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_login_ok_stmt, params,
                                 ngx_http_csibiz_login_recorded, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_recorded(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    u_char                      *p;
    ngx_str_t                    argv[4];
    ngx_http_csibiz_redis_op_t  *rop;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    /*
     * A success forgets this pair's failures and lock history, and the
     * account's failures (its owner has proved who they are); not the
     * client's, which may be guessing at other accounts.
     */

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, 3 * 128);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "DEL");
    argv[1].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:%V:%V", &ctx->account,
                    &ctx->client);
    argv[1].len = p - argv[1].data;
    argv[2].data = p;
    p = ngx_sprintf(p, "csibiz:login:level:%V:%V", &ctx->account,
                    &ctx->client);
    argv[2].len = p - argv[2].data;
    argv[3].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:%V", &ctx->account);
    argv[3].len = p - argv[3].data;

    if (ngx_http_csibiz_redis_append(rop, 4, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_login_cleared, ctx)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_cleared(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    ngx_http_csibiz_ctx_t  *rctx;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    /* the account is needed again when the session is written */
    rctx = ngx_http_csibiz_get_ctx(r);
    rctx->data = ctx;

    return ngx_http_csibiz_session_create(
               r, ctx->user_id, ctx->person_id,
               ngx_http_csibiz_login_session_created);
}


static ngx_int_t
ngx_http_csibiz_login_session_created(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_ctx_t  *rctx;

    rctx = ngx_http_csibiz_get_ctx(r);

    return ngx_http_csibiz_user_send_user(r, rctx->data, NGX_HTTP_OK, s);
}


/*
 * A failed login: the account's count of consecutive failures (when there
 * is an account), then the Redis counters, then the answer.  In sequence:
 * the answer must be the request's last operation.
 */

static ngx_int_t
ngx_http_csibiz_login_fail(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   params[2];

    if (!ctx->have_hash) {
        return ngx_http_csibiz_login_fail_count(r, ctx, NGX_HTTP_CSIBIZ_OK,
                                                NULL);
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0].data = p;
    params[0].len = ngx_sprintf(p, "%i", ctx->user_id) - p;
    params[1] = ctx->client_ip;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_login_failed_stmt,
                                 params, ngx_http_csibiz_login_fail_count,
                                 ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_fail_count(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    u_char                      *p;
    ngx_str_t                    argv[12];
    ngx_http_csibiz_redis_op_t  *rop;

    if (status == NGX_HTTP_CSIBIZ_UNAVAILABLE) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, 5 * 128 + 4 * NGX_INT_T_LEN);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_csibiz_login_fail_script;
    ngx_str_set(&argv[2], "5");

    argv[3].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:%V:%V", &ctx->account,
                    &ctx->client);
    argv[3].len = p - argv[3].data;
    argv[4].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:%V", &ctx->account);
    argv[4].len = p - argv[4].data;
    argv[5].data = p;
    p = ngx_sprintf(p, "csibiz:login:fail:ip:%V", &ctx->client);
    argv[5].len = p - argv[5].data;
    argv[6].data = p;
    p = ngx_sprintf(p, "csibiz:login:lock:%V:%V", &ctx->account,
                    &ctx->client);
    argv[6].len = p - argv[6].data;
    argv[7].data = p;
    p = ngx_sprintf(p, "csibiz:login:level:%V:%V", &ctx->account,
                    &ctx->client);
    argv[7].len = p - argv[7].data;

    argv[8].data = p;
    p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_LOGIN_WINDOW);
    argv[8].len = p - argv[8].data;
    argv[9].data = p;
    p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_LOGIN_LOCK_AFTER);
    argv[9].len = p - argv[9].data;
    argv[10].data = p;
    p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_LOGIN_LOCK_BASE);
    argv[10].len = p - argv[10].data;
    argv[11].data = p;
    p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_LOGIN_LOCK_MAX);
    argv[11].len = p - argv[11].data;

    if (ngx_http_csibiz_redis_append(rop, 12, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_login_fail_counted,
                                      ctx)
           != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_login_fail_counted(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    /* a wrong password, whether or not its count could be kept */
    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_LOGINS_FAILED);

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: login failure script: %s", replies[0]->str);
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type == REDIS_REPLY_INTEGER && replies[0]->integer > 0) {
        ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ACCOUNTS_LOCKED);

        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked",
                                                replies[0]->integer);
    }

    return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED, "bad_credentials");
}


/* POST /api/logout */

ngx_int_t
ngx_http_csibiz_logout_handler(ngx_http_request_t *r)
{
    return ngx_http_csibiz_session_load(r, ngx_http_csibiz_logout_session,
                                        1, 0);
}


static ngx_int_t
ngx_http_csibiz_logout_session(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_session_destroy(r, s,
                                           ngx_http_csibiz_logout_done);
}


static ngx_int_t
ngx_http_csibiz_logout_done(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    static u_char  body[] = "{\"logged_out\":true}";

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, sizeof(body) - 1);
}


/* POST /api/reauth: the password again, for step-up */

ngx_int_t
ngx_http_csibiz_reauth_handler(ngx_http_request_t *r)
{
    return ngx_http_csibiz_session_load(r, ngx_http_csibiz_reauth_session,
                                        1, 1);
}


static ngx_int_t
ngx_http_csibiz_reauth_session(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_user_ctx_t  *ctx;

    ctx = ngx_http_csibiz_user_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->session = s;
    ctx->user_id = s->user_id;

    if (ngx_http_csibiz_field(r, "password", &ctx->password) != NGX_OK
        || ctx->password.len == 0
        || ctx->password.len > CSIBIZ_PASSWORD_MAX_BYTES)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                    "bad_credentials");
    }

    return ngx_http_csibiz_reauth_redis(r, ctx, "TTL",
                                        ngx_http_csibiz_reauth_counted);
}


/* one command on the session holder's failure counter */

static ngx_int_t
ngx_http_csibiz_reauth_redis(ngx_http_request_t *r,
    ngx_http_csibiz_user_ctx_t *ctx, const char *cmd,
    ngx_http_csibiz_redis_handler_pt done)
{
    u_char                      *p;
    ngx_str_t                    argv[6];
    ngx_uint_t                   argc;
    ngx_http_csibiz_redis_op_t  *rop;

    rop = ngx_http_csibiz_redis_create(r);
    p = ngx_pnalloc(r->pool, 64 + 3 * NGX_INT_T_LEN);

    if (rop == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0].data = (u_char *) cmd;
    argv[0].len = ngx_strlen(cmd);

    argv[1].data = p;
    p = ngx_sprintf(p, "csibiz:reauth:fail:%i", ctx->user_id);
    argv[1].len = p - argv[1].data;

    argc = 2;

    if (ngx_strcmp(cmd, "EVAL") == 0) {
        argv[3] = argv[1];
        argv[1] = ngx_http_csibiz_reauth_fail_script;
        ngx_str_set(&argv[2], "1");
        argv[4].data = p;
        p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_LOGIN_WINDOW);
        argv[4].len = p - argv[4].data;
        argv[5].data = p;
        p = ngx_sprintf(p, "%d", NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS);
        argv[5].len = p - argv[5].data;
        argc = 6;

    } else if (ngx_strcmp(cmd, "TTL") == 0) {
        /* the count and how long it lasts, in one round trip */
        ngx_str_set(&argv[0], "GET");

        if (ngx_http_csibiz_redis_append(rop, 2, argv) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_str_set(&argv[0], "TTL");
    }

    if (ngx_http_csibiz_redis_append(rop, argc, argv) != NGX_OK
        || ngx_http_csibiz_redis_send(rop, done, ctx) != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_reauth_counted(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    u_char     *p;
    ngx_str_t   param;

    if (status != NGX_HTTP_CSIBIZ_OK || n != 2) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type == REDIS_REPLY_STRING
        && ngx_atoi((u_char *) replies[0]->str, replies[0]->len)
           >= NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS
        && replies[1]->type == REDIS_REPLY_INTEGER
        && replies[1]->integer > 0)
    {
        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked",
                                                replies[1]->integer);
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    param.data = p;
    param.len = ngx_sprintf(p, "%i", ctx->user_id) - p;

    if (ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_reauth_lookup_stmt,
                                 &param, ngx_http_csibiz_reauth_looked_up,
                                 ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_reauth_looked_up(ngx_http_request_t *r, void *data,
    ngx_int_t status, PGresult *res)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_fail_backend(r, status);
    }

    if (PQntuples(res) == 1
        && (size_t) PQgetlength(res, 0, 0) < sizeof(ctx->hash))
    {
        ngx_cpystrn((u_char *) ctx->hash, (u_char *) PQgetvalue(res, 0, 0),
                    sizeof(ctx->hash));
        ctx->have_hash = 1;
    }

    if (ngx_http_csibiz_thread_run(r, ngx_http_csibiz_login_verify,
                                   ngx_http_csibiz_reauth_verified, ctx)
        != NGX_DONE)
    {
        return ngx_http_csibiz_send_unavailable(r);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_csibiz_reauth_verified(ngx_http_request_t *r, void *data)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (ctx->work_rc != 0) {
        return ngx_http_csibiz_reauth_redis(
                   r, ctx, "EVAL", ngx_http_csibiz_reauth_fail_counted);
    }

    return ngx_http_csibiz_reauth_redis(r, ctx, "DEL",
                                        ngx_http_csibiz_reauth_cleared);
}


static ngx_int_t
ngx_http_csibiz_reauth_fail_counted(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    /* a wrong password, whether or not its count could be kept */
    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_LOGINS_FAILED);

    if (status != NGX_HTTP_CSIBIZ_OK
        || replies[0]->type == REDIS_REPLY_ERROR)
    {
        return ngx_http_csibiz_send_unavailable(r);
    }

    if (replies[0]->type == REDIS_REPLY_INTEGER && replies[0]->integer > 0) {
        ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ACCOUNTS_LOCKED);

        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked",
                                                replies[0]->integer);
    }

    return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED, "bad_credentials");
}


static ngx_int_t
ngx_http_csibiz_reauth_cleared(ngx_http_request_t *r, void *data,
    ngx_int_t status, redisReply **replies, ngx_uint_t n)
{
    ngx_http_csibiz_user_ctx_t *ctx = data;

    if (status != NGX_HTTP_CSIBIZ_OK) {
        return ngx_http_csibiz_send_unavailable(r);
    }

    return ngx_http_csibiz_session_reauth(r, ctx->session,
                                          ngx_http_csibiz_reauth_done);
}


static ngx_int_t
ngx_http_csibiz_reauth_done(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    u_char  *body;
    size_t   len;

    body = ngx_pnalloc(r->pool, sizeof("{\"reauth\":true,\"valid_for\":}")
                                + NGX_INT_T_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_sprintf(body, "{\"reauth\":true,\"valid_for\":%d}",
                      NGX_HTTP_CSIBIZ_REAUTH_VALID)
          - body;

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, len);
}


/*
 * GET /api/session: whether logged in and how long until the idle
 * timeout, without extending it (a page may poll it); POST extends it
 * ("stay logged in") and needs the CSRF token.
 */

ngx_int_t
ngx_http_csibiz_session_handler(ngx_http_request_t *r)
{
    if (r->method == NGX_HTTP_POST) {
        return ngx_http_csibiz_session_load(r, ngx_http_csibiz_session_state,
                                            1, 1);
    }

    return ngx_http_csibiz_session_load(r, ngx_http_csibiz_session_state,
                                        0, 0);
}


static ngx_int_t
ngx_http_csibiz_session_state(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    u_char                       *body, *p;
    ngx_http_csibiz_main_conf_t  *cmcf;

    static u_char  out[] = "{\"logged_in\":false}";

    if (!s->valid) {
        return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, out,
                                         sizeof(out) - 1);
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    body = ngx_pnalloc(r->pool, sizeof("{\"logged_in\":true,\"expires_in\":,"
                                       "\"idle_timeout\":,\"csrf_token\":\"\","
                                       "\"reauth_valid_for\":}")
                                + 3 * NGX_TIME_T_LEN + s->csrf.len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"logged_in\":true,\"expires_in\":%T,"
                    "\"idle_timeout\":%T,\"csrf_token\":\"%V\","
                    "\"reauth_valid_for\":%T}",
                    s->idle_left, cmcf->session_idle_timeout, &s->csrf,
                    ngx_max(0, s->auth_at + NGX_HTTP_CSIBIZ_REAUTH_VALID
                               - ngx_time()));

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}
