
/*
 * CSV records as RFC 4180 writes them (fields separated by commas, a field
 * in double quotes may hold commas, line breaks and doubled quotes), for
 * the files ops exchange with schools and banks.  Plain C, no nginx
 * headers; conventions as in csibiz_utf8.h.
 *
 * A reader collects physical lines until csibiz_csv_complete() says the
 * record's quotes are closed, then splits it in place.
 */


#ifndef CSIBIZ_CSV_H
#define CSIBIZ_CSV_H


#include <stddef.h>


typedef struct {
    char    *data;
    size_t   len;
} csibiz_csv_field_t;


/*
 * 1 when the text s (one or more physical lines, their line breaks
 * included) is a whole record, 0 while a quoted field is still open.  A
 * field is quoted when it starts with a double quote; a quote elsewhere
 * in an unquoted field opens nothing (csibiz_csv_split() refuses it), so
 * that a stray quote costs one record, not the rest of the file.
 */
int csibiz_csv_complete(const char *s, size_t len);

/*
 * Splits the record s (without its final line break) into fields, in
 * place: quoted fields lose their quotes and doubled quotes are made one.
 * The first max fields go to fields[], pointing into s; *n gets the
 * number of fields of the record, which may be more than max.  An empty
 * record has one empty field.  -1 on a quote inside an unquoted field,
 * text after a closing quote or an unclosed quote (*n is then
 * undefined).
 */
int csibiz_csv_split(char *s, size_t len, csibiz_csv_field_t *fields,
    size_t max, size_t *n);


#endif /* CSIBIZ_CSV_H */
