/*
 * Crypto backends: every backend built must produce the FIPS-197 AES-128
 * vector and the real Mi Band 2 auth vector (PROTOCOL.md 7.1); the test
 * backend must be deterministic and fail exactly the call it is told to.
 */
#include "runner.h"

#include "crypto/testcrypto.h"
#include "miband/crypto.h"
#include "miband/error.h"

static const struct miband_crypto_ops *const backends[] = {
	&miband_crypto_openssl,
#ifdef MIBAND_HAVE_MBEDTLS
	&miband_crypto_mbedtls,
#endif
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

/* FIPS-197 appendix C.1. */
static void check_fips197(const struct miband_crypto_ops *ops, void *ctx)
{
	uint8_t key[16], in[16], out[16], want[16];

	CHECK_EQ(test_hex("000102030405060708090a0b0c0d0e0f", key, 16), 16);
	CHECK_EQ(test_hex("00112233445566778899aabbccddeeff", in, 16), 16);
	CHECK_EQ(test_hex("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16), 16);
	memset(out, 0, sizeof(out));
	CHECK_EQ(ops->aes128_ecb(ctx, key, in, out), 0);
	CHECK_MEM(out, want, 16);
}

/* PROTOCOL.md 7.1: a real band accepted this answer. */
static void check_band_vector(const struct miband_crypto_ops *ops, void *ctx)
{
	uint8_t key[16], rnd[16], out[16], want[16];

	CHECK_EQ(test_hex("d88ca0fef504cc82735f15feb6bf9b1f", key, 16), 16);
	CHECK_EQ(test_hex("689c1dd58a666f0f8c90a1a96e1ab3a3", rnd, 16), 16);
	CHECK_EQ(test_hex("ce1c0135db39e61f1a27012fb907df3b", want, 16), 16);
	CHECK_EQ(ops->aes128_ecb(ctx, key, rnd, out), 0);
	CHECK_MEM(out, want, 16);
}

TEST(aes_fips197_every_backend)
{
	size_t i;

	for (i = 0; i < N_BACKENDS && !test__failed; i++)
		check_fips197(backends[i], NULL);
}

TEST(aes_real_band_vector_every_backend)
{
	size_t i;

	for (i = 0; i < N_BACKENDS && !test__failed; i++)
		check_band_vector(backends[i], NULL);
}

/* In and out may be the same buffer (the engines do not rely on it, but a
 * backend that broke on it would be a trap). */
TEST(aes_in_place)
{
	size_t i;

	for (i = 0; i < N_BACKENDS; i++) {
		uint8_t key[16], buf[16], want[16];

		CHECK_EQ(test_hex("000102030405060708090a0b0c0d0e0f", key, 16),
			 16);
		CHECK_EQ(test_hex("00112233445566778899aabbccddeeff", buf, 16),
			 16);
		CHECK_EQ(test_hex("69c4e0d86a7b0430d8cdb78070b4c55a", want, 16),
			 16);
		CHECK_EQ(backends[i]->aes128_ecb(NULL, key, buf, buf), 0);
		CHECK_MEM(buf, want, 16);
	}
}

TEST(random_fills_and_differs)
{
	size_t i, j;

	for (i = 0; i < N_BACKENDS; i++) {
		uint8_t a[33], b[33];
		int nonzero = 0;

		memset(a, 0, sizeof(a));
		memset(b, 0, sizeof(b));
		CHECK_EQ(backends[i]->random(NULL, a, sizeof(a)), 0);
		CHECK_EQ(backends[i]->random(NULL, b, sizeof(b)), 0);
		/* 2^-264 chance of a false failure. */
		CHECK(memcmp(a, b, sizeof(a)) != 0);
		for (j = 0; j < sizeof(a); j++)
			nonzero |= a[j];
		CHECK(nonzero);
		CHECK_EQ(backends[i]->random(NULL, a, 0), 0);
		CHECK(backends[i]->name && backends[i]->name[0]);
	}
}

TEST(test_backend_aes_is_real)
{
	struct miband_crypto_test t;

	miband_crypto_test_init(&t, 42);
	check_fips197(&miband_crypto_test, &t);
	if (test__failed)
		return;
	check_band_vector(&miband_crypto_test, &t);
	if (test__failed)
		return;
	CHECK_EQ(t.aes_calls, 2);
	CHECK_EQ(t.calls, 2);
	CHECK_EQ(t.random_calls, 0);
}

TEST(test_backend_deterministic)
{
	struct miband_crypto_test t1, t2, t3;
	uint8_t a[19], b[19], c[19];

	miband_crypto_test_init(&t1, 7);
	miband_crypto_test_init(&t2, 7);
	miband_crypto_test_init(&t3, 8);
	CHECK_EQ(miband_crypto_test.random(&t1, a, sizeof(a)), 0);
	CHECK_EQ(miband_crypto_test.random(&t2, b, sizeof(b)), 0);
	CHECK_EQ(miband_crypto_test.random(&t3, c, sizeof(c)), 0);
	CHECK_MEM(a, b, sizeof(a));
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	/* The stream moves on. */
	CHECK_EQ(miband_crypto_test.random(&t1, b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_EQ(t1.random_calls, 2);
	CHECK_EQ(t1.calls, 2);
}

/* Seed 0 must still give a working generator (xorshift sticks at 0). */
TEST(test_backend_seed_zero)
{
	struct miband_crypto_test t;
	uint8_t a[16], zero[16];
	int k;

	memset(zero, 0, sizeof(zero));
	miband_crypto_test_init(&t, 0);
	for (k = 0; k < 4; k++) {
		CHECK_EQ(miband_crypto_test.random(&t, a, sizeof(a)), 0);
		CHECK(memcmp(a, zero, sizeof(a)) != 0);
	}
	CHECK(t.state != 0);
}

TEST(test_backend_fail_at_every_index)
{
	unsigned fail_at, call;

	/* Alternate aes and random calls; exactly call fail_at fails, with
	 * the code of its kind, and the others succeed. */
	for (fail_at = 1; fail_at <= 6; fail_at++) {
		struct miband_crypto_test t;
		uint8_t key[16] = {0}, in[16] = {0}, out[16];

		miband_crypto_test_init(&t, 3);
		t.fail_at = fail_at;
		for (call = 1; call <= 6; call++) {
			int r, want;

			if (call % 2) {
				r = miband_crypto_test.aes128_ecb(&t, key, in,
								  out);
				want = MIBAND_E_CRYPTO;
			} else {
				r = miband_crypto_test.random(&t, out, 16);
				want = MIBAND_E_RNG;
			}
			CHECK_EQ(r, call == fail_at ? want : 0);
		}
		CHECK_EQ(t.calls, 6);
		CHECK_EQ(t.aes_calls, 3);
		CHECK_EQ(t.random_calls, 3);
	}
}

TEST(test_backend_never_fails_by_default)
{
	struct miband_crypto_test t;
	uint8_t buf[16];
	unsigned i;

	miband_crypto_test_init(&t, 5);
	CHECK_EQ(t.fail_at, 0);
	for (i = 0; i < 1000; i++)
		CHECK_EQ(miband_crypto_test.random(&t, buf, sizeof(buf)), 0);
	CHECK_EQ(t.calls, 1000);
}

/* A failed random call leaves the output alone; the RNG stream does not
 * advance, so the next call gives what an unfailed first call would. */
TEST(test_backend_failure_consumes_no_randomness)
{
	struct miband_crypto_test a, b;
	uint8_t x[16], y[16];

	miband_crypto_test_init(&a, 9);
	miband_crypto_test_init(&b, 9);
	a.fail_at = 1;
	memset(x, 0xaa, sizeof(x));
	CHECK_EQ(miband_crypto_test.random(&a, x, sizeof(x)), MIBAND_E_RNG);
	for (unsigned i = 0; i < sizeof(x); i++)
		CHECK_EQ(x[i], 0xaa);
	CHECK_EQ(miband_crypto_test.random(&a, x, sizeof(x)), 0);
	CHECK_EQ(miband_crypto_test.random(&b, y, sizeof(y)), 0);
	CHECK_MEM(x, y, sizeof(x));
}

TEST(test_backend_null_ctx_fails_cleanly)
{
	uint8_t k[16] = {0}, o[16];

	CHECK_EQ(miband_crypto_test.aes128_ecb(NULL, k, k, o), MIBAND_E_CRYPTO);
	CHECK_EQ(miband_crypto_test.random(NULL, o, 16), MIBAND_E_RNG);
}

TEST_MAIN(T(aes_fips197_every_backend), T(aes_real_band_vector_every_backend),
	  T(aes_in_place), T(random_fills_and_differs),
	  T(test_backend_aes_is_real), T(test_backend_deterministic),
	  T(test_backend_seed_zero), T(test_backend_fail_at_every_index),
	  T(test_backend_never_fails_by_default),
	  T(test_backend_failure_consumes_no_randomness),
	  T(test_backend_null_ctx_fails_cleanly))
