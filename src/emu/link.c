/*
 * The in-process link: one client session and one band engine pumped
 * against each other in memory on a virtual clock (include/miband/link.h).
 *
 * How it works
 *
 * Every GATT operation becomes a packet in a small time-ordered queue
 * (MIBAND_LINK_QUEUE entries; equal times keep their order):
 *
 *   session WRITE (request)  -> band on_write at +L  -> ack at +2L
 *   session WRITE (command)  -> band on_write at +L; done at once
 *   session (UN)SUBSCRIBE    -> band on_subscribe at +L -> ack at +2L
 *   session READ             -> band read at +L -> value or error at +2L
 *   band NOTIFY              -> session on_notify at +L
 *   DISCONNECT (either side) -> the other side's on_disconnect at +L
 *
 * miband_link_run() repeats: drain both engines' actions into the queue
 * (EVENT actions are handed to the caller, one per call), then do the
 * earliest thing due: deliver a packet, or fire a session or band
 * deadline; packets go first on a tie.  Time jumps straight to that
 * moment.  An engine's actions are only pulled while the queue has room
 * for them (and a filter duplicate), and its deadline only fires once its
 * own actions are drained, so neither queue ever overflows: a bursty band
 * (history transfer) simply waits for packets to be delivered.
 *
 * The filter sees each packet as it is sent and may drop, duplicate,
 * delay or mutate it, or break the link; the trace hook sees each packet
 * as it is delivered.  When the link is down, operations fail at once with
 * MIBAND_E_DISCONNECTED and run() reports MIBAND_E_DISCONNECTED once
 * nothing is left in flight.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "miband/link.h"

#define NEVER UINT64_MAX
#define QMAX MIBAND_LINK_QUEUE
/* Time may stand still for a while (bursts), not forever. */
#define SPIN_MAX 100000u

#define PKT_WITH_RESPONSE 0x01u
#define PKT_SECRET 0x02u /* the session flagged it secret (trace) */

void miband_link_config_init(struct miband_link_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->latency_ms = 15;
}

static uint64_t later(const struct miband_link *l, uint64_t t)
{
	uint64_t lat = l->cfg.latency_ms;

	return t > NEVER - lat ? NEVER : t + lat;
}

static unsigned q_free(const struct miband_link *l)
{
	return (unsigned)QMAX - l->n;
}

/* Inserts after every packet due at or before p->at. */
static bool q_insert(struct miband_link *l, const struct miband__link_packet *p)
{
	unsigned i;

	if (l->n >= QMAX) {
		l->dropped++;
		return false;
	}
	i = l->n;
	while (i > 0 && l->pkt[i - 1].at > p->at)
		i--;
	memmove(&l->pkt[i + 1], &l->pkt[i], (l->n - i) * sizeof(l->pkt[0]));
	l->pkt[i] = *p;
	l->n++;
	return true;
}

static void q_pop(struct miband_link *l, struct miband__link_packet *ret)
{
	*ret = l->pkt[0];
	l->n--;
	memmove(&l->pkt[0], &l->pkt[1], l->n * sizeof(l->pkt[0]));
}

static void packet(struct miband__link_packet *p, uint64_t at,
		   enum miband_link_dir dir, int kind, enum miband_channel ch,
		   const uint8_t *data, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->at = at;
	p->dir = (uint8_t)dir;
	p->kind = (uint8_t)kind;
	p->channel = (uint8_t)ch;
	if (len > sizeof(p->data))
		len = sizeof(p->data);
	if (len && data)
		memcpy(p->data, data, len);
	p->len = (uint8_t)len;
}

/* The link breaks: in-flight packets are lost, each side is told. */
static void link_break(struct miband_link *l, bool tell_client,
		       uint64_t client_at, bool tell_band, uint64_t band_at)
{
	struct miband__link_packet p;

	l->connected = false;
	l->dropped += l->n;
	l->n = 0;
	if (tell_client) {
		packet(&p, client_at, MIBAND_LINK_TO_CLIENT,
		       MIBAND_ACTION_DISCONNECT, MIBAND_CH_AUTH, NULL, 0);
		(void)q_insert(l, &p);
	}
	if (tell_band) {
		packet(&p, band_at, MIBAND_LINK_TO_BAND,
		       MIBAND_ACTION_DISCONNECT, MIBAND_CH_AUTH, NULL, 0);
		(void)q_insert(l, &p);
	}
}

/* Sends a packet through the filter. */
static void link_send(struct miband_link *l, struct miband__link_packet *p)
{
	enum miband_link_verdict v = MIBAND_LINK_PASS;

	if (!l->connected)
		return;
	if (l->cfg.filter) {
		size_t len = p->len;

		v = l->cfg.filter((enum miband_link_dir)p->dir, p->kind,
				  (enum miband_channel)p->channel, p->data,
				  &len, l->cfg.user_data);
		if (len > sizeof(p->data))
			len = sizeof(p->data);
		p->len = (uint8_t)len;
	}
	switch (v) {
	case MIBAND_LINK_DROP:
		l->dropped++;
		return;
	case MIBAND_LINK_DISCONNECT:
		link_break(l, true, l->now, true, l->now);
		return;
	case MIBAND_LINK_DUPLICATE:
		(void)q_insert(l, p);
		(void)q_insert(l, p);
		return;
	case MIBAND_LINK_DELAY: {
		uint64_t d = l->cfg.delay_ms ? l->cfg.delay_ms
					     : l->cfg.latency_ms;

		p->at = p->at > NEVER - d ? NEVER : p->at + d;
		break;
	}
	case MIBAND_LINK_PASS:
		break;
	}
	(void)q_insert(l, p);
}

int miband_link_init(struct miband_link *l,
		     const struct miband_link_config *cfg,
		     struct miband_session *session, struct miband_band *band,
		     uint64_t start_ms)
{
	if (!l || !session || !band)
		return MIBAND_E_INVAL;
	memset(l, 0, sizeof(*l));
	if (cfg)
		l->cfg = *cfg;
	else
		miband_link_config_init(&l->cfg);
	l->session = session;
	l->band = band;
	l->now = start_ms;
	l->connected = true;
	miband_band_on_connect(band, start_ms);
	return 0;
}

uint64_t miband_link_now(const struct miband_link *l)
{
	return l->now;
}

void miband_link_disconnect(struct miband_link *l)
{
	if (!l->connected)
		return;
	link_break(l, true, l->now, true, later(l, l->now));
}

void miband_link_reconnect(struct miband_link *l)
{
	if (l->connected)
		return;
	/* Whatever was still on its way belongs to the old link. */
	l->dropped += l->n;
	l->n = 0;
	l->connected = true;
	miband_band_on_connect(l->band, l->now);
}

/* ---- pulling the engines' actions ---- */

/* A GATT operation of the session: fails at once on a dead link. */
static void client_op(struct miband_link *l, const struct miband_action *a)
{
	struct miband_session *s = l->session;
	struct miband__link_packet p;

	if (!l->connected || (a->type == MIBAND_ACTION_WRITE &&
			      a->len > MIBAND_BAND_VALUE_MAX)) {
		int err = !l->connected ? MIBAND_E_DISCONNECTED
					: MIBAND_E_WRITE_FAILED;

		if (a->type == MIBAND_ACTION_READ)
			miband_session_on_read(s, a->channel, err, NULL, 0,
					       l->now);
		else
			miband_session_on_write_done(s, a->channel, err,
						     l->now);
		return;
	}
	packet(&p, later(l, l->now), MIBAND_LINK_TO_BAND, (int)a->type,
	       a->channel, a->type == MIBAND_ACTION_WRITE ? a->data : NULL,
	       a->type == MIBAND_ACTION_WRITE ? a->len : 0);
	if (a->type == MIBAND_ACTION_WRITE && a->with_response)
		p.flags = PKT_WITH_RESPONSE;
	if (a->type == MIBAND_ACTION_WRITE && a->secret)
		p.flags = (uint8_t)(p.flags | PKT_SECRET);
	link_send(l, &p);
	/* A write command is done once the stack has queued it. */
	if (a->type == MIBAND_ACTION_WRITE && !a->with_response)
		miband_session_on_write_done(s, a->channel, 0, l->now);
}

static int pump_session(struct miband_link *l, struct miband_link_output *ret)
{
	struct miband_action a;

	l->session_more = false;
	for (;;) {
		if (q_free(l) < 2) {
			l->session_more = true;
			return 0;
		}
		switch (miband_session_next_action(l->session, &a)) {
		case MIBAND_ACTION_DONE:
			return 0;
		case MIBAND_ACTION_EVENT:
			memset(ret, 0, sizeof(*ret));
			ret->from_band = false;
			ret->client = a.event;
			return 1;
		case MIBAND_ACTION_SUBSCRIBE:
		case MIBAND_ACTION_UNSUBSCRIBE:
		case MIBAND_ACTION_WRITE:
		case MIBAND_ACTION_READ:
			client_op(l, &a);
			break;
		case MIBAND_ACTION_DISCONNECT:
			if (l->connected)
				link_break(l, false, 0, true, later(l, l->now));
			break;
		}
	}
}

static int pump_band(struct miband_link *l, struct miband_link_output *ret)
{
	struct miband_band_action a;
	struct miband__link_packet p;

	l->band_more = false;
	for (;;) {
		if (q_free(l) < 2) {
			l->band_more = true;
			return 0;
		}
		switch (miband_band_next_action(l->band, &a)) {
		case MIBAND_BAND_ACTION_DONE:
			return 0;
		case MIBAND_BAND_ACTION_EVENT:
			memset(ret, 0, sizeof(*ret));
			ret->from_band = true;
			ret->band = a.event;
			return 1;
		case MIBAND_BAND_ACTION_NOTIFY:
			packet(&p, later(l, l->now), MIBAND_LINK_TO_CLIENT,
			       MIBAND_ACTION_EVENT, a.channel, a.data, a.len);
			link_send(l, &p);
			break;
		case MIBAND_BAND_ACTION_DISCONNECT:
			/* The band has already forgotten the link. */
			if (l->connected)
				link_break(l, true, later(l, l->now), false, 0);
			break;
		}
	}
}

/* ---- delivery ---- */

static void to_band(struct miband_link *l, struct miband__link_packet *p)
{
	struct miband__link_packet r;
	enum miband_channel ch = (enum miband_channel)p->channel;
	int att;

	switch (p->kind) {
	case MIBAND_ACTION_DISCONNECT:
		miband_band_on_disconnect(l->band, l->now);
		return;
	case MIBAND_ACTION_WRITE:
		att = miband_band_on_write(l->band, ch, p->data, p->len,
					   p->flags & PKT_WITH_RESPONSE,
					   l->now);
		if (!(p->flags & PKT_WITH_RESPONSE))
			return;
		packet(&r, later(l, l->now), MIBAND_LINK_TO_CLIENT,
		       MIBAND_ACTION_WRITE, ch, NULL, 0);
		r.status = (int16_t)(att ? MIBAND_E_WRITE_FAILED : 0);
		break;
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
		att = miband_band_on_subscribe(
			l->band, ch, p->kind == MIBAND_ACTION_SUBSCRIBE,
			l->now);
		packet(&r, later(l, l->now), MIBAND_LINK_TO_CLIENT, p->kind, ch,
		       NULL, 0);
		r.status = (int16_t)(att ? MIBAND_E_SUBSCRIBE_FAILED : 0);
		break;
	case MIBAND_ACTION_READ: {
		uint8_t v[MIBAND_BAND_VALUE_MAX];
		size_t n = 0;

		att = miband_band_read(l->band, ch, l->now, v, sizeof(v), &n);
		packet(&r, later(l, l->now), MIBAND_LINK_TO_CLIENT,
		       MIBAND_ACTION_READ, ch, v, att ? 0 : n);
		r.status = (int16_t)(att ? MIBAND_E_READ_FAILED : 0);
		break;
	}
	default:
		return;
	}
	link_send(l, &r);
}

static void to_client(struct miband_link *l,
		      const struct miband__link_packet *p)
{
	struct miband_session *s = l->session;
	enum miband_channel ch = (enum miband_channel)p->channel;

	switch (p->kind) {
	case MIBAND_ACTION_DISCONNECT:
		miband_session_on_disconnect(s, l->now);
		break;
	case MIBAND_ACTION_EVENT:
		miband_session_on_notify(s, ch, p->data, p->len, l->now);
		break;
	case MIBAND_ACTION_WRITE:
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
		miband_session_on_write_done(s, ch, p->status, l->now);
		break;
	case MIBAND_ACTION_READ:
		miband_session_on_read(s, ch, p->status, p->data, p->len,
				       l->now);
		break;
	default:
		break;
	}
}

static void deliver(struct miband_link *l)
{
	struct miband__link_packet p;

	q_pop(l, &p);
	if (l->cfg.trace)
		l->cfg.trace((enum miband_link_dir)p.dir, p.kind,
			     (enum miband_channel)p.channel, p.data, p.len,
			     (p.flags & PKT_SECRET) != 0, l->now,
			     l->cfg.user_data);
	if (p.dir == MIBAND_LINK_TO_BAND) {
		l->packets_to_band++;
		to_band(l, &p);
	} else {
		l->packets_to_client++;
		to_client(l, &p);
	}
}

int miband_link_run(struct miband_link *l, uint64_t until_ms,
		    struct miband_link_output *ret)
{
	unsigned spin = 0;
	uint64_t last = l->now;

	for (;;) {
		uint64_t next = NEVER, sd = NEVER, bd = NEVER;

		if (pump_session(l, ret) || pump_band(l, ret))
			return 1;
		if (l->n)
			next = l->pkt[0].at;
		if (!l->connected && !l->n && !l->session_more && !l->band_more)
			return MIBAND_E_DISCONNECTED;
		if (!l->session_more)
			sd = miband_session_deadline_ms(l->session);
		if (!l->band_more)
			bd = miband_band_deadline_ms(l->band);
		if (sd < next)
			next = sd;
		if (bd < next)
			next = bd;
		if (next == NEVER)
			return 0;
		if (next > until_ms) {
			if (until_ms > l->now)
				l->now = until_ms;
			return 0;
		}
		if (next > l->now)
			l->now = next;
		if (l->now != last) {
			last = l->now;
			spin = 0;
		} else if (++spin > SPIN_MAX) {
			/* An engine keeps asking for a timeout it does not
			 * consume: a bug, reported rather than a hang. */
			return MIBAND_E_INTERNAL;
		}
		if (l->n && l->pkt[0].at <= l->now)
			deliver(l);
		else if (sd <= l->now)
			miband_session_on_timeout(l->session, l->now);
		else
			miband_band_on_timeout(l->band, l->now);
	}
}
