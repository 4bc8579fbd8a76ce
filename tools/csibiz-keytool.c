
/*
 * csibiz-keytool: the module's keyed operations from the command line,
 * for ops tools such as tools/roster-add that write what the module reads
 * (the ID number's blind index and its sealed copy).
 *
 * The keys are derived from the secret file as the module does it
 * (csibiz-keyfile.c).
 *
 * Values can be read from standard input ("-", or no argument), so that
 * personal data need not appear in the process list or shell history.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "csibiz_crypto.h"
#include "csibiz_validate.h"
#include "csibiz-keyfile.h"


#define KEYTOOL_VALUE_MAX     4096
#define KEYTOOL_SEAL_VERSION  1


typedef struct {
    uint8_t   index[CSIBIZ_KEYBYTES];
    uint8_t   seal[CSIBIZ_KEYBYTES];
} keytool_keys_t;


static void usage(FILE *out);
static int load_keys(const char *path, keytool_keys_t *keys);
static int read_value(const char *arg, char *buf, size_t size, size_t *len);
static int cmd_index(keytool_keys_t *keys, const char *value, size_t len);
static int cmd_seal(keytool_keys_t *keys, const char *ad, const char *value,
    size_t len);
static int cmd_open(keytool_keys_t *keys, const char *ad, const char *value,
    size_t len);


static void
usage(FILE *out)
{
    fputs(
"usage: csibiz-keytool [-k SECRET_FILE] [-a AD] COMMAND [VALUE | -]\n"
"\n"
"  index ID_NUMBER   hex HMAC of the normalized ID number under the index\n"
"                    key: insured_person.id_number_hmac\n"
"  seal TEXT         hex of TEXT sealed (XChaCha20-Poly1305, key version 1)\n"
"                    under the seal key with AD: insured_person.id_number_enc\n"
"  open HEX          the text of a sealed HEX (checked against AD)\n"
"\n"
"  -k SECRET_FILE    the module's csibiz_secret_file (default: the\n"
"                    CSIBIZ_SECRET_FILE environment variable)\n"
"  -a AD             associated data for seal and open (default id_number)\n"
"\n"
"VALUE \"-\" or none: one line is read from standard input, so that\n"
"personal data stays out of the process list.  Exit status 0 on success,\n"
"1 on a refused value or key file, 2 on a usage error.\n", out);
}


/* the index and seal keys, as the module derives them */

static int
load_keys(const char *path, keytool_keys_t *keys)
{
    int                 rc;
    uint8_t             k[2][CSIBIZ_KEYBYTES];
    static const char  *labels[] = { "index", "seal" };

    rc = csibiz_keyfile_load("csibiz-keytool", path, labels, k, 2);

    if (rc == 0) {
        memcpy(keys->index, k[0], CSIBIZ_KEYBYTES);
        memcpy(keys->seal, k[1], CSIBIZ_KEYBYTES);
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


/* the module looks up what the client typed, checked and normalized */

static int
cmd_index(keytool_keys_t *keys, const char *value, size_t len)
{
    char            id[CSIBIZ_ID_NUMBER_SIZE];
    char            hex[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)];
    uint8_t         mac[CSIBIZ_HMACBYTES];
    csibiz_date_t   today;
    csibiz_id_rc_t  rc;

    csibiz_utf8_trim(&value, &len);

    if (csibiz_date_from_unix((long long) time(NULL), 8 * 3600, &today)
        != 0)
    {
        return 1;
    }

    rc = csibiz_id_number_check(value, len, NULL, &today);

    if (rc != CSIBIZ_ID_OK) {
        /* the reason, not the number: it may end up in a log */
        fprintf(stderr, "csibiz-keytool: not a valid ID number (%s)\n",
                csibiz_id_rc_name(rc));
        return 1;
    }

    if (csibiz_id_number_normalize(value, len, id) != 0) {
        return 1;
    }

    csibiz_hmac(keys->index, id, CSIBIZ_ID_NUMBER_LEN, mac);
    csibiz_hex_encode(mac, sizeof(mac), hex, sizeof(hex));

    printf("%s\n", hex);

    sodium_memzero(id, sizeof(id));

    return 0;
}


static int
cmd_seal(keytool_keys_t *keys, const char *ad, const char *value,
    size_t len)
{
    int      rc;
    char    *hex;
    size_t   n;
    uint8_t *sealed;

    n = CSIBIZ_SEALED_LEN(len);

    sealed = malloc(n);
    hex = malloc(CSIBIZ_HEX_SIZE(n));

    rc = 1;

    if (sealed != NULL && hex != NULL
        && csibiz_seal(keys->seal, KEYTOOL_SEAL_VERSION, value, len, ad,
                       strlen(ad), sealed, n, NULL)
           == 0
        && csibiz_hex_encode(sealed, n, hex, CSIBIZ_HEX_SIZE(n)) == 0)
    {
        printf("%s\n", hex);
        rc = 0;
    }

    free(sealed);
    free(hex);

    return rc;
}


static int
cmd_open(keytool_keys_t *keys, const char *ad, const char *value,
    size_t len)
{
    int      rc;
    char    *plain;
    size_t   n, m;
    uint8_t *sealed;

    /* "\x" as PostgreSQL prints bytea */
    if (len >= 2 && value[0] == '\\' && value[1] == 'x') {
        value += 2;
        len -= 2;
    }

    sealed = malloc(len / 2 + 1);
    plain = malloc(len / 2 + 1);

    rc = 1;

    if (sealed == NULL || plain == NULL) {
        goto done;
    }

    if (csibiz_hex_decode(value, len, sealed, len / 2 + 1, &n) != 0) {
        fprintf(stderr, "csibiz-keytool: not lower-case hex\n");
        goto done;
    }

    if (csibiz_seal_version(sealed, n) != KEYTOOL_SEAL_VERSION) {
        fprintf(stderr, "csibiz-keytool: not sealed with key version %d\n",
                KEYTOOL_SEAL_VERSION);
        goto done;
    }

    if (csibiz_open(keys->seal, sealed, n, ad, strlen(ad),
                    (uint8_t *) plain, len / 2 + 1, &m)
        != 0)
    {
        fprintf(stderr, "csibiz-keytool: cannot open: wrong key, AD or "
                "data\n");
        goto done;
    }

    fwrite(plain, 1, m, stdout);
    fputc('\n', stdout);

    sodium_memzero(plain, m);
    rc = 0;

done:

    free(sealed);
    free(plain);

    return rc;
}


int
main(int argc, char **argv)
{
    int              i, rc;
    char             value[KEYTOOL_VALUE_MAX];
    size_t           len;
    const char      *secret, *ad, *cmd;
    keytool_keys_t   keys;

    secret = getenv("CSIBIZ_SECRET_FILE");
    ad = "id_number";

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
            ad = argv[++i];
            continue;
        }

        usage(stderr);
        return 2;
    }

    if (i >= argc || argc - i > 2) {
        usage(stderr);
        return 2;
    }

    cmd = argv[i];

    if (strcmp(cmd, "index") != 0 && strcmp(cmd, "seal") != 0
        && strcmp(cmd, "open") != 0)
    {
        fprintf(stderr, "csibiz-keytool: unknown command \"%s\"\n", cmd);
        usage(stderr);
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

    if (load_keys(secret, &keys) != 0) {
        return 1;
    }

    if (read_value(i + 1 < argc ? argv[i + 1] : NULL, value, sizeof(value),
                   &len)
        != 0)
    {
        rc = 1;

    } else if (strcmp(cmd, "index") == 0) {
        rc = cmd_index(&keys, value, len);

    } else if (strcmp(cmd, "seal") == 0) {
        rc = cmd_seal(&keys, ad, value, len);

    } else {
        rc = cmd_open(&keys, ad, value, len);
    }

    sodium_memzero(value, sizeof(value));
    sodium_memzero(&keys, sizeof(keys));

    if (fflush(stdout) != 0) {
        return 1;
    }

    return rc;
}
