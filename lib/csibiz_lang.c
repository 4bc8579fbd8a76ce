
/*
 * Chinese is the portal's language; English is chosen only when the
 * header prefers it: an "en" range with a higher q than any "zh" range
 * (or "*").  Ties go to Chinese.  Malformed parts are skipped, never an
 * error: a browser's header must not break an answer.
 */


#include "csibiz_lang.h"


static int csibiz_lang_q(const char *p, const char *end);


csibiz_lang_t
csibiz_lang_pick(const char *header, size_t len)
{
    int          q, zh, en;
    const char  *p, *end, *item, *tag_end;

    zh = -1;
    en = -1;

    p = header;
    end = header + len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        item = p;

        while (p < end && *p != ',') {
            p++;
        }

        /* item .. p is one "tag;q=0.8" */

        tag_end = item;

        while (tag_end < p && *tag_end != ';' && *tag_end != ' '
               && *tag_end != '\t')
        {
            tag_end++;
        }

        if (tag_end == item) {
            continue;
        }

        q = csibiz_lang_q(tag_end, p);

        if ((tag_end - item == 2 || (tag_end - item > 2 && item[2] == '-'))
            && (item[0] | 0x20) == 'e' && (item[1] | 0x20) == 'n')
        {
            if (q > en) {
                en = q;
            }

        } else if ((tag_end - item == 2
                    || (tag_end - item > 2 && item[2] == '-'))
                   && (item[0] | 0x20) == 'z' && (item[1] | 0x20) == 'h')
        {
            if (q > zh) {
                zh = q;
            }

        } else if (tag_end - item == 1 && item[0] == '*') {
            if (q > zh) {
                zh = q;
            }
        }
    }

    return (en > 0 && en > zh) ? CSIBIZ_LANG_EN : CSIBIZ_LANG_ZH;
}


/* the q value of a range in thousandths: 1000 when absent or malformed */

static int
csibiz_lang_q(const char *p, const char *end)
{
    int  q, digits;

    for ( ;; ) {
        while (p < end && *p != ';') {
            p++;
        }

        if (p == end) {
            return 1000;
        }

        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            break;
        }
    }

    p += 2;

    if (p < end && *p == '1') {
        return 1000;
    }

    if (p >= end || *p != '0') {
        return 1000;
    }

    p++;
    q = 0;

    if (p < end && *p == '.') {
        p++;

        for (digits = 0; digits < 3; digits++) {
            q *= 10;

            if (p < end && *p >= '0' && *p <= '9') {
                q += *p++ - '0';
            }
        }
    }

    return q;
}
