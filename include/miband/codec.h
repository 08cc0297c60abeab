/*
 * Encoders and decoders for the Mi Band v1 protocol (PROTOCOL.md 2, 4, 5).
 *
 * Pure functions over caller buffers.  Encoders return the number of bytes
 * written (>= 0) or MIBAND_E_NOSPACE / MIBAND_E_INVAL; decoders return 0 or
 * MIBAND_E_MALFORMED and write their ret_ argument only on success.  Every
 * decoder rejects every truncation of a valid message.  Both directions
 * are here: what the client writes (encoded by the session, decoded by
 * the band engine) and what the band sends (the other way round).
 * Decoders of client writes return MIBAND_E_UNSUPPORTED for a command
 * they do not know, to which a band says nothing.
 */
#ifndef MIBAND_CODEC_H
#define MIBAND_CODEC_H

#include "miband/config.h"
#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- auth (PROTOCOL.md 2) ---- */

#define MIBAND_AUTH_RESPONSE 0x10
#define MIBAND_AUTH_CMD_SET_KEY 0x01
#define MIBAND_AUTH_CMD_RANDOM 0x02
#define MIBAND_AUTH_CMD_ANSWER 0x03
#define MIBAND_AUTH_STATUS_OK 0x01
#define MIBAND_AUTH_CRYPT 0x80 /* crypt flag on the command byte */

/* 01 <flags> <key16> — 18 bytes. */
int miband_encode_auth_set_key(uint8_t *buf, size_t cap, uint8_t auth_flags,
			       const uint8_t key[16]);
/* 02 <flags>, or with crypt flags: 82 <flags> 02 01 00. */
int miband_encode_auth_request_random(uint8_t *buf, size_t cap,
				      uint8_t auth_flags, uint8_t crypt_flags);
/* 03|cryptflags <flags> <answer16> — 18 bytes. */
int miband_encode_auth_answer(uint8_t *buf, size_t cap, uint8_t auth_flags,
			      uint8_t crypt_flags, const uint8_t answer[16]);

/* A decoded auth notification: 10 <cmd> <status> [payload]. */
struct miband_auth_reply {
	uint8_t cmd;     /* echoed command byte, crypt flag included */
	uint8_t status;
	const uint8_t *payload; /* points into the input; NULL if none */
	size_t payload_len;
};
int miband_decode_auth_reply(const uint8_t *data, size_t len,
			     struct miband_auth_reply *ret);
/* 10 <cmd> <status> [payload] — the band's side of the above. */
int miband_encode_auth_reply(uint8_t *buf, size_t cap, uint8_t cmd,
			     uint8_t status, const uint8_t *payload,
			     size_t payload_len);
/* The band's side of the three requests.  Key and answer point into
 * data.  A request for a random may carry the crypt flag without the
 * 02 01 00 tail (bands take it); another 3-byte tail is UNSUPPORTED. */
int miband_decode_auth_set_key(const uint8_t *data, size_t len,
			       uint8_t *ret_auth_flags, const uint8_t **ret_key);
int miband_decode_auth_request_random(const uint8_t *data, size_t len,
				      uint8_t *ret_auth_flags,
				      uint8_t *ret_crypt_flags);
int miband_decode_auth_answer(const uint8_t *data, size_t len,
			      uint8_t *ret_auth_flags, uint8_t *ret_crypt_flags,
			      const uint8_t **ret_answer);

/* ---- time, 2A2B (PROTOCOL.md 4.3): 11 bytes ---- */
#define MIBAND_TIME_LEN 11
int miband_encode_time(uint8_t *buf, size_t cap, const struct miband_time *t);
/* Accepts 11 bytes; also the 7-byte date-time prefix used in battery and
 * fetch records via miband_decode_datetime7. */
int miband_decode_time(const uint8_t *data, size_t len,
		       struct miband_time *ret);
/* 7 bytes Y(2) M D h m s (no dow, no tz). */
int miband_decode_datetime7(const uint8_t *data, size_t len,
			    struct miband_time *ret);
int miband_encode_datetime7(uint8_t *buf, size_t cap,
			    const struct miband_time *t);

/* Calendar helpers (no libc): days since 1970-01-01 for a civil date,
 * day of week (1 = Monday .. 7 = Sunday), and the reverse. */
int32_t miband_days_from_civil(int32_t y, unsigned m, unsigned d);
void miband_civil_from_days(int32_t z, int32_t *ret_y, unsigned *ret_m,
			    unsigned *ret_d);
uint8_t miband_day_of_week(int32_t y, unsigned m, unsigned d);
/* Seconds since the epoch (UTC) of a band time, its tz applied. */
int64_t miband_time_to_unix(const struct miband_time *t);
/* Fills t from UTC seconds and an offset in quarter hours (dow set). */
void miband_time_from_unix(int64_t unix_s, int8_t tz, struct miband_time *t);
/* Validates ranges (month 1..12, day valid for the month, ...). */
int miband_time_valid(const struct miband_time *t);

/* ---- battery, H(0006) (PROTOCOL.md 4.1): 20 bytes ---- */
#define MIBAND_BATTERY_LEN 20
int miband_decode_battery(const uint8_t *data, size_t len,
			  struct miband_battery *ret);
int miband_encode_battery(uint8_t *buf, size_t cap,
			  const struct miband_battery *b);

/* ---- realtime steps, H(0007) (PROTOCOL.md 4.2): 13 or 5 bytes ---- */
int miband_decode_steps(const uint8_t *data, size_t len,
			struct miband_steps *ret);
int miband_encode_steps(uint8_t *buf, size_t cap,
			const struct miband_steps *s);

/* ---- heart rate (PROTOCOL.md 4.5) ---- */
/* 2A37: 00 <bpm> (flags byte 0, uint8). */
int miband_decode_hr(const uint8_t *data, size_t len, uint8_t *ret_bpm);
int miband_encode_hr(uint8_t *buf, size_t cap, uint8_t bpm);

/* The control point 2A39: 15 <mode> <on>, 14 <minutes>, 16 (keep-alive). */
#define MIBAND_HR_CMD_INTERVAL 0x14
#define MIBAND_HR_CMD_CONTROL 0x15
#define MIBAND_HR_CMD_PING 0x16
#define MIBAND_HR_MODE_SLEEP 0x00
#define MIBAND_HR_MODE_CONTINUOUS 0x01
#define MIBAND_HR_MODE_MANUAL 0x02
struct miband_hr_control {
	uint8_t cmd;  /* MIBAND_HR_CMD_* */
	uint8_t mode; /* CONTROL: MIBAND_HR_MODE_* as sent */
	uint8_t arg;  /* CONTROL: the on byte as sent; INTERVAL: minutes */
};
int miband_encode_hr_control(uint8_t *buf, size_t cap, uint8_t mode, bool on);
int miband_encode_hr_interval(uint8_t *buf, size_t cap, uint8_t minutes);
int miband_encode_hr_ping(uint8_t *buf, size_t cap);
int miband_decode_hr_control(const uint8_t *data, size_t len,
			     struct miband_hr_control *ret);

/* ---- device events, H(0010) (PROTOCOL.md 4.9) ---- */
int miband_decode_device_event(const uint8_t *data, size_t len,
			       struct miband_device_event *ret);
/* The band's side: a known code in its exact length (arg in byte 1, the
 * MTU in bytes 1..2, a workout start's gps << 8 | type in bytes 2..3);
 * an unknown code with arg as byte 1 when it is not 0.  INVAL when arg
 * does not fit. */
int miband_encode_device_event(uint8_t *buf, size_t cap, uint8_t code,
			       uint16_t arg);
/* Stable name of an event code ("button"); "unknown" for others. */
const char *miband_device_event_name(uint8_t code);

/* ---- alerts (PROTOCOL.md 4.6) ---- */
/* Immediate Alert 2A06: one level byte (a band ignores any more). */
#define MIBAND_ALERT_NONE 0x00
#define MIBAND_ALERT_MESSAGE 0x01
#define MIBAND_ALERT_CALL 0x02
#define MIBAND_ALERT_VIBRATE 0x03
int miband_encode_alert(uint8_t *buf, size_t cap, uint8_t level);
int miband_decode_alert(const uint8_t *data, size_t len, uint8_t *ret_level);

#define MIBAND_CATEGORY_SIMPLE 0x00
#define MIBAND_CATEGORY_EMAIL 0x01
#define MIBAND_CATEGORY_CALL 0x03
#define MIBAND_CATEGORY_MISSED_CALL 0x04
#define MIBAND_CATEGORY_SMS 0x05
#define MIBAND_CATEGORY_CUSTOM 0xfa

/*
 * Length in bytes of the longest prefix of text[0..len) that is valid
 * UTF-8, ends on a character boundary and is at most max bytes.  Returns
 * MIBAND_E_BAD_UTF8 if text is not valid UTF-8 at all.
 */
int miband_utf8_cut(const char *text, size_t len, size_t max);

/* New Alert 2A46: <category> <count> [icon] <utf8 text cut to fit cap>. */
int miband_encode_new_alert(uint8_t *buf, size_t cap, uint8_t category,
			    uint8_t count, const char *text, size_t text_len);
/* The band's side: a custom category's first text byte is its icon.
 * The text points into data and is not validated. */
struct miband_new_alert {
	uint8_t category;
	uint8_t count;
	uint8_t icon; /* custom category only */
	const uint8_t *text;
	size_t text_len;
};
int miband_decode_new_alert(const uint8_t *data, size_t len,
			    struct miband_new_alert *ret);

/*
 * App notification message for the chunked characteristic
 * (PROTOCOL.md 4.6.3): [category] 01 [icon] title(<=32) 00 body ... suffix,
 * capped at max bytes (model limit) on a UTF-8 boundary.  app may be NULL.
 */
int miband_encode_app_notification(uint8_t *buf, size_t cap, size_t max,
				   uint8_t category, uint8_t icon,
				   const char *title, const char *body,
				   const char *app);
/* Per-model byte limit of an app notification message. */
size_t miband_text_limit(enum miband_model model);

/*
 * One chunk of the old chunked transfer H(0020):
 * 00 <flags|type> <counter> <data...>, data <= chunk_max.  Returns the
 * number of chunks of a message of msg_len bytes with miband_chunk_count.
 */
size_t miband_chunk_count(size_t msg_len, size_t chunk_max);
int miband_encode_chunk(uint8_t *buf, size_t cap, uint8_t type,
			const uint8_t *msg, size_t msg_len, size_t index,
			size_t chunk_max);
#define MIBAND_CHUNK_FIRST 0x00
#define MIBAND_CHUNK_MIDDLE 0x40
#define MIBAND_CHUNK_LAST 0x80
#define MIBAND_CHUNK_SINGLE 0xc0
struct miband_chunk {
	uint8_t flags;   /* MIBAND_CHUNK_* */
	uint8_t type;    /* 0 notification; others weather, music... */
	uint8_t counter; /* index of the chunk, mod 256 */
	const uint8_t *data; /* points into the input */
	size_t len;
};
/* UNSUPPORTED when the first byte is not 00 (another transfer). */
int miband_decode_chunk(const uint8_t *data, size_t len,
			struct miband_chunk *ret);

/* ---- configuration, H(0003) (PROTOCOL.md 4.7) ---- */
int miband_encode_config_time_format(uint8_t *buf, size_t cap, bool h24);
int miband_encode_config_date_display(uint8_t *buf, size_t cap,
				      bool show_date);
int miband_encode_config_date_format(uint8_t *buf, size_t cap,
				     const char *fmt); /* "dd.MM.yyyy" */
int miband_encode_config_distance_unit(uint8_t *buf, size_t cap,
				       bool imperial);
int miband_encode_config_lift_wrist(uint8_t *buf, size_t cap, bool on);
int miband_encode_config_goal_notification(uint8_t *buf, size_t cap, bool on);
int miband_encode_config_rotate_wrist(uint8_t *buf, size_t cap, bool on);
int miband_encode_config_display_caller(uint8_t *buf, size_t cap, bool on);
int miband_encode_config_screen_unlock(uint8_t *buf, size_t cap, bool on);
/* mode 0 off, 1 scheduled (start/end hh:mm), 2 automatic/sunset */
int miband_encode_config_night_mode(uint8_t *buf, size_t cap, int mode,
				    uint8_t sh, uint8_t sm, uint8_t eh,
				    uint8_t em);
int miband_encode_config_dnd(uint8_t *buf, size_t cap, int mode, uint8_t sh,
			     uint8_t sm, uint8_t eh, uint8_t em);
/* items: bit i of mask enables display item i (1 notifications ..
 * 8 NFC); bit 0 (clock) is always set. */
int miband_encode_config_display_items(uint8_t *buf, size_t cap,
				       uint16_t mask);
/* Reply on H(0003): 10 <cmd...> <status>.  ret_status gets the last byte. */
int miband_decode_config_reply(const uint8_t *data, size_t len,
			       uint8_t *ret_cmd, uint8_t *ret_status);
/* The band's reply to request (what the client wrote): 10, its command
 * byte (a setting 06 xx 00: its 3-byte prefix), status. */
int miband_encode_config_reply(uint8_t *buf, size_t cap,
			       const uint8_t *request, size_t request_len,
			       uint8_t status);

/* ---- user settings, H(0008) (PROTOCOL.md 4.8) ---- */
struct miband_user_info {
	uint16_t birth_year;
	uint8_t birth_month;
	uint8_t birth_day;
	uint8_t sex;         /* 0 male, 1 female, 2 other */
	uint16_t height_cm;
	uint16_t weight_kg;  /* encoded as kg * 200 by default (GB) */
	uint32_t user_id;
};
int miband_encode_user_info(uint8_t *buf, size_t cap,
			    const struct miband_user_info *u,
			    bool weight_times_200);
int miband_encode_step_goal(uint8_t *buf, size_t cap, uint16_t goal);
int miband_encode_wear_location(uint8_t *buf, size_t cap, bool right_wrist);

/* ---- activity fetch (PROTOCOL.md 5) ---- */
#define MIBAND_FETCH_TYPE_ACTIVITY 0x01
#define MIBAND_FETCH_CMD_START 0x01
#define MIBAND_FETCH_CMD_GO 0x02  /* send the data */
#define MIBAND_FETCH_CMD_ACK 0x03 /* the batch is stored: forget it */
/* 01 <type> Y(2) M D h m 00 tz — 10 bytes. */
int miband_encode_fetch_start(uint8_t *buf, size_t cap, uint8_t type,
			      const struct miband_time *since);
/* 02 or 03: one byte. */
int miband_encode_fetch_control(uint8_t *buf, size_t cap, uint8_t cmd);
/* The band's side of the three: since (start only; dow 0, the zone as
 * sent) is BAD_TIME when its date is out of range; an ack may carry
 * anything after it. */
struct miband_fetch_request {
	uint8_t cmd;  /* MIBAND_FETCH_CMD_* */
	uint8_t type; /* start only */
	struct miband_time since;
};
int miband_decode_fetch_request(const uint8_t *data, size_t len,
				struct miband_fetch_request *ret);
struct miband_fetch_reply {
	uint8_t cmd;        /* 0x01 start, 0x02 end of batch, 0x03 ack */
	uint8_t status;
	uint32_t count;     /* start reply only */
	struct miband_time first; /* start reply only: time of first sample */
};
/* 10 01 01 count(4) Y(2) M D h m s tz [00]; 10 02 st; 10 03 st. */
int miband_decode_fetch_reply(const uint8_t *data, size_t len,
			      struct miband_fetch_reply *ret);
int miband_encode_fetch_reply_start(uint8_t *buf, size_t cap, uint8_t status,
				    uint32_t count,
				    const struct miband_time *first);
/* 10 <cmd> <status>: every reply but a successful start. */
int miband_encode_fetch_reply(uint8_t *buf, size_t cap, uint8_t cmd,
			      uint8_t status);
/*
 * A data packet on H(0005): <counter> then 4-byte samples (kind,
 * intensity, steps, heart rate).  Returns the number of samples (>= 1)
 * and points *ret_samples into data, or MIBAND_E_MALFORMED when len is
 * not 1 + 4n.
 */
#define MIBAND_SAMPLE_LEN 4
int miband_decode_fetch_packet(const uint8_t *data, size_t len,
			       uint8_t *ret_counter,
			       const uint8_t **ret_samples);
/* Unpacks one 4-byte sample. */
void miband_sample_decode(const uint8_t *p, struct miband_sample *ret);
/* The band's side: <counter> then n samples. */
int miband_encode_fetch_packet(uint8_t *buf, size_t cap, uint8_t counter,
			       const struct miband_sample *samples, size_t n);
void miband_sample_encode(const struct miband_sample *s, uint8_t *p);

#ifdef __cplusplus
}
#endif
#endif
