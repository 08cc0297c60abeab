/*
 * A mirror of BlueZ's object tree (internal): the adapters, devices, GATT
 * services and characteristics of GetManagedObjects, kept up to date from
 * InterfacesAdded / InterfacesRemoved / PropertiesChanged.  It only
 * parses and stores: the caller owns the bus, the match rules and the
 * calls, and decides what a change means.
 */
#ifndef MIBAND_BLUEZ_OBJECTS_H
#define MIBAND_BLUEZ_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

enum miband__obj_kind {
	OBJ_NONE = 0,
	OBJ_ADAPTER,
	OBJ_DEVICE,
	OBJ_SERVICE,
	OBJ_CHR
};

/* One object of BlueZ's tree that we care about (one interface each). */
struct miband__obj {
	char *path;
	char *parent; /* Adapter / Device / Service property */
	enum miband__obj_kind kind;
	char address[18];
	char name[64];
	char uuid[37];
	int16_t rssi;
	bool has_rssi;
	bool connected;
	bool resolved;
	bool paired;
	bool powered;
	bool mi_uuid;	   /* device offers FEE0/FEE1 */
	bool reported;	   /* scan: already reported in this scan */
	bool gatt_manager; /* adapter: offers GattManager1 */
	bool adv_manager;  /* adapter: offers LEAdvertisingManager1 */
	uint8_t props;	   /* characteristic: MIBAND_PROP_* */
};

struct miband__objs {
	struct miband__obj **v;
	size_t n, cap;
};

/* The object at path, or NULL. */
struct miband__obj *miband__objs_find(const struct miband__objs *objs,
				      const char *path);
/* The object at path, created if new; NULL if it has another kind or
 * memory ran out. */
struct miband__obj *miband__objs_get(struct miband__objs *objs,
				     const char *path,
				     enum miband__obj_kind kind);
void miband__objs_remove(struct miband__objs *objs, const char *path);
/* Forgets every object (the array stays). */
void miband__objs_clear(struct miband__objs *objs);
/* Forgets every object and frees the array. */
void miband__objs_free(struct miband__objs *objs);
/* True if path is below parent ("/a/b" is below "/a"). */
bool miband__path_under(const char *path, const char *parent);
/* The kind an interface name stands for, OBJ_NONE if none we mirror. */
enum miband__obj_kind miband__obj_kind_of(const char *iface);
/* > 0 if m is positioned at a variant of signature sig. */
int miband__variant_is(sd_bus_message *m, const char *sig);
/* Reads an a{sv} of o's interface into o (o NULL: skipped). */
int miband__obj_read_props(sd_bus_message *m, struct miband__obj *o);
/* Reads the a{sa{sv}} of path (InterfacesAdded, GetManagedObjects); the
 * device among them, if any, goes to *ret_dev (may be NULL). */
int miband__objs_read_ifaces(struct miband__objs *objs, sd_bus_message *m,
			     const char *path, struct miband__obj **ret_dev);
/* Reads a GetManagedObjects reply (a{oa{sa{sv}}}). */
int miband__objs_read_managed(struct miband__objs *objs, sd_bus_message *m);
/* What a PropertiesChanged did to the mirror. */
struct miband__obj_change {
	struct miband__obj *obj;
	bool was_connected; /* Connected before the change */
	bool has_connected; /* the change carried Connected */
};
/*
 * Applies a PropertiesChanged of iface on path (m positioned after the
 * interface name: changed a{sv}, then invalidated as).  An object not in
 * the mirror is created if create, else ignored.  Returns 1 with *ret
 * filled, 0 if nothing was applied (not mirrored, another kind), or a
 * negative errno for a bad message.
 */
int miband__objs_props_changed(struct miband__objs *objs, sd_bus_message *m,
			       const char *path, const char *iface, bool create,
			       struct miband__obj_change *ret);
/*
 * The adapter to use: want (NULL: the powered adapter first in path
 * order) is a path ("/org/bluez/hci0"), a name ("hci0") or an address.
 * Returns 0 with *ret, or MIBAND_E_NO_ADAPTER with why[cap] saying why
 * (none, or not powered).
 */
int miband__objs_pick_adapter(const struct miband__objs *objs, const char *want,
			      struct miband__obj **ret, char *why, size_t cap);

#endif
