/*
 * The peripheral's engine pump (see the comment atop peripheral.c):
 * inputs go into the band engine, then miband__periph_drain() performs its
 * actions. NOTIFY goes out through the acquired fd when bluetoothd took one,
 * else as PropertiesChanged(Value), which bluetoothd turns into an ATT
 * notification; DISCONNECT calls Device1.Disconnect on the connected
 * device; EVENT goes to the caller.  Also the connected central's
 * bookkeeping and the logs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "bluez/periph-impl.h"

/* ---- small helpers ---- */

uint64_t miband__periph_now_ms(const struct miband__periph *p)
{
	return (miband__now_usec() - p->origin_usec) / 1000;
}

void miband__periph_log(struct miband__periph *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!p->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p->cfg.log(line, p->cfg.user_data);
}

void miband__periph_errorf(struct miband__periph *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

const char *miband__periph_dev_addr(const char *path)
{
	const char *s = strrchr(path, '/');

	return s && strncmp(s, "/dev_", 5) == 0 ? s + 5 : path;
}

void miband__periph_format_value(enum miband_channel ch, bool from_client,
				 const uint8_t *data, size_t len, char *buf,
				 size_t cap)
{
	size_t shown, i, o = 0;
	bool redact;

	if (!buf || !cap)
		return;
	buf[0] = '\0';
	/* the one redaction rule (profile.c), as every front end uses it */
	shown = miband_redact_from(ch, from_client, data, len, false);
	redact = shown < len;
	for (i = 0; i < shown && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%02x", i ? " " : "",
				      data[i]);
	if (redact && len > shown && o < cap)
		snprintf(buf + o, cap - o, " [%zu bytes redacted]",
			 len - shown);
	else if (!len)
		snprintf(buf, cap, "(empty)");
}

void miband__periph_log_value(struct miband__periph *p, const char *what,
			      int ch, bool from_client, const uint8_t *data,
			      size_t len, const char *tail)
{
	char hex[160];

	if (!p->cfg.verbose)
		return;
	if (ch >= 0)
		miband__periph_format_value((enum miband_channel)ch,
					    from_client, data, len, hex,
					    sizeof(hex));
	else
		miband__periph_format_value(MIBAND_CH_COUNT, from_client, data,
					    len, hex, sizeof(hex));
	miband__periph_log(p, "%s %s %s%s", what, miband__chan_name(ch), hex,
			   tail ? tail : "");
}

/* ---- the engine pump ---- */

static void rearm(struct miband__periph *p)
{
	uint64_t d = miband_band_deadline_ms(&p->band);

	if (!p->timer)
		return;
	if (d == UINT64_MAX) {
		sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(p->timer, p->origin_usec + d * 1000ull);
	sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

int miband__periph_on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	struct miband__periph *p = ud;

	(void)s;
	(void)usec;
	miband_band_on_timeout(&p->band, miband__periph_now_ms(p));
	miband__periph_drain(p);
	return 0;
}

static struct periph_chr *chr_for_channel(struct miband__periph *p,
					  enum miband_channel ch)
{
	size_t i;

	for (i = 0; i < p->n_chrs; i++)
		if (p->chrs[i].attr->channel == (int)ch)
			return &p->chrs[i];
	return NULL;
}

static void notify(struct miband__periph *p, enum miband_channel ch,
		   const uint8_t *data, size_t len)
{
	struct periph_chr *c = chr_for_channel(p, ch);
	int r;

	if (!c) {
		miband__periph_log_value(p, "notify", (int)ch, false, data, len,
					 " (no such characteristic: dropped)");
		return;
	}
	if (len > sizeof(c->value))
		len = sizeof(c->value);
	memcpy(c->value, data, len);
	c->value_len = len;
	if (c->notify_fd >= 0) {
		if (send(c->notify_fd, data, len, MSG_NOSIGNAL) < 0) {
			miband__periph_log_value(
				p, "notify", (int)ch, false, data, len,
				" (notify fd failed: dropped)");
			return;
		}
		miband__periph_log_value(p, "notify", (int)ch, false, data, len,
					 " (fd)");
		return;
	}
	if (!c->notifying) {
		miband__periph_log_value(p, "notify", (int)ch, false, data, len,
					 " (not subscribed: dropped)");
		return;
	}
	r = sd_bus_emit_properties_changed(p->bus, c->path, IF_CHR, "Value",
					   NULL);
	if (r < 0)
		miband__periph_log(p, "warning: PropertiesChanged on %s: %s",
				   c->path, strerror(-r));
	miband__periph_log_value(p, "notify", (int)ch, false, data, len, NULL);
}

static void disconnect_device(struct miband__periph *p, int reason)
{
	int r;

	if (!p->conn[0] || !strcmp(p->conn, UNKNOWN_DEVICE)) {
		miband__periph_log(
			p,
			"band drops the link (reason %d): no device to"
			" disconnect",
			reason);
		return;
	}
	miband__periph_log(p, "band drops the link to %s (reason %d)",
			   miband__periph_dev_addr(p->conn), reason);
	r = sd_bus_call_method_async(p->bus, NULL, BLUEZ, p->conn, IF_DEVICE,
				     "Disconnect", NULL, NULL, "");
	if (r < 0)
		miband__periph_log(p, "warning: Device1.Disconnect: %s",
				   strerror(-r));
}

void miband__periph_drain(struct miband__periph *p)
{
	struct miband_band_action a;

	while (miband_band_next_action(&p->band, &a) !=
	       MIBAND_BAND_ACTION_DONE) {
		switch (a.type) {
		case MIBAND_BAND_ACTION_NOTIFY:
			notify(p, a.channel, a.data, a.len);
			break;
		case MIBAND_BAND_ACTION_DISCONNECT:
			disconnect_device(p, a.reason);
			break;
		case MIBAND_BAND_ACTION_EVENT:
			if (p->cfg.event)
				p->cfg.event(&a.event, p->cfg.user_data);
			break;
		default:
			break;
		}
	}
	rearm(p);
}

void miband__periph_kick(struct miband__periph *p)
{
	if (p)
		miband__periph_drain(p);
}

void miband__periph_device_connected(struct miband__periph *p, const char *path,
				     bool connected)
{
	if (connected) {
		if (!strcmp(p->conn, path))
			return;
		if (!strcmp(p->conn, UNKNOWN_DEVICE)) {
			/* the link the engine already serves: just name it */
			snprintf(p->conn, sizeof(p->conn), "%s", path);
			miband__periph_log(p, "connected: %s",
					   miband__periph_dev_addr(path));
			return;
		}
		if (p->conn[0]) {
			miband__periph_log(
				p,
				"%s connected while %s is: the band serves one"
				" central, switching",
				miband__periph_dev_addr(path),
				miband__periph_dev_addr(p->conn));
			miband_band_on_disconnect(&p->band,
						  miband__periph_now_ms(p));
			miband__periph_drain(p);
		}
		snprintf(p->conn, sizeof(p->conn), "%s", path);
		miband__periph_log(p, "connected: %s",
				   miband__periph_dev_addr(path));
		miband_band_on_connect(&p->band, miband__periph_now_ms(p));
		miband__periph_drain(p);
	} else if (!strcmp(p->conn, path)) {
		miband__periph_log(p, "disconnected: %s",
				   miband__periph_dev_addr(path));
		p->conn[0] = '\0';
		miband_band_on_disconnect(&p->band, miband__periph_now_ms(p));
		miband__periph_drain(p);
	}
}

/*
 * bluetoothd sends property signals from an idle handler but method calls
 * at once, so a central's first CCCD write (StartNotify, AcquireNotify:
 * no device named) can arrive before Device1.Connected.  The engine must
 * be connected to take it: connect it now and let the signal name the
 * device later.
 */
void miband__periph_implicit_connect(struct miband__periph *p)
{
	if (p->conn[0])
		return;
	snprintf(p->conn, sizeof(p->conn), UNKNOWN_DEVICE);
	miband__periph_log(p, "connected: a central (not signalled yet)");
	miband_band_on_connect(&p->band, miband__periph_now_ms(p));
	miband__periph_drain(p);
}

/* A read or write names the device: a missed Connected signal is caught
 * here (bluez does not always signal it, docs/TESTING.md). */
void miband__periph_seen_device(struct miband__periph *p, const char *path)
{
	if (path[0] && miband__path_under(path, p->adapter_path) &&
	    strcmp(p->conn, path) != 0)
		miband__periph_device_connected(p, path, true);
}
