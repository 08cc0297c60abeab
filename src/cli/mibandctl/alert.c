/*
 * mibandctl alert: an incoming call, a text notification, a vibration,
 * or stop.  Text is checked to be UTF-8 before connecting; it is cut to
 * what the band takes on a character boundary.
 */
#include <string.h>

#include "mibandctl/mibandctl.h"

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
		n = strlen(argv[1]);
		if (n >= sizeof(c->text))
			n = (size_t)miband_utf8_cut(argv[1], n,
						    sizeof(c->text) - 1);
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

static int alert_run(struct ctx *c, int argc, char **argv)
{
	struct miband_request *req = &c->req;
	const char *kind = argv[0];
	struct miband_event ev;
	struct mb_json j;
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
	if (c->json) {
		mb_json_begin(&j, "alert");
		mb_json_str(&j, "alert", kind);
		if (!strcmp(kind, "text") || !strcmp(kind, "call"))
			mb_json_int(&j, "bytes", n);
		mb_json_bool(&j, "sent", true);
		mb_json_end(&j);
	} else if (!strcmp(kind, "call")) {
		mb_say("alert: incoming call from \"%s\" shown", argv[1]);
	} else if (!strcmp(kind, "text")) {
		mb_say("alert: text sent (%d bytes)", n);
	} else if (!strcmp(kind, "vibrate")) {
		mb_say("alert: the band vibrates");
	} else {
		mb_say("alert: stopped");
	}
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
