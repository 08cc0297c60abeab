/*
 * The peripheral side of the BlueZ transport: a band engine served to real
 * BLE centrals through bluetoothd's D-Bus API, with sd-bus.  This file:
 * life cycle, adapter, alias, signals, registration; the other modules are
 * listed in periph-impl.h.
 *
 * How it works
 *
 * Objects.  Under APP_PATH the band's GATT table becomes GattService1,
 * GattCharacteristic1 and GattDescriptor1 objects (sd-bus vtables, one per
 * object, userdata = our record).  bluetoothd reads them with one
 * GetManagedObjects on APP_PATH, which we answer ourselves (a plain object
 * callback, not sd-bus's object manager) so that objects come out in table
 * order: BlueZ inserts characteristics, and the CCCDs it adds itself, in
 * the order it receives them, and the Mi Band 2 handles only come out
 * right in that order.  Services 0x1800 and 0x1801 of the table are not
 * exported: bluetoothd serves GAP and GATT itself (the device name comes
 * from the adapter's Alias, which we set to the band's name while running).
 *
 * Handles.  Where the table has handles (Mi Band 2) each service and
 * characteristic carries a "Handle" property (bluez >= 5.58): services
 * their start handle, characteristics their value handle (BlueZ puts the
 * declaration just before it and a CCCD just after it), and the one User
 * Description descriptor of 2A46 its handle.  If bluetoothd refuses that
 * layout (its own GAP/GATT services overlap, an older bluez), the
 * application is registered again with every handle 0 and a warning.  With
 * handle 0 BlueZ chooses and writes the handle back through Properties.Set.
 *
 * Order.  RegisterApplication, and only when it succeeded
 * RegisterAdvertisement: a central that connects must find the services.
 * Both are asynchronous, because bluetoothd calls back into us
 * (GetManagedObjects) before it replies.
 *
 * Inputs.  ReadValue -> miband_band_read, WriteValue -> on_write,
 * StartNotify/StopNotify (or an acquired notify fd and its hang-up) ->
 * on_subscribe, Device1.Connected of a device of our adapter (signal, or
 * the "device" option of a read/write when the signal was missed) ->
 * on_connect / on_disconnect, the sd-event timer at deadline_ms ->
 * on_timeout.  After every input the engine's actions are drained:
 * NOTIFY goes out through the acquired fd when bluetoothd took one, else
 * as PropertiesChanged(Value), which bluetoothd turns into an ATT
 * notification; DISCONNECT calls Device1.Disconnect on the connected
 * device; EVENT goes to the caller.
 *
 * ATT errors of the engine become org.bluez.Error.* replies (periph-gatt.c).
 *
 * Time.  The engine's clock is milliseconds of CLOCK_MONOTONIC since
 * start; its band clock starts at the wall-clock time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bluez/periph-impl.h"

/* ---- adapter and alias ---- */

static void set_alias(struct miband__periph *p, const char *alias)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_set_property(p->bus, BLUEZ, p->adapter_path, IF_ADAPTER,
				"Alias", &e, "s", alias);
	if (r < 0)
		miband__periph_log(
			p, "warning: could not set the adapter's alias: %s",
			e.message ? e.message : strerror(-r));
	sd_bus_error_free(&e);
}

/* The adapter of cfg.adapter (NULL: the first powered one) from the
 * mirror; it must offer a GATT server and LE advertising. */
static int use_adapter(struct miband__periph *p)
{
	struct miband__obj *a = NULL;
	const char *base;
	char why[128];
	int r;

	r = miband__objs_pick_adapter(&p->objs, p->cfg.adapter, &a, why,
				      sizeof(why));
	if (r < 0) {
		miband__periph_errorf(p, "%s", why);
		return r;
	}
	if (!a->gatt_manager || !a->adv_manager) {
		miband__periph_errorf(p,
				      "%s offers no GATT server or LE"
				      " advertising (bluetoothd too old, or"
				      " not an LE adapter)",
				      a->path);
		return MIBAND_E_NO_ADAPTER;
	}
	base = strrchr(a->path, '/');
	snprintf(p->adapter_path, sizeof(p->adapter_path), "%s", a->path);
	snprintf(p->adapter, sizeof(p->adapter), "%s",
		 base ? base + 1 : a->path);
	snprintf(p->address, sizeof(p->address), "%s", a->address);
	return 0;
}

/* ---- signals: the mirror follows bluetoothd's tree ---- */

static bool our_device(struct miband__periph *p, const struct miband__obj *o)
{
	return o->kind == OBJ_DEVICE && p->adapter_path[0] &&
	       miband__path_under(o->path, p->adapter_path);
}

static int on_props_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *path = sd_bus_message_get_path(m), *iface;
	struct miband__obj_change c;

	(void)e;
	if (!path || sd_bus_message_read(m, "s", &iface) < 0)
		return 0;
	if (miband__objs_props_changed(&p->objs, m, path, iface, true, &c) <= 0)
		return 0;
	if (c.has_connected && our_device(p, c.obj))
		miband__periph_device_connected(p, path, c.obj->connected);
	return 0;
}

static int on_ifaces_added(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	struct miband__obj *dev = NULL;
	const char *path;

	(void)e;
	if (sd_bus_message_read(m, "o", &path) < 0 ||
	    miband__objs_read_ifaces(&p->objs, m, path, &dev) < 0)
		return 0;
	if (dev && dev->connected && our_device(p, dev))
		miband__periph_device_connected(p, path, true);
	return 0;
}

static int on_ifaces_removed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *path;

	(void)e;
	if (sd_bus_message_read(m, "o", &path) >= 0)
		miband__objs_remove(&p->objs, path);
	return 0;
}

static void report(struct miband__periph *p, int err)
{
	if (p->cfg.state)
		p->cfg.state(err, p->cfg.user_data);
}

static int on_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *name, *old, *new_owner;

	(void)e;
	if (sd_bus_message_read(m, "sss", &name, &old, &new_owner) < 0)
		return 0;
	if (strcmp(name, BLUEZ) != 0 || new_owner[0])
		return 0;
	miband__periph_errorf(p, "bluetoothd went away");
	p->app_registered = p->adv_registered = false;
	miband__objs_clear(&p->objs);
	report(p, MIBAND_E_NO_BLUEZ);
	return 0;
}

/* ---- registration ---- */

static int register_app(struct miband__periph *p);

static int on_adv_registered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err) {
		miband__periph_errorf(
			p, "RegisterAdvertisement on %s failed: %s", p->adapter,
			err->message ? err->message : err->name);
		report(p, miband__bus_error(err, MIBAND_E_DBUS));
		return 0;
	}
	p->adv_registered = true;
	report(p, 0);
	return 0;
}

static int register_adv(struct miband__periph *p)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(p->bus, &m, BLUEZ, p->adapter_path,
					   IF_ADV_MGR, "RegisterAdvertisement");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", ADV_PATH, 0);
	if (r >= 0)
		r = sd_bus_call_async(p->bus, &p->pending, m, on_adv_registered,
				      p, CALL_USEC);
	sd_bus_message_unref(m);
	return r;
}

/* "handles: auth 0x0054, battery 0x0047, ...": the value handles of the
 * characteristics the engine uses, as a client will find them. */
static void log_handles(struct miband__periph *p)
{
	char line[480];
	size_t i, o = 0;

	for (i = 0; i < p->n_chrs && o < sizeof(line) - 24; i++) {
		if (p->chrs[i].attr->channel < 0)
			continue;
		o += (size_t)snprintf(
			line + o, sizeof(line) - o, "%s%s 0x%04x",
			o ? ", " : "",
			miband__chan_name(p->chrs[i].attr->channel),
			p->chrs[i].handle);
	}
	miband__periph_log(p, "handles: %s", line);
}

static void registration_failed(struct miband__periph *p, const char *what,
				int r)
{
	miband__periph_errorf(p, "%s: %s", what, strerror(-r));
	report(p, MIBAND_E_DBUS);
}

/* After the probe: the lowest handle bluetoothd gave us is the first one
 * its own services leave free. */
static int on_probe_unregistered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	uint16_t first = UINT16_MAX;
	size_t i;
	int r;

	(void)m;
	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	for (i = 0; i < p->n_svcs; i++)
		if (p->svcs[i].handle && p->svcs[i].handle < first)
			first = p->svcs[i].handle;
	miband__periph_apply_pins(p, first);
	p->pin_mode = p->pinned ? PIN_PARTIAL : PIN_NONE;
	if (p->pinned)
		miband__periph_log(
			p,
			"bluetoothd's own services end at 0x%04x: keeping the"
			" real handles of the services above it",
			first - 1);
	r = register_app(p);
	if (r < 0)
		registration_failed(p, "RegisterApplication", r);
	return 0;
}

static int on_app_registered(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);
	int r;

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err && (p->pin_mode == PIN_ALL || p->pin_mode == PIN_PARTIAL)) {
		miband__periph_log(
			p,
			"warning: bluetoothd refused the %s handles of %s (%s)",
			p->pin_mode == PIN_ALL ? "real" : "remaining",
			miband_model_display_name(p->cfg.band.model),
			err->message ? err->message : err->name);
		p->pin_mode = p->pin_mode == PIN_ALL ? PIN_PROBE : PIN_NONE;
		miband__periph_apply_pins(p, UINT16_MAX);
		if (p->pin_mode == PIN_NONE)
			miband__periph_log(
				p,
				"warning: serving with the handles bluetoothd"
				" chooses");
		r = register_app(p);
		if (r < 0)
			registration_failed(p, "RegisterApplication", r);
		return 0;
	}
	if (err) {
		miband__periph_errorf(p, "RegisterApplication on %s failed: %s",
				      p->adapter,
				      err->message ? err->message : err->name);
		report(p, miband__bus_error(err, MIBAND_E_DBUS));
		return 0;
	}
	if (p->pin_mode == PIN_PROBE) {
		/* learnt where bluetoothd's services end: register again */
		r = sd_bus_call_method_async(
			p->bus, &p->pending, BLUEZ, p->adapter_path,
			IF_GATT_MGR, "UnregisterApplication",
			on_probe_unregistered, p, "o", APP_PATH);
		if (r < 0)
			registration_failed(p, "UnregisterApplication", r);
		return 0;
	}
	p->app_registered = true;
	if (p->cfg.verbose)
		log_handles(p);
	if (p->cfg.verbose || p->pinned)
		miband__periph_log(
			p, "GATT application registered%s",
			!p->pinned ? ""
			: p->pin_mode == PIN_ALL
				? " with every handle of the table"
				: " with the table's handles where possible");
	r = register_adv(p);
	if (r < 0)
		registration_failed(p, "RegisterAdvertisement", r);
	return 0;
}

static int register_app(struct miband__periph *p)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(p->bus, &m, BLUEZ, p->adapter_path,
					   IF_GATT_MGR, "RegisterApplication");
	if (r >= 0)
		r = sd_bus_message_append(m, "oa{sv}", APP_PATH, 0);
	if (r >= 0)
		r = sd_bus_call_async(p->bus, &p->pending, m, on_app_registered,
				      p, CALL_USEC);
	sd_bus_message_unref(m);
	return r;
}

/* Manufacturer data: PROTOCOL.md names Huami's company id (0x0157, in the
 * PnP ID) but no payload.  We send the product id and version of the
 * band's PnP ID (4 bytes), so a scanner can tell the model. */
static void make_mfr(struct miband__periph *p)
{
	uint8_t pnp[MIBAND_BAND_VALUE_MAX];
	size_t len = 0;

	p->mfr_len = 0;
	if (miband_band_read(&p->band, MIBAND_CH_DIS_PNP_ID,
			     miband__periph_now_ms(p), pnp, sizeof(pnp),
			     &len) == 0 &&
	    len == 7) {
		memcpy(p->mfr, pnp + 3, 4);
		p->mfr_len = 4;
	} else {
		p->mfr[0] = (uint8_t)p->cfg.band.model;
		p->mfr_len = 1;
	}
	miband__periph_drain(p);
}

void miband__periph_config_init(struct miband__periph_config *cfg,
				enum miband_model model)
{
	memset(cfg, 0, sizeof(*cfg));
	miband_band_config_init(&cfg->band, model);
	cfg->use_handles = true;
	cfg->set_alias = true;
}

/*
 * Start, step by step, none of them waiting: GetManagedObjects (the
 * mirror; the adapter), then the adapter's Alias (Get, then Set if it is
 * not the band's name yet: bluetoothd's GAP serves the device name from
 * it), then RegisterApplication (registration, below), each sent when the
 * previous one is answered, as the blocking version did.
 */
static void register_or_fail(struct miband__periph *p);

static int on_alias_set(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err)
		miband__periph_log(
			p, "warning: could not set the adapter's alias: %s",
			err->message ? err->message : err->name);
	register_or_fail(p);
	return 0;
}

static void register_or_fail(struct miband__periph *p)
{
	int r = register_app(p);

	if (r < 0)
		registration_failed(p, "RegisterApplication", r);
}

static int on_alias(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const char *old = NULL;
	const char *name = p->table->device_name;
	int r;

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (!sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_read(m, "v", "s", &old) >= 0 && old) {
		snprintf(p->old_alias, sizeof(p->old_alias), "%s", old);
		if (strcmp(p->old_alias, name) != 0) {
			r = sd_bus_call_method_async(
				p->bus, &p->pending, BLUEZ, p->adapter_path,
				IF_PROPS, "Set", on_alias_set, p, "ssv",
				IF_ADAPTER, "Alias", "s", name);
			p->alias_set = true;
			if (r >= 0)
				return 0; /* on_alias_set registers */
			miband__periph_log(p,
					   "warning: could not set the"
					   " adapter's alias: %s",
					   strerror(-r));
		}
	}
	register_or_fail(p);
	return 0;
}

/* What bluetoothd says about our adapter's devices, once it is known:
 * Device1 changes and removals below it, nothing else (bluetoothd emits
 * bursts of GATT and RSSI changes a band emulator need not wake for). */
static int add_adapter_matches(struct miband__periph *p)
{
	char rule[256];
	int r;

	snprintf(rule, sizeof(rule),
		 "type='signal',sender='" BLUEZ "',interface='" IF_PROPS
		 "',member='PropertiesChanged',arg0='" IF_DEVICE
		 "',path_namespace='%s'",
		 p->adapter_path);
	r = sd_bus_add_match_async(p->bus, &p->match_props, rule,
				   on_props_changed, NULL, p);
	if (r < 0)
		return r;
	snprintf(rule, sizeof(rule),
		 "type='signal',sender='" BLUEZ "',interface='" IF_OM
		 "',member='InterfacesRemoved',arg0path='%s/'",
		 p->adapter_path);
	return sd_bus_add_match_async(p->bus, &p->match_removed, rule,
				      on_ifaces_removed, NULL, p);
}

static int on_objects(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	const sd_bus_error *err = sd_bus_message_get_error(m);
	int r;

	(void)e;
	p->pending = sd_bus_slot_unref(p->pending);
	if (err) {
		miband__periph_errorf(
			p, "cannot talk to bluetoothd: %s%s",
			err->message ? err->message : err->name,
			sd_bus_error_has_name(err, SD_BUS_ERROR_ACCESS_DENIED)
				? " (the D-Bus policy refuses this user: add"
				  " it to group bluetooth)"
				: "");
		report(p, miband__bus_error(err, MIBAND_E_DBUS));
		return 0;
	}
	r = miband__objs_read_managed(&p->objs, m);
	if (r < 0) {
		miband__periph_errorf(p,
				      "cannot parse bluetoothd's objects: %s",
				      strerror(-r));
		report(p, MIBAND_E_DBUS);
		return 0;
	}
	r = use_adapter(p);
	if (r < 0) {
		report(p, r);
		return 0;
	}
	r = add_adapter_matches(p);
	if (r < 0) {
		registration_failed(p, "AddMatch", r);
		return 0;
	}
	if (!p->cfg.set_alias) {
		register_or_fail(p);
		return 0;
	}
	r = sd_bus_call_method_async(p->bus, &p->pending, BLUEZ,
				     p->adapter_path, IF_PROPS, "Get", on_alias,
				     p, "ss", IF_ADAPTER, "Alias");
	if (r < 0)
		register_or_fail(p);
	return 0;
}

/* What bluetoothd says about the whole tree: the matches go out before
 * GetManagedObjects, and the bus daemon takes them in order, so no
 * device added after the snapshot is missed. */
static int add_matches(struct miband__periph *p)
{
	int r;

	r = sd_bus_match_signal_async(p->bus, &p->match_added, BLUEZ, "/",
				      IF_OM, "InterfacesAdded", on_ifaces_added,
				      NULL, p);
	if (r >= 0)
		r = sd_bus_add_match_async(
			p->bus, &p->match_owner,
			"type='signal',sender='org.freedesktop.DBus',"
			"interface='org.freedesktop.DBus',"
			"member='NameOwnerChanged',arg0='" BLUEZ "'",
			on_owner_changed, NULL, p);
	return r;
}

/* The one round trip of start: to the bus daemon, never to bluetoothd. */
static int bluez_on_bus(struct miband__periph *p)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r, has = 0;

	r = sd_bus_call_method(p->bus, "org.freedesktop.DBus",
			       "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &e, &reply, "s", BLUEZ);
	if (r >= 0)
		r = sd_bus_message_read(reply, "b", &has);
	sd_bus_message_unref(reply);
	if (r < 0) {
		miband__periph_errorf(p, "cannot ask the system bus: %s",
				      e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return MIBAND_E_DBUS;
	}
	if (!has) {
		miband__periph_errorf(p, "cannot talk to bluetoothd: it is not"
					 " on the system bus");
		return MIBAND_E_NO_BLUEZ;
	}
	return 0;
}

int miband__periph_new(const struct miband__periph_config *cfg, sd_event *event,
		       struct miband__periph **ret)
{
	struct miband__periph *p;
	struct miband_band_config bc;
	int r;

	if (!cfg || !event || !ret)
		return MIBAND_E_INVAL;
	if (!miband_gatt_table(cfg->band.model))
		return MIBAND_E_UNSUPPORTED;
	p = calloc(1, sizeof(*p));
	if (!p)
		return MIBAND_E_NOMEM;
	p->cfg = *cfg;
	p->event = sd_event_ref(event);
	p->origin_usec = miband__now_usec();
	p->table = miband_gatt_table(cfg->band.model);
	bc = cfg->band;
	r = miband_band_init(&p->band, &bc, cfg->key, 0);
	p->cfg.key = NULL; /* the engine holds its copy */
	if (r < 0) {
		miband__periph_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int miband__periph_start(struct miband__periph *p)
{
	int r;

	r = sd_bus_open_system(&p->bus);
	if (r < 0) {
		miband__periph_errorf(p, "cannot connect to the system bus: %s",
				      strerror(-r));
		return MIBAND_E_DBUS;
	}
	r = bluez_on_bus(p);
	if (r < 0)
		return r;
	r = sd_bus_attach_event(p->bus, p->event, SD_EVENT_PRIORITY_NORMAL);
	if (r >= 0)
		r = sd_event_add_time(p->event, &p->timer, CLOCK_MONOTONIC,
				      UINT64_MAX, 1000, miband__periph_on_timer,
				      p);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
	if (r >= 0)
		r = add_matches(p);
	if (r >= 0)
		r = miband__periph_build_objects(p);
	if (r >= 0)
		r = sd_bus_add_object_vtable(p->bus, &p->adv_slot, ADV_PATH,
					     IF_ADV, miband__periph_adv_vtable,
					     p);
	if (r < 0) {
		miband__periph_errorf(p, "D-Bus setup failed: %s",
				      strerror(-r));
		return MIBAND_E_DBUS;
	}
	make_mfr(p);
	r = sd_bus_call_method_async(p->bus, &p->pending, BLUEZ, "/", IF_OM,
				     "GetManagedObjects", on_objects, p, "");
	if (r < 0) {
		miband__periph_errorf(p, "GetManagedObjects: %s", strerror(-r));
		return MIBAND_E_DBUS;
	}
	return 0;
}

void miband__periph_stop(struct miband__periph *p)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	size_t i;

	if (!p || p->stopped)
		return;
	p->stopped = true;
	p->pending = sd_bus_slot_unref(p->pending);
	/* the band goes away: so does its link (fire and forget, bluetoothd
	 * takes about 2 s to answer a Disconnect) */
	if (p->bus && p->conn[0] && strcmp(p->conn, UNKNOWN_DEVICE) != 0) {
		miband__periph_log(p, "dropping the link to %s",
				   miband__periph_dev_addr(p->conn));
		sd_bus_call_method_async(p->bus, NULL, BLUEZ, p->conn,
					 IF_DEVICE, "Disconnect", NULL, NULL,
					 "");
		p->conn[0] = '\0';
	}
	if (p->bus && p->adv_registered) {
		if (sd_bus_call_method(p->bus, BLUEZ, p->adapter_path,
				       IF_ADV_MGR, "UnregisterAdvertisement",
				       &e, NULL, "o", ADV_PATH) < 0)
			miband__periph_log(
				p, "warning: UnregisterAdvertisement: %s",
				e.message ? e.message : e.name);
		sd_bus_error_free(&e);
		p->adv_registered = false;
	}
	if (p->bus && p->app_registered) {
		if (sd_bus_call_method(p->bus, BLUEZ, p->adapter_path,
				       IF_GATT_MGR, "UnregisterApplication", &e,
				       NULL, "o", APP_PATH) < 0)
			miband__periph_log(p,
					   "warning: UnregisterApplication: %s",
					   e.message ? e.message : e.name);
		sd_bus_error_free(&e);
		p->app_registered = false;
	}
	if (p->bus && p->alias_set) {
		set_alias(p, p->old_alias);
		p->alias_set = false;
	}
	for (i = 0; i < p->n_chrs; i++) {
		if (p->chrs[i].notify_fd >= 0 || p->chrs[i].notify_src) {
			p->chrs[i].notify_src =
				sd_event_source_unref(p->chrs[i].notify_src);
			if (p->chrs[i].notify_fd >= 0)
				close(p->chrs[i].notify_fd);
			p->chrs[i].notify_fd = -1;
		}
		if (p->chrs[i].write_fd >= 0 || p->chrs[i].write_src) {
			p->chrs[i].write_src =
				sd_event_source_unref(p->chrs[i].write_src);
			if (p->chrs[i].write_fd >= 0)
				close(p->chrs[i].write_fd);
			p->chrs[i].write_fd = -1;
		}
	}
	if (p->bus)
		sd_bus_flush(p->bus);
}

void miband__periph_free(struct miband__periph *p)
{
	size_t i;

	if (!p)
		return;
	miband__periph_stop(p);
	for (i = 0; i < p->n_descs; i++)
		sd_bus_slot_unref(p->descs[i].slot);
	for (i = 0; i < p->n_chrs; i++)
		sd_bus_slot_unref(p->chrs[i].slot);
	for (i = 0; i < p->n_svcs; i++)
		sd_bus_slot_unref(p->svcs[i].slot);
	sd_bus_slot_unref(p->root_slot);
	sd_bus_slot_unref(p->adv_slot);
	sd_bus_slot_unref(p->match_props);
	sd_bus_slot_unref(p->match_added);
	sd_bus_slot_unref(p->match_owner);
	sd_bus_slot_unref(p->match_removed);
	miband__objs_free(&p->objs);
	sd_event_source_unref(p->timer);
	if (p->bus) {
		sd_bus_detach_event(p->bus);
		sd_bus_flush_close_unref(p->bus);
	}
	sd_event_unref(p->event);
	free(p->svcs);
	free(p->chrs);
	free(p->descs);
	miband_band_wipe(&p->band);
	miband_wipe(p, sizeof(*p));
	free(p);
}

const char *miband__periph_error(const struct miband__periph *p)
{
	return p ? p->error : "";
}

const char *miband__periph_adapter(const struct miband__periph *p)
{
	return p->adapter;
}

const char *miband__periph_address(const struct miband__periph *p)
{
	return p->address;
}

struct miband_band *miband__periph_band(struct miband__periph *p)
{
	return &p->band;
}
