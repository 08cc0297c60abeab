/*
 * mibandctl time: read the band's clock, set it to the host's local time
 * (--sync) or to an ISO 8601 time (--set; common/timefmt.h's grammar).
 */
#include <string.h>

#include "common/timefmt.h"
#include "mibandctl/mibandctl.h"

static const struct option time_opts[] = {
	{"sync", no_argument, NULL, 's'},
	{"set", required_argument, NULL, 'S'},
	{NULL, 0, NULL, 0},
};

static int time_opt(struct ctx *c, int code, const char *arg)
{
	if (code == 's')
		c->sync = true;
	else
		c->set_time = arg;
	return 0;
}

/* --set is parsed before connecting, into c->req. */
static int time_check(struct ctx *c, int argc, char **argv)
{
	int r;

	(void)argc;
	(void)argv;
	if (c->sync && c->set_time)
		return mb_usage_error("pass either --sync or --set");
	memset(&c->req, 0, sizeof(c->req));
	if (c->set_time) {
		const char *why = miband_strerror(MIBAND_E_BAD_TIME);

		r = mb_time_parse_band(c->set_time, &c->req.u.time, &why);
		if (r < 0) {
			mb_error_detail("'%s' is not a time the band can take: "
					"%s",
					c->set_time, why);
			return r;
		}
	}
	return 0;
}

static int time_run(struct ctx *c, int argc, char **argv)
{
	struct miband_request *req = &c->req;
	struct miband_event ev;
	struct mb_rec rec;
	char buf[48];
	int r;

	(void)argc;
	(void)argv;
	if (!c->sync && !c->set_time) {
		r = mb_simple_request(c, MIBAND_REQ_TIME_GET, &ev);
		if (r < 0)
			return r;
		mb_print_event(c, &ev, false);
		return 0;
	}
	if (c->sync) /* the clock sync compares against: one host clock */
		mb_time_host_at(&req->u.time, mb_device_host_time(c->dev));
	req->type = MIBAND_REQ_TIME_SET;
	r = mb_request(c, req, &ev);
	if (r < 0)
		return r;
	mb_rec_begin(&rec, "time-set");
	mb_time_fmt(&req->u.time, true, c->json, buf, sizeof(buf));
	mb_rec_str(&rec, "time", buf, "time set: %s");
	mb_rec_int(&rec, "tz_quarter_hours", req->u.time.tz, NULL);
	mb_rec_str(&rec, "day", mb_time_dow_name(req->u.time.dow), " (%s)");
	mb_rec_str(&rec, "source", c->sync ? "host" : "argument",
		   c->sync ? ", the host's local time" : NULL);
	mb_rec_end(&rec);
	return 0;
}

const struct command mb_cmd_time = {
	.name = "time",
	.args = "[--sync | --set ISO8601]",
	.doc = "Read the band's clock; --sync sets it to the host's local time "
	       "(zone and DST included); --set sets "
	       "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM].",
	.opts_help = "      --sync            set the host's local time\n"
		     "      --set ISO8601     set this time\n",
	.opts = time_opts,
	.opt = time_opt,
	.flags = CMD_DEVICE | CMD_AUTH,
	.check = time_check,
	.run = time_run,
};
