
/*
 * The parsers of lib/csibiz_crypto.c: hex and base64url tokens from
 * cookies and captcha ids, sealed messages from the database, password
 * hash strings.  The first byte picks the function.  Oracles: a decoded
 * token encodes back to the very same text (one spelling per token), hex
 * is refused exactly when it is not [0-9a-f]{2n}; a sealed message that
 * was changed never opens, an unchanged one opens to its plain text;
 * through a key ring (rotation), it opens under the key its id names and
 * under no other.
 */


#include <sodium.h>

#include "fuzz.h"

#include "csibiz_crypto.h"


#define FUZZ_MAX_TOKEN  4096


static void fuzz_hex(const char *s, size_t len);
static void fuzz_b64url(const char *s, size_t len);
static void fuzz_seal(const uint8_t *data, size_t len);
static void fuzz_hash(const char *s, size_t len);


static const uint8_t     fuzz_key[CSIBIZ_KEYBYTES] = { 1, 2, 3, 4, 5, 6, 7 };
static csibiz_keyring_t  fuzz_ring;


int LLVMFuzzerInitialize(int *argc, char ***argv);


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t  other[CSIBIZ_KEYBYTES] = { 9 };

    FUZZ_CHECK(sodium_init() != -1);
    FUZZ_CHECK(csibiz_keyring_add(&fuzz_ring, 9, other) == 0);
    FUZZ_CHECK(csibiz_keyring_add(&fuzz_ring, 7, fuzz_key) == 0);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *s;
    size_t   len;

    if (size == 0 || size > FUZZ_MAX_TOKEN) {
        return 0;
    }

    len = size - 1;
    s = fuzz_dup(data + 1, len);

    switch (data[0] % 4) {

    case 0:
        fuzz_hex(s, len);
        break;

    case 1:
        fuzz_b64url(s, len);
        break;

    case 2:
        fuzz_seal((const uint8_t *) s, len);
        break;

    default:
        fuzz_hash(s, len);
        break;
    }

    free(s);

    return 0;
}


static void
fuzz_hex(const char *s, size_t len)
{
    int       rc, ok;
    char     *again;
    size_t    i, n;
    uint8_t  *bin;

    bin = (uint8_t *) fuzz_buf(len / 2);
    rc = csibiz_hex_decode(s, len, bin, len / 2, &n);

    ok = (len % 2 == 0);

    for (i = 0; ok && i < len; i++) {
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    }

    FUZZ_CHECK((rc == 0) == ok);

    if (rc == 0) {
        FUZZ_CHECK(n == len / 2);
        again = fuzz_buf(CSIBIZ_HEX_SIZE(n));
        FUZZ_CHECK(csibiz_hex_encode(bin, n, again, CSIBIZ_HEX_SIZE(n)) == 0);
        FUZZ_CHECK(strlen(again) == len && memcmp(again, s, len) == 0);
        free(again);

        /* one byte short of room */
        if (n > 0) {
            FUZZ_CHECK(csibiz_hex_decode(s, len, bin, n - 1, NULL) == -1);
        }
    }

    free(bin);
}


static void
fuzz_b64url(const char *s, size_t len)
{
    char     *again;
    size_t    n, size;
    uint8_t  *bin;

    size = len * 3 / 4;
    bin = (uint8_t *) fuzz_buf(size);

    if (csibiz_b64url_decode(s, len, bin, size, &n) == 0) {
        FUZZ_CHECK(n <= size);
        again = fuzz_buf(CSIBIZ_B64URL_SIZE(n));
        FUZZ_CHECK(csibiz_b64url_encode(bin, n, again, CSIBIZ_B64URL_SIZE(n))
                   == 0);
        FUZZ_CHECK(strlen(again) == len && memcmp(again, s, len) == 0);
        free(again);
    }

    free(bin);
}


static void
fuzz_seal(const uint8_t *data, size_t len)
{
    int       version;
    size_t    n, sealed_len;
    uint8_t  *out, *sealed;

    /* the input as a sealed message: it never opens (no forgery) */
    version = csibiz_seal_version(data, len);
    FUZZ_CHECK(version == (len >= CSIBIZ_SEAL_OVERHEAD ? data[0] : -1));

    out = (uint8_t *) fuzz_buf(len);
    FUZZ_CHECK(csibiz_open(fuzz_key, data, len, "ad", 2, out, len, &n) == -1);
    FUZZ_CHECK(csibiz_keyring_open(&fuzz_ring, data, len, "ad", 2, out, len,
                                   &n) == -1);
    free(out);

    /* the input as plain text: it opens, and a flipped bit does not */
    sealed_len = CSIBIZ_SEALED_LEN(len);
    sealed = (uint8_t *) fuzz_buf(sealed_len);
    FUZZ_CHECK(csibiz_seal(fuzz_key, 7, data, len, "ad", 2, sealed,
                           sealed_len, &n) == 0);
    FUZZ_CHECK(n == sealed_len);
    FUZZ_CHECK(csibiz_seal_version(sealed, sealed_len) == 7);

    out = (uint8_t *) fuzz_buf(len);
    FUZZ_CHECK(csibiz_open(fuzz_key, sealed, sealed_len, "ad", 2, out, len,
                           &n) == 0);
    FUZZ_CHECK(n == len && memcmp(out, data, len) == 0);
    FUZZ_CHECK(csibiz_open(fuzz_key, sealed, sealed_len, "ae", 2, out, len,
                           NULL) == -1);

    sealed[len % sealed_len] ^= 0x01;
    FUZZ_CHECK(csibiz_open(fuzz_key, sealed, sealed_len, "ad", 2, out, len,
                           NULL) == -1);
    FUZZ_CHECK(csibiz_open(fuzz_key, sealed, sealed_len - 1, "ad", 2, out,
                           len, NULL) == -1);

    /* a ring of old key 7 and current key 9: opens by the id, seals 9 */
    sealed[len % sealed_len] ^= 0x01;
    FUZZ_CHECK(csibiz_keyring_open(&fuzz_ring, sealed, sealed_len, "ad", 2,
                                   out, len, &n) == 0);
    FUZZ_CHECK(n == len && memcmp(out, data, len) == 0);
    sealed[0] = 9;
    FUZZ_CHECK(csibiz_keyring_open(&fuzz_ring, sealed, sealed_len, "ad", 2,
                                   out, len, NULL) == -1);

    FUZZ_CHECK(csibiz_keyring_seal(&fuzz_ring, data, len, "ad", 2, sealed,
                                   sealed_len, &n) == 0);
    FUZZ_CHECK(csibiz_seal_version(sealed, sealed_len) == 9);
    FUZZ_CHECK(csibiz_keyring_open(&fuzz_ring, sealed, sealed_len, "ad", 2,
                                   out, len, &n) == 0);
    FUZZ_CHECK(n == len && memcmp(out, data, len) == 0);
    FUZZ_CHECK(csibiz_open(fuzz_key, sealed, sealed_len, "ad", 2, out, len,
                           NULL) == -1);

    free(out);
    free(sealed);
}


static void
fuzz_hash(const char *s, size_t len)
{
    int    rc;
    char  *str;

    /* a C string, as it comes from a PostgreSQL text column */
    str = fuzz_buf(len + 1);
    memcpy(str, s, len);
    str[len] = '\0';

    rc = csibiz_password_needs_rehash(str);
    FUZZ_CHECK(rc == -1 || rc == 0 || rc == 1);

    free(str);
}
