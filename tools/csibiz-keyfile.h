
/*
 * The module's keys, derived from a csibiz_secret_file outside nginx, for
 * the command-line tools (csibiz-keytool, csibiz-gen).  The derivation is
 * that of ngx_http_csibiz_secret_file() in ngx_http_csibiz_module.c: the
 * master key is BLAKE2b-256 (crypto_generichash) of the file's first 1024
 * bytes (at least 32), and each purpose has its own subkey,
 * csibiz_derive_key(master, "session" | "index" | "seal" | "sms").  Any
 * change there must be made here too, or lookups stop matching.
 *
 * Sealing keys (csibiz_seal_key of the module) are derived from their
 * own files the same way, label "seal"; without any, the secret file's
 * seal key is key id 1, as in the module.  Key files must not be
 * readable or writable by group or others, as in the module.
 */


#ifndef CSIBIZ_KEYFILE_H
#define CSIBIZ_KEYFILE_H


#include <stddef.h>
#include <stdint.h>

#include "csibiz_crypto.h"


#define CSIBIZ_KEYFILE_SECRET_MAX  1024

/* birth dates, YYYY-MM-DD: insured_person.birth_date_enc and _hmac */
#define CSIBIZ_BIRTH_LEN           10
#define CSIBIZ_BIRTH_AD            "birth_date"
#define CSIBIZ_BIRTH_ENC_HEX_SIZE  CSIBIZ_HEX_SIZE(CSIBIZ_SEALED_LEN(10))


/*
 * Derives keys[i] for labels[i], i < n, from the secret file at path.
 * sodium_init() must have been called.  Errors are reported on stderr,
 * prefixed by prog; -1 then.
 */
int csibiz_keyfile_load(const char *prog, const char *path,
    const char *const *labels, uint8_t (*keys)[CSIBIZ_KEYBYTES], size_t n);

/*
 * The sealing keys into ring: spec is "ID:FILE ..." (white space between
 * them; the first seals), as the module's csibiz_seal_key lines; NULL or
 * empty: the seal key of the secret file as id 1.  Errors on stderr
 * prefixed by prog; -1 then.
 */
int csibiz_keyfile_ring(const char *prog, const char *secret,
    const char *spec, csibiz_keyring_t *ring);

/*
 * A birth date (CSIBIZ_BIRTH_LEN bytes) sealed under the seal key with
 * key id version and AD "birth_date", in hex into enc, and into mac the hex
 * of its HMAC under the index key's "birth_date" subkey of index_hex (the
 * person's id_number_hmac, 64 lower-case hex digits) followed by the
 * date: the roster import compares HMACs, as sealed values never repeat.
 * The module opens the sealed date for GET /api/me.  0, or -1.
 */
int csibiz_keyfile_birth(const uint8_t index[CSIBIZ_KEYBYTES],
    const uint8_t seal[CSIBIZ_KEYBYTES], uint8_t version,
    const char *index_hex,
    const char *birth, char enc[CSIBIZ_BIRTH_ENC_HEX_SIZE],
    char mac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)]);


#endif /* CSIBIZ_KEYFILE_H */
