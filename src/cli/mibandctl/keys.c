/*
 * mibandctl keys: the key store (common/keys.h) for people: list (never
 * a key in full), import (from --key or the first line of standard
 * input), forget.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mibandctl/mibandctl.h"

static void list_one(const struct mb_key_entry *e, int err, void *user_data)
{
	struct ctx *c = user_data;
	struct mb_json j;
	char fp[40] = "", pre[8] = "", desc[80] = "";

	if (err == 0) {
		mb_key_fingerprint(e->key, fp, sizeof(fp));
		mb_key_prefix(e->key, pre, sizeof(pre));
		mb_key_describe(e->key, desc, sizeof(desc));
	}
	if (c->json) {
		mb_json_begin(&j, "key");
		mb_json_str(&j, "name", e->name);
		if (err == 0) {
			mb_json_str(&j, "address",
				    e->address[0] ? e->address : NULL);
			mb_json_str(&j, "model",
				    e->has_model ? miband_model_name(e->model)
						 : NULL);
			mb_json_str(&j, "key_prefix", pre);
			mb_json_str(&j, "fingerprint", fp);
		} else {
			mb_json_str(&j, "error", miband_err_name(err));
		}
		mb_json_end(&j);
	} else if (err == 0) {
		mb_say("%-20s %-17s  %-5s  %s", e->name,
		       e->address[0] ? e->address : "?",
		       e->has_model ? miband_model_name(e->model) : "?", desc);
	} else {
		mb_say("%-20s %-17s  %-5s  unusable: %s", e->name, "?", "?",
		       miband_err_name(err));
	}
	if (err)
		mb_note("%s: %s", MB_PROG, mb_keys_problem());
}

/*
 * Reads a key from standard input: its first line.  read(2), not stdio,
 * so no library buffer keeps a copy of the key.
 */
static int read_key_stdin(uint8_t key[16])
{
	char line[256];
	size_t len = 0;
	ssize_t n;
	int r;

	if (isatty(STDIN_FILENO))
		fprintf(stderr, "key (32 hex digits): ");
	while (len + 1 < sizeof(line)) {
		n = read(STDIN_FILENO, line + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
	if (len == 0) {
		mb_error_detail("no key on standard input: %s",
				miband_strerror(MIBAND_E_BAD_KEY));
		return MIBAND_E_BAD_KEY;
	}
	r = mb_key_parse(line, key);
	miband_wipe(line, sizeof(line));
	return r;
}

static int keys_run(struct ctx *c, int argc, char **argv)
{
	struct mb_key_entry e;
	struct mb_json j;
	char name[MB_KEY_NAME_MAX], dir[4200];
	struct key_id id;
	const char *target;
	int r;

	if (!strcmp(argv[0], "list")) {
		if ((r = mb_need_args(&mb_cmd_keys, argc, 1, 1)) < 0)
			return r;
		if (!c->json && mb_keys_dir(dir, sizeof(dir)) == 0)
			mb_verbose("key store: %s", dir);
		if (!c->json)
			mb_say("%-20s %-17s  %-5s  %s", "NAME", "ADDRESS",
			       "MODEL", "KEY");
		r = mb_keys_foreach(list_one, c);
		return r < 0 ? r : 0;
	}
	if (!strcmp(argv[0], "forget")) {
		if ((r = mb_need_args(&mb_cmd_keys, argc, 1, 2)) < 0)
			return r;
		target = argc == 2 ? argv[1] : c->device;
		if (!target)
			return mb_usage_error("keys forget: name the band "
					      "(ADDRESS, alias or emu)");
		r = mb_keys_forget(target, name);
		if (r == MIBAND_E_NO_KEY)
			mb_error_detail("no key is stored for %s", target);
		if (r < 0)
			return r;
		if (c->json) {
			mb_json_begin(&j, "key-forgotten");
			mb_json_str(&j, "name", name);
			mb_json_end(&j);
		} else {
			mb_say("forgot the key of %s", name);
		}
		return 0;
	}
	if (!strcmp(argv[0], "import")) {
		if ((r = mb_need_args(&mb_cmd_keys, argc, 1, 2)) < 0)
			return r;
		target = argc == 2 ? argv[1] : c->device;
		if (!target)
			return mb_usage_error("keys import: name the band with "
					      "--device ADDRESS|emu");
		memset(&e, 0, sizeof(e));
		if (!strcmp(target, "emu")) {
			strcpy(e.address, "emu");
		} else if (mb_address_parse(target, e.address) < 0) {
			mb_error_detail("'%s' is not a Bluetooth address: %s; "
					"or `emu` (use --alias to name it)",
					target,
					miband_strerror(MIBAND_E_BAD_ADDRESS));
			return MIBAND_E_BAD_ADDRESS;
		}
		if (c->alias && !mb_key_alias_check(c->alias))
			return MIBAND_E_INVAL;
		snprintf(e.name, sizeof(e.name), "%s",
			 c->alias ? c->alias : e.address);
		if (c->has_cli_key) {
			memcpy(e.key, c->cli_key, 16);
		} else {
			r = read_key_stdin(e.key);
			if (r < 0) {
				mb_key_entry_wipe(&e);
				return r;
			}
		}
		e.has_key = true;
		e.has_model = c->has_model;
		e.model = c->model;
		mb_key_id(&id, e.key);
		r = mb_keys_save(&e, c->force ? MB_KEYS_NEW_KEY | MB_KEYS_REPLACE
					      : 0);
		if (r == 0) {
			if (c->json) {
				mb_json_begin(&j, "key-imported");
				mb_json_str(&j, "name", e.name);
				mb_json_str(&j, "address", e.address);
				mb_json_key_id(&j, &id);
				mb_json_end(&j);
			} else {
				mb_say("imported key %s for %s as %s", id.desc,
				       e.address, e.name);
			}
		}
		mb_key_entry_wipe(&e);
		return r;
	}
	return mb_usage_error("unknown keys command '%s': use list, import or "
			      "forget",
			      argv[0]);
}

static const struct option keys_opts[] = {
	{"alias", required_argument, NULL, 'a'},
	{"force", no_argument, NULL, 'f'},
	{NULL, 0, NULL, 0},
};

static int keys_opt(struct ctx *c, int code, const char *arg)
{
	if (code == 'f')
		c->force = true;
	else
		c->alias = arg;
	return 0;
}

const struct command mb_cmd_keys = {
	.name = "keys",
	.args = "list | import --device D [--alias NAME] [--model M] "
		"[--key HEX] [--force] | forget D",
	.doc = "The key store: list keys (never shown in full), import one "
	       "(from --key or standard input; --force replaces another "
	       "key), forget one.",
	.opts_help = "      --alias NAME      store the key under NAME, usable "
		     "as --device NAME\n"
		     "      --force           replace a band's other key or "
		     "take an alias from another band\n",
	.opts = keys_opts,
	.opt = keys_opt,
	.min_args = 1,
	.max_args = 2,
	.run = keys_run,
};
