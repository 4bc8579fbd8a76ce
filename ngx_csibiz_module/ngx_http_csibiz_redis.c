
/*
 * Redis, driven from nginx's event loop.  nginx owns the socket
 * (ngx_event_connect_peer) and encodes the commands; hiredis only parses
 * replies, into objects allocated from the pool of the request they
 * answer, so that a reply costs no malloc() and free() per element.
 * Debian's hiredis 0.14 has no timers of its own, so every timeout is an
 * nginx timer on the connection's read event.
 *
 * With Sentinels, every new connection first asks one of them for the
 * master (SENTINEL get-master-addr-by-name; the next one on an error or
 * a timeout), then connects there and checks with ROLE that it is the
 * master before it carries anything.  A READONLY error (the server was
 * made a replica under us) closes the worker's connections to it; the
 * next ones ask again.  So do those after a lost connection or a
 * timeout: every reconnect goes through a Sentinel.
 */


#include "ngx_http_csibiz_module.h"
#include <ngx_sha1.h>
#include "ngx_http_csibiz_pool.h"
#include "ngx_http_csibiz_redis.h"
#include "ngx_http_csibiz_response.h"
#include "ngx_http_csibiz_status.h"


/* a broken subscription to a Sentinel is made again after (ms) */
#define NGX_HTTP_CSIBIZ_REDIS_SUB_RETRY   1000

/* the scripts one worker runs by digest: each has a bit per connection */
#define NGX_HTTP_CSIBIZ_REDIS_SCRIPTS     64


typedef struct {
    ngx_http_csibiz_peer_t         peer;
    ngx_peer_connection_t          pc;
    redisReader                   *reader;
    ngx_pool_t                    *pool;       /* the reply being read */
    ngx_uint_t                     handshake;  /* replies still expected */
    ngx_uint_t                     connected;  /* AUTH, SELECT follow,
                                                  until peer.ready */
    ngx_uint_t                     asking;     /* a Sentinel, not Redis */
    ngx_uint_t                     asked;      /* Sentinels, this time */

    /* the master a Sentinel named */
    ngx_sockaddr_t                 sockaddr;
    socklen_t                      socklen;
    ngx_str_t                      name;
    u_char                         text[NGX_SOCKADDR_STRLEN];

    /* what is to be written: the handshake, then every op's commands */
    u_char                        *out;
    size_t                         out_len;
    size_t                         out_sent;
    size_t                         out_size;

    uint64_t                       loaded;     /* scripts it has */
} ngx_http_csibiz_redis_peer_t;


typedef struct {
    ngx_str_t                      handshake;  /* AUTH, SELECT (, ROLE) */
    ngx_uint_t                     nhandshake;

    ngx_str_t                      ask;        /* AUTH, SENTINEL … */
    ngx_uint_t                     nask;
    ngx_uint_t                     sentinel;   /* the one asked next */
    ngx_str_t                      master;     /* the last one named */
    u_char                         text[NGX_SOCKADDR_STRLEN];

    /* the subscription to +switch-master */
    ngx_peer_connection_t          sub;
    redisReader                   *sub_reader;
    ngx_event_t                    sub_timer;
    ngx_uint_t                     sub_sentinel;
    ngx_str_t                      sub_out;    /* AUTH, SUBSCRIBE */
    size_t                         sub_sent;
    ngx_uint_t                     sub_connected;
} ngx_http_csibiz_redis_pool_data_t;


struct ngx_http_csibiz_redis_op_s {
    ngx_http_csibiz_op_t           op;

    u_char                        *buf;
    size_t                         len;
    size_t                         size;
    ngx_uint_t                     ncommands;
    uint64_t                       scripts;    /* the digests it runs */

    redisReply                   **replies;
    ngx_uint_t                     nreplies;

    ngx_uint_t                     failed;     /* create or append did */
};


static ngx_int_t ngx_http_csibiz_redis_authed(ngx_pool_t *pool,
    ngx_str_t *password, ngx_uint_t argc, ngx_str_t *argv, ngx_str_t *out);
static ngx_int_t ngx_http_csibiz_redis_queue(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_slot_t *slot);
static ngx_int_t ngx_http_csibiz_redis_reserve(
    ngx_http_csibiz_redis_peer_t *rp, size_t len);
static size_t ngx_http_csibiz_redis_size(ngx_uint_t argc, ngx_str_t *argv);
static u_char *ngx_http_csibiz_redis_encode(u_char *p, ngx_uint_t argc,
    ngx_str_t *argv);
static u_char *ngx_http_csibiz_redis_header(u_char *p, u_char type,
    size_t n);
static redisReply *ngx_http_csibiz_redis_copy(ngx_pool_t *pool,
    redisReply *reply);
static void *ngx_http_csibiz_redis_reply(const redisReadTask *task,
    int type);
static void *ngx_http_csibiz_redis_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_csibiz_redis_array(const redisReadTask *task,
    int elements);
static void *ngx_http_csibiz_redis_new_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_csibiz_redis_nil(const redisReadTask *task);
static void ngx_http_csibiz_redis_free_reply(void *reply);
static ngx_int_t ngx_http_csibiz_redis_connect(ngx_http_csibiz_peer_t *peer);
static ngx_int_t ngx_http_csibiz_redis_open(ngx_http_csibiz_redis_peer_t *rp,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name,
    ngx_str_t *out, ngx_uint_t n);
static ngx_int_t ngx_http_csibiz_redis_ask(ngx_http_csibiz_redis_peer_t *rp);
static void ngx_http_csibiz_redis_ask_next(ngx_http_csibiz_redis_peer_t *rp);
static ngx_int_t ngx_http_csibiz_redis_named(
    ngx_http_csibiz_redis_peer_t *rp, redisReply *reply);
static ngx_int_t ngx_http_csibiz_redis_role(ngx_http_csibiz_redis_peer_t *rp,
    redisReply *reply);
static void ngx_http_csibiz_redis_readonly(ngx_http_csibiz_redis_peer_t *rp,
    redisReply *reply);
static ngx_int_t ngx_http_csibiz_redis_sockaddr(u_char *ip, size_t len,
    u_char *port, size_t port_len, ngx_sockaddr_t *sa, socklen_t *socklen);
static void ngx_http_csibiz_redis_sub_start(ngx_event_t *ev);
static void ngx_http_csibiz_redis_sub_write(ngx_event_t *wev);
static void ngx_http_csibiz_redis_sub_read(ngx_event_t *rev);
static void ngx_http_csibiz_redis_switched(ngx_http_csibiz_pool_t *pool,
    ngx_connection_t *c, u_char *msg, size_t len);
static void ngx_http_csibiz_redis_sub_retry(ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_redis_sub_close(ngx_http_csibiz_pool_t *pool);
static void ngx_http_csibiz_redis_close(ngx_http_csibiz_peer_t *peer);
static void ngx_http_csibiz_redis_write_handler(ngx_event_t *wev);
static void ngx_http_csibiz_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_csibiz_redis_test_connect(ngx_connection_t *c,
    ngx_str_t *name, ngx_uint_t sentinel);
static ngx_int_t ngx_http_csibiz_redis_flush(
    ngx_http_csibiz_redis_peer_t *rp);
static ngx_int_t ngx_http_csibiz_redis_process(
    ngx_http_csibiz_redis_peer_t *rp);
static void ngx_http_csibiz_redis_result(ngx_http_csibiz_op_t *op,
    ngx_http_csibiz_result_t *res);


/*
 * Where the reader's reply objects are allocated: set around
 * redisReaderGetReply() (a worker runs one thread), NULL otherwise, when
 * an allocation fails as out of memory.
 */
static ngx_pool_t  *ngx_http_csibiz_redis_reply_pool;

static redisReplyObjectFunctions  ngx_http_csibiz_redis_reply_fns = {
    ngx_http_csibiz_redis_string,
    ngx_http_csibiz_redis_array,
    ngx_http_csibiz_redis_new_integer,
    ngx_http_csibiz_redis_nil,
    ngx_http_csibiz_redis_free_reply
};

/* this worker's scripts, by the index that names their bit */
static ngx_http_csibiz_redis_script_t
    *ngx_http_csibiz_redis_scripts[NGX_HTTP_CSIBIZ_REDIS_SCRIPTS];
static ngx_uint_t  ngx_http_csibiz_redis_nscripts;


ngx_int_t
ngx_http_csibiz_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_csibiz_redis_conf_t *rcf, ngx_http_csibiz_pool_t **poolp)
{
    u_char                             *p;
    ngx_int_t                           n;
    ngx_str_t                           argv[2], sel[2], ask[3], role;
    ngx_http_csibiz_pool_t             *pool;
    ngx_http_csibiz_redis_peer_t       *peers;
    ngx_http_csibiz_redis_pool_data_t  *pd;
    u_char                              db[NGX_INT_T_LEN];

    pool = ngx_pcalloc(cycle->pool, sizeof(ngx_http_csibiz_pool_t));
    pd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_csibiz_redis_pool_data_t));
    peers = ngx_pcalloc(cycle->pool,
                        rcf->pool.size * sizeof(ngx_http_csibiz_redis_peer_t));

    if (pool == NULL || pd == NULL || peers == NULL) {
        return NGX_ERROR;
    }

    pool->conf = &rcf->pool;
    pool->driver_conf = rcf;
    pool->data = pd;
    ngx_str_set(&pool->name, "redis");
    pool->connect = ngx_http_csibiz_redis_connect;
    pool->send = ngx_http_csibiz_redis_queue;
    pool->close = ngx_http_csibiz_redis_close;

    if (ngx_http_csibiz_pool_init(pool, &peers[0].peer,
                                  sizeof(ngx_http_csibiz_redis_peer_t), cycle)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the commands every new connection sends first, encoded once */

    ngx_str_set(&argv[0], "AUTH");
    argv[1] = rcf->password;
    ngx_str_set(&sel[0], "SELECT");
    sel[1].data = db;
    sel[1].len = ngx_sprintf(db, "%i", rcf->db) - db;

    ngx_str_set(&role, "ROLE");

    pd->handshake.data = ngx_pnalloc(cycle->pool,
                                     ngx_http_csibiz_redis_size(2, argv)
                                     + ngx_http_csibiz_redis_size(2, sel)
                                     + ngx_http_csibiz_redis_size(1, &role));
    if (pd->handshake.data == NULL) {
        return NGX_ERROR;
    }

    p = pd->handshake.data;

    if (rcf->password.len) {
        p = ngx_http_csibiz_redis_encode(p, 2, argv);
        pd->nhandshake++;
    }

    if (rcf->db > 0) {
        p = ngx_http_csibiz_redis_encode(p, 2, sel);
        pd->nhandshake++;
    }

    if (rcf->sentinels) {
        /* a master named by a Sentinel may have become a replica since */
        p = ngx_http_csibiz_redis_encode(p, 1, &role);
        pd->nhandshake++;
    }

    pd->handshake.len = p - pd->handshake.data;

    if (rcf->sentinels) {
        ngx_str_set(&ask[0], "SENTINEL");
        ngx_str_set(&ask[1], "get-master-addr-by-name");
        ask[2] = rcf->master;

        n = ngx_http_csibiz_redis_authed(cycle->pool,
                                         &rcf->sentinel_password, 3, ask,
                                         &pd->ask);
        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        pd->nask = n;

        ngx_str_set(&ask[0], "SUBSCRIBE");
        ngx_str_set(&ask[1], "+switch-master");

        if (ngx_http_csibiz_redis_authed(cycle->pool,
                                         &rcf->sentinel_password, 2, ask,
                                         &pd->sub_out)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }

        /* the workers start with different Sentinels */
        pd->sentinel = (ngx_uint_t) ngx_pid % rcf->sentinels->nelts;
        pd->master.data = pd->text;

        pd->sub_sentinel = pd->sentinel;
        pd->sub_timer.handler = ngx_http_csibiz_redis_sub_start;
        pd->sub_timer.data = pool;
        pd->sub_timer.log = cycle->log;
        pd->sub_timer.cancelable = 1;

        ngx_add_timer(&pd->sub_timer, 1);
    }

    *poolp = pool;

    return NGX_OK;
}


/* [AUTH password] and one command, encoded once: how many commands */

static ngx_int_t
ngx_http_csibiz_redis_authed(ngx_pool_t *pool, ngx_str_t *password,
    ngx_uint_t argc, ngx_str_t *argv, ngx_str_t *out)
{
    u_char     *p;
    ngx_int_t   n;
    ngx_str_t   auth[2];

    ngx_str_set(&auth[0], "AUTH");
    auth[1] = *password;

    out->data = ngx_pnalloc(pool, ngx_http_csibiz_redis_size(2, auth)
                                  + ngx_http_csibiz_redis_size(argc, argv));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    n = 1;

    if (password->len) {
        p = ngx_http_csibiz_redis_encode(p, 2, auth);
        n++;
    }

    p = ngx_http_csibiz_redis_encode(p, argc, argv);
    out->len = p - out->data;

    return n;
}


ngx_http_csibiz_redis_op_t *
ngx_http_csibiz_redis_create(ngx_http_request_t *r)
{
    ngx_http_csibiz_redis_op_t   *rop;
    ngx_http_csibiz_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_csibiz_module);

    if (cmcf->redis_pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "csibiz: \"csibiz_redis\" is not configured");
        return NULL;
    }

    rop = ngx_pcalloc(r->pool, sizeof(ngx_http_csibiz_redis_op_t));
    if (rop == NULL) {
        return NULL;
    }

    rop->op.request = r;
    rop->op.pool = cmcf->redis_pool;
    rop->op.result = ngx_http_csibiz_redis_result;

    return rop;
}


/*
 * Adds one command to the pipeline; argv[i].data may hold binary bytes.
 * A failure is kept for send(), which answers it.
 */

void
ngx_http_csibiz_redis_append(ngx_http_csibiz_redis_op_t *rop,
    ngx_uint_t argc, ngx_str_t *argv)
{
    u_char  *p;
    size_t   len, size;

    if (rop == NULL || rop->failed) {
        return;
    }

    len = ngx_http_csibiz_redis_size(argc, argv);

    if (rop->len + len > rop->size) {
        size = ngx_max(2 * rop->size, rop->len + len);
        size = ngx_max(size, 256);

        p = ngx_pnalloc(rop->op.request->pool, size);
        if (p == NULL) {
            rop->failed = 1;
            return;
        }

        if (rop->len) {
            ngx_memcpy(p, rop->buf, rop->len);
        }

        rop->buf = p;
        rop->size = size;
    }

    p = ngx_http_csibiz_redis_encode(rop->buf + rop->len, argc, argv);

    rop->len = p - rop->buf;
    rop->ncommands++;
}


/*
 * Runs a script by its digest.  argv[0] and argv[1] are the driver's
 * (EVALSHA and the digest); argv[2] is the number of keys, as for EVAL.
 * The first time a connection runs a script, SCRIPT LOAD goes before it.
 */

void
ngx_http_csibiz_redis_eval(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_redis_script_t *script, ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_sha1_t  sha1;
    u_char      digest[20];

    if (rop == NULL || rop->failed) {
        return;
    }

    if (script->index == 0
        && ngx_http_csibiz_redis_nscripts < NGX_HTTP_CSIBIZ_REDIS_SCRIPTS)
    {
        ngx_sha1_init(&sha1);
        ngx_sha1_update(&sha1, script->text.data, script->text.len);
        ngx_sha1_final(digest, &sha1);
        ngx_hex_dump(script->sha1, digest, sizeof(digest));

        ngx_http_csibiz_redis_scripts[ngx_http_csibiz_redis_nscripts++] =
                                                                      script;
        script->index = ngx_http_csibiz_redis_nscripts;
    }

    if (script->index == 0) {
        /* more scripts than bits: sent whole, as EVAL */
        ngx_str_set(&argv[0], "EVAL");
        argv[1] = script->text;

    } else {
        ngx_str_set(&argv[0], "EVALSHA");
        argv[1].data = script->sha1;
        argv[1].len = sizeof(script->sha1);
        rop->scripts |= (uint64_t) 1 << (script->index - 1);
    }

    ngx_http_csibiz_redis_append(rop, argc, argv);
}


/*
 * Sends the pipeline; next(r, flow, res) gets one reply per command.
 * Returns NGX_DONE, or 500 if the pipeline could not be built.
 */

ngx_int_t
ngx_http_csibiz_redis_send(ngx_http_csibiz_redis_op_t *rop,
    ngx_http_csibiz_step_pt next, void *flow)
{
    if (rop == NULL || rop->failed || rop->ncommands == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop->replies = ngx_pcalloc(rop->op.request->pool,
                               rop->ncommands * sizeof(redisReply *));
    if (rop->replies == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rop->op.next = next;
    rop->op.flow = flow;

    if (ngx_http_csibiz_pool_run(&rop->op) != NGX_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


ngx_int_t
ngx_http_csibiz_redis_integer(redisReply *reply)
{
    ngx_int_t  n;

    if (reply->type == REDIS_REPLY_INTEGER) {
        return (ngx_int_t) reply->integer;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        n = ngx_atoi((u_char *) reply->str, reply->len);
        return (n == NGX_ERROR) ? 0 : n;
    }

    return 0;
}


ngx_int_t
ngx_http_csibiz_redis_refused(ngx_http_request_t *r, redisReply *reply,
    const char *what)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "csibiz: redis refused %s: %s", what,
                  reply->type == REDIS_REPLY_ERROR
                  ? reply->str : "unexpected reply");

    return ngx_http_csibiz_send_unavailable(r);
}


/*
 * An op on a ready connection: its commands join whatever else this pass
 * of the event loop sends there, in one write.  A script the connection
 * has not run yet is loaded first; its reply is the driver's (skip).
 */

static ngx_int_t
ngx_http_csibiz_redis_queue(ngx_http_csibiz_peer_t *peer,
    ngx_http_csibiz_slot_t *slot)
{
    u_char                        *p;
    size_t                         len;
    uint64_t                       missing;
    ngx_str_t                      argv[3];
    ngx_uint_t                     i;
    ngx_connection_t              *c;
    ngx_http_csibiz_redis_op_t    *rop;
    ngx_http_csibiz_redis_peer_t  *rp;

    rp = (ngx_http_csibiz_redis_peer_t *) peer;
    rop = (ngx_http_csibiz_redis_op_t *) slot->op;
    c = peer->connection;

    ngx_str_set(&argv[0], "SCRIPT");
    ngx_str_set(&argv[1], "LOAD");

    missing = rop->scripts & ~rp->loaded;
    len = rop->len;

    for (i = 0; missing >> i; i++) {
        if (missing & ((uint64_t) 1 << i)) {
            argv[2] = ngx_http_csibiz_redis_scripts[i]->text;
            len += ngx_http_csibiz_redis_size(3, argv);
        }
    }

    if (ngx_http_csibiz_redis_reserve(rp, len) != NGX_OK) {
        return NGX_ERROR;
    }

    p = rp->out + rp->out_len;

    for (i = 0; missing >> i; i++) {
        if (missing & ((uint64_t) 1 << i)) {
            argv[2] = ngx_http_csibiz_redis_scripts[i]->text;
            p = ngx_http_csibiz_redis_encode(p, 3, argv);
            slot->skip++;
        }
    }

    p = ngx_cpymem(p, rop->buf, rop->len);

    rp->out_len = p - rp->out;
    rp->loaded |= missing;
    slot->left = rop->ncommands;

    if (!c->write->posted) {
        /* after this pass's other requests have queued theirs */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


/* room for len more bytes to write */

static ngx_int_t
ngx_http_csibiz_redis_reserve(ngx_http_csibiz_redis_peer_t *rp, size_t len)
{
    u_char  *p;
    size_t   size;

    if (rp->out_sent == rp->out_len) {
        rp->out_len = 0;
        rp->out_sent = 0;
    }

    if (rp->out_len + len <= rp->out_size) {
        return NGX_OK;
    }

    if (rp->out_sent) {
        ngx_memmove(rp->out, rp->out + rp->out_sent,
                    rp->out_len - rp->out_sent);
        rp->out_len -= rp->out_sent;
        rp->out_sent = 0;

        if (rp->out_len + len <= rp->out_size) {
            return NGX_OK;
        }
    }

    size = ngx_max(2 * rp->out_size, rp->out_len + len);
    size = ngx_max(size, 4096);

    p = ngx_alloc(size, rp->peer.pool->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (rp->out_len) {
        ngx_memcpy(p, rp->out, rp->out_len);
    }

    if (rp->out) {
        ngx_free(rp->out);
    }

    rp->out = p;
    rp->out_size = size;

    return NGX_OK;
}


static size_t
ngx_http_csibiz_redis_size(ngx_uint_t argc, ngx_str_t *argv)
{
    size_t      size;
    ngx_uint_t  i;

    size = sizeof("*\r\n") - 1 + NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        size += sizeof("$\r\n\r\n") - 1 + NGX_SIZE_T_LEN + argv[i].len;
    }

    return size;
}


/* the RESP array of bulk strings of one command */

static u_char *
ngx_http_csibiz_redis_encode(u_char *p, ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_uint_t  i;

    p = ngx_http_csibiz_redis_header(p, '*', argc);

    for (i = 0; i < argc; i++) {
        p = ngx_http_csibiz_redis_header(p, '$', argv[i].len);
        p = ngx_cpymem(p, argv[i].data, argv[i].len);
        *p++ = CR;
        *p++ = LF;
    }

    return p;
}


/* "*3\r\n", "$12\r\n": digits by hand, ngx_sprintf() costs more here */

static u_char *
ngx_http_csibiz_redis_header(u_char *p, u_char type, size_t n)
{
    u_char  *d, digits[NGX_SIZE_T_LEN];

    d = digits + NGX_SIZE_T_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    *p++ = type;
    p = ngx_cpymem(p, d, digits + NGX_SIZE_T_LEN - d);
    *p++ = CR;
    *p++ = LF;

    return p;
}


/*
 * A reply, from the connection's pool into the request's: the reader
 * builds it where a request that went away mid-reply can't pull the
 * memory from under it.
 */

static redisReply *
ngx_http_csibiz_redis_copy(ngx_pool_t *pool, redisReply *reply)
{
    size_t       i;
    redisReply  *r;

    r = ngx_palloc(pool, sizeof(redisReply));
    if (r == NULL) {
        return NULL;
    }

    *r = *reply;

    if (reply->str) {
        r->str = ngx_pnalloc(pool, reply->len + 1);
        if (r->str == NULL) {
            return NULL;
        }

        ngx_memcpy(r->str, reply->str, reply->len + 1);
    }

    if (reply->elements) {
        r->element = ngx_palloc(pool, reply->elements * sizeof(redisReply *));
        if (r->element == NULL) {
            return NULL;
        }

        for (i = 0; i < reply->elements; i++) {
            r->element[i] = ngx_http_csibiz_redis_copy(pool,
                                                       reply->element[i]);
            if (r->element[i] == NULL) {
                return NULL;
            }
        }
    }

    return r;
}


/* a reply object, linked into its array as hiredis's own functions do */

static void *
ngx_http_csibiz_redis_reply(const redisReadTask *task, int type)
{
    redisReply  *r, *parent;

    if (ngx_http_csibiz_redis_reply_pool == NULL) {
        return NULL;
    }

    r = ngx_pcalloc(ngx_http_csibiz_redis_reply_pool, sizeof(redisReply));
    if (r == NULL) {
        return NULL;
    }

    r->type = type;

    if (task->parent) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;
    }

    return r;
}


static void *
ngx_http_csibiz_redis_string(const redisReadTask *task, char *str,
    size_t len)
{
    u_char      *p;
    redisReply  *r;

    if (ngx_http_csibiz_redis_reply_pool == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(ngx_http_csibiz_redis_reply_pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    r = ngx_http_csibiz_redis_reply(task, task->type);
    if (r == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, str, len) = '\0';

    r->str = (char *) p;
    r->len = len;

    return r;
}


static void *
ngx_http_csibiz_redis_array(const redisReadTask *task, int elements)
{
    redisReply  *r, **element;

    element = NULL;

    if (elements > 0) {
        if (ngx_http_csibiz_redis_reply_pool == NULL) {
            return NULL;
        }

        element = ngx_pcalloc(ngx_http_csibiz_redis_reply_pool,
                              elements * sizeof(redisReply *));
        if (element == NULL) {
            return NULL;
        }
    }

    r = ngx_http_csibiz_redis_reply(task, REDIS_REPLY_ARRAY);
    if (r == NULL) {
        return NULL;
    }

    r->element = element;
    r->elements = elements > 0 ? elements : 0;

    return r;
}


static void *
ngx_http_csibiz_redis_new_integer(const redisReadTask *task,
    long long value)
{
    redisReply  *r;

    r = ngx_http_csibiz_redis_reply(task, REDIS_REPLY_INTEGER);
    if (r == NULL) {
        return NULL;
    }

    r->integer = value;

    return r;
}


static void *
ngx_http_csibiz_redis_nil(const redisReadTask *task)
{
    return ngx_http_csibiz_redis_reply(task, REDIS_REPLY_NIL);
}


/* freed with their pool */

static void
ngx_http_csibiz_redis_free_reply(void *reply)
{
}


static ngx_int_t
ngx_http_csibiz_redis_connect(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_peer_t       *rp;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    rp = (ngx_http_csibiz_redis_peer_t *) peer;
    rcf = peer->pool->driver_conf;
    pd = peer->pool->data;

    if (rcf->sentinels) {
        rp->asked = 0;
        return ngx_http_csibiz_redis_ask(rp);
    }

    rp->asking = 0;

    return ngx_http_csibiz_redis_open(rp, rcf->addr.sockaddr,
                                      rcf->addr.socklen, &rcf->addr.name,
                                      &pd->handshake, pd->nhandshake);
}


/*
 * A new socket for the peer, to Redis or a Sentinel, with the "n"
 * commands of "out" to be written first: the handshake, or the question
 */

static ngx_int_t
ngx_http_csibiz_redis_open(ngx_http_csibiz_redis_peer_t *rp,
    struct sockaddr *sockaddr, socklen_t socklen, ngx_str_t *name,
    ngx_str_t *out, ngx_uint_t n)
{
    ngx_int_t                rc;
    ngx_connection_t        *c;
    ngx_http_csibiz_peer_t  *peer;

    peer = &rp->peer;

    ngx_memzero(&rp->pc, sizeof(ngx_peer_connection_t));

    rp->pc.sockaddr = sockaddr;
    rp->pc.socklen = socklen;
    rp->pc.name = name;
    rp->pc.get = ngx_event_get_peer;
    rp->pc.log = peer->pool->log;
    rp->pc.log_error = NGX_ERROR_ERR;

    rp->connected = 0;
    rp->loaded = 0;
    rp->out_len = 0;
    rp->out_sent = 0;

    rc = ngx_event_connect_peer(&rp->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        return NGX_ERROR;
    }

    c = rp->pc.connection;
    c->data = peer;
    c->read->handler = ngx_http_csibiz_redis_read_handler;
    c->write->handler = ngx_http_csibiz_redis_write_handler;

    peer->connection = c;

    /* a reader fresh for each socket: nothing of the last one is left */

    if (rp->reader) {
        redisReaderFree(rp->reader);
    }

    rp->reader = redisReaderCreateWithFunctions(
                                         &ngx_http_csibiz_redis_reply_fns);

    if (rp->pool == NULL) {
        rp->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, peer->pool->log);
    }

    if (rp->reader == NULL || rp->pool == NULL
        || ngx_http_csibiz_redis_reserve(rp, out->len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(rp->out, out->data, out->len);
    rp->out_len = out->len;
    rp->handshake = n;

    ngx_add_timer(c->read, peer->pool->conf->connect_timeout);

    if (rc == NGX_OK) {
        /* connected at once (a unix socket): go on from the event loop */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    return NGX_OK;
}


/*
 * Asks a Sentinel for the master: the worker's current one, else the
 * next.  NGX_ERROR: none could be reached; the peer has no socket.
 */

static ngx_int_t
ngx_http_csibiz_redis_ask(ngx_http_csibiz_redis_peer_t *rp)
{
    ngx_addr_t                         *sentinel;
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    rcf = rp->peer.pool->driver_conf;
    pd = rp->peer.pool->data;

    rp->asking = 1;

    while (rp->asked < rcf->sentinels->nelts) {
        rp->asked++;

        sentinel = (ngx_addr_t *) rcf->sentinels->elts + pd->sentinel;

        if (ngx_http_csibiz_redis_open(rp, sentinel->sockaddr,
                                       sentinel->socklen, &sentinel->name,
                                       &pd->ask, pd->nask)
            == NGX_OK)
        {
            return NGX_OK;
        }

        if (rp->peer.connection) {
            ngx_close_connection(rp->peer.connection);
            rp->peer.connection = NULL;
        }

        pd->sentinel = (pd->sentinel + 1) % rcf->sentinels->nelts;
    }

    ngx_log_error(NGX_LOG_ERR, rp->peer.pool->log, 0,
                  "csibiz: no redis sentinel named the master \"%V\"",
                  &rcf->master);

    return NGX_ERROR;
}


/*
 * The Sentinel asked failed (no connection, a timeout, an error, no
 * answer): the next one is asked; after the last, the peer fails as a
 * connection that could not be made does.
 */

static void
ngx_http_csibiz_redis_ask_next(ngx_http_csibiz_redis_peer_t *rp)
{
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    rcf = rp->peer.pool->driver_conf;
    pd = rp->peer.pool->data;

    if (rp->peer.connection) {
        ngx_close_connection(rp->peer.connection);
        rp->peer.connection = NULL;
    }

    pd->sentinel = (pd->sentinel + 1) % rcf->sentinels->nelts;

    if (ngx_http_csibiz_redis_ask(rp) == NGX_OK) {
        return;
    }

    ngx_http_csibiz_redis_close(&rp->peer);
    ngx_http_csibiz_pool_close_peer(&rp->peer);
}


/*
 * A Sentinel's answer, [ip, port]: the peer's socket goes from the
 * Sentinel to that master.  NGX_DECLINED: no usable answer.
 */

static ngx_int_t
ngx_http_csibiz_redis_named(ngx_http_csibiz_redis_peer_t *rp,
    redisReply *reply)
{
    ngx_str_t                          *sentinel;
    ngx_connection_t                   *c;
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    c = rp->peer.connection;
    rcf = rp->peer.pool->driver_conf;
    pd = rp->peer.pool->data;
    sentinel = rp->pc.name;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "csibiz: redis sentinel at %V does not know the"
                      " master \"%V\"%s%s", sentinel, &rcf->master,
                      reply->type == REDIS_REPLY_ERROR ? ": " : "",
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "");
        return NGX_DECLINED;
    }

    if (ngx_http_csibiz_redis_sockaddr((u_char *) reply->element[0]->str,
                                       reply->element[0]->len,
                                       (u_char *) reply->element[1]->str,
                                       reply->element[1]->len,
                                       &rp->sockaddr, &rp->socklen)
        != NGX_OK)
    {
        /* Sentinels announce IP addresses unless told to resolve names */
        goto invalid;
    }

    rp->name.data = rp->text;
    rp->name.len = ngx_sock_ntop(&rp->sockaddr.sockaddr, rp->socklen,
                                 rp->text, NGX_SOCKADDR_STRLEN, 1);

    if (rp->name.len != pd->master.len
        || ngx_strncmp(rp->name.data, pd->master.data, rp->name.len) != 0)
    {
        ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                      "csibiz: redis sentinel at %V names %V the master"
                      " \"%V\"", sentinel, &rp->name, &rcf->master);

        pd->master.len = ngx_cpymem(pd->text, rp->name.data, rp->name.len)
                         - pd->text;
    }

    ngx_close_connection(c);
    rp->peer.connection = NULL;
    rp->asking = 0;

    if (ngx_http_csibiz_redis_open(rp, &rp->sockaddr.sockaddr, rp->socklen,
                                   &rp->name, &pd->handshake,
                                   pd->nhandshake)
        != NGX_OK)
    {
        ngx_http_csibiz_redis_close(&rp->peer);
        ngx_http_csibiz_pool_close_peer(&rp->peer);
    }

    return NGX_OK;

invalid:

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "csibiz: redis sentinel at %V names \"%s:%s\" the master"
                  " \"%V\", not an IP address and port", sentinel,
                  reply->element[0]->str, reply->element[1]->str,
                  &rcf->master);

    return NGX_DECLINED;
}


/* "ip", "port" as Sentinels give them: an IPv4 or IPv6 address */

static ngx_int_t
ngx_http_csibiz_redis_sockaddr(u_char *ip, size_t len, u_char *port,
    size_t port_len, ngx_sockaddr_t *sa, socklen_t *socklen)
{
    ngx_int_t             n;
    in_addr_t             inaddr;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    u_char                inaddr6[16];
    struct sockaddr_in6  *sin6;
#endif

    n = ngx_atoi(port, port_len);

    if (n < 1 || n > 65535) {
        return NGX_ERROR;
    }

    ngx_memzero(sa, sizeof(ngx_sockaddr_t));

    inaddr = ngx_inet_addr(ip, len);

    if (inaddr != INADDR_NONE) {
        sin = &sa->sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = inaddr;
        *socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(ip, len, inaddr6) == NGX_OK) {
        sin6 = &sa->sockaddr_in6;
        sin6->sin6_family = AF_INET6;
        ngx_memcpy(sin6->sin6_addr.s6_addr, inaddr6, 16);
        *socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NGX_ERROR;
    }

    ngx_inet_set_port(&sa->sockaddr, (in_port_t) n);

    return NGX_OK;
}


/* ROLE's answer on a new connection: the master, or it carries nothing */

static ngx_int_t
ngx_http_csibiz_redis_role(ngx_http_csibiz_redis_peer_t *rp,
    redisReply *reply)
{
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 6
        && ngx_strncmp(reply->element[0]->str, "master", 6) == 0)
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, rp->peer.connection->log, 0,
                  "csibiz: redis at %V is not the master (ROLE: %s)",
                  rp->pc.name,
                  (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
                   && reply->element[0]->type == REDIS_REPLY_STRING)
                  ? reply->element[0]->str : "?");

    return NGX_ERROR;
}


/*
 * READONLY: the server became a replica under us.  Nothing more is read
 * from or written to it: every ready connection of the worker goes (with
 * Sentinels they all lead there; the one this came on is closed by the
 * caller), and the next ones ask the Sentinels again.
 */

static void
ngx_http_csibiz_redis_readonly(ngx_http_csibiz_redis_peer_t *rp,
    redisReply *reply)
{
    ngx_uint_t                     i;
    ngx_http_csibiz_pool_t        *pool;
    ngx_http_csibiz_redis_peer_t  *peers;

    pool = rp->peer.pool;

    ngx_log_error(NGX_LOG_ERR, rp->peer.connection->log, 0,
                  "csibiz: redis at %V is read-only, closing its"
                  " connections: %s", rp->pc.name, reply->str);

    if (((ngx_http_csibiz_redis_conf_t *) pool->driver_conf)->sentinels
        == NULL)
    {
        return;
    }

    peers = (ngx_http_csibiz_redis_peer_t *) pool->peers;

    for (i = 0; i < pool->conf->size; i++) {
        if (&peers[i] != rp && peers[i].peer.ready) {
            ngx_http_csibiz_pool_close_peer(&peers[i].peer);
        }
    }
}


/*
 * Each worker keeps a subscription to "+switch-master" on one Sentinel:
 * when the Sentinels switch, the connections to any other server close
 * at once, though the old master may still be reachable from here (a
 * partition between it and the Sentinels), and the next ones ask again.
 * A subscription that breaks moves to the next Sentinel a second later.
 * It is an idle connection to nginx: graceful shutdown closes it.
 */

static void
ngx_http_csibiz_redis_sub_start(ngx_event_t *ev)
{
    ngx_int_t                           rc;
    ngx_addr_t                         *sentinel;
    ngx_connection_t                   *c;
    ngx_http_csibiz_pool_t             *pool;
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    pool = ev->data;
    pd = pool->data;
    rcf = pool->driver_conf;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    sentinel = (ngx_addr_t *) rcf->sentinels->elts + pd->sub_sentinel;

    ngx_memzero(&pd->sub, sizeof(ngx_peer_connection_t));

    pd->sub.sockaddr = sentinel->sockaddr;
    pd->sub.socklen = sentinel->socklen;
    pd->sub.name = &sentinel->name;
    pd->sub.get = ngx_event_get_peer;
    pd->sub.log = pool->log;
    pd->sub.log_error = NGX_ERROR_ERR;

    pd->sub_sent = 0;
    pd->sub_connected = 0;

    rc = ngx_event_connect_peer(&pd->sub);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        pd->sub.connection = NULL;
        ngx_http_csibiz_redis_sub_retry(pool);
        return;
    }

    c = pd->sub.connection;
    c->data = pool;
    c->read->handler = ngx_http_csibiz_redis_sub_read;
    c->write->handler = ngx_http_csibiz_redis_sub_write;
    c->idle = 1;

    pd->sub_reader = redisReaderCreate();
    if (pd->sub_reader == NULL) {
        ngx_http_csibiz_redis_sub_retry(pool);
        return;
    }

    /* until the subscription is confirmed */
    ngx_add_timer(c->read, pool->conf->connect_timeout);

    if (rc == NGX_OK) {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_csibiz_redis_sub_write(ngx_event_t *wev)
{
    ssize_t                             n;
    ngx_connection_t                   *c;
    ngx_http_csibiz_pool_t             *pool;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    c = wev->data;
    pool = c->data;
    pd = pool->data;

    if (!pd->sub_connected) {
        if (ngx_http_csibiz_redis_test_connect(c, pd->sub.name, 1)
            != NGX_OK)
        {
            ngx_http_csibiz_redis_sub_retry(pool);
            return;
        }

        pd->sub_connected = 1;
    }

    while (pd->sub_sent < pd->sub_out.len) {
        n = c->send(c, pd->sub_out.data + pd->sub_sent,
                    pd->sub_out.len - pd->sub_sent);

        if (n == NGX_AGAIN) {
            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_csibiz_redis_sub_retry(pool);
            return;
        }

        pd->sub_sent += n;
    }
}


static void
ngx_http_csibiz_redis_sub_read(ngx_event_t *rev)
{
    u_char                              buf[1024];
    void                               *reply;
    ssize_t                             n;
    redisReply                         *r;
    ngx_connection_t                   *c;
    ngx_http_csibiz_pool_t             *pool;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    c = rev->data;
    pool = c->data;
    pd = pool->data;

    if (c->close) {
        /* graceful shutdown */
        ngx_http_csibiz_redis_sub_close(pool);
        return;
    }

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                      "csibiz: redis sentinel at %V timed out",
                      pd->sub.name);
        ngx_http_csibiz_redis_sub_retry(pool);
        return;
    }

    if (!pd->sub_connected) {
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            return;
        }

        if (n == 0 || n == NGX_ERROR
            || redisReaderFeed(pd->sub_reader, (const char *) buf, n)
               != REDIS_OK)
        {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "csibiz: redis sentinel at %V closed the"
                          " subscription", pd->sub.name);
            ngx_http_csibiz_redis_sub_retry(pool);
            return;
        }

        for ( ;; ) {
            if (redisReaderGetReply(pd->sub_reader, &reply) != REDIS_OK) {
                ngx_http_csibiz_redis_sub_retry(pool);
                return;
            }

            if (reply == NULL) {
                break;
            }

            r = reply;

            if (r->type == REDIS_REPLY_ERROR) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "csibiz: redis sentinel at %V refused the"
                              " subscription: %s", pd->sub.name, r->str);
                freeReplyObject(reply);
                ngx_http_csibiz_redis_sub_retry(pool);
                return;
            }

            if (r->type == REDIS_REPLY_ARRAY && r->elements == 3
                && r->element[0]->type == REDIS_REPLY_STRING
                && r->element[2]->type == REDIS_REPLY_STRING
                && ngx_strcmp(r->element[0]->str, "message") == 0)
            {
                ngx_http_csibiz_redis_switched(pool, c,
                                               (u_char *) r->element[2]->str,
                                               r->element[2]->len);

            } else if (r->type == REDIS_REPLY_ARRAY && rev->timer_set) {
                /* "subscribe": confirmed */
                ngx_del_timer(rev);
            }

            freeReplyObject(reply);
        }
    }
}


/*
 * "+switch-master name old-ip old-port new-ip new-port": the ready
 * connections to any other server than the new master close
 */

static void
ngx_http_csibiz_redis_switched(ngx_http_csibiz_pool_t *pool,
    ngx_connection_t *c, u_char *msg, size_t len)
{
    u_char                         *p, *last, *f[5];
    size_t                          flen[5];
    socklen_t                       socklen;
    ngx_uint_t                      i;
    ngx_sockaddr_t                  sa;
    ngx_http_csibiz_redis_conf_t   *rcf;
    ngx_http_csibiz_redis_peer_t   *peers;

    rcf = pool->driver_conf;

    p = msg;
    last = msg + len;

    for (i = 0; i < 5; i++) {
        f[i] = p;

        while (p < last && *p != ' ') {
            p++;
        }

        flen[i] = p - f[i];

        if (p < last) {
            p++;
        }
    }

    if (flen[0] != rcf->master.len
        || ngx_strncmp(f[0], rcf->master.data, flen[0]) != 0)
    {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                  "csibiz: redis sentinel at %V: +switch-master %*s",
                  ((ngx_http_csibiz_redis_pool_data_t *) pool->data)
                      ->sub.name, len, msg);

    if (ngx_http_csibiz_redis_sockaddr(f[3], flen[3], f[4], flen[4], &sa,
                                       &socklen)
        != NGX_OK)
    {
        /* not an address: every ready connection goes */
        socklen = 0;
    }

    peers = (ngx_http_csibiz_redis_peer_t *) pool->peers;

    for (i = 0; i < pool->conf->size; i++) {
        if (!peers[i].peer.ready) {
            /* a new connection checks ROLE */
            continue;
        }

        if (socklen
            && ngx_cmp_sockaddr(&peers[i].sockaddr.sockaddr,
                                peers[i].socklen, &sa.sockaddr, socklen, 1)
               == NGX_OK)
        {
            continue;
        }

        ngx_http_csibiz_pool_close_peer(&peers[i].peer);
    }
}


static void
ngx_http_csibiz_redis_sub_retry(ngx_http_csibiz_pool_t *pool)
{
    ngx_http_csibiz_redis_conf_t       *rcf;
    ngx_http_csibiz_redis_pool_data_t  *pd;

    pd = pool->data;
    rcf = pool->driver_conf;

    ngx_http_csibiz_redis_sub_close(pool);

    pd->sub_sentinel = (pd->sub_sentinel + 1) % rcf->sentinels->nelts;

    if (!ngx_exiting && !pd->sub_timer.timer_set) {
        ngx_add_timer(&pd->sub_timer, NGX_HTTP_CSIBIZ_REDIS_SUB_RETRY);
    }
}


static void
ngx_http_csibiz_redis_sub_close(ngx_http_csibiz_pool_t *pool)
{
    ngx_http_csibiz_redis_pool_data_t  *pd;

    pd = pool->data;

    if (pd->sub_reader) {
        redisReaderFree(pd->sub_reader);
        pd->sub_reader = NULL;
    }

    if (pd->sub.connection) {
        ngx_close_connection(pd->sub.connection);
        pd->sub.connection = NULL;
    }
}


/* the worker exits: the subscription closes */

void
ngx_http_csibiz_redis_exit_process(ngx_http_csibiz_pool_t *pool)
{
    ngx_http_csibiz_redis_pool_data_t  *pd;

    pd = pool->data;

    if (pd->sub_timer.timer_set) {
        ngx_del_timer(&pd->sub_timer);
    }

    ngx_http_csibiz_redis_sub_close(pool);
}


static void
ngx_http_csibiz_redis_close(ngx_http_csibiz_peer_t *peer)
{
    ngx_http_csibiz_redis_peer_t  *rp;

    rp = (ngx_http_csibiz_redis_peer_t *) peer;

    if (rp->reader) {
        redisReaderFree(rp->reader);
        rp->reader = NULL;
    }

    if (rp->pool) {
        ngx_destroy_pool(rp->pool);
        rp->pool = NULL;
    }

    if (rp->out) {
        ngx_free(rp->out);
        rp->out = NULL;
        rp->out_size = 0;
    }

    rp->out_len = 0;
    rp->out_sent = 0;
    rp->connected = 0;
    rp->asking = 0;

    if (peer->connection) {
        ngx_close_connection(peer->connection);
    }
}


static void
ngx_http_csibiz_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t              *c;
    ngx_http_csibiz_peer_t        *peer;
    ngx_http_csibiz_redis_peer_t  *rp;

    c = wev->data;
    peer = c->data;
    rp = (ngx_http_csibiz_redis_peer_t *) peer;

    if (!rp->connected) {

        if (ngx_http_csibiz_redis_test_connect(c, rp->pc.name,
                                               rp->asking)
            != NGX_OK)
        {
            if (rp->asking) {
                ngx_http_csibiz_redis_ask_next(rp);

            } else {
                ngx_http_csibiz_pool_close_peer(peer);
            }

            return;
        }

        rp->connected = 1;

        if (rp->handshake == 0) {
            /* queues the ops that waited, and posts this event again */
            ngx_http_csibiz_pool_ready(peer);
            return;
        }
    }

    if (rp->out_sent == rp->out_len) {
        return;
    }

    if (ngx_http_csibiz_redis_flush(rp) == NGX_ERROR) {
        if (rp->asking) {
            ngx_http_csibiz_redis_ask_next(rp);

        } else {
            ngx_http_csibiz_pool_close_peer(peer);
        }
    }
}


static ngx_int_t
ngx_http_csibiz_redis_test_connect(ngx_connection_t *c, ngx_str_t *name,
    ngx_uint_t sentinel)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_ERR, c->log, err,
                      "csibiz: connect() to redis %sat %V failed",
                      sentinel ? "sentinel " : "", name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_csibiz_redis_flush(ngx_http_csibiz_redis_peer_t *rp)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = rp->peer.connection;

    while (rp->out_sent < rp->out_len) {
        n = c->send(c, rp->out + rp->out_sent, rp->out_len - rp->out_sent);

        if (n == NGX_AGAIN) {
            /* the write event is edge-triggered: it fires when writable */
            return NGX_AGAIN;
        }

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        ngx_http_csibiz_status_backend(rp->peer.pool,
                                       NGX_HTTP_CSIBIZ_STAT_WRITES);
        rp->out_sent += n;
    }

    rp->out_len = 0;
    rp->out_sent = 0;

    return NGX_OK;
}


static void
ngx_http_csibiz_redis_read_handler(ngx_event_t *rev)
{
    u_char                         buf[4096];
    ssize_t                        n;
    ngx_int_t                      rc;
    ngx_uint_t                     eof;
    ngx_connection_t              *c;
    ngx_http_csibiz_peer_t        *peer;
    ngx_http_csibiz_redis_peer_t  *rp;

    c = rev->data;
    peer = c->data;
    rp = (ngx_http_csibiz_redis_peer_t *) peer;

    if (ngx_http_csibiz_pool_idle_event(peer, rev)) {
        return;
    }

    if (rev->timedout) {
        if (rp->asking) {
            ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                          "csibiz: redis sentinel at %V timed out",
                          rp->pc.name);
            ngx_http_csibiz_redis_ask_next(rp);
            return;
        }

        ngx_http_csibiz_pool_timed_out(peer);
        return;
    }

    if (!rp->connected) {
        return;
    }

    /* edge-triggered: read until the socket is empty, then parse */

    eof = 0;

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            eof = 1;
            break;
        }

        if (redisReaderFeed(rp->reader, (const char *) buf, n) != REDIS_OK) {
            eof = 2;
            break;
        }
    }

    rc = (eof == 2) ? NGX_ERROR : ngx_http_csibiz_redis_process(rp);

    if (rc == NGX_DONE) {
        /* the Sentinel answered: the socket is the master's now */
        return;
    }

    if (rc == NGX_OK && (!eof || peer->connection == NULL)) {
        return;
    }

    if (rp->asking) {
        if (rc == NGX_OK) {
            /* else the reason is logged */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "csibiz: redis sentinel at %V closed the"
                          " connection", rp->pc.name);
        }

        ngx_http_csibiz_redis_ask_next(rp);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_csibiz_pool_close_peer(peer);
        return;
    }

    if (peer->nslots || !peer->ready) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "csibiz: redis closed the connection");
    }

    ngx_http_csibiz_pool_close_peer(peer);
}


/*
 * Takes the complete replies out of the reader, each to the op it
 * answers, in order; an op whose replies are all in goes on at once.
 */

static ngx_int_t
ngx_http_csibiz_redis_process(ngx_http_csibiz_redis_peer_t *rp)
{
    int                          rc;
    void                        *reply;
    redisReply                  *copy;
    ngx_connection_t            *c;
    ngx_http_csibiz_peer_t      *peer;
    ngx_http_csibiz_slot_t      *slot;
    ngx_http_csibiz_redis_op_t  *rop;

    peer = &rp->peer;
    c = peer->connection;

    for ( ;; ) {

        slot = ngx_http_csibiz_pool_head(peer);

        if (peer->ready && slot == NULL
            && rp->reader->pos < rp->reader->len)
        {
            /* nobody asked for it: the stream is out of step */
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "csibiz: unexpected reply from redis");
            return NGX_ERROR;
        }

        ngx_http_csibiz_redis_reply_pool = rp->pool;

        rc = redisReaderGetReply(rp->reader, &reply);

        ngx_http_csibiz_redis_reply_pool = NULL;

        if (rc != REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "csibiz: redis protocol error: %s",
                          rp->reader->errstr);
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        if (rp->asking) {
            /* a Sentinel's reply to AUTH, then to the question */

            if (--rp->handshake == 0) {
                rc = ngx_http_csibiz_redis_named(rp, reply);
                ngx_reset_pool(rp->pool);
                return (rc == NGX_OK) ? NGX_DONE : NGX_ERROR;
            }

            if (((redisReply *) reply)->type == REDIS_REPLY_ERROR) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "csibiz: redis sentinel at %V refused AUTH:"
                              " %s", rp->pc.name,
                              ((redisReply *) reply)->str);
                return NGX_ERROR;
            }

            ngx_reset_pool(rp->pool);
            continue;
        }

        if (!peer->ready) {
            /* a reply to AUTH, SELECT or ROLE */

            if (((redisReply *) reply)->type == REDIS_REPLY_ERROR) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "csibiz: redis refused AUTH, SELECT or ROLE:"
                              " %s", ((redisReply *) reply)->str);
                return NGX_ERROR;
            }

            if (rp->handshake == 1
                && ((ngx_http_csibiz_redis_conf_t *)
                        peer->pool->driver_conf)->sentinels
                && ngx_http_csibiz_redis_role(rp, reply) != NGX_OK)
            {
                return NGX_ERROR;
            }

            ngx_reset_pool(rp->pool);

            if (--rp->handshake == 0) {
                ngx_http_csibiz_pool_ready(peer);

                if (peer->connection == NULL) {
                    return NGX_OK;
                }
            }

            continue;
        }

        if (((redisReply *) reply)->type == REDIS_REPLY_ERROR
            && ngx_strncmp(((redisReply *) reply)->str, "READONLY", 8) == 0)
        {
            ngx_http_csibiz_redis_readonly(rp, reply);
            return NGX_ERROR;
        }

        if (slot->skip) {
            if (((redisReply *) reply)->type == REDIS_REPLY_ERROR) {
                /* its EVALSHA will get NOSCRIPT, and fail */
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "csibiz: redis refused SCRIPT LOAD: %s",
                              ((redisReply *) reply)->str);
            }

            slot->skip--;
            ngx_reset_pool(rp->pool);
            continue;
        }

        if (((redisReply *) reply)->type == REDIS_REPLY_ERROR
            && ngx_strncmp(((redisReply *) reply)->str, "NOSCRIPT", 8) == 0)
        {
            /* flushed behind our back: loaded again on the next use */
            rp->loaded = 0;
        }

        rop = (ngx_http_csibiz_redis_op_t *) slot->op;

        if (rop) {
            copy = ngx_http_csibiz_redis_copy(rop->op.request->pool, reply);
            if (copy == NULL) {
                return NGX_ERROR;
            }

            rop->replies[rop->nreplies++] = copy;
        }

        ngx_reset_pool(rp->pool);

        if (--slot->left) {
            continue;
        }

        ngx_http_csibiz_pool_done(peer, NGX_HTTP_CSIBIZ_OK);

        if (peer->connection == NULL) {
            /* closed by a step that went on from here */
            return NGX_OK;
        }
    }
}


static void
ngx_http_csibiz_redis_result(ngx_http_csibiz_op_t *op,
    ngx_http_csibiz_result_t *res)
{
    ngx_http_csibiz_redis_op_t  *rop;

    rop = (ngx_http_csibiz_redis_op_t *) op;

    res->replies = rop->replies;
    res->nreplies = rop->nreplies;
}
