/*
 * BD addresses and model names (contract in include/miband/address.h).
 * Portable core: only <string.h>, no locale (the case folding is ASCII).
 */
#include <string.h>

#include "miband/address.h"
#include "miband/error.h"

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

int miband_address_parse(const char *s, char ret_address[MIBAND_ADDRESS_LEN])
{
	char out[MIBAND_ADDRESS_LEN];
	size_t i;

	if (!s || !ret_address || strlen(s) != MIBAND_ADDRESS_LEN - 1)
		return MIBAND_E_BAD_ADDRESS;
	for (i = 0; i < MIBAND_ADDRESS_LEN - 1; i++) {
		char c = ascii_upper(s[i]);
		bool sep = i % 3 == 2;

		if (sep ? c != ':'
			: !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return MIBAND_E_BAD_ADDRESS;
		out[i] = c;
	}
	out[MIBAND_ADDRESS_LEN - 1] = '\0';
	memcpy(ret_address, out, sizeof(out));
	return 0;
}

/* True if name starts with prefix, ignoring ASCII case. */
static bool starts_with_fold(const char *name, const char *prefix)
{
	for (; *prefix; name++, prefix++)
		if (ascii_upper(*name) != ascii_upper(*prefix))
			return false;
	return true;
}

int miband_model_guess(const char *name, enum miband_model *ret_model)
{
	static const struct {
		const char *prefix;
		enum miband_model model;
	} names[] = {
		{"mi band 2", MIBAND_MODEL_MB2},
		{"mi band 3", MIBAND_MODEL_MB3},
		{"xiaomi band 3", MIBAND_MODEL_MB3},
		{"mi smart band 4", MIBAND_MODEL_MB4},
		{"mi band 4", MIBAND_MODEL_MB4},
		{"mi smart band 5", MIBAND_MODEL_MB5},
		{"mi band 5", MIBAND_MODEL_MB5},
		{"mi smart band 6", MIBAND_MODEL_MB6},
		{"mi band 6", MIBAND_MODEL_MB6},
	};
	size_t i;

	if (!name || !ret_model)
		return MIBAND_E_UNSUPPORTED;
	while (*name == ' ')
		name++;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (starts_with_fold(name, names[i].prefix)) {
			*ret_model = names[i].model;
			return 0;
		}
	}
	return MIBAND_E_UNSUPPORTED;
}
