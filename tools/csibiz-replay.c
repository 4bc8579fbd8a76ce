/*
 * csibiz-replay: the open-loop engine of tools/replay (docs/load-testing.md).
 *
 * Reads a plan on standard input (tools/replay makes it from a replay
 * file), then sends each request at its intended time over HTTP/1.1
 * keep-alive connections driven by one epoll loop.  A request never
 * waits for an earlier answer: when every connection of a node is busy
 * a new one is opened, so a slow server cannot slow the schedule down,
 * and each latency runs from the intended time, not from the moment the
 * request could be written (no coordinated omission).
 *
 * Plan: "CSIBIZ-PLAN 1\n", then per request a line
 *     T_US STATUS SESSION LABEL_LEN ABSENT_LEN REQ_LEN\n
 * followed by the label, the absent string and the raw request bytes.
 * T_US is the recorded start in microseconds from the first request (-1
 * when unknown), STATUS the status expected, SESSION a number that keeps
 * a session on one node (0: none), the label names the endpoint in the
 * results, and a body containing the absent string is an error.
 *
 * Results: a log-linear histogram (HDR-style: 64 sub-buckets per power
 * of two, at most 1.6 % above the true value) per endpoint, per error
 * code and per second; a summary on stdout, a progress line a second on
 * stderr and, with --json, the whole of it as JSON.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>


#define HIST_N       2560
#define MAX_NODES    64
#define MAX_GROUPS   4096
#define RESP_KEEP    65536

/* connects in progress per node: more at once overflow the server's
 * listen queue, whose dropped SYNs come back a second later */
#define MAX_CONNECTING  32

/* epoll's data: the descriptor and the connection's serial number, so that
 * an event of a connection closed earlier in the same batch is not taken
 * for its descriptor's next owner */
#define EV_DATA(c)  (((uint64_t) (c)->serial << 32) | (uint32_t) (c)->fd)
#define TIMER_DATA  UINT64_MAX


typedef struct {
    uint64_t    n;
    uint64_t    max;
    uint32_t    b[HIST_N];
} hist_t;


typedef struct {
    char       *name;
    hist_t      h;
    uint64_t    errors;
    uint64_t    unexpected;
} group_t;


typedef struct {
    int64_t     t_us;
    char       *label;
    char       *absent;
    char       *req;
    size_t      req_len;
    uint32_t    session;
    int         status;
    int         group;
    int         head;
} preq_t;


typedef struct pending_s  pending_t;

struct pending_s {
    preq_t     *r;
    int64_t     intended;
    pending_t  *next;
};


typedef struct conn_s  conn_t;

struct conn_s {
    preq_t     *r;
    char       *buf;
    conn_t     *next_idle;
    conn_t     *prev_idle;
    uint32_t    serial;
    int64_t     intended;
    int64_t     idle_since;
    size_t      woff;
    size_t      blen;
    size_t      bcap;
    size_t      hlen;
    int64_t     clen;
    int         fd;
    int         node;
    int         state;
    int         served;
    int         retried;
    int         status;
    int         chunked;
    int         close;
};

enum { C_CONNECTING = 1, C_IDLE, C_TAKEN, C_BUSY };


typedef struct {
    struct sockaddr_in  addr;
    char               *name;
    conn_t             *idle;
    pending_t          *backlog;
    pending_t          *backlog_tail;
    int                 conns;
    int                 connecting;
} node_t;


typedef struct {
    hist_t     *h;
    uint64_t    asked;
    uint64_t    sent;
    uint64_t    done;
    uint64_t    errors;
} second_t;


static preq_t    *plan;
static size_t     nplan;
static node_t     nodes[MAX_NODES];
static int        nnodes;
static conn_t   **conns;
static int        nconns_cap;
static int        epfd;
static int        tfd;

static group_t    groups[MAX_GROUPS];
static int        ngroups;
static int        nendpoints;
static group_t    mism[MAX_GROUPS];
static int        nmism;
static hist_t     total, lag;
static second_t  *secs;
static size_t     nsecs;

static double     opt_rate;
static double     opt_speed;
static double     opt_duration;
static double     opt_timeout = 10;
static long       opt_loops = -1;
static int        opt_conns = 8;
static int        opt_max_conns = 20000;
static int        opt_by_session;
static int        opt_quiet;
static int        closed_loop;
static const char *opt_json;

static int64_t    t0;
static int64_t    span_us;
static uint64_t   k_next, k_limit = UINT64_MAX;
static int64_t    dur_us = INT64_MAX;
static uint64_t   inflight, backlogged, sent, done, nexpected, nunexpected;
static int        open_conns, max_open, connected;
static uint32_t   serial;
static int64_t    last_done_at;
static double     cpu_s;
static uint64_t   prog_sent, prog_done, prog_err;


static void
die(const char *fmt, const char *arg)
{
    fprintf(stderr, "csibiz-replay: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}


static int64_t
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static void *
xmalloc(size_t n)
{
    void  *p;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        die("%s", "out of memory");
    }

    return p;
}


/* ------------------------------------------------------------ histogram */

static int
hist_index(uint64_t v)
{
    int  msb, shift, idx;

    if (v < 128) {
        return (int) v;
    }

    msb = 63 - __builtin_clzll(v);
    shift = msb - 6;
    idx = 128 + (shift - 1) * 64 + (int) ((v >> shift) - 64);

    return idx < HIST_N ? idx : HIST_N - 1;
}


/* the highest value of the bucket, as HdrHistogram reports */

static uint64_t
hist_value(int idx)
{
    int       shift;
    uint64_t  m;

    if (idx < 128) {
        return (uint64_t) idx;
    }

    shift = (idx - 128) / 64 + 1;
    m = (uint64_t) ((idx - 128) % 64 + 64);

    return ((m + 1) << shift) - 1;
}


static void
hist_add(hist_t *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    if (v > h->max) {
        h->max = v;
    }
}


static uint64_t
hist_pct(const hist_t *h, double p)
{
    int       i;
    uint64_t  want, seen, v;

    if (h->n == 0) {
        return 0;
    }

    want = (uint64_t) ceil(p / 100.0 * (double) h->n);
    if (want == 0) {
        want = 1;
    }

    seen = 0;
    for (i = 0; i < HIST_N; i++) {
        seen += h->b[i];
        if (seen >= want) {
            v = hist_value(i);
            return v < h->max ? v : h->max;
        }
    }

    return h->max;
}


/* ---------------------------------------------------------------- groups */

static int
group_find(group_t *g, int *n, const char *name)
{
    int  i;

    for (i = 0; i < *n; i++) {
        if (strcmp(g[i].name, name) == 0) {
            return i;
        }
    }

    if (*n == MAX_GROUPS) {
        return MAX_GROUPS - 1;
    }

    g[*n].name = strdup(name);
    return (*n)++;
}


static second_t *
second_at(int64_t t)
{
    size_t  s, n;

    s = t < t0 ? 0 : (size_t) ((t - t0) / 1000000);

    if (s >= nsecs) {
        n = s + 64;
        secs = realloc(secs, n * sizeof(second_t));
        if (secs == NULL) {
            die("%s", "out of memory");
        }
        memset(secs + nsecs, 0, (n - nsecs) * sizeof(second_t));
        nsecs = n;
    }

    return &secs[s];
}


/* ------------------------------------------------------------------ plan */

static void
read_plan(FILE *f)
{
    int            st, n;
    char           line[256];
    size_t         cap, ll, al, rl;
    long long      t;
    unsigned long  ses;
    preq_t        *r;

    if (fgets(line, sizeof(line), f) == NULL
        || strcmp(line, "CSIBIZ-PLAN 1\n") != 0)
    {
        die("%s", "standard input is not a plan (tools/replay makes them)");
    }

    cap = 1024;
    plan = xmalloc(cap * sizeof(preq_t));

    while (fgets(line, sizeof(line), f) != NULL) {
        n = sscanf(line, "%lld %d %lu %zu %zu %zu", &t, &st, &ses, &ll, &al,
                   &rl);
        if (n != 6 || rl == 0) {
            die("plan: bad line: %s", line);
        }

        if (nplan == cap) {
            cap *= 2;
            plan = realloc(plan, cap * sizeof(preq_t));
            if (plan == NULL) {
                die("%s", "out of memory");
            }
        }

        r = &plan[nplan++];
        r->t_us = t;
        r->status = st;
        r->session = (uint32_t) ses;
        r->label = xmalloc(ll + 1);
        r->absent = al ? xmalloc(al + 1) : NULL;
        r->req = xmalloc(rl);
        r->req_len = rl;

        if (fread(r->label, 1, ll, f) != ll
            || (al && fread(r->absent, 1, al, f) != al)
            || fread(r->req, 1, rl, f) != rl)
        {
            die("%s", "plan: truncated");
        }

        r->label[ll] = '\0';
        if (al) {
            r->absent[al] = '\0';
        }
        r->head = rl > 5 && memcmp(r->req, "HEAD ", 5) == 0;
        r->group = group_find(groups, &ngroups, r->label);
    }

    if (nplan == 0) {
        die("%s", "plan: no requests");
    }

    nendpoints = ngroups;
}


/* the intended time of the k-th request, from t0 */

static int64_t
intended_at(uint64_t k)
{
    uint64_t  loop, i;

    if (opt_rate > 0) {
        return (int64_t) ((double) k * 1e6 / opt_rate);
    }

    loop = k / nplan;
    i = k % nplan;

    return (int64_t) (((double) loop * (double) span_us
                       + (double) (plan[i].t_us - plan[0].t_us))
                      / opt_speed);
}


/* ----------------------------------------------------------- connections */

static const char *
err_name(int err)
{
    switch (err) {
    case ECONNREFUSED:  return "ECONNREFUSED";
    case ECONNRESET:    return "ECONNRESET";
    case ETIMEDOUT:     return "timeout";
    case EPIPE:         return "EPIPE";
    case EHOSTUNREACH:  return "EHOSTUNREACH";
    case ENETUNREACH:   return "ENETUNREACH";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EMFILE:        return "EMFILE";
    case 0:             return "closed";
    default:            return "socket_error";
    }
}


static void dispatch(int node, preq_t *r, int64_t intended);
static void conn_send(conn_t *c);
static void record(preq_t *r, int64_t intended, int status,
    const char *code, int err, int absent);


static pending_t *
backlog_pop(node_t *nd)
{
    pending_t  *p;

    p = nd->backlog;
    if (p != NULL) {
        nd->backlog = p->next;
        if (nd->backlog == NULL) {
            nd->backlog_tail = NULL;
        }
        backlogged--;
    }

    return p;
}


static void
conn_close(conn_t *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    conns[c->fd] = NULL;
    nodes[c->node].conns--;

    /* the server may close an idle one: out of its node's list */
    if (c->state == C_IDLE) {
        if (c->prev_idle) {
            c->prev_idle->next_idle = c->next_idle;
        } else {
            nodes[c->node].idle = c->next_idle;
        }
        if (c->next_idle) {
            c->next_idle->prev_idle = c->prev_idle;
        }
    }
    if (c->state == C_CONNECTING) {
        nodes[c->node].connecting--;
    }
    open_conns--;
    free(c->buf);
    free(c);
}


static conn_t *
conn_open(int node)
{
    int      fd, one;
    conn_t  *c;
    struct epoll_event  ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        return NULL;
    }

    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(fd, (struct sockaddr *) &nodes[node].addr,
                sizeof(struct sockaddr_in)) == -1
        && errno != EINPROGRESS)
    {
        one = errno;
        close(fd);
        errno = one;
        return NULL;
    }

    if (fd >= nconns_cap) {
        int n = fd * 2 + 64;
        conns = realloc(conns, n * sizeof(conn_t *));
        if (conns == NULL) {
            die("%s", "out of memory");
        }
        memset(conns + nconns_cap, 0, (n - nconns_cap) * sizeof(conn_t *));
        nconns_cap = n;
    }

    c = calloc(1, sizeof(conn_t));
    if (c == NULL) {
        die("%s", "out of memory");
    }

    c->fd = fd;
    c->node = node;
    c->state = C_CONNECTING;
    conns[fd] = c;
    nodes[node].conns++;
    nodes[node].connecting++;
    if (++open_conns > max_open) {
        max_open = open_conns;
    }

    c->serial = ++serial;
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = EV_DATA(c);
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);

    return c;
}


static void
record(preq_t *r, int64_t intended, int status, const char *code, int err,
    int absent)
{
    int        g, bad;
    char       key[512];
    int64_t    now;
    uint64_t   l;
    second_t  *s;

    now = now_us();
    l = now > intended ? (uint64_t) (now - intended) : 0;
    last_done_at = now;
    done++;
    inflight--;

    bad = err >= 0 || status != r->status || absent;

    hist_add(&total, l);
    hist_add(&groups[r->group].h, l);

    s = second_at(now);
    if (s->h == NULL) {
        s->h = calloc(1, sizeof(hist_t));
        if (s->h == NULL) {
            die("%s", "out of memory");
        }
    }
    hist_add(s->h, l);
    s->done++;

    if (err >= 0 || status >= 400 || bad) {
        if (err >= 0) {
            snprintf(key, sizeof(key), "%s", err_name(err));
        } else {
            snprintf(key, sizeof(key), "%d %s", status,
                     code && *code ? code : "-");
        }

        g = group_find(groups, &ngroups, key);
        hist_add(&groups[g].h, l);
        if (bad) {
            groups[g].unexpected++;
        }
    }

    if (bad) {
        nunexpected++;
        groups[r->group].errors++;
        s->errors++;

        if (err >= 0) {
            snprintf(key, sizeof(key), "%s: %s", r->label, err_name(err));
        } else if (status != r->status) {
            snprintf(key, sizeof(key), "%s: %d, expected %d", r->label,
                     status, r->status);
        } else {
            snprintf(key, sizeof(key), "%s: %d with %s in the body",
                     r->label, status, r->absent);
        }

        g = group_find(mism, &nmism, key);
        mism[g].errors++;

    } else {
        nexpected++;
    }
}


/* a connection that failed: the request is retried once on a new one when
 * the connection had served before (the server may close an idle one just
 * as a request goes out), else it is an error */

static void
conn_fail(conn_t *c, int err)
{
    int         node, retry;
    preq_t     *r;
    int64_t     intended;
    pending_t  *p;

    r = c->r;
    intended = c->intended;
    node = c->node;
    retry = r && c->served && !c->retried && c->blen == 0
            && c->state == C_BUSY && err != ETIMEDOUT;

    conn_close(c);

    if (r == NULL) {
        /* a connection opened for the waiting requests: the first of them
         * gets its error, or a refusing server would keep them forever */
        p = err == ETIMEDOUT ? NULL : backlog_pop(&nodes[node]);
        if (p != NULL) {
            record(p->r, p->intended, 0, NULL, err, 0);
            free(p);
        }
        return;
    }

    if (retry) {
        c = conn_open(node);
        if (c != NULL) {
            c->r = r;
            c->intended = intended;
            c->retried = 1;
            return;
        }
        err = errno;
    }

    record(r, intended, 0, NULL, err, 0);
}


static void
conn_idle(conn_t *c)
{
    node_t     *nd;
    pending_t  *p;

    nd = &nodes[c->node];
    c->r = NULL;
    c->state = C_IDLE;
    c->idle_since = now_us();

    p = backlog_pop(nd);
    if (p != NULL) {
        c->r = p->r;
        c->intended = p->intended;
        free(p);
        conn_send(c);
        return;
    }

    c->prev_idle = NULL;
    c->next_idle = nd->idle;
    if (nd->idle) {
        nd->idle->prev_idle = c;
    }
    nd->idle = c;
}


static void
conn_send(conn_t *c)
{
    ssize_t             n;
    int64_t             now;
    struct epoll_event  ev;

    if (c->state != C_BUSY) {
        c->state = C_BUSY;
        c->woff = 0;
        c->blen = 0;
        c->hlen = 0;
        c->clen = -1;
        c->chunked = 0;
        c->close = 0;
        c->status = 0;
    }

    if (c->woff == 0) {
        now = now_us();
        hist_add(&lag, now > c->intended ? (uint64_t) (now - c->intended) : 0);
        sent++;
        second_at(now)->sent++;
    }

    while (c->woff < c->r->req_len) {
        n = write(c->fd, c->r->req + c->woff, c->r->req_len - c->woff);
        if (n > 0) {
            c->woff += (size_t) n;
            continue;
        }
        if (n == -1 && errno == EAGAIN) {
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.u64 = EV_DATA(c);
            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
            return;
        }
        conn_fail(c, n == -1 ? errno : EPIPE);
        return;
    }
}


/* the response is complete: returns 1 (and sets hlen etc. as parsed) */

static int
resp_complete(conn_t *c)
{
    char     *p, *e, *end, *h;
    size_t    at;
    unsigned long  sz;

    if (c->hlen == 0) {
        e = memmem(c->buf, c->blen, "\r\n\r\n", 4);
        if (e == NULL) {
            return 0;
        }

        c->hlen = (size_t) (e - c->buf) + 4;
        if (c->blen < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0) {
            c->status = 0;
            c->close = 1;
            return 1;
        }

        c->status = atoi(c->buf + 9);
        c->clen = -1;
        c->close = c->buf[7] == '0';

        for (h = memmem(c->buf, c->hlen, "\r\n", 2);
             h && h + 2 < c->buf + c->hlen - 2;
             h = memmem(h + 2, (size_t) (c->buf + c->hlen - h - 2), "\r\n", 2))
        {
            p = h + 2;
            if (strncasecmp(p, "content-length:", 15) == 0) {
                c->clen = strtoll(p + 15, NULL, 10);
            } else if (strncasecmp(p, "transfer-encoding:", 18) == 0) {
                c->chunked = strncasecmp(p + 18, " chunked", 8) == 0;
            } else if (strncasecmp(p, "connection:", 11) == 0) {
                c->close = strncasecmp(p + 11, " close", 6) == 0;
            }
        }

        if (c->r->head || c->status == 204 || c->status == 304
            || c->status < 200)
        {
            c->clen = 0;
            c->chunked = 0;
        }
    }

    if (c->chunked) {
        at = c->hlen;
        end = c->buf + c->blen;
        for ( ;; ) {
            p = c->buf + at;
            e = memmem(p, (size_t) (end - p), "\r\n", 2);
            if (e == NULL) {
                return 0;
            }
            sz = strtoul(p, NULL, 16);
            at = (size_t) (e - c->buf) + 2 + sz + 2;
            if (sz == 0) {
                return at <= c->blen;
            }
            if (at > c->blen) {
                return 0;
            }
        }
    }

    if (c->clen >= 0) {
        return c->blen >= c->hlen + (size_t) c->clen;
    }

    return 0;                            /* until the server closes */
}


static void
conn_done(conn_t *c)
{
    int      i, status, absent;
    char    *p, code[64];
    preq_t  *r;
    int64_t  intended;

    r = c->r;
    intended = c->intended;
    status = c->status;
    code[0] = '\0';

    if (status >= 300 && c->blen > c->hlen) {
        p = memmem(c->buf + c->hlen, c->blen - c->hlen, "\"code\":\"", 8);
        if (p) {
            p += 8;
            for (i = 0; i < 63 && p < c->buf + c->blen && *p != '"'; i++) {
                code[i] = *p++;
            }
            code[i] = '\0';
        }
    }

    /* as expected by its status, but the body may say otherwise */
    absent = r->absent && c->blen > c->hlen
             && memmem(c->buf + c->hlen, c->blen - c->hlen, r->absent,
                       strlen(r->absent)) != NULL;

    record(r, intended, status, code, -1, absent);

    c->served++;

    if (c->close) {
        conn_close(c);
        return;
    }

    conn_idle(c);
}


static void
conn_event(conn_t *c, uint32_t events)
{
    int                 err;
    ssize_t             n;
    socklen_t           len;
    struct epoll_event  ev;

    if (c->state == C_CONNECTING) {
        err = 0;
        len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            conn_fail(c, err ? err : ECONNREFUSED);
            return;
        }
        if (!(events & EPOLLOUT)) {
            return;
        }

        ev.events = EPOLLIN;
        ev.data.u64 = EV_DATA(c);
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        nodes[c->node].connecting--;
        connected++;

        if (c->r) {
            conn_send(c);
        } else {
            conn_idle(c);
        }
        return;
    }

    if ((events & EPOLLOUT) && c->state == C_BUSY
        && c->woff < c->r->req_len)
    {
        ev.events = EPOLLIN;
        ev.data.u64 = EV_DATA(c);
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        conn_send(c);
        return;
    }

    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        return;
    }

    for ( ;; ) {
        if (c->bcap - c->blen < 4096) {
            c->bcap = c->bcap ? c->bcap * 2 : 8192;
            c->buf = realloc(c->buf, c->bcap);
            if (c->buf == NULL) {
                die("%s", "out of memory");
            }
        }

        n = read(c->fd, c->buf + c->blen, c->bcap - c->blen - 1);

        if (n > 0) {
            if (c->state != C_BUSY) {
                conn_close(c);            /* bytes nobody asked for */
                return;
            }
            c->blen += (size_t) n;
            c->buf[c->blen] = '\0';
            if (resp_complete(c)) {
                conn_done(c);
                return;
            }
            if (c->blen > RESP_KEEP * 64) {
                conn_fail(c, EMSGSIZE);
                return;
            }
            continue;
        }

        if (n == -1 && errno == EAGAIN) {
            return;
        }

        if (n == 0 && c->state == C_BUSY && c->hlen && c->clen < 0
            && !c->chunked)
        {
            c->close = 1;                 /* a body up to the close */
            conn_done(c);
            return;
        }

        if (c->state != C_BUSY) {
            conn_close(c);
            return;
        }

        conn_fail(c, n == -1 ? errno : 0);
        return;
    }
}


/* ------------------------------------------------------------- schedule */

static void
dispatch(int node, preq_t *r, int64_t intended)
{
    conn_t     *c;
    node_t     *nd;
    pending_t  *p;

    nd = &nodes[node];
    inflight++;

    /* an idle connection, unless the server may have closed it meanwhile */
    while ((c = nd->idle) != NULL) {
        nd->idle = c->next_idle;
        if (nd->idle) {
            nd->idle->prev_idle = NULL;
        }
        c->state = C_TAKEN;             /* out of the list */
        if (intended - c->idle_since < 30000000) {
            c->r = r;
            c->intended = intended;
            conn_send(c);
            return;
        }
        conn_close(c);
    }

    if (open_conns < (closed_loop ? opt_conns : opt_max_conns)
        && nd->connecting < MAX_CONNECTING)
    {
        c = conn_open(node);
        if (c != NULL) {
            c->r = r;
            c->intended = intended;
            return;
        }
        if (errno != EMFILE && errno != ENFILE) {
            record(r, intended, 0, NULL, errno, 0);
            return;
        }
    }

    p = xmalloc(sizeof(pending_t));
    p->r = r;
    p->intended = intended;
    p->next = NULL;
    if (nd->backlog_tail) {
        nd->backlog_tail->next = p;
    } else {
        nd->backlog = p;
    }
    nd->backlog_tail = p;
    backlogged++;
}


static int
pick_node(uint64_t k, preq_t *r)
{
    if (nnodes == 1) {
        return 0;
    }

    if (opt_by_session && r->session) {
        return (int) (r->session % (uint32_t) nnodes);
    }

    return (int) (k % (uint64_t) nnodes);
}


/* sends what is due; returns the time of the next request or -1 */

static int64_t
schedule(int64_t now)
{
    int       batch;
    int64_t   t;
    preq_t   *r;

    if (closed_loop) {
        while (k_next < k_limit && inflight < (uint64_t) opt_conns
               && (opt_duration <= 0 || now - t0 < dur_us))
        {
            r = &plan[k_next % nplan];
            second_at(now)->asked++;
            dispatch(pick_node(k_next, r), r, now);
            k_next++;
        }
        return -1;
    }

    /* a batch at a time, so that answers are read between batches even
     * when the loop runs behind */
    for (batch = 0; k_next < k_limit; batch++) {
        t = intended_at(k_next);
        if (batch == 64 && t < dur_us && t0 + t <= now) {
            return now;
        }
        if (t >= dur_us) {
            k_limit = k_next;
            break;
        }
        if (t0 + t > now) {
            return t0 + t;
        }
        r = &plan[k_next % nplan];
        second_at(t0 + t)->asked++;
        dispatch(pick_node(k_next, r), r, t0 + t);
        k_next++;
    }

    return -1;
}


/* connections for the requests waiting for one: a closed connection
 * makes room that nobody else would fill */

static void
refill(void)
{
    int      n, limit;
    conn_t  *c;

    limit = closed_loop ? opt_conns : opt_max_conns;

    for (n = 0; n < nnodes; n++) {
        while (nodes[n].backlog && open_conns < limit
               && nodes[n].connecting < MAX_CONNECTING
               && (uint64_t) nodes[n].connecting < backlogged)
        {
            c = conn_open(n);
            if (c == NULL) {
                return;
            }
        }
    }
}


static void
check_timeouts(int64_t now)
{
    int         fd, n;
    conn_t     *c;
    pending_t  *p;

    for (n = 0; n < nnodes; n++) {
        while (nodes[n].backlog
               && now - nodes[n].backlog->intended
                  > (int64_t) (opt_timeout * 1e6))
        {
            p = backlog_pop(&nodes[n]);
            record(p->r, p->intended, 0, NULL, ETIMEDOUT, 0);
            free(p);
        }
    }

    for (fd = 0; fd < nconns_cap; fd++) {
        c = conns[fd];
        if (c && c->r && now - c->intended > (int64_t) (opt_timeout * 1e6)) {
            c->retried = 1;
            conn_fail(c, ETIMEDOUT);
        }
    }
}


static void
progress(int64_t now)
{
    second_t  *s;
    double     el;

    if (opt_quiet) {
        return;
    }

    el = (double) (now - t0) / 1e6;
    s = nsecs ? second_at(now - 1000000) : NULL;

    fprintf(stderr, "replay: %5.0f s  sent %llu/s  done %llu/s  "
            "in flight %llu  connections %d  errors %llu  "
            "p99 %.2f ms  max %.2f ms%s\n", el,
            (unsigned long long) (sent - prog_sent),
            (unsigned long long) (done - prog_done),
            (unsigned long long) inflight, open_conns,
            (unsigned long long) (nunexpected - prog_err),
            s && s->h ? hist_pct(s->h, 99) / 1000.0 : 0.0,
            s && s->h ? s->h->max / 1000.0 : 0.0,
            backlogged ? "  (waiting for a connection)" : "");

    prog_sent = sent;
    prog_done = done;
    prog_err = nunexpected;
}


/* --------------------------------------------------------------- output */

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for ( ; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fprintf(f, "\\%c", *s);
        } else if ((unsigned char) *s < 0x20) {
            fprintf(f, "\\u%04x", *s);
        } else {
            fputc(*s, f);
        }
    }
    fputc('"', f);
}


static void
json_hist(FILE *f, const hist_t *h)
{
    fprintf(f, "\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
            "\"p999\":%.3f,\"max\":%.3f", (unsigned long long) h->n,
            hist_pct(h, 50) / 1e3, hist_pct(h, 90) / 1e3,
            hist_pct(h, 99) / 1e3, hist_pct(h, 99.9) / 1e3, h->max / 1e3);
}


static void
write_json(const char *path, double elapsed, double asked, double achieved)
{
    int     i, first;
    FILE   *f;
    size_t  s, last;

    f = fopen(path, "w");
    if (f == NULL) {
        die("cannot write %s", path);
    }

    fprintf(f, "{\"mode\":\"%s\",\"asked_rate\":%.1f,\"achieved_rate\":%.1f,"
            "\"speed\":%g,\"duration_s\":%.3f,\"scheduled\":%llu,"
            "\"sent\":%llu,\"completed\":%llu,\"as_expected\":%llu,"
            "\"unexpected\":%llu,\"connections_max\":%d,"
            "\"replayer_cpu_s\":%.3f,\"nodes\":[",
            closed_loop ? "closed" : opt_rate > 0 ? "rate" : "speed",
            asked, achieved, opt_speed, elapsed,
            (unsigned long long) k_next, (unsigned long long) sent,
            (unsigned long long) done, (unsigned long long) nexpected,
            (unsigned long long) nunexpected, max_open, cpu_s);
    for (i = 0; i < nnodes; i++) {
        fprintf(f, "%s", i ? "," : "");
        json_str(f, nodes[i].name);
    }

    fprintf(f, "],\n\"latency_ms\":{");
    json_hist(f, &total);
    fprintf(f, "},\n\"send_lag_ms\":{");
    json_hist(f, &lag);

    fprintf(f, "},\n\"endpoints\":[");
    for (i = 0; i < nendpoints; i++) {
        fprintf(f, "%s\n{\"name\":", i ? "," : "");
        json_str(f, groups[i].name);
        fprintf(f, ",\"errors\":%llu,", (unsigned long long) groups[i].errors);
        json_hist(f, &groups[i].h);
        fputc('}', f);
    }

    fprintf(f, "],\n\"codes\":[");
    for (i = nendpoints; i < ngroups; i++) {
        fprintf(f, "%s\n{\"name\":", i > nendpoints ? "," : "");
        json_str(f, groups[i].name);
        fprintf(f, ",\"unexpected\":%llu,",
                (unsigned long long) groups[i].unexpected);
        json_hist(f, &groups[i].h);
        fputc('}', f);
    }

    fprintf(f, "],\n\"mismatches\":[");
    for (i = 0; i < nmism; i++) {
        fprintf(f, "%s\n{\"what\":", i ? "," : "");
        json_str(f, mism[i].name);
        fprintf(f, ",\"count\":%llu}", (unsigned long long) mism[i].errors);
    }

    fprintf(f, "],\n\"timeline\":[");
    last = 0;
    for (s = 0; s < nsecs; s++) {
        if (secs[s].asked || secs[s].sent || secs[s].done) {
            last = s + 1;
        }
    }
    first = 1;
    for (s = 0; s < last; s++) {
        fprintf(f, "%s\n{\"t\":%zu,\"asked\":%llu,\"sent\":%llu,"
                "\"done\":%llu,\"errors\":%llu,", first ? "" : ",", s,
                (unsigned long long) secs[s].asked,
                (unsigned long long) secs[s].sent,
                (unsigned long long) secs[s].done,
                (unsigned long long) secs[s].errors);
        if (secs[s].h) {
            json_hist(f, secs[s].h);
        } else {
            fprintf(f, "\"count\":0");
        }
        fputc('}', f);
        first = 0;
    }
    fprintf(f, "]}\n");

    if (fclose(f) != 0) {
        die("cannot write %s", path);
    }
}


static void
print_row(const char *name, uint64_t errs, const hist_t *h)
{
    printf("  %-36.36s %8llu %7llu %8.2f %8.2f %8.2f %8.2f %8.2f\n", name,
           (unsigned long long) h->n, (unsigned long long) errs,
           hist_pct(h, 50) / 1e3, hist_pct(h, 90) / 1e3,
           hist_pct(h, 99) / 1e3, hist_pct(h, 99.9) / 1e3, h->max / 1e3);
}


static void
summary(void)
{
    int            i;
    double         elapsed, asked, achieved, sched;
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    cpu_s = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
            + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    elapsed = (double) ((last_done_at > t0 ? last_done_at : now_us()) - t0)
              / 1e6;
    if (elapsed <= 0) {
        elapsed = 1e-6;
    }

    /* asked: the requests over the span of their schedule */
    if (opt_rate > 0) {
        asked = opt_rate;
    } else if (closed_loop) {
        asked = 0;
    } else {
        sched = k_next > 1 ? (double) intended_at(k_next - 1) / 1e6 : 0;
        if (opt_duration > 0) {
            sched = opt_duration;
        }
        asked = sched > 0 ? (double) k_next / sched : 0;
    }
    achieved = (double) done / elapsed;

    printf("tools/replay: %llu requests in %.2f s (%.0f/s",
           (unsigned long long) done, elapsed, achieved);
    if (closed_loop) {
        printf(", closed loop, concurrency %d", opt_conns);
    } else if (opt_rate > 0) {
        printf(", asked %g/s", opt_rate);
    } else {
        printf(", asked %.0f/s: %g x the recorded pace", asked, opt_speed);
    }
    printf(", %d connection%s at most): %llu as expected, %llu not; "
           "p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", max_open,
           max_open == 1 ? "" : "s", (unsigned long long) nexpected,
           (unsigned long long) nunexpected, hist_pct(&total, 50) / 1e3,
           hist_pct(&total, 99) / 1e3, total.max / 1e3);

    printf("tools/replay: the replayer's own CPU time: %.2f s, %.1f us a"
           " request\n", cpu_s, done ? cpu_s * 1e6 / (double) done : 0.0);

    if (!closed_loop) {
        printf("tools/replay: send lag (write time - intended time): "
               "p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n",
               hist_pct(&lag, 50) / 1e3, hist_pct(&lag, 99) / 1e3,
               lag.max / 1e3,
               hist_pct(&lag, 99) > 10000
               ? ": the replayer or its connections fell behind" : "");
    }

    printf("  %-36s %8s %7s %8s %8s %8s %8s %8s\n", "endpoint (ms)", "count",
           "errors", "p50", "p90", "p99", "p99.9", "max");
    for (i = 0; i < nendpoints; i++) {
        print_row(groups[i].name, groups[i].errors, &groups[i].h);
    }

    if (ngroups > nendpoints) {
        printf("  %-36s %8s %7s\n", "status and error code", "count",
               "unexp.");
        for (i = nendpoints; i < ngroups; i++) {
            print_row(groups[i].name, groups[i].unexpected, &groups[i].h);
        }
    }

    for (i = 0; i < nmism; i++) {
        printf("tools/replay:   %s (%llux)\n", mism[i].name,
               (unsigned long long) mism[i].errors);
    }

    if (opt_json) {
        write_json(opt_json, elapsed, asked, achieved);
    }
}


/* ------------------------------------------------------------------ main */

static void
add_node(const char *spec)
{
    char             *host, *port, *copy;
    struct addrinfo   hints, *res;

    if (nnodes == MAX_NODES) {
        die("%s", "--nodes: too many");
    }

    copy = strdup(spec);
    if (strncmp(copy, "http://", 7) == 0) {
        memmove(copy, copy + 7, strlen(copy + 7) + 1);
    }
    copy[strcspn(copy, "/")] = '\0';
    host = copy;
    port = strrchr(copy, ':');
    if (port == NULL) {
        die("--nodes: HOST:PORT, not %s", spec);
    }
    *port++ = '\0';

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        die("cannot resolve %s", spec);
    }

    memcpy(&nodes[nnodes].addr, res->ai_addr, sizeof(struct sockaddr_in));
    freeaddrinfo(res);
    nodes[nnodes].name = strdup(spec);
    nnodes++;
    free(copy);
}


static double
num_arg(const char *v, const char *name)
{
    char    *end;
    double   d;

    d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(d >= 0)) {
        die("%s: not a number", name);
    }

    return d;
}


int
main(int argc, char **argv)
{
    int                 i, n, fd;
    char               *list, *tok;
    int64_t             now, next, next_prog, next_scan, wake, armed;
    struct rlimit       rl;
    struct itimerspec   its;
    struct epoll_event  evs[512], ev;

    for (i = 1; i < argc; i++) {
        const char  *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--quiet") == 0) {
            opt_quiet = 1;
            continue;
        }
        if (v == NULL) {
            die("%s needs a value", a);
        }
        i++;
        if (strcmp(a, "--rate") == 0) {
            opt_rate = num_arg(v, a);
        } else if (strcmp(a, "--speed") == 0) {
            opt_speed = num_arg(v, a);
        } else if (strcmp(a, "--duration") == 0) {
            opt_duration = num_arg(v, a);
        } else if (strcmp(a, "--loop") == 0) {
            opt_loops = (long) num_arg(v, a);
        } else if (strcmp(a, "--timeout") == 0) {
            opt_timeout = num_arg(v, a);
        } else if (strcmp(a, "--connections") == 0) {
            opt_conns = (int) num_arg(v, a);
        } else if (strcmp(a, "--max-connections") == 0) {
            opt_max_conns = (int) num_arg(v, a);
        } else if (strcmp(a, "--by") == 0) {
            opt_by_session = strcmp(v, "session") == 0;
        } else if (strcmp(a, "--json") == 0) {
            opt_json = v;
        } else if (strcmp(a, "--nodes") == 0) {
            list = strdup(v);
            for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                add_node(tok);
            }
            free(list);
        } else {
            die("unknown option %s", a);
        }
    }

    if (nnodes == 0) {
        die("%s", "--nodes HOST:PORT[,...] is required");
    }
    if (opt_conns < 1) {
        opt_conns = 1;
    }
    if (opt_max_conns < opt_conns) {
        opt_max_conns = opt_conns;
    }
    if (opt_timeout <= 0) {
        opt_timeout = 10;
    }

    read_plan(stdin);

    if (opt_rate <= 0 && opt_speed <= 0) {
        if (plan[0].t_us >= 0) {
            opt_speed = 1;
        } else {
            closed_loop = 1;
        }
    }

    if (opt_speed > 0 && opt_rate <= 0) {
        for (i = 0; i < (int) nplan; i++) {
            if (plan[i].t_us < 0) {
                die("%s", "--speed: the file has no recorded times (\"t\")");
            }
        }
        /* one loop lasts the recording plus its mean gap */
        span_us = plan[nplan - 1].t_us - plan[0].t_us;
        span_us += nplan > 1 ? span_us / (int64_t) (nplan - 1) : 1000000;
        if (span_us <= 0) {
            span_us = 1;
        }
    }

    if (opt_duration > 0) {
        dur_us = (int64_t) (opt_duration * 1e6);
        if (opt_loops > 0) {
            k_limit = (uint64_t) opt_loops * nplan;
        }
    } else {
        k_limit = (uint64_t) (opt_loops > 0 ? opt_loops : 1) * nplan;
    }

    /* a connection per request in flight: as many descriptors as allowed */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY
            && (rlim_t) opt_max_conns + 16 > rl.rlim_cur)
        {
            opt_max_conns = (int) rl.rlim_cur - 16;
        }
    }

    signal(SIGPIPE, SIG_IGN);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd == -1 || tfd == -1) {
        die("%s", "epoll or timerfd: not available");
    }
    ev.events = EPOLLIN;
    ev.data.u64 = TIMER_DATA;
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);

    /* the first connections are opened before the clock starts */
    for (n = 0; n < nnodes; n++) {
        for (i = 0; i < opt_conns; i++) {
            if (conn_open(n) == NULL) {
                break;
            }
        }
    }

    /* ... and connected, within a second */
    now = now_us();
    while (connected < open_conns && now_us() - now < 1000000) {
        n = epoll_wait(epfd, evs, 512, 100);
        for (i = 0; i < n; i++) {
            fd = (int) (uint32_t) evs[i].data.u64;
            if (evs[i].data.u64 != TIMER_DATA && fd < nconns_cap && conns[fd]
                && conns[fd]->serial == (uint32_t) (evs[i].data.u64 >> 32))
            {
                conn_event(conns[fd], evs[i].events);
            }
        }
    }

    t0 = now_us();
    next_prog = t0 + 1000000;
    next_scan = t0 + 100000;
    armed = -1;

    for ( ;; ) {
        now = now_us();
        next = now >= t0 ? schedule(now) : t0;

        if (now >= next_prog) {
            progress(now);
            next_prog += 1000000;
        }
        if (backlogged) {
            refill();
        }
        if (now >= next_scan) {
            check_timeouts(now);
            next_scan = now + 100000;
        }

        if (k_next >= k_limit && inflight == 0) {
            break;
        }
        if (closed_loop && opt_duration > 0 && now - t0 >= dur_us
            && inflight == 0)
        {
            break;
        }

        wake = next_prog < next_scan ? next_prog : next_scan;
        if (next >= 0 && next < wake) {
            wake = next;
        }

        if (wake <= now) {
            n = epoll_wait(epfd, evs, 512, 0);
        } else {
            if (wake != armed) {
                memset(&its, 0, sizeof(its));
                its.it_value.tv_sec = wake / 1000000;
                its.it_value.tv_nsec = (wake % 1000000) * 1000;
                timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
                armed = wake;
            }
            n = epoll_wait(epfd, evs, 512, -1);
        }

        for (i = 0; i < n; i++) {
            if (evs[i].data.u64 == TIMER_DATA) {
                uint64_t  exp;

                if (read(tfd, &exp, sizeof(exp)) < 0) {
                    /* EAGAIN: nothing expired */
                }
                armed = -1;
                continue;
            }
            fd = (int) (uint32_t) evs[i].data.u64;
            if (fd < nconns_cap && conns[fd]
                && conns[fd]->serial == (uint32_t) (evs[i].data.u64 >> 32))
            {
                conn_event(conns[fd], evs[i].events);
            }
        }
    }

    if (!opt_quiet && done > prog_done) {
        progress(now_us());
    }

    summary();

    return nunexpected ? 1 : 0;
}
