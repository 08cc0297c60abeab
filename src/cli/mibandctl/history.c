/*
 * mibandctl sync, export and stats: their options and their place in
 * the command table; the work is common/history.c's.
 */
#include <unistd.h>

#include "common/timefmt.h"
#include "mibandctl/mibandctl.h"

static int history_opt(struct ctx *c, int code, const char *arg)
{
	mb_history_option(&c->hist, code, arg);
	return 0;
}

#define DB_OPT                                                  \
	{                                                       \
		"db", required_argument, NULL, MB_HISTORY_LO_DB \
	}
#define RANGE_OPTS                                                  \
	{"from", required_argument, NULL, MB_HISTORY_LO_FROM},      \
		{"to", required_argument, NULL, MB_HISTORY_LO_TO},  \
	{                                                           \
		"band", required_argument, NULL, MB_HISTORY_LO_BAND \
	}

/* what --help says of them (tests/cli-docs.test.sh holds it to the
 * tables above and below) */
#define DB_HELP                                                    \
	"      --db FILE         the activity database (default\n" \
	"                        $XDG_DATA_HOME/miband/miband.db)\n"
#define RANGE_HELP                                                           \
	"      --from T          from this time on (ISO 8601, local time)\n" \
	"      --to T            up to this time\n"                          \
	"      --band B          only this band (its address, or emu)\n"

static const struct option sync_opts[] = {
	{"since", required_argument, NULL, MB_HISTORY_LO_SINCE},
	{"keep-on-band", no_argument, NULL, MB_HISTORY_LO_KEEP},
	DB_OPT,
	{NULL, 0, NULL, 0},
};

static const struct option export_opts[] = {
	{"format", required_argument, NULL, MB_HISTORY_LO_FORMAT},
	RANGE_OPTS,
	DB_OPT,
	{NULL, 0, NULL, 0},
};

static const struct option stats_opts[] = {
	RANGE_OPTS,
	{"utc", no_argument, NULL, MB_HISTORY_LO_UTC},
	DB_OPT,
	{NULL, 0, NULL, 0},
};

static int sync_check(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return mb_history_sync_check(&c->hist);
}

static int sync_run(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return mb_history_sync(c->dev, &c->s, &c->hist, c->spec,
			       mb_device_model(c->dev), isatty(STDERR_FILENO));
}

const struct command mb_cmd_sync = {
	.name = "sync",
	.args = "[--since DATE] [--keep-on-band] [--db FILE]",
	.doc = "Fetch the activity history into the database (first time: "
	       "100 days back, then from the last stored minute).",
	.opts_help = "      --since DATE      start there (ISO 8601, local "
		     "time), not after the\n"
		     "                        last stored minute\n"
		     "      --keep-on-band    acknowledge nothing: the band "
		     "keeps its copy\n" DB_HELP,
	.opts = sync_opts,
	.opt = history_opt,
	.flags = CMD_DEVICE | CMD_AUTH,
	.check = sync_check,
	.run = sync_run,
};

/* A range runs forward: --from after --to is a usage error, not an empty
 * answer.  (Unreadable times are history.c's to report.) */
static int range_check(struct ctx *c, int argc, char **argv)
{
	int64_t from, to;

	(void)argc;
	(void)argv;
	if (c->hist.from && c->hist.to &&
	    mb_time_parse_unix(c->hist.from, c->hist.utc, &from) == 0 &&
	    mb_time_parse_unix(c->hist.to, c->hist.utc, &to) == 0 && from > to)
		return mb_usage_error("--from %s is after --to %s: the range "
				      "is empty (swap them?)",
				      c->hist.from, c->hist.to);
	return 0;
}

static int export_run(struct ctx *c, int argc, char **argv)
{
	int r;

	(void)argc;
	(void)argv;
	/* --json means JSON: JSON Lines unless --format says otherwise */
	if (c->json && !c->hist.format)
		c->hist.format = "jsonl";
	r = mb_history_export(&c->hist);
	if (r == MIBAND_E_IO && mb_output_closed()) {
		mb_error_clear(); /* the reader had enough: | head */
		r = 0;
	}
	return r;
}

const struct command mb_cmd_export = {
	.name = "export",
	.args = "[--format csv|jsonl] [--from T] [--to T] [--band B] "
		"[--db FILE]",
	.doc = "Write the stored history, one line per minute "
	       "(docs/SCHEMA.md).",
	.opts_help = "      --format F        csv (default) or jsonl (the "
		     "default with --json)\n" RANGE_HELP DB_HELP,
	.opts = export_opts,
	.opt = history_opt,
	.check = range_check,
	.run = export_run,
};

static int stats_run(struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return mb_history_stats(&c->hist);
}

const struct command mb_cmd_stats = {
	.name = "stats",
	.args = "[--from T] [--to T] [--band B] [--utc] [--db FILE]",
	.doc = "Daily totals: steps, active minutes, heart rate, sleep.",
	.opts_help = RANGE_HELP "      --utc             days (and --from, "
				"--to) in UTC, not local time\n" DB_HELP,
	.opts = stats_opts,
	.opt = history_opt,
	.check = range_check,
	.run = stats_run,
};
