/*
 * keyset.h - finds the keys that occur more than once in a stream of rows
 * too large to hold in memory, in two passes:
 *   1. keyset_see() every key: a Bloom filter (about 10 bits a key, at most
 *      8 MiB) remembers them, and a key the filter may have seen already
 *      becomes a candidate (all true repeats, and about 1% of the others);
 *      keys in order skip the filter, and if the order breaks, the run of
 *      them is read again for keyset_refill() (sorted dumps: one pass);
 *   2. keyset_count() every key again, in the same order: only candidates
 *      are counted, exactly, with the line and offset of their first and
 *      last occurrence.
 * Then keyset_repeat() says whether an occurrence is a repeat to drop,
 * keeping the first or the last one. Memory: the filter plus the
 * candidates. Pure code (no I/O).
 *
 * Interface (prefix keyset_): see each function.
 */
#ifndef RDM_KEYSET_H
#define RDM_KEYSET_H

#include "rc.h"

#include <stddef.h>

typedef struct keyset keyset;

/* A key set for about `expect` keys (0: unknown). NULL when out of
 * memory. */
keyset *keyset_new(unsigned long long expect);
void keyset_free(keyset *k);

/* Pass 1. RDM_ERR_NOMEM when a candidate cannot be kept. Keys that come
 * in order (each after the one before: longer, or as long and greater
 * byte by byte) cannot repeat and are not put in the filter; the first
 * key out of order ends that, and keyset_unseen() then says how many of
 * the first keys the filter lacks. */
rdm_rc keyset_see(keyset *k, const char *key, size_t n);
/* After pass 1: the number of first keys to give keyset_refill() again,
 * in the same order, before pass 2 (0: none; every key was in order, or
 * they were given already). */
long long keyset_unseen(const keyset *k);
rdm_rc keyset_refill(keyset *k, const char *key, size_t n);
/* Candidates after pass 1 and the refill (0: no key repeats, pass 2 can
 * be skipped). */
long long keyset_candidates(const keyset *k);

/* Pass 2: counts an occurrence of a candidate at line / offset; *repeat
 * gets its count so far when the key was seen before (2 for the second
 * occurrence), else 0, and *first_line the line of the first one. */
void keyset_count(keyset *k, const char *key, size_t n, long line, long long off, long *repeat,
                  long *first_line);
/* Keys that occur more than once (after pass 2). */
long long keyset_repeated(const keyset *k);

/* After pass 2: 1 when the occurrence at offset off is to be dropped
 * because its key repeats and another occurrence is kept: the first
 * (keep_last 0) or the last (keep_last 1). */
int keyset_repeat(const keyset *k, const char *key, size_t n, long long off, int keep_last);

#endif
