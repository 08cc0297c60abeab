/*
 * Crypto backends as const ops tables (as picotls does).  The engines never
 * call a crypto library directly: they call these ops.  Backends:
 *
 *   miband_crypto_openssl  OpenSSL libcrypto (EVP AES-128-ECB, RAND_bytes)
 *   miband_crypto_mbedtls  mbedTLS (for firmware), when built with it
 *
 * (The tests' deterministic backend is in src/crypto/testcrypto.h.)
 */
#ifndef MIBAND_CRYPTO_H
#define MIBAND_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "miband/util.h" /* miband_ct_memcmp, miband_wipe */

#ifdef __cplusplus
extern "C" {
#endif

struct miband_crypto_ops {
	const char *name;
	/* AES-128-ECB of one 16-byte block, no padding.  0 or MIBAND_E_CRYPTO. */
	int (*aes128_ecb)(void *ctx, const uint8_t key[16],
			  const uint8_t in[16], uint8_t out[16]);
	/* Fills buf with len random bytes.  0 or MIBAND_E_RNG. */
	int (*random)(void *ctx, uint8_t *buf, size_t len);
};

/* Declared always; defined only when the library is built with them
 * (MIBAND_WITH_OPENSSL, MIBAND_WITH_MBEDTLS). */
extern const struct miband_crypto_ops miband_crypto_openssl; /* ctx: NULL */
extern const struct miband_crypto_ops miband_crypto_mbedtls; /* ctx: NULL */


#ifdef __cplusplus
}
#endif
#endif
