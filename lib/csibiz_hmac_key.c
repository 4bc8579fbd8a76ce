
/*
 * HMAC-SHA256 with a key used on every request; see csibiz_crypto.h.
 * libcrypto's HMAC keeps the key's pad blocks hashed as libsodium's state
 * does, and its SHA-256 uses the CPU's SHA extensions where there are
 * some: a session id's HMAC takes less than half of libsodium's time
 * (which has no such code) in the event loop.  libsodium's state is kept
 * for when libcrypto cannot give an HMAC (a provider that refuses it).
 */


#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "csibiz_crypto.h"


int
csibiz_hmac_key_init(csibiz_hmac_key_t *k,
    const uint8_t key[CSIBIZ_KEYBYTES])
{
    EVP_MAC                       *mac;
    EVP_MAC_CTX                   *ctx;
    OSSL_PARAM                     params[2];
    crypto_auth_hmacsha256_state   st;

    crypto_auth_hmacsha256_init(&st, key, CSIBIZ_KEYBYTES);
    memcpy(k->state, &st, sizeof(st));
    sodium_memzero(&st, sizeof(st));

    k->mac = NULL;

    mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (mac == NULL) {
        return 0;
    }

    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);

    if (ctx == NULL) {
        return 0;
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_MAC_init(ctx, key, CSIBIZ_KEYBYTES, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return 0;
    }

    k->mac = ctx;

    return 0;
}


void
csibiz_hmac_key_free(csibiz_hmac_key_t *k)
{
    /* libcrypto wipes the context's key material as it frees it */
    EVP_MAC_CTX_free(k->mac);
    k->mac = NULL;

    sodium_memzero(k->state, sizeof(k->state));
}


int
csibiz_hmac_with(const csibiz_hmac_key_t *k, const void *msg, size_t len,
    uint8_t out[CSIBIZ_HMACBYTES])
{
    size_t                        n;
    crypto_auth_hmacsha256_state  st;

    /* without a key, EVP_MAC_init() starts again from the hashed pads */

    if (k->mac
        && EVP_MAC_init(k->mac, NULL, 0, NULL) == 1
        && EVP_MAC_update(k->mac, msg, len) == 1
        && EVP_MAC_final(k->mac, out, &n, CSIBIZ_HMACBYTES) == 1
        && n == CSIBIZ_HMACBYTES)
    {
        return 0;
    }

    memcpy(&st, k->state, sizeof(st));
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));

    return 0;
}
