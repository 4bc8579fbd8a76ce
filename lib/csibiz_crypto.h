
/*
 * Cryptographic helpers on libsodium: HMAC and per-purpose subkeys,
 * authenticated encryption with a key version byte, random tokens and
 * their text encodings, SMS codes, constant-time comparison and password
 * hashing.  Plain C, no nginx headers; conventions as in csibiz_utf8.h.
 * Link with -lsodium.
 *
 * Every function here needs libsodium initialised: the caller must have
 * called sodium_init() (and checked that it did not return -1) before the
 * first call.  The nginx module does so when it starts; the unit tests do
 * so in main().  Nothing here keeps state between calls.
 *
 * The password functions cost about 19 MiB and tens of milliseconds of
 * CPU each: keep them off nginx's event loop.  Their pw is never NULL
 * (use "" with len 0).
 */


#ifndef CSIBIZ_CRYPTO_H
#define CSIBIZ_CRYPTO_H


#include <stddef.h>
#include <stdint.h>


#define CSIBIZ_KEYBYTES             32
#define CSIBIZ_HMACBYTES            32

/* sealed = version (1) || nonce (24) || ciphertext (len) || tag (16) */
#define CSIBIZ_SEAL_VERSIONBYTES    1
#define CSIBIZ_SEAL_NONCEBYTES      24
#define CSIBIZ_SEAL_TAGBYTES        16
#define CSIBIZ_SEAL_OVERHEAD                                                 \
    (CSIBIZ_SEAL_VERSIONBYTES + CSIBIZ_SEAL_NONCEBYTES + CSIBIZ_SEAL_TAGBYTES)
#define CSIBIZ_SEALED_LEN(len)      ((len) + CSIBIZ_SEAL_OVERHEAD)

/* text sizes for nbytes of binary, each including the terminating NUL */
#define CSIBIZ_HEX_SIZE(nbytes)     ((nbytes) * 2 + 1)
#define CSIBIZ_B64URL_SIZE(nbytes)  (((nbytes) * 4 + 2) / 3 + 1)

/* == sizeof(crypto_auth_hmacsha256_state); checked like the next one */
#define CSIBIZ_HMAC_STATEBYTES      208

/* == crypto_pwhash_STRBYTES; checked when csibiz_crypto.c is compiled */
#define CSIBIZ_PWHASH_STRBYTES      128
/* argon2id, t=2, m=19 MiB, p=1: OWASP's minimum for argon2id */
#define CSIBIZ_PWHASH_OPSLIMIT      2
#define CSIBIZ_PWHASH_MEMLIMIT      (19 * 1024 * 1024)


/* MACs and keys */

/* out = HMAC-SHA256(key, msg); always 0 */
int csibiz_hmac(const uint8_t key[CSIBIZ_KEYBYTES], const void *msg,
    size_t len, uint8_t out[CSIBIZ_HMACBYTES]);

/*
 * Derives a subkey for one purpose from a master key, so that one secret
 * can key several purposes ("session", "csrf", "seal", "sms" ...) and a
 * leaked or misused subkey says nothing about the master key or the
 * others:
 *
 *     subkey = HMAC-SHA256(key, label || 0x01)
 *
 * which is HKDF-Expand of RFC 5869 with the master key as the PRK, the
 * label as info and L = 32.  The master key must be 32 uniformly random
 * bytes (HKDF-Extract is then not needed).  label is a non-empty C
 * string; -1 when it is NULL or empty.
 */
int csibiz_derive_key(const uint8_t key[CSIBIZ_KEYBYTES], const char *label,
    uint8_t subkey[CSIBIZ_KEYBYTES]);

/*
 * out = HMAC-SHA256(csibiz_derive_key(key, label), msg): a MAC whose key
 * is the label's subkey.  -1 when the label is NULL or empty.
 */
int csibiz_hmac_label(const uint8_t key[CSIBIZ_KEYBYTES], const char *label,
    const void *msg, size_t len, uint8_t out[CSIBIZ_HMACBYTES]);

/*
 * A key for csibiz_hmac_with(), for a key used on every request such as
 * the session key: libcrypto's HMAC context of it, which keeps its pad
 * blocks hashed (two SHA-256 blocks for a short message instead of four)
 * and hashes with the CPU's SHA extensions where there are some; and
 * libsodium's state of the same, used when libcrypto gives none.  Holds
 * key material: csibiz_hmac_key_free() wipes it.  One thread at a time.
 */
typedef struct {
    void       *mac;       /* EVP_MAC_CTX, or NULL */
    uint64_t    state[CSIBIZ_HMAC_STATEBYTES / 8];
} csibiz_hmac_key_t;

/* prepares k from key; always 0 (libsodium's state when not libcrypto's) */
int csibiz_hmac_key_init(csibiz_hmac_key_t *k,
    const uint8_t key[CSIBIZ_KEYBYTES]);

/* frees what csibiz_hmac_key_init() made and wipes the key material */
void csibiz_hmac_key_free(csibiz_hmac_key_t *k);

/* out = HMAC-SHA256(the key of k, msg), as csibiz_hmac(); always 0 */
int csibiz_hmac_with(const csibiz_hmac_key_t *k, const void *msg,
    size_t len, uint8_t out[CSIBIZ_HMACBYTES]);

/* 0 when the len bytes at a and b are equal, -1 otherwise; constant time */
int csibiz_equal(const void *a, const void *b, size_t len);


/* authenticated encryption */

/*
 * Encrypts and authenticates plain (len bytes) and authenticates ad
 * (adlen bytes, may be NULL when adlen is 0: bind the ciphertext to its
 * purpose and owner, such as "bank_account" and the user's id) with
 * XChaCha20-Poly1305-IETF under key and a random 24-byte nonce.  out gets
 * version || nonce || ciphertext || tag, CSIBIZ_SEALED_LEN(len) bytes,
 * stored into *written unless written is NULL.
 *
 * version names the key (0 to 255), for key rotation: the caller keeps
 * its keys by version, seals with the newest one and, to open, picks the
 * key by csibiz_seal_version().  The version byte is authenticated too.
 * -1 when outlen is too small.  out must not overlap plain.
 */
int csibiz_seal(const uint8_t key[CSIBIZ_KEYBYTES], uint8_t version,
    const void *plain, size_t len, const void *ad, size_t adlen,
    uint8_t *out, size_t outlen, size_t *written);

/* the version byte of a sealed message, -1 when len is too short for one */
int csibiz_seal_version(const uint8_t *sealed, size_t len);

/*
 * Checks and decrypts a message made by csibiz_seal() with the same key
 * and the same ad.  Writes len - CSIBIZ_SEAL_OVERHEAD bytes into out and
 * their number into *written unless written is NULL.  -1 on any change to
 * the message (version, nonce, ciphertext or tag), a wrong key or ad, a
 * truncated message or an outlen too small; out is then unspecified.
 */
int csibiz_open(const uint8_t key[CSIBIZ_KEYBYTES], const uint8_t *sealed,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written);


/*
 * Sealing keys by key id, for key rotation: the version byte of a sealed
 * message is the id of the key that sealed it.  keys[0] is the current
 * key, which seals; every key opens what carries its id, so values sealed
 * under an older key stay readable until they are sealed again under the
 * current one.  Ids are 1 to 255 (0 names no key).  Holds key material:
 * wipe it after use.
 */
#define CSIBIZ_KEYRING_MAX          8

typedef struct {
    size_t      n;
    uint8_t     ids[CSIBIZ_KEYRING_MAX];
    uint8_t     keys[CSIBIZ_KEYRING_MAX][CSIBIZ_KEYBYTES];
} csibiz_keyring_t;

/*
 * Appends key under id (the first key added is the current one).  -1
 * when id is not 1 to 255, the ring has that id or that key already, or
 * it is full.
 */
int csibiz_keyring_add(csibiz_keyring_t *ring, unsigned id,
    const uint8_t key[CSIBIZ_KEYBYTES]);

/* the key of id, NULL when the ring has none */
const uint8_t *csibiz_keyring_key(const csibiz_keyring_t *ring, int id);

/* the current key's id, -1 when the ring is empty */
int csibiz_keyring_current(const csibiz_keyring_t *ring);

/* csibiz_seal() under the current key and its id; -1 when empty */
int csibiz_keyring_seal(const csibiz_keyring_t *ring, const void *plain,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written);

/*
 * csibiz_open() under the key that the message's version byte names; -1
 * also when the ring has no key of that id (csibiz_seal_version() tells
 * which one was missing).
 */
int csibiz_keyring_open(const csibiz_keyring_t *ring, const uint8_t *sealed,
    size_t len, const void *ad, size_t adlen, uint8_t *out, size_t outlen,
    size_t *written);


/* random values and their text forms */

/* nbytes random bytes from the system CSPRNG (session ids, tokens) */
void csibiz_random_token(uint8_t *out, size_t nbytes);

/*
 * n uniformly random decimal digits (SMS codes) and a NUL: out has room
 * for n + 1 bytes.  -1 when n is 0.
 */
int csibiz_random_digits(char *out, size_t n);

/*
 * Lower-case hex of len bytes, NUL-terminated: out_size at least
 * CSIBIZ_HEX_SIZE(len), else -1.
 */
int csibiz_hex_encode(const uint8_t *bin, size_t len, char *out,
    size_t out_size);

/*
 * Decodes hexlen characters of lower-case hex into out (out_size >=
 * hexlen / 2) and their number into *written unless written is NULL.  -1
 * on an odd length, any character outside [0-9a-f] (upper case too: a
 * token has one spelling), or out_size too small.
 */
int csibiz_hex_decode(const char *hex, size_t hexlen, uint8_t *out,
    size_t out_size, size_t *written);

/*
 * base64url (RFC 4648 section 5) without padding, NUL-terminated: out_size
 * at least CSIBIZ_B64URL_SIZE(len), else -1.  32 bytes make 43 characters.
 */
int csibiz_b64url_encode(const uint8_t *bin, size_t len, char *out,
    size_t out_size);

/*
 * Decodes canonical unpadded base64url into out and the number of bytes
 * into *written unless written is NULL.  -1 on any character outside
 * [A-Za-z0-9_-] (padding, white space and '+' '/' too), a length of
 * 4k + 1, non-zero unused bits in the last character (a second spelling
 * of the same bytes), or out_size too small.
 */
int csibiz_b64url_decode(const char *b64, size_t b64len, uint8_t *out,
    size_t out_size, size_t *written);


/* passwords */

/*
 * Hashes a password with argon2id (CSIBIZ_PWHASH_OPSLIMIT,
 * CSIBIZ_PWHASH_MEMLIMIT, a random salt) into out as a NUL-terminated
 * "$argon2id$v=19$m=19456,t=2,p=1$..." string.  -1 when memory runs out.
 */
int csibiz_password_hash(const char *pw, size_t len,
    char out[CSIBIZ_PWHASH_STRBYTES]);

/*
 * 0 when pw matches hash (a string from csibiz_password_hash(), or an
 * older argon2 one), -1 otherwise or when hash is not a NUL-terminated
 * string shorter than CSIBIZ_PWHASH_STRBYTES.
 */
int csibiz_password_verify(const char *hash, const char *pw, size_t len);

/*
 * For a login to an account that does not exist: costs what
 * csibiz_password_verify() costs against a current hash, by verifying pw
 * against a fixed argon2id hash of the same parameters whose password
 * nobody knows, so that the response time does not tell whether the
 * account exists.  Always -1.
 */
int csibiz_password_verify_dummy(const char *pw, size_t len);

/*
 * After a successful verify: 1 when hash was made with other parameters
 * or another algorithm than csibiz_password_hash() uses now (store a new
 * hash of the password), 0 when it is current, -1 when it is not a hash.
 */
int csibiz_password_needs_rehash(const char *hash);


#endif /* CSIBIZ_CRYPTO_H */
