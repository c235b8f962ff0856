/*
 * text.h - small text helpers shared by the modules (pure).
 *
 * Interface (prefix text_):
 *   text_ieq()     ASCII case-insensitive equality of two C strings
 *   text_ieq_n()   the same for n bytes against a lower-case literal
 *   text_dup()     malloc'd copy of a C string (NULL when out of memory)
 *   text_bool()    a data value as a boolean: 1, 0, or -1 when it is none
 *   text_digits()  1 if n > 0 bytes are all ASCII digits
 *   text_int64()   1 if n bytes are an optional '-' and digits whose value
 *                  fits 64 bits (into *out when not NULL)
 */
#ifndef RDM_TEXT_H
#define RDM_TEXT_H

#include <stddef.h>

int text_ieq(const char *a, const char *b);
int text_ieq_n(const char *s, size_t n, const char *lower_lit);
/* Caller frees. */
char *text_dup(const char *s);
/* Accepts 1/0, true/false, t/f, yes/no, y/n, on/off (any case) and да/нет:
 * what dumps and PostgreSQL write. (Configuration booleans follow
 * configparser's narrower set: see config.c.) */
int text_bool(const char *s, size_t n);
int text_digits(const char *s, size_t n);
int text_int64(const char *s, size_t n, long long *out);

#endif
