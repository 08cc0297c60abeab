/*
 * The Linux central transport over BlueZ's D-Bus API (sd-bus): object
 * life, configuration, logs, and BlueZ's signals.
 *
 * How it works
 *
 * One struct miband_bluez owns a system bus connection and an epoll fd
 * that watches the bus fd and every notification socket acquired with
 * AcquireNotify; that epoll fd is what callers poll.  Nothing blocks and
 * nothing runs on its own: all work happens in miband_bluez_process()
 * (loop.c), which reads the sockets, lets sd-bus dispatch replies and
 * signals, fires the internal timers and then feeds the attached session.
 * The modules are listed in central.h.
 *
 * Object cache.  At start one GetManagedObjects reads BlueZ's tree
 * (adapters, devices, GATT services and characteristics) into the mirror
 * of objects.c; from then on the mirror follows InterfacesAdded /
 * InterfacesRemoved / PropertiesChanged signals, so a reconnect never
 * introspects again.  Signals from one sender arrive in order with its
 * method replies, so when ServicesResolved is seen (by signal or by
 * reading the property) every characteristic object of the device is
 * already in the mirror.  This file applies the signals to the mirror and
 * tells scan.c and connect.c what changed.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bluez/central.h"

void miband__bz_log(struct miband_bluez *bz, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!bz->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bz->cfg.log(line, bz->cfg.log_user_data);
}

void miband__bz_error(struct miband_bluez *bz, const char *op,
		      const sd_bus_error *e)
{
	snprintf(bz->last_error, sizeof(bz->last_error), "%s: %s (%s)",
		 e && e->name ? e->name : "error",
		 e && e->message ? e->message : "no message", op);
	miband__bz_log(bz, "%s", bz->last_error);
}

void miband__bz_errorf(struct miband_bluez *bz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bz->last_error, sizeof(bz->last_error), fmt, ap);
	va_end(ap);
	miband__bz_log(bz, "%s", bz->last_error);
}

void miband_bluez_config_init(struct miband_bluez_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->notify_mode = MIBAND_BLUEZ_NOTIFY_AUTO;
	cfg->call_timeout_ms = DEFAULT_CALL_TIMEOUT_MS;
}

static uint64_t call_timeout(struct miband_bluez *bz)
{
	return (uint64_t)bz->cfg.call_timeout_ms * USEC_PER_MSEC;
}

int miband__bz_call(struct miband_bluez *bz, sd_bus_slot **slot,
		    sd_bus_message *m, sd_bus_message_handler_t cb, void *ud)
{
	int r = sd_bus_call_async(bz->bus, slot, m, cb, ud, call_timeout(bz));

	sd_bus_message_unref(m);
	return r;
}

/* Sends a call nobody waits for (StopDiscovery, Disconnect). */
void miband__bz_send_noreply(struct miband_bluez *bz, const char *path,
			     const char *iface, const char *member)
{
	sd_bus_message *m = NULL;

	if (bz->bus_dead)
		return;
	if (sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, path, iface,
					   member) < 0)
		return;
	sd_bus_message_set_expect_reply(m, 0);
	sd_bus_send(bz->bus, m, NULL);
	sd_bus_message_unref(m);
}

/* ------------------------------------------------------------------ */
/* signals */

static void device_changed(struct miband_bluez *bz, struct miband__obj *o,
			   bool was_connected)
{
	bool target = bz->dev_path && !strcmp(o->path, bz->dev_path);

	if (bz->sstate == S_ON || bz->sstate == S_STARTING)
		miband__scan_report(bz, o);
	if (bz->cstate == C_FINDING && bz->adapter && o->parent &&
	    !strcmp(o->parent, bz->adapter) &&
	    !strcasecmp(o->address, bz->address)) {
		miband__bz_log(bz, "found %s (%s)", o->address, o->name);
		miband__conn_step(bz);
		return;
	}
	if (!target)
		return;
	if (!o->connected)
		bz->disc_pending = false;
	if (bz->cstate == C_SETTLING && !o->connected) {
		miband__bz_errorf(bz,
				  "%s disconnected while its services were "
				  "being read",
				  bz->address);
		miband__conn_finish(bz, MIBAND_E_DISCONNECTED);
		return;
	}
	if (bz->cstate == C_READY && was_connected && !o->connected) {
		miband__link_down(bz, MIBAND_E_DISCONNECTED);
		return;
	}
	if (bz->cstate == C_RESOLVING && o->connected && o->resolved)
		miband__resolved(bz, o);
}

static int on_props_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path = sd_bus_message_get_path(m), *iface;
	struct miband__obj_change change;
	struct miband__obj *o;
	bool was_connected;
	int r;

	(void)err;
	if (!path || sd_bus_message_read(m, "s", &iface) < 0)
		return 0;
	if (!strcmp(iface, IF_CHR)) {
		int ch;

		/* only the Value of characteristics we notify via signals */
		for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
			if (bz->chans[ch].notify == NOTIFY_START &&
			    bz->chans[ch].path &&
			    !strcmp(bz->chans[ch].path, path))
				break;
		if (ch == MIBAND_CH_COUNT || bz->cstate != C_READY)
			return 0;
		r = sd_bus_message_enter_container(m, 'a', "{sv}");
		if (r < 0)
			return 0;
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			const char *key;
			const void *p;
			size_t n;

			if (sd_bus_message_read(m, "s", &key) < 0)
				return 0;
			if (!strcmp(key, "Value") &&
			    miband__variant_is(m, "ay") > 0) {
				if (sd_bus_message_enter_container(m, 'v',
								   "ay") < 0 ||
				    sd_bus_message_read_array(m, 'y', &p, &n) <
					    0 ||
				    sd_bus_message_exit_container(m) < 0)
					return 0;
				miband__push_notify(bz, (enum miband_channel)ch,
						    p, n);
			} else if (sd_bus_message_skip(m, "v") < 0) {
				return 0;
			}
			if (sd_bus_message_exit_container(m) < 0)
				return 0;
		}
		return 0;
	}
	if (miband__objs_props_changed(&bz->objs, m, path, iface, false,
				       &change) <= 0)
		return 0;
	o = change.obj;
	was_connected = change.was_connected;
	if (o->kind == OBJ_DEVICE)
		device_changed(bz, o, was_connected);
	return 0;
}

static int on_ifaces_added(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path;
	struct miband__obj *dev = NULL;

	(void)err;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	if (miband__objs_read_ifaces(&bz->objs, m, path, &dev) < 0) {
		miband__bz_log(bz, "InterfacesAdded %s: unreadable", path);
		return 0;
	}
	if (dev)
		device_changed(bz, dev, dev->connected);
	/* a late GATT object of our band */
	if (bz->dev_path && miband__path_under(path, bz->dev_path) &&
	    (bz->cstate == C_SETTLING || bz->cstate == C_READY)) {
		struct miband__obj *d = miband__target_device(bz);

		if (!d)
			return 0;
		miband__map_all(bz, d);
		/* the rest of the burst follows at once: finish when it has
		 * been quiet for a moment */
		if (bz->cstate == C_SETTLING && bz->chans[MIBAND_CH_AUTH].path)
			bz->conn_step_at =
				min_u64(miband__now_usec() + QUIET_USEC,
					bz->conn_deadline);
	}
	return 0;
}

static int on_ifaces_removed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *path, *iface;
	struct miband__obj *o;

	(void)err;
	if (sd_bus_message_read(m, "o", &path) < 0)
		return 0;
	o = miband__objs_find(&bz->objs, path);
	if (!o)
		return 0;
	if (sd_bus_message_enter_container(m, 'a', "s") < 0)
		return 0;
	while (sd_bus_message_read(m, "s", &iface) > 0) {
		if (miband__obj_kind_of(iface) != o->kind)
			continue;
		if (o->kind == OBJ_DEVICE && bz->dev_path &&
		    !strcmp(path, bz->dev_path))
			miband__link_down(bz, MIBAND_E_DISCONNECTED);
		if (o->kind == OBJ_ADAPTER && bz->adapter &&
		    !strcmp(path, bz->adapter)) {
			miband__link_down(bz, MIBAND_E_NO_ADAPTER);
			free(bz->adapter);
			bz->adapter = NULL;
		}
		miband__objs_remove(&bz->objs, path);
		break;
	}
	return 0;
}

static int on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err);

static int request_objects(struct miband_bluez *bz)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bz->bus, &m, BLUEZ, "/", IF_OM,
					   "GetManagedObjects");
	if (r < 0)
		return r;
	bz->init_status = 1;
	return miband__bz_call(bz, &bz->init_slot, m, on_managed_objects, bz);
}

/* bluetoothd went away (or came back). */
static int on_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const char *name, *old_owner, *new_owner;

	(void)err;
	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
	    strcmp(name, BLUEZ))
		return 0;
	if (old_owner && *old_owner) {
		miband__bz_log(bz, "bluetoothd left the bus");
		miband__link_down(bz, MIBAND_E_NO_BLUEZ);
		if (bz->cstate != C_IDLE)
			miband__conn_finish(bz, MIBAND_E_NO_BLUEZ);
		if (bz->sstate != S_OFF)
			miband__scan_fail(bz, MIBAND_E_NO_BLUEZ);
		miband__objs_clear(&bz->objs);
		free(bz->adapter);
		bz->adapter = NULL;
		bz->init_status = MIBAND_E_NO_BLUEZ;
	}
	if (new_owner && *new_owner) {
		miband__bz_log(bz, "bluetoothd is on the bus");
		bz->init_slot = sd_bus_slot_unref(bz->init_slot);
		miband__objs_clear(&bz->objs);
		if (request_objects(bz) < 0)
			bz->init_status = MIBAND_E_DBUS;
	}
	return 0;
}

static int on_managed_objects(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r;

	(void)err;
	bz->init_slot = sd_bus_slot_unref(bz->init_slot);
	if (e) {
		miband__bz_error(bz, "ObjectManager.GetManagedObjects", e);
		bz->init_status = miband__bus_error(e, MIBAND_E_DBUS);
	} else {
		r = miband__objs_read_managed(&bz->objs, m);
		if (r < 0) {
			miband__bz_errorf(bz,
					  "GetManagedObjects: bad reply: %s",
					  strerror(-r));
			bz->init_status = MIBAND_E_DBUS;
		} else {
			bz->init_status = 0;
			miband__bz_log(bz, "object tree: %zu objects",
				       bz->objs.n);
		}
	}
	if (bz->cstate == C_WAIT_INIT)
		miband__conn_step(bz);
	if (bz->sstate == S_WAIT_INIT)
		miband__scan_begin(bz);
	return 0;
}

static int on_match_installed(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	struct miband_bluez *bz = ud;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	if (e)
		miband__bz_error(bz, "AddMatch", e);
	return 0;
}

/* ------------------------------------------------------------------ */
/* object life */

int miband_bluez_new(const struct miband_bluez_config *cfg,
		     struct miband_bluez **ret)
{
	struct miband_bluez *bz;
	struct epoll_event ev;
	int r, ch;

	if (!ret)
		return MIBAND_E_INVAL;
	bz = calloc(1, sizeof(*bz));
	if (!bz)
		return MIBAND_E_NOMEM;
	bz->n_ref = 1;
	bz->efd = -1;
	if (cfg)
		bz->cfg = *cfg;
	else
		miband_bluez_config_init(&bz->cfg);
	if (!bz->cfg.call_timeout_ms)
		bz->cfg.call_timeout_ms = DEFAULT_CALL_TIMEOUT_MS;
	bz->cfg.adapter = NULL;
	bz->conn_deadline = bz->conn_step_at = NEVER;
	bz->mtu = 23;
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++) {
		bz->chans[ch].bz = bz;
		bz->chans[ch].ch = (enum miband_channel)ch;
		bz->chans[ch].fd = -1;
	}
	if (cfg && cfg->adapter) {
		bz->cfg_adapter = strdup(cfg->adapter);
		if (!bz->cfg_adapter) {
			r = MIBAND_E_NOMEM;
			goto fail;
		}
	}
	bz->efd = epoll_create1(EPOLL_CLOEXEC);
	if (bz->efd < 0) {
		r = MIBAND_E_IO;
		goto fail;
	}
	r = sd_bus_open_system(&bz->bus);
	if (r < 0) {
		miband__bz_errorf(bz, "cannot open the system bus: %s",
				  strerror(-r));
		r = (r == -ENOENT || r == -ECONNREFUSED || r == -EACCES)
			    ? MIBAND_E_NO_BLUEZ
			    : MIBAND_E_DBUS;
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u64 = EPOLL_TAG_BUS;
	if (epoll_ctl(bz->efd, EPOLL_CTL_ADD, sd_bus_get_fd(bz->bus), &ev) <
	    0) {
		r = MIBAND_E_IO;
		goto fail;
	}
	bz->bus_events = POLLIN | POLLOUT;
	r = sd_bus_match_signal_async(bz->bus, &bz->match_added, BLUEZ, "/",
				      IF_OM, "InterfacesAdded", on_ifaces_added,
				      on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_match_signal_async(
			bz->bus, &bz->match_removed, BLUEZ, "/", IF_OM,
			"InterfacesRemoved", on_ifaces_removed,
			on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_add_match_async(
			bz->bus, &bz->match_props,
			"type='signal',sender='" BLUEZ "',"
			"interface='" IF_PROPS "',member='PropertiesChanged',"
			"path_namespace='/org/bluez'",
			on_props_changed, on_match_installed, bz);
	if (r >= 0)
		r = sd_bus_add_match_async(
			bz->bus, &bz->match_owner,
			"type='signal',sender='org.freedesktop.DBus',"
			"path='/org/freedesktop/DBus',"
			"interface='org.freedesktop.DBus',"
			"member='NameOwnerChanged',arg0='" BLUEZ "'",
			on_owner_changed, on_match_installed, bz);
	if (r >= 0)
		r = request_objects(bz);
	if (r < 0) {
		miband__bz_errorf(bz, "D-Bus setup: %s", strerror(-r));
		r = MIBAND_E_DBUS;
		goto fail;
	}
	*ret = bz;
	return 0;
fail:
	miband_bluez_unref(bz);
	return r;
}

struct miband_bluez *miband_bluez_ref(struct miband_bluez *bz)
{
	if (bz)
		bz->n_ref++;
	return bz;
}

struct miband_bluez *miband_bluez_unref(struct miband_bluez *bz)
{
	int ch;

	if (!bz || --bz->n_ref > 0)
		return NULL;
	miband_bluez_detach_event(bz);
	for (ch = 0; ch < MIBAND_CH_COUNT; ch++)
		miband__chan_reset(bz, &bz->chans[ch], true);
	sd_bus_slot_unref(bz->conn_slot);
	sd_bus_slot_unref(bz->disc_slot);
	sd_bus_slot_unref(bz->scan_slot);
	sd_bus_slot_unref(bz->init_slot);
	sd_bus_slot_unref(bz->match_added);
	sd_bus_slot_unref(bz->match_removed);
	sd_bus_slot_unref(bz->match_props);
	sd_bus_slot_unref(bz->match_owner);
	if (bz->bus)
		sd_bus_flush_close_unref(bz->bus);
	if (bz->efd >= 0)
		close(bz->efd);
	miband__inputs_clear(bz);
	miband__objs_free(&bz->objs);
	free(bz->adapter);
	free(bz->cfg_adapter);
	free(bz->dev_path);
	free(bz->scan_name);
	free(bz);
	return NULL;
}

const char *miband_bluez_last_error(const struct miband_bluez *bz)
{
	return bz ? bz->last_error : "";
}
