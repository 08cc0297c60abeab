/*
 * Deterministic crypto backend for the tests and the fuzzers (not
 * installed, not exported from libmiband.so; it is in libmiband.a, which
 * they link): a fixed-seed RNG and failure injection at the Nth call,
 * AES from OpenSSL.  Built with MIBAND_WITH_OPENSSL.
 */
#ifndef MIBAND_CRYPTO_TESTCRYPTO_H
#define MIBAND_CRYPTO_TESTCRYPTO_H

#include <stdint.h>

#include "miband/crypto.h"

#if defined(__GNUC__)
#define MIBAND__TESTCRYPTO_HIDDEN __attribute__((visibility("hidden")))
#else
#define MIBAND__TESTCRYPTO_HIDDEN
#endif

struct miband_crypto_test {
	uint64_t state;	  /* RNG state (xorshift64*); set by _init */
	unsigned calls;	  /* ops calls so far (aes + random) */
	unsigned fail_at; /* 1-based call index that fails; 0 = never */
	unsigned aes_calls;
	unsigned random_calls;
};

/* Seeds t (calls and fail_at start at 0). */
MIBAND__TESTCRYPTO_HIDDEN void
miband_crypto_test_init(struct miband_crypto_test *t, uint64_t seed);
/* ctx: struct miband_crypto_test *.  aes128_ecb returns 0 or
 * MIBAND_E_CRYPTO, random 0 or MIBAND_E_RNG (when the call is the
 * fail_at-th). */
MIBAND__TESTCRYPTO_HIDDEN extern const struct miband_crypto_ops
	miband_crypto_test;

#endif
