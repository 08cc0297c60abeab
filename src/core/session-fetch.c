/*
 * The client engine's history fetch (PROTOCOL.md 5).
 *
 * How it works: the fetch is a step table like the other requests
 * (session-req.c holds and runs it): subscribe to the control and data
 * channels, write the start (FS_START), wait for 10 01 (FS_WAIT), write 02
 * (FS_GO) and receive packets (FS_DATA) until 10 02 ends the batch.  Then it
 * waits, without a deadline, for the embedding to store the samples
 * (FS_STORED, left by miband_session_fetch_stored()), acknowledges with
 * 03 (FS_ACK, unless fetch_ack is off) and waits for 10 03.  The
 * replies and packets arrive through miband__fetch_ctl and
 * miband__fetch_data, which move s->state by name.
 *
 * Samples are copied into s->vbuf; when the previous packet's event has
 * not been collected yet its event grows instead, so an event's pointer
 * never sees its bytes overwritten.  A packet whose counter is not the
 * next one is a gap (FETCH_GAP): the batch is abandoned, not patched.
 */
#include "miband/codec.h"
#include "miband/error.h"
#include "miband/session.h"

#include <string.h>

#include "session-int.h"

int miband_session_fetch_stored(struct miband_session *s, uint64_t now)
{
	if (!s)
		return MIBAND_E_INVAL;
	if (s->fatal || s->req.type != MIBAND_REQ_FETCH ||
	    s->state != FS_STORED)
		return MIBAND_E_STATE;
	s->state = FS_ACK;
	miband__run(s, now);
	return 0;
}

#if MIBAND_FEATURE_FETCH
void miband__fetch_ctl(struct miband_session *s, const uint8_t *data,
		       size_t len, uint64_t now)
{
	struct miband_fetch_reply f;
	struct miband_event *ev;

	if (miband_decode_fetch_reply(data, len, &f) < 0) {
		miband__fail(s, MIBAND_E_MALFORMED);
		return;
	}
	if (f.cmd == MIBAND_FETCH_CMD_START &&
	    (s->state == FS_START || s->state == FS_WAIT)) {
		if (f.status != 0x01) {
			miband__fail(s, MIBAND_E_FETCH_STATUS);
			return;
		}
		ev = miband__push_event(s, MIBAND_EV_FETCH_START,
					MIBAND_REQ_FETCH);
		if (!ev)
			return;
		ev->u.fetch.count = f.count;
		ev->u.fetch.first = f.first;
		if (f.count == 0) {
			miband__finish(s, MIBAND_EV_DONE);
			return;
		}
		s->state = FS_GO;
		s->flags &= (uint8_t)~F_WAIT_DONE;
		miband__run(s, now);
	} else if (f.cmd == MIBAND_FETCH_CMD_GO &&
		   (s->state == FS_GO || s->state == FS_DATA)) {
		if (f.status != 0x01) {
			miband__fail(s, MIBAND_E_FETCH_STATUS);
			return;
		}
		if (!miband__push_event(s, MIBAND_EV_FETCH_BATCH,
					MIBAND_REQ_FETCH))
			return;
		s->state = FS_STORED;
		miband__wait_notify(s, now, 0);
	} else if (f.cmd == MIBAND_FETCH_CMD_ACK &&
		   (s->state == FS_ACK || s->state == FS_ACK_WAIT)) {
		if (f.status != 0x01)
			miband__fail(s, MIBAND_E_FETCH_STATUS);
		else
			miband__finish(s, MIBAND_EV_DONE);
	} else if ((f.cmd == MIBAND_FETCH_CMD_START && s->state > FS_WAIT) ||
		   (f.cmd == MIBAND_FETCH_CMD_GO && s->state >= FS_STORED)) {
		/* A repeat of a reply already handled: harmless, and the
		 * batch may be half stored, so do not abort for it. */
	} else {
		miband__fail(s, MIBAND_E_UNEXPECTED);
	}
}

void miband__fetch_data(struct miband_session *s, const uint8_t *data,
			size_t len, uint64_t now)
{
	struct miband__queued *pending = NULL, *tail;
	struct miband_event *ev;
	unsigned i;
	const uint8_t *p;
	uint8_t counter;
	size_t bytes;
	int n;

	n = miband_decode_fetch_packet(data, len, &counter, &p);
	if (n < 0) {
		miband__fail(s, MIBAND_E_FETCH_SHORT);
		return;
	}
	if (counter != s->fetch_counter) {
		miband__fail(s, MIBAND_E_FETCH_GAP);
		return;
	}
	bytes = (size_t)n * MIBAND_SAMPLE_LEN;
	tail = s->qlen ? miband__q_at(s, s->qlen - 1u) : NULL;
	for (i = 0; i < s->qlen; i++)
		if (miband__q_at(s, i)->type == MIBAND_ACTION_EVENT &&
		    miband__q_at(s, i)->event.type == MIBAND_EV_SAMPLES)
			pending = miband__q_at(s, i);
	if (pending && pending == tail && s->vlen + bytes <= sizeof(s->vbuf)) {
		/* The previous packet was not collected yet: extend its
		 * event rather than overwrite the buffer it points to. */
		memcpy(s->vbuf + s->vlen, p, bytes);
		s->vlen = (uint8_t)(s->vlen + bytes);
		tail->event.u.samples.count += (size_t)n;
	} else if (pending || bytes > sizeof(s->vbuf)) {
		miband__fail(s, MIBAND_E_NOSPACE);
		return;
	} else {
		memcpy(s->vbuf, p, bytes);
		s->vlen = (uint8_t)bytes;
		ev = miband__push_event(s, MIBAND_EV_SAMPLES, MIBAND_REQ_FETCH);
		if (!ev)
			return;
		ev->u.samples.data = s->vbuf;
		ev->u.samples.count = (size_t)n;
		ev->u.samples.index = s->fetch_index;
	}
	s->fetch_counter++;
	s->fetch_index += (uint32_t)n;
	if (s->state == FS_DATA)
		miband__arm(s, now);
}
#endif
