/*
 * Internal interface between the band engine's files (not installed):
 * band.c (the ring, lifecycle, auth, writes, timers), band-values.c (the
 * values the band reports, reads) and history.c (the minute history and
 * its fetch).
 */
#ifndef MIBAND_EMU_BAND_INT_H
#define MIBAND_EMU_BAND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/band.h"

#define NEVER UINT64_MAX

/* Slots history packets leave free for replies to writes. */
#define FETCH_RESERVE 2u
/* Samples per history packet at MTU 23: counter + 4 x 4 bytes. */
#define FETCH_PER_PACKET 4u

enum fetch_state {
	FETCH_IDLE = 0,
	FETCH_READY,   /* 10 01 01 sent, waiting for 02 */
	FETCH_SENDING, /* data packets going out */
	FETCH_DONE,    /* 10 02 01 sent, waiting for 03 or a new round */
};

static inline uint64_t miband__band_add_ms(uint64_t now, uint32_t ms)
{
	return now > NEVER - ms ? NEVER : now + ms;
}

/* band.c: the action ring */
static inline unsigned miband__band_q_free(const struct miband_band *b)
{
	return (unsigned)MIBAND_BAND_ACTION_QUEUE - b->qlen;
}

int miband__band_notify(struct miband_band *b, enum miband_channel ch,
			const uint8_t *data, size_t len);
struct miband_band_event *miband__band_event(struct miband_band *b,
					     enum miband_band_event_type type);

/* band-values.c */
uint8_t miband__band_props(const struct miband_band *b, enum miband_channel ch);
uint32_t miband__band_steps_now(const struct miband_band *b, uint64_t now);
int miband__band_encode_steps(const struct miband_band *b, uint64_t now,
			      uint8_t *buf, size_t cap);
uint8_t miband__band_live_bpm(const struct miband_band *b, uint64_t now);

/* history.c: the fetch */
int miband__band_fetch_write(struct miband_band *b, const uint8_t *data,
			     size_t len, uint64_t now);
void miband__band_fetch_pump(struct miband_band *b, uint64_t now);

#endif
