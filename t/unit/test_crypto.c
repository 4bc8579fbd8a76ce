
/*
 * Unit tests of lib/csibiz_crypto.c: HMAC and subkeys against vectors
 * computed with another implementation (Python's hmac), sealing and
 * tampering, a sealed message of a fixed key as a format regression
 * vector, key rings (rotation: the key id in the sealed message), random values, the text encodings and their refusals, password
 * hashing and the dummy verification's cost.
 */


#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "csibiz_crypto.h"
#include "tap.h"


static void test_hmac(void);
static void test_hmac_with(const uint8_t *key);
static void test_seal(void);
static void test_seal_vector(void);
static void test_keyring(void);
static void test_random(void);
static void test_hex(void);
static void test_b64url(void);
static void test_equal(void);
static void test_password(void);
static void key_0_31(uint8_t key[CSIBIZ_KEYBYTES]);
static int is_hex(const uint8_t *bin, size_t len, const char *hex);


int
main(void)
{
    if (sodium_init() < 0) {
        tap_ok(0, "sodium_init");
        return tap_done();
    }

    test_hmac();
    test_seal();
    test_seal_vector();
    test_keyring();
    test_random();
    test_hex();
    test_b64url();
    test_equal();
    test_password();

    return tap_done();
}


static void
key_0_31(uint8_t key[CSIBIZ_KEYBYTES])
{
    int  i;

    for (i = 0; i < CSIBIZ_KEYBYTES; i++) {
        key[i] = (uint8_t) i;
    }
}


static int
is_hex(const uint8_t *bin, size_t len, const char *hex)
{
    char  buf[256];

    if (csibiz_hex_encode(bin, len, buf, sizeof(buf)) != 0) {
        return 0;
    }

    if (strcmp(buf, hex) != 0) {
        tap_diag("     got: %s", buf);
        tap_diag("expected: %s", hex);
        return 0;
    }

    return 1;
}


/* a prepared key gives what csibiz_hmac() gives, and can be reused */

static void
test_hmac_with(const uint8_t *key)
{
    int                zero;
    void              *mac;
    size_t             len;
    uint8_t            a[CSIBIZ_HMACBYTES], b[CSIBIZ_HMACBYTES];
    uint8_t            msg[200];
    csibiz_hmac_key_t  k;

    for (len = 0; len < sizeof(msg); len++) {
        msg[len] = (uint8_t) (len * 7 + 1);
    }

    tap_is_int(csibiz_hmac_key_init(&k, key), 0, "hmac_key_init");

    tap_is_int(csibiz_hmac_with(&k,
                   S("The quick brown fox jumps over the lazy dog"), a),
               0, "hmac_with returns 0");
    tap_ok(is_hex(a, sizeof(a), "f87ad256151fc7b4c5dffa4adb3ebe91"
                                "1a8eeb8a8ebdee3c2a4a8e5f5ec02c32"),
           "hmac_with: the HMAC-SHA256 vector");

    for (len = 0; len <= sizeof(msg); len += 50) {
        csibiz_hmac(key, msg, len, a);
        csibiz_hmac_with(&k, msg, len, b);
        tap_ok(memcmp(a, b, sizeof(a)) == 0,
               "hmac_with = hmac, %zu bytes, the key used again", len);
    }

    tap_ok(k.mac != NULL, "hmac_key_init: libcrypto's HMAC");

    /* libsodium's state, as when libcrypto gives no HMAC */

    mac = k.mac;
    k.mac = NULL;

    for (len = 0; len <= sizeof(msg); len += 50) {
        csibiz_hmac(key, msg, len, a);
        csibiz_hmac_with(&k, msg, len, b);
        tap_ok(memcmp(a, b, sizeof(a)) == 0,
               "hmac_with = hmac, %zu bytes, libsodium's state", len);
    }

    k.mac = mac;
    csibiz_hmac_key_free(&k);

    zero = (k.mac == NULL);

    for (len = 0; len < sizeof(k.state) / sizeof(k.state[0]); len++) {
        zero = zero && k.state[len] == 0;
    }

    tap_ok(zero, "hmac_key_free wipes the key");
}


static void
test_hmac(void)
{
    uint8_t  key[CSIBIZ_KEYBYTES], out[CSIBIZ_HMACBYTES];
    uint8_t  sub[CSIBIZ_KEYBYTES], sub2[CSIBIZ_KEYBYTES];

    key_0_31(key);

    tap_is_int(csibiz_hmac(key,
                   S("The quick brown fox jumps over the lazy dog"), out),
               0, "hmac returns 0");
    tap_ok(is_hex(out, sizeof(out), "f87ad256151fc7b4c5dffa4adb3ebe91"
                                    "1a8eeb8a8ebdee3c2a4a8e5f5ec02c32"),
           "hmac: HMAC-SHA256 vector");

    csibiz_hmac(key, NULL, 0, out);
    tap_ok(is_hex(out, sizeof(out), "d38b42096d80f45f826b44a9d5607de7"
                                    "2496a415d3f4a1a8c88e3bb9da8dc1cb"),
           "hmac of the empty message");

    test_hmac_with(key);

    tap_is_int(csibiz_derive_key(key, "session", sub), 0, "derive_key");
    tap_ok(is_hex(sub, sizeof(sub), "66b3459d857a37b029be7d74a42a8551"
                                    "c2d750f709da10a603102df1abf84752"),
           "derive_key = HKDF-Expand(key, \"session\", 32)");

    csibiz_derive_key(key, "csrf", sub2);
    tap_ok(memcmp(sub, sub2, sizeof(sub)) != 0,
           "another label, another subkey");

    tap_is_int(csibiz_hmac_label(key, "session", S("abc"), out), 0,
               "hmac_label");
    tap_ok(is_hex(out, sizeof(out), "6fa7bcebdcf648c1da2db03d61ef44e4"
                                    "35f62caf582fc82c89d51e9702032f12"),
           "hmac_label = HMAC(subkey, msg)");

    tap_is_int(csibiz_derive_key(key, "", sub), -1, "empty label refused");
    tap_is_int(csibiz_derive_key(key, NULL, sub), -1, "NULL label refused");
    tap_is_int(csibiz_hmac_label(key, "", S("abc"), out), -1,
               "hmac_label: empty label refused");
}


static void
test_seal(void)
{
    size_t   i, n, len;
    uint8_t  key[CSIBIZ_KEYBYTES], key2[CSIBIZ_KEYBYTES];
    uint8_t  sealed[CSIBIZ_SEALED_LEN(64)], sealed2[sizeof(sealed)];
    uint8_t  plain[64], back[64];
    int      all_refused, ok;

    static const char  msg[] = "6222021234567890128";

    tap_is_int(CSIBIZ_SEAL_OVERHEAD, 41, "overhead: 1 + 24 + 16");

    csibiz_random_token(key, sizeof(key));
    csibiz_random_token(key2, sizeof(key2));

    tap_is_int(csibiz_seal(key, 3, S(msg), S("bank_account:42"), sealed,
                           sizeof(sealed), &n),
               0, "seal");
    tap_is_int(n, CSIBIZ_SEALED_LEN(sizeof(msg) - 1), "sealed length");
    tap_is_int(csibiz_seal_version(sealed, n), 3, "version byte");
    ok = 1;

    for (i = 0; i + sizeof(msg) - 1 <= n; i++) {
        if (memcmp(sealed + i, msg, sizeof(msg) - 1) == 0) {
            ok = 0;
        }
    }

    tap_ok(ok, "plaintext not visible");

    memset(back, 0, sizeof(back));
    tap_is_int(csibiz_open(key, sealed, n, S("bank_account:42"), back,
                           sizeof(back), &len),
               0, "open");
    tap_is_str((char *) back, len, msg, "round trip");

    tap_is_int(csibiz_open(key2, sealed, n, S("bank_account:42"), back,
                           sizeof(back), &len),
               -1, "wrong key refused");
    tap_is_int(csibiz_open(key, sealed, n, S("bank_account:43"), back,
                           sizeof(back), &len),
               -1, "wrong ad refused");
    tap_is_int(csibiz_open(key, sealed, n, NULL, 0, back, sizeof(back),
                           &len),
               -1, "missing ad refused");
    tap_is_int(csibiz_open(key, sealed, n - 1, S("bank_account:42"), back,
                           sizeof(back), &len),
               -1, "truncated refused");
    tap_is_int(csibiz_open(key, sealed, CSIBIZ_SEAL_OVERHEAD - 1, NULL, 0,
                           back, sizeof(back), &len),
               -1, "shorter than the overhead refused");
    tap_is_int(csibiz_open(key, sealed, n, S("bank_account:42"), back,
                           sizeof(msg) - 2, &len),
               -1, "open: out too small refused");
    tap_is_int(csibiz_seal(key, 3, S(msg), NULL, 0, sealed2,
                           CSIBIZ_SEALED_LEN(sizeof(msg) - 1) - 1, &n),
               -1, "seal: out too small refused");

    /* every bit of every byte, the version byte included */
    all_refused = 1;

    for (i = 0; i < n * 8; i++) {
        memcpy(sealed2, sealed, n);
        sealed2[i / 8] ^= (uint8_t) (1U << (i % 8));

        if (csibiz_open(key, sealed2, n, S("bank_account:42"), back,
                        sizeof(back), &len)
            == 0)
        {
            tap_diag("bit %zu flipped, still opens", i);
            all_refused = 0;
        }
    }

    tap_ok(all_refused, "any flipped bit refused (%zu bits)", n * 8);

    csibiz_seal(key, 3, S(msg), S("bank_account:42"), sealed2,
                sizeof(sealed2), &n);
    tap_ok(memcmp(sealed, sealed2, n) != 0,
           "same message sealed twice differs (random nonce)");

    tap_is_int(csibiz_seal(key, 0, NULL, 0, NULL, 0, sealed, sizeof(sealed),
                           &n),
               0, "seal empty");
    tap_is_int(n, CSIBIZ_SEAL_OVERHEAD, "empty: overhead only");
    tap_is_int(csibiz_open(key, sealed, n, NULL, 0, back, 0, &len), 0,
               "open empty");
    tap_is_int(len, 0, "empty round trip");

    ok = 1;

    for (i = 0; i <= sizeof(plain); i++) {
        csibiz_random_token(plain, i);

        if (csibiz_seal(key, 255, plain, i, NULL, 0, sealed, sizeof(sealed),
                        &n) != 0
            || n != CSIBIZ_SEALED_LEN(i)
            || csibiz_open(key, sealed, n, NULL, 0, back, i, &len) != 0
            || len != i
            || memcmp(plain, back, i) != 0)
        {
            tap_diag("round trip of %zu bytes failed", i);
            ok = 0;
        }
    }

    tap_ok(ok, "round trips of 0 to 64 bytes");

    tap_is_int(csibiz_seal_version(sealed, CSIBIZ_SEAL_OVERHEAD - 1), -1,
               "seal_version of a short message");
}


/*
 * Made once by csibiz_seal() with the key 00 01 .. 1f, version 1 and ad
 * "v1": data sealed today must open tomorrow, so the format must not
 * change by accident.
 */

static void
test_seal_vector(void)
{
    size_t   n, len;
    uint8_t  key[CSIBIZ_KEYBYTES], sealed[128], back[64];

    static const char  vector[] =
        "01"                                                 /* version */
        "9b5a8e8aa0a38632dc7efd351edc6c1e2af37fa772da8ec6"   /* nonce */
        "e1513332143841b2d04d180b37c2942715804400"           /* ciphertext */
        "07fb55d04b8ceaa5a90ca1ad80c2a184";                  /* tag */

    key_0_31(key);

    tap_is_int(csibiz_hex_decode(vector, sizeof(vector) - 1, sealed,
                                 sizeof(sealed), &n),
               0, "vector decodes");
    tap_is_int(csibiz_open(key, sealed, n, S("v1"), back, sizeof(back),
                           &len),
               0, "fixed vector opens");
    tap_is_str((char *) back, len, "csibiz seal format 1",
               "fixed vector plaintext");
}


/*
 * Rotation: a ring seals under its first key with that key's id, opens
 * by the id in the message; a message of the fixed vector (key id 1)
 * opens through a ring that has key 00..1f as id 1, and through no ring
 * without it.
 */

static void
test_keyring(void)
{
    int               i;
    size_t            n, len;
    uint8_t           a[CSIBIZ_KEYBYTES], b[CSIBIZ_KEYBYTES];
    uint8_t           sealed[CSIBIZ_SEALED_LEN(16)], back[16];
    uint8_t           vec[128];
    csibiz_keyring_t  old, both, cur, full;

    static const char  vector[] =
        "019b5a8e8aa0a38632dc7efd351edc6c1e2af37fa772da8ec6"
        "e1513332143841b2d04d180b37c2942715804400"
        "07fb55d04b8ceaa5a90ca1ad80c2a184";

    key_0_31(a);
    memset(b, 0xb7, sizeof(b));
    memset(&old, 0, sizeof(old));
    memset(&both, 0, sizeof(both));
    memset(&cur, 0, sizeof(cur));
    memset(&full, 0, sizeof(full));

    tap_is_int(csibiz_keyring_current(&old), -1, "empty ring: no current");
    tap_is_int(csibiz_keyring_seal(&old, S("x"), NULL, 0, sealed,
                                   sizeof(sealed), &n),
               -1, "empty ring does not seal");

    tap_is_int(csibiz_keyring_add(&old, 1, a), 0, "ring A: key 1");
    tap_is_int(csibiz_keyring_add(&both, 2, b), 0, "ring B, A: key 2");
    tap_is_int(csibiz_keyring_add(&both, 1, a), 0, "ring B, A: key 1");
    tap_is_int(csibiz_keyring_add(&cur, 2, b), 0, "ring B: key 2");

    tap_is_int(csibiz_keyring_add(&both, 2, a), -1, "same id twice refused");
    tap_is_int(csibiz_keyring_add(&both, 3, b), -1,
               "same key under another id refused");
    tap_is_int(csibiz_keyring_add(&both, 0, b), -1, "id 0 refused");
    tap_is_int(csibiz_keyring_add(&both, 256, b), -1, "id 256 refused");
    tap_is_int(both.n, 2, "refusals add nothing");
    tap_is_int(csibiz_keyring_current(&both), 2, "the first key is current");
    tap_ok(csibiz_keyring_key(&both, 1) == both.keys[1], "key of id 1");
    tap_ok(csibiz_keyring_key(&both, 7) == NULL, "no key of id 7");
    tap_ok(csibiz_keyring_key(&both, -1) == NULL, "no key of id -1");

    for (i = 0; i < CSIBIZ_KEYRING_MAX; i++) {
        b[0] = (uint8_t) i;
        csibiz_keyring_add(&full, 10 + i, b);
    }

    b[0] = 0xb7;
    tap_is_int(full.n, CSIBIZ_KEYRING_MAX, "a ring holds 8 keys");
    tap_is_int(csibiz_keyring_add(&full, 99, a), -1, "a 9th is refused");

    /* sealed under A (id 1), as before the rotation */
    tap_is_int(csibiz_keyring_seal(&old, S("0123456789012345"),
                                   S("account_no"), sealed, sizeof(sealed),
                                   &n),
               0, "sealed under ring A");
    tap_is_int(csibiz_seal_version(sealed, n), 1, "key id 1 in the message");
    tap_is_int(csibiz_keyring_open(&both, sealed, n, S("account_no"), back,
                                   sizeof(back), &len),
               0, "ring B, A opens it");
    tap_is_str((char *) back, len, "0123456789012345", "the same text");
    tap_is_int(csibiz_keyring_open(&cur, sealed, n, S("account_no"), back,
                                   sizeof(back), &len),
               -1, "ring B alone does not (no key 1)");

    /* sealed again: under B, id 2; then A is no longer needed */
    tap_is_int(csibiz_keyring_seal(&both, S("0123456789012345"),
                                   S("account_no"), sealed, sizeof(sealed),
                                   &n),
               0, "sealed under ring B, A");
    tap_is_int(csibiz_seal_version(sealed, n), 2, "key id 2 in the message");
    tap_is_int(csibiz_keyring_open(&cur, sealed, n, S("account_no"), back,
                                   sizeof(back), &len),
               0, "ring B opens it");
    tap_is_int(csibiz_keyring_open(&old, sealed, n, S("account_no"), back,
                                   sizeof(back), &len),
               -1, "ring A does not");

    /* the id names the key: relabelled as id 1, B's message fails */
    sealed[0] = 1;
    tap_is_int(csibiz_keyring_open(&both, sealed, n, S("account_no"), back,
                                   sizeof(back), &len),
               -1, "a changed key id does not open");

    /* the format of before the rotation (key id 1) opens through a ring */
    csibiz_hex_decode(vector, sizeof(vector) - 1, vec, sizeof(vec), &n);
    tap_is_int(csibiz_keyring_open(&cur, vec, n, S("v1"), vec + 64, 64,
                                   &len),
               -1, "fixed vector: not through a ring without key 1");
    tap_is_int(csibiz_keyring_open(&both, vec, n, S("v1"), vec + 64, 64,
                                   &len),
               0, "fixed vector: through a ring with key 1 as an old key");
    tap_is_str((char *) vec + 64, len, "csibiz seal format 1",
               "fixed vector plaintext through the ring");

    sodium_memzero(&old, sizeof(old));
    sodium_memzero(&both, sizeof(both));
    sodium_memzero(&cur, sizeof(cur));
    sodium_memzero(&full, sizeof(full));
}


static void
test_random(void)
{
    size_t   i, j;
    uint8_t  a[32], b[32], zero[32];
    char     digits[100001];
    long     count[10];
    int      ok;

    csibiz_random_token(a, sizeof(a));
    csibiz_random_token(b, sizeof(b));
    memset(zero, 0, sizeof(zero));

    tap_ok(memcmp(a, b, sizeof(a)) != 0, "two tokens differ");
    tap_ok(memcmp(a, zero, sizeof(a)) != 0, "token not zero");

    memset(digits, 'x', sizeof(digits));
    tap_is_int(csibiz_random_digits(digits, 6), 0, "random_digits");
    tap_is_int(strlen(digits), 6, "6 digits and a NUL");
    tap_ok(strspn(digits, "0123456789") == 6, "all digits: %s", digits);
    tap_is_int(csibiz_random_digits(digits, 0), -1, "0 digits refused");

    csibiz_random_digits(digits, 100000);
    memset(count, 0, sizeof(count));
    ok = 1;

    for (i = 0; i < 100000; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            ok = 0;
            break;
        }

        count[digits[i] - '0']++;
    }

    tap_ok(ok, "100000 digits");

    /* 10000 expected for each, standard deviation 95: 6 sigma is 570 */
    ok = 1;

    for (j = 0; j < 10; j++) {
        if (count[j] < 9430 || count[j] > 10570) {
            tap_diag("digit %zu: %ld times", j, count[j]);
            ok = 0;
        }
    }

    tap_ok(ok, "digits uniform");
}


static void
test_hex(void)
{
    size_t   i, n;
    uint8_t  bin[8];
    char     hex[CSIBIZ_HEX_SIZE(4)];

    static const uint8_t  data[] = { 0x00, 0x9f, 0xa0, 0xff };

    static const struct {
        const char  *in;
        size_t       len;
        const char  *what;
    } refused[] = {
        { S("009FA0FF"), "upper case" },
        { S("009fa0f"), "odd length" },
        { S("0g"), "g" },
        { S("0/"), "/" },
        { S("0:"), ":" },
        { S("`0"), "`" },
        { S("00 1"), "space" },
        { S("00\0001"), "NUL" },
        { S("\xe0\xb0"), "high bytes" },
    };

    tap_is_int(csibiz_hex_encode(data, 4, hex, sizeof(hex)), 0,
               "hex_encode");
    tap_is_str(hex, strlen(hex), "009fa0ff", "lower-case hex");
    tap_is_int(csibiz_hex_encode(data, 4, hex, sizeof(hex) - 1), -1,
               "hex_encode: out too small refused");

    tap_is_int(csibiz_hex_decode(S("009fa0ff"), bin, sizeof(bin), &n), 0,
               "hex_decode");
    tap_ok(n == 4 && memcmp(bin, data, 4) == 0, "hex round trip");
    tap_is_int(csibiz_hex_decode(S(""), bin, sizeof(bin), &n), 0,
               "hex_decode of nothing");
    tap_is_int(n, 0, "nothing decoded");

    for (i = 0; i < N(refused); i++) {
        tap_is_int(csibiz_hex_decode(refused[i].in, refused[i].len, bin,
                                     sizeof(bin), &n),
                   -1, "%s refused", refused[i].what);
    }

    tap_is_int(csibiz_hex_decode(S("00112233"), bin, 3, &n), -1,
               "hex_decode: out too small refused");
}


static void
test_b64url(void)
{
    size_t   i, n;
    uint8_t  bin[64], back[64];
    char     b64[CSIBIZ_B64URL_SIZE(64)];
    int      ok;

    static const struct {
        const char  *bin;
        const char  *b64;
    } vectors[] = {
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff\xbf", "-_-_" },
    };

    static const char  *refused[] = {
        "Zg==", "Zg=", "Zm9v+A", "Zm9v/A", "Zm9 v", "Zm9v\n", "Z",
        "Zm9vY", "Zh", "Zm9", "Zm9vYmF", "Zm.v", "Zm9v\x80",
        /* libsodium 1.0.18 alone took any byte >= 0x80 for '_' */
        "AAA\xff", "Zm9v\xc3\xa9\xc3\xa9", "Zm9v\x80\x80\x80\x80",
    };

    tap_is_int(CSIBIZ_B64URL_SIZE(32), 44, "32 bytes: 43 characters");

    for (i = 0; i < N(vectors); i++) {
        n = strlen(vectors[i].bin);

        csibiz_b64url_encode((const uint8_t *) vectors[i].bin, n, b64,
                             CSIBIZ_B64URL_SIZE(n));
        tap_is_str(b64, strlen(b64), vectors[i].b64, "encode \"%s\"",
                   vectors[i].bin);

        ok = csibiz_b64url_decode(vectors[i].b64, strlen(vectors[i].b64),
                                  back, sizeof(back), &n) == 0;
        tap_ok(ok && n == strlen(vectors[i].bin)
               && memcmp(back, vectors[i].bin, n) == 0,
               "decode \"%s\"", vectors[i].b64);
    }

    /* "Zm9vYmF" has non-zero unused bits; "Zm9" and "Zh" as well */
    for (i = 0; i < N(refused); i++) {
        tap_is_int(csibiz_b64url_decode(refused[i], strlen(refused[i]),
                                        back, sizeof(back), &n),
                   -1, "refused: \"%s\"", refused[i]);
    }

    tap_is_int(csibiz_b64url_encode((const uint8_t *) "foo", 3, b64, 4), -1,
               "encode: out too small refused");
    tap_is_int(csibiz_b64url_decode(S("Zm9vYmFy"), back, 5, &n), -1,
               "decode: out too small refused");

    ok = 1;

    for (i = 0; i <= sizeof(bin); i++) {
        csibiz_random_token(bin, i);

        if (csibiz_b64url_encode(bin, i, b64, sizeof(b64)) != 0
            || strlen(b64) + 1 != CSIBIZ_B64URL_SIZE(i)
            || csibiz_b64url_decode(b64, strlen(b64), back, sizeof(back),
                                    &n) != 0
            || n != i
            || memcmp(bin, back, i) != 0)
        {
            tap_diag("round trip of %zu bytes failed", i);
            ok = 0;
        }
    }

    tap_ok(ok, "round trips of 0 to 64 bytes, sizes as CSIBIZ_B64URL_SIZE");
}


static void
test_equal(void)
{
    tap_is_int(csibiz_equal("abcdef", "abcdef", 6), 0, "equal");
    tap_is_int(csibiz_equal("abcdef", "abcdeg", 6), -1, "last differs");
    tap_is_int(csibiz_equal("xbcdef", "abcdef", 6), -1, "first differs");
    tap_is_int(csibiz_equal("a", "b", 0), 0, "empty is equal");
}


static void
test_password(void)
{
    int     i;
    char    hash[CSIBIZ_PWHASH_STRBYTES], other[CSIBIZ_PWHASH_STRBYTES];
    char    bad[CSIBIZ_PWHASH_STRBYTES];
    double  t, real, dummy;

    static const char  pw[] = "correct horse battery";

    static const struct {
        int          alg;
        const char  *what;
    } older[] = {
        { crypto_pwhash_ALG_ARGON2ID13, "argon2id, m=12 MiB, t=3" },
        { crypto_pwhash_ALG_ARGON2I13, "argon2i, m=12 MiB, t=3" },
    };

    tap_is_int(csibiz_password_hash(S(pw), hash), 0, "password_hash");
    tap_ok(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0,
           "argon2id, m=19 MiB, t=2: %s", hash);

    tap_is_int(csibiz_password_verify(hash, S(pw)), 0, "verify");
    tap_is_int(csibiz_password_verify(hash, S("correct horse batterY")), -1,
               "wrong password");
    tap_is_int(csibiz_password_verify(hash, pw, sizeof(pw) - 2), -1,
               "prefix of the password");
    tap_is_int(csibiz_password_verify("nonsense", S(pw)), -1,
               "not a hash");
    tap_is_int(csibiz_password_verify(NULL, S(pw)), -1, "NULL hash");

    memset(bad, 'a', sizeof(bad));
    tap_is_int(csibiz_password_verify(bad, S(pw)), -1,
               "unterminated hash refused");
    tap_is_int(csibiz_password_needs_rehash(bad), -1,
               "needs_rehash: unterminated hash refused");

    csibiz_password_hash(S(pw), other);
    tap_ok(strcmp(hash, other) != 0, "random salt");

    tap_is_int(csibiz_password_needs_rehash(hash), 0, "current hash");
    tap_is_int(csibiz_password_needs_rehash("nonsense"), -1,
               "needs_rehash: not a hash");

    /* hashes with older parameters or argon2i verify, and want a rehash */
    for (i = 0; i < (int) N(older); i++) {
        if (crypto_pwhash_str_alg(other, pw, sizeof(pw) - 1, 3,
                                  12 * 1024 * 1024, older[i].alg)
            != 0)
        {
            continue;
        }

        tap_is_int(csibiz_password_verify(other, S(pw)), 0, "%s verifies",
                   older[i].what);
        tap_is_int(csibiz_password_needs_rehash(other), 1,
                   "%s needs a rehash", older[i].what);
    }

    tap_is_int(csibiz_password_verify_dummy(S(pw)), -1, "dummy: -1");
    tap_is_int(csibiz_password_verify_dummy("", 0), -1,
               "dummy: -1 for the empty password");

    /*
     * The dummy must cost what a real verification costs: the fastest of
     * three runs of each should be within a factor of 2 (loose, for busy
     * machines).  A dummy hash with another memory cost is off by more.
     */
    real = dummy = 1e9;

    for (i = 0; i < 3; i++) {
        t = tap_now();
        (void) csibiz_password_verify(hash, S(pw));
        t = tap_now() - t;
        real = t < real ? t : real;

        t = tap_now();
        (void) csibiz_password_verify_dummy(S(pw));
        t = tap_now() - t;
        dummy = t < dummy ? t : dummy;
    }

    tap_diag("verify %.1f ms, dummy %.1f ms", real * 1e3, dummy * 1e3);
    tap_ok(dummy > real / 2 && dummy < real * 2,
           "dummy costs what a real verification costs");
}
