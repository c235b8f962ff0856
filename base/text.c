/* text.c - see text.h. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int text_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b))
            return 0;
    return *a == *b;
}

int text_ieq_n(const char *s, size_t n, const char *lit)
{
    if (n != strlen(lit))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != lit[i])
            return 0;
    return 1;
}

char *text_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int text_bool(const char *s, size_t n)
{
    static const char *const yes[] = {"1", "true", "t", "yes", "y", "on", "да"};
    static const char *const no[] = {"0", "false", "f", "no", "n", "off", "нет"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (text_ieq_n(s, n, yes[i]))
            return 1;
        if (text_ieq_n(s, n, no[i]))
            return 0;
    }
    return -1;
}

int text_digits(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int text_int64(const char *s, size_t n, long long *out)
{
    int neg = n && s[0] == '-';
    unsigned long long v = 0, lim = neg ? 9223372036854775808ULL : 9223372036854775807ULL;
    if (!text_digits(s + neg, n - (size_t)neg))
        return 0;
    for (size_t i = (size_t)neg; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (out)
        *out = neg ? (long long)(0 - v) : (long long)v;
    return 1;
}
