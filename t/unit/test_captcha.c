
/*
 * Unit tests of lib/csibiz_captcha.c: texts drawn uniformly from the
 * alphabet, PNGs that decode to the right size with dark ink on a light
 * background, a new image on each call, the time one takes, and the
 * answer check.  Writes one sample to build/captcha-sample.png for people
 * to look at.
 */


#include <stdlib.h>
#include <string.h>

#include <gd.h>
#include <sodium.h>

#include "csibiz_captcha.h"
#include "tap.h"


static void test_text(void);
static void test_png(void);
static void test_speed(void);
static void test_check(void);
static void write_sample(const char *argv0);
static uint32_t be32(const uint8_t *p);


int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        tap_ok(0, "sodium_init");
        return tap_done();
    }

    test_text();
    test_png();
    test_speed();
    test_check();
    write_sample(argv[0]);

    return tap_done();
}


static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static void
test_text(void)
{
    int          i, ok;
    char         text[CSIBIZ_CAPTCHA_SIZE + 8];
    long         count[256];
    size_t       n, k;
    const char  *p, *alphabet;

    alphabet = CSIBIZ_CAPTCHA_ALPHABET;

    tap_is_int(strlen(alphabet), 27, "27 characters in the alphabet");
    tap_ok(strpbrk(alphabet, "0O1IlQ") == NULL,
           "no 0, O, 1, I, l or Q in the alphabet");

    for (n = CSIBIZ_CAPTCHA_MIN_LEN; n <= CSIBIZ_CAPTCHA_MAX_LEN; n++) {
        memset(text, 'x', sizeof(text));
        tap_is_int(csibiz_captcha_text(text, n), 0, "text of %zu", n);
        tap_is_int(strlen(text), n, "%zu characters and a NUL", n);
    }

    tap_is_int(csibiz_captcha_text(text, CSIBIZ_CAPTCHA_MIN_LEN - 1), -1,
               "too short refused");
    tap_is_int(csibiz_captcha_text(text, CSIBIZ_CAPTCHA_MAX_LEN + 1), -1,
               "too long refused");

    /* 5400 texts of 5: 1000 of each character expected, sigma 31 */
    memset(count, 0, sizeof(count));
    ok = 1;

    for (i = 0; i < 5400; i++) {
        csibiz_captcha_text(text, 5);

        for (k = 0; k < 5; k++) {
            if (strchr(alphabet, text[k]) == NULL) {
                tap_diag("not in the alphabet: '%c'", text[k]);
                ok = 0;
            }

            count[(unsigned char) text[k]]++;
        }
    }

    tap_ok(ok, "only characters of the alphabet");

    ok = 1;

    for (p = alphabet; *p; p++) {
        if (count[(unsigned char) *p] < 800
            || count[(unsigned char) *p] > 1200)
        {
            tap_diag("'%c' %ld times of 1000", *p,
                     count[(unsigned char) *p]);
            ok = 0;
        }
    }

    tap_ok(ok, "each character of the alphabet about as often");
}


static void
test_png(void)
{
    int          len, len2, x, y, c, dark, light;
    double       lum;
    uint8_t     *png, *png2;
    gdImagePtr   im;

    png = NULL;
    tap_is_int(csibiz_captcha_png(S("4V4VE"), &png, &len), 0, "png");

    if (png == NULL) {
        return;
    }

    tap_ok(len > 33 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0,
           "PNG signature (%d bytes)", len);
    tap_ok(len > 33 && be32(png + 8) == 13 && memcmp(png + 12, "IHDR", 4)
           == 0, "IHDR first");
    tap_is_int(be32(png + 16), CSIBIZ_CAPTCHA_WIDTH, "IHDR width");
    tap_is_int(be32(png + 20), CSIBIZ_CAPTCHA_HEIGHT, "IHDR height");

    im = gdImageCreateFromPngPtr(len, png);
    tap_ok(im != NULL, "libgd decodes it");

    if (im) {
        tap_ok(gdImageSX(im) == CSIBIZ_CAPTCHA_WIDTH
               && gdImageSY(im) == CSIBIZ_CAPTCHA_HEIGHT, "decoded size");

        dark = 0;
        light = 0;

        for (x = 0; x < gdImageSX(im); x++) {
            for (y = 0; y < gdImageSY(im); y++) {
                c = gdImageGetTrueColorPixel(im, x, y);
                lum = 0.2126 * gdTrueColorGetRed(c)
                      + 0.7152 * gdTrueColorGetGreen(c)
                      + 0.0722 * gdTrueColorGetBlue(c);
                dark += lum < 110;
                light += lum > 200;
            }
        }

        tap_diag("%d dark and %d light pixels of %d", dark, light,
                 CSIBIZ_CAPTCHA_WIDTH * CSIBIZ_CAPTCHA_HEIGHT);
        tap_ok(dark > 300, "enough dark ink for 5 characters");
        tap_ok(light > CSIBIZ_CAPTCHA_WIDTH * CSIBIZ_CAPTCHA_HEIGHT / 2,
               "mostly light background");

        gdImageDestroy(im);
    }

    png2 = NULL;
    csibiz_captcha_png(S("4V4VE"), &png2, &len2);
    tap_ok(png2 != NULL && (len != len2 || memcmp(png, png2, len) != 0),
           "the same text drawn twice differs");

    csibiz_captcha_free(png);
    csibiz_captcha_free(png2);
    csibiz_captcha_free(NULL);

    png = NULL;
    tap_is_int(csibiz_captcha_png(S("ABC"), &png, &len), -1,
               "3 characters refused");
    tap_is_int(csibiz_captcha_png(S("ABCDEFG"), &png, &len), -1,
               "7 characters refused");
    tap_is_int(csibiz_captcha_png(S("AB0DE"), &png, &len), -1,
               "0 refused");
    tap_is_int(csibiz_captcha_png(S("ABcDE"), &png, &len), -1,
               "lower case refused");
    tap_is_int(csibiz_captcha_png(S("AB\0DE"), &png, &len), -1,
               "NUL refused");
    tap_is_int(csibiz_captcha_png(S("AB\xc3\xa9" "D"), &png, &len), -1,
               "non-ASCII refused");
    tap_ok(png == NULL, "nothing returned when refused");

    tap_is_int(csibiz_captcha_png(S("3469"), &png, &len), 0, "4 characters");
    csibiz_captcha_free(png);
    tap_is_int(csibiz_captcha_png(S("WWWWWW"), &png, &len), 0,
               "6 wide characters");
    csibiz_captcha_free(png);
}


static void
test_speed(void)
{
    int       i, len;
    char      text[CSIBIZ_CAPTCHA_SIZE];
    double    t;
    uint8_t  *png;

    t = tap_now();

    for (i = 0; i < 200; i++) {
        csibiz_captcha_text(text, 5);

        if (csibiz_captcha_png(text, 5, &png, &len) == 0) {
            csibiz_captcha_free(png);
        }
    }

    t = (tap_now() - t) / 200;

    /* under 1 ms without sanitizers; this bound is for busy machines */
    tap_diag("%.3f ms for a text and its PNG", t * 1e3);
    tap_ok(t < 0.02, "fast enough");
}


static void
test_check(void)
{
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S("AB3CD")), 0, "match");
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S("ab3cd")), 0,
               "case ignored");
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S("AB3CE")), -1,
               "wrong character");
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S("AB3C")), -1, "short");
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S("AB3CDE")), -1, "long");
    tap_is_int(csibiz_captcha_check(S("AB3CD"), S(" AB3CD")), -1,
               "not trimmed");
    tap_is_int(csibiz_captcha_check(S(""), S("")), -1, "empty text");
    tap_is_int(csibiz_captcha_check(S("AB3CDEFG"), S("AB3CDEFG")), -1,
               "text longer than the maximum");
}


/* build/unit/test_captcha writes build/captcha-sample.png */

static void
write_sample(const char *argv0)
{
    int       len;
    char      path[4096], text[CSIBIZ_CAPTCHA_SIZE];
    FILE     *f;
    uint8_t  *png;
    size_t    n;

    n = strlen(argv0);

    while (n > 0 && argv0[n - 1] != '/') {
        n--;
    }

    if (n + sizeof("../captcha-sample.png") > sizeof(path)) {
        return;
    }

    memcpy(path, argv0, n);
    memcpy(path + n, "../captcha-sample.png", sizeof("../captcha-sample.png"));

    csibiz_captcha_text(text, 5);

    if (csibiz_captcha_png(text, 5, &png, &len) != 0) {
        return;
    }

    f = fopen(path, "wb");

    if (f) {
        fwrite(png, 1, len, f);
        fclose(f);
        tap_diag("sample \"%s\" in %s", text, path);
    }

    csibiz_captcha_free(png);
}
