/*
 * mb_device over the in-process emulated band (`--device emu`): the
 * client session and a band engine on the in-process link.
 *
 * How it works
 *
 * The band lives across commands: its state (key, history seed, battery,
 * clock offset and zone) is kept in $XDG_STATE_HOME/miband/emu/band
 * (default ~/.local/state; a 0600 file in 0700 directories, since it holds
 * the band's key), loaded at open and saved at close and as soon as the
 * band accepts a new key.  So `mibandctl pair` in one command and
 * `mibandctl auth` in the next talk to the same band.
 *
 * Clocks.  The link runs on a virtual clock in milliseconds starting at 0
 * at open.  The band's clock starts at the host's real time (plus the
 * offset a `time --set` left) and then follows virtual time.  One-shot
 * commands run virtual time as fast as possible: a 1.5 s tap or a 30 s
 * pairing deadline pass at once.  With opts->realtime (--follow) virtual
 * time is paced to the monotonic clock, so heart rate comes once a second
 * and realtime steps once a minute, as on a real band; the wait sleeps
 * until the next thing the link has scheduled and returns early on a
 * signal.  MIBANDCTL_EMU_SPEED=N runs the paced clock N times faster and
 * MIBANDCTL_EMU_CLOCK=UNIX starts the band at that time instead of the
 * host's (both for tests and demos).  MIBANDCTL_EMU_FAULT=KIND:N breaks
 * the Nth (from 0) history data packet of the run: drop, corrupt (its
 * counter), disconnect, or stall (nothing more is delivered) -- for the
 * history tests (docs/TESTING.md).  MIBANDCTL_EMU_ERASE=1 makes the band
 * erase what it acknowledged (a watermark in the state file, applied by
 * moving a fetch's start), MIBANDCTL_EMU_KILL=N SIGKILLs the process
 * before the Nth history packet, and MIBANDCTL_EMU_BATCH=N sets the
 * samples per fetch round: all three through the same link filter.
 *
 * The emulated wearer answers the pairing prompt by opts->emu_pairing
 * (accept after 1.5 s, decline, or never: then the client's deadline
 * ends the pairing), and when paced presses a button, the music controls
 * and "find phone" every few seconds, so `events --follow` has something
 * to show.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miband/miband.h"

#include "common/device.h"
#include "common/keys.h"
#include "common/output.h"
#include "common/paths.h"
#include "common/trace.h"

#define WEARER_PERIOD_MS 5000u

struct emu_state {
	enum miband_model model;
	uint32_t seed;
	uint8_t battery;
	bool charging;
	int64_t clock_offset; /* band clock - host clock, seconds */
	bool has_tz;
	int8_t tz;
	bool has_key;
	uint8_t key[16];
	uint32_t erased; /* MIBANDCTL_EMU_ERASE: history before it is gone */
};

struct dev_emu {
	struct mb_device base; /* first: the common device object */
	struct mb_device_opts opts;
	struct miband_band band;
	struct miband_link link;
	struct miband_session *bound;
	struct mb_trace *trace;
	struct emu_state st;
	char dir[4096];
	int64_t host_start;    /* host clock (unix s) at virtual 0 */
	struct timespec mono0; /* monotonic clock at virtual 0 */
	double speed;
	bool time_set;         /* the client set the clock in this run */
	int64_t set_offset;
	uint64_t wearer_at;
	unsigned wearer_step;
	int fault;             /* MIBANDCTL_EMU_FAULT kind, 0 = none */
	unsigned fault_at, data_packets;
	bool erase;            /* MIBANDCTL_EMU_ERASE */
	bool kill;             /* MIBANDCTL_EMU_KILL given */
	unsigned kill_at, history_packets;
	int sig;               /* MIBANDCTL_EMU_SIGNAL: the signal, 0 none */
	unsigned sig_at, packets;
};

/* ---- state on disk ---- */

static int state_dir(const struct mb_device_opts *opts, char *buf, size_t cap)
{
	int n;

	if (!opts->state_dir)
		return mb_xdg_dir("XDG_STATE_HOME", ".local/state",
				  "miband/emu", buf, cap);
	n = snprintf(buf, cap, "%s", opts->state_dir);
	if (n < 0 || (size_t)n >= cap) {
		mb_error_detail("the emulated band's state path is too long");
		return MIBAND_E_IO;
	}
	return 0;
}

static void state_defaults(struct emu_state *st, enum miband_model model)
{
	struct miband_band_config bc;

	miband_band_config_init(&bc, model);
	memset(st, 0, sizeof(*st));
	st->model = model;
	st->seed = bc.seed;
	st->battery = bc.battery_level;
}

/* read(2), not stdio: no library buffer keeps a copy of the band's key. */
static int state_load(struct dev_emu *e)
{
	char path[4200], buf[2048], *line, *save = NULL, *val;
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/band", e->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : MIBAND_E_IO;
	while (len + 1 < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (*line == '#')
			continue;
		val = strchr(line, ' ');
		if (!val)
			continue;
		*val++ = 0;
		if (!strcmp(line, "seed")) {
			e->st.seed = (uint32_t)strtoul(val, NULL, 10);
		} else if (!strcmp(line, "battery")) {
			int b = atoi(val);

			e->st.battery = (uint8_t)(b > 100 ? 100 : b < 0 ? 0 : b);
		} else if (!strcmp(line, "charging")) {
			e->st.charging = atoi(val) != 0;
		} else if (!strcmp(line, "clock-offset")) {
			e->st.clock_offset = strtoll(val, NULL, 10);
		} else if (!strcmp(line, "tz")) {
			int tz = atoi(val);

			if (tz >= -48 && tz <= 56) {
				e->st.has_tz = true;
				e->st.tz = (int8_t)tz;
			}
		} else if (!strcmp(line, "key")) {
			e->st.has_key = mb_key_parse(val, e->st.key) == 0;
		} else if (!strcmp(line, "erased")) {
			e->st.erased = (uint32_t)strtoul(val, NULL, 10);
		}
	}
	miband_wipe(buf, sizeof(buf));
	return 0;
}

static int state_save(struct dev_emu *e)
{
	char path[4200], tmp[4200], text[512];
	int fd, n, i;
	bool ok;

	if (mb_make_dirs(e->dir) < 0)
		return MIBAND_E_IO;
	n = snprintf(text, sizeof(text),
		     "# mibandctl emulated band: its state between commands\n"
		     "model %s\nseed %u\nbattery %u\ncharging %d\n"
		     "clock-offset %lld\n",
		     miband_model_name(e->st.model), (unsigned)e->st.seed,
		     (unsigned)e->st.battery, e->st.charging ? 1 : 0,
		     (long long)e->st.clock_offset);
	if (e->st.has_tz)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "tz %d\n",
			      e->st.tz);
	if (e->st.erased)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "erased %u\n", (unsigned)e->st.erased);
	if (e->st.has_key) {
		n += snprintf(text + n, sizeof(text) - (size_t)n, "key ");
		for (i = 0; i < 16; i++)
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x",
				      e->st.key[i]);
		text[n++] = '\n';
	}
	snprintf(path, sizeof(path), "%s/band", e->dir);
	snprintf(tmp, sizeof(tmp), "%s/.band.XXXXXX", e->dir);
	fd = mkstemp(tmp);
	if (fd < 0) {
		miband_wipe(text, sizeof(text));
		return MIBAND_E_IO;
	}
	ok = fchmod(fd, 0600) == 0 && write(fd, text, (size_t)n) == n;
	miband_wipe(text, sizeof(text));
	if (close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return MIBAND_E_IO;
	}
	return 0;
}

/* Takes what the band knows into st. */
static void state_capture(struct dev_emu *e)
{
	uint8_t key[16];

	if (miband_band_get_key(&e->band, key) == 0) {
		memcpy(e->st.key, key, 16);
		e->st.has_key = true;
	}
	miband_wipe(key, sizeof(key));
	if (e->time_set)
		e->st.clock_offset = e->set_offset;
}

/* ---- clocks ---- */

static int64_t host_now(void)
{
	const char *fixed = getenv("MIBANDCTL_EMU_CLOCK");

	if (fixed && *fixed)
		return strtoll(fixed, NULL, 10);
	return (int64_t)time(NULL);
}

static int8_t host_tz(int64_t at)
{
	time_t t = (time_t)at;
	struct tm tm;

	localtime_r(&t, &tm);
	return (int8_t)(tm.tm_gmtoff / 900);
}

/* Virtual time that corresponds to the monotonic clock now. */
static uint64_t paced_now(const struct dev_emu *e)
{
	struct timespec ts;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (double)(ts.tv_sec - e->mono0.tv_sec) * 1000.0 +
	     (double)(ts.tv_nsec - e->mono0.tv_nsec) / 1e6;
	return ms <= 0 ? 0 : (uint64_t)(ms * e->speed);
}

/* Sleeps until virtual time v; false if a signal interrupted it. */
static bool sleep_until(const struct dev_emu *e, uint64_t v)
{
	struct timespec ts = e->mono0;
	double real_ms = (double)v / e->speed;
	uint64_t ns;
	int r;

	ns = (uint64_t)(real_ms * 1e6);
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return r != EINTR;
}

/*
 * When the link will next have something to do (UINT64_MAX: nothing).
 * The link keeps its packet queue private; this reads its head, the
 * same way miband_link_run() decides what comes next.
 */
static uint64_t link_next(const struct dev_emu *e)
{
	uint64_t t = miband_session_deadline_ms(e->link.session);
	uint64_t b = miband_band_deadline_ms(&e->band);

	if (b < t)
		t = b;
	if (e->link.n && e->link.pkt[0].at < t)
		t = e->link.pkt[0].at;
	if (e->link.session_more || e->link.band_more)
		t = e->link.now;
	return t;
}

/*
 * The link leaves its clock where it is when nothing is scheduled; move
 * it on so the band's clock keeps up with the time that passed.
 */
static void advance_idle(struct dev_emu *e, uint64_t to)
{
	if (to != UINT64_MAX && e->link.now < to)
		e->link.now = to;
}

/* ---- the emulated wearer and the band's events ---- */

static void wearer_tick(struct dev_emu *e)
{
	static const uint8_t script[][2] = {
		{ MIBAND_DEV_BUTTON, 0 },
		{ MIBAND_DEV_MUSIC, 0x00 },	      /* play */
		{ MIBAND_DEV_MUSIC, 0x03 },	      /* next */
		{ MIBAND_DEV_FIND_PHONE_START, 0 },
		{ MIBAND_DEV_FIND_PHONE_STOP, 0 },
	};
	uint64_t now = miband_link_now(&e->link);
	const uint8_t *step;

	if (!e->opts.realtime || now < e->wearer_at)
		return;
	e->wearer_at = now + WEARER_PERIOD_MS;
	if (!miband_band_is_authed(&e->band))
		return;
	step = script[e->wearer_step % (sizeof(script) / sizeof(script[0]))];
	if (miband_band_emit_event(&e->band, step[0], step[1], now) == 0)
		e->wearer_step++;
}

static void band_event(struct dev_emu *e, const struct miband_band_event *ev)
{
	char text[3 * MIBAND_TEXT_MAX + 1];
	struct miband_time t;

	switch (ev->type) {
	case MIBAND_BAND_EV_PAIR_PROMPT:
		mb_verbose("emu: the band vibrates: \"tap to pair\" (%s)",
			   e->opts.emu_pairing == MIBAND_PAIRING_ACCEPT ?
				   "the wearer taps" :
			   e->opts.emu_pairing == MIBAND_PAIRING_DECLINE ?
				   "the wearer declines" :
				   "nobody answers");
		break;
	case MIBAND_BAND_EV_PAIRED:
		mb_verbose("emu: the band stored the new key");
		state_capture(e);
		if (state_save(e) < 0)
			mb_note("%s: warning: cannot save the emulated band's "
				"state in %s",
				MB_PROG, e->dir);
		break;
	case MIBAND_BAND_EV_TIME_SET:
		t = ev->u.time;
		e->time_set = true;
		e->set_offset = miband_time_to_unix(&t) -
				(e->host_start +
				 (int64_t)(miband_link_now(&e->link) / 1000));
		e->st.has_tz = true;
		e->st.tz = t.tz;
		mb_verbose("emu: the band's clock was set");
		break;
	case MIBAND_BAND_EV_TEXT:
	case MIBAND_BAND_EV_CALL:
	case MIBAND_BAND_EV_CONFIG:
	case MIBAND_BAND_EV_USER:
		if (ev->type == MIBAND_BAND_EV_CONFIG ||
		    ev->type == MIBAND_BAND_EV_USER) {
			size_t i, o = 0;

			for (i = 0; i < ev->u.text.len && o + 4 < sizeof(text);
			     i++)
				o += (size_t)snprintf(text + o, sizeof(text) - o,
						      "%s%02x", i ? " " : "",
						      ev->u.text.data[i]);
			text[o] = 0;
		} else {
			mb_printable(text, sizeof(text), ev->u.text.data,
				     ev->u.text.len);
		}
		mb_verbose("emu: band %s: %s",
			   miband_band_event_name(ev->type), text);
		break;
	case MIBAND_BAND_EV_ALERT:
		mb_verbose("emu: band alert level %u", ev->u.level);
		break;
	default:
		mb_verbose("emu: band %s", miband_band_event_name(ev->type));
		break;
	}
}

/* --verbose GATT log and --trace of every delivered packet. */
static void on_packet(enum miband_link_dir dir, int kind,
		      enum miband_channel ch, const uint8_t *data, size_t len,
		      bool secret, uint64_t now, void *user_data)
{
	struct dev_emu *e = user_data;
	const struct miband_channel_info *ci = miband_channel_info(ch);
	char hex[3 * MIBAND_BAND_VALUE_MAX + 1];
	size_t shown, i, o = 0;
	const char *what;

	if (e->trace)
		mb_trace_packet(dir, kind, ch, data, len, secret, now,
				e->trace);
	if (!e->opts.verbose || kind == MIBAND_ACTION_DISCONNECT)
		return;
	shown = miband_redact_from(ch, dir == MIBAND_LINK_TO_BAND, data, len,
				   secret);
	for (i = 0; i < shown && o + 4 < sizeof(hex); i++)
		o += (size_t)snprintf(hex + o, sizeof(hex) - o, "%s%02x",
				      i ? " " : "", data[i]);
	hex[o] = 0;
	what = kind == MIBAND_ACTION_SUBSCRIBE	 ? "subscribe" :
	       kind == MIBAND_ACTION_UNSUBSCRIBE ? "unsubscribe" :
	       kind == MIBAND_ACTION_READ	 ? "read" :
	       kind == MIBAND_ACTION_WRITE	 ? "write" :
						   "notify";
	if (dir == MIBAND_LINK_TO_CLIENT && kind != MIBAND_ACTION_EVENT &&
	    kind != MIBAND_ACTION_READ)
		what = "done";
	mb_verbose("emu: %6llu ms %s %-11s %-*s%s%s", (unsigned long long)now,
		   dir == MIBAND_LINK_TO_BAND ? "> band " : "< band ",
		   ci ? ci->name : "?", o ? 10 : 0, what, hex,
		   shown < len ? " <redacted>" : "");
}

/*
 * MIBANDCTL_EMU_ERASE: the band erases what it acknowledged (PROTOCOL.md:
 * UNCONFIRMED, a real band may).  When the 03 reaches the band, every
 * minute before the next one it would send is gone (kept in the state
 * file at once, as a band's flash); a fetch from before that starts
 * there.
 */
static void erase_filter(struct dev_emu *e, enum miband_link_dir dir,
			 int kind, enum miband_channel ch, uint8_t *data,
			 size_t len)
{
	struct miband_time t;
	int64_t m;

	if (!e->erase || dir != MIBAND_LINK_TO_BAND ||
	    ch != MIBAND_CH_FETCH_CTL || kind != MIBAND_ACTION_WRITE || !len)
		return;
	if (data[0] == 0x03 && e->band.fetch_pos > e->st.erased) {
		e->st.erased = e->band.fetch_pos;
		state_capture(e);
		if (state_save(e) < 0)
			mb_note("%s: warning: cannot save the emulated band's "
				"state in %s",
				MB_PROG, e->dir);
		mb_verbose("emu: the band erased its history before minute %u",
			   (unsigned)e->st.erased);
	}
	if (data[0] != 0x01 || len != 10 ||
	    miband_decode_datetime7(data + 2, 7, &t) < 0)
		return;
	t.tz = (int8_t)data[9];
	m = miband_time_to_unix(&t) / 60;
	if (m >= (int64_t)e->st.erased)
		return;
	miband_time_from_unix((int64_t)e->st.erased * 60, t.tz, &t);
	miband_encode_datetime7(data + 2, 7, &t);
}

/*
 * The link's filter: MIBANDCTL_EMU_ERASE, MIBANDCTL_EMU_KILL (SIGKILL the
 * whole process just before the Nth, from 0, history packet enters the
 * link: fetch control writes and notifications, data packets),
 * MIBANDCTL_EMU_SIGNAL=NAME:N (raise SIGINT, SIGTERM or SIGHUP just before
 * the Nth, from 0, packet of any kind enters the link: a signal at a
 * chosen point of the protocol, as a user's Ctrl-C would come, without
 * timing) and MIBANDCTL_EMU_FAULT (kinds 1 drop, 2 corrupt, 3 disconnect,
 * 4 stall).
 */
static enum miband_link_verdict on_fault(enum miband_link_dir dir, int kind,
					 enum miband_channel ch,
					 uint8_t *data, size_t *len,
					 void *user_data)
{
	struct dev_emu *e = user_data;

	if ((ch == MIBAND_CH_FETCH_CTL || ch == MIBAND_CH_FETCH_DATA) &&
	    (kind == MIBAND_ACTION_WRITE || kind == MIBAND_ACTION_EVENT) &&
	    e->kill && e->history_packets++ == e->kill_at)
		raise(SIGKILL);
	if (e->sig && e->packets++ == e->sig_at)
		raise(e->sig);
	erase_filter(e, dir, kind, ch, data, *len);
	if (!e->fault)
		return MIBAND_LINK_PASS;
	if (e->fault == 4 && e->data_packets > e->fault_at)
		return MIBAND_LINK_DROP;
	if (dir != MIBAND_LINK_TO_CLIENT || ch != MIBAND_CH_FETCH_DATA ||
	    kind != MIBAND_ACTION_EVENT || e->data_packets++ != e->fault_at)
		return MIBAND_LINK_PASS;
	if (e->fault == 2 && *len)
		data[0] ^= 0x55;
	return e->fault == 2 ? MIBAND_LINK_PASS :
	       e->fault == 3 ? MIBAND_LINK_DISCONNECT :
			       MIBAND_LINK_DROP;
}

static void parse_fault(struct dev_emu *e)
{
	static const char *const kinds[] = { "drop:", "corrupt:",
					     "disconnect:", "stall:" };
	const char *f = getenv("MIBANDCTL_EMU_FAULT");
	int i;

	for (i = 0; f && i < 4; i++)
		if (!strncmp(f, kinds[i], strlen(kinds[i]))) {
			e->fault = i + 1;
			e->fault_at = (unsigned)strtoul(f + strlen(kinds[i]),
							NULL, 10);
		}
	f = getenv("MIBANDCTL_EMU_ERASE");
	e->erase = f && !strcmp(f, "1");
	f = getenv("MIBANDCTL_EMU_KILL");
	if (f && *f) {
		e->kill = true;
		e->kill_at = (unsigned)strtoul(f, NULL, 10);
	}
	f = getenv("MIBANDCTL_EMU_SIGNAL");
	if (f && *f) {
		static const struct {
			const char *name;
			int sig;
		} sigs[] = { { "INT:", SIGINT },
			     { "TERM:", SIGTERM },
			     { "HUP:", SIGHUP } };

		for (i = 0; i < 3; i++)
			if (!strncmp(f, sigs[i].name, strlen(sigs[i].name))) {
				e->sig = sigs[i].sig;
				e->sig_at = (unsigned)strtoul(
					f + strlen(sigs[i].name), NULL, 10);
			}
	}
}

/* ---- the device ops ---- */

static uint64_t emu_now(struct mb_device *d)
{
	return miband_link_now(&((struct dev_emu *)d)->link);
}

static int emu_run(struct mb_device *d, struct miband_session *s,
		   uint64_t deadline_ms, struct miband_event *ret_ev)
{
	struct dev_emu *e = (struct dev_emu *)d;
	struct miband_link_output out;
	struct miband_link_config lc;
	uint64_t until, next, now;
	int r;

	if (!s || !ret_ev)
		return MIBAND_E_INVAL;
	if (!e->bound) {
		miband_link_config_init(&lc);
		lc.trace = on_packet;
		lc.user_data = e;
		parse_fault(e);
		if (e->fault || e->erase || e->kill || e->sig)
			lc.filter = on_fault;
		r = miband_link_init(&e->link, &lc, s, &e->band, 0);
		if (r < 0)
			return r;
		e->bound = s;
		e->wearer_at = WEARER_PERIOD_MS;
	} else if (e->bound != s) {
		return MIBAND_E_STATE;
	}
	for (;;) {
		wearer_tick(e);
		until = deadline_ms;
		if (e->opts.realtime) {
			uint64_t p = paced_now(e);

			if (p < until)
				until = p;
			if (e->wearer_at < until)
				until = e->wearer_at;
		}
		r = miband_link_run(&e->link, until, &out);
		if (r < 0)
			return r;
		if (r > 0) {
			if (out.from_band) {
				band_event(e, &out.band);
				continue;
			}
			*ret_ev = out.client;
			return 1;
		}
		now = miband_link_now(&e->link);
		if (now >= deadline_ms)
			return 0;
		next = link_next(e);
		if (!e->opts.realtime) {
			/* as fast as possible: nothing is scheduled before
			 * the deadline, so the deadline has come */
			if (next == UINT64_MAX || next > deadline_ms) {
				advance_idle(e, deadline_ms);
				return 0;
			}
			continue;
		}
		if (e->wearer_at < next)
			next = e->wearer_at;
		if (deadline_ms < next)
			next = deadline_ms;
		if (next > paced_now(e) && !sleep_until(e, next))
			return 0; /* a signal: the caller looks at its flag */
		advance_idle(e, paced_now(e) < next ? paced_now(e) : next);
	}
}

static void emu_close(struct mb_device *d)
{
	struct dev_emu *e = (struct dev_emu *)d;
	uint64_t now;

	if (!e)
		return;
	now = miband_link_now(&e->link);
	miband_band_on_disconnect(&e->band, now);
	state_capture(e);
	if (state_save(e) < 0)
		mb_note("%s: warning: cannot save the emulated band's state in "
			"%s",
			MB_PROG, e->dir);
	if (e->trace && mb_trace_close(e->trace, now) < 0)
		mb_note("%s: warning: the trace file %s is incomplete", MB_PROG,
			e->opts.trace_path);
	miband_band_wipe(&e->band);
	miband_wipe(&e->st, sizeof(e->st));
	miband_wipe(e, sizeof(*e));
	free(e);
}

/* The host clock of the emulated world: real, or MIBANDCTL_EMU_CLOCK. */
static int64_t emu_host_time(struct mb_device *d)
{
	struct dev_emu *e = (struct dev_emu *)d;

	return e->host_start + (int64_t)(emu_now(d) / 1000u);
}

static const struct mb_device_ops emu_ops = {
	.run = emu_run,
	.now = emu_now,
	.close = emu_close,
	.host_time = emu_host_time,
};

int mb_device_open_emu(const struct mb_device_opts *opts,
		       struct mb_device **ret)
{
	struct miband_band_config bc;
	struct dev_emu *e;
	const char *speed;
	int r;

	if (!opts || !ret)
		return MIBAND_E_INVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return MIBAND_E_NOMEM;
	e->base.ops = &emu_ops;
	e->base.model = opts->model;
	e->opts = *opts;
	e->speed = 1.0;
	speed = getenv("MIBANDCTL_EMU_SPEED");
	if (speed && *speed && atof(speed) > 0)
		e->speed = atof(speed);
	r = state_dir(opts, e->dir, sizeof(e->dir));
	if (r < 0)
		goto fail;
	state_defaults(&e->st, opts->model);
	r = state_load(e);
	if (r < 0) {
		mb_error_detail("cannot read the emulated band's state in %s",
				e->dir);
		goto fail;
	}
	e->st.model = opts->model;
	r = mb_make_dirs(e->dir);
	if (r < 0)
		goto fail;

	e->host_start = host_now();
	clock_gettime(CLOCK_MONOTONIC, &e->mono0);
	miband_band_config_init(&bc, opts->model);
	bc.crypto = &miband_crypto_openssl;
	bc.pairing = opts->emu_pairing;
	if (opts->emu_pairing == MIBAND_PAIRING_NEVER)
		bc.prompt_timeout_ms = 0; /* the client's deadline decides */
	bc.seed = e->st.seed;
	bc.battery_level = e->st.battery;
	bc.start_unix = e->host_start + e->st.clock_offset;
	bc.tz = e->st.has_tz ? e->st.tz : host_tz(bc.start_unix);
	speed = getenv("MIBANDCTL_EMU_BATCH"); /* samples per fetch round */
	if (speed && atoi(speed) > 0)
		bc.fetch_batch_max = (uint32_t)atoi(speed);
	r = miband_band_init(&e->band, &bc, e->st.has_key ? e->st.key : NULL,
			     0);
	if (r < 0)
		goto fail;
	if (e->st.charging)
		miband_band_set_battery(&e->band, e->st.battery, true);
	mb_verbose("emu: %s, %s, state in %s",
		   miband_model_display_name(opts->model),
		   e->st.has_key ? "paired" : "not paired", e->dir);
	if (opts->trace_path) {
		r = mb_trace_open(opts->trace_path, "emu", opts->trace_secrets,
				  0, &e->trace);
		if (r < 0) {
			mb_error_detail("cannot write the trace file %s: %s",
					opts->trace_path, strerror(errno));
			goto fail;
		}
	}
	*ret = &e->base;
	return 0;
fail:
	miband_band_wipe(&e->band);
	miband_wipe(e, sizeof(*e));
	free(e);
	return r;
}
