/*
 * mibandctl config KEY VALUE: band settings.  One table names each key
 * once with the values it takes (for help and errors) and the function
 * that parses a value and encodes the request; keys that only switch
 * something on or off, or pick one of two words, share one parser and
 * differ by their encoder.
 */
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "mibandctl/mibandctl.h"

static int parse_onoff(const char *v, bool *ret)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1") ||
	    !strcmp(v, "true")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0") ||
	    !strcmp(v, "false")) {
		*ret = false;
		return 0;
	}
	return -1;
}

/* "HH:MM-HH:MM" */
static int parse_span(const char *v, uint8_t out[4])
{
	unsigned a, b, c2, d;

	if (strlen(v) != 11 || v[2] != ':' || v[5] != '-' || v[8] != ':' ||
	    mb_parse_digits(v, 2, &a) || mb_parse_digits(v + 3, 2, &b) ||
	    mb_parse_digits(v + 6, 2, &c2) || mb_parse_digits(v + 9, 2, &d) ||
	    a > 23 || b > 59 || c2 > 23 || d > 59)
		return -1;
	out[0] = (uint8_t)a;
	out[1] = (uint8_t)b;
	out[2] = (uint8_t)c2;
	out[3] = (uint8_t)d;
	return 0;
}

static const char *const display_items[] = {
	"clock",  "notifications", "weather", "activity", "more",
	"status", "heart-rate",	   "timer",   "nfc",
};

static int parse_items(const char *v, uint16_t *ret)
{
	char buf[256], *tok, *save = NULL;
	uint16_t mask = 1;
	size_t i;

	if (strlen(v) >= sizeof(buf))
		return -1;
	if (!strcmp(v, "none") || !strcmp(v, "clock")) {
		*ret = 1;
		return 0;
	}
	if (!strcmp(v, "all")) {
		*ret = 0x1ff;
		return 0;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(display_items) / sizeof(*display_items);
		     i++)
			if (!strcmp(tok, display_items[i]))
				break;
		if (i == sizeof(display_items) / sizeof(*display_items))
			return -1;
		mask = (uint16_t)(mask | 1u << i);
	}
	*ret = mask;
	return 0;
}

/* born=YYYY-MM-DD,sex=male|female|other,height=CM,weight=KG[,id=N] */
static int parse_user(const char *v, struct miband_user_info *u)
{
	char buf[256], *tok, *save = NULL, *val;
	unsigned x, y, m, d;
	int seen = 0;

	memset(u, 0, sizeof(*u));
	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		val = strchr(tok, '=');
		if (!val)
			return -1;
		*val++ = 0;
		if (!strcmp(tok, "born")) {
			if (strlen(val) != 10 || val[4] != '-' ||
			    val[7] != '-' || mb_parse_digits(val, 4, &y) ||
			    mb_parse_digits(val + 5, 2, &m) ||
			    mb_parse_digits(val + 8, 2, &d) || y < 1900 ||
			    y > 2100 || m < 1 || m > 12 || d < 1 || d > 31)
				return -1;
			u->birth_year = (uint16_t)y;
			u->birth_month = (uint8_t)m;
			u->birth_day = (uint8_t)d;
			seen |= 1;
		} else if (!strcmp(tok, "sex")) {
			if (!strcmp(val, "male") || !strcmp(val, "m"))
				u->sex = 0;
			else if (!strcmp(val, "female") || !strcmp(val, "f"))
				u->sex = 1;
			else if (!strcmp(val, "other"))
				u->sex = 2;
			else
				return -1;
			seen |= 2;
		} else if (!strcmp(tok, "height")) {
			if (mb_parse_digits(val, strlen(val), &x) || x < 50 ||
			    x > 260)
				return -1;
			u->height_cm = (uint16_t)x;
			seen |= 4;
		} else if (!strcmp(tok, "weight")) {
			if (mb_parse_digits(val, strlen(val), &x) || x < 10 ||
			    x > 300)
				return -1;
			u->weight_kg = (uint16_t)x;
			seen |= 8;
		} else if (!strcmp(tok, "id")) {
			if (mb_parse_digits(val, strlen(val), &x))
				return -1;
			u->user_id = x;
		} else {
			return -1;
		}
	}
	return seen == 15 ? 0 : -1;
}

/* ---- the keys ---- */

struct config_key;
/* Parses v and encodes it into b; the encoded length, or -1 (bad value). */
typedef int (*config_encode_fn)(const struct config_key *k, const char *v,
				bool weight_x200, uint8_t *b, size_t cap);

struct config_key {
	const char *name;
	const char *values;
	config_encode_fn encode;
	enum miband_request_type type; /* CONFIG or USER */
	/* for encode_flag: the encoder, and the two words it takes (NULL:
	 * on/off and their synonyms) */
	int (*flag)(uint8_t *buf, size_t cap, bool on);
	const char *off, *on;
};

static int encode_flag(const struct config_key *k, const char *v,
		       bool weight_x200, uint8_t *b, size_t cap)
{
	bool on;

	(void)weight_x200;
	if (!k->on) {
		if (parse_onoff(v, &on))
			return -1;
	} else if (!strcmp(v, k->on)) {
		on = true;
	} else if (!strcmp(v, k->off)) {
		on = false;
	} else {
		return -1;
	}
	return k->flag(b, cap, on);
}

static int encode_display_items(const struct config_key *k, const char *v,
				bool weight_x200, uint8_t *b, size_t cap)
{
	uint16_t mask;

	(void)k;
	(void)weight_x200;
	if (parse_items(v, &mask))
		return -1;
	return miband_encode_config_display_items(b, cap, mask);
}

static int encode_date_format(const struct config_key *k, const char *v,
			      bool weight_x200, uint8_t *b, size_t cap)
{
	size_t i;

	(void)k;
	(void)weight_x200;
	if (!*v || strlen(v) > 10)
		return -1;
	for (i = 0; v[i]; i++)
		if (!strchr("dMy./- ", v[i]))
			return -1;
	return miband_encode_config_date_format(b, cap, v);
}

static int encode_goal(const struct config_key *k, const char *v,
		       bool weight_x200, uint8_t *b, size_t cap)
{
	unsigned x;

	(void)k;
	(void)weight_x200;
	if (mb_parse_digits(v, strlen(v), &x) || x < 1 || x > 65535)
		return -1;
	return miband_encode_step_goal(b, cap, (uint16_t)x);
}

/* dnd and night-mode: off, automatic, or a span of the day */
static int encode_span(const struct config_key *k, const char *v,
		       bool weight_x200, uint8_t *b, size_t cap)
{
	bool dnd = !strcmp(k->name, "dnd");
	uint8_t span[4] = {0};
	int mode;

	(void)weight_x200;
	if (!strcmp(v, "off"))
		mode = 0;
	else if (!strcmp(v, dnd ? "auto" : "sunset"))
		mode = 2;
	else if (parse_span(v, span) == 0)
		mode = 1;
	else
		return -1;
	return dnd ? miband_encode_config_dnd(b, cap, mode, span[0], span[1],
					      span[2], span[3])
		   : miband_encode_config_night_mode(b, cap, mode, span[0],
						     span[1], span[2], span[3]);
}

static int encode_user(const struct config_key *k, const char *v,
		       bool weight_x200, uint8_t *b, size_t cap)
{
	struct miband_user_info u;

	(void)k;
	if (parse_user(v, &u))
		return -1;
	return miband_encode_user_info(b, cap, &u, weight_x200);
}

#define CONFIG MIBAND_REQ_CONFIG
#define USER MIBAND_REQ_USER
#define ONOFF(fn) encode_flag, CONFIG, fn, NULL, NULL

static const struct config_key config_keys[] = {
	{"display-items",
	 "none|all|ITEM,... (notifications, weather, activity, more, "
	 "status, heart-rate, timer, nfc)",
	 encode_display_items, CONFIG, NULL, NULL, NULL},
	{"time-format", "12|24", encode_flag, CONFIG,
	 miband_encode_config_time_format, "12", "24"},
	{"date-format", "a pattern such as dd.MM.yyyy or MM/dd/yyyy",
	 encode_date_format, CONFIG, NULL, NULL, NULL},
	{"date-display", "on|off (the date on the clock screen)",
	 ONOFF(miband_encode_config_date_display)},
	{"wrist", "left|right", encode_flag, USER, miband_encode_wear_location,
	 "left", "right"},
	{"goal", "steps per day (1-65535)", encode_goal, USER, NULL, NULL,
	 NULL},
	{"goal-notification", "on|off",
	 ONOFF(miband_encode_config_goal_notification)},
	{"dnd", "off|auto|HH:MM-HH:MM", encode_span, CONFIG, NULL, NULL, NULL},
	{"night-mode", "off|sunset|HH:MM-HH:MM", encode_span, CONFIG, NULL,
	 NULL, NULL},
	{"lift-to-wake", "on|off", ONOFF(miband_encode_config_lift_wrist)},
	{"rotate-wrist", "on|off", ONOFF(miband_encode_config_rotate_wrist)},
	{"display-caller", "on|off",
	 ONOFF(miband_encode_config_display_caller)},
	{"distance-unit", "metric|imperial", encode_flag, CONFIG,
	 miband_encode_config_distance_unit, "metric", "imperial"},
	{"screen-unlock", "on|off", ONOFF(miband_encode_config_screen_unlock)},
	{"user",
	 "born=YYYY-MM-DD,sex=male|female|other,height=CM,weight=KG[,id=N]",
	 encode_user, USER, NULL, NULL, NULL},
};

static void config_usage(FILE *f)
{
	size_t i;

	fprintf(f, "config keys and values:\n");
	for (i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
		fprintf(f, "  %-18s %s\n", config_keys[i].name,
			config_keys[i].values);
}

static const struct config_key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(config_keys) / sizeof(*config_keys); i++)
		if (!strcmp(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

/* Validates before connecting (the weight unit is the session default of
 * the model we will use) and encodes into c->req. */
static int config_check(struct ctx *c, int argc, char **argv)
{
	struct miband_session_config defaults;
	const struct config_key *k = find_key(argv[0]);
	struct miband_request *req = &c->req;
	int r, n;

	(void)argc;
	memset(req, 0, sizeof(*req));
	r = mb_resolve_device(c);
	if (r < 0)
		return r;
	if (!k) {
		config_usage(stderr);
		return mb_usage_error("unknown config key '%s'", argv[0]);
	}
	miband_session_config_init(&defaults, c->use_model);
	n = k->encode(k, argv[1], defaults.user_weight_x200, req->u.raw.bytes,
		      sizeof(req->u.raw.bytes));
	if (n < 0)
		return mb_usage_error("bad value '%s' for %s: expected %s",
				      argv[1], argv[0], k->values);
	req->type = k->type;
	req->u.raw.len = (uint8_t)n;
	return 0;
}

static int config_run(struct ctx *c, int argc, char **argv)
{
	struct miband_event ev;
	struct mb_json j;
	int r;

	(void)argc;
	r = mb_request(c, &c->req, &ev);
	if (r < 0)
		return r;
	if (c->json) {
		mb_json_begin(&j, "config");
		mb_json_str(&j, "key", argv[0]);
		mb_json_str(&j, "value", argv[1]);
		mb_json_bool(&j, "ok", true);
		mb_json_end(&j);
	} else {
		mb_say("config: %s = %s", argv[0], argv[1]);
	}
	return 0;
}

static void config_help(FILE *f)
{
	fputc('\n', f);
	config_usage(f);
}

const struct command mb_cmd_config = {
	.name = "config",
	.args = "KEY VALUE",
	.doc = "Change a band setting (`mibandctl config --help` lists them).",
	.help = config_help,
	.min_args = 2,
	.max_args = 2,
	.flags = CMD_AUTH | CMD_LITERAL_VALUE,
	.check = config_check,
	.run = config_run,
};
