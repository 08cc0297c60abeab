/*
 * The central's internals (not public): struct miband_bluez and what its
 * modules call across files.  Who owns what:
 *
 *   central.c  object life, configuration, logs and errors, BlueZ's
 *              signals dispatched to scan and connect
 *   objects.c  the mirror of BlueZ's object tree (objects.h)
 *   scan.c     adapter choice, discovery, scanning
 *   connect.c  connect, ServicesResolved, channel map, link loss
 *   gatt.c     GATT operations, notification sockets, the session's
 *              input queue
 *   loop.c     epoll, timers, process / wait, the sd-event binding
 *
 * Single-threaded; every entry point holds a reference across callbacks.
 */
#ifndef MIBAND_BLUEZ_CENTRAL_H
#define MIBAND_BLUEZ_CENTRAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bluez/bus.h"
#include "bluez/objects.h"
#include "miband/bluez.h"
#include "miband/session.h"

#define DEFAULT_CALL_TIMEOUT_MS 25000u
#define DEFAULT_CONNECT_TIMEOUT_MS 30000u
#define DISCOVERY_RESTART_USEC (3 * USEC_PER_SEC)
#define RESOLVE_POLL_USEC (500 * USEC_PER_MSEC)
#define CONNECT_RETRY_USEC (500 * USEC_PER_MSEC)
#define CONNECT_ATTEMPTS 3
#define SETTLE_USEC (2 * USEC_PER_SEC)
#define QUIET_USEC (100 * USEC_PER_MSEC)
#define NOTIFY_MAX 517 /* largest ATT value (512) plus slack */
#define EPOLL_TAG_BUS UINT64_MAX

enum notify_kind { NOTIFY_NONE = 0, NOTIFY_START, NOTIFY_ACQUIRED };

struct chan {
	struct miband_bluez *bz;
	enum miband_channel ch;
	char *path; /* characteristic object, NULL if absent */
	uint8_t props;
	enum notify_kind notify;
	int fd;		 /* acquired notification socket */
	sd_bus_slot *op; /* the GATT call in flight */
	enum miband_action_type op_type;
	bool op_secret;
	bool op_acquire; /* op is AcquireNotify (fallback on failure) */
	bool op_request; /* op is a write request (acknowledged) */
	bool reading;	 /* ReadValue in flight: hold Value signals */
};

enum input_type { IN_WRITE_DONE = 1, IN_READ, IN_NOTIFY, IN_DISCONNECT };

struct input {
	struct input *next;
	enum input_type type;
	enum miband_channel ch;
	int status;
	bool held;
	size_t len;
	uint8_t data[];
};

enum conn_state {
	C_IDLE = 0,
	C_WAIT_INIT,  /* object tree not read yet */
	C_FINDING,    /* discovery until the address shows up */
	C_CONNECTING, /* Device1.Connect in flight */
	C_RETRY_WAIT, /* Connect failed transiently: try again soon */
	C_RESOLVING,  /* connected; waiting for ServicesResolved */
	C_SETTLING,   /* resolved; waiting for the GATT objects */
	C_READY,
};

enum scan_state { S_OFF = 0, S_WAIT_INIT, S_STARTING, S_ON };

struct miband_bluez {
	unsigned n_ref;
	struct miband_bluez_config cfg;
	char *cfg_adapter;
	sd_bus *bus;
	bool bus_dead;
	int efd;
	uint32_t bus_events;
	sd_bus_slot *match_added, *match_removed, *match_props, *match_owner;
	sd_bus_slot *init_slot;
	int init_status; /* 1 pending, 0 done, < 0 error */

	struct miband__objs objs;
	char *adapter; /* chosen adapter path */

	/* connection */
	enum conn_state cstate;
	char address[18];
	char *dev_path;
	sd_bus_slot *conn_slot;
	uint64_t conn_deadline, conn_step_at;
	unsigned conn_attempts;
	bool conn_discovering;
	bool seen; /* the device showed up during this connect */
	miband_bluez_done_fn conn_done;
	void *conn_user_data;
	int link_error;
	sd_bus_slot *disc_slot; /* our Device1.Disconnect */
	bool disc_pending;	/* ... until its reply or Connected false */
	unsigned mtu;
	struct chan chans[MIBAND_CH_COUNT];

	/* scanning */
	enum scan_state sstate;
	char *scan_name;
	bool scan_any;
	uint64_t scan_restart_at;
	sd_bus_slot *scan_slot;
	miband_bluez_found_fn scan_found;
	miband_bluez_done_fn scan_failed;
	void *scan_user_data;

	/* session binding */
	struct miband_session *session;
	miband_bluez_ready_fn ready;
	void *ready_user_data;
	struct input *in_head, *in_tail;

	miband_bluez_trace_fn trace;
	void *trace_user_data;

	sd_event_source *ev_io, *ev_time;

	char last_error[256];
};

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* central.c */
void miband__bz_log(struct miband_bluez *bz, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* last_error := "name: message (op)", logged */
void miband__bz_error(struct miband_bluez *bz, const char *op,
		      const sd_bus_error *e);
void miband__bz_errorf(struct miband_bluez *bz, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An async call with the configured timeout; takes m's reference. */
int miband__bz_call(struct miband_bluez *bz, sd_bus_slot **slot,
		    sd_bus_message *m, sd_bus_message_handler_t cb, void *ud);
/* A call nobody waits for (StopDiscovery, Disconnect). */
void miband__bz_send_noreply(struct miband_bluez *bz, const char *path,
			     const char *iface, const char *member);

/* scan.c */
int miband__pick_adapter(struct miband_bluez *bz);
int miband__discovery_start(struct miband_bluez *bz, bool mi_only,
			    sd_bus_slot **slot, sd_bus_message_handler_t cb);
void miband__discovery_stop(struct miband_bluez *bz);
int miband__discovery_stop_then(struct miband_bluez *bz, sd_bus_slot **slot,
				sd_bus_message_handler_t cb);
void miband__fill_info(const struct miband__obj *o,
		       struct miband_bluez_device_info *info);
void miband__scan_report(struct miband_bluez *bz, struct miband__obj *o);
void miband__scan_fail(struct miband_bluez *bz, int status);
void miband__scan_begin(struct miband_bluez *bz);
void miband__scan_timers(struct miband_bluez *bz, uint64_t now);

/* connect.c */
struct miband__obj *miband__target_device(struct miband_bluez *bz);
void miband__conn_step(struct miband_bluez *bz);
void miband__conn_finish(struct miband_bluez *bz, int status);
int miband__map_all(struct miband_bluez *bz, struct miband__obj *dev);
void miband__resolved(struct miband_bluez *bz, struct miband__obj *dev);
void miband__link_down(struct miband_bluez *bz, int reason);
void miband__conn_timers(struct miband_bluez *bz, uint64_t now);

/* gatt.c */
struct input *miband__input_push(struct miband_bluez *bz, enum input_type type,
				 enum miband_channel ch, int status,
				 const void *data, size_t len);
void miband__inputs_clear(struct miband_bluez *bz);
void miband__push_notify(struct miband_bluez *bz, enum miband_channel ch,
			 const uint8_t *data, size_t len);
void miband__release_held(struct miband_bluez *bz, enum miband_channel ch,
			  const uint8_t *value, size_t len, bool ok);
bool miband__input_ready(const struct miband_bluez *bz);
bool miband__feed_one(struct miband_bluez *bz, uint64_t now);
void miband__chan_reset(struct miband_bluez *bz, struct chan *c, bool path);
void miband__read_notify_fd(struct miband_bluez *bz, struct chan *c,
			    uint32_t events);

/* loop.c */
void miband__bz_rearm(struct miband_bluez *bz);

#endif
