/*
 * The key store: one file per band under $XDG_CONFIG_HOME/miband/keys/
 * (default ~/.config/miband/keys/), named by the band's address
 * ("C8:0F:10:12:34:56"), by an alias the user chose, or "emu".
 *
 *     # mibandctl key: keep private (chmod 600)
 *     address C8:0F:10:12:34:56
 *     model mb3
 *     key 0123456789abcdef0123456789abcdef
 *
 * Files are created mode 0600 in 0700 directories.  Like ssh, the store
 * refuses to read a key file or a keys directory that other users can
 * access, or that someone else owns (MIBAND_E_KEY_PERMS, with a message
 * that says which chmod fixes it).  Every buffer that held a key is wiped
 * with miband_wipe() before it is released, on every path.  Keys are
 * never printed in full: mb_key_describe() shows the first two bytes and
 * a SHA-256 fingerprint.
 */
#ifndef MB_KEYS_H
#define MB_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/types.h"

#define MB_ADDRESS_LEN 18 /* "AA:BB:CC:DD:EE:FF" and the NUL */
#define MB_KEY_NAME_MAX 64

/*
 * Parses a key: 32 hex digits, optionally prefixed with 0x, optionally
 * separated by spaces or colons (between or inside bytes), surrounding
 * white space ignored.  0 or MIBAND_E_BAD_KEY (ret_key untouched).
 */
int mb_key_parse(const char *text, uint8_t ret_key[16]);

/*
 * Strict BD address: six pairs of hex digits separated by colons.
 * Writes the upper-case form.  0 or MIBAND_E_BAD_ADDRESS.
 */
int mb_address_parse(const char *s, char ret_address[MB_ADDRESS_LEN]);

/* "3031..., SHA256:9f86d081884c7d65" (first 2 bytes, 8-byte digest). */
void mb_key_describe(const uint8_t key[16], char *out, size_t cap);
/* The fingerprint alone: "SHA256:9f86d081884c7d65". */
void mb_key_fingerprint(const uint8_t key[16], char *out, size_t cap);
/* The first two bytes in hex: "3031". */
void mb_key_prefix(const uint8_t key[16], char *out, size_t cap);

struct mb_key_entry {
	char name[MB_KEY_NAME_MAX];     /* file name */
	char address[MB_ADDRESS_LEN];   /* "C8:0F:..." or "emu" */
	bool has_model;
	enum miband_model model;
	bool has_key;
	uint8_t key[16];
};
void mb_key_entry_wipe(struct mb_key_entry *e);
/*
 * Parses the text of a key file named name (modified in place: the
 * caller wipes it).  0, MIBAND_E_BAD_KEY (no valid key line) or
 * MIBAND_E_BAD_ADDRESS (a bad address line); *ret written on success.
 */
int mb_key_entry_parse(const char *name, char *text,
		       struct mb_key_entry *ret);

/* $XDG_CONFIG_HOME/miband/keys (or ~/.config/...; common/paths.h).
 * 0 or MIBAND_E_IO. */
int mb_keys_dir(char *buf, size_t cap);

/* True if s may name a key file: [A-Za-z0-9._:-], not starting with '.',
 * at most MB_KEY_NAME_MAX - 1 characters. */
bool mb_key_name_valid(const char *s);

/*
 * Finds the entry of a band: device is an address or "emu" (the file
 * named by it, else any file whose address line matches), or an alias
 * (file name).  Returns 0, MIBAND_E_NO_KEY (no such entry),
 * MIBAND_E_KEY_PERMS, or MIBAND_E_IO (also: a file that is no key file,
 * a key store error, exit status 8, not a usage error).
 * On failure *ret is wiped.
 */
int mb_keys_load(const char *device, struct mb_key_entry *ret);

/*
 * True if s may be an alias.  Else false, with a message naming the rule
 * it broke: it looks like an address, it is reserved (`emu`), or it has
 * characters other than [A-Za-z0-9._-] (or starts with '.', or is long).
 */
bool mb_key_alias_check(const char *s);

/*
 * Storing a key.  One band (one address) has one key: storing e also
 * gives e's key to every other entry (alias) of e->address.  Nothing is
 * replaced silently:
 *   - a file named e->name that holds another band's key is kept unless
 *     flags has MB_KEYS_REPLACE (keys import --force);
 *   - an entry of e->address that holds another key is kept unless flags
 *     has MB_KEYS_NEW_KEY (pair: the band gets the key; import --force).
 * mb_keys_prepare() creates the directories (0700, never $HOME itself),
 * checks the store and writes every changed file to a temporary 0600
 * file in it (fsync'd): when it returns 0, the key can be stored, and
 * pair only then gives the band its new key.  mb_keys_commit() renames
 * the files into place (model, if not NULL, replaces the entries' model
 * first); mb_keys_abort() removes them.  Either ends the transaction.
 * Errors: MIBAND_E_INVAL (refused, the message says why and what to
 * pass), MIBAND_E_KEY_PERMS (an unsafe directory) or MIBAND_E_IO.
 */
#define MB_KEYS_NEW_KEY 1u
#define MB_KEYS_REPLACE 2u
struct mb_keys_file {
	int fd;
	char tmp[4400], path[4400];
	struct mb_key_entry e;
};
struct mb_keys_txn {
	char dir[4200];
	struct mb_keys_file *f;
	size_t n;
};
int mb_keys_prepare(const struct mb_key_entry *e, unsigned flags,
		    struct mb_keys_txn *t);
int mb_keys_commit(struct mb_keys_txn *t, const enum miband_model *model);
void mb_keys_abort(struct mb_keys_txn *t);
/* prepare and commit. */
int mb_keys_save(const struct mb_key_entry *e, unsigned flags);
/* mb_keys_save() as pair stores (MB_KEYS_NEW_KEY, never another band's
 * name); kept for callers not yet on mb_keys_prepare(). */
int mb_keys_store(const struct mb_key_entry *e);

/* Removes the entry that mb_keys_load(device) would find; its file name
 * is written to ret_name.  0, MIBAND_E_NO_KEY or MIBAND_E_IO. */
int mb_keys_forget(const char *device, char ret_name[MB_KEY_NAME_MAX]);

/*
 * Calls fn for every file in the store, sorted by name: with the entry
 * and 0, or with a name-only entry and the error that reading it gave
 * (KEY_PERMS: unsafe, or a symbolic link; IO: not a key file, or
 * unreadable); mb_keys_problem() then says why, in a sentence.  The entry is wiped after each call.
 * Returns the number of files, or an error reading the directory itself
 * (0 files when the directory does not exist).
 */
typedef void (*mb_keys_fn)(const struct mb_key_entry *e, int err,
			   void *user_data);
int mb_keys_foreach(mb_keys_fn fn, void *user_data);
const char *mb_keys_problem(void);

/*
 * The bands of the store, for a default --device: the number of distinct
 * bands (addresses) among the key files (a file other users may read
 * counts, so that using it says what is wrong; symbolic links and files
 * that are no key files do not).  ret_name: an entry of the first band;
 * names: one name per band, comma-separated.  Or a negative error, also
 * when no file is a band but some could not be read (the first one's
 * error, and a message that says why).
 */
int mb_keys_default(char ret_name[MB_KEY_NAME_MAX], char *names,
		    size_t cap);

#endif
