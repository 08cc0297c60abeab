/*
 * The band engine: an emulated Mi Band (3 by default; 2 and 4 profiles),
 * the peripheral side of the protocol, sans-I/O like the client engine.
 *
 * A transport (the in-process link, or the BlueZ GATT server of
 * miband-emu) tells it what the central did: connect, subscribe, write,
 * read, disconnect, and when time passes.  It drains actions: NOTIFY
 * (send a notification), DISCONNECT (drop the link) and EVENT (what a
 * person would see on the band: a pairing prompt, an alert, a text).
 *
 *     miband_band_init(&b, &cfg, NULL, now);       // unpaired band
 *     miband_band_on_connect(&b, now);
 *     att_err = miband_band_on_write(&b, ch, data, len, true, now);
 *     while (miband_band_next_action(&b, &a) != MIBAND_BAND_ACTION_DONE)
 *         ...
 *
 * Reads are answered synchronously (miband_band_read) since every GATT
 * server needs the value in the reply.  Like a real band, it says nothing
 * to a client that has not authenticated except on the auth channel:
 * writes are accepted and ignored, reads of protected values fail with
 * ATT "insufficient authentication".
 */
#ifndef MIBAND_BAND_H
#define MIBAND_BAND_H

#include "miband/config.h"
#include "miband/crypto.h"
#include "miband/error.h"
#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ATT error codes the band engine returns from on_write/read. */
#define MIBAND_ATT_OK 0x00
#define MIBAND_ATT_READ_NOT_PERMITTED 0x02
#define MIBAND_ATT_WRITE_NOT_PERMITTED 0x03
#define MIBAND_ATT_INSUFFICIENT_AUTHN 0x05
#define MIBAND_ATT_REQUEST_NOT_SUPPORTED 0x06
#define MIBAND_ATT_INVALID_LENGTH 0x0d
#define MIBAND_ATT_UNLIKELY 0x0e

enum miband_pairing_policy {
	MIBAND_PAIRING_ACCEPT = 0, /* the wearer taps after tap_delay_ms */
	MIBAND_PAIRING_DECLINE,    /* the wearer declines: 10 01 02 */
	MIBAND_PAIRING_NEVER,      /* nobody taps; the prompt times out */
	MIBAND_PAIRING_MANUAL,     /* the embedding calls miband_band_tap() */
};

struct miband_band_config {
	enum miband_model model;
	const struct miband_crypto_ops *crypto;
	void *crypto_ctx;
	enum miband_pairing_policy pairing;
	uint32_t tap_delay_ms;      /* ACCEPT/DECLINE: time to the tap */
	uint32_t prompt_timeout_ms; /* prompt gives up: 10 01 02 (UNCONFIRMED
				     * value and reply; default 30000) */
	uint32_t unauth_drop_ms;    /* drop a link not authenticated in this
				     * time; 0 = never (UNCONFIRMED; 30000) */
	uint32_t hr_continuous_ms;  /* continuous HR stops this long after the
				     * last start/keep-alive (default 15000) */
	uint32_t hr_measure_ms;     /* one-shot HR result delay (3000) */
	bool reject_setkey_flag08;  /* MB3: refuse 01 08 with 10 01 04
				     * (UNCONFIRMED; default false) */
	uint32_t seed;              /* history, heart rate, battery */
	int64_t start_unix;         /* band clock at init (UTC seconds) */
	int8_t tz;                  /* band time zone, quarter hours */
	uint32_t history_days;      /* history kept before start (100) */
	uint32_t fetch_batch_max;   /* samples per fetch round (UNCONFIRMED;
				     * default 1440) */
	uint8_t battery_level;      /* percent (default 80) */
};

void miband_band_config_init(struct miband_band_config *cfg,
			     enum miband_model model);

enum miband_band_action_type {
	MIBAND_BAND_ACTION_DONE = 0,
	MIBAND_BAND_ACTION_NOTIFY,     /* channel, data, len */
	MIBAND_BAND_ACTION_DISCONNECT, /* reason */
	MIBAND_BAND_ACTION_EVENT,      /* event */
};

enum miband_band_event_type {
	MIBAND_BAND_EV_PAIR_PROMPT = 1, /* band vibrates: "tap to pair" */
	MIBAND_BAND_EV_PAIRED,          /* new key stored */
	MIBAND_BAND_EV_PAIR_DECLINED,
	MIBAND_BAND_EV_AUTHED,
	MIBAND_BAND_EV_AUTH_FAILED,     /* wrong answer: 10 03 04 sent */
	MIBAND_BAND_EV_ALERT,           /* u.level */
	MIBAND_BAND_EV_CALL,            /* u.text: caller name */
	MIBAND_BAND_EV_CALL_STOP,
	MIBAND_BAND_EV_TEXT,            /* u.text: whole message */
	MIBAND_BAND_EV_CONFIG,          /* u.text: raw H(0003) command */
	MIBAND_BAND_EV_USER,            /* u.text: raw H(0008) record */
	MIBAND_BAND_EV_TIME_SET,        /* u.time */
	MIBAND_BAND_EV_HR_START,        /* continuous started */
	MIBAND_BAND_EV_HR_STOP,         /* stopped (by client or timeout) */
	MIBAND_BAND_EV_FETCH_ACK,       /* 03 received */
	MIBAND_BAND_EV_UNAUTH_DROP,     /* dropped an unauthenticated link */
};
const char *miband_band_event_name(enum miband_band_event_type type);

struct miband_band_event {
	enum miband_band_event_type type;
	union {
		uint8_t level;
		struct miband_time time;
		struct {
			const uint8_t *data; /* valid until the next call */
			size_t len;
		} text;
	} u;
};

struct miband_band_action {
	enum miband_band_action_type type;
	enum miband_channel channel;
	const uint8_t *data;
	size_t len;
	int reason;
	struct miband_band_event event;
};

/* ---- private ---- */
struct miband__band_queued {
	uint8_t type;
	uint8_t channel;
	uint8_t len;
	int16_t reason;
	struct miband_band_event event;
	uint8_t data[MIBAND_BAND_VALUE_MAX];
};

struct miband_band {
	struct miband_band_config cfg;
	uint8_t key[16];
	uint8_t pending_key[16];
	uint8_t random[16];
	uint8_t has_key;
	uint8_t has_random;
	uint8_t connected;
	uint8_t authed;
	uint8_t prompt;          /* pairing prompt open */
	uint8_t random_cmd;      /* echo byte for the random reply */
	uint8_t subscribed[(MIBAND_CH_COUNT + 7) / 8];
	uint8_t battery_level;
	uint8_t charging;
	uint8_t hr_continuous;
	uint8_t hr_oneshot;
	uint8_t fetch_state;
	uint8_t fetch_counter;
	uint8_t chunk_counter;
	uint8_t last_bpm;
	uint16_t text_len;
	uint32_t fetch_left;
	uint32_t fetch_pos;      /* unix minute of the next sample to send */
	uint32_t steps_base;
	uint64_t clock_origin;   /* 'now' at init */
	uint64_t connected_at;
	uint64_t prompt_at;      /* when the tap/prompt timeout fires */
	uint64_t hr_stop_at;
	uint64_t hr_next_at;
	uint64_t fetch_next_at;
	int64_t unix_origin;     /* band clock (UTC s) at clock_origin */
	uint8_t text[MIBAND_TEXT_MAX];
	uint8_t auth_last[3];    /* last auth reply (readable on AUTH) */
	uint8_t hr_interval;     /* 14 NN: minutes, 0 off */
	uint8_t chunk_state;     /* chunked message being reassembled */
	uint8_t chunk_type;
	uint64_t hr_oneshot_at;  /* one-shot HR result due */
	uint64_t steps_next_at;  /* next realtime-steps check */
	uint8_t qhead, qlen;
	struct miband__band_queued q[MIBAND_BAND_ACTION_QUEUE];
};

/*
 * key: the key the band holds (paired), or NULL (unpaired).  Returns 0,
 * or MIBAND_E_INVAL: b or cfg is NULL, the model is unknown, the crypto
 * backend lacks AES or random, or a config value is out of range.
 */
int miband_band_init(struct miband_band *b,
		     const struct miband_band_config *cfg, const uint8_t *key,
		     uint64_t now);
void miband_band_on_connect(struct miband_band *b, uint64_t now);
void miband_band_on_disconnect(struct miband_band *b, uint64_t now);
/* CCCD write; returns an ATT error (0 ok). */
int miband_band_on_subscribe(struct miband_band *b, enum miband_channel ch,
			     bool enable, uint64_t now);
/* Characteristic write; returns an ATT error (0 ok). */
int miband_band_on_write(struct miband_band *b, enum miband_channel ch,
			 const uint8_t *data, size_t len, bool with_response,
			 uint64_t now);
/* Characteristic read into buf; returns an ATT error (0 ok). */
int miband_band_read(struct miband_band *b, enum miband_channel ch,
		     uint64_t now, uint8_t *buf, size_t cap,
		     size_t *ret_len);
void miband_band_on_timeout(struct miband_band *b, uint64_t now);
enum miband_band_action_type
miband_band_next_action(struct miband_band *b, struct miband_band_action *ret);
uint64_t miband_band_deadline_ms(const struct miband_band *b);

/*
 * The wearer answers the pairing prompt.  Returns 0, or
 * MIBAND_E_STATE (no prompt is showing) or MIBAND_E_NOSPACE (the action
 * queue is full: drain it first).
 */
int miband_band_tap(struct miband_band *b, bool accept, uint64_t now);
/*
 * The band emits a device event (button, find phone...), notified if the
 * client subscribed.  Returns 0, or MIBAND_E_DISCONNECTED, NOT_AUTHED
 * (events go to an authenticated client only), NOSPACE (queue full).
 */
int miband_band_emit_event(struct miband_band *b, uint8_t code, uint8_t arg,
			   uint64_t now);
void miband_band_set_battery(struct miband_band *b, uint8_t level,
			     bool charging);
/* The band's clock (UTC seconds) at now. */
int64_t miband_band_clock(const struct miband_band *b, uint64_t now);
/* Copies the stored key; MIBAND_E_NO_KEY when unpaired. */
int miband_band_get_key(const struct miband_band *b, uint8_t ret_key[16]);
bool miband_band_is_authed(const struct miband_band *b);

/* The deterministic history: sample of unix minute m for seed. */
void miband_history_sample(uint32_t seed, uint32_t unix_minute,
			   struct miband_sample *ret);
/* Realtime steps the band reports at a unix second. */
uint32_t miband_history_steps_today(uint32_t seed, int64_t unix_s, int8_t tz);

/* GATT table of a profile, for transports that serve it. */
struct miband_gatt_attr {
	uint16_t handle;        /* value handle; 0 = let the stack choose */
	uint16_t decl_handle;
	uint16_t cccd_handle;   /* 0 if none */
	uint16_t service16;
	uint16_t uuid16;
	bool huami_base;
	uint8_t props;
	int channel;            /* enum miband_channel, -1 = not used */
};
struct miband_gatt_service {
	uint16_t uuid16;
	uint16_t start_handle, end_handle; /* 0 = stack chooses */
};
struct miband_gatt_table {
	const struct miband_gatt_service *services;
	size_t n_services;
	const struct miband_gatt_attr *attrs;
	size_t n_attrs;
	const char *device_name;
};
const struct miband_gatt_table *miband_gatt_table(enum miband_model model);

void miband_band_wipe(struct miband_band *b);

#ifdef __cplusplus
}
#endif
#endif
