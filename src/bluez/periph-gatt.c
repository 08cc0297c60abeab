/*
 * The peripheral's GattCharacteristic1 and GattDescriptor1 objects:
 * methods (ReadValue, WriteValue, StartNotify, StopNotify, Acquire*),
 * properties, and the acquired sockets.  Each call feeds the engine and
 * drains it.
 *
 * ATT errors of the engine become org.bluez.Error.* replies that bluez
 * 5.66 maps back: READ/WRITE_NOT_PERMITTED -> NotPermitted, REQUEST_NOT_
 * SUPPORTED -> NotSupported, INVALID_LENGTH -> InvalidValueLength,
 * INSUFFICIENT_AUTHN -> NotAuthorized (bluez has no name for 0x05, so the
 * central sees 0x08 "insufficient authorization"), others -> Failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bluez/periph-impl.h"

/* ---- options of ReadValue / WriteValue / Acquire* ---- */

struct gatt_opts {
	uint16_t offset;
	uint16_t mtu;
	int type; /* -1 not given, 0 command, 1 request */
	bool prepare;
	char device[128];
};

static int on_opt(sd_bus_message *m, const char *k, void *ud)
{
	struct gatt_opts *o = ud;
	const char *s;
	int r, b;

	if (!strcmp(k, "offset"))
		return sd_bus_message_read(m, "v", "q", &o->offset);
	if (!strcmp(k, "mtu"))
		return sd_bus_message_read(m, "v", "q", &o->mtu);
	if (!strcmp(k, "device")) {
		r = sd_bus_message_read(m, "v", "o", &s);
		if (r >= 0)
			snprintf(o->device, sizeof(o->device), "%s", s);
		return r;
	}
	if (!strcmp(k, "type")) {
		r = sd_bus_message_read(m, "v", "s", &s);
		if (r >= 0)
			o->type = strcmp(s, "command") ? 1 : 0;
		return r;
	}
	if (!strcmp(k, "prepare-authorize")) {
		r = sd_bus_message_read(m, "v", "b", &b);
		o->prepare = r >= 0 && b;
		return r;
	}
	return sd_bus_message_skip(m, "v");
}

static int read_opts(sd_bus_message *m, struct gatt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->type = -1;
	return miband__bus_read_dict(m, "sv", on_opt, o);
}

static int reply_att_error(sd_bus_message *m, int att)
{
	switch (att) {
	case MIBAND_ATT_READ_NOT_PERMITTED:
	case MIBAND_ATT_WRITE_NOT_PERMITTED:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
						  "ATT error 0x%02x", att);
	case MIBAND_ATT_INSUFFICIENT_AUTHN:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotAuthorized",
						  "ATT error 0x%02x: not"
						  " authenticated",
						  att);
	case MIBAND_ATT_REQUEST_NOT_SUPPORTED:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotSupported",
						  "ATT error 0x%02x", att);
	case MIBAND_ATT_INVALID_LENGTH:
		return sd_bus_reply_method_errorf(
			m, ERR_PREFIX "InvalidValueLength", "ATT error 0x%02x",
			att);
	default:
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "Failed",
						  "0x%02x ATT error", att);
	}
}

static int reply_bytes(sd_bus_message *m, const uint8_t *data, size_t len)
{
	sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append_array(reply, 'y', data, len);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

/* Values of characteristics the engine does not use (channel -1). */
static size_t static_value(const struct miband_gatt_attr *a, uint8_t *buf)
{
	/* FEE0 carries a copy of the preferred connection parameters; a Mi
	 * Band 2 answers 27 00 27 00 00 00 f4 01 (PROTOCOL.md 6). */
	static const uint8_t ppcp[8] = {0x27, 0x00, 0x27, 0x00,
					0x00, 0x00, 0xf4, 0x01};

	if (!a->huami_base && a->uuid16 == 0x2a04) {
		memcpy(buf, ppcp, sizeof(ppcp));
		return sizeof(ppcp);
	}
	return 0;
}

/* ---- GattCharacteristic1 methods ---- */

static int chr_read(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	uint8_t buf[MIBAND_BAND_VALUE_MAX];
	struct gatt_opts o;
	size_t len = 0;
	int r, att = 0, ch = c->attr->channel;

	(void)e;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	miband__periph_seen_device(p, o.device);
	if (ch >= 0) {
		att = miband_band_read(&p->band, (enum miband_channel)ch,
				       miband__periph_now_ms(p), buf,
				       sizeof(buf), &len);
	} else {
		len = static_value(c->attr, buf);
	}
	if (att) {
		if (p->cfg.verbose)
			miband__periph_log(p, "read %s -> ATT error 0x%02x",
					   miband__chan_name(ch), att);
		r = reply_att_error(m, att);
	} else {
		miband__periph_log_value(p, "read", ch, false, buf, len, NULL);
		if (o.offset > len)
			r = sd_bus_reply_method_errorf(
				m, ERR_PREFIX "InvalidOffset", "offset %u",
				o.offset);
		else
			r = reply_bytes(m, buf + o.offset, len - o.offset);
	}
	miband__periph_drain(p);
	return r < 0 ? r : 1;
}

static void band_write(struct periph_chr *c, const uint8_t *data, size_t len,
		       bool with_response, int *ret_att)
{
	struct miband__periph *p = c->p;
	int ch = c->attr->channel, att = 0;

	miband__periph_log_value(p, "write", ch, true, data, len,
				 with_response ? NULL : " (no response)");
	if (ch >= 0)
		att = miband_band_on_write(&p->band, (enum miband_channel)ch,
					   data, len, with_response,
					   miband__periph_now_ms(p));
	if (att && p->cfg.verbose)
		miband__periph_log(p, "write %s -> ATT error 0x%02x",
				   miband__chan_name(ch), att);
	*ret_att = att;
	miband__periph_drain(p);
}

static int chr_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	const void *data;
	size_t len;
	struct gatt_opts o;
	bool with_response;
	int r, att;

	(void)e;
	r = sd_bus_message_read_array(m, 'y', &data, &len);
	if (r < 0)
		return r;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	miband__periph_seen_device(p, o.device);
	if (o.prepare) /* authorising a prepared write: nothing to do yet */
		return sd_bus_reply_method_return(m, "");
	if (o.offset)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "InvalidOffset",
						  "offset %u: the band takes"
						  " whole values",
						  o.offset);
	if (o.type >= 0)
		with_response = o.type == 1;
	else
		with_response = !(c->attr->props & MIBAND_PROP_WRITE_NR);
	band_write(c, data, len, with_response, &att);
	if (att)
		return reply_att_error(m, att);
	return sd_bus_reply_method_return(m, "");
}

static int chr_start_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int att = 0, ch = c->attr->channel;

	(void)e;
	miband__periph_implicit_connect(p);
	if (p->cfg.verbose)
		miband__periph_log(p, "subscribe %s", miband__chan_name(ch));
	if (ch >= 0)
		att = miband_band_on_subscribe(&p->band,
					       (enum miband_channel)ch, true,
					       miband__periph_now_ms(p));
	if (!c->notifying) {
		c->notifying = true;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "Notifying", NULL);
	}
	miband__periph_drain(p);
	if (att)
		return reply_att_error(m, att);
	return sd_bus_reply_method_return(m, "");
}

static int chr_stop_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int ch = c->attr->channel;

	(void)e;
	if (p->cfg.verbose)
		miband__periph_log(p, "unsubscribe %s", miband__chan_name(ch));
	if (ch >= 0)
		miband_band_on_subscribe(&p->band, (enum miband_channel)ch,
					 false, miband__periph_now_ms(p));
	if (c->notifying) {
		c->notifying = false;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "Notifying", NULL);
	}
	miband__periph_drain(p);
	return sd_bus_reply_method_return(m, "");
}

static int chr_confirm(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	(void)e;
	return sd_bus_reply_method_return(m, "");
}

static void close_fd(struct periph_chr *c, bool notify_side)
{
	struct miband__periph *p = c->p;

	if (notify_side) {
		c->notify_src = sd_event_source_unref(c->notify_src);
		if (c->notify_fd >= 0)
			close(c->notify_fd);
		c->notify_fd = -1;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "NotifyAcquired", NULL);
	} else {
		c->write_src = sd_event_source_unref(c->write_src);
		if (c->write_fd >= 0)
			close(c->write_fd);
		c->write_fd = -1;
		sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR,
					       "WriteAcquired", NULL);
	}
}

/* bluetoothd writes each ATT write into the acquired socket: one packet
 * per write (SOCK_SEQPACKET). */
static int on_write_fd(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct periph_chr *c = ud;
	uint8_t buf[512];
	ssize_t n;
	int att;

	(void)s;
	if (revents & EPOLLIN) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			band_write(c, buf, (size_t)n, false, &att);
			return 0;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
	}
	if (c->p->cfg.verbose)
		miband__periph_log(c->p, "write fd of %s closed",
				   miband__chan_name(c->attr->channel));
	close_fd(c, false);
	return 0;
}

/* bluetoothd closes the notify socket when the last CCCD is cleared. */
static int on_notify_fd(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	struct periph_chr *c = ud;
	struct miband__periph *p = c->p;
	int ch = c->attr->channel;

	(void)s;
	(void)fd;
	if (!(revents & (EPOLLHUP | EPOLLERR)))
		return 0;
	if (p->cfg.verbose)
		miband__periph_log(p, "unsubscribe %s (notify fd closed)",
				   miband__chan_name(ch));
	close_fd(c, true);
	if (ch >= 0) {
		miband_band_on_subscribe(&p->band, (enum miband_channel)ch,
					 false, miband__periph_now_ms(p));
		miband__periph_drain(p);
	}
	return 0;
}

static int chr_acquire(sd_bus_message *m, struct periph_chr *c, bool notify)
{
	struct miband__periph *p = c->p;
	struct gatt_opts o;
	int fds[2], r, ch = c->attr->channel, att = 0;
	uint16_t mtu;

	r = read_opts(m, &o);
	if (r < 0)
		return r;
	miband__periph_seen_device(p, o.device);
	if (notify)
		miband__periph_implicit_connect(p);
	if ((notify ? c->notify_fd : c->write_fd) >= 0)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
						  "already acquired");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, fds) < 0)
		return sd_bus_reply_method_errorf(m, ERR_PREFIX "Failed",
						  "socketpair: %s",
						  strerror(errno));
	mtu = o.mtu ? o.mtu : 23;
	c->mtu = mtu;
	if (notify) {
		c->notify_fd = fds[0];
		r = sd_event_add_io(p->event, &c->notify_src, fds[0], 0,
				    on_notify_fd, c);
	} else {
		c->write_fd = fds[0];
		r = sd_event_add_io(p->event, &c->write_src, fds[0], EPOLLIN,
				    on_write_fd, c);
	}
	if (r < 0) {
		close(fds[1]);
		close_fd(c, notify);
		return r;
	}
	/* sd-bus duplicates the fd into the message */
	r = sd_bus_reply_method_return(m, "hq", fds[1], mtu);
	close(fds[1]);
	if (r < 0) {
		close_fd(c, notify);
		return r;
	}
	sd_bus_emit_properties_changed(
		p->bus, c->path, IF_CHR,
		notify ? "NotifyAcquired" : "WriteAcquired", NULL);
	if (p->cfg.verbose)
		miband__periph_log(p, "%s %s (fd, mtu %u)",
				   notify ? "subscribe" : "acquire write",
				   miband__chan_name(ch), mtu);
	if (notify && ch >= 0) {
		att = miband_band_on_subscribe(&p->band,
					       (enum miband_channel)ch, true,
					       miband__periph_now_ms(p));
		if (att && p->cfg.verbose)
			miband__periph_log(p,
					   "subscribe %s -> ATT error 0x%02x",
					   miband__chan_name(ch), att);
		miband__periph_drain(p);
	}
	return 1;
}

static int chr_acquire_notify(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	return chr_acquire(m, ud, true);
}

static int chr_acquire_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	return chr_acquire(m, ud, false);
}

/* ---- properties ---- */

static int get_flags(sd_bus_message *reply, uint8_t props)
{
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	if (r >= 0 && (props & MIBAND_PROP_READ))
		r = sd_bus_message_append(reply, "s", "read");
	if (r >= 0 && (props & MIBAND_PROP_WRITE_NR))
		r = sd_bus_message_append(reply, "s", "write-without-response");
	if (r >= 0 && (props & MIBAND_PROP_WRITE))
		r = sd_bus_message_append(reply, "s", "write");
	if (r >= 0 && (props & MIBAND_PROP_NOTIFY))
		r = sd_bus_message_append(reply, "s", "notify");
	if (r >= 0 && (props & MIBAND_PROP_INDICATE))
		r = sd_bus_message_append(reply, "s", "indicate");
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

GETTER(svc_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_svc *)ud)->uuid);
}

GETTER(svc_primary)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "b", 1);
}

GETTER(svc_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_svc *)ud)->handle);
}

/* bluetoothd writes back the handle it chose for an object with 0 */
static int set_handle(struct miband__periph *p, const char *path,
		      sd_bus_message *value, uint16_t *h)
{
	uint16_t v;
	int r;

	(void)p;
	r = sd_bus_message_read(value, "q", &v);
	if (r < 0)
		return r;
	(void)path;
	*h = v;
	return 0;
}

static int svc_set_handle(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *value, void *ud,
			  sd_bus_error *e)
{
	struct periph_svc *s = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(s->p, path, value, &s->handle);
}

GETTER(chr_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_chr *)ud)->uuid);
}

GETTER(chr_service)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "o",
				     ((struct periph_chr *)ud)->svc->path);
}

GETTER(chr_flags)
{
	UNUSED_GETTER_ARGS;
	return get_flags(reply, ((struct periph_chr *)ud)->attr->props);
}

GETTER(chr_value)
{
	struct periph_chr *c = ud;

	UNUSED_GETTER_ARGS;
	return sd_bus_message_append_array(reply, 'y', c->value, c->value_len);
}

GETTER(chr_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_chr *)ud)->handle);
}

static int chr_set_handle(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *value, void *ud,
			  sd_bus_error *e)
{
	struct periph_chr *c = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(c->p, path, value, &c->handle);
}

GETTER(chr_notifying)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     (int)((struct periph_chr *)ud)->notifying);
}

GETTER(chr_notify_acquired)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     ((struct periph_chr *)ud)->notify_fd >= 0);
}

GETTER(chr_write_acquired)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "b",
				     ((struct periph_chr *)ud)->write_fd >= 0);
}

GETTER(desc_uuid)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "s",
				     ((struct periph_desc *)ud)->uuid);
}

GETTER(desc_chr)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "o",
				     ((struct periph_desc *)ud)->chr->path);
}

GETTER(desc_flags)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append(reply, "as", 1, "read");
}

GETTER(desc_value)
{
	UNUSED_GETTER_ARGS;
	(void)ud;
	return sd_bus_message_append_array(reply, 'y', "", 0);
}

GETTER(desc_handle)
{
	UNUSED_GETTER_ARGS;
	return sd_bus_message_append(reply, "q",
				     ((struct periph_desc *)ud)->handle);
}

static int desc_set_handle(sd_bus *bus, const char *path, const char *iface,
			   const char *prop, sd_bus_message *value, void *ud,
			   sd_bus_error *e)
{
	struct periph_desc *d = ud;

	(void)bus;
	(void)iface;
	(void)prop;
	(void)e;
	return set_handle(d->p, path, value, &d->handle);
}

/* The User Description of 2A46: no source gives its text, so it is
 * served empty. */
static int desc_read(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	struct periph_desc *d = ud;
	struct gatt_opts o;
	int r;

	(void)e;
	r = read_opts(m, &o);
	if (r < 0)
		return r;
	miband__periph_seen_device(d->p, o.device);
	if (d->p->cfg.verbose)
		miband__periph_log(d->p, "read descriptor %s of %s (empty)",
				   d->uuid, d->chr->uuid);
	return reply_bytes(m, (const uint8_t *)"", 0);
}

static int desc_write(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)ud;
	(void)e;
	return sd_bus_reply_method_errorf(m, ERR_PREFIX "NotPermitted",
					  "read-only descriptor");
}

const sd_bus_vtable miband__periph_svc_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", svc_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Primary", "b", svc_primary, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", svc_handle, svc_set_handle, 0,
				 0),
	SD_BUS_VTABLE_END};

const sd_bus_vtable miband__periph_chr_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", chr_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Service", "o", chr_service, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Flags", "as", chr_flags, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", chr_value, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", chr_handle, chr_set_handle, 0,
				 0),
	SD_BUS_PROPERTY("Notifying", "b", chr_notifying, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("NotifyAcquired", "b", chr_notify_acquired, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("WriteAcquired", "b", chr_write_acquired, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD("ReadValue", "a{sv}", "ay", chr_read,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("WriteValue", "aya{sv}", "", chr_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("StartNotify", "", "", chr_start_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("StopNotify", "", "", chr_stop_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Confirm", "", "", chr_confirm,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AcquireNotify", "a{sv}", "hq", chr_acquire_notify,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AcquireWrite", "a{sv}", "hq", chr_acquire_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};

const sd_bus_vtable miband__periph_desc_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UUID", "s", desc_uuid, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Characteristic", "o", desc_chr, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Flags", "as", desc_flags, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Value", "ay", desc_value, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_WRITABLE_PROPERTY("Handle", "q", desc_handle, desc_set_handle, 0,
				 0),
	SD_BUS_METHOD("ReadValue", "a{sv}", "ay", desc_read,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("WriteValue", "aya{sv}", "", desc_write,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END};
