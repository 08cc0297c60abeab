/*
 * Bounded little-endian cursors over wire buffers (internal; shared by
 * src/core and src/emu).
 *
 * A reader or writer never touches memory outside [p, p + len).  Instead
 * of checking every step, callers run a sequence of reads or writes and
 * look at ->err once at the end: after the first overrun every further
 * call is a no-op that returns 0, and err stays set.  Multi-byte integers
 * are assembled byte by byte, so alignment and host byte order never
 * matter (no packed structs are cast over buffers).
 */
#ifndef MIBAND_CORE_WIRE_H
#define MIBAND_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miband/error.h"

struct miband__rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
};

struct miband__wr {
	uint8_t *p;
	size_t cap;
	size_t off;
	bool err;
};

static inline void miband__rd_init(struct miband__rd *r, const uint8_t *p,
				   size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
	r->err = false;
}

static inline size_t miband__rd_left(const struct miband__rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* True when n more bytes can be read; sets err otherwise. */
static inline bool miband__rd_need(struct miband__rd *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = true;
		return false;
	}
	return true;
}

static inline uint8_t miband__rd_u8(struct miband__rd *r)
{
	if (!miband__rd_need(r, 1))
		return 0;
	return r->p[r->off++];
}

static inline uint16_t miband__rd_u16le(struct miband__rd *r)
{
	uint16_t v;

	if (!miband__rd_need(r, 2))
		return 0;
	v = (uint16_t)(r->p[r->off] | (uint16_t)r->p[r->off + 1] << 8);
	r->off += 2;
	return v;
}

static inline uint32_t miband__rd_u32le(struct miband__rd *r)
{
	uint32_t v;

	if (!miband__rd_need(r, 4))
		return 0;
	v = (uint32_t)r->p[r->off] | (uint32_t)r->p[r->off + 1] << 8 |
	    (uint32_t)r->p[r->off + 2] << 16 | (uint32_t)r->p[r->off + 3] << 24;
	r->off += 4;
	return v;
}

/* Returns a pointer to the next n bytes and skips them; NULL on overrun. */
static inline const uint8_t *miband__rd_bytes(struct miband__rd *r, size_t n)
{
	const uint8_t *v;

	if (!miband__rd_need(r, n))
		return NULL;
	v = r->p + r->off;
	r->off += n;
	return v;
}

/* True when everything was read without overrun and nothing is left. */
static inline bool miband__rd_done(const struct miband__rd *r)
{
	return !r->err && r->off == r->len;
}

static inline void miband__wr_init(struct miband__wr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = p ? cap : 0;
	w->off = 0;
	w->err = false;
}

static inline bool miband__wr_need(struct miband__wr *w, size_t n)
{
	if (w->err || w->cap - w->off < n) {
		w->err = true;
		return false;
	}
	return true;
}

static inline void miband__wr_u8(struct miband__wr *w, uint8_t v)
{
	if (miband__wr_need(w, 1))
		w->p[w->off++] = v;
}

static inline void miband__wr_u16le(struct miband__wr *w, uint16_t v)
{
	if (!miband__wr_need(w, 2))
		return;
	w->p[w->off++] = (uint8_t)(v & 0xffu);
	w->p[w->off++] = (uint8_t)(v >> 8);
}

static inline void miband__wr_u32le(struct miband__wr *w, uint32_t v)
{
	if (!miband__wr_need(w, 4))
		return;
	w->p[w->off++] = (uint8_t)(v & 0xffu);
	w->p[w->off++] = (uint8_t)(v >> 8 & 0xffu);
	w->p[w->off++] = (uint8_t)(v >> 16 & 0xffu);
	w->p[w->off++] = (uint8_t)(v >> 24);
}

static inline void miband__wr_bytes(struct miband__wr *w, const void *src,
				    size_t n)
{
	if (!miband__wr_need(w, n))
		return;
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
}

static inline void miband__wr_zero(struct miband__wr *w, size_t n)
{
	if (!miband__wr_need(w, n))
		return;
	if (n)
		memset(w->p + w->off, 0, n);
	w->off += n;
}

/* The encoder convention: bytes written, or MIBAND_E_NOSPACE. */
static inline int miband__wr_result(const struct miband__wr *w)
{
	return w->err ? MIBAND_E_NOSPACE : (int)w->off;
}

#endif
