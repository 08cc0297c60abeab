/*
 * Internal helpers shared by the codec's files (codec.c, codec-time.c,
 * codec-text.c): the 7-byte date-time that the time, battery and fetch
 * messages embed, read and written through the cursors of wire.h.
 */
#ifndef MIBAND_CORE_CODEC_INT_H
#define MIBAND_CORE_CODEC_INT_H

#include "miband/types.h"

#include "wire.h"

/* Y(2) M D h m s; the reader zeroes the rest of t (dow, tz). */
void miband__wr_datetime7(struct miband__wr *w, const struct miband_time *t);
void miband__rd_datetime7(struct miband__rd *r, struct miband_time *t);
/* Date and time of day in range (1970..2099); dow and tz not looked at. */
bool miband__date_ok(const struct miband_time *t);

#endif
