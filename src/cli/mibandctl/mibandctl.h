/*
 * mibandctl's internals: the context every command gets, the command
 * table entry, and the session plumbing shared by the commands
 * (session.c).  One file per command group:
 *
 *   main.c     global options, the command table, help, exit
 *   session.c  --device resolution, open, authenticate, requests, --follow
 *   event.c    how each band event prints (text or JSON, written once)
 *   band.c     auth pair info battery steps hr events
 *   time.c     time           alert.c   alert
 *   config.c   config (the key table)
 *   scan.c     scan           keys.c    keys
 *   history.c  sync export stats (over common/history.h)
 */
#ifndef MIBANDCTL_H
#define MIBANDCTL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "miband/miband.h"

#include "common/device.h"
#include "common/history.h"
#include "common/keys.h"
#include "common/output.h"

#define DEFAULT_SCAN_MS 10000u
#define DEFAULT_CONNECT_MS 30000u
#define FOLLOW_SLICE_MS 1000u

/* How a key is shown: the first two bytes and a fingerprint, never more. */
struct key_id {
	char prefix[8];
	char fp[40];
	char desc[80];
};

struct ctx {
	/* global options */
	const char *device;
	const char *adapter;
	bool has_model;
	enum miband_model model;
	bool has_cli_key;
	uint8_t cli_key[16];
	bool json, verbose;
	bool has_timeout;
	uint32_t timeout_ms;
	const char *trace_path;
	bool trace_secrets;
	enum miband_pairing_policy emu_pairing;
	/* command options (each command's parser fills its own) */
	bool follow, new_key, sync;
	const char *set_time;
	const char *alias;
	bool force; /* keys import: replace */
	struct mb_history_args hist; /* sync, export, stats */
	/* what a command's check step prepared for its run step */
	struct miband_request req;
	struct key_id id;
	/* the band */
	char spec[MB_ADDRESS_LEN]; /* what mb_device_open gets */
	char entry_name[MB_KEY_NAME_MAX];
	int entry_err; /* loading the key store entry */
	struct mb_key_entry entry;
	enum miband_model use_model;
	struct mb_device *dev;
	bool session_live;
	struct miband_session s;
	uint8_t text[512]; /* request bytes that must outlive it */
	char value[MIBAND_VALUE_MAX + 1];
};

enum {
	CMD_DEVICE = 1u << 0, /* resolve --device before the command runs */
	CMD_AUTH = 1u << 1,   /* authenticate (stored key) after check */
	/* the word after the first argument is a value, never an option
	 * (config goal -5) */
	CMD_LITERAL_VALUE = 1u << 2,
};

/*
 * A command.  main.c runs it as: its options (opts, parsed by opt(); the
 * global options are accepted among them), the number of arguments,
 * --device (CMD_DEVICE), check() (validate everything that can be
 * validated without the band), authentication (CMD_AUTH), run().
 */
struct command {
	const char *name;
	const char *args;
	const char *doc;
	const char *opts_help; /* lines for `mibandctl CMD --help` */
	void (*help)(FILE *f); /* more of it */
	const struct option *opts;
	const char *short_opts;
	int (*opt)(struct ctx *c, int code, const char *arg);
	int min_args, max_args;
	unsigned flags;
	int (*check)(struct ctx *c, int argc, char **argv);
	int (*run)(struct ctx *c, int argc, char **argv);
};

/* the tables, one per command file */
extern const struct command mb_cmd_scan, mb_cmd_pair, mb_cmd_auth, mb_cmd_info,
	mb_cmd_battery, mb_cmd_steps, mb_cmd_time, mb_cmd_hr, mb_cmd_alert,
	mb_cmd_events, mb_cmd_config, mb_cmd_keys, mb_cmd_sync, mb_cmd_export,
	mb_cmd_stats;

/* --follow, shared by steps, hr and events */
extern const struct option mb_follow_opts[];
int mb_follow_opt(struct ctx *c, int code, const char *arg);
/* The fields of a command that takes --follow. */
#define MB_FOLLOW_OPTION                                                       \
	.opts_help = "  -f, --follow          stream until Ctrl-C (SIGINT, "   \
		     "SIGTERM, SIGHUP) or a closed\n"                          \
		     "                        output, then stop cleanly "      \
		     "(exit 0)\n",                                            \
	.opts = mb_follow_opts, .short_opts = "f", .opt = mb_follow_opt

/* ---- session.c ---- */

void mb_ctx_cleanup(struct ctx *c);
int mb_resolve_device(struct ctx *c);
/* Opens the band and authenticates with mode and key (the session copies
 * it). */
int mb_start_session(struct ctx *c, enum miband_auth_mode mode,
		     const uint8_t *key);
/* Authenticates with --key or the stored key. */
int mb_auth_stored(struct ctx *c);
/* One request to its final event (printing unsolicited events). */
int mb_request(struct ctx *c, const struct miband_request *req,
	       struct miband_event *ret);
int mb_simple_request(struct ctx *c, enum miband_request_type type,
		      struct miband_event *ret);
/* Streams events until a signal or a closed stdout; prints those of type
 * keep. */
int mb_follow(struct ctx *c, enum miband_event_type keep);
void mb_key_id(struct key_id *id, const uint8_t key[16]);
void mb_json_key_id(struct mb_json *j, const struct key_id *id);
/* A model guess from the advertised/GAP name. */
bool mb_name_model(const char *name, enum miband_model *ret);

/* ---- event.c ---- */

/* Prints one event; stream: a --follow line (with the host time). */
void mb_print_event(struct ctx *c, const struct miband_event *ev, bool stream);

/* ---- main.c ---- */

/* Prints the command's usage (or the general one for NULL). */
int mb_usage(const struct command *cmd, FILE *f);
/* INVAL and the usage on stderr unless min <= argc <= max. */
int mb_need_args(const struct command *cmd, int argc, int min, int max);

#endif
