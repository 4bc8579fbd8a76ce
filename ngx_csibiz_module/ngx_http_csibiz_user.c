
/*
 * User accounts (the parents' logins): registration, password reset,
 * login, logout, step-up re-authentication and the session's state.
 * Each handler is a short list of steps, one per backend round trip;
 * password hashing runs in the thread pool.
 *
 * Login failures are counted in Redis per (account, client) to lock, and
 * per account and per client to ask for a captcha; no number of them
 * locks an account for good, which a stranger could cause.  Accounts are
 * named in Redis only by the HMAC blind index of the ID number, clients
 * by an HMAC of their address: no personal data in key names.
 */


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_limit.h"
#include "ngx_http_csibiz_request.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_postgres.h"
#include "ngx_http_csibiz_thread.h"
#include "ngx_http_csibiz_session.h"
#include "ngx_http_csibiz_proof.h"
#include "ngx_http_csibiz_status.h"

#include <csibiz_password.h>
#include <csibiz_validate.h>


#define NGX_HTTP_CSIBIZ_LOGIN_WINDOW      900
#define NGX_HTTP_CSIBIZ_LOGIN_ACCOUNT_TTL 86400
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_AFTER  5
#define NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA     3
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_BASE   900
#define NGX_HTTP_CSIBIZ_LOGIN_LOCK_MAX    86400
#define NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS  5

#define NGX_HTTP_CSIBIZ_CLIENT_BYTES      16

/* the SMS a password reset queues, in the format of docs/sms.md */
#define NGX_HTTP_CSIBIZ_RESET_NOTICE                                       \
    "您的密码已修改；如非本人操作，请致电12333。"
#define NGX_HTTP_CSIBIZ_RESET_NOTICE_EN                                    \
    "Your password was changed. If this was not you, call 12333."

/* EVALSHA, the digest, its number of keys, 5 keys and 5 arguments at most */
#define NGX_HTTP_CSIBIZ_SCRIPT_ARGS       13


/* the state of one user-account flow, from its handler to its answer */

typedef struct {
    ngx_http_csibiz_session_t     *session;

    char                           id_number[CSIBIZ_ID_NUMBER_SIZE];
    char                           phone[CSIBIZ_PHONE_SIZE];
    char                           si_card[CSIBIZ_INSURANCE_NO_SIZE];
    csibiz_date_t                  birth;

    ngx_str_t                      password;
    ngx_http_csibiz_sms_proof_t    sms;
    ngx_str_t                      agree_version;
    ngx_str_t                      captcha_id;
    ngx_str_t                      captcha_answer;

    ngx_str_t                      index;       /* "\x" + hex, for SQL */
    ngx_http_csibiz_step_pt        looked_up;   /* after user_lookup */
    ngx_str_t                      client_ip;

    /* the Redis keys of the login counters; reauth's is fail_account */
    ngx_str_t                      fail_pair;
    ngx_str_t                      fail_account;
    ngx_str_t                      fail_client;
    ngx_str_t                      lock;
    ngx_str_t                      level;

    ngx_int_t                      user_id;
    ngx_int_t                      person_id;
    ngx_str_t                      name;
    ngx_str_t                      id_masked;
    ngx_str_t                      user_phone;
    ngx_str_t                      created;

    char                           hash[CSIBIZ_PWHASH_STRBYTES];
    ngx_uint_t                     have_hash;
    int                            work_rc;
} ngx_http_csibiz_user_t;


static ngx_http_csibiz_user_t *ngx_http_csibiz_user_flow(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_csibiz_user_index(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);
static ngx_int_t ngx_http_csibiz_user_password(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);
static ngx_int_t ngx_http_csibiz_user_id_masked(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);
static ngx_int_t ngx_http_csibiz_user_hash(ngx_http_csibiz_user_t *u,
    PGresult *res, int column);
static ngx_int_t ngx_http_csibiz_user_int(PGresult *res, int column);
static ngx_str_t ngx_http_csibiz_user_now(ngx_http_request_t *r);
static void ngx_http_csibiz_user_verify(void *flow);
static ngx_int_t ngx_http_csibiz_user_count_failure(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, ngx_http_csibiz_redis_script_t *script,
    ngx_str_t *keys, ngx_uint_t nkeys, ngx_int_t *args, ngx_uint_t nargs);
static ngx_int_t ngx_http_csibiz_user_failed(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_user_send_user(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, ngx_uint_t status,
    ngx_http_csibiz_session_t *s);

static ngx_int_t ngx_http_csibiz_user_new_password(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, const char *purpose);
static ngx_int_t ngx_http_csibiz_user_prove(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, const char *purpose,
    ngx_http_csibiz_step_pt looked_up);
static ngx_int_t ngx_http_csibiz_user_client_limited(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_user_identity_limited(
    ngx_http_request_t *r, void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_user_sms_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_user_roster(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, PGresult *pg);
static void ngx_http_csibiz_user_make_hash(void *flow);
static ngx_int_t ngx_http_csibiz_user_made_hash(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);

static ngx_int_t ngx_http_csibiz_register_looked_up(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_register_hashed(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_register_inserted(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_register_spent(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);

static ngx_int_t ngx_http_csibiz_reset_looked_up(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reset_hashed(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reset_stored(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reset_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);

static ngx_int_t ngx_http_csibiz_login_keys(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);
static ngx_int_t ngx_http_csibiz_login_counted(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_count(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_captcha_checked(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_lookup(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);
static ngx_int_t ngx_http_csibiz_login_looked_up(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_verified(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_recorded(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_cleared(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_session_created(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_fail_recorded(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_login_count_failure(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u);

static ngx_int_t ngx_http_csibiz_logout_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);

static ngx_int_t ngx_http_csibiz_reauth_counted(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reauth_looked_up(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reauth_verified(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reauth_cleared(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);
static ngx_int_t ngx_http_csibiz_reauth_done(ngx_http_request_t *r,
    void *flow, ngx_http_csibiz_result_t *res);


static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_user_lookup_stmt =
    ngx_http_csibiz_pg_stmt("user_lookup",
        "SELECT person_id, declared_phone, user_id, agreement_version"
        " FROM app_user_lookup($1::bytea, $2::text, $3::timestamptz)", 3);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_register_insert_stmt =
    ngx_http_csibiz_pg_stmt("register_insert",
        "SELECT user_id, created_at, name_masked, phone_masked"
        " FROM app_register($1::bigint, $2::text, $3::text, $4::text,"
        " $5::inet, $6::timestamptz)", 6);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_reset_stmt =
    ngx_http_csibiz_pg_stmt("password_reset",
        "SELECT password_reset($1::bigint, $2::text, $3::text, $4::inet,"
        " $5::timestamptz)", 5);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_lookup_stmt =
    ngx_http_csibiz_pg_stmt("login_lookup",
        "SELECT user_id, password_hash, person_id, name_masked,"
        " phone_masked FROM app_login_lookup($1::bytea)", 1);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_ok_stmt =
    ngx_http_csibiz_pg_stmt("login_ok",
        "SELECT app_login_ok($1::bigint, $2::inet, $3::timestamptz)", 3);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_login_failed_stmt =
    ngx_http_csibiz_pg_stmt("login_failed",
        "SELECT app_login_failed($1::bigint, $2::inet, $3::timestamptz)", 3);

static ngx_http_csibiz_pg_stmt_t  ngx_http_csibiz_reauth_lookup_stmt =
    ngx_http_csibiz_pg_stmt("reauth_lookup",
        "SELECT password_hash FROM app_reauth_lookup($1::bigint)", 1);


/*
 * One failed login, atomically: counts per (account, client) and client
 * in a 15-minute window, and per account until 24 hours pass without a
 * failure (or a login succeeds), so that pacing the tries does not avoid
 * the account's captcha; the 5th failure of an (account, client) locks
 * that pair for 15 minutes, doubling with each lock of the last 24 hours,
 * at most 24 hours.  Returns the lock's seconds, or 0.
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_login_fail_script =
    ngx_http_csibiz_redis_script(
    "local w = tonumber(ARGV[1])\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], w) end\n"
    "redis.call('INCR', KEYS[2])\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
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

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_reauth_fail_script =
    ngx_http_csibiz_redis_script(
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end\n"
    "if n < tonumber(ARGV[2]) then return 0 end\n"
    "return redis.call('TTL', KEYS[1])\n");



static ngx_http_csibiz_user_t *
ngx_http_csibiz_user_flow(ngx_http_request_t *r)
{
    ngx_http_csibiz_user_t  *u;

    u = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_user_t));
    if (u == NULL) {
        return NULL;
    }

    u->client_ip = r->connection->addr_text;

    return u;
}


/* the blind index of the ID number, as a bytea literal */

static ngx_int_t
ngx_http_csibiz_user_index(ngx_http_request_t *r, ngx_http_csibiz_user_t *u)
{
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (csibiz_hmac(cmcf->index_key, u->id_number, CSIBIZ_ID_NUMBER_LEN, mac)
        != 0)
    {
        return NGX_ERROR;
    }

    return ngx_http_csibiz_hex(r, &u->index, "\\x", mac, CSIBIZ_HMACBYTES);
}


/*
 * The ID number as the answers show it, first 3 and last 4 characters:
 * the database keeps no part of it plain, so it is made from the
 * request's.
 */

static ngx_int_t
ngx_http_csibiz_user_id_masked(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u)
{
    u->id_masked.data = ngx_pnalloc(r->pool, CSIBIZ_ID_NUMBER_SIZE);
    if (u->id_masked.data == NULL) {
        return NGX_ERROR;
    }

    if (csibiz_mask_id_number(u->id_number, CSIBIZ_ID_NUMBER_LEN,
                              (char *) u->id_masked.data,
                              CSIBIZ_ID_NUMBER_SIZE)
        != 0)
    {
        return NGX_ERROR;
    }

    u->id_masked.len = CSIBIZ_ID_NUMBER_LEN;

    return NGX_OK;
}


/* NGX_OK, or NGX_DECLINED: no password could be right */

static ngx_int_t
ngx_http_csibiz_user_password(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u)
{
    if (ngx_http_csibiz_field(r, "password", &u->password) != NGX_OK
        || u->password.len == 0
        || u->password.len > CSIBIZ_PASSWORD_MAX_BYTES)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the stored hash to verify against; NGX_ERROR if it cannot be one */

static ngx_int_t
ngx_http_csibiz_user_hash(ngx_http_csibiz_user_t *u, PGresult *res,
    int column)
{
    if ((size_t) PQgetlength(res, 0, column) >= sizeof(u->hash)) {
        return NGX_ERROR;
    }

    ngx_cpystrn((u_char *) u->hash, (u_char *) PQgetvalue(res, 0, column),
                sizeof(u->hash));
    u->have_hash = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_user_int(PGresult *res, int column)
{
    return ngx_atoi((u_char *) PQgetvalue(res, 0, column),
                    PQgetlength(res, 0, column));
}


/*
 * The time a request's writes are stamped with: csibiz_test_now, or
 * PostgreSQL's clock (a NULL parameter), so that a registration, a login
 * or a reset under the test clock is dated as PUT /api/account is.
 */

static ngx_str_t
ngx_http_csibiz_user_now(ngx_http_request_t *r)
{
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    return cmcf->test_now;
}


/*
 * In a thread of the pool.  An unknown account costs the same hashing as
 * a known one, so that timing does not tell which IDs have accounts.
 */

static void
ngx_http_csibiz_user_verify(void *flow)
{
    ngx_http_csibiz_user_t  *u = flow;

    if (u->have_hash) {
        u->work_rc = csibiz_password_verify(u->hash,
                                            (const char *) u->password.data,
                                            u->password.len);

    } else {
        (void) csibiz_password_verify_dummy((const char *) u->password.data,
                                            u->password.len);
        u->work_rc = -1;
    }

    ngx_explicit_memzero(u->password.data, u->password.len);
}


/*
 * A wrong password: EVAL script with its keys and integer arguments, then
 * the answer (user_failed).  The script returns the lock's seconds, or 0.
 */

static ngx_int_t
ngx_http_csibiz_user_count_failure(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, ngx_http_csibiz_redis_script_t *script,
    ngx_str_t *keys, ngx_uint_t nkeys, ngx_int_t *args, ngx_uint_t nargs)
{
    ngx_str_t                    argv[NGX_HTTP_CSIBIZ_SCRIPT_ARGS];
    ngx_uint_t                   i, argc;
    ngx_http_csibiz_redis_op_t  *rop;


    if (ngx_http_csibiz_integer(r, &argv[2], nkeys) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argc = 3;

    for (i = 0; i < nkeys; i++) {
        argv[argc++] = keys[i];
    }

    for (i = 0; i < nargs; i++) {
        if (ngx_http_csibiz_integer(r, &argv[argc++], args[i]) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* a wrong password, whether or not its count can be kept */
    ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_LOGINS_FAILED);

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_eval(rop, script, argc, argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_user_failed, u);
}


/* a wrong password, counted by a failure script: locked, or 401 */

static ngx_int_t
ngx_http_csibiz_user_failed(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t    locked;
    redisReply  *reply;

    reply = res->replies[0];

    if (reply->type == REDIS_REPLY_ERROR) {
        return ngx_http_csibiz_redis_refused(r, reply,
                                             u->session
                                             ? "the reauth failure script"
                                             : "the login failure script");
    }

    locked = ngx_http_csibiz_redis_integer(reply);

    if (locked > 0) {
        ngx_http_csibiz_status_event(NGX_HTTP_CSIBIZ_STAT_ACCOUNTS_LOCKED);

        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked", locked);
    }

    return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED, "bad_credentials");
}


/*
 * The account as a parent may see it: every personal field masked, by
 * PostgreSQL's csibiz_mask() in the statement that read it (the ID
 * number by ngx_http_csibiz_user_id_masked()).
 */

static ngx_int_t
ngx_http_csibiz_user_send_user(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, ngx_uint_t status,
    ngx_http_csibiz_session_t *s)
{
    u_char                       *body, *p;
    size_t                        len;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    len = sizeof("{\"csrf_token\":\"\",\"idle_timeout\":,"
                 "\"user\":{\"name\":\"\",\"id_number\":\"\","
                 "\"phone\":\"\",\"registered_at\":\"\"}}")
          + (s ? s->csrf.len : 0) + NGX_TIME_T_LEN
          + 6 * u->name.len + u->id_masked.len + 6 * u->user_phone.len
          + u->created.len;

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
    p = (u_char *) ngx_escape_json(p, u->name.data, u->name.len);
    p = ngx_sprintf(p, "\",\"id_number\":\"%V\",\"phone\":\"",
                    &u->id_masked);
    p = (u_char *) ngx_escape_json(p, u->user_phone.data, u->user_phone.len);
    *p++ = '"';

    if (u->created.len) {
        p = ngx_sprintf(p, ",\"registered_at\":\"%V\"", &u->created);
    }

    p = ngx_cpymem(p, "}}", 2);

    return ngx_http_csibiz_send_json(r, status, body, p - body);
}


/*
 * The fields of register and reset: the identity, the SMS ticket and
 * code, and a new password judged against the child's data where that is
 * valid.  NGX_OK, or NGX_DECLINED with the field errors gathered.
 */

static ngx_int_t
ngx_http_csibiz_user_new_password(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u, const char *purpose)
{
    csibiz_pw_rc_t        pw;
    ngx_str_t            *code, *ticket;
    csibiz_pw_context_t   pwctx;
    u_char                raw[NGX_HTTP_CSIBIZ_SMS_TICKET_BYTES];

    if (ngx_http_csibiz_identity_fields(r, u->id_number, u->si_card,
                                        u->phone, &u->birth)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    code = &u->sms.code;
    ticket = &u->sms.ticket.value;

    if (ngx_http_csibiz_field_required(r, "sms_ticket", ticket) == NGX_OK) {
        ngx_http_csibiz_trim(ticket);

        if (ngx_http_csibiz_sms_ticket_valid(ticket, raw) != NGX_OK) {
            ngx_http_csibiz_field_invalid(r, "sms_ticket", "format");
        }
    }

    if (ngx_http_csibiz_field_required(r, "sms_code", code) == NGX_OK) {
        ngx_http_csibiz_trim(code);

        if (code->len != NGX_HTTP_CSIBIZ_SMS_CODE_LEN) {
            ngx_http_csibiz_field_invalid(r, "sms_code", "format");
        }
    }

    u->sms.purpose.data = (u_char *) purpose;
    u->sms.purpose.len = ngx_strlen(purpose);
    u->sms.phone = u->phone;
    u->sms.id_number = u->id_number;
    u->sms.si_card = u->si_card;

    if (ngx_http_csibiz_field_required(r, "password", &u->password)
        != NGX_OK)
    {
        return ngx_http_csibiz_fields_invalid(r) ? NGX_DECLINED : NGX_OK;
    }

    ngx_memzero(&pwctx, sizeof(csibiz_pw_context_t));

    if (u->id_number[0]) {
        pwctx.id_number = u->id_number;
        pwctx.id_number_len = CSIBIZ_ID_NUMBER_LEN;
        pwctx.birth = &u->birth;
    }

    if (u->phone[0]) {
        pwctx.phone = u->phone;
        pwctx.phone_len = CSIBIZ_PHONE_LEN;
    }

    pw = csibiz_password_check((const char *) u->password.data,
                               u->password.len, &pwctx);

    if (pw != CSIBIZ_PW_OK) {
        ngx_http_csibiz_field_invalid(r, "password",
                                      csibiz_password_rc_name(pw));
    }

    return ngx_http_csibiz_fields_invalid(r) ? NGX_DECLINED : NGX_OK;
}


/*
 * The start of register and reset: the fields, the client's rate, then
 * the SMS code with its ticket; once proven, the identity's rate, and the
 * roster lookup goes on with looked_up.
 */

static ngx_int_t
ngx_http_csibiz_user_prove(ngx_http_request_t *r, ngx_http_csibiz_user_t *u,
    const char *purpose, ngx_http_csibiz_step_pt looked_up)
{
    ngx_int_t  rc;

    rc = ngx_http_csibiz_user_new_password(r, u, purpose);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_csibiz_fail_invalid(r);
    }

    u->looked_up = looked_up;

    return ngx_http_csibiz_limit_client(r, purpose,
                                        ngx_http_csibiz_user_client_limited,
                                        u);
}


static ngx_int_t
ngx_http_csibiz_user_client_limited(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    return ngx_http_csibiz_sms_check(r, &u->sms,
                                     ngx_http_csibiz_user_sms_checked, u);
}


/*
 * A refused code gets the same answer whatever the identity, unless the
 * code was right and only the identity is not the one it was sent for
 * (its holder typed another).  A proven code: the roster lookup.
 */

static ngx_int_t
ngx_http_csibiz_user_sms_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    if (res->rc == NGX_HTTP_CSIBIZ_SMS_OTHER) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "identity_mismatch");
    }

    if (res->rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "sms_code_invalid");
    }

    if (ngx_http_csibiz_user_index(r, u) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the index without its "\x": the identity, counted once proven */

    return ngx_http_csibiz_limit_identity(r,
                                          (const char *) u->sms.purpose.data,
                                          u->index.data + 2, u->index.len - 2,
                                          ngx_http_csibiz_user_identity_limited,
                                          u);
}


static ngx_int_t
ngx_http_csibiz_user_identity_limited(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t  params[3];

    params[0] = u->index;
    params[1].data = (u_char *) u->si_card;
    params[1].len = ngx_strlen(u->si_card);
    params[2] = ngx_http_csibiz_user_now(r);

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_user_lookup_stmt,
                                    params, u->looked_up, u);
}


/*
 * The roster's word on a proven code (user_lookup's row): the identity
 * is still in the roster and the phone is the one the school declares.
 * NGX_DECLINED when it is, else the answer.
 */

static ngx_int_t
ngx_http_csibiz_user_roster(ngx_http_request_t *r, ngx_http_csibiz_user_t *u,
    PGresult *pg)
{
    if (PQntuples(pg) != 1) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "identity_mismatch");
    }

    if (PQgetisnull(pg, 0, 1)
        || ngx_strcmp(PQgetvalue(pg, 0, 1), u->phone) != 0)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                    "phone_not_declared");
    }

    u->person_id = ngx_http_csibiz_user_int(pg, 0);

    if (!PQgetisnull(pg, 0, 2)) {
        u->user_id = ngx_http_csibiz_user_int(pg, 2);
    }

    return NGX_DECLINED;
}


/* in a thread of the pool */

static void
ngx_http_csibiz_user_make_hash(void *flow)
{
    ngx_http_csibiz_user_t  *u = flow;

    u->work_rc = csibiz_password_hash((const char *) u->password.data,
                                      u->password.len, u->hash);

    ngx_explicit_memzero(u->password.data, u->password.len);
}


/* NGX_DECLINED when the new hash was made, else the answer */

static ngx_int_t
ngx_http_csibiz_user_made_hash(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u)
{
    if (u->work_rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: password hashing failed");
        return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "internal");
    }

    return NGX_DECLINED;
}


/*
 * POST /api/register: fields → SMS ticket and code (for this identity) →
 * lookup (identity, declared phone, not yet registered, current
 * agreement) → hash (thread) → insert → the ticket spent → the account.
 * Nothing about the child is looked up, and nothing hashed, before the
 * code is proven.
 */

ngx_int_t
ngx_http_csibiz_register_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_user_t  *u;

    u = ngx_http_csibiz_user_flow(r);
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) ngx_http_csibiz_field_required(r, "agree_version",
                                          &u->agree_version);

    return ngx_http_csibiz_user_prove(r, u, "register",
                                      ngx_http_csibiz_register_looked_up);
}


static ngx_int_t
ngx_http_csibiz_register_looked_up(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t   rc;
    PGresult   *pg;

    pg = res->res;

    rc = ngx_http_csibiz_user_roster(r, u, pg);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (u->user_id) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_CONFLICT,
                                    "already_registered");
    }

    if (PQgetisnull(pg, 0, 3)
        || (size_t) PQgetlength(pg, 0, 3) != u->agree_version.len
        || ngx_strncmp(PQgetvalue(pg, 0, 3), u->agree_version.data,
                       u->agree_version.len) != 0)
    {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "agreement_version");
    }

    return ngx_http_csibiz_thread_run(r, ngx_http_csibiz_user_make_hash,
                                      ngx_http_csibiz_register_hashed, u);
}


static ngx_int_t
ngx_http_csibiz_register_hashed(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t  rc;
    ngx_str_t  params[6];

    rc = ngx_http_csibiz_user_made_hash(r, u);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_csibiz_integer(r, &params[0], u->person_id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1].data = (u_char *) u->phone;
    params[1].len = CSIBIZ_PHONE_LEN;
    params[2].data = (u_char *) u->hash;
    params[2].len = ngx_strlen(u->hash);
    params[3] = u->agree_version;
    params[4] = u->client_ip;
    params[5] = ngx_http_csibiz_user_now(r);

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_register_insert_stmt,
                                    params,
                                    ngx_http_csibiz_register_inserted, u);
}


static ngx_int_t
ngx_http_csibiz_register_inserted(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_http_csibiz_redis_op_t  *rop;

    if (PQntuples(res->res) != 1) {
        /* registered by a concurrent request meanwhile */
        return ngx_http_csibiz_fail(r, NGX_HTTP_CONFLICT,
                                    "already_registered");
    }

    u->user_id = ngx_http_csibiz_user_int(res->res, 0);

    if (ngx_http_csibiz_pg_copy(r, res->res, 1, &u->created) != NGX_OK
        || ngx_http_csibiz_pg_copy(r, res->res, 2, &u->name) != NGX_OK
        || ngx_http_csibiz_pg_copy(r, res->res, 3, &u->user_phone) != NGX_OK
        || ngx_http_csibiz_user_id_masked(r, u) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_sms_spend(rop, &u->sms);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_register_spent, u);
}


static ngx_int_t
ngx_http_csibiz_register_spent(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    return ngx_http_csibiz_user_send_user(r, flow, NGX_HTTP_CREATED, NULL);
}


/*
 * POST /api/password/reset: fields → SMS ticket and code of purpose
 * reset (for this identity) → lookup (identity, the phone the school
 * declares now, an account) → hash (thread) → password_reset() (hash,
 * phone, failures, audit) → Redis: every session ended, the login
 * counters cleared, the ticket spent, the notice queued → {"reset":true}
 */

ngx_int_t
ngx_http_csibiz_password_reset_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_http_csibiz_user_t  *u;

    u = ngx_http_csibiz_user_flow(r);
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_user_prove(r, u, "reset",
                                      ngx_http_csibiz_reset_looked_up);
}


static ngx_int_t
ngx_http_csibiz_reset_looked_up(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t  rc;

    rc = ngx_http_csibiz_user_roster(r, u, res->res);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (u->user_id == 0) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_NOT_FOUND,
                                    "not_registered");
    }

    return ngx_http_csibiz_thread_run(r, ngx_http_csibiz_user_make_hash,
                                      ngx_http_csibiz_reset_hashed, u);
}


static ngx_int_t
ngx_http_csibiz_reset_hashed(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t  rc;
    ngx_str_t  params[5];

    rc = ngx_http_csibiz_user_made_hash(r, u);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_csibiz_integer(r, &params[0], u->user_id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1].data = (u_char *) u->phone;
    params[1].len = CSIBIZ_PHONE_LEN;
    params[2].data = (u_char *) u->hash;
    params[2].len = ngx_strlen(u->hash);
    params[3] = u->client_ip;
    params[4] = ngx_http_csibiz_user_now(r);

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_reset_stmt, params,
                                    ngx_http_csibiz_reset_stored, u);
}


/*
 * KEYS: the outbox, then keys to delete (the login counters of the
 * account and of this client's pair).  ARGV: those of the notice
 * (proof.h): phone, purpose, the notice in Chinese and in English, the
 * outbox's MAXLEN, "" (sent within a code's validity).
 */

static ngx_http_csibiz_redis_script_t  ngx_http_csibiz_reset_notice_script =
    ngx_http_csibiz_redis_script(
    "for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end\n"
    NGX_HTTP_CSIBIZ_SMS_NOTICE_LUA
    "return 0\n");


static ngx_int_t
ngx_http_csibiz_reset_stored(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t                    argv[3 + 5 + 6];
    ngx_http_csibiz_redis_op_t  *rop;

    if (PQgetisnull(res->res, 0, 0)) {
        /* the school declared another phone meanwhile */
        return ngx_http_csibiz_fail(r, NGX_HTTP_FORBIDDEN,
                                    "phone_not_declared");
    }

    if (ngx_http_csibiz_login_keys(r, u) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);

    if (ngx_http_csibiz_session_end_user(r, rop, u->user_id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_csibiz_sms_spend(rop, &u->sms);

    ngx_str_set(&argv[2], "5");
    ngx_str_set(&argv[3], NGX_HTTP_CSIBIZ_SMS_OUTBOX);
    argv[4] = u->fail_account;
    argv[5] = u->fail_pair;
    argv[6] = u->lock;
    argv[7] = u->level;
    argv[8].data = (u_char *) u->phone;
    argv[8].len = CSIBIZ_PHONE_LEN;
    ngx_str_set(&argv[9], "password_changed");
    ngx_str_set(&argv[10], NGX_HTTP_CSIBIZ_RESET_NOTICE);
    ngx_str_set(&argv[11], NGX_HTTP_CSIBIZ_RESET_NOTICE_EN);
    ngx_str_set(&argv[12], NGX_HTTP_CSIBIZ_SMS_MAXLEN);
    ngx_str_set(&argv[13], "");

    ngx_http_csibiz_redis_eval(rop, &ngx_http_csibiz_reset_notice_script, 14,
                               argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_reset_done, u);
}


static ngx_int_t
ngx_http_csibiz_reset_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_uint_t  i;

    static u_char  body[] = "{\"reset\":true}";

    for (i = 0; i < res->nreplies; i++) {
        if (res->replies[i]->type == REDIS_REPLY_ERROR) {
            return ngx_http_csibiz_redis_refused(r, res->replies[i],
                                                 "a reset command");
        }
    }

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, sizeof(body) - 1);
}


/*
 * POST /api/login: the client's rate → counters (locked? captcha?) →
 * captcha (if asked) → lookup → verify (thread) → record → clear counters
 * → session → the account; a wrong password: record → count (may lock)
 * → 401 or 429
 */

ngx_int_t
ngx_http_csibiz_login_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t                id;
    ngx_http_csibiz_user_t  *u;

    u = ngx_http_csibiz_user_flow(r);
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_csibiz_user_password(r, u) != NGX_OK) {
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
                                      u->id_number)
           != 0)
    {
        ngx_memset(u->id_number, '0', CSIBIZ_ID_NUMBER_LEN);
        u->id_number[CSIBIZ_ID_NUMBER_LEN] = '\0';
    }

    (void) ngx_http_csibiz_field(r, "captcha_id", &u->captcha_id);
    (void) ngx_http_csibiz_field(r, "captcha_answer", &u->captcha_answer);

    if (ngx_http_csibiz_user_index(r, u) != NGX_OK
        || ngx_http_csibiz_login_keys(r, u) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_limit_client(r, "login",
                                        ngx_http_csibiz_login_count, u);
}


static ngx_int_t
ngx_http_csibiz_login_count(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t                    argv[2];
    ngx_http_csibiz_redis_op_t  *rop;

    rop = ngx_http_csibiz_redis_create(r);

    ngx_str_set(&argv[0], "TTL");
    argv[1] = u->lock;
    ngx_http_csibiz_redis_append(rop, 2, argv);

    ngx_str_set(&argv[0], "GET");
    argv[1] = u->fail_account;
    ngx_http_csibiz_redis_append(rop, 2, argv);

    argv[1] = u->fail_client;
    ngx_http_csibiz_redis_append(rop, 2, argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_login_counted, u);
}


/* the counters' keys: the account by its blind index, the client by HMAC */

static ngx_int_t
ngx_http_csibiz_login_keys(ngx_http_request_t *r, ngx_http_csibiz_user_t *u)
{
    ngx_str_t                     account, client, addr;
    uint8_t                       mac[CSIBIZ_HMACBYTES];
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (ngx_http_csibiz_client(r, &addr) != NGX_OK
        || csibiz_hmac_label(cmcf->session_key, "client", addr.data,
                             addr.len, mac)
           != 0
        || ngx_http_csibiz_hex(r, &client, "", mac,
                               NGX_HTTP_CSIBIZ_CLIENT_BYTES)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the index without its "\x" */
    account.data = u->index.data + 2;
    account.len = u->index.len - 2;

    if (ngx_http_csibiz_sprintf(r, &u->fail_pair, "csibiz:login:fail:%V:%V",
                                &account, &client)
        != NGX_OK
        || ngx_http_csibiz_sprintf(r, &u->fail_account,
                                   "csibiz:login:fail:%V", &account)
           != NGX_OK
        || ngx_http_csibiz_sprintf(r, &u->fail_client,
                                   "csibiz:login:fail:ip:%V", &client)
           != NGX_OK
        || ngx_http_csibiz_sprintf(r, &u->lock, "csibiz:login:lock:%V:%V",
                                   &account, &client)
           != NGX_OK
        || ngx_http_csibiz_sprintf(r, &u->level,
                                   "csibiz:login:level:%V:%V",
                                   &account, &client)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_login_counted(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t                     locked, account, client;
    ngx_http_csibiz_main_conf_t  *cmcf;

    locked = ngx_http_csibiz_redis_integer(res->replies[0]);

    if (locked > 0) {
        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked", locked);
    }

    account = ngx_http_csibiz_redis_integer(res->replies[1]);
    client = ngx_http_csibiz_redis_integer(res->replies[2]);

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (!cmcf->captcha
        || (account < NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA
            && client < NGX_HTTP_CSIBIZ_LOGIN_CAPTCHA))
    {
        return ngx_http_csibiz_login_lookup(r, u);
    }

    if (u->captcha_id.len == 0 || u->captcha_answer.len == 0) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_required");
    }

    return ngx_http_csibiz_captcha_check(r, &u->captcha_id,
                                         &u->captcha_answer,
                                         ngx_http_csibiz_login_captcha_checked,
                                         u);
}


static ngx_int_t
ngx_http_csibiz_login_captcha_checked(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    if (res->rc != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_BAD_REQUEST,
                                    "captcha_invalid");
    }

    return ngx_http_csibiz_login_lookup(r, flow);
}


static ngx_int_t
ngx_http_csibiz_login_lookup(ngx_http_request_t *r, ngx_http_csibiz_user_t *u)
{
    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_login_lookup_stmt,
                                    &u->index,
                                    ngx_http_csibiz_login_looked_up, u);
}


static ngx_int_t
ngx_http_csibiz_login_looked_up(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    PGresult  *pg;

    pg = res->res;

    if (PQntuples(pg) == 1) {

        if (ngx_http_csibiz_user_hash(u, pg, 1) != NGX_OK) {
            return ngx_http_csibiz_fail(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "internal");
        }

        u->user_id = ngx_http_csibiz_user_int(pg, 0);
        u->person_id = ngx_http_csibiz_user_int(pg, 2);

        if (ngx_http_csibiz_pg_copy(r, pg, 3, &u->name) != NGX_OK
            || ngx_http_csibiz_pg_copy(r, pg, 4, &u->user_phone) != NGX_OK
            || ngx_http_csibiz_user_id_masked(r, u) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_csibiz_thread_run(r, ngx_http_csibiz_user_verify,
                                      ngx_http_csibiz_login_verified, u);
}


static ngx_int_t
ngx_http_csibiz_login_verified(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t  params[3];

    if (u->work_rc != 0 && !u->have_hash) {
        return ngx_http_csibiz_login_count_failure(r, u);
    }

    if (ngx_http_csibiz_integer(r, &params[0], u->user_id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1] = u->client_ip;
    params[2] = ngx_http_csibiz_user_now(r);

    if (u->work_rc != 0) {
        /* the account's count of consecutive failures first */
        return ngx_http_csibiz_pg_query(r,
                                        &ngx_http_csibiz_login_failed_stmt,
                                        params,
                                        ngx_http_csibiz_login_fail_recorded,
                                        u);
    }

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_login_ok_stmt,
                                    params, ngx_http_csibiz_login_recorded,
                                    u);
}


static ngx_int_t
ngx_http_csibiz_login_recorded(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t                    argv[4];
    ngx_http_csibiz_redis_op_t  *rop;

    /*
     * A success forgets this pair's failures and lock history, and the
     * account's failures (its owner has proved who they are); not the
     * client's, which may be guessing at other accounts.
     */

    ngx_str_set(&argv[0], "DEL");
    argv[1] = u->fail_pair;
    argv[2] = u->level;
    argv[3] = u->fail_account;

    rop = ngx_http_csibiz_redis_create(r);
    ngx_http_csibiz_redis_append(rop, 4, argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_login_cleared, u);
}


static ngx_int_t
ngx_http_csibiz_login_cleared(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    return ngx_http_csibiz_session_create(
               r, u->user_id, u->person_id,
               ngx_http_csibiz_login_session_created, u);
}


static ngx_int_t
ngx_http_csibiz_login_session_created(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    return ngx_http_csibiz_user_send_user(r, flow, NGX_HTTP_OK,
                                          ngx_http_csibiz_session_get(r));
}


static ngx_int_t
ngx_http_csibiz_login_fail_recorded(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    return ngx_http_csibiz_login_count_failure(r, flow);
}


/*
 * A failed login's Redis counters, then the answer: in sequence after the
 * account's count, since the answer must be the request's last operation.
 */

static ngx_int_t
ngx_http_csibiz_login_count_failure(ngx_http_request_t *r,
    ngx_http_csibiz_user_t *u)
{
    ngx_str_t  keys[5];

    static ngx_int_t  args[] = {
        NGX_HTTP_CSIBIZ_LOGIN_WINDOW, NGX_HTTP_CSIBIZ_LOGIN_LOCK_AFTER,
        NGX_HTTP_CSIBIZ_LOGIN_LOCK_BASE, NGX_HTTP_CSIBIZ_LOGIN_LOCK_MAX,
        NGX_HTTP_CSIBIZ_LOGIN_ACCOUNT_TTL
    };

    keys[0] = u->fail_pair;
    keys[1] = u->fail_account;
    keys[2] = u->fail_client;
    keys[3] = u->lock;
    keys[4] = u->level;

    return ngx_http_csibiz_user_count_failure(
               r, u, &ngx_http_csibiz_login_fail_script, keys, 5, args, 5);
}


/* POST /api/logout: end the session → {"logged_out":true} */

ngx_int_t
ngx_http_csibiz_logout_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    return ngx_http_csibiz_session_destroy(r, s, ngx_http_csibiz_logout_done,
                                           NULL);
}


static ngx_int_t
ngx_http_csibiz_logout_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    static u_char  body[] = "{\"logged_out\":true}";

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, sizeof(body) - 1);
}


/*
 * POST /api/reauth, the password again for step-up: counter (locked?) →
 * lookup → verify (thread) → clear counter → step up the session; a wrong
 * password: count (may lock) → 401 or 429
 */

ngx_int_t
ngx_http_csibiz_reauth_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    ngx_str_t                    argv[2];
    ngx_http_csibiz_user_t      *u;
    ngx_http_csibiz_redis_op_t  *rop;

    u = ngx_http_csibiz_user_flow(r);
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u->session = s;
    u->user_id = s->user_id;

    if (ngx_http_csibiz_user_password(r, u) != NGX_OK) {
        return ngx_http_csibiz_fail(r, NGX_HTTP_UNAUTHORIZED,
                                    "bad_credentials");
    }

    /* the session holder's failures: the count and how long it lasts */

    if (ngx_http_csibiz_sprintf(r, &u->fail_account, "csibiz:reauth:fail:%i",
                                u->user_id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop = ngx_http_csibiz_redis_create(r);

    argv[1] = u->fail_account;

    ngx_str_set(&argv[0], "GET");
    ngx_http_csibiz_redis_append(rop, 2, argv);

    ngx_str_set(&argv[0], "TTL");
    ngx_http_csibiz_redis_append(rop, 2, argv);

    return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_reauth_counted, u);
}


static ngx_int_t
ngx_http_csibiz_reauth_counted(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_int_t  locked;
    ngx_str_t  param;

    locked = ngx_http_csibiz_redis_integer(res->replies[1]);

    if (ngx_http_csibiz_redis_integer(res->replies[0])
        >= NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS
        && locked > 0)
    {
        return ngx_http_csibiz_fail_retry_after(r,
                                                NGX_HTTP_TOO_MANY_REQUESTS,
                                                "locked", locked);
    }

    if (ngx_http_csibiz_integer(r, &param, u->user_id) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_csibiz_pg_query(r, &ngx_http_csibiz_reauth_lookup_stmt,
                                    &param, ngx_http_csibiz_reauth_looked_up,
                                    u);
}


static ngx_int_t
ngx_http_csibiz_reauth_looked_up(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    /* a hash that cannot be one is verified as no account: 401 */

    if (PQntuples(res->res) == 1) {
        (void) ngx_http_csibiz_user_hash(u, res->res, 0);
    }

    return ngx_http_csibiz_thread_run(r, ngx_http_csibiz_user_verify,
                                      ngx_http_csibiz_reauth_verified, u);
}


static ngx_int_t
ngx_http_csibiz_reauth_verified(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    ngx_str_t                    argv[2];
    ngx_http_csibiz_redis_op_t  *rop;

    static ngx_int_t  args[] = {
        NGX_HTTP_CSIBIZ_LOGIN_WINDOW, NGX_HTTP_CSIBIZ_REAUTH_MAX_FAILS
    };

    if (u->work_rc == 0) {
        ngx_str_set(&argv[0], "DEL");
        argv[1] = u->fail_account;

        rop = ngx_http_csibiz_redis_create(r);
        ngx_http_csibiz_redis_append(rop, 2, argv);

        return ngx_http_csibiz_redis_send(rop, ngx_http_csibiz_reauth_cleared,
                                          u);
    }

    return ngx_http_csibiz_user_count_failure(
               r, u, &ngx_http_csibiz_reauth_fail_script, &u->fail_account, 1,
               args, 2);
}


static ngx_int_t
ngx_http_csibiz_reauth_cleared(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_user_t  *u = flow;

    return ngx_http_csibiz_session_reauth(r, u->session,
                                          ngx_http_csibiz_reauth_done, u);
}


static ngx_int_t
ngx_http_csibiz_reauth_done(ngx_http_request_t *r, void *flow,
    ngx_http_csibiz_result_t *res)
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
 * ("stay logged in") and needs the CSRF token.  The handler table loads
 * the session accordingly.
 */

ngx_int_t
ngx_http_csibiz_session_handler(ngx_http_request_t *r,
    ngx_http_csibiz_session_t *s)
{
    u_char                       *body, *p;
    ngx_http_csibiz_main_conf_t  *cmcf;

    static u_char  out[] = "{\"logged_in\":false}";
    static u_char  head[] = "{\"logged_in\":true,\"expires_in\":";
    static u_char  idle[] = ",\"idle_timeout\":";
    static u_char  csrf[] = ",\"csrf_token\":\"";
    static u_char  reauth[] = "\",\"reauth_valid_for\":";

    if (!s->valid) {
        return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, out,
                                         sizeof(out) - 1);
    }

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    body = ngx_pnalloc(r->pool, sizeof(head) - 1 + sizeof(idle) - 1
                                + sizeof(csrf) - 1 + sizeof(reauth) - 1
                                + sizeof("}") - 1 + 3 * NGX_TIME_T_LEN
                                + s->csrf.len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* copied, not formatted: ngx_sprintf() reads its format bytewise */

    p = ngx_cpymem(body, head, sizeof(head) - 1);
    p = ngx_sprintf(p, "%T", s->idle_left);
    p = ngx_cpymem(p, idle, sizeof(idle) - 1);
    p = ngx_sprintf(p, "%T", cmcf->session_idle_timeout);
    p = ngx_cpymem(p, csrf, sizeof(csrf) - 1);
    p = ngx_cpymem(p, s->csrf.data, s->csrf.len);
    p = ngx_cpymem(p, reauth, sizeof(reauth) - 1);
    p = ngx_sprintf(p, "%T", ngx_max(0, s->auth_at
                                        + NGX_HTTP_CSIBIZ_REAUTH_VALID
                                        - ngx_time()));
    *p++ = '}';

    return ngx_http_csibiz_send_json(r, NGX_HTTP_OK, body, p - body);
}
