/*
 * BD addresses and model names of the portable core
 * (include/miband/address.h): what a transport checks before it reaches
 * for a band.  Expected results are the rules of the header.
 */
#include <string.h>

#include "runner.h"
#include "miband/miband.h"

TEST(address_normalised_to_upper_case)
{
	char a[MIBAND_ADDRESS_LEN];

	CHECK_EQ(miband_address_parse("aa:bb:cc:dd:ee:0f", a), 0);
	CHECK_STR(a, "AA:BB:CC:DD:EE:0F");
	CHECK_EQ(miband_address_parse("00:11:22:33:44:55", a), 0);
	CHECK_STR(a, "00:11:22:33:44:55");
}

TEST(address_rejects_every_other_form)
{
	static const char *bad[] = {
		"",
		"AA:BB:CC:DD:EE:F",
		"AA:BB:CC:DD:EE:FF:",
		"AA:BB:CC:DD:EE:FG",
		"AA.BB.CC.DD.EE.FF",
		"AABB:CC:DD:EE:FF:",
		" AA:BB:CC:DD:EE:F",
		"AA:BB:CC:DD:EE:F ",
		"AA:BB:CC:DD:EE:+F",
		"aabbccddeeff",
	};
	char a[MIBAND_ADDRESS_LEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(a, 'x', sizeof(a));
		CHECK_EQ(miband_address_parse(bad[i], a), MIBAND_E_BAD_ADDRESS);
		CHECK_EQ(a[0], 'x'); /* written only on success */
	}
	CHECK_EQ(miband_address_parse(NULL, a), MIBAND_E_BAD_ADDRESS);
	CHECK_EQ(miband_address_parse("AA:BB:CC:DD:EE:FF", NULL),
		 MIBAND_E_BAD_ADDRESS);
}

TEST(model_from_names_bands_advertise)
{
	enum miband_model m = MIBAND_MODEL_COUNT;

	CHECK_EQ(miband_model_guess("  mi band 4 (ff)", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB4);
	CHECK_EQ(miband_model_guess("MI SMART BAND 5", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB5);
	CHECK_EQ(miband_model_guess("Mi Band 6", &m), 0);
	CHECK_EQ(m, MIBAND_MODEL_MB6);
	m = MIBAND_MODEL_COUNT;
	/* a prefix of a name is not the name */
	CHECK_EQ(miband_model_guess("Mi Band", &m), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_model_guess("Mi Band 7", &m), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(miband_model_guess("My Mi Band 3", &m), MIBAND_E_UNSUPPORTED);
	CHECK_EQ(m, MIBAND_MODEL_COUNT);
	CHECK_EQ(miband_model_guess("Mi Band 3", NULL), MIBAND_E_UNSUPPORTED);
}

TEST_MAIN(T(address_normalised_to_upper_case),
	  T(address_rejects_every_other_form),
	  T(model_from_names_bands_advertise))
