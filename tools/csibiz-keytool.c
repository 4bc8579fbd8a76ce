
/*
 * csibiz-keytool: the module's keyed operations from the command line,
 * for ops tools such as tools/roster-add that write what the module reads
 * (the ID number's blind index and its sealed copy) and read what it
 * sealed (account numbers, for the banks' debit files).
 *
 * The keys are derived from the secret file as the module does it
 * (csibiz-keyfile.c).
 *
 * Values can be read from standard input ("-", or no argument), so that
 * personal data need not appear in the process list or shell history.
 *
 * Batch modes, one process for any number of rows: -f N applies a
 * command to field N of every tab-separated line (psql COPY's text
 * format); "roster" checks and seals a schools' roster CSV into rows for
 * COPY, with the lib/ validators the module itself uses; "csv" turns any
 * CSV into such rows.  Refused rows are reported with their line number.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "csibiz_bank.h"
#include "csibiz_crypto.h"
#include "csibiz_csv.h"
#include "csibiz_validate.h"
#include "csibiz-keyfile.h"
#include "csibiz-keytool-db.h"


#define KEYTOOL_VALUE_MAX     4096
#define KEYTOOL_SPEC_MAX      4096
#define KEYTOOL_FIELDS_MAX    64
#define KEYTOOL_ERROR_MAX     512

/* the schools' roster CSV, docs/operations.md */
#define ROSTER_COLUMNS        8
/* with the optional 9th: the handbook number */
#define ROSTER_COLUMNS_MAX    9
#define ROSTER_SCHOOL_MAX     100

#define KEYTOOL_SEALED_HEX(len)  CSIBIZ_HEX_SIZE(CSIBIZ_SEALED_LEN(len))


typedef struct {
    uint8_t          index[CSIBIZ_KEYBYTES];
    csibiz_keyring_t ring;          /* ring.keys[0] seals */
    const char      *ad;
    csibiz_date_t    today;
} keytool_t;


typedef struct {
    char            *buf;
    size_t           cap;
    size_t           len;
    unsigned long    line;          /* the record's first line */
    unsigned long    next;          /* lines read so far */
} keytool_reader_t;


static void usage(FILE *out);
static int load_keys(const char *path, const char *spec, keytool_t *kt);
static int read_value(const char *arg, char *buf, size_t size, size_t *len);
static const char *kt_index(keytool_t *kt, const char *value, size_t len,
    char *id, char *hex);
static int kt_seal(keytool_t *kt, const char *value, size_t len, char *hex,
    size_t size);
static const char *kt_birth(keytool_t *kt, const char *index,
    size_t index_len, const char *birth, size_t len, char *enc, char *mac);
static const char *kt_open(keytool_t *kt, const char *value, size_t len,
    char *plain, size_t size, size_t *n);
static void out_copy(const char *s, size_t len);
static void out_bytea(const char *hex);
static int cmd_value(keytool_t *kt, const char *cmd, const char *value,
    size_t len);
static int cmd_fields(keytool_t *kt, const char *cmd, long field);
static int read_record(FILE *in, keytool_reader_t *rd);
static int blank(const char *s, size_t len);
static int field_is(const char *s, size_t len, const char *a,
    const char *b);
static int date_field(const char *s, size_t len, const csibiz_date_t *today);
static int cmd_csv(long columns);
static void roster_error(char *err, const char *column, const char *reason);
static int roster_row(keytool_t *kt, csibiz_csv_field_t *f, size_t n,
    char *err);
static int cmd_roster(keytool_t *kt);


static void
usage(FILE *out)
{
    fputs(
"usage: csibiz-keytool [KEYS] [-a AD] COMMAND [VALUE | -]\n"
"       csibiz-keytool [KEYS] [-a AD] -f N COMMAND   < tsv\n"
"       csibiz-keytool [KEYS] roster                < roster.csv\n"
"       csibiz-keytool [KEYS] [-d CONNINFO] [-b ROWS] [-n ROWS] rotate\n"
"       csibiz-keytool [KEYS] [-d CONNINFO] verify | reindex\n"
"       csibiz-keytool csv COLUMNS                  < file.csv\n"
"KEYS:  [-k SECRET_FILE] [-s ID:SEAL_KEY_FILE ...]\n"
"\n"
"  index ID_NUMBER   hex HMAC of the normalized ID number under the index\n"
"                    key: insured_person.id_number_hmac\n"
"  seal TEXT         hex of TEXT sealed (XChaCha20-Poly1305) under the\n"
"                    current seal key, its id first, with AD:\n"
"                    insured_person.id_number_enc\n"
"  open HEX          the text of a sealed HEX (checked against AD), under\n"
"                    the seal key its id names; a leading \\x or \\\\x\n"
"                    (bytea as psql prints it) is skipped\n"
"  id ID_NUMBER      index, seal and the mask (110***********002X) of an ID\n"
"                    number, tab-separated\n"
"\n"
"  -k SECRET_FILE    the module's csibiz_secret_file (default: the\n"
"                    CSIBIZ_SECRET_FILE environment variable)\n"
"  -s ID:FILE        a seal key, as the module's csibiz_seal_key FILE\n"
"                    id=ID; repeated for older keys, the current one\n"
"                    first (default: the CSIBIZ_SEAL_KEYS environment\n"
"                    variable, \"ID:FILE ID:FILE ...\"; without either,\n"
"                    the secret file's own seal key, id 1)\n"
"  -a AD             associated data for seal and open (default id_number;\n"
"                    account numbers: account_no)\n"
"\n"
"VALUE \"-\" or none: one line is read from standard input, so that\n"
"personal data stays out of the process list.\n"
"\n"
"Batch modes (one process for any number of rows):\n"
"\n"
"  -f N COMMAND      standard input is lines of tab-separated fields (psql\n"
"                    COPY text format); each line is written with its field\n"
"                    N (from 1) replaced by what COMMAND makes of it: id\n"
"                    makes 3 fields; birth (field N a birth date\n"
"                    YYYY-MM-DD, field N - 1 its person's id_number_hmac)\n"
"                    makes 2: insured_person.birth_date_enc and\n"
"                    birth_date_hmac.  Sealed values and HMACs are written\n"
"                    \\\\x<hex>, as COPY reads bytea.  A refused value: the\n"
"                    line is left out and reported on standard error as\n"
"                    \"line N: reason\"; the exit status is then 1.\n"
"  roster            standard input is a schools' roster CSV (UTF-8, 8\n"
"                    columns: id_number, name, si_card_no, category,\n"
"                    school, phone, gender, birth_date, and an optional\n"
"                    9th, handbook_no; a first line starting with\n"
"                    id_number is a header).  Writes one COPY row per\n"
"                    record: line, error, id_number_hmac,\n"
"                    id_number_enc, name, gender, birth_date_enc,\n"
"                    birth_date_hmac, si_card_no, category, school,\n"
"                    phone, handbook_no.\n"
"                    error is \\N for a good row; for a refused one it says\n"
"                    why (\"id_number: checksum; phone: format\") and the\n"
"                    other columns are \\N.  Checked as the module checks.\n"
"  csv COLUMNS       standard input is CSV; writes one COPY row per record:\n"
"                    line, error, and COLUMNS fields (error \\N, or\n"
"                    \"columns: 3, want 4\", \"quote\", \"encoding\" and the\n"
"                    fields \\N).  Needs no key.\n"
"\n"
"Key rotation (the database of -d CONNINFO, default the\n"
"CSIBIZ_PG_CONNINFO environment variable, else libpq's PG* variables):\n"
"\n"
"  rotate            seals every sealed column again under the current\n"
"                    seal key: in transactions of -b ROWS rows (default\n"
"                    1000), in key order, only rows sealed under another\n"
"                    key (so a stopped run continues where it stopped),\n"
"                    each row written only if unchanged since it was read.\n"
"                    Progress on standard error; one line per table on\n"
"                    standard output: rows sealed again, refused (not\n"
"                    openable: their ids on standard error), left under\n"
"                    other keys.  Exit status 0 when none is left.\n"
"                    -n ROWS: stop after the batch that reaches ROWS rows\n"
"                    sealed again (the next run goes on from there).\n"
"  verify            opens every sealed value; one line per column: how\n"
"                    many under each key id, and how many cannot be\n"
"                    opened (exit status 1 when any).\n"
"  reindex           makes insured_person's blind indexes (id_number_hmac,\n"
"                    birth_date_hmac) again under the index key of -k\n"
"                    (a new secret file) from the sealed ID numbers and\n"
"                    birth dates, opened with the seal keys (-s: give the\n"
"                    old secret file as 1:FILE if id 1 still seals).  Run\n"
"                    it while the module is stopped; rows already indexed\n"
"                    under the key are left, so it can be run again.\n"
"\n"
"Blank records are skipped; line numbers count physical lines from 1.\n"
"Exit status 0 on success, 1 on a refused value or key file, 2 on a usage\n"
"error.  Personal data is never written to standard error.  Key files\n"
"that group or others may read or write are refused.\n", out);
}


/* the index key and the sealing keys, as the module derives them */

static int
load_keys(const char *path, const char *spec, keytool_t *kt)
{
    int                 rc;
    uint8_t             k[1][CSIBIZ_KEYBYTES];
    static const char  *labels[] = { "index" };

    rc = csibiz_keyfile_load("csibiz-keytool", path, labels, k, 1);

    if (rc == 0) {
        memcpy(kt->index, k[0], CSIBIZ_KEYBYTES);
        rc = csibiz_keyfile_ring("csibiz-keytool", path, spec, &kt->ring);
    }

    sodium_memzero(k, sizeof(k));

    return rc;
}


static int
read_value(const char *arg, char *buf, size_t size, size_t *len)
{
    size_t  n;

    if (arg != NULL && strcmp(arg, "-") != 0) {
        n = strlen(arg);

        if (n >= size) {
            fprintf(stderr, "csibiz-keytool: value too long\n");
            return -1;
        }

        memcpy(buf, arg, n + 1);
        *len = n;
        return 0;
    }

    if (fgets(buf, (int) size, stdin) == NULL) {
        fprintf(stderr, "csibiz-keytool: no value on standard input\n");
        return -1;
    }

    n = strlen(buf);

    if (n && buf[n - 1] == '\n') {
        buf[--n] = '\0';

        if (n && buf[n - 1] == '\r') {
            buf[--n] = '\0';
        }

    } else if (!feof(stdin)) {
        fprintf(stderr, "csibiz-keytool: value too long\n");
        return -1;
    }

    *len = n;

    return 0;
}


/*
 * The module looks up what the client typed, checked and normalized: id
 * gets the normalized number (CSIBIZ_ID_NUMBER_SIZE), hex the HMAC.
 * NULL, or why the number was refused (never the number: it may end up
 * in a log).
 */

static const char *
kt_index(keytool_t *kt, const char *value, size_t len, char *id, char *hex)
{
    uint8_t         mac[CSIBIZ_HMACBYTES];
    csibiz_id_rc_t  rc;

    csibiz_utf8_trim(&value, &len);

    rc = csibiz_id_number_check(value, len, NULL, &kt->today);

    if (rc != CSIBIZ_ID_OK) {
        return csibiz_id_rc_name(rc);
    }

    if (csibiz_id_number_normalize(value, len, id) != 0) {
        return "length";
    }

    csibiz_hmac(kt->index, id, CSIBIZ_ID_NUMBER_LEN, mac);
    csibiz_hex_encode(mac, sizeof(mac), hex, CSIBIZ_HEX_SIZE(sizeof(mac)));

    return NULL;
}


/* hex of the sealed value: size at least KEYTOOL_SEALED_HEX(len) */

static int
kt_seal(keytool_t *kt, const char *value, size_t len, char *hex,
    size_t size)
{
    int       rc;
    size_t    n;
    uint8_t  *sealed;

    n = CSIBIZ_SEALED_LEN(len);

    sealed = malloc(n);
    if (sealed == NULL) {
        return -1;
    }

    rc = -1;

    if (csibiz_keyring_seal(&kt->ring, value, len, kt->ad, strlen(kt->ad),
                            sealed, n, NULL)
        == 0
        && csibiz_hex_encode(sealed, n, hex, size) == 0)
    {
        rc = 0;
    }

    free(sealed);

    return rc;
}


/*
 * csibiz_keyfile_birth() of a birth date and its person's index, which
 * may start with \\\\x or \\x (bytea as COPY or psql write it); enc is
 * CSIBIZ_BIRTH_ENC_HEX_SIZE bytes.  NULL, or why not.
 */

static const char *
kt_birth(keytool_t *kt, const char *index, size_t index_len,
    const char *birth, size_t len, char *enc, char *mac)
{
    size_t  i;

    if (index_len >= 3 && index[0] == '\\' && index[1] == '\\') {
        index++;
        index_len--;
    }

    if (index_len >= 2 && index[0] == '\\' && index[1] == 'x') {
        index += 2;
        index_len -= 2;
    }

    if (index_len != CSIBIZ_HMACBYTES * 2) {
        return "id_number_hmac: not 32 bytes";
    }

    for (i = 0; i < index_len; i++) {
        if (!((index[i] >= '0' && index[i] <= '9')
              || (index[i] >= 'a' && index[i] <= 'f')))
        {
            return "id_number_hmac: not lower-case hex";
        }
    }

    if (len != CSIBIZ_BIRTH_LEN || !date_field(birth, len, &kt->today)) {
        return "birth_date: format";
    }

    if (csibiz_keyfile_birth(kt->index, kt->ring.keys[0], kt->ring.ids[0],
                             index, birth, enc, mac)
        != 0)
    {
        return "cannot seal";
    }

    return NULL;
}


/* the plain text of sealed hex into plain (size >= len / 2), or why not */

static const char *
kt_open(keytool_t *kt, const char *value, size_t len, char *plain,
    size_t size, size_t *n)
{
    size_t        m;
    uint8_t      *sealed;
    const char   *err;

    /* "\x" as psql prints bytea, "\\x" as COPY does */
    if (len >= 3 && value[0] == '\\' && value[1] == '\\' && value[2] == 'x') {
        value += 3;
        len -= 3;

    } else if (len >= 2 && value[0] == '\\' && value[1] == 'x') {
        value += 2;
        len -= 2;
    }

    sealed = malloc(len / 2 + 1);
    if (sealed == NULL) {
        return "out of memory";
    }

    err = NULL;

    if (csibiz_hex_decode(value, len, sealed, len / 2 + 1, &m) != 0) {
        err = "not lower-case hex";

    } else if (csibiz_keyring_key(&kt->ring, csibiz_seal_version(sealed, m))
               == NULL)
    {
        err = "sealed under a key id that no -s names";

    } else if (csibiz_keyring_open(&kt->ring, sealed, m, kt->ad,
                                   strlen(kt->ad), (uint8_t *) plain, size, n)
               != 0)
    {
        err = "cannot open: wrong key, AD or data";
    }

    free(sealed);

    return err;
}


/* text as COPY's text format reads it */

static void
out_copy(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\': fputs("\\\\", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        default:   putchar(s[i]);
        }
    }
}


static void
out_bytea(const char *hex)
{
    fputs("\\\\x", stdout);
    fputs(hex, stdout);
}


/* one value, given or from standard input: the original interface */

static int
cmd_value(keytool_t *kt, const char *cmd, const char *value, size_t len)
{
    int          rc;
    char         id[CSIBIZ_ID_NUMBER_SIZE], masked[CSIBIZ_ID_NUMBER_SIZE];
    char         mac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char        *buf;
    size_t       n, size;
    const char  *err;

    size = KEYTOOL_SEALED_HEX(len > CSIBIZ_ID_NUMBER_LEN
                              ? len : CSIBIZ_ID_NUMBER_LEN);

    buf = malloc(size);
    if (buf == NULL) {
        return 1;
    }

    rc = 1;

    if (strcmp(cmd, "seal") == 0) {
        if (kt_seal(kt, value, len, buf, size) == 0) {
            printf("%s\n", buf);
            rc = 0;
        }

    } else if (strcmp(cmd, "open") == 0) {
        err = kt_open(kt, value, len, buf, size, &n);

        if (err != NULL) {
            fprintf(stderr, "csibiz-keytool: %s\n", err);

        } else {
            fwrite(buf, 1, n, stdout);
            fputc('\n', stdout);
            sodium_memzero(buf, n);
            rc = 0;
        }

    } else {
        err = kt_index(kt, value, len, id, mac);

        if (err != NULL) {
            /* the reason, not the number: it may end up in a log */
            fprintf(stderr, "csibiz-keytool: not a valid ID number (%s)\n",
                    err);

        } else if (strcmp(cmd, "index") == 0) {
            printf("%s\n", mac);
            rc = 0;

        } else if (kt_seal(kt, id, CSIBIZ_ID_NUMBER_LEN, buf, size) == 0
                   && csibiz_mask_id_number(id, CSIBIZ_ID_NUMBER_LEN, masked,
                                            sizeof(masked))
                      == 0)
        {
            printf("%s\t%s\t%s\n", mac, buf, masked);
            rc = 0;
        }

        sodium_memzero(id, sizeof(id));
    }

    free(buf);

    return rc;
}


/* -f N: the command on field N of each tab-separated line */

static int
cmd_fields(keytool_t *kt, const char *cmd, long field)
{
    int            rc;
    char           id[CSIBIZ_ID_NUMBER_SIZE], masked[CSIBIZ_ID_NUMBER_SIZE];
    char           mac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char           bmac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char          *line, *start, *end, *buf, *prev;
    size_t         cap, size, n, len;
    ssize_t        got;
    long           i;
    const char    *err;
    unsigned long  lineno;

    line = NULL;
    cap = 0;
    size = 0;
    buf = NULL;
    lineno = 0;
    rc = 0;

    while ((got = getline(&line, &cap, stdin)) != -1) {
        lineno++;
        len = got;

        if (len && line[len - 1] == '\n') {
            line[--len] = '\0';
        }

        /* field N: [start, end) */
        start = line;
        prev = NULL;

        for (i = 1; i < field && start != NULL; i++) {
            prev = start;
            start = memchr(start, '\t', line + len - start);
            start = start ? start + 1 : NULL;
        }

        if (start == NULL || (prev == NULL && strcmp(cmd, "birth") == 0)) {
            fprintf(stderr, "csibiz-keytool: line %lu: no field %ld\n",
                    lineno, field);
            rc = 1;
            continue;
        }

        end = memchr(start, '\t', line + len - start);
        end = end ? end : line + len;
        n = end - start;

        if (size < KEYTOOL_SEALED_HEX(n + CSIBIZ_ID_NUMBER_LEN)) {
            size = KEYTOOL_SEALED_HEX(n + CSIBIZ_ID_NUMBER_LEN);
            free(buf);
            buf = malloc(size);

            if (buf == NULL) {
                fprintf(stderr, "csibiz-keytool: out of memory\n");
                free(line);
                return 1;
            }
        }

        err = NULL;

        if (strcmp(cmd, "open") == 0) {
            err = kt_open(kt, start, n, buf, size, &n);

        } else if (strcmp(cmd, "seal") == 0) {
            if (kt_seal(kt, start, n, buf, size) != 0) {
                err = "cannot seal";
            }

        } else if (strcmp(cmd, "birth") == 0) {
            err = kt_birth(kt, prev, start - 1 - prev, start, n, buf, bmac);

        } else {
            err = kt_index(kt, start, n, id, mac);

            if (err == NULL && strcmp(cmd, "id") == 0
                && (kt_seal(kt, id, CSIBIZ_ID_NUMBER_LEN, buf, size) != 0
                    || csibiz_mask_id_number(id, CSIBIZ_ID_NUMBER_LEN,
                                             masked, sizeof(masked))
                       != 0))
            {
                err = "cannot seal";
            }
        }

        if (err != NULL) {
            fprintf(stderr, "csibiz-keytool: line %lu: %s\n", lineno, err);
            rc = 1;
            continue;
        }

        fwrite(line, 1, start - line, stdout);

        if (strcmp(cmd, "open") == 0) {
            out_copy(buf, n);
            sodium_memzero(buf, n);

        } else if (strcmp(cmd, "seal") == 0) {
            out_bytea(buf);

        } else if (strcmp(cmd, "birth") == 0) {
            out_bytea(buf);
            putchar('\t');
            out_bytea(bmac);

        } else {
            out_bytea(mac);

            if (strcmp(cmd, "id") == 0) {
                putchar('\t');
                out_bytea(buf);
                printf("\t%s", masked);
            }
        }

        fwrite(end, 1, line + len - end, stdout);
        putchar('\n');
    }

    if (line != NULL) {
        sodium_memzero(line, cap);
    }

    free(line);
    free(buf);
    sodium_memzero(id, sizeof(id));

    return rc;
}


/*
 * The next CSV record into rd->buf (physical lines joined until its
 * quotes are closed; without the final line break, and the CR of CRLF),
 * NUL-terminated.  0, or -1 at the end of the input.
 */

static int
read_record(FILE *in, keytool_reader_t *rd)
{
    int    c;
    char  *p;

    rd->len = 0;

    c = getc(in);
    if (c == EOF) {
        return -1;
    }

    rd->line = ++rd->next;

    for ( ; c != EOF; c = getc(in)) {

        if (c == '\n') {
            if (csibiz_csv_complete(rd->buf, rd->len)) {
                break;
            }

            /* a line break inside quotes: the record goes on */
            rd->next++;
        }

        if (rd->len + 2 > rd->cap) {
            rd->cap = rd->cap ? rd->cap * 2 : 1024;
            p = realloc(rd->buf, rd->cap);

            if (p == NULL) {
                fprintf(stderr, "csibiz-keytool: out of memory\n");
                exit(1);
            }

            rd->buf = p;
        }

        rd->buf[rd->len++] = (char) c;
    }

    if (rd->len && rd->buf[rd->len - 1] == '\r') {
        rd->len--;
    }

    if (rd->buf == NULL) {
        rd->buf = malloc(1);
        rd->cap = 1;

        if (rd->buf == NULL) {
            exit(1);
        }
    }

    rd->buf[rd->len] = '\0';

    return 0;
}


/* an empty record (or one of white space only) is skipped */

static int
blank(const char *s, size_t len)
{
    csibiz_utf8_trim(&s, &len);

    return len == 0;
}


static int
cmd_csv(long columns)
{
    long                i;
    size_t              n;
    keytool_reader_t    rd;
    csibiz_csv_field_t  f[KEYTOOL_FIELDS_MAX];

    memset(&rd, 0, sizeof(rd));

    while (read_record(stdin, &rd) == 0) {

        if (blank(rd.buf, rd.len)) {
            continue;
        }

        printf("%lu\t", rd.line);

        if (!csibiz_utf8_valid(rd.buf, rd.len)) {
            fputs("encoding", stdout);

        } else if (csibiz_csv_split(rd.buf, rd.len, f, KEYTOOL_FIELDS_MAX,
                                    &n)
                   != 0)
        {
            fputs("quote", stdout);

        } else if ((long) n != columns) {
            printf("columns: %zu, want %ld", n, columns);

        } else {
            fputs("\\N", stdout);

            for (i = 0; i < columns; i++) {
                putchar('\t');
                out_copy(f[i].data, f[i].len);
            }

            putchar('\n');
            continue;
        }

        for (i = 0; i < columns; i++) {
            fputs("\t\\N", stdout);
        }

        putchar('\n');
    }

    free(rd.buf);

    return 0;
}


static void
roster_error(char *err, const char *column, const char *reason)
{
    size_t  n;

    n = strlen(err);

    snprintf(err + n, KEYTOOL_ERROR_MAX - n, "%s%s: %s", n ? "; " : "",
             column, reason);
}


/* a UTF-8 field equal to one of two spellings (ASCII ones any case) */

static int
field_is(const char *s, size_t len, const char *a, const char *b)
{
    return (strlen(a) == len && strncasecmp(s, a, len) == 0)
           || (strlen(b) == len && memcmp(s, b, len) == 0);
}


/* YYYY-MM-DD, a real day, not after today */

static int
date_field(const char *s, size_t len, const csibiz_date_t *today)
{
    size_t         i;
    csibiz_date_t  d;

    if (len != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }

    d.year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10
             + (s[3] - '0');
    d.month = (s[5] - '0') * 10 + (s[6] - '0');
    d.day = (s[8] - '0') * 10 + (s[9] - '0');

    return csibiz_date_valid(&d) && csibiz_date_compare(&d, today) <= 0;
}


/*
 * One record of the roster, checked and written as a COPY row after its
 * line number; 0, or -1 with the reasons in err.
 */

static int
roster_row(keytool_t *kt, csibiz_csv_field_t *f, size_t n, char *err)
{
    char               id[CSIBIZ_ID_NUMBER_SIZE];
    char               mac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char               enc[KEYTOOL_SEALED_HEX(CSIBIZ_ID_NUMBER_LEN)];
    char               card[CSIBIZ_SOCIAL_CARD_SIZE];
    char               handbook[CSIBIZ_HANDBOOK_NO_SIZE];
    char               benc[CSIBIZ_BIRTH_ENC_HEX_SIZE];
    char               bmac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char               phone[CSIBIZ_PHONE_SIZE], birth[11];
    size_t             i, len, count;
    const char        *s, *reason, *category, *gender;
    csibiz_text_rc_t   trc;

    err[0] = '\0';

    /* each column trimmed, as the module trims form fields */
    for (i = 0; i < n; i++) {
        s = f[i].data;
        len = f[i].len;
        csibiz_utf8_trim(&s, &len);
        f[i].data = (char *) s;
        f[i].len = len;
    }

    reason = kt_index(kt, f[0].data, f[0].len, id, mac);
    if (reason != NULL) {
        roster_error(err, "id_number", reason);
    }

    trc = csibiz_person_name_check(f[1].data, f[1].len);
    if (trc != CSIBIZ_TEXT_OK) {
        roster_error(err, "name", csibiz_text_rc_name(trc));
    }

    if (csibiz_social_card_normalize(f[2].data, f[2].len, card) != 0) {
        roster_error(err, "si_card_no", "format");
    }

    /* the handbook number: a 9th column, which may be empty */
    handbook[0] = '\0';

    if (n > ROSTER_COLUMNS && f[8].len
        && csibiz_handbook_no_normalize(f[8].data, f[8].len, handbook) != 0)
    {
        roster_error(err, "handbook_no", "format");
    }

    category = NULL;

    if (field_is(f[3].data, f[3].len, "student", "学生")) {
        category = "student";

    } else if (field_is(f[3].data, f[3].len, "child", "儿童")) {
        category = "child";

    } else {
        roster_error(err, "category", "unknown");
    }

    if (csibiz_utf8_count(f[4].data, f[4].len, &count) != 0) {
        roster_error(err, "school", "charset");

    } else if (count > ROSTER_SCHOOL_MAX) {
        roster_error(err, "school", "length");

    } else {
        for (i = 0; i < f[4].len; i++) {
            if ((unsigned char) f[4].data[i] < 0x20 || f[4].data[i] == 0x7f)
            {
                roster_error(err, "school", "charset");
                break;
            }
        }
    }

    if (f[5].len && csibiz_phone_normalize(f[5].data, f[5].len, phone) != 0)
    {
        roster_error(err, "phone", "format");
    }

    gender = NULL;

    if (f[6].len == 0) {
        if (reason == NULL) {
            gender = csibiz_id_number_gender(id, CSIBIZ_ID_NUMBER_LEN)
                     == CSIBIZ_GENDER_MALE ? "M" : "F";
        }

    } else if (field_is(f[6].data, f[6].len, "M", "男")) {
        gender = "M";

    } else if (field_is(f[6].data, f[6].len, "F", "女")) {
        gender = "F";

    } else {
        roster_error(err, "gender", "unknown");
    }

    birth[0] = '\0';

    if (f[7].len == 0) {
        if (reason == NULL) {
            snprintf(birth, sizeof(birth), "%.4s-%.2s-%.2s", id + 6, id + 10,
                     id + 12);
        }

    } else {
        if (date_field(f[7].data, f[7].len, &kt->today)) {
            memcpy(birth, f[7].data, 10);
            birth[10] = '\0';

        } else {
            roster_error(err, "birth_date", "format");
        }
    }

    if (err[0] != '\0') {
        sodium_memzero(id, sizeof(id));
        return -1;
    }

    if (kt_seal(kt, id, CSIBIZ_ID_NUMBER_LEN, enc, sizeof(enc)) != 0
        || kt_birth(kt, mac, strlen(mac), birth, strlen(birth), benc, bmac)
           != NULL)
    {
        sodium_memzero(birth, sizeof(birth));
        sodium_memzero(id, sizeof(id));
        roster_error(err, "id_number", "cannot seal");
        return -1;
    }

    sodium_memzero(id, sizeof(id));
    sodium_memzero(birth, sizeof(birth));

    fputs("\\N\t", stdout);
    out_bytea(mac);
    putchar('\t');
    out_bytea(enc);
    putchar('\t');
    out_copy(f[1].data, f[1].len);
    printf("\t%s\t", gender);
    out_bytea(benc);
    putchar('\t');
    out_bytea(bmac);
    printf("\t%s\t%s\t", card, category);

    if (f[4].len) {
        out_copy(f[4].data, f[4].len);
    } else {
        fputs("\\N", stdout);
    }

    printf("\t%s\t%s\n", f[5].len ? phone : "\\N",
           handbook[0] ? handbook : "\\N");

    return 0;
}


static int
cmd_roster(keytool_t *kt)
{
    int                 first;
    char                err[KEYTOOL_ERROR_MAX];
    size_t              i, n, skip;
    const char         *s;
    keytool_reader_t    rd;
    csibiz_csv_field_t  f[KEYTOOL_FIELDS_MAX];

    memset(&rd, 0, sizeof(rd));
    first = 1;

    while (read_record(stdin, &rd) == 0) {

        /* a byte order mark, as spreadsheet programs write one */
        skip = 0;

        if (rd.line == 1 && rd.len >= 3
            && memcmp(rd.buf, "\xef\xbb\xbf", 3) == 0)
        {
            skip = 3;
        }

        s = rd.buf + skip;
        n = rd.len - skip;

        if (blank(s, n)) {
            continue;
        }

        err[0] = '\0';

        if (!csibiz_utf8_valid(s, n)) {
            roster_error(err, "record", "encoding");

        } else if (csibiz_csv_split(rd.buf + skip, n, f, KEYTOOL_FIELDS_MAX,
                                    &n)
                   != 0)
        {
            roster_error(err, "record", "quote");

        } else if (first && field_is(f[0].data, f[0].len, "id_number",
                                     "身份证号"))
        {
            first = 0;
            continue;

        } else if (n < ROSTER_COLUMNS || n > ROSTER_COLUMNS_MAX) {
            snprintf(err, sizeof(err), "record: %zu columns, want %d", n,
                     n < ROSTER_COLUMNS ? ROSTER_COLUMNS : ROSTER_COLUMNS_MAX);
        }

        first = 0;
        printf("%lu\t", rd.line);

        if (err[0] == '\0' && roster_row(kt, f, n, err) == 0) {
            continue;
        }

        out_copy(err, strlen(err));

        for (i = 0; i < 11; i++) {
            fputs("\t\\N", stdout);
        }

        putchar('\n');
    }

    if (rd.buf != NULL) {
        sodium_memzero(rd.buf, rd.cap);
    }

    free(rd.buf);

    return 0;
}


int
main(int argc, char **argv)
{
    int           i, rc, db;
    char          value[KEYTOOL_VALUE_MAX], spec[KEYTOOL_SPEC_MAX], *end;
    long          field, batch, limit;
    size_t        len;
    keytool_t     kt;
    const char   *secret, *cmd, *conninfo, *seal_keys;

    secret = getenv("CSIBIZ_SECRET_FILE");
    conninfo = getenv("CSIBIZ_PG_CONNINFO");
    seal_keys = getenv("CSIBIZ_SEAL_KEYS");
    memset(&kt, 0, sizeof(kt));
    kt.ad = "id_number";
    field = 0;
    batch = 1000;
    limit = 0;
    spec[0] = '\0';

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }

        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }

        if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            secret = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            kt.ad = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            len = strlen(spec);

            if (len + strlen(argv[i + 1]) + 2 > sizeof(spec)) {
                fprintf(stderr, "csibiz-keytool: too many -s\n");
                return 2;
            }

            snprintf(spec + len, sizeof(spec) - len, "%s%s", len ? " " : "",
                     argv[++i]);
            seal_keys = spec;
            continue;
        }

        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            conninfo = argv[++i];
            continue;
        }

        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            limit = strtol(argv[++i], &end, 10);

            if (*end == '\0' && limit >= 1) {
                continue;
            }
        }

        if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
            batch = strtol(argv[++i], &end, 10);

            if (*end == '\0' && batch >= 1 && batch <= 100000) {
                continue;
            }
        }

        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            field = strtol(argv[++i], &end, 10);

            if (*end == '\0' && field >= 1 && field <= KEYTOOL_FIELDS_MAX) {
                continue;
            }
        }

        usage(stderr);
        return 2;
    }

    if (i >= argc || argc - i > 2) {
        usage(stderr);
        return 2;
    }

    cmd = argv[i];

    if (strcmp(cmd, "csv") == 0) {
        field = (argc - i == 2) ? strtol(argv[i + 1], &end, 10) : 0;

        if (argc - i != 2 || *end != '\0' || field < 1
            || field > KEYTOOL_FIELDS_MAX)
        {
            fprintf(stderr, "csibiz-keytool: csv needs a number of columns "
                    "from 1 to %d\n", KEYTOOL_FIELDS_MAX);
            return 2;
        }

        rc = cmd_csv(field);
        return (fflush(stdout) != 0) ? 1 : rc;
    }

    db = (strcmp(cmd, "rotate") == 0 || strcmp(cmd, "verify") == 0
          || strcmp(cmd, "reindex") == 0);

    if (strcmp(cmd, "index") != 0 && strcmp(cmd, "seal") != 0
        && strcmp(cmd, "open") != 0 && strcmp(cmd, "id") != 0
        && strcmp(cmd, "roster") != 0 && strcmp(cmd, "birth") != 0
        && !db)
    {
        fprintf(stderr, "csibiz-keytool: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }

    if ((field || db || strcmp(cmd, "roster") == 0) && argc - i != 1) {
        fprintf(stderr, "csibiz-keytool: batch modes read standard input "
                "only\n");
        return 2;
    }

    if (!field && strcmp(cmd, "birth") == 0) {
        fprintf(stderr, "csibiz-keytool: birth is a batch mode: -f N birth\n");
        return 2;
    }

    if (field && (db || strcmp(cmd, "roster") == 0)) {
        fprintf(stderr, "csibiz-keytool: -f is for index, seal, open and "
                "id\n");
        return 2;
    }

    if (secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "csibiz-keytool: no secret file: use -k or "
                "CSIBIZ_SECRET_FILE\n");
        return 2;
    }

    if (sodium_init() == -1) {
        fprintf(stderr, "csibiz-keytool: could not initialize libsodium\n");
        return 1;
    }

    if (load_keys(secret, seal_keys, &kt) != 0) {
        return 1;
    }

    if (csibiz_date_from_unix((long long) time(NULL), 8 * 3600, &kt.today)
        != 0)
    {
        return 1;
    }

    if (db) {
        rc = kt_db(cmd, kt.index, &kt.ring, conninfo, batch, limit);

    } else if (strcmp(cmd, "roster") == 0) {
        rc = cmd_roster(&kt);

    } else if (field) {
        rc = cmd_fields(&kt, cmd, field);

    } else if (read_value(i + 1 < argc ? argv[i + 1] : NULL, value,
                          sizeof(value), &len)
               != 0)
    {
        rc = 1;

    } else {
        rc = cmd_value(&kt, cmd, value, len);
    }

    sodium_memzero(value, sizeof(value));
    sodium_memzero(&kt, sizeof(kt));

    if (fflush(stdout) != 0) {
        return 1;
    }

    return rc;
}
