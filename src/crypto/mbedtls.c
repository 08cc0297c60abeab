/*
 * mbedTLS backend (the firmware choice: ESP-IDF and Zephyr ship mbedTLS).
 *
 * AES: mbedtls_aes_setkey_enc + mbedtls_aes_crypt_ecb on one block.
 * Random: a CTR-DRBG seeded from mbedtls_entropy for every call.  The ops
 * table takes no context (ctx is NULL, as for OpenSSL), and a fresh DRBG
 * per call keeps the backend stateless and thread-safe without a lock;
 * the band and the client ask for randomness once per handshake, so the
 * cost of seeding does not matter.
 */
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "miband/crypto.h"
#include "miband/error.h"

static int mbed_aes128_ecb(void *ctx, const uint8_t key[16],
			   const uint8_t in[16], uint8_t out[16])
{
	mbedtls_aes_context aes;
	uint8_t tmp[16];
	int ok;

	(void)ctx;
	mbedtls_aes_init(&aes);
	ok = mbedtls_aes_setkey_enc(&aes, key, 128) == 0 &&
	     mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, in, tmp) == 0;
	mbedtls_aes_free(&aes);
	if (ok)
		memcpy(out, tmp, 16);
	miband_wipe(tmp, sizeof(tmp));
	return ok ? 0 : MIBAND_E_CRYPTO;
}

static int mbed_random(void *ctx, uint8_t *buf, size_t len)
{
	static const unsigned char pers[] = "libmiband";
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int ok;

	(void)ctx;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	ok = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers,
				   sizeof(pers) - 1) == 0;
	while (ok && len > 0) {
		size_t n = len > MBEDTLS_CTR_DRBG_MAX_REQUEST
				   ? MBEDTLS_CTR_DRBG_MAX_REQUEST
				   : len;

		ok = mbedtls_ctr_drbg_random(&drbg, buf, n) == 0;
		buf += n;
		len -= n;
	}
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return ok ? 0 : MIBAND_E_RNG;
}

const struct miband_crypto_ops miband_crypto_mbedtls = {
	.name = "mbedtls",
	.aes128_ecb = mbed_aes128_ecb,
	.random = mbed_random,
};
