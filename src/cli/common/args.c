/* Small argument parsers shared by the programs (see args.h). */
#include <string.h>

#include "common/args.h"

int mb_pairing_policy_parse(const char *s, enum miband_pairing_policy *ret)
{
	static const struct {
		const char *name;
		enum miband_pairing_policy policy;
	} t[] = {
		{"accept", MIBAND_PAIRING_ACCEPT},
		{"decline", MIBAND_PAIRING_DECLINE},
		{"never", MIBAND_PAIRING_NEVER},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name)) {
			*ret = t[i].policy;
			return 0;
		}
	return -1;
}
