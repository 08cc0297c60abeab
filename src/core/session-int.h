/*
 * Internal interface between the client engine's files (not installed).
 *
 * session.c owns the action queue, the inputs and the ending of requests;
 * session-auth.c the handshake; session-req.c the step tables of every
 * other request and the loop that runs them; session-fetch.c the history
 * fetch.  They share the helpers below, all of them on one struct
 * miband_session and none of them public.
 */
#ifndef MIBAND_CORE_SESSION_INT_H
#define MIBAND_CORE_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/session.h"

#define NEVER UINT64_MAX

/* s->flags */
#define F_WAIT_DONE 0x01u /* the step advances on its op's completion */
#define F_WIPE 0x02u	  /* wbuf held a secret handed out last call */

/* s->inflight: what the outstanding operation is */
#define INF_SUB 1u
#define INF_WRITE 2u
#define INF_READ 3u
#define INF_OP 0x0fu	 /* which of the above */
#define INF_ORPHAN 0x40u /* its request has ended */
#define INF_PING 0x80u	 /* the HR keep-alive, not part of a request */

/* queued flags */
#define QF_RESPONSE 0x01u
#define QF_SECRET 0x02u
#define QF_PING 0x80u

/*
 * Named steps (s->state) of the requests whose steps are looked at
 * outside their table: a notification or a timeout means something
 * different at each of them.
 */
enum { AUTH_SUB = 0, AUTH_KEY, AUTH_RAND, AUTH_ANS };
enum {
	HR1_SUB = 0,
	HR1_STOP_CONTINUOUS,
	HR1_STOP_MANUAL,
	HR1_START, /* 15 02 01 written: the measurement may come */
	HR1_WAIT,
};
enum { CFG_SUB = 0, CFG_WRITE, CFG_WAIT };
enum {
	FS_SUB_CTL = 0,
	FS_SUB_DATA,
	FS_START,   /* start written */
	FS_WAIT,    /* waiting for 10 01 */
	FS_GO,	    /* 02 written */
	FS_DATA,    /* receiving */
	FS_STORED,  /* waiting for miband_session_fetch_stored() */
	FS_ACK,	    /* 03 written */
	FS_ACK_WAIT /* waiting for 10 03 */
};

/*
 * One step of a request (after NimBLE's per-opcode dispatch tables, but
 * with small indices instead of function pointers, so that the tables
 * stay in flash in position-independent builds too).  op says what the
 * step does:
 *   STEP_SUB     subscribe to channel (skipped when already subscribed)
 *   STEP_READ    read channel; STEP_READ_DEVINFO the request's field
 *   STEP_WRITE, STEP_WRITE_RSP
 *                write what encoder arg put into s->wbuf (nothing to
 *                write ends the request), as a command or a request
 *   STEP_WAIT    wait for a notification; channel is a WAIT_* deadline
 *   STEP_DO      run arg for its effect and go on
 */
enum {
	STEP_SUB = 1,
	STEP_READ,
	STEP_READ_DEVINFO,
	STEP_WRITE,
	STEP_WRITE_RSP,
	STEP_WAIT,
	STEP_DO,
};
enum { WAIT_REPLY, WAIT_HR, WAIT_FOREVER };

struct miband__step {
	uint8_t op;
	uint8_t channel;
	uint8_t arg;
};

static inline uint64_t miband__after(uint64_t now, uint32_t ms)
{
	return now > NEVER - ms ? NEVER : now + ms;
}

static inline bool miband__subscribed(const struct miband_session *s,
				      enum miband_channel ch)
{
	return s->subscribed[ch / 8] & (1u << (ch % 8));
}

/* The i-th queued entry (inline: the fetch scans the queue per packet). */
static inline struct miband__queued *miband__q_at(struct miband_session *s,
						  unsigned i)
{
	return &s->q[(s->qhead + i) % MIBAND_ACTION_QUEUE];
}

/* session.c: the queue and the ending of requests */
struct miband__queued *miband__q_push(struct miband_session *s, uint8_t type);
struct miband_event *miband__push_event(struct miband_session *s,
					enum miband_event_type type,
					enum miband_request_type req);
void miband__progress(struct miband_session *s, enum miband_auth_step step);
struct miband_event *miband__finish(struct miband_session *s,
				    enum miband_event_type type);
void miband__fail(struct miband_session *s, int err);
void miband__arm(struct miband_session *s, uint64_t now);
bool miband__op_write(struct miband_session *s, enum miband_channel ch,
		      size_t len, bool response, bool secret, uint64_t now);
bool miband__wait_notify(struct miband_session *s, uint64_t now, uint32_t ms);
size_t miband__write_max(const struct miband_session *s);

/* session-req.c: running the step tables */
void miband__run(struct miband_session *s, uint64_t now);
void miband__advance(struct miband_session *s, uint64_t now);

/* session-auth.c */
void miband__auth_notify(struct miband_session *s, const uint8_t *data,
			 size_t len, uint64_t now);
void miband__auth_subscribed(struct miband_session *s, uint64_t now);

/* session-fetch.c */
void miband__fetch_ctl(struct miband_session *s, const uint8_t *data,
		       size_t len, uint64_t now);
void miband__fetch_data(struct miband_session *s, const uint8_t *data,
			size_t len, uint64_t now);

#endif
