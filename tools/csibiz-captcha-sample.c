
/*
 * csibiz-captcha-sample N DIR: draws N fresh captchas with lib/'s code
 * (the texts and images GET /api/captcha hands out) into DIR: NNNN.png as
 * served, NNNN.bw.png cleaned up the way an attacker would start
 * (grey-level threshold, scaled 4x), and answers.txt, one "NNNN TEXT" a
 * line.  For tools/captcha-ocr.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>
#include <sodium.h>

#include "csibiz_captcha.h"


#define SAMPLE_LEN     5       /* as ngx_http_csibiz_captcha.c draws */
#define SAMPLE_SCALE   4
#define SAMPLE_DARK    140     /* a grey level below it is ink */


static int write_file(const char *path, const void *data, size_t len);
static int write_bw(const char *path, const uint8_t *png, int len);


int
main(int argc, char **argv)
{
    int       i, n, len;
    char      path[4096], text[CSIBIZ_CAPTCHA_SIZE];
    FILE     *answers;
    uint8_t  *png;

    if (argc != 3 || (n = atoi(argv[1])) <= 0 || n > 100000) {
        fprintf(stderr, "usage: csibiz-captcha-sample N DIR\n");
        return 2;
    }

    if (sodium_init() < 0) {
        fprintf(stderr, "csibiz-captcha-sample: sodium_init failed\n");
        return 1;
    }

    snprintf(path, sizeof(path), "%s/answers.txt", argv[2]);
    answers = fopen(path, "w");

    if (answers == NULL) {
        perror(path);
        return 1;
    }

    for (i = 0; i < n; i++) {
        if (csibiz_captcha_text(text, SAMPLE_LEN) != 0
            || csibiz_captcha_png(text, SAMPLE_LEN, &png, &len) != 0)
        {
            fprintf(stderr, "csibiz-captcha-sample: could not draw\n");
            return 1;
        }

        snprintf(path, sizeof(path), "%s/%04d.png", argv[2], i);

        if (write_file(path, png, len) != 0) {
            return 1;
        }

        snprintf(path, sizeof(path), "%s/%04d.bw.png", argv[2], i);

        if (write_bw(path, png, len) != 0) {
            return 1;
        }

        csibiz_captcha_free(png);
        fprintf(answers, "%04d %s\n", i, text);
    }

    return fclose(answers) == 0 ? 0 : 1;
}


static int
write_file(const char *path, const void *data, size_t len)
{
    FILE  *f;

    f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }

    return 0;
}


/* black ink on white, each pixel a SAMPLE_SCALE square */

static int
write_bw(const char *path, const uint8_t *png, int len)
{
    int          x, y, c, size, rc;
    void        *data;
    gdImagePtr   im, bw;

    im = gdImageCreateFromPngPtr(len, (void *) png);
    if (im == NULL || !gdImageGrayScale(im)) {
        if (im) {
            gdImageDestroy(im);
        }

        return -1;
    }

    bw = gdImageCreateTrueColor(gdImageSX(im) * SAMPLE_SCALE,
                                gdImageSY(im) * SAMPLE_SCALE);
    if (bw == NULL) {
        gdImageDestroy(im);
        return -1;
    }

    for (x = 0; x < gdImageSX(im); x++) {
        for (y = 0; y < gdImageSY(im); y++) {
            c = gdTrueColorGetRed(gdImageGetTrueColorPixel(im, x, y));
            c = c < SAMPLE_DARK ? 0x000000 : 0xffffff;

            gdImageFilledRectangle(bw, x * SAMPLE_SCALE, y * SAMPLE_SCALE,
                                   (x + 1) * SAMPLE_SCALE - 1,
                                   (y + 1) * SAMPLE_SCALE - 1, c);
        }
    }

    data = gdImagePngPtr(bw, &size);
    rc = data ? write_file(path, data, size) : -1;

    gdFree(data);
    gdImageDestroy(bw);
    gdImageDestroy(im);

    return rc;
}
