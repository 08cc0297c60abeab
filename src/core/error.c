/*
 * Error names and messages, generated from the one list in
 * include/miband/error.h so the enum and the strings cannot drift apart.
 */
#include "miband/error.h"

#include <stddef.h>

struct err_entry {
	int code;
	int fatal;
	const char *name;
	const char *msg;
};

static const struct err_entry err_table[] = {{MIBAND_OK, 0, "OK", "success"},
#define ERR_ENTRY(name, code, fatal, msg) {(code), (fatal), #name, msg},
					     MIBAND_ERRNO_MAP(ERR_ENTRY)
#undef ERR_ENTRY
};

static const struct err_entry *err_find(int err)
{
	size_t i;

	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == err)
			return &err_table[i];
	return NULL;
}

const char *miband_strerror(int err)
{
	const struct err_entry *e = err_find(err);

	return e ? e->msg : "unknown error";
}

const char *miband_err_name(int err)
{
	const struct err_entry *e = err_find(err);

	return e ? e->name : "UNKNOWN";
}

int miband_is_fatal(int err)
{
	const struct err_entry *e = err_find(err);

	return e ? e->fatal : 0;
}
