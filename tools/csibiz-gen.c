
/*
 * csibiz-gen: synthetic insured persons, accounts and sessions for load
 * tests, driven by tools/gen-dataset.  Person i (0 <= i < N) is a pure
 * function of i: a valid resident ID number (province, birth date and
 * MOD 11-2 check character), a card number LD + 10 digits, for every
 * third person a medical-insurance handbook number SC + 12 digits, a
 * phone 19 + 9 digits, a name, a category; so the COPY data, the
 * credentials and the sessions made by separate runs agree.  The ID number is blind-indexed
 * and sealed with the module's keys (csibiz-keyfile.c), as
 * tools/csibiz-keytool does for one row.
 *
 * Output is PostgreSQL COPY text on standard output, to be piped into
 * COPY ... FROM STDIN, or Redis protocol for redis-cli --pipe.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "csibiz_crypto.h"
#include "csibiz_validate.h"
#include "csibiz-keyfile.h"


#define GEN_SEAL_VERSION  1
#define GEN_ID_AD         "id_number"
#define GEN_SESSION_ID    32
#define GEN_CSRF          32

/* birth dates 2009-09-01 .. 2024-08-31: students and children */
#define GEN_FIRST_DAY     14488     /* days from 1970-01-01 to 2009-09-01 */
#define GEN_DAYS          5479
#define GEN_SEQS          999       /* sequence numbers 001-999 per day */
#define GEN_REGIONS       6
#define GEN_MAX           ((long long) GEN_DAYS * GEN_SEQS * GEN_REGIONS)


typedef struct {
    /* room for what snprintf() could write; the values are shorter */
    char       id[32];
    char       card[24];
    char       handbook[24];         /* "" for none */
    char       phone[24];
    char       birth[24];
    char       name[32];
    char       school[64];
    int        gender;               /* 'M' or 'F' */
    int        student;
} gen_person_t;


typedef struct {
    const char  *cmd;
    const char  *secret;
    const char  *password;
    const char  *agree;
    const char  *sessions_out;
    long long    first;              /* first person number */
    long long    count;
    long long    first_id;           /* insured_person.id of person 0 */
    long long    first_uid;          /* portal_user.id of person 0 */
    long         ttl;
} gen_opts_t;


static void usage(FILE *out);
static void days_to_civil(long long z, int *y, int *m, int *d);
static void gen_person(long long i, gen_person_t *p);
static int cmd_persons(gen_opts_t *o);
static int cmd_users(gen_opts_t *o);
static int cmd_sessions(gen_opts_t *o);
static int cmd_credentials(gen_opts_t *o);
static void resp_arg(FILE *out, const char *s, size_t len);


/* regions of six provinces, where the birth registers of the ID are */
static const char  *gen_regions[GEN_REGIONS] = {
    "110105", "310115", "320106", "440305", "510107", "330106"
};

static const char  *gen_surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"
};

static const char  *gen_given[] = {
    "子涵", "欣怡", "梓轩", "浩然", "雨桐", "宇航", "思远", "佳怡",
    "一诺", "明轩", "诗涵", "俊杰", "可馨", "博文", "若曦", "天佑"
};


static void
usage(FILE *out)
{
    fputs(
"usage: csibiz-gen -k SECRET_FILE [options] COMMAND\n"
"\n"
"  persons       COPY rows of insured_person (id, id_number_hmac,\n"
"                id_number_enc, name, gender, birth_date_enc,\n"
"                birth_date_hmac, si_card_no, category, school,\n"
"                declared_phone, handbook_no)\n"
"  users         COPY rows of portal_user (id, insured_person_id, phone,\n"
"                password_hash, agreement_version, agreed_at), one\n"
"                argon2id hash of --password shared by every row\n"
"  sessions      Redis protocol (HSET + EXPIRE) of one logged-in session\n"
"                per account, for redis-cli --pipe; their cookie values\n"
"                and CSRF tokens go to --sessions-out as TSV lines\n"
"                cookie<TAB>csrf_token\n"
"  credentials   CSV lines id_number,si_card_no,phone\n"
"\n"
"  -k FILE           the module's csibiz_secret_file\n"
"  --first N         first person number (default 0)\n"
"  --count N         number of persons (required)\n"
"  --first-id N      insured_person.id of person 0 (default 1)\n"
"  --first-uid N     portal_user.id of person 0 (default 1)\n"
"  --password PW     users: the accounts' password\n"
"  --agree VERSION   users: the agreement version accepted\n"
"  --ttl S           sessions: idle timeout in seconds (default 900)\n"
"  --sessions-out F  sessions: where the cookies go\n", out);
}


/* the civil date of day z since 1970-01-01 (H. Hinnant's algorithm) */

static void
days_to_civil(long long z, int *y, int *m, int *d)
{
    long long  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}


static void
gen_person(long long i, gen_person_t *p)
{
    int           y, m, d, k, sum, seq;
    long long     day, region;
    static const int  w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10,
                                5, 8, 4, 2 };

    /* consecutive numbers spread over days, then sequences, then regions */
    day = i % GEN_DAYS;
    seq = (int) ((i / GEN_DAYS) % GEN_SEQS) + 1;
    region = i / GEN_DAYS / GEN_SEQS;

    days_to_civil(GEN_FIRST_DAY + day, &y, &m, &d);

    snprintf(p->id, sizeof(p->id), "%s%04d%02d%02d%03d",
             gen_regions[region], y, m, d, seq);

    sum = 0;
    for (k = 0; k < 17; k++) {
        sum += (p->id[k] - '0') * w[k];
    }

    p->id[17] = "10X98765432"[sum % 11];
    p->id[18] = '\0';

    snprintf(p->birth, sizeof(p->birth), "%04d-%02d-%02d", y, m, d);
    snprintf(p->card, sizeof(p->card), "LD%010lld", i);

    /* the roster gives a handbook number for some children only */
    p->handbook[0] = '\0';

    if (i % 3 == 0) {
        snprintf(p->handbook, sizeof(p->handbook), "SC%012lld", i);
    }

    snprintf(p->phone, sizeof(p->phone), "19%09lld", i);
    snprintf(p->name, sizeof(p->name), "%s%s",
             gen_surnames[i % 20], gen_given[(i / 20) % 16]);

    p->gender = (seq % 2) ? 'M' : 'F';

    /* 6 or older on 1 September 2026: at school */
    p->student = (y < 2020 || (y == 2020 && m < 9));

    if (p->student) {
        snprintf(p->school, sizeof(p->school), "第%lld实验学校",
                 i % 300 + 1);

    } else {
        p->school[0] = '\0';
    }
}


static int
cmd_persons(gen_opts_t *o)
{
    char             hex[CSIBIZ_HEX_SIZE(CSIBIZ_SEALED_LEN(
                         CSIBIZ_ID_NUMBER_LEN))];
    char             idx[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char             bmac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    char             benc[CSIBIZ_BIRTH_ENC_HEX_SIZE];
    uint8_t          mac[CSIBIZ_HMACBYTES];
    uint8_t          sealed[CSIBIZ_SEALED_LEN(CSIBIZ_ID_NUMBER_LEN)];
    uint8_t          keys[2][CSIBIZ_KEYBYTES];
    long long        i;
    gen_person_t     p;
    static const char  *labels[] = { "index", "seal" };

    if (csibiz_keyfile_load("csibiz-gen", o->secret, labels, keys, 2) != 0)
    {
        return 1;
    }

    for (i = o->first; i < o->first + o->count; i++) {
        gen_person(i, &p);

        csibiz_hmac(keys[0], p.id, CSIBIZ_ID_NUMBER_LEN, mac);
        csibiz_hex_encode(mac, sizeof(mac), idx, sizeof(idx));

        /* COPY text: a backslash is doubled, so bytea is \\x... */
        printf("%lld\t\\\\x%s\t", o->first_id + i, idx);

        if (csibiz_keyfile_birth(keys[0], keys[1], GEN_SEAL_VERSION, idx,
                                 p.birth, benc, bmac)
            != 0
            || csibiz_seal(keys[1], GEN_SEAL_VERSION, p.id,
                           CSIBIZ_ID_NUMBER_LEN, GEN_ID_AD,
                           sizeof(GEN_ID_AD) - 1, sealed, sizeof(sealed),
                           NULL)
               != 0)
        {
            fprintf(stderr, "csibiz-gen: seal failed\n");
            return 1;
        }

        csibiz_hex_encode(sealed, sizeof(sealed), hex, sizeof(hex));

        printf("\\\\x%s\t%s\t%c\t\\\\x%s\t\\\\x%s\t%s\t%s\t%s\t%s\t%s\n",
               hex, p.name, p.gender, benc, bmac, p.card,
               p.student ? "student" : "child",
               p.student ? p.school : "\\N", p.phone,
               p.handbook[0] ? p.handbook : "\\N");
    }

    sodium_memzero(keys, sizeof(keys));

    return 0;
}


static int
cmd_users(gen_opts_t *o)
{
    char          hash[CSIBIZ_PWHASH_STRBYTES];
    long long     i;
    gen_person_t  p;

    if (o->password == NULL || o->agree == NULL) {
        fprintf(stderr, "csibiz-gen: users needs --password and --agree\n");
        return 2;
    }

    /* one hash for all: argon2id costs tens of ms, a million would not do */
    if (csibiz_password_hash(o->password, strlen(o->password), hash) != 0) {
        fprintf(stderr, "csibiz-gen: password hashing failed\n");
        return 1;
    }

    for (i = o->first; i < o->first + o->count; i++) {
        gen_person(i, &p);

        printf("%lld\t%lld\t%s\t%s\t%s\t2026-07-05 10:00:00+08\n",
               o->first_uid + i, o->first_id + i, p.phone, hash, o->agree);
    }

    return 0;
}


/* one session per account, as ngx_http_csibiz_session_create() makes it */

static int
cmd_sessions(gen_opts_t *o)
{
    FILE         *out;
    char          key[sizeof("csibiz:sess:") + 2 * CSIBIZ_HMACBYTES];
    char          cookie[CSIBIZ_B64URL_SIZE(GEN_SESSION_ID)];
    char          csrf[CSIBIZ_B64URL_SIZE(GEN_CSRF)];
    char          num[3][32];
    uint8_t       id[GEN_SESSION_ID], tok[GEN_CSRF], mac[CSIBIZ_HMACBYTES];
    uint8_t       keys[1][CSIBIZ_KEYBYTES];
    long long     i;
    static const char  *labels[] = { "session" };

    if (o->sessions_out == NULL) {
        fprintf(stderr, "csibiz-gen: sessions needs --sessions-out\n");
        return 2;
    }

    if (csibiz_keyfile_load("csibiz-gen", o->secret, labels, keys, 1) != 0)
    {
        return 1;
    }

    out = fopen(o->sessions_out, "w");
    if (out == NULL) {
        perror(o->sessions_out);
        return 1;
    }

    snprintf(num[2], sizeof(num[2]), "%lld", (long long) time(NULL));

    for (i = o->first; i < o->first + o->count; i++) {
        csibiz_random_token(id, sizeof(id));
        csibiz_random_token(tok, sizeof(tok));

        csibiz_hmac(keys[0], id, sizeof(id), mac);
        memcpy(key, "csibiz:sess:", sizeof("csibiz:sess:") - 1);
        csibiz_hex_encode(mac, sizeof(mac),
                          key + sizeof("csibiz:sess:") - 1,
                          sizeof(key) - (sizeof("csibiz:sess:") - 1));

        csibiz_b64url_encode(id, sizeof(id), cookie, sizeof(cookie));
        csibiz_b64url_encode(tok, sizeof(tok), csrf, sizeof(csrf));

        snprintf(num[0], sizeof(num[0]), "%lld", o->first_uid + i);
        snprintf(num[1], sizeof(num[1]), "%lld", o->first_id + i);

        printf("*12\r\n");
        resp_arg(stdout, "HSET", 4);
        resp_arg(stdout, key, strlen(key));
        resp_arg(stdout, "uid", 3);
        resp_arg(stdout, num[0], strlen(num[0]));
        resp_arg(stdout, "pid", 3);
        resp_arg(stdout, num[1], strlen(num[1]));
        resp_arg(stdout, "created", 7);
        resp_arg(stdout, num[2], strlen(num[2]));
        resp_arg(stdout, "auth_at", 7);
        resp_arg(stdout, num[2], strlen(num[2]));
        resp_arg(stdout, "csrf", 4);
        resp_arg(stdout, csrf, strlen(csrf));

        printf("*3\r\n");
        resp_arg(stdout, "EXPIRE", 6);
        resp_arg(stdout, key, strlen(key));
        printf("$%d\r\n%ld\r\n", snprintf(NULL, 0, "%ld", o->ttl), o->ttl);

        fprintf(out, "%s\t%s\n", cookie, csrf);
    }

    sodium_memzero(keys, sizeof(keys));

    if (fclose(out) != 0) {
        perror(o->sessions_out);
        return 1;
    }

    return 0;
}


static void
resp_arg(FILE *out, const char *s, size_t len)
{
    fprintf(out, "$%zu\r\n", len);
    fwrite(s, 1, len, out);
    fputs("\r\n", out);
}


static int
cmd_credentials(gen_opts_t *o)
{
    long long     i;
    gen_person_t  p;

    for (i = o->first; i < o->first + o->count; i++) {
        gen_person(i, &p);
        printf("%s,%s,%s\n", p.id, p.card, p.phone);
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int          i, rc;
    char        *end;
    long long   *num;
    gen_opts_t   o;

    memset(&o, 0, sizeof(o));
    o.first_id = 1;
    o.first_uid = 1;
    o.count = -1;
    o.ttl = 900;

    for (i = 1; i < argc; i++) {
        num = NULL;

        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }

        if (argv[i][0] != '-') {
            if (o.cmd != NULL) {
                usage(stderr);
                return 2;
            }

            o.cmd = argv[i];
            continue;
        }

        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }

        if (strcmp(argv[i], "-k") == 0) {
            o.secret = argv[++i];

        } else if (strcmp(argv[i], "--password") == 0) {
            o.password = argv[++i];

        } else if (strcmp(argv[i], "--agree") == 0) {
            o.agree = argv[++i];

        } else if (strcmp(argv[i], "--sessions-out") == 0) {
            o.sessions_out = argv[++i];

        } else if (strcmp(argv[i], "--ttl") == 0) {
            o.ttl = strtol(argv[++i], &end, 10);

            if (*end != '\0' || o.ttl <= 0) {
                fprintf(stderr, "csibiz-gen: --ttl: not a number\n");
                return 2;
            }

        } else if (strcmp(argv[i], "--first") == 0) {
            num = &o.first;

        } else if (strcmp(argv[i], "--count") == 0) {
            num = &o.count;

        } else if (strcmp(argv[i], "--first-id") == 0) {
            num = &o.first_id;

        } else if (strcmp(argv[i], "--first-uid") == 0) {
            num = &o.first_uid;

        } else {
            usage(stderr);
            return 2;
        }

        if (num != NULL) {
            *num = strtoll(argv[++i], &end, 10);

            if (*end != '\0' || *num < 0) {
                fprintf(stderr, "csibiz-gen: %s: not a number\n",
                        argv[i - 1]);
                return 2;
            }
        }
    }

    if (o.cmd == NULL || o.count < 0) {
        usage(stderr);
        return 2;
    }

    /* beyond, ID numbers would repeat */
    if (o.first + o.count > GEN_MAX) {
        fprintf(stderr, "csibiz-gen: at most %lld persons\n", GEN_MAX);
        return 2;
    }

    if (sodium_init() == -1) {
        fprintf(stderr, "csibiz-gen: could not initialize libsodium\n");
        return 1;
    }

    if (strcmp(o.cmd, "credentials") == 0) {
        rc = cmd_credentials(&o);

    } else if (o.secret == NULL) {
        fprintf(stderr, "csibiz-gen: -k SECRET_FILE is required\n");
        return 2;

    } else if (strcmp(o.cmd, "persons") == 0) {
        rc = cmd_persons(&o);

    } else if (strcmp(o.cmd, "users") == 0) {
        rc = cmd_users(&o);

    } else if (strcmp(o.cmd, "sessions") == 0) {
        rc = cmd_sessions(&o);

    } else {
        fprintf(stderr, "csibiz-gen: unknown command \"%s\"\n", o.cmd);
        usage(stderr);
        return 2;
    }

    if (fflush(stdout) != 0) {
        return 1;
    }

    return rc;
}
