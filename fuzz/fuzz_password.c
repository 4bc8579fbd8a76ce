
/*
 * lib/csibiz_password.c.  Input: the password, then optionally a 0xff
 * byte, the ID number, 0xff and the phone (0xff never occurs in UTF-8).
 * Oracles: an accepted password is valid UTF-8 of 12 to 128 characters;
 * a password refused as bad UTF-8 is not valid UTF-8; the context never
 * changes a verdict of length or encoding.
 */


#include "fuzz.h"

#include "csibiz_password.h"
#include "csibiz_utf8.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                 *buf;
    size_t                pw_len, chars;
    const char           *pw, *sep, *id, *phone, *end;
    csibiz_pw_rc_t        rc, bare;
    csibiz_pw_context_t   ctx;

    buf = fuzz_dup(data, size);
    end = buf + size;

    pw = buf;
    sep = memchr(buf, 0xff, size);
    pw_len = sep ? (size_t) (sep - buf) : size;

    memset(&ctx, 0, sizeof(ctx));

    if (sep) {
        id = sep + 1;
        sep = memchr(id, 0xff, (size_t) (end - id));
        ctx.id_number = id;
        ctx.id_number_len = sep ? (size_t) (sep - id) : (size_t) (end - id);

        if (sep) {
            phone = sep + 1;
            ctx.phone = phone;
            ctx.phone_len = (size_t) (end - phone);
        }
    }

    rc = csibiz_password_check(pw, pw_len, &ctx);
    bare = csibiz_password_check(pw, pw_len, NULL);

    FUZZ_CHECK(strcmp(csibiz_password_rc_name(rc), "unknown") != 0);

    if (rc == CSIBIZ_PW_OK) {
        FUZZ_CHECK(csibiz_utf8_count(pw, pw_len, &chars) == 0);
        FUZZ_CHECK(chars >= CSIBIZ_PASSWORD_MIN_CHARS
                   && chars <= CSIBIZ_PASSWORD_MAX_CHARS);
        FUZZ_CHECK(bare == CSIBIZ_PW_OK);
    }

    if (rc == CSIBIZ_PW_BAD_UTF8) {
        FUZZ_CHECK(!csibiz_utf8_valid(pw, pw_len));
    }

    if (bare == CSIBIZ_PW_TOO_SHORT || bare == CSIBIZ_PW_TOO_LONG
        || bare == CSIBIZ_PW_BAD_UTF8)
    {
        FUZZ_CHECK(rc == bare);
    }

    free(buf);

    return 0;
}
