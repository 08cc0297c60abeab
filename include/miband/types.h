/*
 * Plain data shared by the client engine, the band engine and the codecs:
 * band models, logical channels, and decoded values.
 */
#ifndef MIBAND_TYPES_H
#define MIBAND_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum miband_model {
	MIBAND_MODEL_MB2 = 0, /* Mi Band 2: auth flags 0x08 */
	MIBAND_MODEL_MB3 = 1, /* Mi Band 3: auth flags 0x00 (the default) */
	MIBAND_MODEL_MB4 = 2, /* Mi Band 4: flags 0x08, crypt 0x80 */
	MIBAND_MODEL_MB5 = 3, /* Mi Band 5: as MB4 */
	MIBAND_MODEL_MB6 = 4, /* Mi Band 6, old-protocol firmware: as MB4 */
	MIBAND_MODEL_COUNT
};

/* "mb3" etc.; NULL for an unknown model. */
const char *miband_model_name(enum miband_model model);
/* Friendly name "Mi Band 3". */
const char *miband_model_display_name(enum miband_model model);
/* Parses "mb3", "3", "miband3", "Mi Band 3"; returns 0 or MIBAND_E_INVAL. */
int miband_model_parse(const char *s, enum miband_model *ret_model);
/* The model's default flags (PROTOCOL.md 2.2); 0 for an unknown model. */
uint8_t miband_model_auth_flags(enum miband_model model);
uint8_t miband_model_crypt_flags(enum miband_model model);
/* Per-model byte limit of an app notification message; 0 for an unknown
 * model. */
size_t miband_text_limit(enum miband_model model);

/*
 * Logical channels: one per characteristic the engines use.  Transports
 * map them to handles by UUID (miband_channel_uuid()).
 */
enum miband_channel {
	MIBAND_CH_AUTH = 0,     /* FEE1 / H(0009) */
	MIBAND_CH_TIME,         /* FEE0 / 2A2B */
	MIBAND_CH_BATTERY,      /* FEE0 / H(0006) */
	MIBAND_CH_STEPS,        /* FEE0 / H(0007) */
	MIBAND_CH_EVENTS,       /* FEE0 / H(0010) */
	MIBAND_CH_FETCH_CTL,    /* FEE0 / H(0004) */
	MIBAND_CH_FETCH_DATA,   /* FEE0 / H(0005) */
	MIBAND_CH_CONFIG,       /* FEE0 / H(0003) */
	MIBAND_CH_USER,         /* FEE0 / H(0008) */
	MIBAND_CH_CHUNKED,      /* FEE0 / H(0020) */
	MIBAND_CH_SENSOR_CTL,   /* FEE0 / H(0001) */
	MIBAND_CH_SENSOR_DATA,  /* FEE0 / H(0002) */
	MIBAND_CH_HR_MEAS,      /* 180D / 2A37 */
	MIBAND_CH_HR_CTL,       /* 180D / 2A39 */
	MIBAND_CH_ALERT,        /* 1802 / 2A06 */
	MIBAND_CH_NEW_ALERT,    /* 1811 / 2A46 */
	MIBAND_CH_DEVICE_NAME,  /* 1800 / 2A00 */
	MIBAND_CH_DIS_SERIAL,   /* 180A / 2A25 */
	MIBAND_CH_DIS_HW_REV,   /* 180A / 2A27 */
	MIBAND_CH_DIS_SW_REV,   /* 180A / 2A28 */
	MIBAND_CH_DIS_SYSTEM_ID,/* 180A / 2A23 */
	MIBAND_CH_DIS_PNP_ID,   /* 180A / 2A50 */
	MIBAND_CH_COUNT
};

/* GATT characteristic properties (the ATT bit values). */
#define MIBAND_PROP_READ 0x02u
#define MIBAND_PROP_WRITE_NR 0x04u /* write without response */
#define MIBAND_PROP_WRITE 0x08u
#define MIBAND_PROP_NOTIFY 0x10u
#define MIBAND_PROP_INDICATE 0x20u

struct miband_channel_info {
	enum miband_channel channel;
	const char *name;      /* "auth", "battery", ... */
	uint16_t service16;    /* 16-bit service UUID (FEE0, FEE1, 180D...) */
	uint16_t uuid16;       /* 16-bit short form of the characteristic */
	bool huami_base;       /* uuid16 expands on the Huami base UUID */
	uint8_t props;         /* MIBAND_PROP_* as on a Mi Band 3 */
};

/* NULL for an out-of-range channel. */
const struct miband_channel_info *miband_channel_info(enum miband_channel ch);
/* Writes the 36-char lower-case UUID and a NUL into buf[37].  Returns 0,
 * MIBAND_E_INVAL (unknown channel, buf NULL) or MIBAND_E_NOSPACE
 * (cap < 37). */
int miband_channel_uuid(enum miband_channel ch, char *buf, size_t cap);
/* Same for a UUID16 on the Huami or the SIG base; same returns. */
int miband_uuid16_str(uint16_t uuid16, bool huami_base, char *buf, size_t cap);
/* Reverse lookup of a 36-char UUID string (case-insensitive).  Returns 0,
 * or MIBAND_E_INVAL (NULL, not a UUID, or no channel of ours). */
int miband_channel_from_uuid(const char *uuid, enum miband_channel *ret_ch);

/*
 * Key material in logs and traces: the bytes of a packet from this offset
 * on must not be shown (zero them or leave them out), unless the user
 * asked for secrets.  It is the one redaction rule of the library and its
 * programs, for the client's and the band's side alike:
 *   - on MIBAND_CH_AUTH, from the client: the set-key write (01 xx <key>)
 *     and the encrypted answer (03|83 xx <AES(key, random)>), from byte 2;
 *   - on MIBAND_CH_CHUNKED, from the client: an old chunked message of
 *     type 4 (00 <flags|4> <counter> <auth data>, Mi Fit's auth on MB4),
 *     from byte 3;
 *   - any packet the client engine flagged secret (miband_action.secret),
 *     from byte 2.
 * to_band: the packet goes from the client to the band.  Returns len
 * (nothing to hide) otherwise; never more than len.
 */
size_t miband_redact_from(enum miband_channel ch, bool to_band,
			  const uint8_t *data, size_t len, bool secret);

/* Which way a GATT packet goes. */
enum miband_link_dir {
	MIBAND_LINK_TO_BAND = 0, /* writes, subscribes, reads */
	MIBAND_LINK_TO_CLIENT,   /* notifications, read values, write acks */
};

/*
 * Observes one GATT packet (the in-process link and the BlueZ transport
 * report the same stream).  kind is an enum miband_action_type:
 *   to the band: SUBSCRIBE, UNSUBSCRIBE, WRITE (data), READ (no data);
 *   to the client: READ (the value read), WRITE (len 0: a write request's
 *   acknowledgement), EVENT (a notification), DISCONNECT.
 * secret is the client engine's flag for the packet (miband_action.secret);
 * redact with miband_redact_from().  now is the transport's clock in ms.
 */
typedef void (*miband_trace_fn)(enum miband_link_dir dir, int kind,
				enum miband_channel ch, const uint8_t *data,
				size_t len, bool secret, uint64_t now,
				void *user_data);

/* Date and time as the band encodes it (local time plus offset). */
struct miband_time {
	uint16_t year;
	uint8_t month;   /* 1..12 */
	uint8_t day;     /* 1..31 */
	uint8_t hour;
	uint8_t minute;
	uint8_t second;
	uint8_t dow;     /* 1 = Monday .. 7 = Sunday; 0 = not given */
	int8_t tz;       /* UTC offset in quarter hours, DST included */
};

struct miband_battery {
	uint8_t level;           /* percent */
	bool charging;
	struct miband_time last_off;    /* previous battery event */
	struct miband_time last_charge;
	uint8_t last_charge_level;      /* percent */
};

struct miband_steps {
	uint32_t steps;
	uint32_t meters;
	uint32_t kcal;
	bool has_distance;   /* false for the short 5-byte form */
};

/* Device event codes notified on MIBAND_CH_EVENTS (PROTOCOL.md 4.9). */
enum miband_device_event_code {
	MIBAND_DEV_FELL_ASLEEP = 0x01,
	MIBAND_DEV_WOKE_UP = 0x02,
	MIBAND_DEV_GOAL_REACHED = 0x03,
	MIBAND_DEV_BUTTON = 0x04,
	MIBAND_DEV_NON_WEAR = 0x06,
	MIBAND_DEV_CALL_REJECTED = 0x07,
	MIBAND_DEV_FIND_PHONE_START = 0x08,
	MIBAND_DEV_CALL_IGNORED = 0x09,
	MIBAND_DEV_ALARM_TOGGLED = 0x0a,
	MIBAND_DEV_BUTTON_LONG = 0x0b,
	MIBAND_DEV_TICK_30MIN = 0x0e,
	MIBAND_DEV_FIND_PHONE_STOP = 0x0f,
	MIBAND_DEV_SILENT_MODE = 0x10,
	MIBAND_DEV_WORKOUT_START = 0x14,
	MIBAND_DEV_MTU = 0x16,
	MIBAND_DEV_ALARM_CHANGED = 0x1a,
	MIBAND_DEV_MUSIC = 0xfe,
};

struct miband_device_event {
	uint8_t code;     /* enum miband_device_event_code, or unknown */
	uint16_t arg;     /* second byte (music action, silent on/off) or MTU */
	const char *name; /* "button", "find-phone-start", "unknown" */
};

/* Device Information fields. */
enum miband_devinfo {
	MIBAND_DEVINFO_SERIAL = 0,
	MIBAND_DEVINFO_HW_REV,
	MIBAND_DEVINFO_SW_REV,
	MIBAND_DEVINFO_SYSTEM_ID,
	MIBAND_DEVINFO_PNP_ID,
	MIBAND_DEVINFO_NAME,
	MIBAND_DEVINFO_COUNT
};

/* One minute of activity history (PROTOCOL.md 5). */
struct miband_sample {
	uint8_t kind;       /* raw kind byte; low nibble is the activity kind */
	uint8_t intensity;
	uint8_t steps;
	uint8_t heart_rate; /* 0xff or 0: not measured */
};

/* Activity kinds: the low nibble of the raw kind byte (PROTOCOL.md 5). */
enum miband_activity_kind {
	MIBAND_KIND_SAME = 0,
	MIBAND_KIND_ACTIVITY = 1,
	MIBAND_KIND_RUNNING = 2,
	MIBAND_KIND_NOT_WORN = 3,
	MIBAND_KIND_BIKE = 4,
	MIBAND_KIND_CHARGING = 6,
	MIBAND_KIND_LIGHT_SLEEP = 9,
	MIBAND_KIND_IGNORE = 10,
	MIBAND_KIND_DEEP_SLEEP = 11,
	MIBAND_KIND_WAKE_UP = 12,
};
/* "light-sleep" etc. for a raw kind byte; "unknown" for others. */
const char *miband_activity_kind_name(uint8_t raw_kind);
/* A measured heart rate (not 0, not 0xff). */
bool miband_heart_rate_valid(uint8_t hr);

#ifdef __cplusplus
}
#endif
#endif
