/*
 * mibandctl: the command-line tool over libmiband.
 *
 * How it works
 *
 *   mibandctl [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS | GLOBAL OPTIONS]
 * [ARGS]
 *
 * main() reads the global options up to the command (getopt_long with
 * '+': stop at the first argument), finds the command in the table below
 * (the command table of BlueZ's tools/btgatt-client.c), then reads the
 * rest with the command's own options beside the global ones (GNU getopt
 * permutes there, so `battery --device emu` works). A command with
 * CMD_LITERAL_VALUE (config) takes the word after its first argument as
 * a value even when it starts with '-' (config goal -5).  An option that
 * belongs to another command is named as such.  Then, per the command's
 * flags: --device is resolved (CMD_DEVICE), the arguments counted, the
 * command's check() validates what it can before connecting, the band is
 * opened and authenticated with the stored key (CMD_AUTH), and run()
 * does the work (session.c has the plumbing, event.c the printing).
 *
 * Output goes through common/output.h (human text or one JSON object per
 * line); errors become `mibandctl: <message> [ERR_NAME]` and the exit
 * status of their class.  Keys: every copy outside the session is wiped
 * in mb_ctx_cleanup(), which every path out of main() goes through, and
 * the --key argument is overwritten in argv so `ps` does not show it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/signals.h"
#include "mibandctl/mibandctl.h"

static const struct command mb_cmd_help;

static const struct command *const commands[] = {
	&mb_cmd_scan,
	&mb_cmd_pair,
	&mb_cmd_auth,
	&mb_cmd_info,
	&mb_cmd_battery,
	&mb_cmd_steps,
	&mb_cmd_time,
	&mb_cmd_hr,
	&mb_cmd_alert,
	&mb_cmd_events,
	&mb_cmd_config,
	&mb_cmd_keys,
	&mb_cmd_sync,
	&mb_cmd_export,
	&mb_cmd_stats,
	&mb_cmd_help,
	NULL,
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; commands[i]; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static const char global_help[] =
	"global options:\n"
	"  -d, --device D        the band: an address AA:BB:CC:DD:EE:FF, an "
	"alias\n"
	"                        from the key store, or `emu` (the emulated "
	"band);\n"
	"                        default: the only band in the key store\n"
	"      --adapter HCI     Bluetooth adapter (default: first powered)\n"
	"      --model M         mb2, mb3, mb4, mb5, mb6 (default: the key "
	"store's, mb3)\n"
	"      --key HEX         key for this command: 32 hex digits, 0x, "
	"spaces or\n"
	"                        colons allowed (prefer the key store: "
	"arguments show in ps)\n"
	"  -j, --json            one JSON object per line\n"
	"  -v, --verbose         show protocol steps and GATT operations "
	"(redacted)\n"
	"  -t, --timeout S       seconds to wait: scan length (10), connection "
	"(30),\n"
	"                        each reply (5), the tap when pairing (30)\n"
	"      --trace FILE      write a btsnoop trace of the GATT traffic "
	"(Wireshark)\n"
	"      --trace-secrets   do not redact key material in the trace\n"
	"      --emu-pairing P   the emulated wearer: accept (default), "
	"decline, never\n"
	"  -h, --help            help (also per command: mibandctl CMD "
	"--help)\n"
	"  -V, --version         version\n";

static const char exit_help[] =
	"exit status:\n"
	"  0  success\n"
	"  1  any other failure\n"
	"  2  usage: bad option or argument (key, address, time, UTF-8 text)\n"
	"  3  not found: no band, adapter, stored key or needed "
	"characteristic\n"
	"  4  connection: could not connect, the band disconnected, or did "
	"not\n"
	"     answer in time\n"
	"  5  authentication rejected: the band holds a different key\n"
	"  6  pairing declined on the band, or not confirmed in time\n"
	"  7  protocol: the band sent a malformed or unexpected reply, or "
	"refused\n"
	"  8  I/O or key store error (including unsafe key file "
	"permissions)\n"
	"  130  interrupted (SIGINT, SIGTERM, SIGHUP) once the band was open: "
	"streams\n"
	"     stopped, link closed, what was stored kept (a --follow stream "
	"ends\n"
	"     with 0 instead, as it does when its reader goes away)\n";

int mb_usage(const struct command *cmd, FILE *f)
{
	size_t i;

	if (cmd) {
		fprintf(f, "usage: %s %s%s%s\n\n%s\n", MB_PROG, cmd->name,
			*cmd->args ? " " : "", cmd->args, cmd->doc);
		if (cmd->opts_help)
			fprintf(f, "\n%s", cmd->opts_help);
		if (cmd->help)
			cmd->help(f);
		fprintf(f, "\n%s", global_help);
		return 0;
	}
	fprintf(f,
		"usage: %s [OPTIONS] COMMAND [ARGS]\n\n"
		"Talk to a Xiaomi/Huami Mi Band over Bluetooth LE, or to the "
		"emulated band\n(--device emu).\n\ncommands:\n",
		MB_PROG);
	for (i = 0; commands[i]; i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->args);
	fprintf(f,
		"\n%s\n%s\nkeys are stored in $XDG_CONFIG_HOME/miband/keys/ "
		"(0600 files, 0700 directory)\nand never printed in full.  "
		"See mibandctl(1).\n",
		global_help, exit_help);
	return 0;
}

int mb_need_args(const struct command *cmd, int argc, int min, int max)
{
	if (argc < min || argc > max) {
		mb_error_detail(argc < min ? "missing arguments"
					   : "too many arguments");
		mb_usage(cmd, stderr);
		return MIBAND_E_INVAL;
	}
	return 0;
}

/* Help on stdout: the text, or with --json one object holding it. */
static int help_out(const struct command *cmd)
{
	struct mb_json j;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!mb_json_mode())
		return mb_usage(cmd, stdout);
	f = open_memstream(&text, &len);
	if (!f)
		return MIBAND_E_IO;
	mb_usage(cmd, f);
	fclose(f);
	mb_json_begin(&j, "help");
	mb_json_str(&j, "command", cmd ? cmd->name : NULL);
	mb_json_strn(&j, "text", text, len);
	mb_json_end(&j);
	free(text);
	return 0;
}

static void version_out(void)
{
	struct mb_json j;

	if (!mb_json_mode()) {
		printf("%s %s (libmiband %s)\n", MB_PROG, MIBAND_VERSION,
		       miband_version());
		return;
	}
	mb_json_begin(&j, "version");
	mb_json_str(&j, "program", MB_PROG);
	mb_json_str(&j, "version", MIBAND_VERSION);
	mb_json_str(&j, "library", miband_version());
	mb_json_end(&j);
}

static int help_run(struct ctx *c, int argc, char **argv)
{
	const struct command *k;

	(void)c;
	if (argc == 0)
		return help_out(NULL);
	k = find_command(argv[0]);
	if (!k)
		return mb_usage_error("unknown command '%s'", argv[0]);
	return help_out(k);
}

static const struct command mb_cmd_help = {
	.name = "help",
	.args = "[COMMAND]",
	.doc = "Show help for mibandctl or a command.",
	.max_args = 1,
	.run = help_run,
};

/* ---- options ---- */

enum {
	LO_ADAPTER = 256,
	LO_MODEL,
	LO_KEY,
	LO_TRACE,
	LO_TRACE_SECRETS,
	LO_EMU_PAIRING,
	LO_DUMP_OPTIONS,
};

#define GLOBAL_SHORT ":d:jvt:hV"
#define GLOBAL_COUNT 13

static const struct option global_opts[GLOBAL_COUNT + 1] = {
	{"device", required_argument, NULL, 'd'},
	{"adapter", required_argument, NULL, LO_ADAPTER},
	{"model", required_argument, NULL, LO_MODEL},
	{"key", required_argument, NULL, LO_KEY},
	{"json", no_argument, NULL, 'j'},
	{"verbose", no_argument, NULL, 'v'},
	{"timeout", required_argument, NULL, 't'},
	{"trace", required_argument, NULL, LO_TRACE},
	{"trace-secrets", no_argument, NULL, LO_TRACE_SECRETS},
	{"emu-pairing", required_argument, NULL, LO_EMU_PAIRING},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	/* hidden: the command table, for tests/cli-docs.test.sh */
	{"dump-options", no_argument, NULL, LO_DUMP_OPTIONS},
	{NULL, 0, NULL, 0},
};

static int parse_timeout(const char *s, uint32_t *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return -1;
	*ret = (uint32_t)(v * 1000.0 + 0.5);
	if (*ret == 0)
		*ret = 1;
	return 0;
}

enum { OPT_VERSION = 1, OPT_HELP = 2, OPT_DUMP = 4 };

/* A global option: 0, OPT_VERSION, OPT_HELP, or minus the exit status of
 * a usage error. */
static int global_opt(struct ctx *c, int o, char *arg)
{
	int r;

	switch (o) {
	case 'd':
		c->device = arg;
		break;
	case LO_ADAPTER:
		c->adapter = arg;
		break;
	case LO_MODEL:
		if (miband_model_parse(arg, &c->model) < 0)
			return -mb_usage_error("unknown model '%s': use mb2, "
					       "mb3, mb4, mb5 or mb6",
					       arg);
		c->has_model = true;
		break;
	case LO_KEY:
		r = mb_key_parse(arg, c->cli_key);
		/* hide the key from ps and /proc/PID/cmdline */
		memset(arg, 'x', strlen(arg));
		if (r < 0)
			return -mb_report_error(r, "--key");
		c->has_cli_key = true;
		break;
	case 'j':
		c->json = true;
		mb_output_init(c->json, c->verbose);
		break;
	case 'v':
		c->verbose = true;
		mb_output_init(c->json, c->verbose);
		break;
	case 't':
		if (parse_timeout(arg, &c->timeout_ms) < 0)
			return -mb_usage_error("--timeout takes seconds (> 0), "
					       "not '%s'",
					       arg);
		c->has_timeout = true;
		break;
	case LO_TRACE:
		c->trace_path = arg;
		break;
	case LO_TRACE_SECRETS:
		c->trace_secrets = true;
		break;
	case LO_EMU_PAIRING:
		if (mb_pairing_policy_parse(arg, &c->emu_pairing) < 0)
			return -mb_usage_error("--emu-pairing takes accept, "
					       "decline or never");
		break;
	case 'h':
		return OPT_HELP;
	case 'V':
		return OPT_VERSION;
	case LO_DUMP_OPTIONS:
		return OPT_DUMP;
	}
	return 0;
}

/* The command whose options include the one in arg ("--x[=v]", "-f"). */
static const struct command *option_owner(const char *arg, int optopt_c)
{
	const struct option *o;
	size_t i, n;

	for (i = 0; commands[i]; i++) {
		if (arg[0] == '-' && arg[1] != '-') {
			if (commands[i]->short_opts && optopt_c &&
			    strchr(commands[i]->short_opts, optopt_c))
				return commands[i];
			continue;
		}
		n = strcspn(arg + 2, "=");
		for (o = commands[i]->opts; o && o->name; o++)
			if (strlen(o->name) == n &&
			    !strncmp(o->name, arg + 2, n))
				return commands[i];
	}
	return NULL;
}

/* Exit status of an option error in getopt's state. */
static int bad_option(const struct command *cmd, char **argv, int o)
{
	const char *arg = argv[optind - 1];
	int n = (int)strcspn(arg, "=");

	if (o == ':')
		return mb_usage_error("option %s needs a value", arg);
	if (cmd && option_owner(arg, optopt))
		return mb_usage_error("%s does not take %.*s", cmd->name, n,
				      arg);
	if (!cmd && option_owner(arg, optopt))
		return mb_usage_error("%.*s is an option of a command: put it "
				      "after the command",
				      n, arg);
	return mb_usage_error("unknown option '%s'", arg);
}

/*
 * Reads the options of argv: the global ones only, up to the command
 * (cmd NULL), or the command's and the global ones.  0, or OPT_VERSION
 * and OPT_HELP as given (both print after all options are read, so
 * --json counts wherever it stands), or minus an exit status.
 */
static int parse_options(struct ctx *c, const struct command *cmd, int argc,
			 char **argv)
{
	struct option all[GLOBAL_COUNT + 16];
	char shorts[32];
	size_t n = GLOBAL_COUNT;
	int o, r = 0, help = 0;
	/* CMD_LITERAL_VALUE: reads in order, collecting the arguments */
	bool literal = cmd && (cmd->flags & CMD_LITERAL_VALUE);
	char **pos = NULL;
	int npos = 0;

	memcpy(all, global_opts, sizeof(global_opts));
	snprintf(shorts, sizeof(shorts), "%s%s", cmd && !literal ? "" : "+",
		 GLOBAL_SHORT);
	if (literal) {
		pos = calloc((size_t)argc + 1, sizeof(*pos));
		if (!pos)
			return -mb_report_error(MIBAND_E_NOMEM, NULL);
	}
	if (cmd && cmd->opts) {
		for (r = 0;
		     cmd->opts[r].name && n + 1 < sizeof(all) / sizeof(*all);
		     r++)
			all[n++] = cmd->opts[r];
		memset(&all[n], 0, sizeof(all[n]));
		if (cmd->short_opts)
			strncat(shorts, cmd->short_opts,
				sizeof(shorts) - strlen(shorts) - 1);
	}
	r = 0;
	opterr = 0;
	optind = 0;
	for (;;) {
		int idx = -1;

		o = getopt_long(argc, argv, shorts, all, &idx);
		if (o == -1 && literal && optind < argc &&
		    strcmp(argv[optind - 1], "--")) {
			/* an argument; the one after the first is taken as
			 * it is, wherever it starts with '-' */
			pos[npos++] = argv[optind++];
			if (npos == 1 && optind + 1 < argc &&
			    !strcmp(argv[optind], "--"))
				optind++;
			if (npos == 1 && optind < argc)
				pos[npos++] = argv[optind++];
			continue;
		}
		if (o == -1)
			break;
		if (o == '?' || o == ':')
			r = -bad_option(cmd, argv, o);
		else if (idx >= GLOBAL_COUNT ||
			 (idx < 0 && cmd && cmd->short_opts &&
			  strchr(cmd->short_opts, o)))
			r = cmd->opt(c, o, optarg);
		else
			r = global_opt(c, o, optarg);
		if (r < 0)
			break;
		help |= r;
	}
	if (literal) {
		/* the arguments go last, where run() looks for them */
		while (optind < argc)
			pos[npos++] = argv[optind++];
		memcpy(argv + argc - npos, pos, (size_t)npos * sizeof(*pos));
		optind = argc - npos;
		free(pos);
	}
	return r < 0 ? r : help;
}

/*
 * --dump-options: the command table, the one source of truth the help,
 * the man page and the completion are held to (tests/cli-docs.test.sh):
 * a line `usage CMD ARGS` per command, then `option CMD --NAME` for each
 * of its options.
 */
static int dump_options(void)
{
	const struct option *o;
	size_t i;

	for (i = 0; commands[i]; i++) {
		printf("usage %s %s\n", commands[i]->name, commands[i]->args);
		for (o = commands[i]->opts; o && o->name; o++)
			printf("option %s --%s\n", commands[i]->name, o->name);
	}
	return 0;
}

static int run(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = NULL;
	int r, help, nargs;

	help = parse_options(c, NULL, argc, argv);
	if (help < 0)
		return -help;
	mb_output_init(c->json, c->verbose);
	if (help & OPT_DUMP)
		return dump_options();
	if (help & OPT_VERSION) {
		version_out();
		return 0;
	}
	if (optind >= argc) {
		if (help)
			return help_out(NULL);
		mb_usage(NULL, stderr);
		return mb_usage_error("no command given");
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return mb_usage_error("unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	r = parse_options(c, cmd, argc, argv);
	if (r < 0)
		return -r;
	mb_output_init(c->json, c->verbose);
	if (r & OPT_DUMP)
		return dump_options();
	if (r & OPT_VERSION) {
		version_out();
		return 0;
	}
	if (help || r)
		return help_out(cmd);
	nargs = argc - optind;
	argv += optind;
	if (cmd->flags & CMD_DEVICE) {
		r = mb_resolve_device(c);
		if (r < 0)
			return mb_report_error(r, NULL);
	}
	r = mb_need_args(cmd, nargs, cmd->min_args, cmd->max_args);
	if (r == 0 && cmd->check)
		r = cmd->check(c, nargs, argv);
	if (r == 0 && (cmd->flags & CMD_AUTH))
		r = mb_auth_stored(c);
	if (r == 0)
		r = cmd->run(c, nargs, argv);
	if (r == MIBAND_E_CANCELLED && mb_signalled() && c->follow)
		return 0; /* Ctrl-C before the stream began: a clean end */
	if (r < 0)
		return mb_report_error(r, NULL);
	return r;
}

int main(int argc, char **argv)
{
	static struct ctx c;
	int code;

	/* a closed pipe is EPIPE on write: a stream then ends cleanly */
	signal(SIGPIPE, SIG_IGN);
	mb_output_init(false, false);
	code = run(&c, argc, argv);
	mb_ctx_cleanup(&c);
	/* a reader that went away (| head) is no failure of ours */
	if (fflush(stdout) != 0 && code == 0 && !mb_output_closed())
		code = mb_report_error(MIBAND_E_IO, "writing the output");
	return code;
}
