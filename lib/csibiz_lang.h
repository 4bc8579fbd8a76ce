
/*
 * The language of an answer, chosen from an Accept-Language header.
 */


#ifndef CSIBIZ_LANG_H
#define CSIBIZ_LANG_H


#include <stddef.h>


typedef enum {
    CSIBIZ_LANG_ZH = 0,
    CSIBIZ_LANG_EN = 1
} csibiz_lang_t;


csibiz_lang_t csibiz_lang_pick(const char *header, size_t len);


#endif /* CSIBIZ_LANG_H */
