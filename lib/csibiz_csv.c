
/*
 * CSV records; see csibiz_csv.h.
 */


#include "csibiz_csv.h"


int
csibiz_csv_complete(const char *s, size_t len)
{
    int     quoted, field_start;
    size_t  i;

    quoted = 0;
    field_start = 1;

    for (i = 0; i < len; i++) {

        if (quoted) {
            if (s[i] == '"') {
                /* a doubled quote stays inside; "" at the end closes */
                if (i + 1 < len && s[i + 1] == '"') {
                    i++;
                } else {
                    quoted = 0;
                }
            }

            continue;
        }

        if (s[i] == '"' && field_start) {
            quoted = 1;
        }

        field_start = (s[i] == ',' || s[i] == '\n');
    }

    return !quoted;
}


int
csibiz_csv_split(char *s, size_t len, csibiz_csv_field_t *fields,
    size_t max, size_t *n)
{
    char    *w, *start;
    size_t   i, count;

    count = 0;
    i = 0;

    for ( ;; ) {
        /* one field from s[i]: unquoted text, or a quoted one */
        start = s + i;
        w = start;

        if (i < len && s[i] == '"') {
            i++;

            for ( ;; ) {
                if (i >= len) {
                    return -1;
                }

                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        *w++ = '"';
                        i += 2;
                        continue;
                    }

                    i++;
                    break;
                }

                *w++ = s[i++];
            }

            if (i < len && s[i] != ',') {
                return -1;
            }

        } else {
            while (i < len && s[i] != ',') {
                if (s[i] == '"') {
                    return -1;
                }

                *w++ = s[i++];
            }
        }

        if (count < max) {
            fields[count].data = start;
            fields[count].len = w - start;
        }

        count++;

        if (i >= len) {
            break;
        }

        i++;    /* the comma */
    }

    *n = count;

    return 0;
}
