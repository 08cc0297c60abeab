/*
 * The client engine: a sans-I/O Mi Band session.
 *
 * The caller owns struct miband_session (static, stack or heap), feeds it
 * what happened on the link, and drains actions until DONE after every
 * input (the loop of nghttp2's mem_recv/mem_send and quiche's
 * flush_egress):
 *
 *     miband_session_init(&s, &cfg, key);
 *     miband_session_start_auth(&s, MIBAND_AUTH_STORED, now);
 *     for (;;) {
 *         struct miband_action a;
 *         while (miband_session_next_action(&s, &a) != MIBAND_ACTION_DONE)
 *             perform(&a);          // subscribe, write, read, report event
 *         wait for a notification, a completion or deadline_ms();
 *         miband_session_on_notify(...) / on_write_done / on_read /
 *         on_timeout / on_disconnect
 *     }
 *
 * Rules:
 *  - Time is an input: every call takes `now` in milliseconds from any
 *    monotonic origin.  The engine never reads a clock.
 *  - One GATT operation is in flight at a time: after a SUBSCRIBE,
 *    UNSUBSCRIBE or WRITE action the engine waits for on_write_done() on
 *    that channel; after a READ, for on_read().  A write without response
 *    is "done" when the transport has queued it.
 *  - A byte pointer in an action or event stays valid until the next call
 *    on that session.
 *  - One request runs at a time (MIBAND_E_BUSY otherwise); every request
 *    ends in exactly one EVENT: its value, MIBAND_EV_DONE, or
 *    MIBAND_EV_ERROR.  Notifications the band sends on its own (heart rate
 *    in continuous mode, realtime steps, device events) become events too.
 *  - No allocation, no I/O, no globals, no clock, no randomness.
 */
#ifndef MIBAND_SESSION_H
#define MIBAND_SESSION_H

#include "miband/config.h"
#include "miband/crypto.h"
#include "miband/error.h"
#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum miband_auth_mode {
	/* Stored key: request a random, answer it.  No set-key, so the band
	 * never shows a needless prompt. */
	MIBAND_AUTH_STORED = 0,
	/* First pairing: send the key, wait for the tap, then as STORED. */
	MIBAND_AUTH_PAIR,
	/* STORED; on 10 03 04 (wrong key) or 10 02 04 (no key) fall back to
	 * pairing only if the config allows it (allow_pair_fallback). */
	MIBAND_AUTH_AUTO,
};

struct miband_session_config {
	enum miband_model model;
	int auth_flags;          /* -1: the model's default; else 0x00/0x08 */
	int crypt_flags;         /* -1: the model's default; else 0x00/0x80 */
	bool allow_pair_fallback;/* AUTO may pair (the band will prompt) */
	const struct miband_crypto_ops *crypto;
	void *crypto_ctx;
	uint32_t pair_timeout_ms;    /* waiting for the tap */
	uint32_t reply_timeout_ms;   /* any other reply from the band */
	uint32_t hr_timeout_ms;      /* one-shot heart-rate measurement */
	uint32_t hr_keepalive_ms;    /* continuous HR ping interval; 0 = off */
	uint16_t mtu;                /* ATT MTU; writes are <= mtu - 3 */
	bool config_reply_required;  /* H(0003) writes wait for 10 .. 01;
				      * else a missing reply counts as done
				      * (PROTOCOL.md 4.7: UNCONFIRMED) */
	bool fetch_ack;              /* send 03 after each stored batch */
	bool user_weight_x200;       /* user info weight as kg*200 (GB) */
};

/* Fills cfg with the model's defaults (crypto left NULL). */
void miband_session_config_init(struct miband_session_config *cfg,
				enum miband_model model);

enum miband_action_type {
	MIBAND_ACTION_DONE = 0,   /* nothing more to do now */
	MIBAND_ACTION_SUBSCRIBE,  /* enable notifications on channel */
	MIBAND_ACTION_UNSUBSCRIBE,
	MIBAND_ACTION_WRITE,      /* write data (with or without response) */
	MIBAND_ACTION_READ,       /* read channel's value */
	MIBAND_ACTION_EVENT,      /* report event to the application */
	MIBAND_ACTION_DISCONNECT, /* drop the link; reason is an error code */
};

enum miband_request_type {
	MIBAND_REQ_NONE = 0,
	MIBAND_REQ_AUTH,          /* started by miband_session_start_auth */
	MIBAND_REQ_BATTERY,       /* -> MIBAND_EV_BATTERY */
	MIBAND_REQ_STEPS,         /* -> MIBAND_EV_STEPS */
	MIBAND_REQ_STEPS_FOLLOW,  /* subscribe; STEPS events follow; -> DONE */
	MIBAND_REQ_TIME_GET,      /* -> MIBAND_EV_TIME */
	MIBAND_REQ_TIME_SET,      /* u.time; -> DONE */
	MIBAND_REQ_DEVINFO,       /* u.devinfo; -> MIBAND_EV_DEVINFO */
	MIBAND_REQ_HR_ONESHOT,    /* -> MIBAND_EV_HR */
	MIBAND_REQ_HR_START,      /* continuous; HR events follow; -> DONE */
	MIBAND_REQ_HR_STOP,       /* -> DONE */
	MIBAND_REQ_HR_INTERVAL,   /* u.minutes (0 off); -> DONE */
	MIBAND_REQ_ALERT,         /* u.level (MIBAND_ALERT_*); -> DONE */
	MIBAND_REQ_CALL,          /* u.text = caller name; -> DONE */
	MIBAND_REQ_CALL_STOP,     /* -> DONE */
	MIBAND_REQ_TEXT,          /* u.text = encoded message
				   * (miband_encode_app_notification);
				   * -> DONE */
	MIBAND_REQ_EVENTS_FOLLOW, /* subscribe to device events; -> DONE */
	MIBAND_REQ_CONFIG,        /* u.raw = encoded H(0003) command; -> DONE */
	MIBAND_REQ_USER,          /* u.raw = encoded H(0008) record; -> DONE */
	MIBAND_REQ_FETCH,         /* u.time = since; FETCH events; -> DONE */
	MIBAND_REQ_COUNT
};

struct miband_request {
	enum miband_request_type type;
	union {
		struct miband_time time;
		enum miband_devinfo devinfo;
		uint8_t level;
		uint8_t minutes;
		/* The bytes must stay valid until the request's final event. */
		struct {
			const char *data;
			size_t len;
		} text;
		struct {
			uint8_t bytes[MIBAND_WRITE_MAX];
			uint8_t len;
		} raw;
	} u;
};

/* Stable name ("battery", "hr-oneshot"); "unknown" otherwise. */
const char *miband_request_name(enum miband_request_type type);

enum miband_auth_step {
	MIBAND_AUTH_STEP_SUBSCRIBED = 1, /* notifications on auth enabled */
	MIBAND_AUTH_STEP_KEY_SENT,       /* 01 .. key written: tap the band */
	MIBAND_AUTH_STEP_KEY_ACCEPTED,   /* 10 01 01 */
	MIBAND_AUTH_STEP_RANDOM_REQUESTED,
	MIBAND_AUTH_STEP_RANDOM_RECEIVED,
	MIBAND_AUTH_STEP_ANSWER_SENT,
	MIBAND_AUTH_STEP_FALLBACK_PAIR,  /* AUTO fell back to pairing */
};
const char *miband_auth_step_name(enum miband_auth_step step);

enum miband_event_type {
	MIBAND_EV_AUTH_PROGRESS = 1, /* u.auth_step */
	MIBAND_EV_AUTH_OK,           /* authenticated; u.paired if a key was
				      * set on the band in this handshake */
	MIBAND_EV_DONE,              /* request finished, no value */
	MIBAND_EV_ERROR,             /* request failed: error, request */
	MIBAND_EV_BATTERY,
	MIBAND_EV_STEPS,
	MIBAND_EV_TIME,
	MIBAND_EV_DEVINFO,
	MIBAND_EV_HR,
	MIBAND_EV_DEVICE_EVENT,
	MIBAND_EV_FETCH_START,       /* u.fetch: count and first sample time */
	MIBAND_EV_SAMPLES,           /* u.samples: consecutive minutes */
	MIBAND_EV_FETCH_BATCH,       /* batch complete: store it, then call
				      * miband_session_fetch_stored() */
};
const char *miband_event_name(enum miband_event_type type);

struct miband_event {
	enum miband_event_type type;
	enum miband_request_type request; /* the request this belongs to, or
					   * MIBAND_REQ_NONE if unsolicited */
	int error;                        /* MIBAND_EV_ERROR */
	union {
		enum miband_auth_step auth_step;
		bool paired;
		struct miband_battery battery;
		struct miband_steps steps;
		struct miband_time time;
		struct {
			enum miband_devinfo field;
			const uint8_t *value; /* not NUL-terminated */
			size_t len;
		} devinfo;
		uint8_t bpm;
		struct miband_device_event device_event;
		struct {
			uint32_t count;
			struct miband_time first;
		} fetch;
		struct {
			const uint8_t *data;  /* 4 bytes per sample */
			size_t count;
			uint32_t index;       /* minutes since first sample */
		} samples;
	} u;
};

struct miband_action {
	enum miband_action_type type;
	enum miband_channel channel;
	const uint8_t *data;  /* WRITE */
	size_t len;
	bool with_response;   /* WRITE: ATT Write Request, else Command */
	bool secret;          /* WRITE carries key material: redact in logs */
	int reason;           /* DISCONNECT: error code */
	struct miband_event event; /* EVENT */
};

/* ---- private: fields below are the engine's; do not touch ---- */
struct miband__queued {
	uint8_t type;         /* enum miband_action_type */
	uint8_t channel;
	uint8_t flags;        /* with_response, secret */
	uint8_t len;
	int16_t reason;
	struct miband_event event;
};

struct miband_session {
	struct miband_session_config cfg;
	uint8_t key[16];
	uint8_t has_key;
	uint8_t authed;
	uint8_t fatal;
	uint8_t state;         /* internal state machine position */
	uint8_t auth_mode;
	uint8_t paired;        /* a key was set in this handshake */
	uint8_t inflight;      /* a GATT op is outstanding */
	uint8_t inflight_ch;
	uint8_t flags;         /* internal: step waits for completion... */
	uint8_t subscribed[(MIBAND_CH_COUNT + 7) / 8];
	uint8_t hr_continuous;
	uint8_t fetch_counter;
	uint16_t chunk_index;
	uint32_t fetch_index;
	uint64_t deadline;     /* request deadline, UINT64_MAX none */
	uint64_t hr_ping_at;   /* continuous HR keep-alive, UINT64_MAX none */
	struct miband_request req;
	uint8_t wbuf[MIBAND_WRITE_MAX];
	uint8_t wlen;
	uint8_t vbuf[MIBAND_VALUE_MAX];
	uint8_t vlen;
	uint8_t qhead, qlen;
	struct miband__queued q[MIBAND_ACTION_QUEUE];
};

/*
 * Copies cfg and key (16 bytes, NULL if none yet); zero timeouts and MTU
 * take their defaults.  Returns 0, or:
 *   MIBAND_E_INVAL  s or cfg is NULL, or cfg->model is unknown.
 */
int miband_session_init(struct miband_session *s,
			const struct miband_session_config *cfg,
			const uint8_t *key);
/*
 * Replaces the key (e.g. a new key for pairing).  Returns 0, or:
 *   MIBAND_E_INVAL  s or key is NULL;
 *   MIBAND_E_BUSY   an authentication is running (the key stays).
 */
int miband_session_set_key(struct miband_session *s, const uint8_t key[16]);

/*
 * Starts the authentication (the first call after connecting): queues the
 * subscribe to the auth channel and arms the deadline; progress and the
 * outcome come as events (MIBAND_EV_AUTH_PROGRESS, then MIBAND_EV_AUTH_OK
 * or MIBAND_EV_ERROR with the band's refusal: MIBAND_E_WRONG_KEY,
 * PAIR_DECLINED, TIMEOUT, ...).  Returns 0, or, with nothing queued:
 *   MIBAND_E_INVAL     s is NULL, mode is unknown, or the config has no
 *                      crypto backend with AES;
 *   MIBAND_E_STATE     a fatal error ended the session (re-initialise it);
 *   MIBAND_E_BUSY      a request (or an authentication) is running;
 *   MIBAND_E_NO_KEY    the session has no key (miband_session_set_key());
 *   MIBAND_E_INTERNAL  the action queue is full (a bug).
 */
int miband_session_start_auth(struct miband_session *s,
			      enum miband_auth_mode mode, uint64_t now);
/*
 * Starts a request; its events follow (see enum miband_request_type for
 * the final event of each).  Returns 0, or, with nothing queued:
 *   MIBAND_E_INVAL        s or req is NULL, or req is malformed (unknown
 *                         type, devinfo field or alert level, invalid
 *                         time, empty or too long data);
 *   MIBAND_E_STATE        a fatal error ended the session;
 *   MIBAND_E_NOT_AUTHED   not authenticated yet;
 *   MIBAND_E_BUSY         another request is running;
 *   MIBAND_E_UNSUPPORTED  the model, or this build (config.h features),
 *                         does not do the request.
 */
int miband_session_request(struct miband_session *s,
			   const struct miband_request *req, uint64_t now);
/*
 * After MIBAND_EV_FETCH_BATCH: the batch is durably stored; the engine
 * may now acknowledge it to the band and go on.  Returns 0, or:
 *   MIBAND_E_INVAL  s is NULL;
 *   MIBAND_E_STATE  no fetch is waiting for its batch to be stored (or a
 *                   fatal error ended the session).
 */
int miband_session_fetch_stored(struct miband_session *s, uint64_t now);
/*
 * Abandons the running request (MIBAND_EV_ERROR CANCELLED follows).
 * Returns 0, or:
 *   MIBAND_E_INVAL  s is NULL;
 *   MIBAND_E_STATE  nothing is running (or a fatal error ended the
 *                   session).
 */
int miband_session_cancel(struct miband_session *s, uint64_t now);

/*
 * Transport input.  These return nothing: a failure (a malformed reply, a
 * failed write) becomes a MIBAND_EV_ERROR event of the running request,
 * and a fatal one a DISCONNECT action.  A notification on ch.
 */
void miband_session_on_notify(struct miband_session *s,
			      enum miband_channel ch, const uint8_t *data,
			      size_t len, uint64_t now);
/* Completion of SUBSCRIBE, UNSUBSCRIBE or WRITE on ch: 0 or an error. */
void miband_session_on_write_done(struct miband_session *s,
				  enum miband_channel ch, int status,
				  uint64_t now);
/* Completion of READ on ch: status 0 and the value, or an error. */
void miband_session_on_read(struct miband_session *s, enum miband_channel ch,
			    int status, const uint8_t *data, size_t len,
			    uint64_t now);
void miband_session_on_disconnect(struct miband_session *s, uint64_t now);
void miband_session_on_timeout(struct miband_session *s, uint64_t now);

/* Next action, written to *ret; returns its type (DONE = 0). */
enum miband_action_type miband_session_next_action(struct miband_session *s,
						   struct miband_action *ret);
/* When on_timeout must be called next; UINT64_MAX: never. */
uint64_t miband_session_deadline_ms(const struct miband_session *s);

bool miband_session_is_authed(const struct miband_session *s);
bool miband_session_is_busy(const struct miband_session *s);
/* Zeroises the key and all buffers.  The session must be re-initialised. */
void miband_session_wipe(struct miband_session *s);

#ifdef __cplusplus
}
#endif
#endif
