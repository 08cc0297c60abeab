/*
 * The key store (contract in keys.h).
 *
 * Safety as ssh does it for private keys: a file is opened with
 * O_NOFOLLOW and checked with fstat() on the open descriptor (no race
 * between the check and the read): it must be a regular file owned by us
 * with no group/other permission bits; its directory likewise.  Writes go
 * to a mkstemp() file (mode 0600) in the same directory, then rename(),
 * so a reader never sees half a key.  Every buffer that held key text is
 * wiped before it goes out of scope.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "miband/bluez.h"
#include "miband/miband.h"

#include "common/keys.h"
#include "common/output.h"
#include "core/hex.h"

#define KEY_FILE_MAX 4096

int mb_key_parse(const char *text, uint8_t ret_key[16])
{
	uint8_t key[16];
	size_t n = 0;
	const char *p = text;
	const char *end;
	int d;

	if (!text)
		return MIBAND_E_BAD_KEY;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; p < end; p++) {
		if (*p == ' ' || *p == ':')
			continue;
		d = miband__hexval((unsigned char)*p);
		if (d < 0 || n >= 32) {
			miband_wipe(key, sizeof(key));
			return MIBAND_E_BAD_KEY;
		}
		if (n % 2 == 0)
			key[n / 2] = (uint8_t)(d << 4);
		else
			key[n / 2] |= (uint8_t)d;
		n++;
	}
	if (n != 32) {
		miband_wipe(key, sizeof(key));
		return MIBAND_E_BAD_KEY;
	}
	memcpy(ret_key, key, 16);
	miband_wipe(key, sizeof(key));
	return 0;
}

int mb_address_parse(const char *s, char ret_address[MB_ADDRESS_LEN])
{
	/* one rule for the whole tree: the BlueZ transport's */
	return miband_bluez_parse_address(s, ret_address);
}

void mb_key_fingerprint(const uint8_t key[16], char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(key, 16, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 8) {
		snprintf(out, cap, "SHA256:?");
		return;
	}
	snprintf(out, cap, "SHA256:%02x%02x%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7]);
	miband_wipe(md, sizeof(md));
}

void mb_key_prefix(const uint8_t key[16], char *out, size_t cap)
{
	snprintf(out, cap, "%02x%02x", key[0], key[1]);
}

void mb_key_describe(const uint8_t key[16], char *out, size_t cap)
{
	char fp[40], pre[8];

	mb_key_prefix(key, pre, sizeof(pre));
	mb_key_fingerprint(key, fp, sizeof(fp));
	snprintf(out, cap, "%s..., %s", pre, fp);
}

void mb_key_entry_wipe(struct mb_key_entry *e)
{
	miband_wipe(e, sizeof(*e));
}

bool mb_key_name_valid(const char *s)
{
	size_t i, n;

	if (!s || !*s || s[0] == '.')
		return false;
	n = strlen(s);
	if (n >= MB_KEY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-' &&
		    c != ':')
			return false;
	}
	return true;
}

/* $XDG_CONFIG_HOME, or ~/.config (XDG: a relative value is ignored). */
static int config_home(char *buf, size_t cap)
{
	const char *x = getenv("XDG_CONFIG_HOME");
	const char *home;
	int n;

	if (x && x[0] == '/') {
		n = snprintf(buf, cap, "%s", x);
	} else {
		home = getenv("HOME");
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home) {
			mb_error_detail("cannot find the home directory: set "
					"HOME or XDG_CONFIG_HOME");
			return MIBAND_E_IO;
		}
		n = snprintf(buf, cap, "%s/.config", home);
	}
	if (n < 0 || (size_t)n >= cap) {
		mb_error_detail("the configuration directory path is too long");
		return MIBAND_E_IO;
	}
	return 0;
}

int mb_keys_dir(char *buf, size_t cap)
{
	char base[4096];
	int r, n;

	r = config_home(base, sizeof(base));
	if (r < 0)
		return r;
	n = snprintf(buf, cap, "%s/miband/keys", base);
	if (n < 0 || (size_t)n >= cap) {
		mb_error_detail("the key store path is too long");
		return MIBAND_E_IO;
	}
	return 0;
}

/* An existing keys directory must be ours and closed to others. */
static int check_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return MIBAND_E_NO_KEY;
		mb_error_detail("cannot read the key store %s: %s", dir,
				strerror(errno));
		return MIBAND_E_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		mb_error_detail("the key store %s is not a directory", dir);
		return MIBAND_E_IO;
	}
	if (st.st_uid != geteuid()) {
		mb_error_detail("the key store %s belongs to uid %u, not to "
				"you: move it away, or chown it to yourself "
				"and run chmod 700 '%s'",
				dir, (unsigned)st.st_uid, dir);
		return MIBAND_E_KEY_PERMS;
	}
	if (st.st_mode & 077) {
		mb_error_detail("permissions %04o for the key store '%s' are "
				"too open: other users can list or change its "
				"keys; run: chmod 700 '%s'",
				(unsigned)(st.st_mode & 07777), dir, dir);
		return MIBAND_E_KEY_PERMS;
	}
	return 0;
}

int mb_key_entry_parse(const char *name, char *text,
		       struct mb_key_entry *ret)
{
	struct mb_key_entry e;
	char *line, *save = NULL, *val;
	int r = 0;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#' || *line == '\r')
			continue;
		val = line + strcspn(line, " \t=");
		if (*val) {
			*val++ = 0;
			val += strspn(val, " \t=");
			val[strcspn(val, "\r")] = 0;
		}
		if (!strcmp(line, "key")) {
			r = mb_key_parse(val, e.key);
			if (r < 0)
				break;
			e.has_key = true;
		} else if (!strcmp(line, "address")) {
			if (!strcmp(val, "emu")) {
				strcpy(e.address, "emu");
			} else if (mb_address_parse(val, e.address) < 0) {
				r = MIBAND_E_BAD_ADDRESS;
				break;
			}
		} else if (!strcmp(line, "model")) {
			if (miband_model_parse(val, &e.model) == 0)
				e.has_model = true;
		} else if (!*val && mb_key_parse(line, e.key) == 0) {
			e.has_key = true; /* a bare key on a line */
		}
		/* other keywords: written by a newer version; ignored */
	}
	if (r == 0 && !e.has_key)
		r = MIBAND_E_BAD_KEY;
	if (r == 0 && !e.address[0]) {
		if (!strcmp(name, "emu"))
			strcpy(e.address, "emu");
		else
			mb_address_parse(name, e.address);
	}
	if (r == 0)
		*ret = e;
	mb_key_entry_wipe(&e);
	return r;
}

/* Reads and parses dir/name with the permission checks. */
static int read_entry(const char *dir, const char *name,
		      struct mb_key_entry *ret)
{
	char path[4352];
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return MIBAND_E_NO_KEY;
		if (errno == ELOOP) {
			mb_error_detail("the key file '%s' is a symbolic link: "
					"keys are read only from regular files",
					path);
			return MIBAND_E_KEY_PERMS;
		}
		mb_error_detail("cannot open the key file '%s': %s", path,
				strerror(errno));
		return MIBAND_E_IO;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		mb_error_detail("the key file '%s' is not a regular file",
				path);
		return MIBAND_E_IO;
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		mb_error_detail("the key file '%s' belongs to uid %u, not to "
				"you: it is ignored; import the key again",
				path, (unsigned)st.st_uid);
		return MIBAND_E_KEY_PERMS;
	}
	if (st.st_mode & 077) {
		close(fd);
		mb_error_detail("permissions %04o for the key file '%s' are "
				"too open: other users can read the key, so "
				"it is ignored; run: chmod 600 '%s'",
				(unsigned)(st.st_mode & 07777), path, path);
		return MIBAND_E_KEY_PERMS;
	}
	for (;;) {
		n = read(fd, buf + len, KEY_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == KEY_FILE_MAX)
			break;
	}
	close(fd);
	if (n < 0) {
		miband_wipe(buf, sizeof(buf));
		mb_error_detail("cannot read the key file '%s'", path);
		return MIBAND_E_IO;
	}
	buf[len] = 0;
	r = mb_key_entry_parse(name, buf, ret);
	miband_wipe(buf, sizeof(buf));
	if (r == MIBAND_E_BAD_KEY)
		mb_error_detail("the key file '%s' holds no valid key: %s", path,
				miband_strerror(MIBAND_E_BAD_KEY));
	else if (r == MIBAND_E_BAD_ADDRESS)
		mb_error_detail("the key file '%s' has a bad address line: %s",
				path, miband_strerror(MIBAND_E_BAD_ADDRESS));
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted file names of the store; *ret_n = 0 if it does not exist. */
static int list_names(const char *dir, char ***ret_names, size_t *ret_n)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, **tmp;
	size_t n = 0, cap = 0;

	*ret_names = NULL;
	*ret_n = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		mb_error_detail("cannot list the key store %s: %s", dir,
				strerror(errno));
		return MIBAND_E_IO;
	}
	while ((de = readdir(d))) {
		if (!mb_key_name_valid(de->d_name))
			continue; /* ., .., temporary files */
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(names, cap * sizeof(*names));
			if (!tmp)
				break;
			names = tmp;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int mb_keys_foreach(mb_keys_fn fn, void *user_data)
{
	char dir[4200];
	char **names;
	size_t n, i;
	struct mb_key_entry e;
	int r;

	r = mb_keys_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	r = check_dir(dir);
	if (r == MIBAND_E_NO_KEY)
		return 0;
	if (r < 0)
		return r;
	r = list_names(dir, &names, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		r = read_entry(dir, names[i], &e);
		if (r < 0) {
			mb_key_entry_wipe(&e);
			snprintf(e.name, sizeof(e.name), "%s", names[i]);
		}
		fn(&e, r, user_data);
		mb_key_entry_wipe(&e);
		mb_error_clear();
	}
	free_names(names, n);
	return (int)n;
}

int mb_keys_load(const char *device, struct mb_key_entry *ret)
{
	char dir[4200], addr[MB_ADDRESS_LEN];
	char **names;
	size_t n, i;
	struct mb_key_entry e;
	int r, unsafe = 0;

	mb_key_entry_wipe(ret);
	if (!device)
		return MIBAND_E_NO_KEY;
	r = mb_keys_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	r = check_dir(dir);
	if (r < 0)
		return r;
	if (mb_address_parse(device, addr) < 0) {
		if (!mb_key_name_valid(device))
			return MIBAND_E_NO_KEY;
		return read_entry(dir, device, ret); /* "emu" or an alias */
	}
	r = read_entry(dir, addr, ret);
	if (r != MIBAND_E_NO_KEY)
		return r;
	/* An alias file whose address line names this band. */
	r = list_names(dir, &names, &n);
	if (r < 0)
		return r;
	r = MIBAND_E_NO_KEY;
	for (i = 0; i < n; i++) {
		int rr = read_entry(dir, names[i], &e);

		if (rr == 0 && !strcmp(e.address, addr)) {
			*ret = e;
			mb_key_entry_wipe(&e);
			r = 0;
			break;
		}
		mb_key_entry_wipe(&e);
		if (rr == MIBAND_E_KEY_PERMS && !unsafe) {
			/* it may be this band's: keep the message */
			unsafe = 1;
			continue;
		}
	}
	free_names(names, n);
	if (r == 0)
		mb_error_clear();
	else if (unsafe)
		r = MIBAND_E_KEY_PERMS;
	else
		mb_error_clear();
	return r;
}

/* mkdir with mode 0700 unless it exists; then check it. */
static int make_dir(const char *path, bool check)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		mb_error_detail("cannot create %s: %s", path, strerror(errno));
		return MIBAND_E_IO;
	}
	return check ? check_dir(path) : 0;
}

static int make_dirs(const char *keys_dir)
{
	char path[4200];
	char *p;
	int r;

	snprintf(path, sizeof(path), "%s", keys_dir);
	/* every missing parent, 0700 as XDG asks for its base dirs */
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		r = make_dir(path, false);
		*p = '/';
		if (r < 0)
			return r;
	}
	return make_dir(path, true);
}

static bool write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

int mb_keys_store(const struct mb_key_entry *e)
{
	char dir[4200], tmp[4400], path[4400];
	char text[512];
	int fd, n, r, i, o;
	bool ok;

	if (!e || !e->has_key || !mb_key_name_valid(e->name))
		return MIBAND_E_INVAL;
	r = mb_keys_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	r = make_dirs(dir);
	if (r < 0)
		return r;
	n = snprintf(text, sizeof(text),
		     "# mibandctl key: keep private (chmod 600)\n"
		     "address %s\n",
		     e->address[0] ? e->address : e->name);
	if (e->has_model)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "model %s\n",
			      miband_model_name(e->model));
	o = n + snprintf(text + n, sizeof(text) - (size_t)n, "key ");
	for (i = 0; i < 16; i++)
		o += snprintf(text + o, sizeof(text) - (size_t)o, "%02x",
			      e->key[i]);
	text[o++] = '\n';

	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, e->name);
	snprintf(path, sizeof(path), "%s/%s", dir, e->name);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		miband_wipe(text, sizeof(text));
		mb_error_detail("cannot create a file in %s: %s", dir,
				strerror(errno));
		return MIBAND_E_IO;
	}
	ok = fchmod(fd, 0600) == 0 && write_all(fd, text, (size_t)o) &&
	     fsync(fd) == 0;
	miband_wipe(text, sizeof(text));
	if (close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		mb_error_detail("cannot write the key file '%s': %s", path,
				strerror(errno));
		unlink(tmp);
		return MIBAND_E_IO;
	}
	return 0;
}

int mb_keys_forget(const char *device, char ret_name[MB_KEY_NAME_MAX])
{
	struct mb_key_entry e;
	char dir[4200], path[4400];
	int r;

	r = mb_keys_load(device, &e);
	if (r == MIBAND_E_KEY_PERMS || r == MIBAND_E_BAD_KEY) {
		/* an unsafe or broken file can still be removed by name */
		mb_error_clear();
		if (!mb_key_name_valid(device))
			return r;
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", device);
		if (mb_address_parse(device, e.address) == 0)
			snprintf(e.name, sizeof(e.name), "%s", e.address);
	} else if (r < 0) {
		return r;
	}
	r = mb_keys_dir(dir, sizeof(dir));
	if (r < 0) {
		mb_key_entry_wipe(&e);
		return r;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, e.name);
	if (unlink(path) < 0) {
		r = errno == ENOENT ? MIBAND_E_NO_KEY : MIBAND_E_IO;
		if (r == MIBAND_E_IO)
			mb_error_detail("cannot remove '%s': %s", path,
					strerror(errno));
		mb_key_entry_wipe(&e);
		return r;
	}
	snprintf(ret_name, MB_KEY_NAME_MAX, "%s", e.name);
	mb_key_entry_wipe(&e);
	return 0;
}
