/*
 * Replays every .txt transcript in tests/data (format: lib/transcript.h)
 * against the client engine:
 *
 *  - whole: each write completes before the band's next message;
 *  - late acks: every write's completion arrives after the band's answer
 *    (the engine must hold its next write, and end the same way);
 *  - random: each write's completion is early or late at random (fixed
 *    seeds);
 *  - split: each notification is delivered cut in two at every byte
 *    boundary; on the auth channel the first piece must end the handshake
 *    with MALFORMED (and nothing may crash or break the engine's rules
 *    anywhere).
 *
 * Auth progress events are not written in transcripts; every other action
 * must match a line, in order, and nothing may be left over.
 */
#include <dirent.h>
#include <stdarg.h>
#include <unistd.h>

#include "runner.h"
#include "lib/transcript.h"

#include "miband/codec.h"
#include "miband/crypto.h"
#include "miband/error.h"
#include "miband/session.h"

#define FIFO_MAX 64

enum mode { M_WHOLE, M_LATE_ACK, M_RANDOM, M_SPLIT };

struct slot {
	struct miband_action a;
	uint8_t data[64];
	char summary[128];
};

struct rp {
	const struct transcript *t;
	struct miband_session s;
	struct miband_session_config cfg;
	uint8_t key[16];
	bool has_key;
	uint64_t now;
	struct slot fifo[FIFO_MAX];
	int head, n;
	bool outstanding;
	enum miband_channel out_ch;
	int pend_ack; /* channel whose write completion is held, or -1 */
	enum mode mode;
	uint32_t rng;
	size_t split_line, split_at;
	bool split_done;
	char err[1024];
};

static void fail_at(struct rp *r, const struct transcript_line *l,
		    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (r->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "%s:%d: %s", r->t->path,
		 l ? l->lineno : 0, msg);
}

static uint32_t rnd(struct rp *r)
{
	r->rng = r->rng * 1103515245u + 12345u;
	return r->rng >> 16;
}

static bool is_op(enum miband_action_type t)
{
	return t == MIBAND_ACTION_SUBSCRIBE || t == MIBAND_ACTION_UNSUBSCRIBE ||
	       t == MIBAND_ACTION_WRITE || t == MIBAND_ACTION_READ;
}

static void drain(struct rp *r)
{
	struct miband_action a;

	while (miband_session_next_action(&r->s, &a) != MIBAND_ACTION_DONE) {
		struct slot *sl;

		if (r->n >= FIFO_MAX) {
			fail_at(r, NULL, "engine produced too many actions");
			return;
		}
		if (is_op(a.type)) {
			if (r->outstanding)
				fail_at(r, NULL,
					"two GATT operations in flight");
			r->outstanding = true;
			r->out_ch = a.channel;
		}
		if (a.type == MIBAND_ACTION_WRITE &&
		    (a.len > (size_t)r->s.cfg.mtu - 3 || a.len > 64)) {
			fail_at(r, NULL, "write of %zu bytes", a.len);
			return;
		}
		sl = &r->fifo[(r->head + r->n++) % FIFO_MAX];
		sl->a = a;
		sl->summary[0] = 0;
		if (a.type == MIBAND_ACTION_WRITE) {
			memcpy(sl->data, a.data, a.len);
			sl->a.data = sl->data;
		}
		if (a.type == MIBAND_ACTION_EVENT)
			transcript_event_summary(&a.event, sl->summary,
						 sizeof(sl->summary));
	}
}

/* Next action that is not an auth progress event; NULL if none. */
static struct slot *pop(struct rp *r)
{
	while (r->n) {
		struct slot *sl = &r->fifo[r->head];

		r->head = (r->head + 1) % FIFO_MAX;
		r->n--;
		if (sl->a.type == MIBAND_ACTION_EVENT &&
		    sl->a.event.type == MIBAND_EV_AUTH_PROGRESS)
			continue;
		return sl;
	}
	return NULL;
}

static void ack(struct rp *r, enum miband_channel ch)
{
	if (r->outstanding && r->out_ch == ch)
		r->outstanding = false;
	miband_session_on_write_done(&r->s, ch, 0, r->now);
	drain(r);
}

static void flush_ack(struct rp *r)
{
	if (r->pend_ack >= 0) {
		enum miband_channel ch = (enum miband_channel)r->pend_ack;

		r->pend_ack = -1;
		ack(r, ch);
	}
}

static const char *kind_name(enum miband_action_type t)
{
	switch (t) {
	case MIBAND_ACTION_SUBSCRIBE:
		return "subscribe";
	case MIBAND_ACTION_UNSUBSCRIBE:
		return "unsubscribe";
	case MIBAND_ACTION_WRITE:
		return "write";
	case MIBAND_ACTION_READ:
		return "read";
	case MIBAND_ACTION_EVENT:
		return "event";
	case MIBAND_ACTION_DISCONNECT:
		return "disconnect";
	default:
		return "done";
	}
}

static void describe(const struct slot *sl, char *buf, size_t cap)
{
	const struct miband_channel_info *ci;
	size_t i, o;

	if (!sl) {
		snprintf(buf, cap, "nothing");
		return;
	}
	ci = miband_channel_info(sl->a.channel);
	if (sl->a.type == MIBAND_ACTION_EVENT) {
		snprintf(buf, cap, "event %s %s",
			 miband_event_name(sl->a.event.type), sl->summary);
		return;
	}
	o = (size_t)snprintf(buf, cap, "%s%s %s", kind_name(sl->a.type),
			     sl->a.type == MIBAND_ACTION_WRITE &&
					     sl->a.with_response
				     ? "-req"
				     : "",
			     ci ? ci->name : "?");
	for (i = 0;
	     sl->a.type == MIBAND_ACTION_WRITE && i < sl->a.len && o + 3 < cap;
	     i++)
		o += (size_t)snprintf(buf + o, cap - o, " %02x", sl->data[i]);
}

static int setup(struct rp *r)
{
	enum miband_model model = MIBAND_MODEL_MB3;
	size_t i;

	for (i = 0; i < r->t->n; i++) {
		const struct transcript_line *l = &r->t->lines[i];

		if (l->kind != TR_DIRECTIVE)
			continue;
		if (!strcmp(l->word, "model")) {
			if (miband_model_parse(l->arg, &model) < 0) {
				fail_at(r, l, "unknown model '%s'", l->arg);
				return -1;
			}
		}
	}
	miband_session_config_init(&r->cfg, model);
	r->cfg.crypto = &miband_crypto_openssl;
	for (i = 0; i < r->t->n; i++) {
		const struct transcript_line *l = &r->t->lines[i];

		if (l->kind != TR_DIRECTIVE)
			continue;
		if (!strcmp(l->word, "key")) {
			if (test_hex(l->arg, r->key, 16) != 16) {
				fail_at(r, l, "a key is 16 bytes of hex");
				return -1;
			}
			r->has_key = true;
		} else if (!strcmp(l->word, "option")) {
			if (!strcmp(l->arg, "allow_pair_fallback"))
				r->cfg.allow_pair_fallback = true;
			else if (!strcmp(l->arg, "config_reply_required"))
				r->cfg.config_reply_required = true;
			else if (!strcmp(l->arg, "no_fetch_ack"))
				r->cfg.fetch_ack = false;
			else if (!strncmp(l->arg, "mtu=", 4))
				r->cfg.mtu = (uint16_t)atoi(l->arg + 4);
			else {
				fail_at(r, l, "unknown option '%s'", l->arg);
				return -1;
			}
		}
	}
	if (miband_session_init(&r->s, &r->cfg, r->has_key ? r->key : NULL)) {
		fail_at(r, NULL, "session init failed");
		return -1;
	}
	return 0;
}

static int directive(struct rp *r, const struct transcript_line *l)
{
	int ret = 0;

	if (!strcmp(l->word, "model") || !strcmp(l->word, "key") ||
	    !strcmp(l->word, "option"))
		return 0;
	if (!strcmp(l->word, "auth")) {
		enum miband_auth_mode m;

		if (!strcmp(l->arg, "pair"))
			m = MIBAND_AUTH_PAIR;
		else if (!strcmp(l->arg, "stored"))
			m = MIBAND_AUTH_STORED;
		else if (!strcmp(l->arg, "auto"))
			m = MIBAND_AUTH_AUTO;
		else {
			fail_at(r, l, "auth pair|stored|auto");
			return -1;
		}
		ret = miband_session_start_auth(&r->s, m, r->now);
	} else if (!strcmp(l->word, "request")) {
		struct miband_request req;

		if (transcript_request(l, &req) < 0) {
			fail_at(r, l, "bad request '%s'", l->arg);
			return -1;
		}
		ret = miband_session_request(&r->s, &req, r->now);
	} else if (!strcmp(l->word, "fetch-stored")) {
		ret = miband_session_fetch_stored(&r->s, r->now);
	} else if (!strcmp(l->word, "cancel")) {
		ret = miband_session_cancel(&r->s, r->now);
	} else if (!strcmp(l->word, "disconnect")) {
		miband_session_on_disconnect(&r->s, r->now);
	} else if (!strcmp(l->word, "timeout")) {
		uint64_t d = miband_session_deadline_ms(&r->s);

		if (d == UINT64_MAX) {
			fail_at(r, l, "no deadline to fire");
			return -1;
		}
		if (d > r->now)
			r->now = d;
		miband_session_on_timeout(&r->s, r->now);
	} else {
		fail_at(r, l, "unknown directive '%s'", l->word);
		return -1;
	}
	if (ret) {
		fail_at(r, l, "%s failed: %s", l->word, miband_err_name(ret));
		return -1;
	}
	drain(r);
	return 0;
}

/* Expects the next action to be the client operation of line l. */
static int client_op(struct rp *r, const struct transcript_line *l)
{
	static const enum miband_action_type want_type[] = {
		[TR_SUBSCRIBE] = MIBAND_ACTION_SUBSCRIBE,
		[TR_WRITE] = MIBAND_ACTION_WRITE,
		[TR_WRITE_REQ] = MIBAND_ACTION_WRITE,
		[TR_READ] = MIBAND_ACTION_READ,
	};
	struct slot *sl = pop(r);
	char got[256];

	if (!sl || sl->a.type != want_type[l->kind] || sl->a.channel != l->ch ||
	    (sl->a.type == MIBAND_ACTION_WRITE &&
	     (sl->a.len != l->len || memcmp(sl->data, l->data, l->len) ||
	      sl->a.with_response != (l->kind == TR_WRITE_REQ)))) {
		describe(sl, got, sizeof(got));
		fail_at(r, l, "the client did: %s", got);
		return -1;
	}
	if (sl->a.type == MIBAND_ACTION_READ)
		return 0; /* completed by the '< read' line */
	if (sl->a.type == MIBAND_ACTION_WRITE &&
	    (r->mode == M_LATE_ACK || (r->mode == M_RANDOM && rnd(r) & 1))) {
		r->pend_ack = l->ch;
		return 0;
	}
	ack(r, l->ch);
	return 0;
}

static int band_notify(struct rp *r, const struct transcript_line *l,
		       size_t index)
{
	if (r->mode == M_SPLIT && index == r->split_line) {
		size_t k = r->split_at;
		uint8_t *a = malloc(k), *b = malloc(l->len - k);
		bool malformed = false;
		int i;

		memcpy(a, l->data, k);
		memcpy(b, l->data + k, l->len - k);
		miband_session_on_notify(&r->s, l->ch, a, k, r->now);
		free(a);
		drain(r);
		for (i = 0; i < r->n; i++) {
			const struct slot *sl =
				&r->fifo[(r->head + i) % FIFO_MAX];

			if (sl->a.type == MIBAND_ACTION_EVENT &&
			    sl->a.event.type == MIBAND_EV_ERROR &&
			    sl->a.event.error == MIBAND_E_MALFORMED)
				malformed = true;
		}
		if (l->ch == MIBAND_CH_AUTH &&
		    (!malformed || miband_session_is_busy(&r->s) ||
		     miband_session_is_authed(&r->s)))
			fail_at(r, l,
				"a cut auth message (%zu of %zu bytes) "
				"did not end auth with MALFORMED",
				k, l->len);
		miband_session_on_notify(&r->s, l->ch, b, l->len - k, r->now);
		free(b);
		drain(r);
		if (r->s.fatal)
			fail_at(r, l, "a cut message made the session fatal");
		r->split_done = true;
		return r->err[0] ? -1 : 0;
	}
	miband_session_on_notify(&r->s, l->ch, l->data, l->len, r->now);
	drain(r);
	flush_ack(r);
	return 0;
}

static int event(struct rp *r, const struct transcript_line *l)
{
	struct slot *sl = pop(r);
	char got[256];

	if (!sl || sl->a.type != MIBAND_ACTION_EVENT ||
	    strcmp(miband_event_name(sl->a.event.type), l->word) ||
	    (l->arg[0] && strcmp(sl->summary, l->arg))) {
		describe(sl, got, sizeof(got));
		fail_at(r, l, "expected event %s %s; the client did: %s",
			l->word, l->arg, got);
		return -1;
	}
	return 0;
}

/* Runs transcript t in a mode; returns 0 or -1 with r->err set. */
static int replay(struct rp *r, const struct transcript *t, enum mode mode,
		  uint32_t seed, size_t split_line, size_t split_at)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->t = t;
	r->mode = mode;
	r->rng = seed;
	r->pend_ack = -1;
	r->now = 1000;
	r->split_line = split_line;
	r->split_at = split_at;
	if (setup(r) < 0)
		return -1;
	for (i = 0; i < t->n && !r->err[0] && !r->split_done; i++) {
		const struct transcript_line *l = &t->lines[i];

		r->now += 10;
		if (l->kind != TR_NOTIFY)
			flush_ack(r);
		if (r->err[0])
			break;
		switch (l->kind) {
		case TR_DIRECTIVE:
			directive(r, l);
			break;
		case TR_SUBSCRIBE:
		case TR_WRITE:
		case TR_WRITE_REQ:
		case TR_READ:
			client_op(r, l);
			break;
		case TR_NOTIFY:
			band_notify(r, l, i);
			break;
		case TR_READ_REPLY:
			if (r->outstanding && r->out_ch == l->ch)
				r->outstanding = false;
			miband_session_on_read(&r->s, l->ch, 0, l->data, l->len,
					       r->now);
			drain(r);
			break;
		case TR_EVENT:
			event(r, l);
			break;
		}
	}
	if (!r->err[0] && !r->split_done) {
		struct slot *sl;
		char got[256];

		flush_ack(r);
		sl = pop(r);
		if (sl) {
			describe(sl, got, sizeof(got));
			fail_at(r, &t->lines[t->n - 1],
				"the client did more than the transcript "
				"says: %s",
				got);
		}
	}
	miband_session_wipe(&r->s);
	return r->err[0] ? -1 : 0;
}

/* ---- the transcript files ---- */

#define MAX_FILES 64

static struct transcript files[MAX_FILES];
static size_t n_files;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int load_all(void)
{
	char *names[MAX_FILES];
	size_t n = 0, i;
	DIR *d;
	struct dirent *e;

	if (n_files)
		return 0;
	d = opendir(MIBAND_TEST_DATA);
	if (!d)
		return -1;
	while ((e = readdir(d)) && n < MAX_FILES) {
		size_t len = strlen(e->d_name);

		if (len > 4 && !strcmp(e->d_name + len - 4, ".txt"))
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		char path[600], err[600];

		snprintf(path, sizeof(path), "%s/%s", MIBAND_TEST_DATA,
			 names[i]);
		free(names[i]);
		if (transcript_load(path, &files[n_files], err, sizeof(err))) {
			fprintf(stderr, "#   %s\n", err);
			return -1;
		}
		n_files++;
	}
	return 0;
}

static struct rp rp;

TEST(files_present)
{
	/* every transcript: a file that goes missing fails, not shrinks
	 * the replays */
	static const char *const must[] = {
		"mb3-pair.txt",		 "mb3-stored.txt",
		"mb2-pair.txt",		 "mb4-crypt.txt",
		"wrong-key.txt",	 "declined.txt",
		"real-band-7-1.txt",	 "mb3-reads.txt",
		"mb3-fetch.txt",	 "auto-fallback.txt",
		"auth-early-answer.txt", "auth-early-answer-flag.txt",
	};
	size_t i, j;

	CHECK_EQ(load_all(), 0);
	for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		bool found = false;

		for (j = 0; j < n_files; j++) {
			const char *base = strrchr(files[j].path, '/');

			if (base && !strcmp(base + 1, must[i]))
				found = true;
		}
		if (!found) {
			TEST_FAIL_AT(__FILE__, __LINE__, "missing %s", must[i]);
			return;
		}
	}
	printf("# %zu transcripts\n", n_files);
}

TEST(replay_whole)
{
	size_t i;

	CHECK_EQ(load_all(), 0);
	for (i = 0; i < n_files; i++) {
		if (replay(&rp, &files[i], M_WHOLE, 0, 0, 0)) {
			TEST_FAIL_AT(__FILE__, __LINE__, "%s", rp.err);
			return;
		}
	}
}

TEST(replay_late_acks)
{
	size_t i;

	CHECK_EQ(load_all(), 0);
	for (i = 0; i < n_files; i++) {
		if (replay(&rp, &files[i], M_LATE_ACK, 0, 0, 0)) {
			TEST_FAIL_AT(__FILE__, __LINE__, "%s", rp.err);
			return;
		}
	}
}

TEST(replay_random_acks)
{
	size_t i;
	uint32_t seed;

	CHECK_EQ(load_all(), 0);
	for (i = 0; i < n_files; i++) {
		for (seed = 1; seed <= 32; seed++) {
			if (replay(&rp, &files[i], M_RANDOM, seed, 0, 0)) {
				TEST_FAIL_AT(__FILE__, __LINE__, "seed %u: %s",
					     seed, rp.err);
				return;
			}
		}
	}
}

TEST(replay_split_notifications)
{
	size_t i, j, k, runs = 0, auth_cuts = 0;

	CHECK_EQ(load_all(), 0);
	for (i = 0; i < n_files; i++) {
		for (j = 0; j < files[i].n; j++) {
			const struct transcript_line *l = &files[i].lines[j];

			if (l->kind != TR_NOTIFY)
				continue;
			for (k = 1; k < l->len; k++) {
				if (replay(&rp, &files[i], M_SPLIT, 0, j, k)) {
					TEST_FAIL_AT(__FILE__, __LINE__, "%s",
						     rp.err);
					return;
				}
				CHECK(rp.split_done);
				runs++;
				auth_cuts += l->ch == MIBAND_CH_AUTH;
			}
		}
	}
	printf("# %zu split replays, %zu on the auth channel\n", runs,
	       auth_cuts);
	CHECK(auth_cuts > 100);
}

/* The replayer must notice a transcript the engine does not follow. */
static int replay_text(const char *text, char *err, size_t cap)
{
	char path[] = "/tmp/miband-transcript-XXXXXX";
	struct transcript t;
	int fd = mkstemp(path), ret;
	FILE *f;

	if (fd < 0)
		return -2;
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	ret = transcript_load(path, &t, err, cap);
	unlink(path);
	if (ret)
		return -3;
	ret = replay(&rp, &t, M_WHOLE, 0, 0, 0);
	snprintf(err, cap, "%s", rp.err);
	transcript_free(&t);
	return ret;
}

TEST(replayer_catches_mismatches)
{
	static const char head[] =
		"@ model mb3\n@ key d88ca0fef504cc82735f15feb6bf9b1f\n"
		"@ auth stored\n> subscribe auth\n";
	char text[1024], err[1024];

	/* the good one passes */
	snprintf(text, sizeof(text), "%s%s", head,
		 "> write auth 02 00\n"
		 "< notify auth 10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3\n"
		 "> write auth 03 00 ce1c0135db39e61f1a27012fb907df3b\n"
		 "< notify auth 10 03 01\n= event auth-ok paired=0\n");
	CHECK_EQ(replay_text(text, err, sizeof(err)), 0);
	/* wrong bytes */
	snprintf(text, sizeof(text), "%s%s", head, "> write auth 02 08\n");
	CHECK_EQ(replay_text(text, err, sizeof(err)), -1);
	CHECK(strstr(err, "write auth 02 00") != NULL);
	/* write request vs command */
	snprintf(text, sizeof(text), "%s%s", head, "> write-req auth 02 00\n");
	CHECK_EQ(replay_text(text, err, sizeof(err)), -1);
	/* wrong event summary */
	snprintf(text, sizeof(text), "%s%s", head,
		 "> write auth 02 00\n"
		 "< notify auth 10 02 01 689c1dd58a666f0f8c90a1a96e1ab3a3\n"
		 "> write auth 03 00 ce1c0135db39e61f1a27012fb907df3b\n"
		 "< notify auth 10 03 01\n= event auth-ok paired=1\n");
	CHECK_EQ(replay_text(text, err, sizeof(err)), -1);
	/* something left over */
	snprintf(text, sizeof(text), "%s", head);
	CHECK_EQ(replay_text(text, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than") != NULL);
	/* parse errors */
	CHECK_EQ(replay_text("> write nosuch 00\n", err, sizeof(err)), -3);
	CHECK(strstr(err, "unknown channel") != NULL);
	CHECK_EQ(replay_text("< notify auth 1\n", err, sizeof(err)), -3);
	CHECK_EQ(replay_text("? what\n", err, sizeof(err)), -3);
	CHECK_EQ(replay_text("= evnt x\n", err, sizeof(err)), -3);
}

TEST(request_directives)
{
	struct transcript_line l;
	struct miband_request req;

	memset(&l, 0, sizeof(l));
	snprintf(l.arg, sizeof(l.arg), "alert 3");
	CHECK_EQ(transcript_request(&l, &req), 0);
	CHECK_EQ(req.type, MIBAND_REQ_ALERT);
	CHECK_EQ(req.u.level, 3);
	snprintf(l.arg, sizeof(l.arg), "fetch 2019-06-01T10:42+8");
	CHECK_EQ(transcript_request(&l, &req), 0);
	CHECK_EQ(req.u.time.year, 2019);
	CHECK_EQ(req.u.time.minute, 42);
	CHECK_EQ(req.u.time.tz, 8);
	snprintf(l.arg, sizeof(l.arg), "devinfo pnp-id");
	CHECK_EQ(transcript_request(&l, &req), 0);
	CHECK_EQ(req.u.devinfo, MIBAND_DEVINFO_PNP_ID);
	snprintf(l.arg, sizeof(l.arg), "config 06 0a 00 03");
	CHECK_EQ(transcript_request(&l, &req), 0);
	CHECK_EQ(req.u.raw.len, 4);
	snprintf(l.arg, sizeof(l.arg), "battery now");
	CHECK_EQ(transcript_request(&l, &req), -1);
	snprintf(l.arg, sizeof(l.arg), "teleport");
	CHECK_EQ(transcript_request(&l, &req), -1);
}

TEST_MAIN(T(files_present), T(replay_whole), T(replay_late_acks),
	  T(replay_random_acks), T(replay_split_notifications),
	  T(replayer_catches_mismatches), T(request_directives))
