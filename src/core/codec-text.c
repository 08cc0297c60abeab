/*
 * Text and settings messages (PROTOCOL.md 4.6-4.8): UTF-8 validation and
 * cutting, New Alert, app notifications, the old chunked transfer,
 * configuration commands and user settings.  Part of the codec (see
 * codec.c for the conventions).
 *
 * Text is cut, never split inside a character: miband_utf8_cut finds the
 * longest valid prefix that fits, and every encoder that carries text
 * goes through it.  Decoders of the band side hand out pointers into the
 * message; they do not validate the text (a band shows what it gets).
 */
#include "miband/codec.h"
#include "miband/error.h"

#include <string.h>

#include "codec-int.h"

/* ---- UTF-8 and alerts (PROTOCOL.md 4.6) ---- */

/* Length of the valid sequence at s[0..n), or 0 if it is not valid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len, i;
	uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* continuation byte, or overlong C0/C1 */
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

int miband_utf8_cut(const char *text, size_t len, size_t max)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t off = 0, cut = 0;

	if (!text && len)
		return MIBAND_E_INVAL;
	if (max > 0x7fffffff)
		max = 0x7fffffff;
	while (off < len) {
		size_t n = utf8_seq(s + off, len - off);

		if (!n)
			return MIBAND_E_BAD_UTF8;
		off += n;
		if (off <= max)
			cut = off;
	}
	return (int)cut;
}

int miband_encode_new_alert(uint8_t *buf, size_t cap, uint8_t category,
			    uint8_t count, const char *text, size_t text_len)
{
	struct miband__wr w;
	int n;

	/* The custom category needs an icon byte this layout cannot carry:
	 * use miband_encode_app_notification for it. */
	if (category == MIBAND_CATEGORY_CUSTOM)
		return MIBAND_E_INVAL;
	if (!buf || cap < 2)
		return MIBAND_E_NOSPACE;
	n = miband_utf8_cut(text, text_len, cap - 2);
	if (n < 0)
		return n;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, category);
	miband__wr_u8(&w, count);
	miband__wr_bytes(&w, text, (size_t)n);
	return miband__wr_result(&w);
}

int miband_decode_new_alert(const uint8_t *data, size_t len,
			    struct miband_new_alert *ret)
{
	struct miband_new_alert a;
	struct miband__rd r;

	if (!ret)
		return MIBAND_E_INVAL;
	miband__rd_init(&r, data, len);
	a.category = miband__rd_u8(&r);
	a.count = miband__rd_u8(&r);
	a.icon = 0;
	if (r.err)
		return MIBAND_E_MALFORMED;
	/* The custom category carries the app icon before its text. */
	if (a.category == MIBAND_CATEGORY_CUSTOM && miband__rd_left(&r))
		a.icon = miband__rd_u8(&r);
	a.text_len = miband__rd_left(&r);
	a.text = miband__rd_bytes(&r, a.text_len);
	*ret = a;
	return 0;
}

int miband_encode_alert(uint8_t *buf, size_t cap, uint8_t level)
{
	struct miband__wr w;

	if (level > MIBAND_ALERT_VIBRATE)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, level);
	return miband__wr_result(&w);
}

int miband_decode_alert(const uint8_t *data, size_t len, uint8_t *ret_level)
{
	struct miband__rd r;
	uint8_t level;

	if (!ret_level)
		return MIBAND_E_INVAL;
	/* One byte; bands read the first and ignore the rest. */
	miband__rd_init(&r, data, len);
	level = miband__rd_u8(&r);
	if (r.err)
		return MIBAND_E_MALFORMED;
	*ret_level = level;
	return 0;
}

#define TITLE_MAX 32

int miband_encode_app_notification(uint8_t *buf, size_t cap, size_t max,
				   uint8_t category, uint8_t icon,
				   const char *title, const char *body,
				   const char *app)
{
	static const uint8_t fake_app[3] = {0x00, 0x20, 0x00};
	size_t title_len, body_len, app_len = 0, fixed, room;
	bool custom = category == MIBAND_CATEGORY_CUSTOM;
	bool has_suffix = custom || category == MIBAND_CATEGORY_SMS ||
			  category == MIBAND_CATEGORY_EMAIL;
	struct miband__wr w;
	int t, b;

	if (!title)
		title = "";
	if (!body || !*body)
		body = " "; /* the band shows nothing for an empty body */
	if (custom && app)
		app_len = strlen(app);
	title_len = strlen(title);
	body_len = strlen(body);
	if (miband_utf8_cut(app, app_len, app_len) < 0)
		return MIBAND_E_BAD_UTF8;

	/* prefix, the 00 after the title, suffix */
	fixed = 2u + custom + 1u +
		(custom	      ? app_len + 2u
		 : has_suffix ? 3u
			      : 0u);
	if (fixed > max)
		return MIBAND_E_NOSPACE;
	room = max - fixed;
	t = miband_utf8_cut(title, title_len,
			    room < TITLE_MAX ? room : TITLE_MAX);
	if (t < 0)
		return t;
	room -= (size_t)t;
	b = miband_utf8_cut(body, body_len, room);
	if (b < 0)
		return b;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, category);
	miband__wr_u8(&w, 0x01);
	if (custom)
		miband__wr_u8(&w, icon);
	miband__wr_bytes(&w, title, (size_t)t);
	miband__wr_u8(&w, 0x00);
	miband__wr_bytes(&w, body, (size_t)b);
	if (custom) {
		miband__wr_u8(&w, 0x00);
		miband__wr_bytes(&w, app, app_len);
		miband__wr_u8(&w, 0x00);
	} else if (has_suffix) {
		miband__wr_bytes(&w, fake_app, sizeof(fake_app));
	}
	return miband__wr_result(&w);
}

/* ---- old chunked transfer H(0020) (PROTOCOL.md 4.6.3) ---- */

size_t miband_chunk_count(size_t msg_len, size_t chunk_max)
{
	if (!chunk_max)
		return 0;
	if (!msg_len)
		return 1;
	return (msg_len - 1) / chunk_max + 1;
}

int miband_encode_chunk(uint8_t *buf, size_t cap, uint8_t type,
			const uint8_t *msg, size_t msg_len, size_t index,
			size_t chunk_max)
{
	size_t n = miband_chunk_count(msg_len, chunk_max);
	size_t off, dlen;
	uint8_t flags;
	struct miband__wr w;

	if (!n || index >= n || (type & 0xc0) || (!msg && msg_len))
		return MIBAND_E_INVAL;
	if (n == 1)
		flags = MIBAND_CHUNK_SINGLE;
	else if (index == 0)
		flags = MIBAND_CHUNK_FIRST;
	else if (index == n - 1)
		flags = MIBAND_CHUNK_LAST;
	else
		flags = MIBAND_CHUNK_MIDDLE;
	off = index * chunk_max;
	dlen = msg_len - off < chunk_max ? msg_len - off : chunk_max;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, (uint8_t)(flags | type));
	miband__wr_u8(&w, (uint8_t)(index & 0xffu));
	miband__wr_bytes(&w, msg ? msg + off : NULL, dlen);
	return miband__wr_result(&w);
}

int miband_decode_chunk(const uint8_t *data, size_t len,
			struct miband_chunk *ret)
{
	struct miband_chunk c;
	struct miband__rd r;
	uint8_t head;

	if (!ret)
		return MIBAND_E_INVAL;
	miband__rd_init(&r, data, len);
	head = miband__rd_u8(&r);
	c.flags = miband__rd_u8(&r);
	c.counter = miband__rd_u8(&r);
	if (r.err)
		return MIBAND_E_MALFORMED;
	if (head != 0x00)
		return MIBAND_E_UNSUPPORTED;
	c.type = c.flags & 0x3fu;
	c.flags &= 0xc0u;
	c.len = miband__rd_left(&r);
	c.data = miband__rd_bytes(&r, c.len);
	*ret = c;
	return 0;
}

/* ---- configuration H(0003) (PROTOCOL.md 4.7) ---- */

static int put_bytes(uint8_t *buf, size_t cap, const uint8_t *src, size_t n)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_bytes(&w, src, n);
	return miband__wr_result(&w);
}

/* 06 <what> 00 <value> */
static int put_setting(uint8_t *buf, size_t cap, uint8_t what, uint8_t v)
{
	const uint8_t cmd[4] = {0x06, what, 0x00, v};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}

int miband_encode_config_time_format(uint8_t *buf, size_t cap, bool h24)
{
	return put_setting(buf, cap, 0x02, h24 ? 0x01 : 0x00);
}

int miband_encode_config_date_display(uint8_t *buf, size_t cap, bool show_date)
{
	return put_setting(buf, cap, 0x0a, show_date ? 0x03 : 0x00);
}

int miband_encode_config_date_format(uint8_t *buf, size_t cap, const char *fmt)
{
	struct miband__wr w;
	size_t n, i;

	if (!fmt)
		return MIBAND_E_INVAL;
	n = strlen(fmt);
	if (n < 1 || n > 17) /* 20 - header */
		return MIBAND_E_INVAL;
	for (i = 0; i < n; i++)
		if (fmt[i] < 0x20 || fmt[i] > 0x7e)
			return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x06);
	miband__wr_u8(&w, 0x1e);
	miband__wr_u8(&w, 0x00);
	miband__wr_bytes(&w, fmt, n);
	return miband__wr_result(&w);
}

int miband_encode_config_distance_unit(uint8_t *buf, size_t cap, bool imperial)
{
	return put_setting(buf, cap, 0x03, imperial ? 0x01 : 0x00);
}

int miband_encode_config_lift_wrist(uint8_t *buf, size_t cap, bool on)
{
	static const uint8_t on_cmd[] = {0x06, 0x05, 0x00, 0x01,
					 0x00, 0x00, 0x00, 0x00};

	if (on)
		return put_bytes(buf, cap, on_cmd, sizeof(on_cmd));
	return put_setting(buf, cap, 0x05, 0x00);
}

int miband_encode_config_goal_notification(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x06, on ? 0x01 : 0x00);
}

int miband_encode_config_rotate_wrist(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x0d, on ? 0x01 : 0x00);
}

int miband_encode_config_display_caller(uint8_t *buf, size_t cap, bool on)
{
	const uint8_t cmd[5] = {0x06, 0x10, 0x00, 0x00, on ? 0x01 : 0x00};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}

int miband_encode_config_screen_unlock(uint8_t *buf, size_t cap, bool on)
{
	return put_setting(buf, cap, 0x16, on ? 0x01 : 0x00);
}

static bool hm_ok(uint8_t sh, uint8_t sm, uint8_t eh, uint8_t em)
{
	return sh < 24 && sm < 60 && eh < 24 && em < 60;
}

/* <cmd> <mode byte> [sh sm eh em when scheduled] */
static int put_schedule(uint8_t *buf, size_t cap, uint8_t cmd, uint8_t mode,
			bool scheduled, uint8_t sh, uint8_t sm, uint8_t eh,
			uint8_t em)
{
	struct miband__wr w;

	if (scheduled && !hm_ok(sh, sm, eh, em))
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, cmd);
	miband__wr_u8(&w, mode);
	if (scheduled) {
		miband__wr_u8(&w, sh);
		miband__wr_u8(&w, sm);
		miband__wr_u8(&w, eh);
		miband__wr_u8(&w, em);
	}
	return miband__wr_result(&w);
}

int miband_encode_config_night_mode(uint8_t *buf, size_t cap, int mode,
				    uint8_t sh, uint8_t sm, uint8_t eh,
				    uint8_t em)
{
	switch (mode) {
	case 0:
		return put_schedule(buf, cap, 0x1a, 0x00, false, 0, 0, 0, 0);
	case 1:
		return put_schedule(buf, cap, 0x1a, 0x01, true, sh, sm, eh, em);
	case 2:
		return put_schedule(buf, cap, 0x1a, 0x02, false, 0, 0, 0, 0);
	default:
		return MIBAND_E_INVAL;
	}
}

int miband_encode_config_dnd(uint8_t *buf, size_t cap, int mode, uint8_t sh,
			     uint8_t sm, uint8_t eh, uint8_t em)
{
	switch (mode) {
	case 0:
		return put_schedule(buf, cap, 0x09, 0x82, false, 0, 0, 0, 0);
	case 1:
		return put_schedule(buf, cap, 0x09, 0x81, true, sh, sm, eh, em);
	case 2:
		return put_schedule(buf, cap, 0x09, 0x83, false, 0, 0, 0, 0);
	default:
		return MIBAND_E_INVAL;
	}
}

int miband_encode_config_display_items(uint8_t *buf, size_t cap, uint16_t mask)
{
	struct miband__wr w;
	uint8_t i;

	if (mask > 0x1ff)
		return MIBAND_E_INVAL;
	mask |= 0x0001; /* the clock is always shown */
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x0a);
	miband__wr_u16le(&w, mask);
	miband__wr_u8(&w, 0x00); /* the clock's position */
	for (i = 1; i <= 8; i++)
		miband__wr_u8(&w, i);
	return miband__wr_result(&w);
}

int miband_decode_config_reply(const uint8_t *data, size_t len,
			       uint8_t *ret_cmd, uint8_t *ret_status)
{
	if (!data || len < 3 || len > 20 || data[0] != 0x10)
		return MIBAND_E_MALFORMED;
	if (ret_cmd)
		*ret_cmd = data[1];
	if (ret_status)
		*ret_status = data[len - 1];
	return 0;
}

int miband_encode_config_reply(uint8_t *buf, size_t cap, const uint8_t *request,
			       size_t request_len, uint8_t status)
{
	struct miband__wr w;
	size_t n;

	if (!request || !request_len)
		return MIBAND_E_INVAL;
	/* Settings (06 xx 00 ...) echo their 3-byte prefix, others the
	 * command byte. */
	n = request[0] == 0x06 ? (request_len < 3 ? request_len : 3) : 1;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x10);
	miband__wr_bytes(&w, request, n);
	miband__wr_u8(&w, status);
	return miband__wr_result(&w);
}

/* ---- user settings H(0008) (PROTOCOL.md 4.8) ---- */

int miband_encode_user_info(uint8_t *buf, size_t cap,
			    const struct miband_user_info *u,
			    bool weight_times_200)
{
	struct miband__wr w;
	uint32_t weight;

	if (!u || u->birth_month < 1 || u->birth_month > 12 ||
	    u->birth_day < 1 || u->birth_day > 31 || u->sex > 2)
		return MIBAND_E_INVAL;
	weight =
		weight_times_200 ? (uint32_t)u->weight_kg * 200u : u->weight_kg;
	if (weight > 0xffff)
		return MIBAND_E_INVAL;
	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x4f);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	miband__wr_u16le(&w, u->birth_year);
	miband__wr_u8(&w, u->birth_month);
	miband__wr_u8(&w, u->birth_day);
	miband__wr_u8(&w, u->sex);
	miband__wr_u16le(&w, u->height_cm);
	miband__wr_u16le(&w, (uint16_t)weight);
	miband__wr_u32le(&w, u->user_id);
	return miband__wr_result(&w);
}

int miband_encode_step_goal(uint8_t *buf, size_t cap, uint16_t goal)
{
	struct miband__wr w;

	miband__wr_init(&w, buf, cap);
	miband__wr_u8(&w, 0x10);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	miband__wr_u16le(&w, goal);
	miband__wr_u8(&w, 0x00);
	miband__wr_u8(&w, 0x00);
	return miband__wr_result(&w);
}

int miband_encode_wear_location(uint8_t *buf, size_t cap, bool right_wrist)
{
	const uint8_t cmd[4] = {0x20, 0x00, 0x00, right_wrist ? 0x82 : 0x02};

	return put_bytes(buf, cap, cmd, sizeof(cmd));
}
