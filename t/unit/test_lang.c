
/*
 * Unit tests of lib/csibiz_lang.c: which language an Accept-Language
 * header asks for.
 */


#include "tap.h"
#include "csibiz_lang.h"


static void check(const char *header, csibiz_lang_t expected);


static void
check(const char *header, csibiz_lang_t expected)
{
    tap_is_int(csibiz_lang_pick(header, strlen(header)), expected,
               "\"%s\" -> %s", header,
               expected == CSIBIZ_LANG_EN ? "en" : "zh");
}


int
main(void)
{
    check("", CSIBIZ_LANG_ZH);
    check("zh-CN,zh;q=0.9", CSIBIZ_LANG_ZH);
    check("zh-CN,zh;q=0.9,en;q=0.8", CSIBIZ_LANG_ZH);
    check("en-US,en;q=0.9", CSIBIZ_LANG_EN);
    check("en", CSIBIZ_LANG_EN);
    check("EN-gb", CSIBIZ_LANG_EN);
    check("fr, en;q=0.3", CSIBIZ_LANG_EN);
    check("en;q=0.5,zh;q=0.5", CSIBIZ_LANG_ZH);
    check("en;q=0.5, zh;q=0.6", CSIBIZ_LANG_ZH);
    check("zh;q=0.4, en;q=0.5", CSIBIZ_LANG_EN);
    check("en;q=0", CSIBIZ_LANG_ZH);
    check("en;q=0.000", CSIBIZ_LANG_ZH);
    check("*", CSIBIZ_LANG_ZH);
    check("en-GB;q=0.9, *;q=0.95", CSIBIZ_LANG_ZH);
    check("english", CSIBIZ_LANG_ZH);
    check("enx, zhx", CSIBIZ_LANG_ZH);
    check(";;;,,,", CSIBIZ_LANG_ZH);
    check("en;foo=bar;q=0.7, zh;q=0.6", CSIBIZ_LANG_EN);
    check("en;q=abc", CSIBIZ_LANG_EN);
    check("en ; q=0.9 , zh ; q=0.8", CSIBIZ_LANG_EN);

    /* a header cut short must not be read past its end */
    tap_is_int(csibiz_lang_pick("en;q=0.9", 4), CSIBIZ_LANG_EN,
               "a header cut inside its parameters");

    return tap_done();
}
