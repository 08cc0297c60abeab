/*
 * What both sides of the BlueZ transport share (internal): BlueZ's D-Bus
 * names, the one map from D-Bus errors to MIBAND_E_* codes, the dict
 * walker, and small helpers.  The central (the modules of central.h) and
 * the peripheral (those of periph-impl.h) include it; nothing outside
 * src/bluez does.
 */
#ifndef MIBAND_BLUEZ_BUS_H
#define MIBAND_BLUEZ_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "miband/types.h"

#define BLUEZ "org.bluez"
#define IF_ADAPTER "org.bluez.Adapter1"
#define IF_DEVICE "org.bluez.Device1"
#define IF_SERVICE "org.bluez.GattService1"
#define IF_CHR "org.bluez.GattCharacteristic1"
#define IF_DESC "org.bluez.GattDescriptor1"
#define IF_GATT_MGR "org.bluez.GattManager1"
#define IF_ADV_MGR "org.bluez.LEAdvertisingManager1"
#define IF_ADV "org.bluez.LEAdvertisement1"
#define IF_PROPS "org.freedesktop.DBus.Properties"
#define IF_OM "org.freedesktop.DBus.ObjectManager"
#define ERR_PREFIX "org.bluez.Error."

#define UUID_FEE0 "0000fee0-0000-1000-8000-00805f9b34fb"
#define UUID_FEE1 "0000fee1-0000-1000-8000-00805f9b34fb"

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull
#define NEVER UINT64_MAX

/* CLOCK_MONOTONIC in microseconds. */
uint64_t miband__now_usec(void);
/* Copies src into dst[cap], cut to fit, always terminated. */
void miband__copy_str(char *dst, size_t cap, const char *src);
/* The channel's short name for logs ("auth"), "?" if unknown, "-" for a
 * characteristic of no channel (< 0). */
const char *miband__chan_name(int ch);
/* True if e is set and named name. */
bool miband__error_is(const sd_bus_error *e, const char *name);
/* miband_bluez_map_error() of e's name and message. */
int miband__bus_error(const sd_bus_error *e, int fallback);

/* Called for each entry of a dict with m at the entry's value, which it
 * must consume; a negative result stops the walk. */
typedef int (*miband__bus_entry_fn)(sd_bus_message *m, const char *key,
				    void *ud);
/* Walks a dict a{s...} whose entry signature is entry ("sv", "sa{sv}").
 * Returns >= 0, or the first negative result (sd-bus's or fn's). */
int miband__bus_read_dict(sd_bus_message *m, const char *entry,
			  miband__bus_entry_fn fn, void *ud);

#endif
