
/*
 * csibiz-keytool rotate and verify: the sealed columns of the database
 * under the key ring; see csibiz-keytool-db.h.
 *
 * rotate reads a batch of rows sealed under another key than the current
 * one (in key order, after the last key of the batch before: the scan
 * never comes back, and a stopped run starts again on the rows still
 * left), opens and seals them again in memory, and writes them in one
 * short transaction, each row only if its sealed values are still those
 * that were read: a row the module changed meanwhile keeps the module's
 * value (sealed under the current key too, or taken by the next pass).
 * So no lock is held longer than one batch's UPDATE, and the module
 * reads and writes throughout.  The transaction sets csibiz.reseal, for
 * which set_updated_at() leaves updated_at alone: sealing again is no
 * change that a parent made.
 *
 * Plain values live only in a buffer that is wiped after each use; errors
 * show the SQLSTATE and PostgreSQL's primary message, never its DETAIL
 * (which can quote a row).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "csibiz-keyfile.h"
#include "csibiz-keytool-db.h"


#define KT_COLS_MAX    2
#define KT_PASSES      3
#define KT_NAMED_MAX   10       /* refused rows named, per table */
#define KT_PLAIN_MAX   1024
#define KT_SQL_MAX     2048


typedef struct {
    const char      *table;
    const char      *key;
    const char      *type;          /* the key's: bigint or text */
    const char      *first;         /* below every key */
    const char      *cols[KT_COLS_MAX];
    const char      *ads[KT_COLS_MAX];
} kt_table_t;


typedef struct {
    char            *data;
    size_t           len;
    size_t           cap;
} kt_buf_t;


typedef struct {
    PGconn                  *conn;
    const csibiz_keyring_t  *ring;
    const uint8_t           *index;         /* the index key */
    long                     batch;
    long                     limit;         /* rows, 0: all */
    long                     done;          /* rows so far, every table */
    struct timespec          start;
    struct timespec          shown;
} kt_db_t;


/* every sealed column: its table, the table's key, its associated data */
static const kt_table_t  kt_tables[] = {
    { "insured_person", "id", "bigint", "-9223372036854775808",
      { "id_number_enc", "birth_date_enc" }, { "id_number", "birth_date" } },
    { "bank_account", "id", "bigint", "-9223372036854775808",
      { "account_enc", NULL }, { "account_no", NULL } },
    { "declaration", "id", "bigint", "-9223372036854775808",
      { "account_enc", NULL }, { "account_no", NULL } },
    { "debit_export_row", "ref", "text", "",
      { "account_enc", NULL }, { "account_no", NULL } },
};


static int kt_ncols(const kt_table_t *t);
static void kt_sql_error(const kt_table_t *t, const char *what,
    PGresult *res);
static PGresult *kt_select(kt_db_t *db, const kt_table_t *t,
    const char *last, int current);
static long kt_next(kt_db_t *db, const kt_table_t *t, const char *last,
    int current, PGresult **res);
static long kt_count_left(kt_db_t *db, const kt_table_t *t);
static int kt_reseal(kt_db_t *db, const kt_table_t *t, int c,
    const char *hex, char *out, int *why);
static long kt_update(kt_db_t *db, const kt_table_t *t, kt_buf_t *arrays,
    int nparams);
static int kt_rotate_batch(kt_db_t *db, const kt_table_t *t,
    PGresult *res, int pass, long *wanted, long *written, long *refused);
static int kt_rotate(kt_db_t *db, const kt_table_t *t);
static int kt_verify(kt_db_t *db, const kt_table_t *t);
static int kt_reindex(kt_db_t *db);
static int kt_reindex_row(kt_db_t *db, PGresult *res, int r, char *id_hex,
    char *birth_hex);
static double kt_since(const struct timespec *t);
static int kt_buf_add(kt_buf_t *b, const char *s, size_t len);
static int kt_buf_elt(kt_buf_t *b, const char *s);


int
kt_db(const char *cmd, const uint8_t index[CSIBIZ_KEYBYTES],
    const csibiz_keyring_t *ring, const char *conninfo, long batch,
    long limit)
{
    int       rc;
    size_t    i;
    kt_db_t   db;

    memset(&db, 0, sizeof(db));
    db.ring = ring;
    db.index = index;
    db.batch = batch;
    db.limit = limit;

    db.conn = PQconnectdb(conninfo ? conninfo : "");

    if (PQstatus(db.conn) != CONNECTION_OK) {
        fprintf(stderr, "csibiz-keytool: cannot connect to PostgreSQL: %s",
                PQerrorMessage(db.conn));
        PQfinish(db.conn);
        return 1;
    }

    PQsetErrorVerbosity(db.conn, PQERRORS_TERSE);

    rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &db.start);
    db.shown = db.start;

    if (strcmp(cmd, "reindex") == 0) {
        rc = kt_reindex(&db);
        PQfinish(db.conn);
        return rc ? 1 : 0;
    }

    for (i = 0; i < sizeof(kt_tables) / sizeof(kt_tables[0]); i++) {
        if (strcmp(cmd, "rotate") == 0) {
            rc |= kt_rotate(&db, &kt_tables[i]);

        } else {
            rc |= kt_verify(&db, &kt_tables[i]);
        }

        if (rc & 2) {
            break;
        }
    }

    PQfinish(db.conn);

    return rc ? 1 : 0;
}


static int
kt_ncols(const kt_table_t *t)
{
    return t->cols[1] ? 2 : 1;
}


static void
kt_sql_error(const kt_table_t *t, const char *what, PGresult *res)
{
    const char  *state, *msg;

    state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    fprintf(stderr, "csibiz-keytool: %s: %s failed: %s%s%s\n", t->table, what,
            state ? "SQLSTATE " : "", state ? state : "",
            msg ? msg : "no answer");
}


/*
 * The next batch after key last: key, then each sealed column in hex.
 * current >= 0: only rows with a value sealed under another key id.
 */

static PGresult *
kt_select(kt_db_t *db, const kt_table_t *t, const char *last, int current)
{
    int          c, n;
    char         sql[KT_SQL_MAX], other[16];
    size_t       len;
    const char  *params[2];

    /* t.key: a bare "id" in ORDER BY would be the text column made here */
    len = snprintf(sql, sizeof(sql), "SELECT t.%s::text", t->key);

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len, ", encode(%s, 'hex')",
                        t->cols[c]);
    }

    len += snprintf(sql + len, sizeof(sql) - len,
                    " FROM %s AS t WHERE t.%s > $1::%s", t->table, t->key,
                    t->type);

    n = 1;

    if (current >= 0) {
        for (c = 0; c < kt_ncols(t); c++) {
            len += snprintf(sql + len, sizeof(sql) - len,
                            "%s substring(%s FROM 1 FOR 1) <> $2::bytea",
                            c ? " OR" : " AND (", t->cols[c]);
        }

        len += snprintf(sql + len, sizeof(sql) - len, ")");

        snprintf(other, sizeof(other), "\\x%02x", current);
        params[1] = other;
        n = 2;
    }

    snprintf(sql + len, sizeof(sql) - len, " ORDER BY t.%s LIMIT %ld",
             t->key, db->batch);

    params[0] = last;

    return PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
}


/* kt_select() into *res: its rows (0: none, and *res is cleared), or -1 */

static long
kt_next(kt_db_t *db, const kt_table_t *t, const char *last, int current,
    PGresult **res)
{
    long  rows;

    *res = kt_select(db, t, last, current);

    if (PQresultStatus(*res) != PGRES_TUPLES_OK) {
        kt_sql_error(t, "SELECT", *res);
        PQclear(*res);
        return -1;
    }

    rows = PQntuples(*res);

    if (rows == 0) {
        PQclear(*res);
    }

    return rows;
}


/* rows still sealed under another key than the current one; -1 on error */

static long
kt_count_left(kt_db_t *db, const kt_table_t *t)
{
    int          c;
    long         n;
    char         sql[KT_SQL_MAX], cur[16];
    size_t       len;
    PGresult    *res;
    const char  *params[1];

    len = snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE",
                   t->table);

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len,
                        "%s substring(%s FROM 1 FOR 1) <> $1::bytea",
                        c ? " OR" : "", t->cols[c]);
    }

    snprintf(cur, sizeof(cur), "\\x%02x", csibiz_keyring_current(db->ring));
    params[0] = cur;

    res = PQexecParams(db->conn, sql, 1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        kt_sql_error(t, "count", res);
        PQclear(res);
        return -1;
    }

    n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);

    return n;
}


/*
 * One sealed value (hex) sealed again under the current key, in hex into
 * out (CSIBIZ_HEX_SIZE(CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)) bytes); 1 when it
 * was, 0 when it stays as it is (already current; or not openable, and
 * *why says why), -1 on an error.
 */

static int
kt_reseal(kt_db_t *db, const kt_table_t *t, int c, const char *hex,
    char *out, int *why)
{
    int       rc, id;
    size_t    n, plen;
    uint8_t   sealed[CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)];
    uint8_t   again[CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)];
    uint8_t   plain[KT_PLAIN_MAX];

    *why = 0;

    if (csibiz_hex_decode(hex, strlen(hex), sealed, sizeof(sealed), &n) != 0
        || (id = csibiz_seal_version(sealed, n)) < 0)
    {
        *why = 1;
        return 0;
    }

    if (id == csibiz_keyring_current(db->ring)) {
        return 0;
    }

    if (csibiz_keyring_open(db->ring, sealed, n, t->ads[c],
                            strlen(t->ads[c]), plain, sizeof(plain), &plen)
        != 0)
    {
        *why = csibiz_keyring_key(db->ring, id) ? 2 : 3;
        return 0;
    }

    rc = -1;

    if (csibiz_keyring_seal(db->ring, plain, plen, t->ads[c],
                            strlen(t->ads[c]), again, sizeof(again), &n)
        == 0
        && csibiz_hex_encode(again, n, out,
                             CSIBIZ_HEX_SIZE(CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)))
           == 0)
    {
        rc = 1;
    }

    sodium_memzero(plain, sizeof(plain));

    return rc;
}


/*
 * One transaction: the rows of the arrays (key, then old and new hex of
 * each column) written where their sealed values are still the old ones;
 * the rows written, or -1.
 */

static long
kt_update(kt_db_t *db, const kt_table_t *t, kt_buf_t *arrays, int nparams)
{
    int          c, i;
    long         n;
    char         sql[KT_SQL_MAX];
    size_t       len;
    PGresult    *res;
    const char  *params[1 + 2 * KT_COLS_MAX];

    len = snprintf(sql, sizeof(sql), "UPDATE %s AS t SET ", t->table);

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len,
                        "%s%s = decode(v.n%d, 'hex')", c ? ", " : "",
                        t->cols[c], c);
    }

    len += snprintf(sql + len, sizeof(sql) - len,
                    " FROM unnest($1::%s[]", t->type);

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len,
                        ", $%d::text[], $%d::text[]", 2 + 2 * c, 3 + 2 * c);
    }

    len += snprintf(sql + len, sizeof(sql) - len, ") AS v (k");

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len, ", o%d, n%d", c, c);
    }

    len += snprintf(sql + len, sizeof(sql) - len, ") WHERE t.%s = v.k",
                    t->key);

    for (c = 0; c < kt_ncols(t); c++) {
        len += snprintf(sql + len, sizeof(sql) - len,
                        " AND t.%s IS NOT DISTINCT FROM decode(v.o%d, 'hex')",
                        t->cols[c], c);
    }

    for (i = 0; i < nparams; i++) {
        params[i] = arrays[i].data;
    }

    res = PQexec(db->conn, "BEGIN; SET LOCAL csibiz.reseal = 'on';"
                           " SET LOCAL lock_timeout = '5s'");

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        kt_sql_error(t, "BEGIN", res);
        PQclear(res);
        PQclear(PQexec(db->conn, "ROLLBACK"));
        return -1;
    }

    PQclear(res);

    res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        kt_sql_error(t, "UPDATE", res);
        PQclear(res);
        PQclear(PQexec(db->conn, "ROLLBACK"));
        return -1;
    }

    n = atol(PQcmdTuples(res));
    PQclear(res);

    res = PQexec(db->conn, "COMMIT");

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        kt_sql_error(t, "COMMIT", res);
        PQclear(res);
        return -1;
    }

    PQclear(res);

    return n;
}


/*
 * One batch of rotate: the rows of res sealed again, written; the rows
 * that needed it into *wanted, those written into *written.  0, or -1.
 */

static int
kt_rotate_batch(kt_db_t *db, const kt_table_t *t, PGresult *res, int pass,
    long *wanted, long *written, long *refused)
{
    int          c, r, rc, why[KT_COLS_MAX], state[KT_COLS_MAX], changed;
    int          nparams;
    long         n;
    kt_buf_t     arrays[1 + 2 * KT_COLS_MAX];
    const char  *key;
    char         text[KT_COLS_MAX][CSIBIZ_HEX_SIZE(
                     CSIBIZ_SEALED_LEN(KT_PLAIN_MAX))];

    static const char  *reasons[] = {
        "", "not a sealed value", "wrong key, AD or data",
        "its key id is not given"
    };

    nparams = 1 + 2 * kt_ncols(t);
    memset(arrays, 0, sizeof(arrays));
    rc = -1;
    *wanted = 0;
    *written = 0;

    for (c = 0; c < nparams; c++) {
        if (kt_buf_add(&arrays[c], "{", 1) != 0) {
            goto done;
        }
    }

    for (r = 0; r < PQntuples(res); r++) {
        key = PQgetvalue(res, r, 0);
        changed = 0;

        for (c = 0; c < kt_ncols(t); c++) {
            state[c] = 0;
            why[c] = 0;

            if (PQgetisnull(res, r, 1 + c)) {
                continue;
            }

            state[c] = kt_reseal(db, t, c, PQgetvalue(res, r, 1 + c),
                                 text[c], &why[c]);

            if (state[c] < 0) {
                goto done;
            }

            changed |= state[c];

            if (why[c] && pass == 0) {
                if ((*refused)++ < KT_NAMED_MAX) {
                    /* the row's key, never its value */
                    fprintf(stderr, "csibiz-keytool: %s %s: %s: cannot "
                            "open (%s)\n", t->table, key, t->cols[c],
                            reasons[why[c]]);
                }
            }
        }

        if (!changed) {
            continue;
        }

        (*wanted)++;

        if (kt_buf_elt(&arrays[0], key) != 0) {
            goto done;
        }

        for (c = 0; c < kt_ncols(t); c++) {
            if (PQgetisnull(res, r, 1 + c)) {
                if (kt_buf_elt(&arrays[1 + 2 * c], NULL) != 0
                    || kt_buf_elt(&arrays[2 + 2 * c], NULL) != 0)
                {
                    goto done;
                }

                continue;
            }

            if (kt_buf_elt(&arrays[1 + 2 * c], PQgetvalue(res, r, 1 + c))
                != 0
                || kt_buf_elt(&arrays[2 + 2 * c],
                              state[c] ? text[c] : PQgetvalue(res, r, 1 + c))
                   != 0)
            {
                goto done;
            }
        }
    }

    if (*wanted == 0) {
        rc = 0;
        goto done;
    }

    for (c = 0; c < nparams; c++) {
        if (kt_buf_add(&arrays[c], "}", 1) != 0) {
            goto done;
        }
    }

    n = kt_update(db, t, arrays, nparams);

    if (n >= 0) {
        *written = n;
        rc = 0;
    }

done:

    for (c = 0; c < nparams; c++) {
        free(arrays[c].data);
    }

    return rc;
}


/* 0 done, 1 rows refused or left, 2 an error (stop) */

static int
kt_rotate(kt_db_t *db, const kt_table_t *t)
{
    int         pass, current;
    char       *last;
    long        done, skipped, refused, wanted, written, left, rows;
    double      secs;
    PGresult   *res;

    current = csibiz_keyring_current(db->ring);
    done = 0;
    refused = 0;

    for (pass = 0; pass < KT_PASSES; pass++) {
        last = strdup(t->first);
        skipped = 0;

        if (last == NULL) {
            return 2;
        }

        for ( ;; ) {
            if (db->limit && db->done >= db->limit) {
                /* -n: the rest for another run, which starts there */
                skipped = 0;
                break;
            }

            rows = kt_next(db, t, last, current, &res);

            if (rows < 0) {
                free(last);
                return 2;
            }

            if (rows == 0) {
                break;
            }

            if (kt_rotate_batch(db, t, res, pass, &wanted, &written,
                                &refused)
                != 0)
            {
                PQclear(res);
                free(last);
                return 2;
            }

            /* a row changed since it was read: the next pass takes it */
            done += written;
            db->done += written;
            skipped += wanted - written;

            free(last);
            last = strdup(PQgetvalue(res, rows - 1, 0));
            PQclear(res);

            if (last == NULL) {
                return 2;
            }

            if (kt_since(&db->shown) >= 1.0) {
                clock_gettime(CLOCK_MONOTONIC, &db->shown);
                secs = kt_since(&db->start);
                fprintf(stderr, "csibiz-keytool: rotate: %s: %ld sealed "
                        "again (%.0f s)\n", t->table, done, secs);
            }
        }

        free(last);

        if (skipped == 0) {
            break;
        }
    }

    left = kt_count_left(db, t);

    if (left < 0) {
        return 2;
    }

    printf("%s: %ld sealed again, %ld refused, %ld left under other keys\n",
           t->table, done, refused, left);
    fflush(stdout);

    return left ? 1 : 0;
}


/* every value opened: per column, how many under each key id */

static int
kt_verify(kt_db_t *db, const kt_table_t *t)
{
    int         c, r, id, rc;
    char       *last;
    long        count[KT_COLS_MAX][256], failed[KT_COLS_MAX], total, rows;
    size_t      n, plen;
    PGresult   *res;
    uint8_t     sealed[CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)];
    uint8_t     plain[KT_PLAIN_MAX];

    memset(count, 0, sizeof(count));
    memset(failed, 0, sizeof(failed));

    last = strdup(t->first);
    if (last == NULL) {
        return 2;
    }

    for ( ;; ) {
        rows = kt_next(db, t, last, -1, &res);

        if (rows < 0) {
            free(last);
            return 2;
        }

        if (rows == 0) {
            break;
        }

        for (r = 0; r < rows; r++) {
            for (c = 0; c < kt_ncols(t); c++) {
                if (PQgetisnull(res, r, 1 + c)) {
                    continue;
                }

                id = -1;

                if (csibiz_hex_decode(PQgetvalue(res, r, 1 + c),
                                      PQgetlength(res, r, 1 + c), sealed,
                                      sizeof(sealed), &n)
                    == 0)
                {
                    id = csibiz_seal_version(sealed, n);
                }

                if (id < 0
                    || csibiz_keyring_open(db->ring, sealed, n, t->ads[c],
                                           strlen(t->ads[c]), plain,
                                           sizeof(plain), &plen)
                       != 0)
                {
                    if (failed[c]++ < KT_NAMED_MAX) {
                        fprintf(stderr, "csibiz-keytool: %s %s: %s: cannot "
                                "open (key id %d)\n", t->table,
                                PQgetvalue(res, r, 0), t->cols[c], id);
                    }

                    continue;
                }

                sodium_memzero(plain, plen);
                count[c][id]++;
            }
        }

        free(last);
        last = strdup(PQgetvalue(res, rows - 1, 0));
        PQclear(res);

        if (last == NULL) {
            return 2;
        }
    }

    free(last);
    rc = 0;

    for (c = 0; c < kt_ncols(t); c++) {
        total = failed[c];

        for (id = 0; id < 256; id++) {
            total += count[c][id];
        }

        printf("%s.%s: %ld sealed:", t->table, t->cols[c], total);

        for (id = 0; id < 256; id++) {
            if (count[c][id]) {
                printf(" key %d %ld,", id, count[c][id]);
            }
        }

        printf(" cannot open %ld\n", failed[c]);

        if (failed[c]) {
            rc = 1;
        }
    }

    fflush(stdout);

    return rc;
}


/*
 * The blind indexes of insured_person made again under the index key of
 * -k, from the sealed ID numbers and birth dates (opened with the seal
 * keys): id_number_hmac and birth_date_hmac, as the roster import makes
 * them.  For a new secret file, while the module is stopped: it looks
 * ID numbers up by the index.  A row whose indexes are already those of
 * the key is left; so a run that stopped is run again.
 */

static int
kt_reindex(kt_db_t *db)
{
    int          r, rc;
    char        *last, limit[32];
    long         rows, done, refused, wanted, n;
    kt_buf_t     arrays[5];
    PGresult    *res;
    const char  *params[5], *sql;
    char         id_hex[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char         birth_hex[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];

    static const kt_table_t  person = {
        "insured_person", "id", "bigint", "-9223372036854775808",
        { "id_number_enc", "birth_date_enc" }, { "id_number", "birth_date" }
    };

    sql = "SELECT t.id::text, encode(t.id_number_enc, 'hex'),"
          " encode(t.birth_date_enc, 'hex'), encode(t.id_number_hmac, 'hex'),"
          " encode(t.birth_date_hmac, 'hex')"
          " FROM insured_person AS t WHERE t.id > $1::bigint"
          " ORDER BY t.id LIMIT $2::int";

    memset(arrays, 0, sizeof(arrays));
    last = strdup(person.first);
    done = 0;
    refused = 0;
    rc = 2;

    if (last == NULL) {
        return 2;
    }

    snprintf(limit, sizeof(limit), "%ld", db->batch);

    for ( ;; ) {
        params[0] = last;
        params[1] = limit;

        res = PQexecParams(db->conn, sql, 2, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            kt_sql_error(&person, "SELECT", res);
            PQclear(res);
            goto done;
        }

        rows = PQntuples(res);

        if (rows == 0) {
            PQclear(res);
            break;
        }

        wanted = 0;

        for (r = 0; r < 5; r++) {
            arrays[r].len = 0;

            if (kt_buf_add(&arrays[r], "{", 1) != 0) {
                PQclear(res);
                goto done;
            }
        }

        for (r = 0; r < rows; r++) {
            switch (kt_reindex_row(db, res, r, id_hex, birth_hex)) {

            case 0:
                continue;

            case 1:
                break;

            default:
                if (refused++ < KT_NAMED_MAX) {
                    fprintf(stderr, "csibiz-keytool: insured_person %s: "
                            "cannot open its ID number or birth date\n",
                            PQgetvalue(res, r, 0));
                }

                continue;
            }

            wanted++;

            if (kt_buf_elt(&arrays[0], PQgetvalue(res, r, 0)) != 0
                || kt_buf_elt(&arrays[1], PQgetvalue(res, r, 1)) != 0
                || kt_buf_elt(&arrays[2], PQgetvalue(res, r, 2)) != 0
                || kt_buf_elt(&arrays[3], id_hex) != 0
                || kt_buf_elt(&arrays[4], birth_hex) != 0)
            {
                PQclear(res);
                goto done;
            }
        }

        free(last);
        last = strdup(PQgetvalue(res, rows - 1, 0));
        PQclear(res);

        if (last == NULL) {
            goto done;
        }

        if (wanted == 0) {
            continue;
        }

        for (r = 0; r < 5; r++) {
            if (kt_buf_add(&arrays[r], "}", 1) != 0) {
                goto done;
            }

            params[r] = arrays[r].data;
        }

        res = PQexec(db->conn, "BEGIN; SET LOCAL csibiz.reseal = 'on';"
                               " SET LOCAL lock_timeout = '5s'");
        n = (PQresultStatus(res) == PGRES_COMMAND_OK) ? 0 : -1;
        PQclear(res);

        if (n == 0) {
            res = PQexecParams(db->conn,
                      "UPDATE insured_person AS t"
                      " SET id_number_hmac = decode(v.h, 'hex'),"
                      " birth_date_hmac = decode(v.b, 'hex')"
                      " FROM unnest($1::bigint[], $2::text[], $3::text[],"
                      " $4::text[], $5::text[]) AS v (k, ie, be, h, b)"
                      " WHERE t.id = v.k"
                      " AND t.id_number_enc = decode(v.ie, 'hex')"
                      " AND t.birth_date_enc = decode(v.be, 'hex')",
                      5, NULL, params, NULL, NULL, 0);

            if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                n = atol(PQcmdTuples(res));

            } else {
                kt_sql_error(&person, "UPDATE", res);
                n = -1;
            }

            PQclear(res);
        }

        res = PQexec(db->conn, n < 0 ? "ROLLBACK" : "COMMIT");

        if (n < 0 || PQresultStatus(res) != PGRES_COMMAND_OK) {
            if (n >= 0) {
                kt_sql_error(&person, "COMMIT", res);
            }

            PQclear(res);
            goto done;
        }

        PQclear(res);
        done += n;

        if (kt_since(&db->shown) >= 1.0) {
            clock_gettime(CLOCK_MONOTONIC, &db->shown);
            fprintf(stderr, "csibiz-keytool: reindex: insured_person: %ld "
                    "indexed again (%.0f s)\n", done, kt_since(&db->start));
        }
    }

    printf("insured_person: %ld indexed again, %ld refused\n", done,
           refused);
    fflush(stdout);

    rc = refused ? 1 : 0;

done:

    free(last);

    for (r = 0; r < 5; r++) {
        free(arrays[r].data);
    }

    return rc;
}


/*
 * The indexes of row r under db->index, in hex: 1 when they differ from
 * the stored ones, 0 when they are the same, -1 when a value does not
 * open.  The opened values are wiped.
 */

static int
kt_reindex_row(kt_db_t *db, PGresult *res, int r, char *id_hex,
    char *birth_hex)
{
    int       rc;
    size_t    n, len, blen;
    uint8_t   sealed[CSIBIZ_SEALED_LEN(KT_PLAIN_MAX)];
    uint8_t   mac[CSIBIZ_HMACBYTES];
    char      msg[CSIBIZ_HMACBYTES * 2 + CSIBIZ_BIRTH_LEN];
    char      id[KT_PLAIN_MAX], birth[KT_PLAIN_MAX];

    rc = -1;

    if (csibiz_hex_decode(PQgetvalue(res, r, 1), PQgetlength(res, r, 1),
                          sealed, sizeof(sealed), &n)
        != 0
        || csibiz_keyring_open(db->ring, sealed, n, "id_number", 9,
                               (uint8_t *) id, sizeof(id), &len)
           != 0
        || csibiz_hex_decode(PQgetvalue(res, r, 2), PQgetlength(res, r, 2),
                             sealed, sizeof(sealed), &n)
           != 0
        || csibiz_keyring_open(db->ring, sealed, n, CSIBIZ_BIRTH_AD,
                               sizeof(CSIBIZ_BIRTH_AD) - 1, (uint8_t *) birth,
                               sizeof(birth), &blen)
           != 0
        || blen != CSIBIZ_BIRTH_LEN)
    {
        goto done;
    }

    /* as the module and the roster import make them */
    csibiz_hmac(db->index, id, len, mac);
    csibiz_hex_encode(mac, sizeof(mac), id_hex,
                      CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES));

    memcpy(msg, id_hex, CSIBIZ_HMACBYTES * 2);
    memcpy(msg + CSIBIZ_HMACBYTES * 2, birth, CSIBIZ_BIRTH_LEN);
    csibiz_hmac_label(db->index, CSIBIZ_BIRTH_AD, msg, sizeof(msg), mac);
    csibiz_hex_encode(mac, sizeof(mac), birth_hex,
                      CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES));

    rc = (strcmp(id_hex, PQgetvalue(res, r, 3)) != 0
          || strcmp(birth_hex, PQgetvalue(res, r, 4)) != 0);

done:

    sodium_memzero(id, sizeof(id));
    sodium_memzero(birth, sizeof(birth));
    sodium_memzero(msg, sizeof(msg));

    return rc;
}


static double
kt_since(const struct timespec *t)
{
    struct timespec  now;

    clock_gettime(CLOCK_MONOTONIC, &now);

    return (now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}


/* len bytes of s appended (a NUL counted in len stays, unlisted) */

static int
kt_buf_add(kt_buf_t *b, const char *s, size_t len)
{
    char    *p;
    size_t   cap;

    if (b->len + len + 1 > b->cap) {
        cap = b->cap ? b->cap : 4096;

        while (b->len + len + 1 > cap) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            fprintf(stderr, "csibiz-keytool: out of memory\n");
            return -1;
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';

    return 0;
}


/*
 * An element of an array literal after the "{": keys and hex need no
 * escapes (digits, letters, '-'), so each is quoted as it is; NULL is
 * SQL's NULL.
 */

static int
kt_buf_elt(kt_buf_t *b, const char *s)
{
    if (b->len > 1 && kt_buf_add(b, ",", 1) != 0) {
        return -1;
    }

    if (s == NULL) {
        return kt_buf_add(b, "NULL", 4);
    }

    if (kt_buf_add(b, "\"", 1) != 0 || kt_buf_add(b, s, strlen(s)) != 0) {
        return -1;
    }

    return kt_buf_add(b, "\"", 1);
}
