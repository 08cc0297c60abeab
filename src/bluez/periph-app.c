/*
 * The peripheral's application objects: the band's GATT table as
 * GattService1 / GattCharacteristic1 / GattDescriptor1 objects under
 * APP_PATH, the handles pinned where the table has them, our own answer
 * to GetManagedObjects (in table order, see peripheral.c), and the
 * LEAdvertisement1 object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bluez/periph-impl.h"

/* ---- GetManagedObjects, in table order ---- */

/* Which of an object's vtable properties GetManagedObjects shows. */
typedef bool (*prop_filter_fn)(const void *obj, const char *name);

static bool chr_has_prop(const void *obj, const char *name)
{
	const struct periph_chr *c = obj;
	uint8_t pr = c->attr->props;
	bool notifies = pr & (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE);

	if (!strcmp(name, "Notifying"))
		return notifies;
	/* with these, bluetoothd uses AcquireNotify / AcquireWrite */
	if (!strcmp(name, "NotifyAcquired"))
		return c->p->cfg.acquire && notifies;
	if (!strcmp(name, "WriteAcquired"))
		/* only where a write never needs an ATT error back */
		return c->p->cfg.acquire_write && (pr & MIBAND_PROP_WRITE_NR) &&
		       !(pr & MIBAND_PROP_WRITE);
	return true;
}

/* Closes n containers of m if r (the result so far) is not an error. */
static int close_n(sd_bus_message *m, int r, unsigned n)
{
	while (r >= 0 && n--)
		r = sd_bus_message_close_container(m);
	return r;
}

static int append_object(sd_bus_message *reply, const char *path,
			 const char *iface, const sd_bus_vtable *vt, void *obj,
			 prop_filter_fn filter)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	const sd_bus_vtable *v;
	int r;

	r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "o", path);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "s", iface);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	for (v = vt; r >= 0 && v->type != _SD_BUS_VTABLE_END; v++) {
		if (v->type != _SD_BUS_VTABLE_PROPERTY &&
		    v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY)
			continue;
		if (filter && !filter(obj, v->x.property.member))
			continue;
		r = sd_bus_message_open_container(reply, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(reply, "s",
						  v->x.property.member);
		if (r >= 0)
			r = sd_bus_message_open_container(
				reply, 'v', v->x.property.signature);
		if (r >= 0)
			r = v->x.property.get(NULL, path, iface,
					      v->x.property.member, reply, obj,
					      &e);
		r = close_n(reply, r, 2);
	}
	sd_bus_error_free(&e);
	return close_n(reply, r, 4);
}

static int on_root(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;
	sd_bus_message *reply = NULL;
	size_t i;
	int r;

	(void)e;
	if (!sd_bus_message_is_method_call(m, IF_OM, "GetManagedObjects"))
		return 0;
	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
	/* services with pinned handles first: bluetoothd gives the others
	 * the handles after the highest one in use */
	for (i = 0; r >= 0 && i < 2 * p->n_svcs; i++) {
		struct periph_svc *sv = &p->svcs[i % p->n_svcs];

		if (sv->pinned != (i < p->n_svcs))
			continue;
		r = append_object(reply, sv->path, IF_SERVICE,
				  miband__periph_svc_vtable, sv, NULL);
	}
	for (i = 0; r >= 0 && i < p->n_chrs; i++)
		r = append_object(reply, p->chrs[i].path, IF_CHR,
				  miband__periph_chr_vtable, &p->chrs[i],
				  chr_has_prop);
	for (i = 0; r >= 0 && i < p->n_descs; i++)
		r = append_object(reply, p->descs[i].path, IF_DESC,
				  miband__periph_desc_vtable, &p->descs[i],
				  NULL);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	if (r < 0)
		miband__periph_log(p, "warning: GetManagedObjects reply: %s",
				   strerror(-r));
	return 1;
}

/* ---- LEAdvertisement1 ---- */

/* Every property of the advertisement is constant: one getter. */
GETTER(adv_get)
{
	struct miband__periph *p = ud;
	int r;

	UNUSED_GETTER_ARGS;
	if (!strcmp(prop, "Type"))
		return sd_bus_message_append(reply, "s", "peripheral");
	if (!strcmp(prop, "ServiceUUIDs"))
		return sd_bus_message_append(reply, "as", 2, UUID_FEE0,
					     UUID_FEE1);
	if (!strcmp(prop, "LocalName"))
		return sd_bus_message_append(reply, "s", p->table->device_name);
	if (!strcmp(prop, "Discoverable"))
		return sd_bus_message_append(reply, "b", 1);
	/* ManufacturerData */
	r = sd_bus_message_open_container(reply, 'a', "{qv}");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'e', "qv");
	if (r >= 0)
		r = sd_bus_message_append(reply, "q", HUAMI_COMPANY_ID);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', p->mfr, p->mfr_len);
	return close_n(reply, r, 3);
}

static int adv_release(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct miband__periph *p = ud;

	(void)e;
	miband__periph_log(p, "bluetoothd released the advertisement");
	p->adv_registered = false;
	return sd_bus_reply_method_return(m, "");
}

#define ADV_PROP(name, sig) \
	SD_BUS_PROPERTY(name, sig, adv_get, 0, SD_BUS_VTABLE_PROPERTY_CONST)

const sd_bus_vtable miband__periph_adv_vtable[] = {
	SD_BUS_VTABLE_START(0),
	ADV_PROP("Type", "s"),
	ADV_PROP("ServiceUUIDs", "as"),
	ADV_PROP("ManufacturerData", "a{qv}"),
	ADV_PROP("LocalName", "s"),
	ADV_PROP("Discoverable", "b"),
	SD_BUS_METHOD("Release", "", "", adv_release,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};

/* ---- building the object tree from the table ---- */

static bool skip_service(uint16_t uuid16)
{
	/* bluetoothd serves GAP and GATT itself */
	return uuid16 == 0x1800 || uuid16 == 0x1801;
}

static bool has_cud(const struct miband_gatt_attr *a)
{
	/* PROTOCOL.md 1.1: 2A46 New Alert and H(000e) weather carry a
	 * Characteristic User Description (MB2 handle 0x0020). */
	return (!a->huami_base && a->uuid16 == 0x2a46) ||
	       (a->huami_base && a->uuid16 == 0x000e);
}

/*
 * Pins the table's handles of every service that starts at first_free or
 * above (0: all of them; UINT16_MAX: none).  The others get handle 0 and
 * are exported last.
 */
void miband__periph_apply_pins(struct miband__periph *p, uint32_t first_free)
{
	size_t i;

	p->pinned = false;
	for (i = 0; i < p->n_svcs; i++) {
		struct periph_svc *s = &p->svcs[i];

		s->pinned = p->cfg.use_handles && s->svc->start_handle &&
			    s->svc->start_handle >= first_free;
		s->handle = s->pinned ? s->svc->start_handle : 0;
		p->pinned |= s->pinned;
	}
	for (i = 0; i < p->n_chrs; i++) {
		struct periph_chr *c = &p->chrs[i];

		c->handle = c->svc->pinned ? c->attr->handle : 0;
		if (c->cud)
			c->cud->handle = c->handle ? c->handle + 1 : 0;
	}
}

int miband__periph_build_objects(struct miband__periph *p)
{
	const struct miband_gatt_table *t = p->table;
	size_t i, j, ns = 0, nc = 0, nd = 0;
	int r;

	p->svcs = calloc(t->n_services, sizeof(*p->svcs));
	p->chrs = calloc(t->n_attrs, sizeof(*p->chrs));
	p->descs = calloc(t->n_attrs, sizeof(*p->descs));
	if (!p->svcs || !p->chrs || !p->descs)
		return -ENOMEM;
	for (i = 0; i < t->n_services; i++) {
		const struct miband_gatt_service *gs = &t->services[i];
		struct periph_svc *s;

		if (skip_service(gs->uuid16))
			continue;
		s = &p->svcs[ns];
		s->p = p;
		s->svc = gs;
		snprintf(s->path, sizeof(s->path), APP_PATH "/service%02zu",
			 ns);
		miband_uuid16_str(gs->uuid16, false, s->uuid, sizeof(s->uuid));
		r = sd_bus_add_object_vtable(p->bus, &s->slot, s->path,
					     IF_SERVICE,
					     miband__periph_svc_vtable, s);
		if (r < 0)
			return r;
		for (j = 0; j < t->n_attrs; j++) {
			const struct miband_gatt_attr *a = &t->attrs[j];
			struct periph_chr *c;

			if (a->service16 != gs->uuid16)
				continue;
			c = &p->chrs[nc];
			c->p = p;
			c->attr = a;
			c->svc = s;
			c->notify_fd = c->write_fd = -1;
			snprintf(c->path, sizeof(c->path), "%s/char%02zu",
				 s->path, nc);
			miband_uuid16_str(a->uuid16, a->huami_base, c->uuid,
					  sizeof(c->uuid));
			r = sd_bus_add_object_vtable(
				p->bus, &c->slot, c->path, IF_CHR,
				miband__periph_chr_vtable, c);
			if (r < 0)
				return r;
			if (has_cud(a)) {
				struct periph_desc *d = &p->descs[nd++];

				d->p = p;
				d->chr = c;
				c->cud = d;
				snprintf(d->path, sizeof(d->path), "%s/desc00",
					 c->path);
				miband_uuid16_str(UUID_CUD, false, d->uuid,
						  sizeof(d->uuid));
				r = sd_bus_add_object_vtable(
					p->bus, &d->slot, d->path, IF_DESC,
					miband__periph_desc_vtable, d);
				if (r < 0)
					return r;
			}
			nc++;
		}
		ns++;
	}
	p->n_svcs = ns;
	p->n_chrs = nc;
	p->n_descs = nd;
	p->pin_mode = PIN_ALL;
	miband__periph_apply_pins(p, 0);
	return sd_bus_add_object(p->bus, &p->root_slot, APP_PATH, on_root, p);
}
