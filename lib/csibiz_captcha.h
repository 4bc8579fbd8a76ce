
/*
 * Image captchas: a random text from an alphabet without look-alike
 * characters, drawn into a small PNG with libgd's built-in Giant font
 * (no font files, no fontconfig), each character scaled, rotated, sheared
 * and shifted on its own, on a wave, with noise curves, lines and dots.
 * Dark characters on a light background with a contrast of at least 4.5:1
 * (WCAG's AA for text) before noise and anti-aliasing.  Plain C, no nginx
 * headers; conventions as in csibiz_utf8.h.  Link with -lgd -lsodium, and
 * call sodium_init() first (see csibiz_crypto.h).
 */


#ifndef CSIBIZ_CAPTCHA_H
#define CSIBIZ_CAPTCHA_H


#include <stddef.h>
#include <stdint.h>


#define CSIBIZ_CAPTCHA_WIDTH     120
#define CSIBIZ_CAPTCHA_HEIGHT    40
#define CSIBIZ_CAPTCHA_MIN_LEN   4
#define CSIBIZ_CAPTCHA_MAX_LEN   6
#define CSIBIZ_CAPTCHA_SIZE      (CSIBIZ_CAPTCHA_MAX_LEN + 1)

/*
 * 27 characters: no 0 O Q 1 I, nor one of each pair that the distortion
 * makes alike (2 Z, 5 S, 6 G, 8 B): the letters stay, and no lower case.
 */
#define CSIBIZ_CAPTCHA_ALPHABET  "346789ACDEFHJKLMNPRSTUVWXYZ"


/*
 * n characters (CSIBIZ_CAPTCHA_MIN_LEN to CSIBIZ_CAPTCHA_MAX_LEN; 5 gives
 * 27^5, about 14 million texts), each drawn uniformly from
 * CSIBIZ_CAPTCHA_ALPHABET, and a NUL into out (n + 1 bytes).  -1 for
 * another n.
 */
int csibiz_captcha_text(char *out, size_t n);

/*
 * Draws text (n characters of CSIBIZ_CAPTCHA_ALPHABET, CSIBIZ_CAPTCHA_MIN_LEN
 * to CSIBIZ_CAPTCHA_MAX_LEN of them) into a new CSIBIZ_CAPTCHA_WIDTH x
 * CSIBIZ_CAPTCHA_HEIGHT PNG, different on each call.  Stores the PNG, to
 * be freed with csibiz_captcha_free(), into *png and its size into
 * *png_len.  -1 on another text or when memory runs out.
 */
int csibiz_captcha_png(const char *text, size_t n, uint8_t **png,
    int *png_len);

/* frees a PNG from csibiz_captcha_png() (libgd's gdFree()); NULL is fine */
void csibiz_captcha_free(uint8_t *png);

/*
 * 0 when the answer (len bytes, as typed, not NUL-terminated) is the text
 * of n characters, ignoring ASCII case; -1 otherwise.  The comparison
 * takes the same time wherever the first difference is.  White space is
 * not trimmed here.
 */
int csibiz_captcha_check(const char *text, size_t n, const char *answer,
    size_t len);


#endif /* CSIBIZ_CAPTCHA_H */
