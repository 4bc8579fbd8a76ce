
/*
 * The module's keys from its secret file, for the command-line tools: see
 * csibiz-keyfile.h.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "csibiz-keyfile.h"


int
csibiz_keyfile_load(const char *prog, const char *path,
    const char *const *labels, uint8_t (*keys)[CSIBIZ_KEYBYTES], size_t n)
{
    int          rc;
    FILE        *f;
    size_t       i, len;
    uint8_t      buf[CSIBIZ_KEYFILE_SECRET_MAX], master[CSIBIZ_KEYBYTES];
    struct stat  st;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }

    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & 077))
    {
        fprintf(stderr, "%s: key file %s must be a file that group and "
                "others can neither read nor write: chmod 600 it\n", prog,
                path);
        fclose(f);
        return -1;
    }

    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    if (len < CSIBIZ_KEYBYTES) {
        fprintf(stderr, "%s: %s must hold at least %d random bytes\n",
                prog, path, CSIBIZ_KEYBYTES);
        sodium_memzero(buf, sizeof(buf));
        return -1;
    }

    crypto_generichash(master, sizeof(master), buf, len, NULL, 0);

    rc = 0;

    for (i = 0; i < n; i++) {
        if (csibiz_derive_key(master, labels[i], keys[i]) != 0) {
            fprintf(stderr, "%s: could not derive the %s key\n", prog,
                    labels[i]);
            rc = -1;
            break;
        }
    }

    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(master, sizeof(master));

    return rc;
}


int
csibiz_keyfile_ring(const char *prog, const char *secret, const char *spec,
    csibiz_keyring_t *ring)
{
    int                 rc;
    char               *copy, *item, *save, *colon, *end;
    long                id;
    const char         *file;
    uint8_t             key[1][CSIBIZ_KEYBYTES];
    static const char  *labels[] = { "seal" };

    memset(ring, 0, sizeof(*ring));

    if (spec == NULL || spec[strspn(spec, " \t\n")] == '\0') {
        if (csibiz_keyfile_load(prog, secret, labels, key, 1) != 0) {
            return -1;
        }

        rc = csibiz_keyring_add(ring, 1, key[0]);
        sodium_memzero(key, sizeof(key));

        return rc;
    }

    copy = strdup(spec);
    if (copy == NULL) {
        return -1;
    }

    rc = 0;

    for (item = strtok_r(copy, " \t\n", &save); item != NULL;
         item = strtok_r(NULL, " \t\n", &save))
    {
        colon = strchr(item, ':');
        id = colon ? strtol(item, &end, 10) : 0;

        if (colon == NULL || end != colon || id < 1 || id > 255
            || colon[1] == '\0')
        {
            fprintf(stderr, "%s: seal key \"%s\": want ID:FILE, ID from 1 "
                    "to 255\n", prog, item);
            rc = -1;
            break;
        }

        file = colon + 1;

        if (csibiz_keyfile_load(prog, file, labels, key, 1) != 0) {
            rc = -1;
            break;
        }

        if (csibiz_keyring_add(ring, (unsigned) id, key[0]) != 0) {
            fprintf(stderr, "%s: seal key %s: its id or its key is given "
                    "twice, or more than %d keys\n", prog, item,
                    CSIBIZ_KEYRING_MAX);
            rc = -1;
            break;
        }
    }

    sodium_memzero(key, sizeof(key));
    free(copy);

    if (rc != 0) {
        sodium_memzero(ring, sizeof(*ring));
    }

    return rc;
}


int
csibiz_keyfile_birth(const uint8_t index[CSIBIZ_KEYBYTES],
    const uint8_t seal[CSIBIZ_KEYBYTES], uint8_t version,
    const char *index_hex,
    const char *birth, char enc[CSIBIZ_BIRTH_ENC_HEX_SIZE],
    char mac[CSIBIZ_HEX_SIZE(CSIBIZ_HMACBYTES)])
{
    int       rc;
    char      msg[CSIBIZ_HMACBYTES * 2 + CSIBIZ_BIRTH_LEN];
    uint8_t   sealed[CSIBIZ_SEALED_LEN(CSIBIZ_BIRTH_LEN)];
    uint8_t   out[CSIBIZ_HMACBYTES];

    memcpy(msg, index_hex, CSIBIZ_HMACBYTES * 2);
    memcpy(msg + CSIBIZ_HMACBYTES * 2, birth, CSIBIZ_BIRTH_LEN);

    rc = -1;

    if (csibiz_seal(seal, version, birth, CSIBIZ_BIRTH_LEN, CSIBIZ_BIRTH_AD,
                    sizeof(CSIBIZ_BIRTH_AD) - 1, sealed, sizeof(sealed),
                    NULL)
        == 0
        && csibiz_hmac_label(index, CSIBIZ_BIRTH_AD, msg, sizeof(msg), out)
           == 0
        && csibiz_hex_encode(sealed, sizeof(sealed), enc,
                             CSIBIZ_BIRTH_ENC_HEX_SIZE)
           == 0
        && csibiz_hex_encode(out, sizeof(out), mac,
                             CSIBIZ_HEX_SIZE(sizeof(out)))
           == 0)
    {
        rc = 0;
    }

    sodium_memzero(msg, sizeof(msg));

    return rc;
}
