
/*
 * csibiz-keytool's commands on the database: rotate (every sealed column
 * sealed again under the current key, in small transactions, online),
 * verify (every sealed value opened) and reindex (the blind indexes made
 * again under a new index key).  See csibiz-keytool-db.c.
 */


#ifndef CSIBIZ_KEYTOOL_DB_H
#define CSIBIZ_KEYTOOL_DB_H


#include "csibiz_crypto.h"


/*
 * cmd "rotate", "verify" or "reindex" on the database of conninfo (NULL:
 * libpq's defaults) with the seal keys of ring and the index key index,
 * batch rows a transaction; rotate stops after the batch that reaches
 * limit rows (0: no limit).  The exit status.
 */
int kt_db(const char *cmd, const uint8_t index[CSIBIZ_KEYBYTES],
    const csibiz_keyring_t *ring, const char *conninfo, long batch,
    long limit);


#endif /* CSIBIZ_KEYTOOL_DB_H */
