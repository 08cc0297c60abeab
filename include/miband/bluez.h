/*
 * The Linux central transport: a Mi Band session over BlueZ (D-Bus).
 *
 * One struct miband_bluez is one connection to the system bus and, at most,
 * one band.  It is opaque and refcounted, never starts a thread and never
 * blocks except in the *_sync and _wait helpers.  Any event loop drives it:
 *
 *     poll miband_bluez_get_fd() for POLLIN, until the absolute deadline
 *     from miband_bluez_get_timeout(), then call miband_bluez_process()
 *
 * or hand it to sd-event with miband_bluez_attach_event().
 *
 * A session (include/miband/session.h) is bound with
 * miband_bluez_attach_session(): the transport then feeds every GATT
 * completion, notification, disconnect and the session's own deadline into
 * it (on_write_done / on_read / on_notify / on_disconnect / on_timeout),
 * and the caller drains the session and hands each transport action to
 * miband_bluez_perform():
 *
 *     struct miband_bluez *bz;
 *     miband_bluez_new(NULL, &bz);
 *     miband_bluez_connect_sync(bz, "C8:0F:10:12:34:56", 30000);
 *     miband_bluez_attach_session(bz, &s, NULL, NULL);
 *     miband_session_start_auth(&s, MIBAND_AUTH_STORED,
 *                               miband_bluez_now_ms());
 *     for (;;) {
 *         struct miband_action a;
 *         while (miband_session_next_action(&s, &a) != MIBAND_ACTION_DONE)
 *             if (a.type == MIBAND_ACTION_EVENT)
 *                 handle(&a.event);
 *             else
 *                 miband_bluez_perform(bz, &a);
 *         miband_bluez_wait(bz, UINT64_MAX);  // or your loop
 *     }
 *
 * Time: the session is fed `now` in milliseconds of CLOCK_MONOTONIC
 * (miband_bluez_now_ms()); the caller must use the same clock for its own
 * session calls.  miband_bluez_get_timeout() speaks microseconds of
 * CLOCK_MONOTONIC, like sd_bus_get_timeout() and sd-event.
 *
 * Callbacks take user_data last.  A reference is held across every
 * callback, so a callback may unref the object.  A callback must not call
 * miband_bluez_process() or the *_sync / _wait helpers.
 *
 * Errors: functions return 0 (or a documented non-negative value) or a
 * negative MIBAND_E_* code.  When a D-Bus call failed, the D-Bus error
 * name and message are kept for logs: miband_bluez_last_error().
 */
#ifndef MIBAND_BLUEZ_H
#define MIBAND_BLUEZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/address.h"
#include "miband/error.h"
#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct miband_bluez;
struct miband_session;
struct miband_action;

/*
 * How notifications are enabled.  BlueZ offers StartNotify (values come as
 * PropertiesChanged signals on the bus, in order with method replies) and
 * AcquireNotify (values come on a socket of their own, cheaper per packet).
 * BlueZ creates the AcquireNotify socket only after the CCCD write has
 * completed and silently drops what arrives before (gatt-client.c,
 * notify_io_cb "Drop notification if the sock is not ready"), and the
 * socket is not ordered with the replies on the bus.  So:
 *
 *  AUTO (default): StartNotify for the auth channel (its reply must never
 *    be lost) and for every channel whose notifications answer a write or
 *    must stay in order with another channel (config, fetch control and
 *    data, chunked, user, sensor control, HR control); AcquireNotify for
 *    the streams (heart rate, steps, events, battery, time, sensor data).
 *    Where AcquireNotify fails (NotSupported, NotPermitted, InProgress:
 *    another client is subscribed) it falls back to StartNotify.
 *  START: StartNotify everywhere.
 *  ACQUIRE: AcquireNotify everywhere but the auth channel, falling back to
 *    StartNotify (for tests of the acquired path).
 */
enum miband_bluez_notify_mode {
	MIBAND_BLUEZ_NOTIFY_AUTO = 0,
	MIBAND_BLUEZ_NOTIFY_START,
	MIBAND_BLUEZ_NOTIFY_ACQUIRE,
};

/* One line of verbose log, without a newline (key material redacted). */
typedef void (*miband_bluez_log_fn)(const char *line, void *user_data);

/*
 * Observes every GATT packet: the signature all traces share (types.h;
 * the same as miband_link_trace_fn, so one btsnoop writer serves both
 * links).  now is CLOCK_MONOTONIC milliseconds.
 */
typedef miband_trace_fn miband_bluez_trace_fn;

struct miband_bluez_config {
	/* "hci0", "/org/bluez/hci0" or the adapter's address; NULL: the
	 * first powered adapter (in object path order). */
	const char *adapter;
	enum miband_bluez_notify_mode notify_mode;
	uint32_t call_timeout_ms; /* each D-Bus call; 0: 25000 */
	miband_bluez_log_fn log;  /* NULL: silent */
	void *log_user_data;
};
void miband_bluez_config_init(struct miband_bluez_config *cfg);

/*
 * Opens the system bus and starts reading BlueZ's object tree (one
 * GetManagedObjects).  Does not block: adapter and bus errors are reported
 * by the first scan or connect.  cfg may be NULL (defaults).
 * Returns 0, MIBAND_E_INVAL (ret NULL), MIBAND_E_NO_BLUEZ (no system bus
 * socket), MIBAND_E_DBUS (any other bus failure), MIBAND_E_NOMEM (out of
 * memory) or MIBAND_E_IO (fds).
 */
int miband_bluez_new(const struct miband_bluez_config *cfg,
		     struct miband_bluez **ret);
/* Both accept NULL.  ref returns bz; unref returns NULL and, on the last
 * reference, detaches from sd-event, closes every fd and the bus, and
 * frees.  The last unref does not disconnect the band: call
 * miband_bluez_disconnect() first if that is wanted. */
struct miband_bluez *miband_bluez_ref(struct miband_bluez *bz);
struct miband_bluez *miband_bluez_unref(struct miband_bluez *bz);

/* ---- event loop integration ---- */

/* An fd to poll for POLLIN (an epoll fd over the bus and the acquired
 * notification sockets).  Never changes during the object's life.
 * Returns the fd (>= 0) or MIBAND_E_INVAL. */
int miband_bluez_get_fd(struct miband_bluez *bz);
/*
 * When miband_bluez_process() must be called even if the fd stays quiet:
 * absolute CLOCK_MONOTONIC microseconds, UINT64_MAX for never, 0 for at
 * once.  It includes the attached session's deadline.  Returns 0 or
 * MIBAND_E_INVAL.
 */
int miband_bluez_get_timeout(struct miband_bluez *bz, uint64_t *ret_usec);
/*
 * Does all pending work without blocking: D-Bus messages, notification
 * sockets, internal timers, the session's deadline.  The session gets one
 * input per call (its contract: drain after every input), and
 * get_timeout() says "at once" while more are queued; with a ready
 * callback (attach_session) all queued inputs are fed, with ready called
 * after each.  Returns 0, or a
 * negative code only if the bus connection itself is lost
 * (MIBAND_E_NO_BLUEZ: bluetoothd or the bus went away; the band counts as
 * disconnected).  Failures of single operations are delivered to their
 * callbacks or to the session, not returned here.
 */
int miband_bluez_process(struct miband_bluez *bz);
/*
 * Blocking helper: polls the fd until it is readable, the transport's own
 * timeout, or timeout_usec (relative; UINT64_MAX: no limit) passes, then
 * processes.  Returns what process() returns, or 1 when a signal
 * interrupted the wait before anything was processed (so a SIGINT
 * handler's flag can be checked).
 */
int miband_bluez_wait(struct miband_bluez *bz, uint64_t timeout_usec);
/*
 * Attaches to an sd-event loop: sd_event is a `sd_event *` (void * keeps
 * this header free of systemd headers; NULL: sd_event_default()), priority
 * as in sd_event_source_set_priority().  The loop then calls process() by
 * itself.  Returns 0, MIBAND_E_BUSY (already attached), MIBAND_E_INVAL or
 * MIBAND_E_IO.
 */
int miband_bluez_attach_event(struct miband_bluez *bz, void *sd_event,
			      int64_t priority);
/* Returns 0 (also when not attached) or MIBAND_E_INVAL. */
int miband_bluez_detach_event(struct miband_bluez *bz);

/* CLOCK_MONOTONIC in milliseconds: the `now` of the attached session. */
uint64_t miband_bluez_now_ms(void);

/* ---- scanning ---- */

struct miband_bluez_device_info {
	char address[18]; /* "C8:0F:10:12:34:56" */
	char name[64];	  /* "" when the band did not say */
	int16_t rssi;	  /* dBm, valid if has_rssi */
	bool has_rssi;
	bool connected;		 /* connected to this host already */
	bool paired;		 /* bonded with this host */
	bool has_model;		 /* the name is one a Mi Band uses */
	enum miband_model model; /* guess from the name, if has_model */
};

struct miband_bluez_scan_filter {
	/* The name must contain this (case-insensitive); NULL: any name. */
	const char *name;
	/* false (default): BlueZ reports only devices offering the Mi Band
	 * services FEE0/FEE1.  true: every LE device (use with name). */
	bool any_service;
};

/* A matching device was seen; first is true the first time this scan
 * reports it (later calls bring RSSI or name updates). */
typedef void (*miband_bluez_found_fn)(
	struct miband_bluez *bz, const struct miband_bluez_device_info *dev,
	bool first, void *user_data);
/* An asynchronous operation ended: 0 or a MIBAND_E_* code. */
typedef void (*miband_bluez_done_fn)(struct miband_bluez *bz, int status,
				     void *user_data);

/*
 * Starts LE discovery (SetDiscoveryFilter: Transport le, UUIDs FEE0/FEE1
 * unless any_service).  Devices already connected to this host that match
 * are reported at once.  failed (may be NULL) is called if discovery
 * cannot start or stops by itself: MIBAND_E_NO_BLUEZ, NO_ADAPTER, BUSY
 * (the adapter is discovering for another client with a conflicting
 * filter) or DBUS.  filter may be NULL (Mi Bands, any name).
 * Returns 0, MIBAND_E_INVAL, MIBAND_E_BUSY (a scan or connect is running)
 * or MIBAND_E_NOMEM.
 */
int miband_bluez_scan_start(struct miband_bluez *bz,
			    const struct miband_bluez_scan_filter *filter,
			    miband_bluez_found_fn found,
			    miband_bluez_done_fn failed, void *user_data);
/* Stops discovery.  Returns 0 (also when no scan runs) or INVAL. */
int miband_bluez_scan_stop(struct miband_bluez *bz);
/*
 * Blocking: scans for duration_ms and calls found for each report; a
 * signal (SIGINT) ends the scan early.  Returns the number of distinct
 * devices reported (>= 0) or the scan's error (see scan_start).
 */
int miband_bluez_scan_sync(struct miband_bluez *bz,
			   const struct miband_bluez_scan_filter *filter,
			   uint32_t duration_ms, miband_bluez_found_fn found,
			   void *user_data);

/* ---- connection ---- */

/*
 * Connects to a band and maps the session's channels to its
 * characteristics by UUID.  If BlueZ does not know the address yet it runs
 * discovery until the band shows up; if the band is already connected and
 * its services resolved, no discovery and no Connect happen.  It then
 * waits for ServicesResolved.  All of it within timeout_ms (0: 30000).
 * done gets 0, or MIBAND_E_NO_BLUEZ, NO_ADAPTER, NOT_FOUND (never seen in
 * time), TIMEOUT (seen, but not connected and resolved in time),
 * CONNECT_FAILED (BlueZ refused or aborted; see last_error), NO_SERVICE
 * (no Mi Band auth characteristic), DISCONNECTED (dropped while
 * resolving), CANCELLED (miband_bluez_disconnect) or DBUS.
 * Returns 0 (done will be called), MIBAND_E_INVAL, MIBAND_E_BAD_ADDRESS,
 * MIBAND_E_BUSY (a connect or scan is running) or MIBAND_E_STATE
 * (already connected: disconnect first).
 */
int miband_bluez_connect(struct miband_bluez *bz, const char *address,
			 uint32_t timeout_ms, miband_bluez_done_fn done,
			 void *user_data);
/* Blocking connect; returns what done would get, or connect's errors. */
int miband_bluez_connect_sync(struct miband_bluez *bz, const char *address,
			      uint32_t timeout_ms);
/*
 * Drops the link (Device1.Disconnect, sent without waiting for BlueZ's
 * reply, which takes about 2 s) and releases the notification sockets.
 * A connect in progress ends with MIBAND_E_CANCELLED; an attached session
 * sees on_disconnect at the next process().  Returns 0 (also when not
 * connected) or MIBAND_E_INVAL.
 */
int miband_bluez_disconnect(struct miband_bluez *bz);
/*
 * Blocking: disconnects, then waits until BlueZ has really dropped the
 * link (Disconnect's reply or Connected false), at most timeout_ms.  A
 * program that exits right after disconnect() leaves bluetoothd
 * "disconnecting" for about 2 s, and a command started meanwhile finds
 * the band connected but refused (StartNotify: "Device is
 * disconnecting").  Returns 0 (also when not connected), MIBAND_E_TIMEOUT,
 * MIBAND_E_CANCELLED (a signal interrupted the wait), MIBAND_E_NO_BLUEZ
 * or MIBAND_E_INVAL.
 */
int miband_bluez_disconnect_sync(struct miband_bluez *bz, uint32_t timeout_ms);
bool miband_bluez_is_connected(const struct miband_bluez *bz);
/* Why the link went down (MIBAND_E_DISCONNECTED, NO_BLUEZ...), 0 while up
 * or never connected. */
int miband_bluez_link_error(const struct miband_bluez *bz);
/* The connected (or connecting) band.  Returns 0, MIBAND_E_INVAL or
 * MIBAND_E_STATE (no band). */
int miband_bluez_get_device_info(struct miband_bluez *bz,
				 struct miband_bluez_device_info *ret);
/* True if the connected band offers channel ch. */
bool miband_bluez_has_channel(const struct miband_bluez *bz,
			      enum miband_channel ch);
/* ATT MTU reported by BlueZ (AcquireNotify), 23 until known. */
unsigned miband_bluez_get_mtu(const struct miband_bluez *bz);

/* ---- the session binding ---- */

/* Called at the end of process() when something was fed to the session:
 * drain it now (next_action / perform).  For loops that do not drain after
 * every process(), e.g. sd-event. */
typedef void (*miband_bluez_ready_fn)(struct miband_bluez *bz, void *user_data);

/*
 * Binds s (NULL: unbinds).  From now on completions, notifications,
 * disconnects and s's deadline go to s.  The session must outlive the
 * binding.  ready may be NULL.  Returns 0 or MIBAND_E_INVAL.
 */
int miband_bluez_attach_session(struct miband_bluez *bz,
				struct miband_session *s,
				miband_bluez_ready_fn ready, void *user_data);
/*
 * Performs a transport action of the attached session: SUBSCRIBE,
 * UNSUBSCRIBE, WRITE (WriteValue type "request" if with_response, else
 * "command"; the characteristic's own properties win if it offers only
 * one), READ, DISCONNECT.  Never calls into the session itself: the
 * completion comes at a later process(), with status 0 or
 * MIBAND_E_DISCONNECTED (no link), NO_SERVICE (the band lacks the
 * characteristic), TIMEOUT (BlueZ did not answer), WRITE_FAILED,
 * READ_FAILED, SUBSCRIBE_FAILED (BlueZ or the band refused), BUSY, DBUS.
 * Returns 0, MIBAND_E_INVAL (NULL, or an EVENT / DONE action), MIBAND_E_STATE
 * (no session attached) or MIBAND_E_IO (out of memory).
 */
int miband_bluez_perform(struct miband_bluez *bz,
			 const struct miband_action *a);

/* ---- diagnostics and helpers ---- */

void miband_bluez_set_trace(struct miband_bluez *bz, miband_bluez_trace_fn fn,
			    void *user_data);
/* "org.bluez.Error.Failed: le-connection-abort-by-local (Device1.Connect)"
 * for the last failed D-Bus call; "" if none.  Valid until the next call
 * on bz. */
const char *miband_bluez_last_error(const struct miband_bluez *bz);
/*
 * The project error for a D-Bus error name (and message), given the code
 * to use for a generic failure of the operation (fallback, e.g.
 * MIBAND_E_WRITE_FAILED).  Never returns 0.
 */
int miband_bluez_map_error(const char *name, const char *message, int fallback);
/* miband_address_parse() of include/miband/address.h (the core owns the
 * rule; this name stays for existing callers). */
int miband_bluez_parse_address(const char *s, char ret_address[18]);
/* miband_model_guess() of include/miband/address.h, likewise. */
int miband_bluez_guess_model(const char *name, enum miband_model *ret_model);

#ifdef __cplusplus
}
#endif
#endif
