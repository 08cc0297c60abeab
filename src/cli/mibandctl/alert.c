/*
 * mibandctl alert: an incoming call, a text notification, a vibration,
 * or stop.  Text is checked to be UTF-8 before connecting; it is cut to
 * what the band takes on a character boundary.
 */
#include <string.h>

#include "mibandctl/mibandctl.h"

/* The longest caller name: a write less the category and count bytes. */
#define CALL_NAME_MAX (MIBAND_WRITE_MAX - 2)
/* The longest title of a text (the codec's cut). */
#define TITLE_MAX 32

/* Valid UTF-8, or BAD_UTF8 naming the argument. */
static int check_utf8(const char *what, const char *s)
{
	if (miband_utf8_cut(s, strlen(s), strlen(s)) < 0) {
		mb_error_detail("the %s is not valid UTF-8 text", what);
		return MIBAND_E_BAD_UTF8;
	}
	return 0;
}

/* Everything but a text's encoding (it needs the model) before
 * connecting; c->req is the request. */
static int alert_check(struct ctx *c, int argc, char **argv)
{
	struct miband_request *req = &c->req;
	const char *kind = argv[0];
	size_t n;
	int r;

	memset(req, 0, sizeof(*req));
	if (!strcmp(kind, "call")) {
		if ((r = mb_need_args(&mb_cmd_alert, argc, 2, 2)) < 0 ||
		    (r = check_utf8("caller name", argv[1])) < 0)
			return r;
		/* what one New Alert write carries: the band shows no more */
		n = (size_t)miband_utf8_cut(argv[1], strlen(argv[1]),
					    CALL_NAME_MAX);
		memcpy(c->text, argv[1], n);
		req->type = MIBAND_REQ_CALL;
		req->u.text.data = (const char *)c->text;
		req->u.text.len = n;
	} else if (!strcmp(kind, "text")) {
		if ((r = mb_need_args(&mb_cmd_alert, argc, 3, 3)) < 0 ||
		    (r = check_utf8("title", argv[1])) < 0 ||
		    (r = check_utf8("body", argv[2])) < 0)
			return r;
		req->type = MIBAND_REQ_TEXT;
	} else if (!strcmp(kind, "vibrate") || !strcmp(kind, "stop")) {
		if ((r = mb_need_args(&mb_cmd_alert, argc, 1, 1)) < 0)
			return r;
		req->type = MIBAND_REQ_ALERT;
		req->u.level = kind[0] == 'v' ? MIBAND_ALERT_VIBRATE
					      : MIBAND_ALERT_NONE;
	} else {
		return mb_usage_error("unknown alert '%s': use call NAME, text "
				      "TITLE BODY, vibrate or stop",
				      kind);
	}
	return 0;
}

/* Bytes of title and body that the encoded text leaves out. */
static size_t text_dropped(const char *title, const char *body, int n)
{
	static uint8_t all[4096];
	size_t tl = strlen(title), bl = strlen(body);
	int full;

	full = miband_encode_app_notification(all, sizeof(all), sizeof(all),
					      MIBAND_CATEGORY_SMS, 0, title,
					      body, NULL);
	if (full < 0 || bl > sizeof(all) / 2)
		full = n + (int)bl; /* too long to measure: all of it */
	return tl - (size_t)miband_utf8_cut(title, tl, TITLE_MAX) +
	       (size_t)(full - n);
}

static int alert_run(struct ctx *c, int argc, char **argv)
{
	struct miband_request *req = &c->req;
	const char *kind = argv[0];
	struct miband_event ev;
	struct mb_rec rec;
	size_t dropped = 0;
	char shown[4 * CALL_NAME_MAX + 1];
	int r, n = (int)req->u.text.len;

	(void)argc;
	if (req->type == MIBAND_REQ_TEXT) {
		enum miband_model m = mb_device_model(c->dev);

		n = miband_encode_app_notification(
			c->text, sizeof(c->text), miband_text_limit(m),
			MIBAND_CATEGORY_SMS, 0, argv[1], argv[2], NULL);
		if (n < 0)
			return n;
		req->u.text.data = (const char *)c->text;
		req->u.text.len = (size_t)n;
		dropped = text_dropped(argv[1], argv[2], n);
	} else if (req->type == MIBAND_REQ_CALL) {
		dropped = strlen(argv[1]) - (size_t)n;
	}
	r = mb_request(c, req, &ev);
	if (r < 0)
		return r;
	if (!strcmp(kind, "stop")) {
		/* also end an incoming-call screen */
		r = mb_simple_request(c, MIBAND_REQ_CALL_STOP, &ev);
		if (r < 0)
			return r;
	}
	mb_rec_begin(&rec, "alert");
	mb_rec_str(&rec, "alert", kind, NULL);
	if (req->type == MIBAND_REQ_CALL) {
		mb_printable(shown, sizeof(shown), c->text, (size_t)n);
		mb_rec_text(&rec, "alert: incoming call from \"%s\" shown",
			    shown);
	} else if (req->type == MIBAND_REQ_TEXT) {
		mb_rec_text(&rec, "alert: text sent (%d bytes", n);
	} else {
		mb_rec_text(&rec, "alert: %s",
			    kind[0] == 'v' ? "the band vibrates" : "stopped");
	}
	if (req->type == MIBAND_REQ_CALL || req->type == MIBAND_REQ_TEXT) {
		mb_rec_int(&rec, "bytes", n, NULL);
		mb_rec_bool(&rec, "cut", dropped > 0, NULL);
		if (dropped)
			mb_rec_int(&rec, "bytes_dropped", (long long)dropped,
				   NULL);
		if (dropped && req->type == MIBAND_REQ_CALL)
			mb_rec_text(&rec,
				    " (cut to the %d bytes the band shows; %zu "
				    "bytes left out)",
				    n, dropped);
		else if (dropped)
			mb_rec_text(&rec,
				    "; cut to the band's limit of %zu bytes, a "
				    "title to %d: %zu bytes of title and body "
				    "left out)",
				    miband_text_limit(mb_device_model(c->dev)),
				    TITLE_MAX, dropped);
		else if (req->type == MIBAND_REQ_TEXT)
			mb_rec_text(&rec, ")");
	}
	mb_rec_bool(&rec, "sent", true, NULL);
	mb_rec_end(&rec);
	return 0;
}

const struct command mb_cmd_alert = {
	.name = "alert",
	.args = "call NAME | text TITLE BODY | vibrate | stop",
	.doc = "Show an incoming call, a text notification (UTF-8, cut to the "
	       "band's limit on a character boundary), vibrate, or stop.",
	.min_args = 1,
	.max_args = 3,
	.flags = CMD_DEVICE | CMD_AUTH,
	.check = alert_check,
	.run = alert_run,
};
