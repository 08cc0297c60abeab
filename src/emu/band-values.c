/*
 * The band engine's values: its defaults and names, what it reports when
 * read (device information, battery, steps, time), and the live heart
 * rate.  Part of the band engine (band.c says how it works).
 *
 * How it works: every value is computed, never stored: from the model,
 * the seed (serial, system id, heart rate), the band clock (time, steps
 * of the day from the history) and the battery level the embedding set.
 * Reads are answered at once; protected values need an authenticated
 * client, like on a real band.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miband/band.h"
#include "miband/codec.h"

#include "band-int.h"

/* ---- defaults and names ---- */

void miband_band_config_init(struct miband_band_config *cfg,
			     enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->model = model;
	cfg->crypto = NULL;
	cfg->pairing = MIBAND_PAIRING_ACCEPT;
	cfg->tap_delay_ms = 1500;
	cfg->prompt_timeout_ms = 30000;
	cfg->unauth_drop_ms = 30000;
	cfg->hr_continuous_ms = 15000;
	cfg->hr_measure_ms = 3000;
	cfg->reject_setkey_flag08 = false;
	cfg->seed = 1;
	cfg->start_unix = 1559390400; /* 2019-06-01 12:00 UTC: MB3 era */
	cfg->tz = 0;
	cfg->history_days = 100;
	cfg->fetch_batch_max = 1440;
	cfg->battery_level = 80;
}

const char *miband_band_event_name(enum miband_band_event_type type)
{
	switch (type) {
	case MIBAND_BAND_EV_PAIR_PROMPT:
		return "pair-prompt";
	case MIBAND_BAND_EV_PAIRED:
		return "paired";
	case MIBAND_BAND_EV_PAIR_DECLINED:
		return "pair-declined";
	case MIBAND_BAND_EV_AUTHED:
		return "authed";
	case MIBAND_BAND_EV_AUTH_FAILED:
		return "auth-failed";
	case MIBAND_BAND_EV_ALERT:
		return "alert";
	case MIBAND_BAND_EV_CALL:
		return "call";
	case MIBAND_BAND_EV_CALL_STOP:
		return "call-stop";
	case MIBAND_BAND_EV_TEXT:
		return "text";
	case MIBAND_BAND_EV_CONFIG:
		return "config";
	case MIBAND_BAND_EV_USER:
		return "user";
	case MIBAND_BAND_EV_TIME_SET:
		return "time-set";
	case MIBAND_BAND_EV_HR_START:
		return "hr-start";
	case MIBAND_BAND_EV_HR_STOP:
		return "hr-stop";
	case MIBAND_BAND_EV_FETCH_ACK:
		return "fetch-ack";
	case MIBAND_BAND_EV_UNAUTH_DROP:
		return "unauth-drop";
	}
	return "unknown";
}

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	h *= 0x846ca68bu;
	h ^= h >> 16;
	return h;
}

uint8_t miband__band_props(const struct miband_band *b, enum miband_channel ch)
{
	const struct miband_gatt_table *t = miband_gatt_table(b->cfg.model);
	size_t i;

	if (!t)
		return 0;
	for (i = 0; i < t->n_attrs; i++)
		if (t->attrs[i].channel == (int)ch)
			return t->attrs[i].props;
	return 0;
}

/* ---- values the band reports ---- */

static int put_str(uint8_t *buf, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n > cap)
		n = cap;
	memcpy(buf, s, n);
	return (int)n;
}

static const char *sw_revision(enum miband_model m)
{
	switch (m) {
	case MIBAND_MODEL_MB2:
		return "V1.0.1.81"; /* the captured band (PROTOCOL.md 7.1) */
	case MIBAND_MODEL_MB3:
		return "V2.4.0.32"; /* last MB3 release (GB firmware list) */
	case MIBAND_MODEL_MB4:
		return "V1.0.9.66"; /* satcar77/miband4 #48 */
	default:
		return "V1.0.2.66"; /* plausible, not observed */
	}
}

static const char *hw_revision(enum miband_model m)
{
	/* Only the Mi Band 2 value is observed (PROTOCOL.md 1.1, MX). */
	return m == MIBAND_MODEL_MB2 ? "V0.1.3.2" : "V0.3.3.2";
}

static int read_serial(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t s[12];
	uint32_t h1 = mix32(b->cfg.seed ^ 0x5e71a1u);
	uint32_t h2 = mix32(h1 ^ (uint32_t)b->cfg.model);
	unsigned i;

	for (i = 0; i < 12; i++) {
		uint32_t h = i < 8 ? h1 : h2;

		s[i] = (uint8_t)hex[h >> (4 * (i % 8)) & 0xfu];
	}
	if (cap > sizeof(s))
		cap = sizeof(s);
	memcpy(buf, s, cap);
	return (int)cap;
}

static int read_system_id(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	uint8_t v[8];
	uint32_t h = mix32(b->cfg.seed ^ 0x51d0u);
	unsigned i;

	/* EUI-64 style as on the MB2 (xx xx xx ff fe xx xx xx). */
	for (i = 0; i < 3; i++)
		v[i] = (uint8_t)(h >> (8 * i));
	v[3] = 0xff;
	v[4] = 0xfe;
	h = mix32(h);
	for (i = 5; i < 8; i++)
		v[i] = (uint8_t)(h >> (8 * (i - 5)));
	if (cap > sizeof(v))
		cap = sizeof(v);
	memcpy(buf, v, cap);
	return (int)cap;
}

static int read_pnp_id(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	/* Vendor 0x0157 (Huami, SIG source); product 0x0004 is the MB2's
	 * (observed); the others' product ids are made up. */
	uint8_t v[7] = {0x01, 0x57, 0x01, 0x00, 0x00, 0x00, 0x01};

	v[3] = (uint8_t)(4u + 3u * (unsigned)b->cfg.model);
	if (cap > sizeof(v))
		cap = sizeof(v);
	memcpy(buf, v, cap);
	return (int)cap;
}

uint32_t miband__band_steps_now(const struct miband_band *b, uint64_t now)
{
	return miband_history_steps_today(b->cfg.seed,
					  miband_band_clock(b, now), b->cfg.tz);
}

int miband__band_encode_steps(const struct miband_band *b, uint64_t now,
			      uint8_t *buf, size_t cap)
{
	struct miband_steps s;

	s.steps = miband__band_steps_now(b, now);
	s.meters = s.steps * 7u / 10u; /* a 70 cm stride */
	s.kcal = s.steps / 25u;
	s.has_distance = true;
	return miband_encode_steps(buf, cap, &s);
}

static int encode_battery(const struct miband_band *b, uint8_t *buf, size_t cap)
{
	struct miband_battery bat;
	int64_t start = b->cfg.start_unix;

	memset(&bat, 0, sizeof(bat));
	bat.level = b->battery_level;
	bat.charging = b->charging != 0;
	/* Taken off the charger two days before start, full. */
	miband_time_from_unix(start - 2 * 86400 + 3600, b->cfg.tz,
			      &bat.last_charge);
	miband_time_from_unix(start - 2 * 86400, b->cfg.tz, &bat.last_off);
	bat.last_charge.dow = 0;
	bat.last_off.dow = 0;
	bat.last_charge_level = 100;
	return miband_encode_battery(buf, cap, &bat);
}

static int encode_clock(const struct miband_band *b, uint64_t now, uint8_t *buf,
			size_t cap)
{
	struct miband_time t;

	miband_time_from_unix(miband_band_clock(b, now), b->cfg.tz, &t);
	return miband_encode_time(buf, cap, &t);
}

/* A plausible live heart rate for the band clock's second. */
uint8_t miband__band_live_bpm(const struct miband_band *b, uint64_t now)
{
	int64_t s = miband_band_clock(b, now);
	uint32_t slow = mix32(b->cfg.seed ^ (uint32_t)(s / 20));
	uint32_t fast = mix32(b->cfg.seed + (uint32_t)s * 0x9e3779b9u);

	return (uint8_t)(62u + slow % 25u + fast % 5u);
}

int miband_band_read(struct miband_band *b, enum miband_channel ch,
		     uint64_t now, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t v[MIBAND_BAND_VALUE_MAX];
	int n;

	if ((unsigned)ch >= MIBAND_CH_COUNT || !miband__band_props(b, ch))
		return MIBAND_ATT_REQUEST_NOT_SUPPORTED;
	if (!(miband__band_props(b, ch) & MIBAND_PROP_READ))
		return MIBAND_ATT_READ_NOT_PERMITTED;
	if (!buf && cap)
		return MIBAND_ATT_UNLIKELY;
	switch (ch) {
	case MIBAND_CH_DEVICE_NAME:
		n = put_str(v, sizeof(v),
			    miband_gatt_table(b->cfg.model)->device_name);
		break;
	case MIBAND_CH_DIS_SERIAL:
		n = read_serial(b, v, sizeof(v));
		break;
	case MIBAND_CH_DIS_HW_REV:
		n = put_str(v, sizeof(v), hw_revision(b->cfg.model));
		break;
	case MIBAND_CH_DIS_SW_REV:
		n = put_str(v, sizeof(v), sw_revision(b->cfg.model));
		break;
	case MIBAND_CH_DIS_SYSTEM_ID:
		n = read_system_id(b, v, sizeof(v));
		break;
	case MIBAND_CH_DIS_PNP_ID:
		n = read_pnp_id(b, v, sizeof(v));
		break;
	case MIBAND_CH_AUTH:
		/* The last reply stays readable (MX read 10 03 01). */
		n = b->auth_last[0] ? 3 : 0;
		memcpy(v, b->auth_last, 3);
		break;
	default:
		if (!b->authed)
			return MIBAND_ATT_INSUFFICIENT_AUTHN;
		switch (ch) {
		case MIBAND_CH_BATTERY:
			n = encode_battery(b, v, sizeof(v));
			break;
		case MIBAND_CH_STEPS:
			n = miband__band_encode_steps(b, now, v, sizeof(v));
			break;
		case MIBAND_CH_TIME:
			n = encode_clock(b, now, v, sizeof(v));
			break;
		default:
			n = 0; /* HR control point, chunked: empty */
			break;
		}
		break;
	}
	if (n < 0)
		return MIBAND_ATT_UNLIKELY;
	/* A short buffer gets the first bytes, as a plain ATT read. */
	if ((size_t)n > cap)
		n = (int)cap;
	if (n)
		memcpy(buf, v, (size_t)n);
	*ret_len = (size_t)n;
	return MIBAND_ATT_OK;
}
