/*
 * A fake bluetoothd for the central transport's tests (test-bluez): a
 * fake org.bluez in a thread of its own (its own sd-bus connection and
 * sd-event loop) on the system bus, normally the private one of
 * dbus-daemon.h.  It exports an adapter, a band's Device1 object and,
 * once "connected", a GATT tree built from the channel table, all through
 * an ObjectManager at "/" with the signals BlueZ sends
 * (InterfacesAdded/Removed, PropertiesChanged, including BlueZ's Value
 * echo after a ReadValue).  The GATT side is the real band engine
 * (src/emu) with fake_key, so a client session authenticates against it
 * through the transport for real.  Knobs (struct fake_cfg) make the fake
 * misbehave the ways bluetoothd does: Connect failing transiently,
 * missing Connected/ServicesResolved signals, a band that only shows up
 * during discovery or never, no auth characteristic, the peer dropping
 * the link (CMD_DROP), an acquired socket closing (CMD_HUP), bluetoothd
 * leaving the bus (CMD_LEAVE).
 */
#ifndef MIBAND_TEST_FAKE_BLUETOOTHD_H
#define MIBAND_TEST_FAKE_BLUETOOTHD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "miband/miband.h"

/* The band the fake serves, and its adapter. */
#define BAND_ADDR "C8:0F:10:12:34:56"
#define DEV_PATH "/org/bluez/hci0/dev_C8_0F_10_12_34_56"
#define HCI_PATH "/org/bluez/hci0"
#define IF_CHR "org.bluez.GattCharacteristic1"

/* The band's key (Gadgetbridge's default "0123456789@ABCDE"). */
extern const uint8_t fake_key[16];

struct fake_cfg {
	bool unpowered;	      /* the adapter is off */
	bool device_known;    /* the band is in the tree from the start */
	bool connected;	      /* ... and connected and resolved */
	bool never_appears;   /* discovery never finds it */
	int connect_failures; /* Connect fails this many times first */
	bool quiet;	      /* no Connected/ServicesResolved signals */
	bool omit_auth;	      /* no FEE1 auth characteristic */
	bool other_device;    /* a non-band LE device shows up too */
	bool late_objects;    /* ServicesResolved before InterfacesAdded */
	int appear_on_start;  /* seen only from the Nth StartDiscovery */
	bool slow_stop;	      /* StopDiscovery completes later and then
			       * ends any discovery (bluetoothd 5.66) */
	const char *name;     /* advertised name (default "Mi Band 3") */
};

struct fake;

struct fobj {
	struct fake *f;
	char path[160];
	sd_bus_slot *slot;
	const char *iface;
	/* Adapter1 / Device1 */
	char *address;
	char *name;
	char *adapter;
	int powered;
	int connected;
	int resolved;
	int paired;
	int16_t rssi;
	/* GattService1 / GattCharacteristic1 */
	char *uuid;
	char *parent;
	int primary;
	int ch;
	uint8_t props;
	uint8_t value[64];
	size_t vlen;
	int notifying;
	int nfd; /* acquired socket, our end */
};

enum fake_cmd { CMD_NONE, CMD_DROP, CMD_HUP, CMD_LEAVE, CMD_STOP };

struct fake {
	struct fake_cfg cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	int cmd_fd;
	enum fake_cmd cmd;
	sd_event *ev;
	sd_bus *bus;
	sd_event_source *band_timer;
	sd_bus_slot *om_slot;
	struct fobj adapter, device, other;
	struct fobj svcs[8];
	size_t n_svcs;
	struct fobj chrs[MIBAND_CH_COUNT];
	bool gatt_exported;
	bool device_exported;
	struct miband_band band;
	/* what the client did (read under lock) */
	int n_connect, n_start_discovery, n_stop_discovery, n_filter;
	int n_start_notify, n_acquire, n_write_cmd, n_write_req, n_read;
	int n_disconnect;
	int n_calls, n_managed_objects; /* every method call; the tree */
	int discovering;
	sd_bus_message *stop_msg;
	int filter_uuids;
	char filter_transport[8];
	int ready;
	pthread_cond_t cond;
};

/* Reads one of the counters of struct fake under its lock. */
int fake_get(struct fake *f, const int *counter);

/* Starts a fake (cfg NULL: all knobs off) and returns once it owns
 * org.bluez; a fake a failed test left running is stopped first. */
struct fake *fake_start(const struct fake_cfg *cfg);

/* Runs a command in the fake's thread and waits until it is done. */
void fake_cmd(struct fake *f, enum fake_cmd cmd);

/* Stops the fake's thread and frees it (NULL is fine). */
void fake_stop(struct fake *f);

#endif
