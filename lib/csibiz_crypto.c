
/*
 * Cryptographic helpers on libsodium; see csibiz_crypto.h.
 */


#include <string.h>

#include <sodium.h>

#include "csibiz_crypto.h"


/* the sizes the header promises without including sodium.h */
typedef char csibiz_check_keybytes[
    (CSIBIZ_KEYBYTES == crypto_auth_hmacsha256_KEYBYTES
     && CSIBIZ_KEYBYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    ? 1 : -1];
typedef char csibiz_check_hmacbytes[
    (CSIBIZ_HMACBYTES == crypto_auth_hmacsha256_BYTES) ? 1 : -1];
typedef char csibiz_check_seal[
    (CSIBIZ_SEAL_NONCEBYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
     && CSIBIZ_SEAL_TAGBYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES)
    ? 1 : -1];
typedef char csibiz_check_hmac_state[
    (CSIBIZ_HMAC_STATEBYTES == sizeof(crypto_auth_hmacsha256_state)) ? 1 : -1];
typedef char csibiz_check_strbytes[
    (CSIBIZ_PWHASH_STRBYTES == crypto_pwhash_STRBYTES) ? 1 : -1];
typedef char csibiz_check_b64url[
    (CSIBIZ_B64URL_SIZE(32) == sodium_base64_ENCODED_LEN(32,
         sodium_base64_VARIANT_URLSAFE_NO_PADDING)
     && CSIBIZ_B64URL_SIZE(31) == sodium_base64_ENCODED_LEN(31,
         sodium_base64_VARIANT_URLSAFE_NO_PADDING)
     && CSIBIZ_B64URL_SIZE(30) == sodium_base64_ENCODED_LEN(30,
         sodium_base64_VARIANT_URLSAFE_NO_PADDING))
    ? 1 : -1];


/*
 * An argon2id hash, with exactly the parameters csibiz_password_hash()
 * uses, of a random password that was thrown away: nothing verifies
 * against it, and checking a password against it costs what checking
 * against a real hash costs.  The unit test checks that its parameters
 * still match CSIBIZ_PWHASH_OPSLIMIT and CSIBIZ_PWHASH_MEMLIMIT.
 */
static const char  csibiz_dummy_hash[CSIBIZ_PWHASH_STRBYTES] =
    "$argon2id$v=19$m=19456,t=2,p=1$LK1D0+usGtLQPq9d44N0bg"
    "$9lxopCLXpSyYoIL+9shnyUHqS+AwAS2/s7XpDP1MB3A";


static inline uint32_t csibiz_b64url_value(uint32_t c, uint32_t *bad);
static int csibiz_seal_ad(uint8_t version, const void *ad, size_t adlen,
    uint8_t out[32]);
static int csibiz_hash_string_ok(const char *hash);


int
csibiz_hmac(const uint8_t key[CSIBIZ_KEYBYTES], const void *msg, size_t len,
    uint8_t out[CSIBIZ_HMACBYTES])
{
    return crypto_auth_hmacsha256(out, msg, len, key);
}


/*
 * subkey = HMAC-SHA256(key, label || 0x01), which is HKDF-Expand (RFC 5869)
 * with the master key as the pseudorandom key, the label as "info" and
 * L = 32.  The master key must be 32 uniformly random bytes, so the
 * HKDF-Extract step is not needed.  Different labels give independent
 * keys, and a subkey reveals nothing about the master key or its siblings.
 */

int
csibiz_derive_key(const uint8_t key[CSIBIZ_KEYBYTES], const char *label,
    uint8_t subkey[CSIBIZ_KEYBYTES])
{
    static const uint8_t              one = 0x01;
    crypto_auth_hmacsha256_state      st;

    if (label == NULL || label[0] == '\0') {
        return -1;
    }

    crypto_auth_hmacsha256_init(&st, key, CSIBIZ_KEYBYTES);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *) label,
                                  strlen(label));
    crypto_auth_hmacsha256_update(&st, &one, 1);
    crypto_auth_hmacsha256_final(&st, subkey);

    sodium_memzero(&st, sizeof(st));

    return 0;
}


int
csibiz_hmac_label(const uint8_t key[CSIBIZ_KEYBYTES], const char *label,
    const void *msg, size_t len, uint8_t out[CSIBIZ_HMACBYTES])
{
    int      rc;
    uint8_t  subkey[CSIBIZ_KEYBYTES];

    if (csibiz_derive_key(key, label, subkey) != 0) {
        return -1;
    }

    rc = crypto_auth_hmacsha256(out, msg, len, subkey);

    sodium_memzero(subkey, sizeof(subkey));

    return rc;
}


/*
 * The version byte must be authenticated too, but the AEAD takes a single
 * additional-data buffer and the caller's may be large: so the AEAD's
 * additional data is BLAKE2b-256(version || ad) rather than a copy.
 */

static int
csibiz_seal_ad(uint8_t version, const void *ad, size_t adlen, uint8_t out[32])
{
    crypto_generichash_state  st;

    if (crypto_generichash_init(&st, NULL, 0, 32) != 0
        || crypto_generichash_update(&st, &version, 1) != 0
        || (adlen > 0
            && crypto_generichash_update(&st, ad, adlen) != 0)
        || crypto_generichash_final(&st, out, 32) != 0)
    {
        return -1;
    }

    return 0;
}


int
csibiz_seal(const uint8_t key[CSIBIZ_KEYBYTES], uint8_t version,
    const void *plain, size_t len, const void *ad, size_t adlen,
    uint8_t *out, size_t outlen, size_t *written)
{
    uint8_t             *nonce;
    uint8_t              adhash[32];
    unsigned long long   clen;

    if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX
        || outlen < CSIBIZ_SEALED_LEN(len))
    {
        return -1;
    }

    if (csibiz_seal_ad(version, ad, adlen, adhash) != 0) {
        return -1;
    }

    out[0] = version;
    nonce = out + CSIBIZ_SEAL_VERSIONBYTES;
    randombytes_buf(nonce, CSIBIZ_SEAL_NONCEBYTES);

    if (crypto_aead_xchacha20poly1305_ietf_encrypt(
            nonce + CSIBIZ_SEAL_NONCEBYTES, &clen, plain, len,
            adhash, sizeof(adhash), NULL, nonce, key)
        != 0)
    {
        return -1;
    }

    if (written) {
        *written = CSIBIZ_SEAL_VERSIONBYTES + CSIBIZ_SEAL_NONCEBYTES
                   + (size_t) clen;
    }

    return 0;
}


int
csibiz_seal_version(const uint8_t *sealed, size_t len)
{
    if (len < CSIBIZ_SEAL_OVERHEAD) {
        return -1;
    }

    return sealed[0];
}


int
csibiz_open(const uint8_t key[CSIBIZ_KEYBYTES], const uint8_t *sealed,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written)
{
    const uint8_t       *nonce;
    uint8_t              adhash[32];
    unsigned long long   plen;

    if (len < CSIBIZ_SEAL_OVERHEAD
        || outlen < len - CSIBIZ_SEAL_OVERHEAD)
    {
        return -1;
    }

    if (csibiz_seal_ad(sealed[0], ad, adlen, adhash) != 0) {
        return -1;
    }

    nonce = sealed + CSIBIZ_SEAL_VERSIONBYTES;

    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            out, &plen, NULL, nonce + CSIBIZ_SEAL_NONCEBYTES,
            len - CSIBIZ_SEAL_VERSIONBYTES - CSIBIZ_SEAL_NONCEBYTES,
            adhash, sizeof(adhash), nonce, key)
        != 0)
    {
        return -1;
    }

    if (written) {
        *written = (size_t) plen;
    }

    return 0;
}


int
csibiz_keyring_add(csibiz_keyring_t *ring, unsigned id,
    const uint8_t key[CSIBIZ_KEYBYTES])
{
    size_t  i;

    if (id < 1 || id > 255 || ring->n >= CSIBIZ_KEYRING_MAX) {
        return -1;
    }

    /* one key under two ids would make "remove the old key" a lie */
    for (i = 0; i < ring->n; i++) {
        if (ring->ids[i] == id
            || sodium_memcmp(ring->keys[i], key, CSIBIZ_KEYBYTES) == 0)
        {
            return -1;
        }
    }

    ring->ids[ring->n] = (uint8_t) id;
    memcpy(ring->keys[ring->n], key, CSIBIZ_KEYBYTES);
    ring->n++;

    return 0;
}


const uint8_t *
csibiz_keyring_key(const csibiz_keyring_t *ring, int id)
{
    size_t  i;

    for (i = 0; i < ring->n; i++) {
        if (ring->ids[i] == id) {
            return ring->keys[i];
        }
    }

    return NULL;
}


int
csibiz_keyring_current(const csibiz_keyring_t *ring)
{
    return ring->n ? ring->ids[0] : -1;
}


int
csibiz_keyring_seal(const csibiz_keyring_t *ring, const void *plain,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written)
{
    if (ring->n == 0) {
        return -1;
    }

    return csibiz_seal(ring->keys[0], ring->ids[0], plain, len, ad, adlen,
                       out, outlen, written);
}


int
csibiz_keyring_open(const csibiz_keyring_t *ring, const uint8_t *sealed,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written)
{
    const uint8_t  *key;

    key = csibiz_keyring_key(ring, csibiz_seal_version(sealed, len));

    if (key == NULL) {
        return -1;
    }

    return csibiz_open(key, sealed, len, ad, adlen, out, outlen, written);
}


void
csibiz_random_token(uint8_t *out, size_t nbytes)
{
    randombytes_buf(out, nbytes);
}


int
csibiz_random_digits(char *out, size_t n)
{
    size_t  i;

    if (n == 0) {
        return -1;
    }

    /* randombytes_uniform() rejects the biased tail: no modulo bias */
    for (i = 0; i < n; i++) {
        out[i] = (char) ('0' + randombytes_uniform(10));
    }

    out[n] = '\0';

    return 0;
}


int
csibiz_hex_encode(const uint8_t *bin, size_t len, char *out, size_t out_size)
{
    if (len > (SIZE_MAX - 1) / 2 || out_size < CSIBIZ_HEX_SIZE(len)) {
        return -1;
    }

    sodium_bin2hex(out, out_size, bin, len);

    return 0;
}


/*
 * Only lower-case hex is accepted, so that a token has one spelling; like
 * sodium_hex2bin() it does not branch on the (secret) digits.
 */

static inline unsigned char
csibiz_hex_digit(char d, unsigned char *bad)
{
    unsigned char  c, num, num_ok, alpha, alpha_ok;

    c = (unsigned char) d;

    num = c ^ 48U;
    num_ok = (unsigned char) ((num - 10U) >> 8);
    alpha = (unsigned char) (c - 87U);
    alpha_ok = (unsigned char) (((alpha - 10U) ^ (alpha - 16U)) >> 8);

    *bad |= (unsigned char) ~(num_ok | alpha_ok);

    return (unsigned char) ((num_ok & num) | (alpha_ok & alpha));
}


int
csibiz_hex_decode(const char *hex, size_t hexlen, uint8_t *out,
    size_t out_size, size_t *written)
{
    size_t         i;
    unsigned char  bad;

    if (hexlen % 2 != 0 || out_size < hexlen / 2) {
        return -1;
    }

    bad = 0;

    /* a byte's two digits per turn: no branch on the position either */

    for (i = 0; i < hexlen / 2; i++) {
        out[i] = (uint8_t) ((csibiz_hex_digit(hex[2 * i], &bad) << 4)
                            | csibiz_hex_digit(hex[2 * i + 1], &bad));
    }

    if (bad) {
        sodium_memzero(out, hexlen / 2);
        return -1;
    }

    if (written) {
        *written = hexlen / 2;
    }

    return 0;
}


int
csibiz_b64url_encode(const uint8_t *bin, size_t len, char *out,
    size_t out_size)
{
    if (len > (SIZE_MAX - 3) / 4 || out_size < CSIBIZ_B64URL_SIZE(len)) {
        return -1;
    }

    sodium_bin2base64(out, out_size, bin, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);

    return 0;
}


/*
 * The 6-bit value of a base64url character c (0-255), and all ones into
 * *bad for any other byte.  Only arithmetic, no branch and no table
 * indexed by c: a session id decodes in the same time whatever it is,
 * as it did with libsodium's decoder, in two thirds of its instructions.
 */

static inline uint32_t
csibiz_b64url_value(uint32_t c, uint32_t *bad)
{
    uint32_t  upper, lower, digit, minus, under;

    /* all ones when lo <= c <= hi: both differences wrap to "negative" */
#define csibiz_in(lo, hi)                                                   \
    (0U - ((((lo) - 1 - c) & (c - (hi) - 1)) >> 31))

    upper = csibiz_in('A', 'Z');
    lower = csibiz_in('a', 'z');
    digit = csibiz_in('0', '9');
    minus = csibiz_in('-', '-');
    under = csibiz_in('_', '_');

#undef csibiz_in

    *bad |= ~(upper | lower | digit | minus | under);

    return (upper & (c - 'A')) | (lower & (c - 'a' + 26))
           | (digit & (c - '0' + 52)) | (minus & 62) | (under & 63);
}


/*
 * Refused: padding, lengths of 4k + 1, non-zero unused bits in the last
 * character (so an encoding is canonical), any byte outside the alphabet
 * (libsodium 1.0.18, used before, took every byte from 0x80 up for '_':
 * found by fuzz/fuzz_crypto.c).  Nothing decoded is left in out on error.
 */

int
csibiz_b64url_decode(const char *b64, size_t b64len, uint8_t *out,
    size_t out_size, size_t *written)
{
    size_t          i, n, rest;
    uint8_t        *p;
    uint32_t        acc, bad;
    const uint8_t  *s;

    rest = b64len % 4;
    n = b64len / 4 * 3 + (rest ? rest - 1 : 0);

    if (rest == 1 || n > out_size) {
        return -1;
    }

    s = (const uint8_t *) b64;
    p = out;
    bad = 0;

    for (i = 0; i + 4 <= b64len; i += 4) {
        acc = csibiz_b64url_value(s[i], &bad) << 18
              | csibiz_b64url_value(s[i + 1], &bad) << 12
              | csibiz_b64url_value(s[i + 2], &bad) << 6
              | csibiz_b64url_value(s[i + 3], &bad);

        *p++ = (uint8_t) (acc >> 16);
        *p++ = (uint8_t) (acc >> 8);
        *p++ = (uint8_t) acc;
    }

    if (rest) {
        acc = csibiz_b64url_value(s[i], &bad) << 18
              | csibiz_b64url_value(s[i + 1], &bad) << 12;

        if (rest == 3) {
            acc |= csibiz_b64url_value(s[i + 2], &bad) << 6;
        }

        *p++ = (uint8_t) (acc >> 16);

        if (rest == 3) {
            *p++ = (uint8_t) (acc >> 8);
        }

        /* the bits below the last whole byte */
        bad |= acc & (rest == 2 ? 0xffff : 0xff);
    }

    if (bad) {
        sodium_memzero(out, n);
        return -1;
    }

    if (written) {
        *written = n;
    }

    return 0;
}


int
csibiz_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len);
}


int
csibiz_password_hash(const char *pw, size_t len,
    char out[CSIBIZ_PWHASH_STRBYTES])
{
    return crypto_pwhash_str_alg(out, pw, len, CSIBIZ_PWHASH_OPSLIMIT,
                                 CSIBIZ_PWHASH_MEMLIMIT,
                                 crypto_pwhash_ALG_ARGON2ID13);
}


/* a stored hash comes from the database: never read past the buffer size */

static int
csibiz_hash_string_ok(const char *hash)
{
    return hash != NULL
           && strnlen(hash, CSIBIZ_PWHASH_STRBYTES)
              < CSIBIZ_PWHASH_STRBYTES;
}


int
csibiz_password_verify(const char *hash, const char *pw, size_t len)
{
    if (!csibiz_hash_string_ok(hash)) {
        return -1;
    }

    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -1;
}


int
csibiz_password_verify_dummy(const char *pw, size_t len)
{
    int  rc;

    /* the result does not matter, only the work done to get it */
    rc = crypto_pwhash_str_verify(csibiz_dummy_hash, pw, len);
    (void) rc;

    return -1;
}


int
csibiz_password_needs_rehash(const char *hash)
{
    int  rc;

    if (!csibiz_hash_string_ok(hash)) {
        return -1;
    }

    rc = crypto_pwhash_str_needs_rehash(hash, CSIBIZ_PWHASH_OPSLIMIT,
                                        CSIBIZ_PWHASH_MEMLIMIT);

    return rc < 0 ? -1 : rc;
}
