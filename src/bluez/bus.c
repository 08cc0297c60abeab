/*
 * Shared by the central and the peripheral: the D-Bus error map and small
 * helpers (contract in bus.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bluez/bus.h"
#include "miband/bluez.h"

uint64_t miband__now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC +
	       (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t miband_bluez_now_ms(void)
{
	return miband__now_usec() / USEC_PER_MSEC;
}

void miband__copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *miband__chan_name(int ch)
{
	const struct miband_channel_info *info;

	if (ch < 0)
		return "-";
	info = miband_channel_info((enum miband_channel)ch);
	return info && info->name ? info->name : "?";
}

bool miband__error_is(const sd_bus_error *e, const char *name)
{
	return e && e->name && strcmp(e->name, name) == 0;
}

int miband_bluez_map_error(const char *name, const char *message, int fallback)
{
	if (fallback >= 0)
		fallback = MIBAND_E_DBUS;
	if (!name)
		return fallback;
	if (!strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.Disconnected"))
		return MIBAND_E_NO_BLUEZ;
	if (!strcmp(name, "org.freedesktop.DBus.Error.NoReply") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.Timeout") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.TimedOut"))
		return MIBAND_E_TIMEOUT;
	if (!strcmp(name, "org.freedesktop.DBus.Error.UnknownObject") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.UnknownInterface") ||
	    !strcmp(name, "org.freedesktop.DBus.Error.UnknownMethod")) {
		/* The object is gone: an adapter unplugged, a temporary
		 * device expired, or a characteristic removed because the
		 * link dropped. */
		if (fallback == MIBAND_E_NO_ADAPTER)
			return MIBAND_E_NO_ADAPTER;
		if (fallback == MIBAND_E_CONNECT_FAILED ||
		    fallback == MIBAND_E_NOT_FOUND)
			return MIBAND_E_NOT_FOUND;
		if (fallback == MIBAND_E_DBUS)
			return MIBAND_E_DBUS;
		return MIBAND_E_DISCONNECTED;
	}
	if (!strcmp(name, "org.freedesktop.DBus.Error.NoMemory"))
		return MIBAND_E_IO;
	if (!strcmp(name, "org.bluez.Error.NotReady"))
		return MIBAND_E_NO_ADAPTER;
	if (!strcmp(name, "org.bluez.Error.NotConnected"))
		return MIBAND_E_DISCONNECTED;
	if (!strcmp(name, "org.bluez.Error.InProgress"))
		return MIBAND_E_BUSY;
	if (!strcmp(name, "org.bluez.Error.AlreadyConnected"))
		return MIBAND_E_STATE;
	if (!strcmp(name, "org.bluez.Error.DoesNotExist"))
		return MIBAND_E_NOT_FOUND;
	if (!strcmp(name, "org.bluez.Error.Failed") && message &&
	    (strstr(message, "Not connected") ||
	     strstr(message, "not connected")))
		return MIBAND_E_DISCONNECTED;
	/* org.bluez.Error.Failed, NotPermitted, NotAuthorized, NotSupported,
	 * InvalidValueLength, InvalidOffset, InvalidArguments, ATT errors,
	 * and anything else: the operation failed. */
	return fallback;
}

int miband__bus_error(const sd_bus_error *e, int fallback)
{
	return miband_bluez_map_error(e ? e->name : NULL, e ? e->message : NULL,
				      fallback);
}

int miband_bluez_parse_address(const char *s, char ret_address[18])
{
	return miband_address_parse(s, ret_address);
}

int miband_bluez_guess_model(const char *name, enum miband_model *ret_model)
{
	return miband_model_guess(name, ret_model);
}

int miband__bus_read_dict(sd_bus_message *m, const char *entry,
			  miband__bus_entry_fn fn, void *ud)
{
	char dict[24];
	int r;

	snprintf(dict, sizeof(dict), "{%s}", entry);
	r = sd_bus_message_enter_container(m, 'a', dict);
	while (r >= 0 &&
	       (r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r >= 0)
			r = fn(m, key, ud);
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}
