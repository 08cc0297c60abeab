/*
 * Small helpers of src/core/util.c: a constant-time compare for secrets,
 * a wipe the optimiser cannot drop, and the library's version.
 */
#ifndef MIBAND_UTIL_H
#define MIBAND_UTIL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Compares len bytes in constant time; 0 when equal, non-zero otherwise. */
int miband_ct_memcmp(const void *a, const void *b, size_t len);
/* Zeroises memory in a way the compiler does not remove. */
void miband_wipe(void *p, size_t len);
/* The linked library's version ("0.1.0"); MIBAND_VERSION (miband.h) is
 * that of the headers compiled against.  Never NULL. */
const char *miband_version(void);

#ifdef __cplusplus
}
#endif
#endif
