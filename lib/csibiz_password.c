
/*
 * The registration password policy; see csibiz_password.h for the exact
 * definitions of "common", "repetitive" and "derived".
 */


#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "csibiz_password.h"
#include "csibiz_utf8.h"


#define CSIBIZ_PW_MIN_DISTINCT  5
#define CSIBIZ_PW_MAX_TOKENS    32
#define CSIBIZ_PW_TOKEN_SIZE    24

#define CSIBIZ_PW_IS_DIGIT(c)   ((c) >= '0' && (c) <= '9')
#define CSIBIZ_PW_IS_LOWER(c)   ((c) >= 'a' && (c) <= 'z')
#define CSIBIZ_PW_IS_UPPER(c)   ((c) >= 'A' && (c) <= 'Z')

/* the kinds of personal strings, as bits of a code point's coverage */
#define CSIBIZ_PW_KIND_ID       0x01
#define CSIBIZ_PW_KIND_BIRTH    0x02
#define CSIBIZ_PW_KIND_PHONE    0x04


typedef struct {
    char    s[CSIBIZ_PW_TOKEN_SIZE];
    size_t  len;
    int     kind;
} csibiz_pw_token_t;


/*
 * Common passwords of 12 characters or more: lower case, sorted by byte
 * value (LC_ALL=C sort), no duplicates; the unit test checks all three.
 * Gathered from the patterns that dominate leaked password lists, Chinese
 * ones included: digit and keyboard walks, words with appended digits,
 * pinyin ("woaini", I love you; "5201314", I love you for a lifetime;
 * "mima", password) and their repetitions.
 */
static const char  *csibiz_pw_common_list[] = {
    "!@#$%^&*()_+", "!qaz@wsx#edc", "000000000000", "0000000000000",
    "098765432109", "100200300400", "101010101010", "110110110110",
    "111111111111", "1111111111111", "111222333444", "112233445566",
    "11223344556677", "121212121212", "123123123123", "123321123321",
    "123412341234", "123454321123", "123456123456", "123456654321",
    "1234567887654321", "1234567890-=", "123456789000", "123456789012",
    "1234567890123", "12345678901234", "123456789012345", "1234567890123456",
    "1234567890qwerty", "1234567890qwertyuiop", "1234567891011",
    "123456789101112", "12345678987654321", "123456789987654321",
    "123456789abc", "123456789asd", "123456789qwe", "123456abcdef",
    "123456asdfgh", "123456qwerty", "1234qwerasdf", "1234qwerasdfzxcv",
    "123abc123abc", "123qweasdzxc", "131452013145", "1314520131452",
    "147147147147", "147258369147", "159357159357", "1a2b3c4d5e6f",
    "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "1q2w3e4r5t6y7u8i",
    "1q2w3e4r5t6y7u8i9o0p", "1qaz!qaz2wsx@wsx", "1qaz2wsx1qaz2wsx",
    "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "1qaz@wsx3edc", "1qazxsw23edc",
    "222222222222", "258258258258", "321321321321", "333333333333",
    "369369369369", "444444444444", "456456456456", "520131452013",
    "5201314520131", "52013145201314", "5201314woaini", "520520520520",
    "555555555555", "666666666666", "777777777777", "789789789789",
    "888888888888", "9876543210987", "987654321987", "999999999999",
    "`1234567890-=", "a123456789012", "a1234567890b", "a12345678910",
    "a1b2c3d4e5f6", "a1s2d3f4g5h6", "aa123456789012", "aaaaaaaaaaaa",
    "abc123456789", "abc123abc123", "abcabcabcabc", "abcd12345678",
    "abcd1234abcd", "abcd1234abcd1234", "abcdef123456", "abcdefg12345",
    "abcdefg123456", "abcdefghijkl", "abcdefghijklmnop",
    "abcdefghijklmnopqrstuvwxyz", "admin1234567", "admin123456789",
    "admin@123456", "adminadmin123", "administrator", "aini13145201314",
    "asd123asd123", "asdasdasdasd", "asdfasdfasdf", "asdfghjkl123",
    "asdfghjkl1234", "baseball1234", "basketball12", "basketball123",
    "batman123456", "butterfly123", "changeme1234", "chocolate123",
    "computer1234", "dragon123456", "football1234", "ilovemyfamily",
    "iloveyou1234", "iloveyou12345", "iloveyou123456", "iloveyou1314",
    "iloveyou5201314", "iloveyoubaby", "iloveyouforever", "iloveyouiloveyou",
    "letmein12345", "letmein123456", "liverpool123", "manchesterunited",
    "master123456", "mima12345678", "mnbvcxzlkjhgfdsa", "monkey123456",
    "nihaonihao123", "p@ssw0rd123!", "p@ssw0rd1234", "p@ssword1234",
    "passw0rd1234", "password!123", "password#123", "password123!",
    "password1234", "password1234!", "password12345", "password123456",
    "password2020", "password2021", "password2022", "password2023",
    "password2024", "password2025", "password@123", "passwordpassword",
    "playstation2", "playstation3", "playstation4", "poiuytrewq123",
    "princess1234", "q1w2e3r4t5y6", "qazwsx123456", "qazwsxedc123",
    "qazwsxedc1234", "qazwsxedcrfv", "qazwsxedcrfvtgb", "qq1234567890",
    "qqqqqqqqqqqq", "qwe123qwe123", "qweasdzxc123", "qweasdzxc1234",
    "qweqweqweqwe", "qwer1234asdf", "qwer1234qwer", "qwer1234qwer1234",
    "qwerasdfzxcv", "qwerty123456", "qwerty1234567", "qwerty12345678",
    "qwertyasdfgh", "qwertyasdfghzxcvbn", "qwertyqwerty", "qwertyuiop12",
    "qwertyuiop123", "qwertyuiop1234", "qwertyuiop[]", "qwertyuiopasdfgh",
    "qwertyuiopasdfghjkl", "qwertyuiopasdfghjklzxcvbnm", "qwertyuiopzxcvbnm",
    "shadow123456", "starwars1234", "sunshine1234", "superman1234",
    "trustno1trustno1", "wangyang123456", "welcome12345", "welcome123456",
    "whatever1234", "woaini123456", "woaini1234567", "woaini1314520",
    "woaini13145201314", "woaini5201314", "woaini520520", "woainiwoaini",
    "woainiwoainiwoaini", "woaiwojia123", "woaiwojia1234", "wodemima1234",
    "woshishui123", "zaq12wsxcde3", "zaq1xsw2cde3", "zaq1zaq1zaq1",
    "zhangwei123456", "zxc123zxc123", "zxcvbnm12345", "zxcvbnm123456",
    "zxcvbnmasdfghjkl", "zxcvbnmasdfghjklqwertyuiop", "zzzzzzzzzzzz",
};

#define CSIBIZ_PW_COMMON_COUNT                                               \
    (sizeof(csibiz_pw_common_list) / sizeof(csibiz_pw_common_list[0]))


static uint32_t csibiz_pw_fold(uint32_t cp);
static int csibiz_pw_dropped(uint32_t cp);
static int csibiz_pw_common(const uint32_t *cps, size_t n);
static int csibiz_pw_repetitive(const uint32_t *folded, size_t n,
    const uint32_t *core, size_t m);
static int csibiz_pw_monotone(const uint32_t *core, size_t m);
static csibiz_pw_rc_t csibiz_pw_derived(const uint32_t *core, size_t m,
    const csibiz_pw_context_t *ctx);
static size_t csibiz_pw_tokens(const csibiz_pw_context_t *ctx,
    csibiz_pw_token_t *tokens);
static size_t csibiz_pw_alnum(const char *s, size_t len, char *out,
    size_t size);
static int csibiz_pw_match(const uint32_t *core, size_t m, size_t at,
    const csibiz_pw_token_t *token);


csibiz_pw_rc_t
csibiz_password_check(const char *pw, size_t len,
    const csibiz_pw_context_t *ctx)
{
    size_t          i, n, m, step;
    uint32_t        cp;
    uint32_t        folded[CSIBIZ_PASSWORD_MAX_CHARS];
    uint32_t        core[CSIBIZ_PASSWORD_MAX_CHARS];
    csibiz_pw_rc_t  rc;

    /* bounds the work before anything is decoded */
    if (len > CSIBIZ_PASSWORD_MAX_BYTES) {
        return CSIBIZ_PW_TOO_LONG;
    }

    n = 0;
    m = 0;
    rc = CSIBIZ_PW_OK;

    for (i = 0; i < len; i += step) {
        step = csibiz_utf8_decode(pw + i, len - i, &cp);

        if (step == 0 || cp == 0) {
            rc = CSIBIZ_PW_BAD_UTF8;
            goto done;
        }

        if (n == CSIBIZ_PASSWORD_MAX_CHARS) {
            rc = CSIBIZ_PW_TOO_LONG;
            continue;               /* bad UTF-8 later still wins */
        }

        cp = csibiz_pw_fold(cp);
        folded[n++] = cp;

        if (!csibiz_pw_dropped(cp)) {
            core[m++] = cp;
        }
    }

    if (rc != CSIBIZ_PW_OK) {
        goto done;
    }

    if (n < CSIBIZ_PASSWORD_MIN_CHARS) {
        rc = CSIBIZ_PW_TOO_SHORT;
        goto done;
    }

    rc = csibiz_pw_derived(core, m, ctx);

    if (rc != CSIBIZ_PW_OK) {
        goto done;
    }

    if (csibiz_pw_common(folded, n) || csibiz_pw_common(core, m)) {
        rc = CSIBIZ_PW_COMMON;
        goto done;
    }

    if (csibiz_pw_repetitive(folded, n, core, m)) {
        rc = CSIBIZ_PW_REPETITIVE;
    }

done:

    sodium_memzero(folded, sizeof(folded));
    sodium_memzero(core, sizeof(core));

    return rc;
}


const char *
csibiz_password_rc_name(csibiz_pw_rc_t rc)
{
    switch (rc) {
    case CSIBIZ_PW_OK:
        return "ok";
    case CSIBIZ_PW_TOO_SHORT:
        return "too_short";
    case CSIBIZ_PW_TOO_LONG:
        return "too_long";
    case CSIBIZ_PW_BAD_UTF8:
        return "bad_utf8";
    case CSIBIZ_PW_COMMON:
        return "common";
    case CSIBIZ_PW_DERIVED_ID:
        return "derived_id";
    case CSIBIZ_PW_DERIVED_BIRTH:
        return "derived_birth";
    case CSIBIZ_PW_DERIVED_PHONE:
        return "derived_phone";
    case CSIBIZ_PW_REPETITIVE:
        return "repetitive";
    }

    return "unknown";
}


/* full-width ASCII and the ideographic space, as Chinese input gives them */

static uint32_t
csibiz_pw_fold(uint32_t cp)
{
    if (cp >= 0xff01 && cp <= 0xff5e) {
        cp -= 0xfee0;

    } else if (cp == 0x3000) {
        cp = ' ';
    }

    if (CSIBIZ_PW_IS_UPPER(cp)) {
        cp += 'a' - 'A';
    }

    return cp;
}


static int
csibiz_pw_dropped(uint32_t cp)
{
    if (cp < 0x80) {
        return !(CSIBIZ_PW_IS_DIGIT(cp) || CSIBIZ_PW_IS_LOWER(cp));
    }

    return cp == 0xa0
           || (cp >= 0x2000 && cp <= 0x206f)
           || (cp >= 0x3000 && cp <= 0x303f);
}


static int
csibiz_pw_common(const uint32_t *cps, size_t n)
{
    int     c;
    char    s[CSIBIZ_PASSWORD_MAX_CHARS + 1];
    size_t  i, lo, hi, mid;

    /* every entry is ASCII and at least 12 long */
    if (n < CSIBIZ_PASSWORD_MIN_CHARS) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (cps[i] >= 0x80) {
            return 0;
        }

        s[i] = (char) cps[i];
    }

    s[n] = '\0';

    lo = 0;
    hi = CSIBIZ_PW_COMMON_COUNT;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(s, csibiz_pw_common_list[mid]);

        if (c == 0) {
            sodium_memzero(s, sizeof(s));
            return 1;
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    sodium_memzero(s, sizeof(s));

    return 0;
}


static int
csibiz_pw_repetitive(const uint32_t *folded, size_t n, const uint32_t *core,
    size_t m)
{
    size_t    i, j, p, distinct;
    uint32_t  seen[CSIBIZ_PW_MIN_DISTINCT];

    distinct = 0;

    for (i = 0; i < n && distinct < CSIBIZ_PW_MIN_DISTINCT; i++) {
        for (j = 0; j < distinct; j++) {
            if (seen[j] == folded[i]) {
                break;
            }
        }

        if (j == distinct) {
            seen[distinct++] = folded[i];
        }
    }

    if (distinct < CSIBIZ_PW_MIN_DISTINCT) {
        return 1;
    }

    /* the shortest period, when that is short and repeats at least twice */
    for (p = 1; p < CSIBIZ_PASSWORD_MIN_CHARS && 2 * p <= n; p++) {
        for (i = p; i < n; i++) {
            if (folded[i] != folded[i - p]) {
                break;
            }
        }

        if (i == n) {
            return 1;
        }
    }

    return 2 * m >= n && csibiz_pw_monotone(core, m);
}


static int
csibiz_pw_monotone(const uint32_t *core, size_t m)
{
    int     digits, up, down;
    long    d;
    size_t  i;

    if (m < 2) {
        return 0;
    }

    digits = CSIBIZ_PW_IS_DIGIT(core[0]);

    if (!digits && !CSIBIZ_PW_IS_LOWER(core[0])) {
        return 0;
    }

    up = 1;
    down = 1;

    for (i = 1; i < m; i++) {
        if (digits ? !CSIBIZ_PW_IS_DIGIT(core[i])
                   : !CSIBIZ_PW_IS_LOWER(core[i]))
        {
            return 0;
        }

        d = (long) core[i] - (long) core[i - 1];

        /* 9 -> 0 is a step up, 0 -> 9 one down */
        if (digits && (d == -9 || d == 9)) {
            d = d < 0 ? 1 : -1;
        }

        up &= (d == 0 || d == 1);
        down &= (d == 0 || d == -1);
    }

    return up || down;
}


static csibiz_pw_rc_t
csibiz_pw_derived(const uint32_t *core, size_t m,
    const csibiz_pw_context_t *ctx)
{
    size_t             i, j, k, ntokens, covered, count[3];
    unsigned char      cover[CSIBIZ_PASSWORD_MAX_CHARS];
    csibiz_pw_token_t  tokens[CSIBIZ_PW_MAX_TOKENS];

    if (ctx == NULL || m == 0) {
        return CSIBIZ_PW_OK;
    }

    ntokens = csibiz_pw_tokens(ctx, tokens);

    /* tokens[0] is the whole ID number, tokens[1] the whole phone */
    for (k = 0; k < 2; k++) {
        if (tokens[k].len == 0) {
            continue;
        }

        for (i = 0; i + tokens[k].len <= m; i++) {
            if (csibiz_pw_match(core, m, i, &tokens[k])) {
                sodium_memzero(tokens, sizeof(tokens));
                return k == 0 ? CSIBIZ_PW_DERIVED_ID
                              : CSIBIZ_PW_DERIVED_PHONE;
            }
        }
    }

    memset(cover, 0, sizeof(cover));

    for (k = 2; k < ntokens; k++) {
        for (i = 0; i + tokens[k].len <= m; i++) {
            if (csibiz_pw_match(core, m, i, &tokens[k])) {
                for (j = i; j < i + tokens[k].len; j++) {
                    cover[j] |= (unsigned char) tokens[k].kind;
                }
            }
        }
    }

    sodium_memzero(tokens, sizeof(tokens));

    covered = 0;
    count[0] = count[1] = count[2] = 0;

    for (i = 0; i < m; i++) {
        covered += (cover[i] != 0);
        count[0] += (cover[i] & CSIBIZ_PW_KIND_ID) != 0;
        count[1] += (cover[i] & CSIBIZ_PW_KIND_BIRTH) != 0;
        count[2] += (cover[i] & CSIBIZ_PW_KIND_PHONE) != 0;
    }

    if (covered == 0 || 2 * covered < m) {
        return CSIBIZ_PW_OK;
    }

    if (count[0] >= count[1] && count[0] >= count[2]) {
        return CSIBIZ_PW_DERIVED_ID;
    }

    return count[1] >= count[2] ? CSIBIZ_PW_DERIVED_BIRTH
                                : CSIBIZ_PW_DERIVED_PHONE;
}


/*
 * The personal strings of ctx: tokens[0] the whole ID number and
 * tokens[1] the whole phone (each of length 0 when unknown), then the
 * partial ones.  Returns the number of tokens.
 */

static size_t
csibiz_pw_tokens(const csibiz_pw_context_t *ctx, csibiz_pw_token_t *tokens)
{
    char           id[CSIBIZ_PW_TOKEN_SIZE], phone[CSIBIZ_PW_TOKEN_SIZE];
    size_t         k, n, idlen, phonelen;
    csibiz_date_t  date;

    static const size_t  phone_max = 11;

    memset(tokens, 0, 2 * sizeof(csibiz_pw_token_t));
    tokens[0].kind = CSIBIZ_PW_KIND_ID;
    tokens[1].kind = CSIBIZ_PW_KIND_PHONE;
    n = 2;

    idlen = 0;

    if (ctx->id_number) {
        idlen = csibiz_pw_alnum(ctx->id_number, ctx->id_number_len, id,
                                sizeof(id));
    }

    if (idlen >= 6) {
        memcpy(tokens[0].s, id, idlen);
        tokens[0].len = idlen;

        for (k = 6; k < idlen; k++) {
            memcpy(tokens[n].s, id + idlen - k, k);
            tokens[n].len = k;
            tokens[n].kind = CSIBIZ_PW_KIND_ID;
            n++;
        }
    }

    phonelen = 0;

    if (ctx->phone) {
        phonelen = csibiz_pw_alnum(ctx->phone, ctx->phone_len, phone,
                                   sizeof(phone));

        for (k = 0; k < phonelen; k++) {
            if (!CSIBIZ_PW_IS_DIGIT(phone[k])) {
                phonelen = 0;
            }
        }

        /* "+86 138 ..." or "0086 138 ...": the last 11 digits */
        if (phonelen > phone_max) {
            memmove(phone, phone + phonelen - phone_max, phone_max);
            phonelen = phone_max;
        }
    }

    if (phonelen >= 8) {
        memcpy(tokens[1].s, phone, phonelen);
        tokens[1].len = phonelen;

        for (k = 8; k < phonelen; k++) {
            memcpy(tokens[n].s, phone + phonelen - k, k);
            tokens[n].len = k;
            tokens[n].kind = CSIBIZ_PW_KIND_PHONE;
            n++;
        }
    }

    if (ctx->birth && csibiz_date_valid(ctx->birth)) {
        date = *ctx->birth;

    } else if (ctx->birth == NULL && idlen == 18
               && strspn(id + 6, "0123456789") >= 8)
    {
        date.year = (id[6] - '0') * 1000 + (id[7] - '0') * 100
                    + (id[8] - '0') * 10 + (id[9] - '0');
        date.month = (id[10] - '0') * 10 + (id[11] - '0');
        date.day = (id[12] - '0') * 10 + (id[13] - '0');

    } else {
        date.year = date.month = date.day = 0;
    }

    /* the bounds keep each date within 8 characters */
    if (date.year > 0 && date.year <= 9999 && date.month >= 0
        && date.month <= 99 && date.day >= 0 && date.day <= 99)
    {
        snprintf(tokens[n++].s, 9, "%04d%02d%02d", date.year, date.month,
                 date.day);
        snprintf(tokens[n++].s, 9, "%02d%02d%02d", date.year % 100,
                 date.month, date.day);
        snprintf(tokens[n++].s, 9, "%02d%02d%04d", date.day, date.month,
                 date.year);
        snprintf(tokens[n++].s, 9, "%02d%02d%04d", date.month, date.day,
                 date.year);

        for (k = n - 4; k < n; k++) {
            tokens[k].len = strlen(tokens[k].s);
            tokens[k].kind = CSIBIZ_PW_KIND_BIRTH;
        }
    }

    sodium_memzero(id, sizeof(id));
    sodium_memzero(phone, sizeof(phone));

    return n;
}


/*
 * Copies the ASCII letters (lower-cased) and digits of s into out; 0 when
 * there are more than size - 1 of them (that is no ID number or phone).
 */

static size_t
csibiz_pw_alnum(const char *s, size_t len, char *out, size_t size)
{
    size_t         i, n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (CSIBIZ_PW_IS_UPPER(c)) {
            c = (unsigned char) (c + 'a' - 'A');

        } else if (!CSIBIZ_PW_IS_LOWER(c) && !CSIBIZ_PW_IS_DIGIT(c)) {
            continue;
        }

        if (n == size - 1) {
            return 0;
        }

        out[n++] = (char) c;
    }

    out[n] = '\0';

    return n;
}


static int
csibiz_pw_match(const uint32_t *core, size_t m, size_t at,
    const csibiz_pw_token_t *token)
{
    size_t  j;

    if (token->len == 0 || at + token->len > m) {
        return 0;
    }

    for (j = 0; j < token->len; j++) {
        if (core[at + j] != (unsigned char) token->s[j]) {
            return 0;
        }
    }

    return 1;
}
