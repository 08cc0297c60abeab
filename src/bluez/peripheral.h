/*
 * The peripheral side of the BlueZ transport (internal to libmiband and its
 * programs; nothing here is public API): a band engine served to real BLE
 * centrals through bluetoothd.
 *
 *   - the engine's GATT table (miband_gatt_table) exported as a GattManager1
 *     application, with the real Mi Band 2 handles where the table has them;
 *   - an LE advertisement (LEAdvertisingManager1) that looks like a band;
 *   - reads, writes, CCCD changes, connects and disconnects fed into the
 *     engine, its actions (notifications, disconnects, events) performed,
 *     and its deadline kept by an sd-event timer.
 *
 * Runs on an sd-event loop the caller owns and starts no thread.  It never
 * waits for bluetoothd except in miband__periph_stop(); start makes one
 * round trip to the bus daemon (is bluetoothd there at all?).  See the
 * comment atop peripheral.c for how BlueZ is driven.
 */
#ifndef MIBAND_BLUEZ_PERIPHERAL_H
#define MIBAND_BLUEZ_PERIPHERAL_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "miband/band.h"

#ifdef __cplusplus
extern "C" {
#endif

struct miband__periph;

/* One line to show a person (no newline).  Verbose traffic lines come
 * here too, with key material already redacted. */
typedef void (*miband__periph_log_fn)(const char *line, void *user_data);
/* What the band shows or does (pairing prompt, alert, text...). */
typedef void (*miband__periph_event_fn)(const struct miband_band_event *ev,
					void *user_data);
/* Registration finished (err 0: GATT application and advertisement are
 * registered) or failed, or the transport broke later (bluetoothd went
 * away): a negative MIBAND_E_* code; miband__periph_error() says more. */
typedef void (*miband__periph_state_fn)(int err, void *user_data);

struct miband__periph_config {
	const char *adapter; /* "hci0"; NULL: the first powered adapter */
	struct miband_band_config band;
	const uint8_t *key; /* preset key (the band is paired), or NULL */
	bool verbose;	    /* log every read, write and notification */
	bool acquire;	    /* offer AcquireNotify fds for notifications */
	bool acquire_write; /* also AcquireWrite fds for write-without-
			     * response: bluez 5.66 sends the first write of
			     * each acquisition from a freed buffer */
	bool use_handles;   /* pin the table's handles (Mi Band 2) */
	bool set_alias;	    /* adapter Alias := the band's name while
			     * running (bluetoothd serves 0x2A00 from
			     * it); restored on stop */
	miband__periph_log_fn log;
	miband__periph_event_fn event;
	miband__periph_state_fn state;
	void *user_data;
};

/* Defaults: model's band config, use_handles and set_alias on. */
void miband__periph_config_init(struct miband__periph_config *cfg,
				enum miband_model model);

/*
 * Sets the engine up (key, policy, seed ...).  0, or MIBAND_E_INVAL,
 * MIBAND_E_UNSUPPORTED (no GATT table for the model), MIBAND_E_NOMEM or the
 * engine's error, with *ret untouched.
 */
int miband__periph_new(const struct miband__periph_config *cfg, sd_event *event,
		       struct miband__periph **ret);
/*
 * Connects to the system bus, checks that bluetoothd is on it, and starts
 * the rest without waiting: read bluetoothd's objects, pick the adapter,
 * take its alias, register the GATT application, then the advertisement.
 * cfg->state reports the outcome from the loop: 0, or NO_ADAPTER (none,
 * not powered, no GATT server or LE advertising), NO_BLUEZ, DBUS...
 * Returns 0, or MIBAND_E_NO_BLUEZ (bluetoothd is not on the bus) or
 * MIBAND_E_DBUS, with miband__periph_error() saying why.
 */
int miband__periph_start(struct miband__periph *p);
/* Unregisters the advertisement and the application, restores the alias
 * (blocking, a few D-Bus round trips).  Idempotent. */
void miband__periph_stop(struct miband__periph *p);
/* Stops if needed and frees; wipes the engine's key material. */
void miband__periph_free(struct miband__periph *p);

/* The last error in words ("" if none). */
const char *miband__periph_error(const struct miband__periph *p);
/* The adapter in use ("hci0") and its address. */
const char *miband__periph_adapter(const struct miband__periph *p);
const char *miband__periph_address(const struct miband__periph *p);
/* The engine, for embedders that tap or emit events. */
struct miband_band *miband__periph_band(struct miband__periph *p);
/* Call after using the engine directly (miband_band_tap ...): performs
 * its actions and re-arms the deadline timer. */
void miband__periph_kick(struct miband__periph *p);

/*
 * Verbose rendering of a value on a channel, key material redacted: the
 * payload of an auth set-key (01) and of an encrypted answer (03/83), and
 * a chunked (H0020) message of type 4 (Mi Fit's auth), become
 * "[16 bytes redacted]".  Writes at most cap bytes including the NUL.
 */
void miband__periph_format_value(enum miband_channel ch, bool from_client,
				 const uint8_t *data, size_t len, char *buf,
				 size_t cap);

#ifdef __cplusplus
}
#endif
#endif
