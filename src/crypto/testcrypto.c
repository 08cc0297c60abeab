/*
 * Deterministic crypto backend for tests.
 *
 * random: xorshift64* from a seed, so a test run is reproducible.
 * aes128_ecb: the real cipher, through OpenSSL (never a hand-written AES).
 * Failure injection (after nghttp2's failmalloc): every ops call, AES or
 * random, counts; the call whose 1-based index equals fail_at fails with
 * MIBAND_E_CRYPTO or MIBAND_E_RNG.  A test loops fail_at over 1..N to make
 * every dependency call fail in turn.
 */
#include <string.h>

#include "crypto/testcrypto.h"
#include "miband/error.h"

void miband_crypto_test_init(struct miband_crypto_test *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	/* xorshift needs a non-zero state; mix the seed so 0, 1, 2 differ. */
	t->state = seed ^ 0x9e3779b97f4a7c15ull;
	if (!t->state)
		t->state = 0x9e3779b97f4a7c15ull;
}

static uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Counts the call; true if this one must fail. */
static int test_should_fail(struct miband_crypto_test *t)
{
	t->calls++;
	return t->fail_at && t->calls == t->fail_at;
}

static int test_aes128_ecb(void *ctx, const uint8_t key[16],
			   const uint8_t in[16], uint8_t out[16])
{
	struct miband_crypto_test *t = ctx;

	if (!t)
		return MIBAND_E_CRYPTO;
	t->aes_calls++;
	if (test_should_fail(t))
		return MIBAND_E_CRYPTO;
	return miband_crypto_openssl.aes128_ecb(NULL, key, in, out);
}

static int test_random(void *ctx, uint8_t *buf, size_t len)
{
	struct miband_crypto_test *t = ctx;
	size_t i;

	if (!t)
		return MIBAND_E_RNG;
	t->random_calls++;
	if (test_should_fail(t))
		return MIBAND_E_RNG;
	for (i = 0; i < len; i += 8) {
		uint64_t r = xorshift64s(&t->state);
		size_t j;

		for (j = 0; j < 8 && i + j < len; j++)
			buf[i + j] = (uint8_t)(r >> (8 * j));
	}
	return 0;
}

const struct miband_crypto_ops miband_crypto_test = {
	.name = "test",
	.aes128_ecb = test_aes128_ecb,
	.random = test_random,
};
