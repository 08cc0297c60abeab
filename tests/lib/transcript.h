/*
 * Transcript files (.txt in tests/data): a declarative record of what a
 * client and a band said to each other, in the spirit of BlueZ's
 * unit/test-gatt.c PDU lists and curl's test files.
 *
 *     # comment                       ignored, as are blank lines
 *     @ model mb3                     directives set up or drive the run:
 *     @ key d88ca0fef504cc82735f15feb6bf9b1f
 *     @ option allow_pair_fallback    (also config_reply_required,
 *                                      no_fetch_ack, mtu=N)
 *     @ auth pair|stored|auto         start auth
 *     @ request NAME [ARG]            start a request (see below)
 *     @ fetch-stored | @ timeout | @ disconnect | @ cancel
 *     > subscribe CH                  the client enables notifications
 *     > write CH HEX                  the client writes (command)
 *     > write-req CH HEX              the client writes (request)
 *     > read CH                       the client reads
 *     < notify CH HEX                 the band notifies
 *     < read CH HEX                   the band answers the read
 *     = event NAME [SUMMARY]          the client reports an event
 *
 * Lines are at most 1023 bytes, words 31 and arguments 95: anything
 * longer, and a NUL byte, is an error, never cut silently.
 *
 * CH is a channel name of miband_channel_info() ("auth", "battery").
 * NAME of an event is miband_event_name(); SUMMARY, when given, must
 * equal transcript_event_summary() of the event (an error's code name,
 * "level=79 charging=0", "steps=76 meters=31 kcal=1", ...).
 *
 * Requests: battery, steps, steps-follow, time-get, time-set HEX11,
 * devinfo FIELD (serial hw-rev sw-rev system-id pnp-id name),
 * hr-oneshot, hr-start, hr-stop, hr-interval N, alert N, call TEXT,
 * call-stop, events-follow, config HEX, user HEX,
 * fetch YYYY-MM-DDTHH:MM+TZQ (tz in quarter hours).
 */
#ifndef MIBAND_TEST_TRANSCRIPT_H
#define MIBAND_TEST_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "miband/session.h"

#define TRANSCRIPT_DATA_MAX 64

enum transcript_kind {
	TR_DIRECTIVE = 1, /* @ word [arg] */
	TR_SUBSCRIBE,	  /* > subscribe CH */
	TR_WRITE,	  /* > write CH HEX */
	TR_WRITE_REQ,	  /* > write-req CH HEX */
	TR_READ,	  /* > read CH */
	TR_NOTIFY,	  /* < notify CH HEX */
	TR_READ_REPLY,	  /* < read CH HEX */
	TR_EVENT,	  /* = event NAME [SUMMARY] */
};

struct transcript_line {
	enum transcript_kind kind;
	int lineno;
	enum miband_channel ch;
	uint8_t data[TRANSCRIPT_DATA_MAX];
	size_t len;
	char word[32]; /* directive word, or event name */
	char arg[96];  /* directive argument, or event summary ("" if none) */
};

struct transcript {
	char path[512];
	struct transcript_line *lines;
	size_t n;
};

/*
 * Parses a file.  Returns 0, or -1 with a message "file:line: why" in
 * err.  Free with transcript_free().
 */
int transcript_load(const char *path, struct transcript *t, char *err,
		    size_t errcap);
/* The same from an open stream (path names it in messages); the fuzz
 * harness reads from memory with fmemopen(). */
int transcript_read(FILE *f, const char *path, struct transcript *t,
		    char *err, size_t errcap);
void transcript_free(struct transcript *t);

/* Channel by name ("auth"); 0 or -1. */
int transcript_channel(const char *name, enum miband_channel *ret_ch);

/* Fills req from a request directive's argument ("battery", "alert 3").
 * Text arguments point into the line.  0 or -1. */
int transcript_request(const struct transcript_line *l,
		       struct miband_request *req);

/* A short description of an event's value, as transcripts write it. */
void transcript_event_summary(const struct miband_event *ev, char *buf,
			      size_t cap);

#endif
