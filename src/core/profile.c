/*
 * GATT profile tables and per-model facts (PROTOCOL.md 1.1, 2.2, 4.6).
 *
 * One const table maps each logical channel to its service, its 16-bit
 * characteristic UUID (on the Huami or the Bluetooth SIG base) and the
 * properties a Mi Band 3 advertises.  Transports look characteristics up
 * by the UUID strings built here; the band engine serves the same table.
 * Also here: the per-model flags and limits, and the names of the
 * activity kinds of history samples.  Declarations: types.h.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/types.h"

#include "hex.h"

#include <string.h>

#define R MIBAND_PROP_READ
#define WNR MIBAND_PROP_WRITE_NR
#define W MIBAND_PROP_WRITE
#define N MIBAND_PROP_NOTIFY

#define CH(ch, name, svc, uuid, huami, props) \
	[ch] = {ch, name, svc, uuid, huami, (uint8_t)(props)}

static const struct miband_channel_info channel_table[MIBAND_CH_COUNT] = {
	CH(MIBAND_CH_AUTH, "auth", 0xfee1, 0x0009, true, R | WNR | N),
	CH(MIBAND_CH_TIME, "time", 0xfee0, 0x2a2b, false, R | W | N),
	CH(MIBAND_CH_BATTERY, "battery", 0xfee0, 0x0006, true, R | N),
	CH(MIBAND_CH_STEPS, "steps", 0xfee0, 0x0007, true, R | N),
	CH(MIBAND_CH_EVENTS, "events", 0xfee0, 0x0010, true, N),
	CH(MIBAND_CH_FETCH_CTL, "fetch-ctl", 0xfee0, 0x0004, true, WNR | N),
	CH(MIBAND_CH_FETCH_DATA, "fetch-data", 0xfee0, 0x0005, true, N),
	CH(MIBAND_CH_CONFIG, "config", 0xfee0, 0x0003, true, WNR | N),
	CH(MIBAND_CH_USER, "user", 0xfee0, 0x0008, true, W | N),
	CH(MIBAND_CH_CHUNKED, "chunked", 0xfee0, 0x0020, true, R | WNR | N),
	CH(MIBAND_CH_SENSOR_CTL, "sensor-ctl", 0xfee0, 0x0001, true, WNR | N),
	CH(MIBAND_CH_SENSOR_DATA, "sensor-data", 0xfee0, 0x0002, true, N),
	CH(MIBAND_CH_HR_MEAS, "hr-meas", 0x180d, 0x2a37, false, N),
	CH(MIBAND_CH_HR_CTL, "hr-ctl", 0x180d, 0x2a39, false, R | W),
	CH(MIBAND_CH_ALERT, "alert", 0x1802, 0x2a06, false, WNR),
	CH(MIBAND_CH_NEW_ALERT, "new-alert", 0x1811, 0x2a46, false, W),
	CH(MIBAND_CH_DEVICE_NAME, "device-name", 0x1800, 0x2a00, false, R),
	CH(MIBAND_CH_DIS_SERIAL, "serial", 0x180a, 0x2a25, false, R),
	CH(MIBAND_CH_DIS_HW_REV, "hw-rev", 0x180a, 0x2a27, false, R),
	CH(MIBAND_CH_DIS_SW_REV, "sw-rev", 0x180a, 0x2a28, false, R),
	CH(MIBAND_CH_DIS_SYSTEM_ID, "system-id", 0x180a, 0x2a23, false, R),
	CH(MIBAND_CH_DIS_PNP_ID, "pnp-id", 0x180a, 0x2a50, false, R),
};

#undef R
#undef WNR
#undef W
#undef N

/* Everything after the 8 hex digits of "0000xxxx". */
static const char huami_tail[] = "-0000-3512-2118-0009af100700";
static const char sig_tail[] = "-0000-1000-8000-00805f9b34fb";

static const char hexdig[] = "0123456789abcdef";

const struct miband_channel_info *miband_channel_info(enum miband_channel ch)
{
	if ((unsigned)ch >= MIBAND_CH_COUNT)
		return NULL;
	return &channel_table[ch];
}

int miband_uuid16_str(uint16_t uuid16, bool huami_base, char *buf, size_t cap)
{
	const char *tail = huami_base ? huami_tail : sig_tail;
	unsigned i;

	if (!buf)
		return MIBAND_E_INVAL;
	if (cap < 37)
		return MIBAND_E_NOSPACE;
	memcpy(buf, "0000", 4);
	for (i = 0; i < 4; i++)
		buf[4 + i] = hexdig[((unsigned)uuid16 >> (12 - 4 * i)) & 0xfu];
	memcpy(buf + 8, tail, sizeof(huami_tail)); /* 28 chars and the NUL */
	return 0;
}

int miband_channel_uuid(enum miband_channel ch, char *buf, size_t cap)
{
	const struct miband_channel_info *ci = miband_channel_info(ch);

	if (!ci)
		return MIBAND_E_INVAL;
	return miband_uuid16_str(ci->uuid16, ci->huami_base, buf, cap);
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive compare of n chars with a lower-case reference. */
static bool eq_lower(const char *s, const char *ref, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(s[i]) != ref[i])
			return false;
	return true;
}

/* Parses 4 hex digits; -1 if any is not hex. */
static int32_t parse_hex4(const char *s)
{
	int32_t v = 0;
	unsigned i;

	for (i = 0; i < 4; i++) {
		int d = miband__hexval(s[i]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

int miband_channel_from_uuid(const char *uuid, enum miband_channel *ret_ch)
{
	int32_t u16;
	bool huami;
	size_t len;
	unsigned i;

	if (!uuid || !ret_ch)
		return MIBAND_E_INVAL;
	len = strlen(uuid);
	if (len == 4) {
		/* A bare 16-bit UUID names a SIG-base characteristic. */
		u16 = parse_hex4(uuid);
		huami = false;
	} else if (len == 36) {
		if (!eq_lower(uuid, "0000", 4))
			return MIBAND_E_INVAL;
		u16 = parse_hex4(uuid + 4);
		if (eq_lower(uuid + 8, huami_tail, 28))
			huami = true;
		else if (eq_lower(uuid + 8, sig_tail, 28))
			huami = false;
		else
			return MIBAND_E_INVAL;
	} else {
		return MIBAND_E_INVAL;
	}
	if (u16 < 0)
		return MIBAND_E_INVAL;
	for (i = 0; i < MIBAND_CH_COUNT; i++) {
		if (channel_table[i].uuid16 == (uint16_t)u16 &&
		    channel_table[i].huami_base == huami) {
			*ret_ch = channel_table[i].channel;
			return 0;
		}
	}
	return MIBAND_E_INVAL;
}

/* ---- models ---- */

struct model_entry {
	const char *name;
	const char *display;
	uint8_t auth_flags;
	uint8_t crypt_flags;
	uint16_t text_limit;
};

static const struct model_entry model_table[MIBAND_MODEL_COUNT] = {
	/* MB2 shows text through New Alert: 20 - category - count. */
	[MIBAND_MODEL_MB2] = {"mb2", "Mi Band 2", 0x08, 0x00, 18},
	[MIBAND_MODEL_MB3] = {"mb3", "Mi Band 3", 0x00, 0x00, 230},
	[MIBAND_MODEL_MB4] = {"mb4", "Mi Band 4", 0x08, 0x80, 230},
	[MIBAND_MODEL_MB5] = {"mb5", "Mi Band 5", 0x08, 0x80, 230},
	[MIBAND_MODEL_MB6] = {"mb6", "Mi Band 6", 0x08, 0x80, 230},
};

const char *miband_model_name(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return NULL;
	return model_table[model].name;
}

const char *miband_model_display_name(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return NULL;
	return model_table[model].display;
}

int miband_model_parse(const char *s, enum miband_model *ret_model)
{
	char norm[16];
	size_t n = 0;
	const char *digit;
	unsigned i;

	if (!s || !ret_model)
		return MIBAND_E_INVAL;
	/* Lower-case, without spaces, dashes and underscores. */
	for (; *s; s++) {
		if (*s == ' ' || *s == '-' || *s == '_')
			continue;
		if (n + 1 >= sizeof(norm))
			return MIBAND_E_INVAL;
		norm[n++] = lower(*s);
	}
	norm[n] = '\0';
	if (n == 1)
		digit = norm;
	else if (n == 3 && !memcmp(norm, "mb", 2))
		digit = norm + 2;
	else if (n == 7 && !memcmp(norm, "miband", 6))
		digit = norm + 6;
	else
		return MIBAND_E_INVAL;
	for (i = 0; i < MIBAND_MODEL_COUNT; i++) {
		if (model_table[i].name[2] == digit[0]) {
			*ret_model = (enum miband_model)i;
			return 0;
		}
	}
	return MIBAND_E_INVAL;
}

uint8_t miband_model_auth_flags(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return 0;
	return model_table[model].auth_flags;
}

uint8_t miband_model_crypt_flags(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return 0;
	return model_table[model].crypt_flags;
}

size_t miband_text_limit(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return 0;
	return model_table[model].text_limit;
}

static const char *const kind_names[16] = {
	[MIBAND_KIND_SAME] = "same",
	[MIBAND_KIND_ACTIVITY] = "activity",
	[MIBAND_KIND_RUNNING] = "running",
	[MIBAND_KIND_NOT_WORN] = "not-worn",
	[MIBAND_KIND_BIKE] = "bike",
	[MIBAND_KIND_CHARGING] = "charging",
	[MIBAND_KIND_LIGHT_SLEEP] = "light-sleep",
	[MIBAND_KIND_IGNORE] = "ignore",
	[MIBAND_KIND_DEEP_SLEEP] = "deep-sleep",
	[MIBAND_KIND_WAKE_UP] = "wake-up",
};

const char *miband_activity_kind_name(uint8_t raw_kind)
{
	const char *n = kind_names[raw_kind & 0x0f];

	return n ? n : "unknown";
}

bool miband_heart_rate_valid(uint8_t hr)
{
	return hr != 0 && hr != 0xff;
}

/* Old chunked transfer type 4: auth data (PROTOCOL.md 4.6.3, 2.2). */
#define CHUNK_TYPE_AUTH 4u

size_t miband_redact_from(enum miband_channel ch, bool to_band,
			  const uint8_t *data, size_t len, bool secret)
{
	size_t from = len;
	unsigned cmd;

	if (!data || !len)
		return 0;
	if (to_band && ch == MIBAND_CH_AUTH && len > 2) {
		cmd = data[0] & 0x0fu;
		if (cmd == MIBAND_AUTH_CMD_SET_KEY ||
		    cmd == MIBAND_AUTH_CMD_ANSWER)
			from = 2;
	} else if (to_band && ch == MIBAND_CH_CHUNKED && len > 3 &&
		   (data[1] & 0x0fu) == CHUNK_TYPE_AUTH) {
		from = 3;
	}
	if (secret && from > 2)
		from = 2;
	return from;
}
