/*
 * The emulated band's activity history: a deterministic function of a
 * seed and a unix minute, so the band keeps no history in RAM and a test
 * can compute exactly what a fetch must deliver.
 *
 * The day is scheduled in UTC (the function has no time zone): a night of
 * sleep from a per-day bedtime between 22:00 and 00:30 to a wake-up time
 * between 06:00 and 08:00, in cycles of 85..104 minutes that start with
 * light sleep (kind 9) and carry a deep-sleep phase (kind 11) that
 * shortens in later cycles; the waking day is activity (kind 1) whose
 * steps follow an hourly activity level with walks; some mornings the
 * band is off the wrist for a shower (kind 3) and some evenings it is on
 * its charger (kind 6).  Heart rate is measured about one minute in ten
 * (0xff otherwise): 50..64 asleep, 60..150 awake, higher when walking.
 *
 * Everything is integer hashing (no floats, no state), cheap enough to
 * recompute a day of minutes for the realtime step count.
 *
 * The fetch (PROTOCOL.md 5) lives here too: miband__band_fetch_write
 * answers the client's 01 / 02 / 03 and miband__band_fetch_pump sends
 * packets of FETCH_PER_PACKET samples from on_timeout, one per
 * millisecond of virtual time, leaving FETCH_RESERVE ring slots free.
 */
#include <string.h>

#include "miband/band.h"
#include "miband/codec.h"

#include "band-int.h"

#define DAY_MIN 1440u

/* A 32-bit avalanche mix (the murmur3 finaliser) over three words. */
static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t hash3(uint32_t seed, uint32_t a, uint32_t b)
{
	uint32_t h = mix32(seed ^ 0x6a09e667u);

	h = mix32(h ^ a ^ 0x9e3779b9u);
	return mix32(h + b * 0x27d4eb2fu);
}

/* Salts that keep the per-day and per-minute streams apart. */
enum {
	SALT_BED = 1,
	SALT_WAKE,
	SALT_CYCLE,
	SALT_HOUR,
	SALT_MINUTE,
	SALT_SHOWER,
	SALT_CHARGE,
	SALT_HR,
};

/* Bedtime of the night that ends on day d, minutes from d's midnight
 * (negative: the evening before).  -120 .. +30. */
static int32_t bedtime(uint32_t seed, uint32_t day)
{
	return (int32_t)(hash3(seed, SALT_BED, day) % 151u) - 120;
}

/* Wake-up time on day d, minutes from midnight: 360 .. 480. */
static int32_t waketime(uint32_t seed, uint32_t day)
{
	return 360 + (int32_t)(hash3(seed, SALT_WAKE, day) % 121u);
}

/* Minutes since the bedtime if minute-of-day mod of day is asleep. */
static bool asleep(uint32_t seed, uint32_t day, uint32_t mod, uint32_t *ret_t,
		   uint32_t *ret_night)
{
	int32_t m = (int32_t)mod, bed;

	if (m >= (int32_t)DAY_MIN - 120) {
		/* Evening: the night that ends tomorrow may have begun. */
		bed = bedtime(seed, day + 1);
		if (m - (int32_t)DAY_MIN >= bed) {
			*ret_t = (uint32_t)(m - (int32_t)DAY_MIN - bed);
			*ret_night = day + 1;
			return true;
		}
		return false;
	}
	bed = bedtime(seed, day);
	if (m >= bed && m < waketime(seed, day)) {
		*ret_t = (uint32_t)(m - bed);
		*ret_night = day;
		return true;
	}
	return false;
}

static void sleep_sample(uint32_t seed, uint32_t minute, uint32_t t,
			 uint32_t night, struct miband_sample *ret)
{
	uint32_t cycle = 85u + hash3(seed, SALT_CYCLE, night) % 20u;
	uint32_t n = t / cycle, pos = t % cycle;
	uint32_t deep = n < 4 ? 45u - 10u * n : 0u;
	uint32_t r = hash3(seed, SALT_MINUTE, minute);

	/* Falling asleep and the top of every cycle are light sleep. */
	ret->kind = pos >= 15u && pos < 15u + deep ? 11 : 9;
	ret->intensity = (uint8_t)(r % (ret->kind == 11 ? 4u : 12u));
	ret->steps = 0;
	ret->heart_rate =
		(r >> 8) % 10u == 0 ? (uint8_t)(50u + (r >> 16) % 15u) : 0xff;
}

static void day_sample(uint32_t seed, uint32_t minute, uint32_t day,
		       uint32_t mod, struct miband_sample *ret)
{
	uint32_t r = hash3(seed, SALT_MINUTE, minute);
	uint32_t hr = hash3(seed, SALT_HOUR, minute / 60u);
	uint32_t level = (uint32_t) "\0\0\0\1\1\1\2\3"[hr % 8u];
	uint32_t walk_from = hr / 8u % 30u, walk_len = 15u + hr / 240u % 16u;
	uint32_t wake = (uint32_t)waketime(seed, day);
	uint32_t sh = hash3(seed, SALT_SHOWER, day);
	uint32_t ch = hash3(seed, SALT_CHARGE, day);
	uint32_t steps;

	/* One morning in four: a 15..34 minute shower, band off. */
	if (sh % 4u == 0 && mod >= wake + 20u &&
	    mod < wake + 35u + sh / 4u % 20u) {
		ret->kind = 3;
		goto idle;
	}
	/* One evening in five: 60..119 minutes on the charger from 19:xx. */
	if (ch % 5u == 0 && mod >= 1140u + ch / 5u % 60u &&
	    mod < 1200u + ch / 5u % 60u + ch / 300u % 60u) {
		ret->kind = 6;
		goto idle;
	}
	ret->kind = 1;
	/* Hourly level 0 desk, 1 pottering, 2 on the move, 3 a walk of
	 * 15..30 minutes somewhere in the hour. */
	if (level == 3u && mod % 60u >= walk_from &&
	    mod % 60u < walk_from + walk_len && r % 8u != 0)
		steps = 90u + r / 8u % 40u;
	else if (r % (8u - 2u * (level % 3u)) == 0)
		steps = 10u + r / 8u % (20u + 30u * level);
	else
		steps = r / 8u % 3u == 0 ? r / 24u % 6u : 0u;
	ret->steps = (uint8_t)steps;
	ret->intensity = (uint8_t)(steps + (r >> 20) % 20u);
	ret->heart_rate =
		(r >> 12) % 10u == 0
			? (uint8_t)(60u + steps / 2u + (r >> 24) % 25u)
			: 0xff;
	return;
idle:
	ret->intensity = 0;
	ret->steps = 0;
	ret->heart_rate = 0xff;
}

void miband_history_sample(uint32_t seed, uint32_t unix_minute,
			   struct miband_sample *ret)
{
	uint32_t day = unix_minute / DAY_MIN, mod = unix_minute % DAY_MIN;
	uint32_t t, night;

	if (asleep(seed, day, mod, &t, &night))
		sleep_sample(seed, unix_minute, t, night, ret);
	else
		day_sample(seed, unix_minute, day, mod, ret);
}

uint32_t miband_history_steps_today(uint32_t seed, int64_t unix_s, int8_t tz)
{
	int64_t local = unix_s + (int64_t)tz * 900;
	int64_t midnight, m, now_min;
	uint32_t sum = 0;
	struct miband_sample s;

	if (unix_s < 0)
		return 0;
	midnight = local - (local % 86400 + 86400) % 86400 - (int64_t)tz * 900;
	/* Minutes completed since local midnight. */
	now_min = unix_s / 60;
	for (m = midnight < 0 ? 0 : midnight / 60; m < now_min; m++) {
		miband_history_sample(seed, (uint32_t)m, &s);
		sum += s.steps;
	}
	return sum;
}

/* ---- history fetch (PROTOCOL.md 5) ---- */

static uint32_t history_first_minute(const struct miband_band *b)
{
	int64_t m =
		b->cfg.start_unix / 60 - (int64_t)b->cfg.history_days * 1440;

	return m < 0 ? 0u : (uint32_t)m;
}

/* First minute not yet complete on the band clock. */
static uint32_t history_end_minute(const struct miband_band *b, uint64_t now)
{
	int64_t m = miband_band_clock(b, now) / 60;

	if (m < 0)
		return 0;
	return m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* A refusal or an end of batch: 10 <cmd> <status>. */
static void fetch_reply(struct miband_band *b, uint8_t cmd, uint8_t status)
{
	uint8_t reply[3];

	if (miband_encode_fetch_reply(reply, sizeof(reply), cmd, status) == 3)
		(void)miband__band_notify(b, MIBAND_CH_FETCH_CTL, reply, 3);
}

static int fetch_start(struct miband_band *b,
		       const struct miband_fetch_request *f, uint64_t now)
{
	struct miband_time first;
	uint32_t m, start, end, count = 0;
	int64_t req;
	uint8_t reply[16];
	int n;

	req = miband_time_to_unix(&f->since) / 60;
	start = history_first_minute(b);
	end = history_end_minute(b, now);
	if (req < 0)
		m = 0;
	else if (req > (int64_t)UINT32_MAX)
		m = UINT32_MAX;
	else
		m = (uint32_t)req;
	if (m < start)
		m = start;
	/* Only activity (type 01) is kept; other types have nothing. */
	if (f->type == MIBAND_FETCH_TYPE_ACTIVITY && m < end)
		count = end - m < b->cfg.fetch_batch_max
				? end - m
				: b->cfg.fetch_batch_max;
	miband_time_from_unix((int64_t)m * 60, b->cfg.tz, &first);
	first.dow = 0;
	n = miband_encode_fetch_reply_start(reply, sizeof(reply), 0x01, count,
					    &first);
	if (n < 0)
		return MIBAND_ATT_UNLIKELY;
	(void)miband__band_notify(b, MIBAND_CH_FETCH_CTL, reply, (size_t)n);
	/* Nothing to send ends the round: a following 02 is refused. */
	b->fetch_state = count ? FETCH_READY : FETCH_IDLE;
	b->fetch_pos = m;
	b->fetch_left = count;
	b->fetch_counter = 0;
	b->fetch_next_at = NEVER;
	return MIBAND_ATT_OK;
}

int miband__band_fetch_write(struct miband_band *b, const uint8_t *data,
			     size_t len, uint64_t now)
{
	struct miband_fetch_request f;
	int r = miband_decode_fetch_request(data, len, &f);

	if (r == MIBAND_E_UNSUPPORTED)
		return MIBAND_ATT_OK;
	if (r == MIBAND_E_MALFORMED)
		return MIBAND_ATT_INVALID_LENGTH;
	switch (r < 0 ? MIBAND_FETCH_CMD_START : f.cmd) {
	case MIBAND_FETCH_CMD_START:
		if (miband__band_q_free(b) < 1)
			return MIBAND_ATT_UNLIKELY;
		if (r < 0) { /* a date that is none: 10 01 04 */
			fetch_reply(b, MIBAND_FETCH_CMD_START, 0x04);
			b->fetch_state = FETCH_IDLE;
			return MIBAND_ATT_OK;
		}
		return fetch_start(b, &f, now);
	case MIBAND_FETCH_CMD_GO:
		if (b->fetch_state != FETCH_READY) {
			if (miband__band_q_free(b) < 1)
				return MIBAND_ATT_UNLIKELY;
			fetch_reply(b, MIBAND_FETCH_CMD_GO, 0x04);
			return MIBAND_ATT_OK;
		}
		/* Packets (and the closing 10 02 01) go out from
		 * on_timeout, paced by fetch_next_at. */
		b->fetch_state = FETCH_SENDING;
		b->fetch_next_at = now;
		return MIBAND_ATT_OK;
	case MIBAND_FETCH_CMD_ACK:
		if (miband__band_q_free(b) < 2)
			return MIBAND_ATT_UNLIKELY;
		fetch_reply(b, MIBAND_FETCH_CMD_ACK, 0x01);
		(void)miband__band_event(b, MIBAND_BAND_EV_FETCH_ACK);
		b->fetch_state = FETCH_IDLE;
		b->fetch_left = 0;
		b->fetch_next_at = NEVER;
		return MIBAND_ATT_OK;
	}
	return MIBAND_ATT_OK;
}

/* Sends history packets due by now while the ring has room. */
void miband__band_fetch_pump(struct miband_band *b, uint64_t now)
{
	while (b->fetch_state == FETCH_SENDING && b->fetch_next_at <= now) {
		uint8_t pkt[1 + FETCH_PER_PACKET * MIBAND_SAMPLE_LEN];
		struct miband_sample s[FETCH_PER_PACKET];
		uint32_t i, n;
		int len;

		if (!b->fetch_left) {
			if (miband__band_q_free(b) < 1)
				return;
			fetch_reply(b, MIBAND_FETCH_CMD_GO, 0x01);
			b->fetch_state = FETCH_DONE;
			b->fetch_next_at = NEVER;
			return;
		}
		if (miband__band_q_free(b) <= FETCH_RESERVE)
			return;
		n = b->fetch_left < FETCH_PER_PACKET ? b->fetch_left
						     : FETCH_PER_PACKET;
		for (i = 0; i < n; i++)
			miband_history_sample(b->cfg.seed, b->fetch_pos + i,
					      &s[i]);
		len = miband_encode_fetch_packet(pkt, sizeof(pkt),
						 b->fetch_counter, s, n);
		if (len > 0)
			(void)miband__band_notify(b, MIBAND_CH_FETCH_DATA, pkt,
						  (size_t)len);
		b->fetch_counter++;
		b->fetch_pos += n;
		b->fetch_left -= n;
		/* One packet per millisecond of virtual time. */
		b->fetch_next_at = miband__band_add_ms(b->fetch_next_at, 1);
	}
}
