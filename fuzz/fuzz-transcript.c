/*
 * The transcript parser of tests/lib/transcript.c on arbitrary text, read
 * from memory through fmemopen().
 *
 * Invariants:
 *  - a parse that fails leaves no lines (and a message naming the line);
 *  - a parse that succeeds saw every line whole: none longer than the
 *    line buffer, none with a NUL byte (no silent splitting or cutting);
 *  - every parsed line is in range: a known kind, a channel below
 *    MIBAND_CH_COUNT, data within TRANSCRIPT_DATA_MAX, NUL-terminated
 *    words, line numbers increasing;
 *  - printing the lines back in the canonical form and parsing that
 *    gives the same lines (what the parser keeps is all that matters);
 *  - a request directive either fails or yields a request the session
 *    can be given (text inside the line, raw bytes within the write
 *    limit);
 *  - the event summary fits any buffer and is NUL-terminated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/transcript.h"
#include "miband/miband.h"

static const char *const op_words[] = {
	[TR_SUBSCRIBE] = "> subscribe", [TR_WRITE] = "> write",
	[TR_WRITE_REQ] = "> write-req", [TR_READ] = "> read",
	[TR_NOTIFY] = "< notify",	[TR_READ_REPLY] = "< read",
};

/* The canonical text of one line (no newline). */
static void print_line(FILE *f, const struct transcript_line *l)
{
	size_t i;

	switch (l->kind) {
	case TR_DIRECTIVE:
		fprintf(f, "@ %s %s", l->word, l->arg);
		break;
	case TR_EVENT:
		fprintf(f, "= event %s %s", l->word, l->arg);
		break;
	default:
		fprintf(f, "%s %s", op_words[l->kind],
			miband_channel_info(l->ch)->name);
		if (l->kind != TR_SUBSCRIBE && l->kind != TR_READ) {
			fputc(' ', f);
			for (i = 0; i < l->len; i++)
				fprintf(f, "%02x", l->data[i]);
		}
		break;
	}
}

static void check_line(const struct transcript_line *l, int prev_lineno)
{
	FUZZ_ASSERT(l->kind >= TR_DIRECTIVE && l->kind <= TR_EVENT);
	FUZZ_ASSERT(l->lineno > prev_lineno);
	FUZZ_ASSERT((unsigned)l->ch < MIBAND_CH_COUNT);
	FUZZ_ASSERT(l->len <= TRANSCRIPT_DATA_MAX);
	FUZZ_ASSERT(memchr(l->word, 0, sizeof(l->word)) != NULL);
	FUZZ_ASSERT(memchr(l->arg, 0, sizeof(l->arg)) != NULL);
	if (l->kind == TR_DIRECTIVE || l->kind == TR_EVENT)
		FUZZ_ASSERT(l->word[0] && !strpbrk(l->word, " \t"));
}

static void check_request(const struct transcript_line *l)
{
	struct miband_request req;

	if (transcript_request(l, &req) < 0)
		return;
	FUZZ_ASSERT(req.type > MIBAND_REQ_AUTH && req.type < MIBAND_REQ_COUNT);
	switch (req.type) {
	case MIBAND_REQ_CALL:
		FUZZ_ASSERT(req.u.text.data >= l->arg &&
			    req.u.text.data + req.u.text.len <
				    l->arg + sizeof(l->arg));
		FUZZ_ASSERT(strlen(req.u.text.data) == req.u.text.len);
		break;
	case MIBAND_REQ_CONFIG:
	case MIBAND_REQ_USER:
		FUZZ_ASSERT(req.u.raw.len >= 1 &&
			    req.u.raw.len <= MIBAND_WRITE_MAX);
		break;
	case MIBAND_REQ_DEVINFO:
		FUZZ_ASSERT((unsigned)req.u.devinfo < MIBAND_DEVINFO_COUNT);
		break;
	case MIBAND_REQ_TIME_SET:
		FUZZ_ASSERT(miband_time_valid(&req.u.time) == 0);
		break;
	default:
		break;
	}
}

/* Summaries of events whose values come from the input. */
static void check_summaries(const uint8_t *data, size_t size)
{
	struct miband_event ev;
	char buf[72];
	size_t cap, i;

	if (size < 2)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = (enum miband_event_type)(data[0] % 14);
	cap = 1 + data[1] % (sizeof(buf) - 8);
	memcpy(&ev.u, data + 2,
	       size - 2 < sizeof(ev.u) ? size - 2 : sizeof(ev.u));
	ev.error = -(int)data[1];
	/* bools must hold 0 or 1 */
	switch (ev.type) {
	case MIBAND_EV_AUTH_OK:
		ev.u.paired = data[1] & 1;
		break;
	case MIBAND_EV_BATTERY:
		ev.u.battery.charging = data[1] & 1;
		break;
	case MIBAND_EV_STEPS:
		ev.u.steps.has_distance = data[1] & 1;
		break;
	default:
		break;
	}
	if (ev.type == MIBAND_EV_DEVINFO) {
		ev.u.devinfo.value = data;
		ev.u.devinfo.len = size;
	}
	if (ev.type == MIBAND_EV_DEVICE_EVENT)
		ev.u.device_event.name =
			miband_device_event_name(ev.u.device_event.code);
	memset(buf, 0x5a, sizeof(buf));
	transcript_event_summary(&ev, buf, cap);
	FUZZ_ASSERT(memchr(buf, 0, cap) != NULL);
	for (i = cap; i < sizeof(buf); i++)
		FUZZ_ASSERT(buf[i] == 0x5a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript t, t2;
	char err[256];
	char *text = NULL;
	size_t text_len = 0, i;
	FILE *f;
	int r, prev = 0;

	check_summaries(data, size);
	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	err[0] = 0;
	r = transcript_read(f, "fuzz", &t, err, sizeof(err));
	fclose(f);
	if (r < 0) {
		FUZZ_ASSERT(t.n == 0 && t.lines == NULL);
		FUZZ_ASSERT(!strncmp(err, "fuzz:", 5));
		return 0;
	}
	FUZZ_ASSERT(r == 0);
	/* no line was cut or split: all are shorter than the parser's
	 * buffer and hold no NUL */
	{
		const uint8_t *p = data, *end = data + size, *nl;

		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
			FUZZ_ASSERT(nl - p < 1024 &&
				    !memchr(p, 0, (size_t)(nl - p)));
		}
	}
	for (i = 0; i < t.n; i++) {
		check_line(&t.lines[i], prev);
		prev = t.lines[i].lineno;
		if (t.lines[i].kind == TR_DIRECTIVE &&
		    !strcmp(t.lines[i].word, "request"))
			check_request(&t.lines[i]);
	}

	/* print and parse again: the same lines */
	f = open_memstream(&text, &text_len);
	FUZZ_ASSERT(f != NULL);
	for (i = 0; i < t.n; i++) {
		print_line(f, &t.lines[i]);
		fputc('\n', f);
	}
	fclose(f);
	if (!text_len) {
		FUZZ_ASSERT(t.n == 0);
		transcript_free(&t);
		free(text);
		return 0;
	}
	f = fmemopen(text, text_len, "r");
	FUZZ_ASSERT(f != NULL);
	r = transcript_read(f, "again", &t2, err, sizeof(err));
	fclose(f);
	if (r < 0)
		fprintf(stderr, "reparse: %s\n", err);
	FUZZ_ASSERT(r == 0);
	FUZZ_ASSERT(t2.n == t.n);
	for (i = 0; i < t.n; i++) {
		const struct transcript_line *a = &t.lines[i],
					     *b = &t2.lines[i];

		FUZZ_ASSERT(a->kind == b->kind && a->ch == b->ch);
		FUZZ_ASSERT(a->len == b->len &&
			    !memcmp(a->data, b->data, a->len));
		FUZZ_ASSERT(!strcmp(a->word, b->word));
		FUZZ_ASSERT(!strcmp(a->arg, b->arg));
	}
	transcript_free(&t2);
	transcript_free(&t);
	free(text);
	return 0;
}
