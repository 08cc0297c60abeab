/*
 * The XDG base directories (contract in paths.h).  HOME is checked with
 * stat() before anything is built on it, so a missing HOME is reported
 * as such instead of being created by the first mkdir -p below it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miband/miband.h"

#include "common/output.h"
#include "common/paths.h"

int mb_xdg_dir(const char *xdg_var, const char *home_default, const char *sub,
	       char *buf, size_t cap)
{
	const char *x = getenv(xdg_var);
	const char *home = getenv("HOME");
	struct stat st;
	int n;

	if (x && x[0] == '/') {
		n = snprintf(buf, cap, "%s/%s", x, sub);
	} else if (!home || home[0] != '/') {
		mb_error_detail("HOME is %s: set HOME to your home directory, "
				"or %s to an absolute path",
				home ? "not an absolute path" : "not set",
				xdg_var);
		return MIBAND_E_IO;
	} else if (stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
		bool missing = access(home, F_OK) < 0 && errno == ENOENT;

		mb_error_detail("HOME (%s) %s: set HOME to your home "
				"directory, or %s to an absolute path",
				home,
				missing ? "does not exist"
					: "is not a usable directory",
				xdg_var);
		return MIBAND_E_IO;
	} else {
		n = snprintf(buf, cap, "%s/%s/%s", home, home_default, sub);
	}
	if (n < 0 || (size_t)n >= cap) {
		mb_error_detail("the path under %s is too long", xdg_var);
		return MIBAND_E_IO;
	}
	return 0;
}

int mb_make_dirs(const char *dir)
{
	char path[4200];
	char *p;
	int n;

	n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		mb_error_detail("the path %s is too long", dir);
		return MIBAND_E_IO;
	}
	for (p = path + 1;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			mb_error_detail("cannot create %s: %s", path,
					strerror(errno));
			return MIBAND_E_IO;
		}
		*p = c;
		if (!c)
			break;
	}
	return 0;
}
