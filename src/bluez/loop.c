/*
 * The central's loop: the epoll fd callers poll, the internal timers,
 * process() / get_timeout() / wait(), and the sd-event binding.
 *
 * process() reads the acquired notification sockets, lets sd-bus dispatch
 * replies and signals, runs the timers of connect.c and scan.c, then
 * feeds the session: one input per call unless a ready callback drains
 * after each (get_timeout() says "at once" while more are queued).  After
 * every entry point miband__bz_rearm() brings the bus fd's epoll events and the
 * sd-event timer up to date.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "bluez/central.h"

static int bus_watch_update(struct miband_bluez *bz)
{
	struct epoll_event ev;
	int events, fd;

	if (bz->bus_dead)
		return 0;
	events = sd_bus_get_events(bz->bus);
	fd = sd_bus_get_fd(bz->bus);
	if (events < 0 || fd < 0)
		return 0;
	if ((uint32_t)events == bz->bus_events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = 0;
	if (events & POLLIN)
		ev.events |= EPOLLIN;
	if (events & POLLOUT)
		ev.events |= EPOLLOUT;
	ev.data.u64 = EPOLL_TAG_BUS;
	if (epoll_ctl(bz->efd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	bz->bus_events = (uint32_t)events;
	return 0;
}

static void bus_lost(struct miband_bluez *bz, int r)
{
	int fd = sd_bus_get_fd(bz->bus);

	miband__bz_errorf(bz, "the system bus connection is lost: %s",
			  strerror(-r));
	bz->bus_dead = true;
	bz->disc_pending = false;
	if (fd >= 0)
		epoll_ctl(bz->efd, EPOLL_CTL_DEL, fd, NULL);
	miband__link_down(bz, MIBAND_E_NO_BLUEZ);
	if (bz->cstate != C_IDLE && bz->cstate != C_READY)
		miband__conn_finish(bz, MIBAND_E_NO_BLUEZ);
	if (bz->sstate != S_OFF)
		miband__scan_fail(bz, MIBAND_E_NO_BLUEZ);
	bz->init_status = MIBAND_E_NO_BLUEZ;
}

static void run_timers(struct miband_bluez *bz, uint64_t now)
{
	miband__conn_timers(bz, now);
	miband__scan_timers(bz, now);
}

int miband_bluez_process(struct miband_bluez *bz)
{
	struct epoll_event evs[MIBAND_CH_COUNT + 1];
	uint64_t now;
	int n, i, r = 0;

	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_ref(bz);
	n = epoll_wait(bz->efd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag < MIBAND_CH_COUNT)
			miband__read_notify_fd(bz, &bz->chans[tag],
					       evs[i].events);
	}
	while (!bz->bus_dead) {
		r = sd_bus_process(bz->bus, NULL);
		if (r < 0) {
			bus_lost(bz, r);
			break;
		}
		if (r == 0)
			break;
	}
	now = miband__now_usec();
	run_timers(bz, now);
	if (!bz->session) {
		/* nobody to tell: what came in is dropped */
		while (miband__input_ready(bz))
			miband__feed_one(bz, now / USEC_PER_MSEC);
	}
	/* one input per call unless a ready callback drains after each */
	while (bz->session && miband__feed_one(bz, now / USEC_PER_MSEC)) {
		if (!bz->ready)
			break;
		bz->ready(bz, bz->ready_user_data);
	}
	if (!miband__input_ready(bz) && bz->session &&
	    miband_session_deadline_ms(bz->session) <= now / USEC_PER_MSEC) {
		miband_session_on_timeout(bz->session, now / USEC_PER_MSEC);
		if (bz->ready)
			bz->ready(bz, bz->ready_user_data);
	}
	miband__bz_rearm(bz);
	r = bz->bus_dead ? MIBAND_E_NO_BLUEZ : 0;
	miband_bluez_unref(bz);
	return r;
}

int miband_bluez_get_fd(struct miband_bluez *bz)
{
	return bz ? bz->efd : MIBAND_E_INVAL;
}

int miband_bluez_get_timeout(struct miband_bluez *bz, uint64_t *ret_usec)
{
	uint64_t t = NEVER, bt;

	if (!bz || !ret_usec)
		return MIBAND_E_INVAL;
	if (miband__input_ready(bz)) {
		*ret_usec = 0;
		return 0;
	}
	if (!bz->bus_dead && sd_bus_get_timeout(bz->bus, &bt) > 0)
		t = bt;
	if (bz->cstate != C_IDLE && bz->cstate != C_READY)
		t = min_u64(t, min_u64(bz->conn_deadline, bz->conn_step_at));
	if (bz->sstate == S_ON)
		t = min_u64(t, bz->scan_restart_at);
	if (bz->session) {
		uint64_t d = miband_session_deadline_ms(bz->session);

		if (d != NEVER)
			t = min_u64(t, d >= NEVER / USEC_PER_MSEC
					       ? NEVER
					       : d * USEC_PER_MSEC);
	}
	*ret_usec = t;
	return 0;
}

int miband_bluez_wait(struct miband_bluez *bz, uint64_t timeout_usec)
{
	struct pollfd p;
	uint64_t t, now;
	int ms;

	if (!bz)
		return MIBAND_E_INVAL;
	miband_bluez_get_timeout(bz, &t);
	now = miband__now_usec();
	if (timeout_usec != NEVER)
		t = min_u64(t, now + timeout_usec);
	if (t == NEVER)
		ms = -1;
	else if (t <= now)
		ms = 0;
	else if (t - now > (uint64_t)INT32_MAX * USEC_PER_MSEC)
		ms = INT32_MAX;
	else /* round up: waking early only spins */
		ms = (int)((t - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
	p.fd = bz->efd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, ms) < 0 && errno == EINTR)
		return 1;
	return miband_bluez_process(bz);
}

/* ---- sd-event ---- */

static int on_event_io(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	(void)s;
	(void)fd;
	(void)revents;
	miband_bluez_process(ud);
	return 0;
}

static int on_event_time(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)s;
	(void)usec;
	miband_bluez_process(ud);
	return 0;
}

void miband__bz_rearm(struct miband_bluez *bz)
{
	uint64_t t;

	bus_watch_update(bz);
	if (!bz->ev_time)
		return;
	miband_bluez_get_timeout(bz, &t);
	if (t == NEVER) {
		sd_event_source_set_enabled(bz->ev_time, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(bz->ev_time, t);
	sd_event_source_set_enabled(bz->ev_time, SD_EVENT_ONESHOT);
}

int miband_bluez_attach_event(struct miband_bluez *bz, void *sd_event_ptr,
			      int64_t priority)
{
	sd_event *e = sd_event_ptr;
	int r;

	if (!bz)
		return MIBAND_E_INVAL;
	if (bz->ev_io)
		return MIBAND_E_BUSY;
	if (e)
		sd_event_ref(e);
	else if (sd_event_default(&e) < 0)
		return MIBAND_E_IO;
	r = sd_event_add_io(e, &bz->ev_io, bz->efd, EPOLLIN, on_event_io, bz);
	if (r >= 0)
		r = sd_event_add_time(e, &bz->ev_time, CLOCK_MONOTONIC, 0, 0,
				      on_event_time, bz);
	if (r >= 0)
		r = sd_event_source_set_priority(bz->ev_io, priority);
	if (r >= 0)
		r = sd_event_source_set_priority(bz->ev_time, priority);
	sd_event_unref(e);
	if (r < 0) {
		miband_bluez_detach_event(bz);
		return MIBAND_E_IO;
	}
	miband__bz_rearm(bz);
	return 0;
}

int miband_bluez_detach_event(struct miband_bluez *bz)
{
	if (!bz)
		return MIBAND_E_INVAL;
	bz->ev_io = sd_event_source_disable_unref(bz->ev_io);
	bz->ev_time = sd_event_source_disable_unref(bz->ev_time);
	return 0;
}
