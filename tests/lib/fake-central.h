/*
 * A fake bluetoothd and a fake central for the peripheral's tests
 * (test-peripheral), on the system bus (normally the private one of
 * dbus-daemon.h).
 *
 * The fake org.bluez (struct gatt_fake) runs in a thread of its own (own
 * connection, own sd-event loop) because the peripheral's stop is a
 * blocking round trip: an adapter with GattManager1 and
 * LEAdvertisingManager1 that, like bluetoothd, reads the application back
 * with GetManagedObjects before it answers RegisterApplication, refuses
 * pinned handles that overlap its own GAP/GATT services, allocates the
 * others in the order it receives the objects and writes them back with
 * Properties.Set, reads the advertisement with GetAll, and signals a
 * central's Device1.Connected (gatt_fake_cmd).
 *
 * The test thread (struct world) runs the peripheral under test on its
 * own sd-event loop and plays the central's side of bluetoothd: it calls
 * ReadValue/WriteValue/StartNotify/Acquire* on the application
 * (app_call) and records its PropertiesChanged(Value) in notes.
 */
#ifndef MIBAND_TEST_FAKE_CENTRAL_H
#define MIBAND_TEST_FAKE_CENTRAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bluez/peripheral.h"
#include "miband/miband.h"

/* Object paths, interfaces and 128-bit UUIDs, as bluetoothd has them. */
#define HCI "/org/bluez/hci0"
#define DEV HCI "/dev_11_22_33_44_55_66"
#define APP "/org/libmiband/emu"
#define IF_CHR "org.bluez.GattCharacteristic1"
#define IF_PROPS "org.freedesktop.DBus.Properties"
#define HUAMI(x) "0000" x "-0000-3512-2118-0009af100700"
#define SIG16(x) "0000" x "-0000-1000-8000-00805f9b34fb"

/* The key the peripheral is configured with. */
extern const uint8_t world_key[16];
#define MAX_OBJS 80

struct robj { /* an object of the registered application */
	char path[96];
	int kind; /* 0 service, 1 characteristic, 2 descriptor */
	char uuid[40];
	uint16_t handle; /* as exported, then as allocated */
	bool has_handle;
	char flags[160];
	bool notify_acquired, write_acquired;
	int size;   /* handles a service takes (computed) */
	int parent; /* index of the service / characteristic */
};

struct gatt_fake {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	sd_event *ev;
	sd_bus *bus;
	int cmd_fd;
	bool ready;
	/* knobs */
	uint16_t own_end; /* bluetoothd's own services end here */
	/* what happened, in order */
	char log[1024];
	int registrations; /* RegisterApplication calls */
	int disconnects;   /* Device1.Disconnect calls */
	char app_owner[64];
	struct robj objs[MAX_OBJS];
	int n_objs;
	char adv_name[40];
	char adv_uuids[2][40];
	int n_adv_uuids;
	uint16_t mfr_id;
	uint8_t mfr[16];
	size_t mfr_len;
	char alias[64];
	/* commands from the test thread */
	int cmd;		 /* 1 connected, 2 disconnected, 3 leave */
	sd_bus_message *pending; /* RegisterApplication / Advertisement */
};

struct world {
	sd_event *ev;
	struct gatt_fake *fake;
	struct miband__periph *p;
	sd_bus *tester; /* plays the central side of bluetoothd */
	int state;	/* 1 ready, negative error */
	bool have_state;
	int events[32];
	int n_events;
	uint8_t notes[16][32]; /* PropertiesChanged(Value) seen */
	size_t note_len[16];
	char note_path[16][96];
	int n_notes;
};

/* Commands to the fake bluetoothd (gatt_fake_cmd); it runs them later, in
 * its own thread: 1 a central connects (Device1.Connected true), 2 it
 * disconnects, 3 bluetoothd leaves the bus, 4 stop. */
void gatt_fake_cmd(struct gatt_fake *f, int cmd);

/* Starts a fake bluetoothd whose own services end at own_end, then the
 * peripheral of model on it (acquire: offer AcquireNotify/AcquireWrite;
 * the band engine drops an unauthenticated link after unauth_drop_ms, 0
 * never), and waits until the peripheral is ready.  What a failed test
 * left running is stopped first.  Returns 0 or the peripheral's error. */
int world_start(struct world *w, enum miband_model model, uint16_t own_end,
		bool acquire, uint32_t unauth_drop_ms);

/* Stops the peripheral and the fake (world_cleanup: whatever runs). */
void world_finish(struct world *w);
void world_cleanup(void);

/* Runs the loop until cond(w, arg) or ms pass; false on timeout. */
bool world_pump(struct world *w, bool (*cond)(struct world *, void *),
		void *arg, unsigned ms);

/* A copy of what the fake recorded, taken under its lock (a failing CHECK
 * returns at once and must not leave the lock held). */
struct gatt_fake *world_snapshot(struct world *w);

/* The application's object of uuid and kind (0 service, 1
 * characteristic, 2 descriptor) in a snapshot; NULL if missing. */
struct robj *find_obj(struct gatt_fake *f, const char *uuid, int kind);

/* Value handle (or service handle) of an object, -1 if missing. */
int handle_of(struct gatt_fake *f, const char *uuid, int kind);

/* The object path of the characteristic uuid, NULL if missing. */
const char *chr_path(struct world *w, const char *uuid);

/* A method call on the application, as bluetoothd makes it. */
struct call {
	bool done;
	char error[128];
	uint8_t data[64];
	size_t len;
	int fd;
	uint16_t mtu;
};

/* method: ReadValue, WriteValue (data), StartNotify, AcquireNotify ... */
struct call app_call(struct world *w, const char *uuid, const char *method,
		     const uint8_t *data, size_t len);

/* A world_pump() condition: at least *(int *)arg notifications seen. */
bool notes_at_least(struct world *w, void *arg);

#endif
