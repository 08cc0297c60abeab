/*
 * How each band event prints.  Every event is described once, as a
 * record (common/output.h): its fields with their JSON keys and the text
 * each adds to the human line; --json renders the fields, text mode the
 * line.  Lines of a --follow stream carry the host's time ("time").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "mibandctl/mibandctl.h"

/* A time field: ISO 8601 in JSON, "YYYY-MM-DD HH:MM:SS[ +HH:MM]" in
 * text (text_fmt takes it as %s). */
static void rec_time(struct mb_rec *r, const char *key,
		     const struct miband_time *t, bool with_tz,
		     const char *text_fmt)
{
	char buf[48];

	mb_time_fmt(t, with_tz, r->json, buf, sizeof(buf));
	mb_rec_str(r, key, buf, text_fmt);
}

/* The host time of a measurement or a --follow line (JSON only). */
static void stream_time(struct mb_rec *r, bool stream)
{
	struct miband_time t;

	if (!stream)
		return;
	mb_time_host_now(&t);
	rec_time(r, "time", &t, true, NULL);
}

static const char *music_action(unsigned a)
{
	switch (a) {
	case 0x00:
		return "play";
	case 0x01:
		return "pause";
	case 0x03:
		return "next";
	case 0x04:
		return "previous";
	case 0x05:
		return "volume-up";
	case 0x06:
		return "volume-down";
	case 0xe0:
		return "music-screen-open";
	case 0xe1:
		return "music-screen-closed";
	default:
		return NULL;
	}
}

static void print_steps(struct mb_rec *r, const struct miband_steps *s)
{
	mb_rec_begin(r, "steps");
	mb_rec_int(r, "steps", s->steps, "steps: %lld");
	if (s->has_distance) {
		mb_rec_int(r, "meters", s->meters, ", distance: %lld m");
		mb_rec_int(r, "kcal", s->kcal, ", calories: %lld kcal");
	}
}

static void print_device_event(struct mb_rec *r,
			       const struct miband_device_event *de)
{
	const char *name = de->name ? de->name : "unknown";
	const char *detail = NULL;
	bool has_arg = true;
	char buf[16];

	if (de->code == MIBAND_DEV_MUSIC) {
		detail = music_action(de->arg);
	} else if (de->code == MIBAND_DEV_SILENT_MODE) {
		detail = de->arg ? "on" : "off";
	} else if (de->code == MIBAND_DEV_MTU) {
		snprintf(buf, sizeof(buf), "%u", de->arg);
		detail = buf;
	} else {
		has_arg = false;
	}
	mb_rec_begin(r, "event");
	mb_rec_str(r, "event", name, "event: %s");
	mb_rec_int(r, "code", de->code,
		   !detail && !strcmp(name, "unknown") ? " (0x%02llx)" : NULL);
	if (has_arg)
		mb_rec_int(r, "arg", de->arg, NULL);
	if (detail)
		mb_rec_str(r, "detail", detail, " %s");
}

static void print_time(struct mb_rec *r, const struct miband_time *t)
{
	mb_rec_begin(r, "time");
	rec_time(r, "time", t, true, "time: %s");
	mb_rec_int(r, "tz_quarter_hours", t->tz, NULL);
	if (t->dow)
		mb_rec_str(r, "day", mb_time_dow_name(t->dow), " (%s)");
}

/* A band time without a zone: in JSON with the host zone's offset then
 * (ISO 8601 wants one), in text as the local time it is. */
static void rec_band_time(struct mb_rec *r, const char *key,
			  const struct miband_time *band, const char *text_fmt)
{
	struct miband_time t = *band;

	mb_time_assume_local(&t);
	rec_time(r, key, &t, r->json, text_fmt);
}

static void print_battery(struct mb_rec *r, const struct miband_battery *b)
{
	mb_rec_begin(r, "battery");
	mb_rec_int(r, "level", b->level, "battery: %lld%%");
	mb_rec_bool(r, "charging", b->charging, " (charging)");
	rec_band_time(r, "last_charge", &b->last_charge, "\nlast charge: %s");
	mb_rec_int(r, "last_charge_level", b->last_charge_level, " (%lld%%)");
	rec_band_time(r, "last_off", &b->last_off, "\nlast off charger: %s");
}

void mb_print_event(struct ctx *c, const struct miband_event *ev, bool stream)
{
	struct mb_rec r;

	(void)c;
	switch (ev->type) {
	case MIBAND_EV_HR:
		mb_rec_begin(&r, "heart-rate");
		mb_rec_int(&r, "bpm", ev->u.bpm, "heart rate: %lld bpm");
		break;
	case MIBAND_EV_STEPS:
		print_steps(&r, &ev->u.steps);
		break;
	case MIBAND_EV_DEVICE_EVENT:
		print_device_event(&r, &ev->u.device_event);
		break;
	case MIBAND_EV_TIME:
		print_time(&r, &ev->u.time);
		stream = false;
		break;
	case MIBAND_EV_BATTERY:
		print_battery(&r, &ev->u.battery);
		stream = false;
		break;
	default:
		mb_verbose("event %s", miband_event_name(ev->type));
		return;
	}
	/* a measurement says when it was taken, streamed or not */
	stream_time(&r, stream || ev->type == MIBAND_EV_HR ||
				ev->type == MIBAND_EV_STEPS);
	mb_rec_end(&r);
}
