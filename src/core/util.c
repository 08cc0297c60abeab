/*
 * Small helpers every part needs: a constant-time compare for secrets, a
 * wipe the optimiser cannot drop, and the library version.
 */
#include "miband/miband.h"
#include "miband/util.h"

#include <string.h>

int miband_ct_memcmp(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *pa = a, *pb = b;
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff = (uint8_t)(diff | (pa[i] ^ pb[i]));
	return diff != 0;
}

/*
 * Calling memset through a volatile pointer: the compiler must load the
 * pointer at run time, so it cannot prove the store is dead and drop it.
 */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void miband_wipe(void *p, size_t len)
{
	if (p && len)
		wipe_memset(p, 0, len);
}

const char *miband_version(void)
{
	return MIBAND_VERSION;
}
