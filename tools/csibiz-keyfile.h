
/*
 * The module's keys, derived from a csibiz_secret_file outside nginx, for
 * the command-line tools (csibiz-keytool, csibiz-gen).  The derivation is
 * that of ngx_http_csibiz_secret_file() in ngx_http_csibiz_module.c: the
 * master key is BLAKE2b-256 (crypto_generichash) of the file's first 1024
 * bytes (at least 32), and each purpose has its own subkey,
 * csibiz_derive_key(master, "session" | "index" | "seal" | "sms").  Any
 * change there must be made here too, or lookups stop matching.
 */


#ifndef CSIBIZ_KEYFILE_H
#define CSIBIZ_KEYFILE_H


#include <stddef.h>
#include <stdint.h>

#include "csibiz_crypto.h"


#define CSIBIZ_KEYFILE_SECRET_MAX  1024


/*
 * Derives keys[i] for labels[i], i < n, from the secret file at path.
 * sodium_init() must have been called.  Errors are reported on stderr,
 * prefixed by prog; -1 then.
 */
int csibiz_keyfile_load(const char *prog, const char *path,
    const char *const *labels, uint8_t (*keys)[CSIBIZ_KEYBYTES], size_t n);


#endif /* CSIBIZ_KEYFILE_H */
