
/*
 * Image captchas with libgd; see csibiz_captcha.h.
 *
 * The pixels are computed here and libgd only holds and encodes them:
 * its built-in fonts come at one size and its rotations at whole degrees
 * without smoothing, so each character is drawn by inverse mapping, every
 * pixel of its box sampled bilinearly from the 9x15 bitmap of
 * gdFontGetGiant() through its own scale, shear and rotation.  The sine
 * is a polynomial so that the module needs no libm.
 *
 * The text comes from randombytes_uniform().  The drawing needs some 800
 * random numbers, and each randombytes call costs a system call (1.5 us
 * here): so one random seed drives a ChaCha20 stream for them instead.
 */


#include <string.h>

#include <gd.h>
#include <gdfontg.h>
#include <sodium.h>

#include "csibiz_captcha.h"


#define CSIBIZ_CAPTCHA_PI       3.14159265358979323846
#define CSIBIZ_CAPTCHA_MARGIN   5
#define CSIBIZ_CAPTCHA_BOX      24      /* half size of a character's box */
#define CSIBIZ_CAPTCHA_DOTS     140
#define CSIBIZ_CAPTCHA_PNG      3       /* zlib level: small, fast enough */
#define CSIBIZ_CAPTCHA_STREAM   4096

/*
 * What keeps OCR out (tools/captcha-ocr): characters wider than their
 * advance, so that neighbours touch, rotated by up to 0.45 radians
 * (26 degrees), and dark curves about as thick as their strokes across
 * them, which join what an OCR would cut apart.
 */
#define CSIBIZ_CAPTCHA_SCALE    2.8     /* at most, the font's 9 px to 25 */
#define CSIBIZ_CAPTCHA_ROTATE   0.45
#define CSIBIZ_CAPTCHA_CURVE    3.0     /* the curves' width in pixels */

/* where the ink of gdFontGetGiant()'s capitals and digits is centred */
#define CSIBIZ_CAPTCHA_INK_X    4.0
#define CSIBIZ_CAPTCHA_INK_Y    8.0


typedef struct {
    double  r;
    double  g;
    double  b;
} csibiz_rgb_t;


typedef struct {
    size_t   pos;
    uint8_t  seed[randombytes_SEEDBYTES];
    uint8_t  buf[CSIBIZ_CAPTCHA_STREAM];
} csibiz_captcha_rng_t;


static double csibiz_captcha_sin(double x);
static void csibiz_captcha_rng_init(csibiz_captcha_rng_t *rng);
static uint32_t csibiz_captcha_uniform(csibiz_captcha_rng_t *rng,
    uint32_t n);
static double csibiz_captcha_rand(csibiz_captcha_rng_t *rng, double lo,
    double hi);
static csibiz_rgb_t csibiz_captcha_colour(csibiz_captcha_rng_t *rng, int lo,
    int hi);
static void csibiz_captcha_blend(gdImagePtr im, int x, int y,
    const csibiz_rgb_t *c, double a);
static void csibiz_captcha_background(gdImagePtr im,
    csibiz_captcha_rng_t *rng);
static void csibiz_captcha_glyph(gdImagePtr im, csibiz_captcha_rng_t *rng,
    gdFontPtr font, int ch, double cx, double cy, double sx,
    const double *wave);
static double csibiz_captcha_sample(gdFontPtr font, int ch, double u,
    double v);
static int csibiz_captcha_bit(gdFontPtr font, int ch, int x, int y);
static void csibiz_captcha_curve(gdImagePtr im, csibiz_captcha_rng_t *rng,
    const csibiz_rgb_t *c, double a, double width);
static void csibiz_captcha_line(gdImagePtr im, csibiz_captcha_rng_t *rng,
    const csibiz_rgb_t *c, double a);
static void csibiz_captcha_dots(gdImagePtr im, csibiz_captcha_rng_t *rng);


int
csibiz_captcha_text(char *out, size_t n)
{
    size_t  i;

    static const char  alphabet[] = CSIBIZ_CAPTCHA_ALPHABET;

    if (n < CSIBIZ_CAPTCHA_MIN_LEN || n > CSIBIZ_CAPTCHA_MAX_LEN) {
        return -1;
    }

    /* randombytes_uniform() rejects the biased tail: no modulo bias */
    for (i = 0; i < n; i++) {
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    }

    out[n] = '\0';

    return 0;
}


int
csibiz_captcha_png(const char *text, size_t n, uint8_t **png, int *png_len)
{
    int                   x, size;
    void                 *data;
    double                advance, sx, wave[CSIBIZ_CAPTCHA_WIDTH];
    double                amplitude, period, phase;
    size_t                i;
    gdFontPtr             font;
    gdImagePtr            im;
    csibiz_rgb_t          c;
    csibiz_captcha_rng_t  rng;

    if (n < CSIBIZ_CAPTCHA_MIN_LEN || n > CSIBIZ_CAPTCHA_MAX_LEN) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (text[i] == '\0'
            || strchr(CSIBIZ_CAPTCHA_ALPHABET, text[i]) == NULL)
        {
            return -1;
        }
    }

    im = gdImageCreateTrueColor(CSIBIZ_CAPTCHA_WIDTH, CSIBIZ_CAPTCHA_HEIGHT);

    if (im == NULL) {
        return -1;
    }

    font = gdFontGetGiant();
    csibiz_captcha_rng_init(&rng);

    csibiz_captcha_background(im, &rng);

    /* light lines behind the text */
    for (i = 0; i < 3; i++) {
        c = csibiz_captcha_colour(&rng, 150, 210);
        csibiz_captcha_line(im, &rng, &c, 0.8);
    }

    /* the whole text rides on one wave, each character on its own too */
    amplitude = csibiz_captcha_rand(&rng, 1.0, 2.5);
    period = csibiz_captcha_rand(&rng, 50.0, 90.0);
    phase = csibiz_captcha_rand(&rng, 0.0, 2 * CSIBIZ_CAPTCHA_PI);

    for (x = 0; x < CSIBIZ_CAPTCHA_WIDTH; x++) {
        wave[x] = amplitude * csibiz_captcha_sin(2 * CSIBIZ_CAPTCHA_PI * x
                                                 / period + phase);
    }

    advance = (double) (CSIBIZ_CAPTCHA_WIDTH - 2 * CSIBIZ_CAPTCHA_MARGIN)
              / (double) n;
    sx = advance / font->w;
    sx = sx > CSIBIZ_CAPTCHA_SCALE ? CSIBIZ_CAPTCHA_SCALE : sx;

    for (i = 0; i < n; i++) {
        csibiz_captcha_glyph(im, &rng, font, (unsigned char) text[i],
                             CSIBIZ_CAPTCHA_MARGIN + advance * (i + 0.5)
                             + csibiz_captcha_rand(&rng, -1.5, 1.5),
                             CSIBIZ_CAPTCHA_HEIGHT / 2.0
                             + csibiz_captcha_rand(&rng, -1.5, 1.5),
                             sx * csibiz_captcha_rand(&rng, 0.85, 1.0),
                             wave);
    }

    /* dark curves across the text, in colours like the characters' */
    for (i = 0; i < 2; i++) {
        c = csibiz_captcha_colour(&rng, 20, 110);
        csibiz_captcha_curve(im, &rng, &c, 0.85, CSIBIZ_CAPTCHA_CURVE);
    }

    csibiz_captcha_dots(im, &rng);

    sodium_memzero(&rng, sizeof(rng));

    data = gdImagePngPtrEx(im, &size, CSIBIZ_CAPTCHA_PNG);
    gdImageDestroy(im);

    if (data == NULL) {
        return -1;
    }

    *png = data;
    *png_len = size;

    return 0;
}


void
csibiz_captcha_free(uint8_t *png)
{
    if (png) {
        gdFree(png);
    }
}


int
csibiz_captcha_check(const char *text, size_t n, const char *answer,
    size_t len)
{
    int            rc;
    size_t         i;
    unsigned char  a[CSIBIZ_CAPTCHA_MAX_LEN], b[CSIBIZ_CAPTCHA_MAX_LEN];

    if (n == 0 || n > CSIBIZ_CAPTCHA_MAX_LEN || len != n) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        a[i] = (unsigned char) text[i];
        b[i] = (unsigned char) answer[i];

        a[i] = (a[i] >= 'a' && a[i] <= 'z') ? a[i] - 'a' + 'A' : a[i];
        b[i] = (b[i] >= 'a' && b[i] <= 'z') ? b[i] - 'a' + 'A' : b[i];
    }

    rc = sodium_memcmp(a, b, n);

    sodium_memzero(a, sizeof(a));
    sodium_memzero(b, sizeof(b));

    return rc;
}


/* a polynomial sine, to within 1e-5: no libm for the module to link */

static double
csibiz_captcha_sin(double x)
{
    long    k;
    double  x2;

    k = (long) (x / (2 * CSIBIZ_CAPTCHA_PI));
    x -= k * 2 * CSIBIZ_CAPTCHA_PI;

    if (x > CSIBIZ_CAPTCHA_PI) {
        x -= 2 * CSIBIZ_CAPTCHA_PI;

    } else if (x < -CSIBIZ_CAPTCHA_PI) {
        x += 2 * CSIBIZ_CAPTCHA_PI;
    }

    if (x > CSIBIZ_CAPTCHA_PI / 2) {
        x = CSIBIZ_CAPTCHA_PI - x;

    } else if (x < -CSIBIZ_CAPTCHA_PI / 2) {
        x = -CSIBIZ_CAPTCHA_PI - x;
    }

    x2 = x * x;

    return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42
                * (1 - x2 / 72))));
}


static void
csibiz_captcha_rng_init(csibiz_captcha_rng_t *rng)
{
    randombytes_buf(rng->seed, sizeof(rng->seed));
    randombytes_buf_deterministic(rng->buf, sizeof(rng->buf), rng->seed);
    rng->pos = 0;
}


/* uniform in [0, n) for n > 0, as randombytes_uniform() does it */

static uint32_t
csibiz_captcha_uniform(csibiz_captcha_rng_t *rng, uint32_t n)
{
    uint32_t  r, min;

    min = (1U + ~n) % n;            /* 2^32 % n */

    do {
        if (rng->pos + 4 > sizeof(rng->buf)) {
            /* not reached with the numbers drawn now, but never repeat */
            csibiz_captcha_rng_init(rng);
        }

        memcpy(&r, rng->buf + rng->pos, 4);
        rng->pos += 4;

    } while (r < min);

    return r % n;
}


static double
csibiz_captcha_rand(csibiz_captcha_rng_t *rng, double lo, double hi)
{
    return lo + (hi - lo) * csibiz_captcha_uniform(rng, 65536) / 65535.0;
}


/* each channel in [lo, hi] */

static csibiz_rgb_t
csibiz_captcha_colour(csibiz_captcha_rng_t *rng, int lo, int hi)
{
    csibiz_rgb_t  c;

    c.r = lo + (int) csibiz_captcha_uniform(rng, hi - lo + 1);
    c.g = lo + (int) csibiz_captcha_uniform(rng, hi - lo + 1);
    c.b = lo + (int) csibiz_captcha_uniform(rng, hi - lo + 1);

    return c;
}


static void
csibiz_captcha_blend(gdImagePtr im, int x, int y, const csibiz_rgb_t *c,
    double a)
{
    int     p;
    double  r, g, b;

    if (x < 0 || y < 0 || x >= CSIBIZ_CAPTCHA_WIDTH
        || y >= CSIBIZ_CAPTCHA_HEIGHT || a <= 0)
    {
        return;
    }

    a = a > 1 ? 1 : a;
    p = gdImageTrueColorPixel(im, x, y);

    r = gdTrueColorGetRed(p);
    g = gdTrueColorGetGreen(p);
    b = gdTrueColorGetBlue(p);

    r += (c->r - r) * a;
    g += (c->g - g) * a;
    b += (c->b - b) * a;

    gdImageTrueColorPixel(im, x, y) = gdTrueColor((int) (r + 0.5),
                                                  (int) (g + 0.5),
                                                  (int) (b + 0.5));
}


/*
 * A gradient between two light colours, each channel 228 to 252: a
 * relative luminance of at least 0.77, against at most 0.13 for the
 * characters (channels up to 100), a contrast of at least 4.5:1.
 */

static void
csibiz_captcha_background(gdImagePtr im, csibiz_captcha_rng_t *rng)
{
    int           x, y;
    double        t;
    csibiz_rgb_t  a, b;

    a = csibiz_captcha_colour(rng, 228, 252);
    b = csibiz_captcha_colour(rng, 228, 252);

    for (x = 0; x < CSIBIZ_CAPTCHA_WIDTH; x++) {
        t = (double) x / (CSIBIZ_CAPTCHA_WIDTH - 1);

        for (y = 0; y < CSIBIZ_CAPTCHA_HEIGHT; y++) {
            gdImageTrueColorPixel(im, x, y) =
                gdTrueColor((int) (a.r + (b.r - a.r) * t),
                            (int) (a.g + (b.g - a.g) * t),
                            (int) (a.b + (b.b - a.b) * t));
        }
    }
}


/*
 * One character centred on (cx, cy): scaled by sx (and a random sy),
 * sheared, rotated by up to CSIBIZ_CAPTCHA_ROTATE, then shifted by the
 * text's wave.  A pixel's place in the image maps back through the
 * inverse of that to a place in the font's bitmap.
 */

static void
csibiz_captcha_glyph(gdImagePtr im, csibiz_captcha_rng_t *rng,
    gdFontPtr font, int ch, double cx, double cy, double sx,
    const double *wave)
{
    int           x, y, x0, x1, y0, y1;
    double        sy, k, s, c, det, u, v, px, py, a;
    double        m00, m01, m10, m11;
    csibiz_rgb_t  colour;

    colour = csibiz_captcha_colour(rng, 0, 100);

    sy = csibiz_captcha_rand(rng, 2.1, 2.5);
    k = csibiz_captcha_rand(rng, -0.15, 0.15);
    s = csibiz_captcha_rand(rng, -CSIBIZ_CAPTCHA_ROTATE,
                            CSIBIZ_CAPTCHA_ROTATE);
    c = csibiz_captcha_sin(s + CSIBIZ_CAPTCHA_PI / 2);
    s = csibiz_captcha_sin(s);

    /* rotation x shear x scale */
    m00 = c * sx;
    m01 = (c * k - s) * sy;
    m10 = s * sx;
    m11 = (s * k + c) * sy;
    det = m00 * m11 - m01 * m10;

    x0 = (int) cx - CSIBIZ_CAPTCHA_BOX;
    x1 = (int) cx + CSIBIZ_CAPTCHA_BOX;
    y0 = (int) cy - CSIBIZ_CAPTCHA_BOX;
    y1 = (int) cy + CSIBIZ_CAPTCHA_BOX;

    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > CSIBIZ_CAPTCHA_WIDTH ? CSIBIZ_CAPTCHA_WIDTH : x1;
    y1 = y1 > CSIBIZ_CAPTCHA_HEIGHT ? CSIBIZ_CAPTCHA_HEIGHT : y1;

    for (x = x0; x < x1; x++) {
        for (y = y0; y < y1; y++) {
            px = x + 0.5 - cx;
            py = y + 0.5 - cy - wave[x];

            u = (m11 * px - m01 * py) / det + CSIBIZ_CAPTCHA_INK_X;
            v = (m00 * py - m10 * px) / det + CSIBIZ_CAPTCHA_INK_Y;

            a = csibiz_captcha_sample(font, ch, u, v);

            /* sharpen the bilinear ramp into an edge about a pixel wide */
            a = (a - 0.25) * 2.5;

            if (a > 0) {
                csibiz_captcha_blend(im, x, y, &colour, a);
            }
        }
    }
}


static double
csibiz_captcha_sample(gdFontPtr font, int ch, double u, double v)
{
    int     x, y;
    double  fx, fy, tx, ty, top, bottom;

    fx = u - 0.5;
    fy = v - 0.5;

    if (fx < -1 || fy < -1 || fx >= font->w || fy >= font->h) {
        return 0;
    }

    /* fx >= -1: truncation is floor once shifted to be non-negative */
    x = (int) (fx + 1) - 1;
    y = (int) (fy + 1) - 1;
    tx = fx - x;
    ty = fy - y;

    top = csibiz_captcha_bit(font, ch, x, y) * (1 - tx)
          + csibiz_captcha_bit(font, ch, x + 1, y) * tx;
    bottom = csibiz_captcha_bit(font, ch, x, y + 1) * (1 - tx)
             + csibiz_captcha_bit(font, ch, x + 1, y + 1) * tx;

    return top * (1 - ty) + bottom * ty;
}


static int
csibiz_captcha_bit(gdFontPtr font, int ch, int x, int y)
{
    if (x < 0 || y < 0 || x >= font->w || y >= font->h
        || ch < font->offset || ch >= font->offset + font->nchars)
    {
        return 0;
    }

    return font->data[((ch - font->offset) * font->h + y) * font->w + x]
           != 0;
}


/*
 * A sine curve over at least half the width, width pixels thick,
 * anti-aliased vertically
 */

static void
csibiz_captcha_curve(gdImagePtr im, csibiz_captcha_rng_t *rng,
    const csibiz_rgb_t *c, double a, double width)
{
    int     x, y, from, to;
    double  yc, y0, amplitude, period, phase, top, bottom, cover;

    from = (int) csibiz_captcha_uniform(rng, CSIBIZ_CAPTCHA_WIDTH / 2);
    to = from + CSIBIZ_CAPTCHA_WIDTH / 2
         + (int) csibiz_captcha_uniform(rng, CSIBIZ_CAPTCHA_WIDTH / 2);

    y0 = csibiz_captcha_rand(rng, 12.0, CSIBIZ_CAPTCHA_HEIGHT - 12.0);
    amplitude = csibiz_captcha_rand(rng, 3.0, 8.0);
    period = csibiz_captcha_rand(rng, 50.0, 120.0);
    phase = csibiz_captcha_rand(rng, 0.0, 2 * CSIBIZ_CAPTCHA_PI);

    for (x = from; x < to && x < CSIBIZ_CAPTCHA_WIDTH; x++) {
        yc = y0 + amplitude * csibiz_captcha_sin(2 * CSIBIZ_CAPTCHA_PI * x
                                                 / period + phase);
        top = yc - width / 2;
        bottom = yc + width / 2;

        /* each pixel by how much of it the band [top, bottom) covers */
        for (y = (int) top; y <= (int) bottom; y++) {
            cover = (bottom < y + 1 ? bottom : y + 1) - (top > y ? top : y);
            csibiz_captcha_blend(im, x, y, c, a * cover);
        }
    }
}


/* a straight line from the left edge to the right one */

static void
csibiz_captcha_line(gdImagePtr im, csibiz_captcha_rng_t *rng,
    const csibiz_rgb_t *c, double a)
{
    int     x;
    double  y, y0, y1, frac;

    y0 = csibiz_captcha_rand(rng, 2.0, CSIBIZ_CAPTCHA_HEIGHT - 3.0);
    y1 = csibiz_captcha_rand(rng, 2.0, CSIBIZ_CAPTCHA_HEIGHT - 3.0);

    for (x = 0; x < CSIBIZ_CAPTCHA_WIDTH; x++) {
        y = y0 + (y1 - y0) * x / (CSIBIZ_CAPTCHA_WIDTH - 1);
        frac = y - (int) y;

        csibiz_captcha_blend(im, x, (int) y, c, a * (1 - frac));
        csibiz_captcha_blend(im, x, (int) y + 1, c, a * frac);
    }
}


static void
csibiz_captcha_dots(gdImagePtr im, csibiz_captcha_rng_t *rng)
{
    int           i, x, y;
    csibiz_rgb_t  c;

    for (i = 0; i < CSIBIZ_CAPTCHA_DOTS; i++) {
        c = csibiz_captcha_colour(rng, 40, 200);
        x = (int) csibiz_captcha_uniform(rng, CSIBIZ_CAPTCHA_WIDTH);
        y = (int) csibiz_captcha_uniform(rng, CSIBIZ_CAPTCHA_HEIGHT);

        csibiz_captcha_blend(im, x, y, &c, 0.8);
    }
}
