/*
 * mibandctl sync / export / stats: the activity history between a band,
 * the SQLite store (include/miband/store.h) and the user.
 *
 * sync.  One MIBAND_REQ_FETCH request per call of the engine, from the
 * start minute in the local zone (the band answers with the time of its
 * first sample and the count it will send).  Every event goes through
 * miband_store_ingest_event(): the first SAMPLES opens a transaction,
 * FETCH_BATCH commits it with the log fsync'd and only then do we call
 * miband_session_fetch_stored(), which lets the engine send the 03
 * acknowledgement (unless --keep-on-band) and go on with the next round.
 * When a request ends, another starts from the minute after the last one
 * received as long as the last request brought samples and the band's
 * data may reach further; a request that brings nothing ends the sync.
 * An error, a lost link or a kill discards the open batch only: every
 * committed batch stays, and the next sync resumes after it.
 *
 * export and stats stream from the database (one SQLite snapshot; a
 * running sync does not block them).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/history.h"
#include "common/output.h"
#include "common/paths.h"
#include "common/zone.h"
#include "miband/store.h"

/* Longest wait for any event of a request (device clock). */
#define MB_HISTORY_GUARD_MS 120000u
/* How far the band's clock may be off the host's for a sync. */
#define MB_HISTORY_CLOCK_SKEW_S (5 * 60)

/* ---- paths and times ---- */

int mb_history_db_path(char *buf, size_t cap, bool create)
{
	char dir[4096];
	int n, r;

	r = mb_xdg_dir("XDG_DATA_HOME", ".local/share", "miband", dir,
		       sizeof(dir));
	if (r == 0 && create)
		r = mb_make_dirs(dir);
	if (r < 0) {
		mb_error_hint("or pass --db FILE");
		return r;
	}
	n = snprintf(buf, cap, "%s/miband.db", dir);
	if (n < 0 || (size_t)n >= cap)
		return MIBAND_E_NOSPACE;
	return 0;
}

static int digits(const char *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* utc: a time without a zone is UTC (stats --utc), not local time. */
static int parse_time(const char *s, bool utc, int64_t *ret_unix)
{
	struct miband_time t;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om = 0, sign;
	const char *p;
	int64_t u;

	if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return MIBAND_E_BAD_TIME;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	p = s + 10;
	if (*p == 'T' || *p == ' ') {
		if (strlen(p) < 6 || p[3] != ':')
			return MIBAND_E_BAD_TIME;
		h = digits(p + 1, 2);
		mi = digits(p + 4, 2);
		p += 6;
		if (*p == ':') {
			sec = digits(p + 1, 2);
			if (sec < 0)
				return MIBAND_E_BAD_TIME;
			p += 3;
		}
	}
	if (y < 1970 || mo < 1 || d < 1 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return MIBAND_E_BAD_TIME;
	memset(&t, 0, sizeof(t));
	t.year = (uint16_t)y;
	t.month = (uint8_t)mo;
	t.day = (uint8_t)d;
	t.hour = (uint8_t)h;
	t.minute = (uint8_t)mi;
	t.second = (uint8_t)sec;
	if (miband_time_valid(&t) < 0)
		return MIBAND_E_BAD_TIME;
	if (!*p && !utc) {
		/* local time, DST as the C library knows it */
		struct tm tm;
		time_t lt;

		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = sec;
		tm.tm_isdst = -1;
		lt = mktime(&tm);
		if (lt == (time_t)-1)
			return MIBAND_E_BAD_TIME;
		*ret_unix = (int64_t)lt;
		return 0;
	}
	u = (int64_t)miband_days_from_civil(y, (unsigned)mo, (unsigned)d) *
		    86400 +
	    h * 3600 + mi * 60 + sec;
	if (!*p || (p[0] == 'Z' && !p[1])) {
		*ret_unix = u;
		return 0;
	}
	if (p[0] != '+' && p[0] != '-')
		return MIBAND_E_BAD_TIME;
	sign = p[0] == '-' ? -1 : 1;
	oh = digits(p + 1, 2);
	if (strlen(p) == 6 && p[3] == ':')
		om = digits(p + 4, 2);
	else if (strlen(p) == 5)
		om = digits(p + 3, 2);
	else if (strlen(p) != 3)
		return MIBAND_E_BAD_TIME;
	if (oh < 0 || oh > 14 || om < 0 || om > 59)
		return MIBAND_E_BAD_TIME;
	*ret_unix = u - sign * (oh * 3600 + om * 60);
	return 0;
}

int mb_history_parse_time(const char *s, int64_t *ret_unix)
{
	return parse_time(s, false, ret_unix);
}

/* "2025-11-24T16:00:00Z" */
static void iso_utc(char *buf, size_t cap, uint32_t minute)
{
	time_t t = (time_t)minute * 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2025-11-24 17:00" in local time, for people. */
static void local_minute(char *buf, size_t cap, uint32_t minute)
{
	time_t t = (time_t)minute * 60;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
}

static int8_t local_tz_quarters(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return (int8_t)(tm.tm_gmtoff / 900);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * sync writes: SQLite needs to write the file and to create its -wal and
 * -shm files next to it.  Says which of them it cannot, before SQLite
 * fails with a message about something else.
 */
static int check_writable(const char *path)
{
	char dir[4096], *slash;
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		mb_error_detail("cannot create the activity database %s: the "
				"folder %s %s",
				path, dir,
				errno == ENOENT ? "does not exist" :
						  "is not a folder");
		return MIBAND_E_IO;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		mb_error_detail("cannot write the activity database %s: "
				"permission denied on its folder %s (SQLite "
				"creates its journal files there)",
				path, dir);
		return MIBAND_E_IO;
	}
	if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) < 0) {
		mb_error_detail("cannot write the activity database %s: "
				"permission denied",
				path);
		return MIBAND_E_IO;
	}
	return 0;
}

/* --db, or the default file (its folder made if create); path: 4096. */
static int db_file(const char *db, bool create, char *path)
{
	if (db) {
		snprintf(path, 4096, "%s", db);
		return 0;
	}
	return mb_history_db_path(path, 4096, create);
}

/*
 * Opens the database: to write (sync; created if needed) or read only
 * (export, stats: they work on a read-only file and folder).  The path
 * opened is left in path (4096 bytes).
 */
static int open_store(const char *db, bool write, struct miband_store **st,
		      char *path)
{
	int r = db_file(db, write, path);

	if (r < 0)
		return r;
	if (write && (r = check_writable(path)) < 0)
		return r;
	if (!write && access(path, F_OK) < 0 && errno == ENOENT) {
		mb_error_detail("no activity database at %s yet: run "
				"`mibandctl sync --device D` first",
				path);
		return MIBAND_E_IO;
	}
	if (!write && access(path, R_OK) < 0) {
		mb_error_detail("cannot read the activity database %s: %s",
				path,
				errno == EACCES ? "permission denied" :
						  strerror(errno));
		return MIBAND_E_IO;
	}
	r = miband_store_open(path, write ? 0 : MIBAND_STORE_READ_ONLY, st);
	if (r == MIBAND_E_IO)
		mb_error_detail("cannot open the activity database %s: %s",
				path, strerror(errno));
	else if (r == MIBAND_E_DB_SCHEMA)
		mb_error_detail("%s has a newer schema than this mibandctl "
				"knows: upgrade libmiband",
				path);
	else if (r < 0)
		mb_error_detail("%s is not a usable SQLite database", path);
	return r;
}

/*
 * A database operation failed with r: a damaged file is said so, with
 * what to do (docs/SCHEMA.md, "A damaged database"); anything else with
 * SQLite's message.
 */
static int db_failed(struct miband_store *st, const char *path, int r,
		     bool syncing)
{
	if (r != MIBAND_E_DB)
		return r;
	mb_error_detail("the activity database %s failed: %s", path,
			miband_store_errmsg(st));
	if (miband_store_check(st) == 0)
		return r;
	mb_error_detail("the activity database %s is damaged (%s)%s", path,
			miband_store_errmsg(st),
			syncing ? "; nothing was fetched from the band or "
				  "acknowledged to it" :
				  "");
	mb_error_hint("move it away: mv '%s' '%s.damaged'; the next sync "
		      "starts a new database with what the band still holds, "
		      "and docs/SCHEMA.md (\"A damaged database\") says how "
		      "to salvage the old one",
		      path, path);
	return r;
}

/* ---- options ---- */

void mb_history_option(struct mb_history_args *a, int code, const char *arg)
{
	a->given |= 1u << (code - MB_HISTORY_LO_SINCE);
	switch (code) {
	case MB_HISTORY_LO_SINCE:
		a->since = arg;
		break;
	case MB_HISTORY_LO_KEEP:
		a->keep_on_band = true;
		break;
	case MB_HISTORY_LO_DB:
		a->db = arg;
		break;
	case MB_HISTORY_LO_FORMAT:
		a->format = arg;
		break;
	case MB_HISTORY_LO_FROM:
		a->from = arg;
		break;
	case MB_HISTORY_LO_TO:
		a->to = arg;
		break;
	case MB_HISTORY_LO_BAND:
		a->band = arg;
		break;
	case MB_HISTORY_LO_UTC:
		a->utc = true;
		break;
	}
}

bool mb_history_is_option(int code)
{
	return code >= MB_HISTORY_LO_SINCE && code < MB_HISTORY_LO_END;
}

static const char *const option_names[] = {
	"--since", "--keep-on-band", "--db",   "--format",
	"--from",  "--to",	     "--band", "--utc",
};

/* Usage error for the first option given that cmd does not take. */
static int only(const struct mb_history_args *a, const char *cmd,
		unsigned allowed)
{
	unsigned bad = a->given & ~allowed, i;

	for (i = 0; bad && i < 8; i++)
		if (bad & (1u << i)) {
			mb_error_detail("%s does not take %s", cmd,
					option_names[i]);
			mb_error_hint("see `mibandctl %s --help`", cmd);
			return MIBAND_E_INVAL;
		}
	return 0;
}

#define BIT(code) (1u << ((code)-MB_HISTORY_LO_SINCE))

int mb_history_sync_check(const struct mb_history_args *a)
{
	char path[4096];
	int64_t t;
	int r = only(a, "sync",
		     BIT(MB_HISTORY_LO_SINCE) | BIT(MB_HISTORY_LO_KEEP) |
			     BIT(MB_HISTORY_LO_DB));

	if (r < 0)
		return r;
	if (a->since && mb_history_parse_time(a->since, &t) < 0) {
		mb_error_detail("--since '%s': %s", a->since,
				miband_strerror(MIBAND_E_BAD_TIME));
		return MIBAND_E_BAD_TIME;
	}
	/* before the band is even connected */
	r = db_file(a->db, true, path);
	return r < 0 ? r : check_writable(path);
}

bool mb_history_fetch_ack(const struct mb_history_args *a)
{
	return !a->keep_on_band;
}

/* ---- sync ---- */

struct progress {
	bool bar, json;
	double t0, drawn_at;
	uint32_t since, until; /* minutes: where we start, the band's now */
	uint64_t received;     /* samples seen (committed or not) */
	bool any;
	uint32_t round_first; /* first minute of the current round */
	uint32_t first, last; /* minutes received */
};

static double rate(const struct progress *p)
{
	double dt = mono_s() - p->t0;

	return dt > 0.001 ? (double)p->received / dt : 0.0;
}

static void draw_bar(struct progress *p, bool final)
{
	char a[32], b[32], bar[25];
	double frac = 0.0, now = mono_s();
	int i, fill;

	if (!p->bar || (!final && now - p->drawn_at < 0.1))
		return;
	p->drawn_at = now;
	if (p->any && p->until > p->since)
		frac = (double)(p->last + 1 - p->since) /
		       (double)(p->until - p->since);
	if (final && p->any)
		frac = 1.0;
	if (frac > 1.0)
		frac = 1.0;
	if (frac < 0.0)
		frac = 0.0;
	fill = (int)(frac * 24 + 0.5);
	for (i = 0; i < 24; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[24] = 0;
	if (p->any) {
		local_minute(a, sizeof(a), p->first);
		local_minute(b, sizeof(b), p->last);
	} else {
		snprintf(a, sizeof(a), "-");
		snprintf(b, sizeof(b), "-");
	}
	fprintf(stderr, "\r\033[K[%s] %3d%%  %llu samples  %s .. %s  %.0f/s%s",
		bar, (int)(frac * 100), (unsigned long long)p->received, a, b,
		rate(p), final ? "\n" : "");
	fflush(stderr);
}

static void json_progress(const struct progress *p,
			  const struct miband_store_ingest *in)
{
	struct mb_json j;
	char a[32], b[32], r[32];

	if (!p->json)
		return;
	mb_json_begin(&j, "sync-progress");
	mb_json_int(&j, "batches", in->batches);
	mb_json_int(&j, "samples", (long long)in->samples);
	mb_json_int(&j, "added", (long long)in->added);
	if (in->has_range) {
		iso_utc(a, sizeof(a), in->range_first);
		iso_utc(b, sizeof(b), in->range_last);
		mb_json_str(&j, "first", a);
		mb_json_str(&j, "last", b);
	}
	snprintf(r, sizeof(r), "%.0f", rate(p));
	mb_json_raw(&j, "rate", r);
	mb_json_end(&j);
}

/*
 * The next event of the running request of type (unsolicited events are
 * skipped).  The session has its own deadlines (reply_timeout_ms); the
 * guard only ends a wait on which nothing at all can happen any more.
 * Returns 1 (*ret filled), or a link or timeout error.
 */
static int next_event(struct mb_device *d, struct miband_session *s,
		      enum miband_request_type type, struct miband_event *ret)
{
	uint64_t guard = mb_device_now(d) + MB_HISTORY_GUARD_MS;
	int r;

	for (;;) {
		r = mb_device_run(d, s, guard, ret);
		if (r < 0)
			return r;
		if (r == 0) {
			if (mb_device_now(d) < guard)
				continue;
			return MIBAND_E_TIMEOUT;
		}
		/* an error that ends the session may carry no request */
		if (ret->request == type || (ret->type == MIBAND_EV_ERROR &&
					     ret->request == MIBAND_REQ_NONE))
			return 1;
	}
}

/* Runs the request started on s to its final event. */
static int await_final(struct mb_device *d, struct miband_session *s,
		       enum miband_request_type type, struct miband_event *ret)
{
	struct miband_event ev;
	int r;

	for (;;) {
		r = next_event(d, s, type, &ev);
		if (r < 0)
			return r;
		if (ev.type == MIBAND_EV_ERROR)
			return ev.error;
		if (ev.type == MIBAND_EV_DONE || ev.type == MIBAND_EV_TIME ||
		    type != MIBAND_REQ_TIME_GET) {
			*ret = ev;
			return 0;
		}
	}
}

/* The band's clock, in unix seconds. */
static int band_clock(struct mb_device *d, struct miband_session *s,
		      int64_t *ret)
{
	struct miband_request req;
	struct miband_event ev;
	int r;

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_TIME_GET;
	r = miband_session_request(s, &req, mb_device_now(d));
	if (r == 0)
		r = await_final(d, s, MIBAND_REQ_TIME_GET, &ev);
	if (r < 0)
		return r;
	if (ev.type != MIBAND_EV_TIME)
		return MIBAND_E_UNEXPECTED;
	*ret = miband_time_to_unix(&ev.u.time);
	return 0;
}

/*
 * A band whose clock is off stores its minutes at the wrong times, and a
 * clock ahead would move the resume point into the future, past minutes
 * a later sync then never asks for: refuse, before anything is fetched.
 */
static int check_clock(int64_t band_now, int64_t host_now)
{
	int64_t d = band_now - host_now;
	char b[32], h[32];

	if (d <= MB_HISTORY_CLOCK_SKEW_S && d >= -MB_HISTORY_CLOCK_SKEW_S)
		return 0;
	local_minute(b, sizeof(b), (uint32_t)(band_now / 60));
	local_minute(h, sizeof(h), (uint32_t)(host_now / 60));
	mb_error_detail("the band's clock (%s) is %lld minutes %s this "
			"computer's (%s): its history would be stored at the "
			"wrong times; nothing was fetched",
			b, (long long)((d < 0 ? -d : d) / 60),
			d > 0 ? "ahead of" : "behind", h);
	mb_error_hint("set the band's clock with `mibandctl time --sync`, "
		      "then sync again");
	return MIBAND_E_STATE;
}

/* One fetch request to its final event.  *ret_got: samples received. */
static int sync_request(struct mb_device *d, struct miband_session *s,
			struct miband_store_ingest *in, struct progress *p,
			uint32_t since, uint64_t *ret_got)
{
	struct miband_request req;
	struct miband_event ev;
	uint64_t got = 0;
	int r, ir;

	memset(&req, 0, sizeof(req));
	req.type = MIBAND_REQ_FETCH;
	/* in the host's zone, as a phone asks (the band converts) */
	miband_time_from_unix((int64_t)since * 60,
			      local_tz_quarters((time_t)since * 60),
			      &req.u.time);
	req.u.time.dow = 0;
	r = miband_session_request(s, &req, mb_device_now(d));
	if (r < 0)
		return r;
	for (;;) {
		r = next_event(d, s, MIBAND_REQ_FETCH, &ev);
		if (r < 0) {
			miband_store_ingest_abort(in);
			if (r == MIBAND_E_TIMEOUT)
				miband_session_cancel(s, mb_device_now(d));
			return r;
		}
		if (ev.type == MIBAND_EV_FETCH_START) {
			int64_t t = miband_time_to_unix(&ev.u.fetch.first);

			p->round_first = t > 0 ? (uint32_t)(t / 60) : 0;
			mb_verbose("fetch: the band sends %u samples from "
				   "%04u-%02u-%02u %02u:%02u",
				   (unsigned)ev.u.fetch.count,
				   ev.u.fetch.first.year,
				   ev.u.fetch.first.month, ev.u.fetch.first.day,
				   ev.u.fetch.first.hour,
				   ev.u.fetch.first.minute);
		} else if (ev.type == MIBAND_EV_SAMPLES && ev.u.samples.count) {
			uint32_t m0 = p->round_first + ev.u.samples.index;
			uint32_t m1 = m0 + (uint32_t)ev.u.samples.count - 1;

			if (!p->any || m0 < p->first)
				p->first = m0;
			if (!p->any || m1 > p->last)
				p->last = m1;
			p->any = true;
			p->received += ev.u.samples.count;
			got += ev.u.samples.count;
		}
		ir = miband_store_ingest_event(in, &ev, (int64_t)time(NULL));
		if (ir < 0) {
			/* the store failed: never acknowledge; stop */
			mb_error_detail("the activity database failed: %s",
					miband_store_errmsg(in->st));
			miband_session_cancel(s, mb_device_now(d));
			await_final(d, s, MIBAND_REQ_FETCH, &ev);
			return ir;
		}
		if (ir == MIBAND_STORE_ACK) {
			r = miband_session_fetch_stored(s, mb_device_now(d));
			if (r < 0)
				return r;
			json_progress(p, in);
		}
		draw_bar(p, false);
		if (ev.type == MIBAND_EV_DONE)
			break;
		if (ev.type == MIBAND_EV_ERROR)
			return ev.error;
	}
	*ret_got = got;
	return 0;
}

static void sync_summary(const struct mb_history_args *a, const char *address,
			 const struct progress *p,
			 const struct miband_store_ingest *in, double secs)
{
	char x[32], y[32], rt[32];
	struct mb_json j;

	(void)a;
	if (mb_json_mode()) {
		mb_json_begin(&j, "sync");
		mb_json_str(&j, "band", address);
		iso_utc(x, sizeof(x), p->since);
		mb_json_str(&j, "since", x);
		mb_json_int(&j, "batches", in->batches);
		mb_json_int(&j, "samples", (long long)in->samples);
		mb_json_int(&j, "added", (long long)in->added);
		mb_json_int(&j, "changed", (long long)in->changed);
		if (in->has_range) {
			iso_utc(x, sizeof(x), in->range_first);
			iso_utc(y, sizeof(y), in->range_last);
			mb_json_str(&j, "first", x);
			mb_json_str(&j, "last", y);
		} else {
			mb_json_null(&j, "first");
			mb_json_null(&j, "last");
		}
		snprintf(rt, sizeof(rt), "%.3f", secs);
		mb_json_raw(&j, "seconds", rt);
		mb_json_end(&j);
	} else if (!in->samples) {
		local_minute(x, sizeof(x), p->since);
		mb_say("sync: %s is up to date (nothing from %s on)", address,
		       x);
	} else {
		local_minute(x, sizeof(x), in->range_first);
		local_minute(y, sizeof(y), in->range_last);
		mb_say("sync: %s: %llu samples from %s to %s (%llu new, %llu "
		       "changed) in %u batches, %.1f s",
		       address, (unsigned long long)in->samples, x, y,
		       (unsigned long long)in->added,
		       (unsigned long long)in->changed, in->batches, secs);
	}
}

int mb_history_sync(struct mb_device *d, struct miband_session *s,
		    const struct mb_history_args *a, const char *address,
		    enum miband_model model, bool progress)
{
	struct miband_store_sync_state ss;
	struct miband_store_ingest in;
	char path[4096];
	struct miband_store *st = NULL;
	struct progress p;
	uint32_t since, band_min, host_min, last;
	int64_t band, band_now, host_now, t;
	char x[32];
	bool has;
	uint64_t got;
	unsigned requests = 0;
	int r;

	r = mb_history_sync_check(a);
	if (r < 0)
		return r;
	r = open_store(a->db, true, &st, path);
	if (r < 0)
		return r;
	/* never acknowledge to a band into a damaged database */
	r = miband_store_check(st);
	if (r < 0) {
		r = db_failed(st, path, r, true);
		goto out;
	}
	r = miband_store_band(st, address, model, &band);
	if (r == 0)
		r = miband_store_sync_state(st, band, &ss);
	if (r < 0) {
		mb_error_detail("the activity database failed: %s",
				miband_store_errmsg(st));
		goto out;
	}
	/* The band's clock, not ours, says how far its history reaches. */
	r = band_clock(d, s, &band_now);
	if (r < 0)
		goto out;
	band_min = band_now <= 0 ? 0 : (uint32_t)(band_now / 60);
	host_now = mb_device_host_time(d);
	r = check_clock(band_now, host_now);
	if (r < 0)
		goto out;
	host_min = host_now <= 0 ? 0 : (uint32_t)(host_now / 60);
	if (a->since) {
		mb_history_parse_time(a->since, &t);
		since = t <= 0 ? 0 : (uint32_t)(t / 60);
	} else if (ss.has_data && ss.last_minute < host_min) {
		since = ss.last_minute + 1;
	} else if (ss.has_data) {
		/* minutes stored from a band clock that was ahead: resume
		 * after the newest one that is not in the future */
		r = miband_store_last_before(st, band, host_min + 1, &has,
					     &last);
		if (r < 0) {
			mb_error_detail("the activity database failed: %s",
					miband_store_errmsg(st));
			goto out;
		}
		since = has ? last + 1 : host_min;
		local_minute(x, sizeof(x), ss.last_minute);
		mb_note("%s: the database holds minutes of %s up to %s, in the "
			"future (the band's clock was ahead): resuming from "
			"the last minute before now",
			MB_PROG, address, x);
	} else {
		since = band_min > MB_HISTORY_FIRST_DAYS * 1440u
				? band_min - MB_HISTORY_FIRST_DAYS * 1440u
				: 0;
	}

	memset(&p, 0, sizeof(p));
	p.bar = progress && !mb_json_mode();
	p.json = mb_json_mode();
	p.t0 = mono_s();
	p.since = since;
	p.until = band_min;
	mb_verbose("sync %s from minute %u (%s)", address, since,
		   a->since	 ? "--since"
		   : ss.has_data ? "after the last stored minute"
				 : "first sync: 100 days back");
	miband_store_ingest_init(&in, st, band);
	/* Rounds until one brings nothing (the band is up to date). */
	for (;;) {
		r = sync_request(d, s, &in, &p, since, &got);
		requests++;
		if (r < 0 || !got || p.last + 1 <= since || requests >= 100000)
			break;
		since = p.last + 1;
	}
	draw_bar(&p, true);
	if (r < 0) {
		if (r != MIBAND_E_DB)
			mb_error_detail(
				"%s; %u complete batches (%llu samples) "
				"were stored, the interrupted one was "
				"discarded: run sync again to resume",
				miband_strerror(r), in.batches,
				(unsigned long long)in.samples);
		goto out;
	}
	sync_summary(a, address, &p, &in, mono_s() - p.t0);
out:
	miband_store_close(st);
	return r;
}

/* ---- export and stats options ---- */

/* Builds the query; 0 or a negative code (detail set). */
static int make_query(struct miband_store *st, const struct mb_history_args *a,
		      struct miband_store_query *q)
{
	int64_t t;
	int r;

	memset(q, 0, sizeof(*q));
	if (a->from) {
		if (parse_time(a->from, a->utc, &t) < 0) {
			mb_error_detail("--from '%s': %s", a->from,
					miband_strerror(MIBAND_E_BAD_TIME));
			return MIBAND_E_BAD_TIME;
		}
		q->has_from = true;
		q->from_minute = t <= 0 ? 0 : (uint32_t)((t + 59) / 60);
	}
	if (a->to) {
		if (parse_time(a->to, a->utc, &t) < 0) {
			mb_error_detail("--to '%s': %s", a->to,
					miband_strerror(MIBAND_E_BAD_TIME));
			return MIBAND_E_BAD_TIME;
		}
		q->has_to = true;
		q->to_minute = t <= 0 ? 0 : (uint32_t)((t + 59) / 60);
	}
	if (a->band) {
		char addr[32];
		const char *name = a->band;

		/* an address in any case names the stored upper case */
		if (strlen(name) == 17) {
			size_t i;

			for (i = 0; i <= 17; i++)
				addr[i] =
					(char)(name[i] >= 'a' && name[i] <= 'f'
						       ? name[i] - 32
						       : name[i]);
			name = addr;
		}
		r = miband_store_band_find(st, name, &q->band);
		if (r == MIBAND_E_NOT_FOUND)
			mb_error_detail("--band: no band '%s' in the activity "
					"database",
					a->band);
		else if (r < 0)
			mb_error_detail("%s", miband_store_errmsg(st));
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- export ---- */

static int write_stdout(const char *data, size_t len, void *user_data)
{
	(void)user_data;
	if (fwrite(data, 1, len, stdout) != len)
		return MIBAND_E_IO;
	return 0;
}

int mb_history_export(const struct mb_history_args *a)
{
	enum miband_store_format f = MIBAND_STORE_CSV;
	struct miband_store_query q;
	struct miband_store *st;
	uint64_t rows = 0;
	char path[4096];
	int r;

	r = only(a, "export",
		 BIT(MB_HISTORY_LO_DB) | BIT(MB_HISTORY_LO_FORMAT) |
			 BIT(MB_HISTORY_LO_FROM) | BIT(MB_HISTORY_LO_TO) |
			 BIT(MB_HISTORY_LO_BAND));
	if (r < 0)
		return r;
	if (a->format && miband_store_format_parse(a->format, &f) < 0) {
		mb_error_detail("--format is csv or jsonl, not '%s'",
				a->format);
		return MIBAND_E_INVAL;
	}
	r = open_store(a->db, false, &st, path);
	if (r < 0)
		return r;
	r = make_query(st, a, &q);
	if (r == 0) {
		errno = 0;
		r = miband_store_export(st, &q, f, write_stdout, NULL, &rows);
		if (r == 0 && fflush(stdout) != 0)
			r = MIBAND_E_IO;
		if (r == MIBAND_E_IO)
			mb_error_detail("writing the export failed: %s",
					strerror(errno));
		else if (r < 0)
			db_failed(st, path, r, false);
	}
	miband_store_close(st);
	if (r == 0)
		mb_verbose("export: %llu rows", (unsigned long long)rows);
	return r;
}

/* ---- stats ---- */

static int print_day(const struct miband_store_day *d, void *user_data)
{
	char date[16], hr[32];
	bool *header = user_data;

	snprintf(date, sizeof(date), "%04d-%02u-%02u", (int)d->year, d->month,
		 d->day);
	if (mb_json_mode()) {
		struct mb_json j;
		char mean[32];

		mb_json_begin(&j, "day");
		mb_json_str(&j, "band", d->address);
		mb_json_str(&j, "date", date);
		mb_json_int(&j, "minutes", d->minutes);
		mb_json_int(&j, "steps", d->steps);
		mb_json_int(&j, "active_minutes", d->active_minutes);
		if (d->hr_minutes) {
			snprintf(mean, sizeof(mean), "%.1f", d->hr_mean);
			mb_json_raw(&j, "hr_mean", mean);
			mb_json_int(&j, "hr_min", d->hr_min);
			mb_json_int(&j, "hr_max", d->hr_max);
		} else {
			mb_json_null(&j, "hr_mean");
			mb_json_null(&j, "hr_min");
			mb_json_null(&j, "hr_max");
		}
		mb_json_int(&j, "hr_minutes", d->hr_minutes);
		mb_json_int(&j, "light_sleep", d->light_sleep);
		mb_json_int(&j, "deep_sleep", d->deep_sleep);
		mb_json_int(&j, "wake_up", d->wake_up);
		mb_json_int(&j, "not_worn", d->not_worn);
		mb_json_end(&j);
		*header = true;
		return 0;
	}
	if (!*header) {
		printf("%-17s %-10s %6s %6s %15s %6s %5s %5s %8s %7s\n", "band",
		       "date", "steps", "active", "hr mean/min/max", "light",
		       "deep", "wake", "not-worn", "minutes");
		*header = true;
	}
	if (d->hr_minutes)
		snprintf(hr, sizeof(hr), "%.0f/%u/%u", d->hr_mean, d->hr_min,
			 d->hr_max);
	else
		snprintf(hr, sizeof(hr), "-");
	printf("%-17s %-10s %6u %6u %15s %6u %5u %5u %8u %7u\n", d->address,
	       date, d->steps, d->active_minutes, hr, d->light_sleep,
	       d->deep_sleep, d->wake_up, d->not_worn, d->minutes);
	return 0;
}

int mb_history_stats(const struct mb_history_args *a)
{
	struct miband_store_query q;
	struct miband_store *st;
	bool any = false;
	char path[4096];
	int r;

	r = only(a, "stats",
		 BIT(MB_HISTORY_LO_DB) | BIT(MB_HISTORY_LO_FROM) |
			 BIT(MB_HISTORY_LO_TO) | BIT(MB_HISTORY_LO_BAND) |
			 BIT(MB_HISTORY_LO_UTC));
	if (r < 0)
		return r;
	r = open_store(a->db, false, &st, path);
	if (r < 0)
		return r;
	r = make_query(st, a, &q);
	if (r == 0)
		r = mb_zone_daily(st, &q, a->utc, print_day, &any);
	if (r < 0 && r != MIBAND_E_NOSPACE)
		db_failed(st, path, r, false);
	miband_store_close(st);
	if (r < 0)
		return r;
	if (!any)
		mb_say("no history stored%s",
		       a->band || a->from || a->to ? " in that range" : " yet");
	return 0;
}
