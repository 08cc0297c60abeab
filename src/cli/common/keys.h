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

/* $XDG_CONFIG_HOME/miband/keys (or ~/.config/...).  0 or MIBAND_E_IO. */
int mb_keys_dir(char *buf, size_t cap);

/* True if s may name a key file: [A-Za-z0-9._:-], not starting with '.',
 * at most MB_KEY_NAME_MAX - 1 characters. */
bool mb_key_name_valid(const char *s);

/*
 * Finds the entry of a band: device is an address (the file named by it,
 * else any file whose address line matches), "emu", or an alias (file
 * name).  Returns 0, MIBAND_E_NO_KEY (no such entry), MIBAND_E_KEY_PERMS,
 * MIBAND_E_BAD_KEY (a file whose key line is not a key) or MIBAND_E_IO.
 * On failure *ret is wiped.
 */
int mb_keys_load(const char *device, struct mb_key_entry *ret);

/* Writes e (creating the directories 0700, the file 0600) atomically.
 * 0, MIBAND_E_KEY_PERMS (an unsafe existing directory) or MIBAND_E_IO. */
int mb_keys_store(const struct mb_key_entry *e);

/* Removes the entry that mb_keys_load(device) would find; its file name
 * is written to ret_name.  0, MIBAND_E_NO_KEY or MIBAND_E_IO. */
int mb_keys_forget(const char *device, char ret_name[MB_KEY_NAME_MAX]);

/*
 * Calls fn for every file in the store, sorted by name: with the entry
 * and 0, or with a name-only entry and the error that reading it gave
 * (KEY_PERMS, BAD_KEY, IO).  The entry is wiped after each call.
 * Returns the number of files, or an error reading the directory itself
 * (0 files when the directory does not exist).
 */
typedef void (*mb_keys_fn)(const struct mb_key_entry *e, int err,
			   void *user_data);
int mb_keys_foreach(mb_keys_fn fn, void *user_data);

#endif
