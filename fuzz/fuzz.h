/*
 * Shared by the fuzz harnesses: a cursor over the fuzzer's input that
 * never reads past the end (running out yields zeros), and FUZZ_ASSERT,
 * which aborts so libFuzzer and the corpus replayer both report it.
 */
#ifndef MIBAND_FUZZ_H
#define MIBAND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | (uint16_t)(fuzz_u8(in) << 8));
}

/* Up to max bytes (the count comes from the input). */
static inline size_t fuzz_bytes(struct fuzz_in *in, const uint8_t **ret,
				size_t max)
{
	size_t len = fuzz_u8(in) % (max + 1);

	if (len > in->n)
		len = in->n;
	*ret = in->p;
	in->p += len;
	in->n -= len;
	return len;
}

#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",        \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
