/*
 * The mirror of BlueZ's object tree (contract in objects.h).  Properties
 * are parsed by kind: a property of another type than expected is
 * skipped, never trusted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bluez/bus.h"
#include "bluez/objects.h"
#include "miband/error.h"
#include "miband/types.h"

struct miband__obj *miband__objs_find(const struct miband__objs *objs,
				      const char *path)
{
	size_t i;

	for (i = 0; i < objs->n; i++)
		if (strcmp(objs->v[i]->path, path) == 0)
			return objs->v[i];
	return NULL;
}

struct miband__obj *miband__objs_get(struct miband__objs *objs,
				     const char *path,
				     enum miband__obj_kind kind)
{
	struct miband__obj *o = miband__objs_find(objs, path);

	if (o) {
		if (o->kind == OBJ_NONE)
			o->kind = kind;
		return o->kind == kind ? o : NULL;
	}
	if (objs->n == objs->cap) {
		size_t cap = objs->cap ? objs->cap * 2 : 32;
		struct miband__obj **v = realloc(objs->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		objs->v = v;
		objs->cap = cap;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->kind = kind;
	objs->v[objs->n++] = o;
	return o;
}

static void obj_free(struct miband__obj *o)
{
	free(o->path);
	free(o->parent);
	free(o);
}

void miband__objs_remove(struct miband__objs *objs, const char *path)
{
	size_t i;

	for (i = 0; i < objs->n; i++) {
		if (strcmp(objs->v[i]->path, path) == 0) {
			obj_free(objs->v[i]);
			objs->v[i] = objs->v[--objs->n];
			return;
		}
	}
}

void miband__objs_clear(struct miband__objs *objs)
{
	size_t i;

	for (i = 0; i < objs->n; i++)
		obj_free(objs->v[i]);
	objs->n = 0;
}

void miband__objs_free(struct miband__objs *objs)
{
	miband__objs_clear(objs);
	free(objs->v);
	objs->v = NULL;
	objs->cap = 0;
}

bool miband__path_under(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	return path && strncmp(path, parent, n) == 0 && path[n] == '/';
}

enum miband__obj_kind miband__obj_kind_of(const char *iface)
{
	if (!strcmp(iface, IF_ADAPTER))
		return OBJ_ADAPTER;
	if (!strcmp(iface, IF_DEVICE))
		return OBJ_DEVICE;
	if (!strcmp(iface, IF_SERVICE))
		return OBJ_SERVICE;
	if (!strcmp(iface, IF_CHR))
		return OBJ_CHR;
	return OBJ_NONE;
}

/* ---- property parsing: the message is positioned at a variant ---- */

int miband__variant_is(sd_bus_message *m, const char *sig)
{
	char type;
	const char *contents;
	int r = sd_bus_message_peek_type(m, &type, &contents);

	if (r < 0)
		return r;
	return r > 0 && type == 'v' && contents && strcmp(contents, sig) == 0;
}

static int prop_str(sd_bus_message *m, const char *sig, char *buf, size_t cap,
		    char **ret_dup)
{
	const char *s;
	int r = miband__variant_is(m, sig);

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", sig, &s);
	if (r < 0)
		return r;
	if (buf)
		miband__copy_str(buf, cap, s);
	if (ret_dup) {
		char *d = strdup(s);

		if (!d)
			return -ENOMEM;
		free(*ret_dup);
		*ret_dup = d;
	}
	return 1;
}

static int prop_bool(sd_bus_message *m, bool *ret)
{
	int b, r = miband__variant_is(m, "b");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", "b", &b);
	if (r < 0)
		return r;
	*ret = !!b;
	return 1;
}

static int prop_rssi(sd_bus_message *m, struct miband__obj *o)
{
	int16_t v;
	int r = miband__variant_is(m, "n");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_read(m, "v", "n", &v);
	if (r < 0)
		return r;
	o->rssi = v;
	o->has_rssi = true;
	return 1;
}

/* "as": device UUIDs (sets mi_uuid) or characteristic Flags. */
static int prop_strv(sd_bus_message *m, struct miband__obj *o, bool flags)
{
	const char *s;
	int r = miband__variant_is(m, "as");

	if (r <= 0)
		return r < 0 ? r : sd_bus_message_skip(m, "v");
	r = sd_bus_message_enter_container(m, 'v', "as");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "s");
	if (r < 0)
		return r;
	if (flags)
		o->props = 0;
	else
		o->mi_uuid = false;
	while ((r = sd_bus_message_read(m, "s", &s)) > 0) {
		if (!flags) {
			if (!strcasecmp(s, UUID_FEE0) ||
			    !strcasecmp(s, UUID_FEE1))
				o->mi_uuid = true;
		} else if (!strcmp(s, "read")) {
			o->props |= MIBAND_PROP_READ;
		} else if (!strcmp(s, "write-without-response")) {
			o->props |= MIBAND_PROP_WRITE_NR;
		} else if (!strcmp(s, "write")) {
			o->props |= MIBAND_PROP_WRITE;
		} else if (!strcmp(s, "notify")) {
			o->props |= MIBAND_PROP_NOTIFY;
		} else if (!strcmp(s, "indicate")) {
			o->props |= MIBAND_PROP_INDICATE;
		}
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Applies one property of o's interface; the variant is consumed. */
static int apply_prop(struct miband__obj *o, sd_bus_message *m, const char *key)
{
	switch (o->kind) {
	case OBJ_ADAPTER:
		if (!strcmp(key, "Address"))
			return prop_str(m, "s", o->address, sizeof(o->address),
					NULL);
		if (!strcmp(key, "Powered"))
			return prop_bool(m, &o->powered);
		break;
	case OBJ_DEVICE:
		if (!strcmp(key, "Address"))
			return prop_str(m, "s", o->address, sizeof(o->address),
					NULL);
		if (!strcmp(key, "Name"))
			return prop_str(m, "s", o->name, sizeof(o->name), NULL);
		if (!strcmp(key, "Adapter"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		if (!strcmp(key, "RSSI"))
			return prop_rssi(m, o);
		if (!strcmp(key, "Connected"))
			return prop_bool(m, &o->connected);
		if (!strcmp(key, "ServicesResolved"))
			return prop_bool(m, &o->resolved);
		if (!strcmp(key, "Paired"))
			return prop_bool(m, &o->paired);
		if (!strcmp(key, "UUIDs"))
			return prop_strv(m, o, false);
		break;
	case OBJ_SERVICE:
		if (!strcmp(key, "UUID"))
			return prop_str(m, "s", o->uuid, sizeof(o->uuid), NULL);
		if (!strcmp(key, "Device"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		break;
	case OBJ_CHR:
		if (!strcmp(key, "UUID"))
			return prop_str(m, "s", o->uuid, sizeof(o->uuid), NULL);
		if (!strcmp(key, "Service"))
			return prop_str(m, "o", NULL, 0, &o->parent);
		if (!strcmp(key, "Flags"))
			return prop_strv(m, o, true);
		break;
	default:
		break;
	}
	return sd_bus_message_skip(m, "v");
}

/* Reads an a{sv} into o (o may be NULL: skipped). */
struct props_walk {
	struct miband__obj *o;
	bool *has_connected;
};

static int on_prop(sd_bus_message *m, const char *key, void *ud)
{
	struct props_walk *w = ud;

	if (w->has_connected && !strcmp(key, "Connected"))
		*w->has_connected = true;
	return apply_prop(w->o, m, key);
}

static int read_props(sd_bus_message *m, struct miband__obj *o,
		      bool *ret_has_connected)
{
	struct props_walk w = {o, ret_has_connected};

	if (!o)
		return sd_bus_message_skip(m, "a{sv}");
	return miband__bus_read_dict(m, "sv", on_prop, &w);
}

int miband__obj_read_props(sd_bus_message *m, struct miband__obj *o)
{
	return read_props(m, o, NULL);
}

/* Reads a{sa{sv}} for path (InterfacesAdded, GetManagedObjects). */
struct ifaces_walk {
	struct miband__objs *objs;
	const char *path;
	struct miband__obj **ret_dev;
};

static int on_iface(sd_bus_message *m, const char *iface, void *ud)
{
	struct ifaces_walk *w = ud;
	enum miband__obj_kind kind = miband__obj_kind_of(iface);
	struct miband__obj *o = NULL;
	int r;

	if (kind != OBJ_NONE) {
		o = miband__objs_get(w->objs, w->path, kind);
		if (!o)
			return -ENOMEM;
	} else if (!strcmp(iface, IF_GATT_MGR) || !strcmp(iface, IF_ADV_MGR)) {
		/* the adapter's other interfaces: noted, no props */
		struct miband__obj *a =
			miband__objs_get(w->objs, w->path, OBJ_ADAPTER);

		if (a && !strcmp(iface, IF_GATT_MGR))
			a->gatt_manager = true;
		else if (a)
			a->adv_manager = true;
	}
	r = miband__obj_read_props(m, o);
	if (r >= 0 && o && kind == OBJ_DEVICE && w->ret_dev)
		*w->ret_dev = o;
	return r;
}

int miband__objs_read_ifaces(struct miband__objs *objs, sd_bus_message *m,
			     const char *path, struct miband__obj **ret_dev)
{
	struct ifaces_walk w = {objs, path, ret_dev};

	return miband__bus_read_dict(m, "sa{sv}", on_iface, &w);
}

int miband__objs_read_managed(struct miband__objs *objs, sd_bus_message *m)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
		const char *path;

		r = sd_bus_message_read(m, "o", &path);
		if (r >= 0)
			r = miband__objs_read_ifaces(objs, m, path, NULL);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	return r;
}

int miband__objs_props_changed(struct miband__objs *objs, sd_bus_message *m,
			       const char *path, const char *iface, bool create,
			       struct miband__obj_change *ret)
{
	enum miband__obj_kind kind = miband__obj_kind_of(iface);
	struct miband__obj *o = miband__objs_find(objs, path);
	int r;

	if (!o && create && kind != OBJ_NONE)
		o = miband__objs_get(objs, path, kind);
	if (!o || o->kind != kind)
		return 0;
	ret->obj = o;
	ret->was_connected = o->connected;
	ret->has_connected = false;
	r = read_props(m, o, &ret->has_connected);
	if (r < 0)
		return r;
	/* invalidated: RSSI goes away when discovery stops */
	if (sd_bus_message_enter_container(m, 'a', "s") > 0) {
		const char *s;

		while (sd_bus_message_read(m, "s", &s) > 0)
			if (!strcmp(s, "RSSI"))
				o->has_rssi = false;
		sd_bus_message_exit_container(m);
	}
	return 1;
}

int miband__objs_pick_adapter(const struct miband__objs *objs, const char *want,
			      struct miband__obj **ret, char *why, size_t cap)
{
	struct miband__obj *best = NULL;
	size_t i;

	for (i = 0; i < objs->n; i++) {
		struct miband__obj *o = objs->v[i];
		const char *base;

		if (o->kind != OBJ_ADAPTER)
			continue;
		base = strrchr(o->path, '/');
		base = base ? base + 1 : o->path;
		if (want) {
			if (strcmp(want, o->path) && strcmp(want, base) &&
			    strcasecmp(want, o->address))
				continue;
			if (!o->powered) {
				snprintf(why, cap, "adapter %s is not powered",
					 base);
				return MIBAND_E_NO_ADAPTER;
			}
			best = o;
			break;
		}
		if (o->powered && (!best || strcmp(o->path, best->path) < 0))
			best = o;
	}
	if (!best) {
		if (want)
			snprintf(why, cap, "no adapter %s", want);
		else
			snprintf(why, cap, "no powered adapter");
		return MIBAND_E_NO_ADAPTER;
	}
	*ret = best;
	return 0;
}
