
/*
 * lib/csibiz_lang.c: any Accept-Language header picks a language, without
 * reading past it.  Oracle: a header that names no "en" range never gets
 * English.
 */


#include "fuzz.h"

#include "csibiz_lang.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *h;
    size_t          i;
    int             en;
    csibiz_lang_t   lang;

    h = fuzz_dup(data, size);

    lang = csibiz_lang_pick(h, size);
    FUZZ_CHECK(lang == CSIBIZ_LANG_ZH || lang == CSIBIZ_LANG_EN);

    for (en = 0, i = 0; i + 1 < size; i++) {
        if ((h[i] | 0x20) == 'e' && (h[i + 1] | 0x20) == 'n') {
            en = 1;
        }
    }

    if (!en) {
        FUZZ_CHECK(lang == CSIBIZ_LANG_ZH);
    }

    free(h);

    return 0;
}
