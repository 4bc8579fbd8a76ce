
/*
 * PostgreSQL for the handlers: one statement, declared once and prepared
 * per connection, whose result comes to one step.  The result is freed
 * after the step returns: copy what must outlive it.
 */


#ifndef _NGX_HTTP_CSIBIZ_POSTGRES_H_INCLUDED_
#define _NGX_HTTP_CSIBIZ_POSTGRES_H_INCLUDED_


#include "ngx_http_csibiz_module.h"
#include "ngx_http_csibiz_step.h"

#include <libpq-fe.h>


typedef struct ngx_http_csibiz_pg_stmt_s  ngx_http_csibiz_pg_stmt_t;

struct ngx_http_csibiz_pg_stmt_s {
    const char                    *name;
    const char                    *sql;
    int                            nparams;
    ngx_uint_t                     index;      /* 0: not numbered yet */
    ngx_http_csibiz_pg_stmt_t     *batch;
};

#define ngx_http_csibiz_pg_stmt(name, sql, nparams)                         \
    { name, sql, nparams, 0, NULL }

/*
 * A statement whose runs in one event-loop pass, of one pool, are sent as
 * one run of "batch": the same parameters, each an array of the requests'
 * values in order, and the same columns after a first one, the ordinal of
 * the request (1, 2, ...) whose row it is.  Each request gets a result of
 * its own rows, as if it ran alone.
 */

#define ngx_http_csibiz_pg_batched(name, sql, nparams, batch)               \
    { name, sql, nparams, 0, batch }


/*
 * Text parameters; params[i].data == NULL is SQL NULL.  Returns NGX_DONE,
 * or 500 if nothing started.
 */

ngx_int_t ngx_http_csibiz_pg_query(ngx_http_request_t *r,
    ngx_http_csibiz_pg_stmt_t *stmt, ngx_str_t *params,
    ngx_http_csibiz_step_pt next, void *flow);


/* a copy of a field of row 0 in the request's pool */
ngx_int_t ngx_http_csibiz_pg_copy(ngx_http_request_t *r, PGresult *res,
    int column, ngx_str_t *dst);


#endif /* _NGX_HTTP_CSIBIZ_POSTGRES_H_INCLUDED_ */
