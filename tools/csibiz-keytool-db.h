
/*
 * csibiz-keytool's commands on the database: rotate (every sealed column
 * sealed again under the current key, in small transactions, online)
 * and verify (every sealed value opened).  See csibiz-keytool-db.c.
 */


#ifndef CSIBIZ_KEYTOOL_DB_H
#define CSIBIZ_KEYTOOL_DB_H


#include "csibiz_crypto.h"


/*
 * cmd "rotate" or "verify" on the database of conninfo (NULL: libpq's
 * defaults), batch rows a transaction; rotate stops after the batch that
 * reaches limit rows (0: no limit).  The exit status.
 */
int kt_db(const char *cmd, const csibiz_keyring_t *ring,
    const char *conninfo, long batch, long limit);


#endif /* CSIBIZ_KEYTOOL_DB_H */
