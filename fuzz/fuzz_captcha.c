
/*
 * csibiz_captcha_check(), the answer to an image captcha as the client
 * types it.  Input: the text (the first byte's low 3 bits give its length,
 * up to 6, as Redis returns it) and the answer.  Oracle: the answer
 * matches when, and only when, it has the text's length and equals it
 * ignoring ASCII case; an empty or too long text matches nothing.
 */


#include <strings.h>

#include "fuzz.h"

#include "csibiz_captcha.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      rc, same;
    char    *text, *answer;
    size_t   n, len, i;

    if (size == 0) {
        return 0;
    }

    n = data[0] & 7;

    if (n > CSIBIZ_CAPTCHA_MAX_LEN || n > size - 1) {
        n = 0;
    }

    len = size - 1 - n;
    text = fuzz_dup(data + 1, n);
    answer = fuzz_dup(data + 1 + n, len);

    rc = csibiz_captcha_check(text, n, answer, len);

    same = (n > 0 && len == n);

    for (i = 0; same && i < n; i++) {
        unsigned char  a = (unsigned char) text[i];
        unsigned char  b = (unsigned char) answer[i];

        if (a >= 'A' && a <= 'Z') {
            a |= 0x20;
        }

        if (b >= 'A' && b <= 'Z') {
            b |= 0x20;
        }

        same = (a == b);
    }

    FUZZ_CHECK((rc == 0) == same);
    FUZZ_CHECK(csibiz_captcha_check(answer, len, answer, len)
               == (len > 0 && len <= CSIBIZ_CAPTCHA_MAX_LEN ? 0 : -1));

    free(answer);
    free(text);

    return 0;
}
