/*
 * The in-process link: a client session and a band engine pumped against
 * each other in memory with a virtual clock and a configurable one-way
 * latency.  Used by the tests, the demo and `mibandctl --device emu`.
 * No allocation, no I/O, no real time: time only moves inside
 * miband_link_run().
 *
 *     miband_link_init(&link, &cfg, &session, &band, 0);
 *     miband_session_start_auth(&session, MIBAND_AUTH_PAIR,
 *                               miband_link_now(&link));
 *     while (miband_link_run(&link, UINT64_MAX, &out) > 0)
 *         if (out.from_band) ... else handle(&out.client);
 *
 * Faults (issue: robustness) are injected through an optional filter
 * called for every packet; it may pass, drop, duplicate, delay or
 * corrupt it (tests/test-faults.c does each to every packet in turn).
 */
#ifndef MIBAND_LINK_H
#define MIBAND_LINK_H

#include "miband/band.h"
#include "miband/session.h"

#ifdef __cplusplus
extern "C" {
#endif

enum miband_link_verdict {
	MIBAND_LINK_PASS = 0,
	MIBAND_LINK_DROP,
	MIBAND_LINK_DUPLICATE,
	MIBAND_LINK_DISCONNECT, /* drop the link instead of delivering */
	MIBAND_LINK_DELAY,      /* deliver delay_ms later than due: packets
				 * sent meanwhile overtake it (reordering),
				 * or a band that stalls */
};

/* Called for every packet; may change data[0..*len) in place (corrupt,
 * truncate).  kind is the packet's enum miband_action_type (client side)
 * or MIBAND_ACTION_EVENT for a notification. */
typedef enum miband_link_verdict (*miband_link_filter_fn)(
	enum miband_link_dir dir, int kind, enum miband_channel ch,
	uint8_t *data, size_t *len, void *user_data);

/* Observes every packet as delivered (for transcripts and traces); now is
 * the link's virtual time.  The signature all traces share (types.h). */
typedef miband_trace_fn miband_link_trace_fn;

struct miband_link_config {
	uint32_t latency_ms;        /* one way; default 15 */
	miband_link_filter_fn filter;
	miband_link_trace_fn trace;
	void *user_data;
	uint32_t delay_ms;          /* MIBAND_LINK_DELAY; 0: one latency */
};
void miband_link_config_init(struct miband_link_config *cfg);

struct miband_link_output {
	bool from_band;                 /* which member is valid */
	struct miband_event client;     /* from the session */
	struct miband_band_event band;  /* from the band */
};

/* ---- private ---- */
struct miband__link_packet {
	uint64_t at;
	uint8_t dir;
	uint8_t kind;    /* enum miband_action_type, or EVENT for notify */
	uint8_t channel;
	uint8_t flags;   /* with_response, enable, status */
	int16_t status;
	uint8_t len;
	uint8_t data[MIBAND_BAND_VALUE_MAX];
};

struct miband_link {
	struct miband_link_config cfg;
	struct miband_session *session;
	struct miband_band *band;
	uint64_t now;
	bool connected;
	uint32_t packets_to_band, packets_to_client, dropped;
	bool session_more;  /* session actions left undrained (link full) */
	bool band_more;     /* band actions left undrained (link full) */
	uint8_t n;
	struct miband__link_packet pkt[MIBAND_LINK_QUEUE];
};

/* Connects session and band at virtual time start_ms (cfg NULL: the
 * defaults).  Returns 0, or MIBAND_E_INVAL (l, session or band NULL). */
int miband_link_init(struct miband_link *l,
		     const struct miband_link_config *cfg,
		     struct miband_session *session, struct miband_band *band,
		     uint64_t start_ms);
uint64_t miband_link_now(const struct miband_link *l);
/*
 * Delivers packets and fires deadlines in time order until an event comes
 * out (returns 1, *ret filled), or nothing is left to do before until_ms
 * (returns 0; now = until_ms if something was scheduled later, else the
 * time of the last work), or:
 *   MIBAND_E_DISCONNECTED  the link is down and nothing is left in flight;
 *   MIBAND_E_INTERNAL      an engine keeps asking for a timeout it does not
 *                          consume (a bug, reported rather than a hang).
 */
int miband_link_run(struct miband_link *l, uint64_t until_ms,
		    struct miband_link_output *ret);
/* Both sides see a disconnect (latency later for the band). */
void miband_link_disconnect(struct miband_link *l);
/* Reconnects (after a disconnect): band on_connect. */
void miband_link_reconnect(struct miband_link *l);

#ifdef __cplusplus
}
#endif
#endif
