/*
 * OpenSSL libcrypto backend: AES-128-ECB of one block through EVP with
 * padding off, and RAND_bytes.  Stateless (ctx is ignored), so one const
 * ops table serves every session and band in the process.
 */
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "miband/crypto.h"
#include "miband/error.h"

static int ossl_aes128_ecb(void *ctx, const uint8_t key[16],
			   const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c;
	uint8_t tmp[32];
	int n = 0, fin = 0, ok;

	(void)ctx;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return MIBAND_E_CRYPTO;
	ok = EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	     EVP_EncryptUpdate(c, tmp, &n, in, 16) == 1 && n == 16 &&
	     EVP_EncryptFinal_ex(c, tmp + n, &fin) == 1 && fin == 0;
	EVP_CIPHER_CTX_free(c);
	if (ok)
		memcpy(out, tmp, 16);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return ok ? 0 : MIBAND_E_CRYPTO;
}

static int ossl_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(buf, n) != 1)
			return MIBAND_E_RNG;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

const struct miband_crypto_ops miband_crypto_openssl = {
	.name = "openssl",
	.aes128_ecb = ossl_aes128_ecb,
	.random = ossl_random,
};
