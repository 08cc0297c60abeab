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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "miband/bluez.h"
#include "miband/miband.h"

#include "common/keys.h"
#include "common/output.h"
#include "common/paths.h"
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
	/* one rule for the whole tree: the core's (address.h) */
	return miband_address_parse(s, ret_address);
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

int mb_keys_dir(char *buf, size_t cap)
{
	return mb_xdg_dir("XDG_CONFIG_HOME", ".config", "miband/keys", buf,
			  cap);
}

/* Why the last file read_entry() refused was refused, for listings. */
static char last_problem[640];

const char *mb_keys_problem(void)
{
	return last_problem;
}

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_problem, sizeof(last_problem), fmt, ap);
	va_end(ap);
	mb_error_detail("%s", last_problem);
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

/*
 * Reads and parses dir/name with the permission checks.  A file that is
 * not a key file (no valid key line, a bad address line) is a key store
 * error (MIBAND_E_IO, exit status 8), not a usage error: the user did not
 * type it.  Each refusal says why (also kept for mb_keys_problem()).
 */
static int read_entry(const char *dir, const char *name,
		      struct mb_key_entry *ret)
{
	char path[4352];
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, r;

	last_problem[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
				O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return MIBAND_E_NO_KEY;
		if (errno == ELOOP) {
			problem("the key file '%s' is a symbolic link: it is "
				"refused, keys are read only from regular "
				"files; remove the link",
				path);
			return MIBAND_E_KEY_PERMS;
		}
		problem("cannot open the key file '%s': %s", path,
			strerror(errno));
		return MIBAND_E_IO;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		problem("'%s' is not a regular file: it is not a key; move it "
			"out of the key store",
			path);
		return MIBAND_E_IO;
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		problem("the key file '%s' belongs to uid %u, not to you: it "
			"is ignored; import the key again",
			path, (unsigned)st.st_uid);
		return MIBAND_E_KEY_PERMS;
	}
	if (st.st_mode & 077) {
		close(fd);
		problem("permissions %04o for the key file '%s' are too open: "
			"other users can read the key, so it is ignored; run: "
			"chmod 600 '%s'",
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
		problem("cannot read the key file '%s'", path);
		return MIBAND_E_IO;
	}
	buf[len] = 0;
	r = mb_key_entry_parse(name, buf, ret);
	miband_wipe(buf, sizeof(buf));
	if (r == MIBAND_E_BAD_KEY || r == MIBAND_E_BAD_ADDRESS) {
		problem("'%s' is not a usable key file (%s): fix it, or remove "
			"it with `mibandctl keys forget %s`",
			path,
			r == MIBAND_E_BAD_KEY ? "no valid key line" :
						"a bad address line",
			name);
		r = MIBAND_E_IO;
	}
	return r;
}

/* A symbolic link in the store: never followed, never a band. */
static bool is_link(const char *dir, const char *name)
{
	char path[4352];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
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

/* The store's directory (dir: 4200 bytes) and its sorted file names.
 * 1, 0 (no store yet: nothing listed) or an error. */
static int store_names(char *dir, char ***ret_names, size_t *ret_n)
{
	int r = mb_keys_dir(dir, 4200);

	if (r == 0)
		r = check_dir(dir);
	if (r == MIBAND_E_NO_KEY)
		return 0;
	if (r == 0)
		r = list_names(dir, ret_names, ret_n);
	return r < 0 ? r : 1;
}

int mb_keys_foreach(mb_keys_fn fn, void *user_data)
{
	char dir[4200];
	char **names;
	size_t n, i;
	struct mb_key_entry e;
	int r;

	r = store_names(dir, &names, &n);
	if (r <= 0)
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

/* "emu" or an address, in its stored form; false for an alias. */
static bool band_address(const char *device, char ret[MB_ADDRESS_LEN])
{
	if (!strcmp(device, "emu")) {
		strcpy(ret, "emu");
		return true;
	}
	return mb_address_parse(device, ret) == 0;
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
	if (!band_address(device, addr)) {
		if (!mb_key_name_valid(device))
			return MIBAND_E_NO_KEY;
		return read_entry(dir, device, ret); /* an alias */
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
		if (rr == MIBAND_E_KEY_PERMS && !unsafe &&
		    !is_link(dir, names[i])) {
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

int mb_keys_default(char ret_name[MB_KEY_NAME_MAX], char *names_out,
		    size_t cap)
{
	char dir[4200], seen[64][MB_ADDRESS_LEN];
	struct mb_key_entry e;
	char **names;
	size_t n, i, k, nseen = 0, l;
	int r, bands = 0, first_err = 0;
	char why[sizeof(last_problem)] = "";

	ret_name[0] = 0;
	if (cap)
		names_out[0] = 0;
	r = store_names(dir, &names, &n);
	if (r <= 0)
		return r;
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		r = read_entry(dir, names[i], &e);
		/* a key file we may not read still names a band (its load
		 * then says why); links and other files are no bands */
		if (r == MIBAND_E_KEY_PERMS && !is_link(dir, names[i]))
			snprintf(e.address, sizeof(e.address), "%.17s",
				 names[i]);
		else if (r < 0 && !first_err) {
			first_err = r;
			snprintf(why, sizeof(why), "%s", last_problem);
		}
		if (r < 0 && !e.address[0])
			continue;
		miband_wipe(e.key, sizeof(e.key));
		for (k = 0; k < nseen && strcmp(seen[k], e.address); k++)
			;
		if (k < nseen)
			continue;
		if (nseen < 64)
			memcpy(seen[nseen++], e.address, MB_ADDRESS_LEN);
		if (bands++ == 0)
			snprintf(ret_name, MB_KEY_NAME_MAX, "%s", names[i]);
		l = strlen(names_out);
		if (l + strlen(names[i]) + 3 < cap)
			snprintf(names_out + l, cap - l, "%s%s", l ? ", " : "",
				 names[i]);
	}
	mb_error_clear();
	free_names(names, n);
	if (bands == 0 && first_err) {
		/* no band, but files that may have been one: say why */
		mb_error_detail("no usable key in the key store: %s", why);
		return first_err;
	}
	return bands;
}

bool mb_key_alias_check(const char *alias)
{
	char addr[MB_ADDRESS_LEN];

	if (mb_address_parse(alias, addr) == 0) {
		mb_error_detail("the alias '%s' looks like a Bluetooth "
				"address: an alias is another name for a band, "
				"its address goes in --device",
				alias);
		return false;
	}
	if (!strcasecmp(alias, "emu")) {
		mb_error_detail("the alias '%s' is reserved: `emu` names the "
				"emulated band",
				alias);
		return false;
	}
	if (!mb_key_name_valid(alias) || strchr(alias, ':')) {
		mb_error_detail("the alias '%s' is not valid: an alias is 1 to "
				"%d letters, digits, '.', '_' or '-', not "
				"starting with '.'",
				alias, MB_KEY_NAME_MAX - 1);
		return false;
	}
	return true;
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

/* Writes the text of e over the file fd (from its start) and syncs it. */
static bool write_entry(int fd, const struct mb_key_entry *e)
{
	char text[512];
	int n, i, o;
	bool ok;

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
	ok = lseek(fd, 0, SEEK_SET) == 0 && ftruncate(fd, 0) == 0 &&
	     write_all(fd, text, (size_t)o) && fsync(fd) == 0;
	miband_wipe(text, sizeof(text));
	return ok;
}

/* Adds e to the transaction: its new text in a temporary file. */
static int txn_add(struct mb_keys_txn *t, const struct mb_key_entry *e)
{
	struct mb_keys_file *f, *tmp;

	tmp = realloc(t->f, (t->n + 1) * sizeof(*t->f));
	if (!tmp)
		return MIBAND_E_NOSPACE;
	t->f = tmp;
	f = &t->f[t->n];
	memset(f, 0, sizeof(*f));
	f->e = *e;
	snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.XXXXXX", t->dir, e->name);
	snprintf(f->path, sizeof(f->path), "%s/%s", t->dir, e->name);
	f->fd = mkstemp(f->tmp); /* mode 0600 */
	if (f->fd < 0) {
		mb_error_detail("cannot create a file in the key store %s: %s",
				t->dir, strerror(errno));
		mb_key_entry_wipe(&f->e);
		return MIBAND_E_IO;
	}
	t->n++;
	if (fchmod(f->fd, 0600) < 0 || !write_entry(f->fd, &f->e)) {
		mb_error_detail("cannot write a key file in the key store %s: "
				"%s",
				t->dir, strerror(errno));
		return MIBAND_E_IO;
	}
	return 0;
}

void mb_keys_abort(struct mb_keys_txn *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->f[i].fd >= 0) {
			close(t->f[i].fd);
			unlink(t->f[i].tmp);
		}
		mb_key_entry_wipe(&t->f[i].e);
	}
	free(t->f);
	memset(t, 0, sizeof(*t));
}

/* Refuses to replace old (the file e->name) unless flags allow it. */
static int may_replace(const struct mb_key_entry *e,
		       const struct mb_key_entry *old, unsigned flags)
{
	char desc[80];

	if (strcmp(old->address, e->address)) {
		if (flags & MB_KEYS_REPLACE)
			return 0;
		mb_error_detail("'%s' is already the key of %s: choose another "
				"name, or pass --force to replace it",
				e->name, old->address);
		return MIBAND_E_INVAL;
	}
	if (!memcmp(old->key, e->key, 16) || (flags & MB_KEYS_NEW_KEY))
		return 0;
	mb_key_describe(old->key, desc, sizeof(desc));
	mb_error_detail("%s already has another key (%s, in '%s'): replacing "
			"it loses the pairing; pass --force to replace it",
			e->address, desc, old->name);
	return MIBAND_E_INVAL;
}

/* The entry named e->name, if any: may it be replaced? */
static int check_name(struct mb_keys_txn *t, const struct mb_key_entry *e,
		      unsigned flags)
{
	struct mb_key_entry old;
	struct stat st;
	char path[4400];
	int r;

	snprintf(path, sizeof(path), "%s/%s", t->dir, e->name);
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		mb_error_detail("'%s' is in the way: it is not a regular file; "
				"move it out of the key store",
				path);
		return MIBAND_E_IO;
	}
	memset(&old, 0, sizeof(old));
	r = read_entry(t->dir, e->name, &old);
	if (r == 0)
		r = may_replace(e, &old, flags);
	else if (r != MIBAND_E_NO_KEY && (flags & MB_KEYS_REPLACE))
		r = 0; /* a broken file under that name: --force */
	mb_key_entry_wipe(&old);
	if (r == MIBAND_E_NO_KEY || r == 0) {
		mb_error_clear();
		return 0;
	}
	return r;
}

/* Every other entry of the band gets the new key too. */
static int add_same_band(struct mb_keys_txn *t, const struct mb_key_entry *e,
			 unsigned flags)
{
	struct mb_key_entry old;
	char **names;
	size_t n, i;
	int r;

	r = list_names(t->dir, &names, &n);
	if (r < 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (!strcmp(names[i], e->name))
			continue;
		memset(&old, 0, sizeof(old));
		if (read_entry(t->dir, names[i], &old) == 0 &&
		    !strcmp(old.address, e->address)) {
			r = may_replace(e, &old, flags);
			memcpy(old.key, e->key, 16);
			if (e->has_model) {
				old.has_model = true;
				old.model = e->model;
			}
			if (r == 0)
				r = txn_add(t, &old);
		}
		mb_key_entry_wipe(&old);
	}
	if (r == 0)
		mb_error_clear(); /* unreadable files are no entries here */
	free_names(names, n);
	return r;
}

int mb_keys_prepare(const struct mb_key_entry *e, unsigned flags,
		    struct mb_keys_txn *t)
{
	int r;

	memset(t, 0, sizeof(*t));
	if (!e || !e->has_key || !mb_key_name_valid(e->name))
		return MIBAND_E_INVAL;
	r = mb_keys_dir(t->dir, sizeof(t->dir));
	if (r == 0)
		r = mb_make_dirs(t->dir);
	if (r == 0)
		r = check_dir(t->dir);
	if (r == 0)
		r = check_name(t, e, flags);
	if (r == 0)
		r = txn_add(t, e);
	if (r == 0)
		r = add_same_band(t, e, flags);
	if (r < 0)
		mb_keys_abort(t);
	return r;
}

int mb_keys_commit(struct mb_keys_txn *t, const enum miband_model *model)
{
	struct mb_keys_file *f;
	size_t i;
	int r = 0, dfd;

	for (i = 0; i < t->n; i++) {
		f = &t->f[i];
		if (r == 0 && model &&
		    (!f->e.has_model || f->e.model != *model)) {
			f->e.has_model = true;
			f->e.model = *model;
			if (!write_entry(f->fd, &f->e))
				r = MIBAND_E_IO;
		}
		if (close(f->fd) != 0)
			r = MIBAND_E_IO;
		f->fd = -1;
		if (r == 0 && rename(f->tmp, f->path) < 0)
			r = MIBAND_E_IO;
		if (r < 0) {
			mb_error_detail("cannot write the key file '%s': %s",
					f->path, strerror(errno));
			unlink(f->tmp);
		}
	}
	/* the renames themselves reach the disk */
	dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	for (i = 0; i < t->n; i++)
		t->f[i].fd = -1;
	mb_keys_abort(t);
	return r;
}

int mb_keys_save(const struct mb_key_entry *e, unsigned flags)
{
	struct mb_keys_txn t;
	int r = mb_keys_prepare(e, flags, &t);

	return r < 0 ? r : mb_keys_commit(&t, NULL);
}

int mb_keys_store(const struct mb_key_entry *e)
{
	return mb_keys_save(e, MB_KEYS_NEW_KEY);
}

int mb_keys_forget(const char *device, char ret_name[MB_KEY_NAME_MAX])
{
	struct mb_key_entry e;
	char dir[4200], path[4400];
	int r;

	r = mb_keys_load(device, &e);
	if (r == MIBAND_E_KEY_PERMS || r == MIBAND_E_IO) {
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
