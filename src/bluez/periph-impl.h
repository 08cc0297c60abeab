/*
 * The peripheral's internals (not public; the interface to programs is
 * peripheral.h).  Who owns what:
 *
 *   peripheral.c    life cycle, adapter, alias, signals, registration
 *   periph-engine.c the band engine's pump: inputs in, actions out,
 *                   the connected central, the deadline timer, logs
 *   periph-gatt.c   GattCharacteristic1 / GattDescriptor1 methods and
 *                   properties, acquired sockets
 *   periph-app.c    the application's objects built from the GATT table,
 *                   handle pinning, our GetManagedObjects answer, the
 *                   advertisement
 */
#ifndef MIBAND_BLUEZ_PERIPH_IMPL_H
#define MIBAND_BLUEZ_PERIPH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bluez/bus.h"
#include "bluez/objects.h"
#include "bluez/peripheral.h"
#include "miband/codec.h"
#include "miband/types.h"

#define APP_PATH "/org/libmiband/emu"
#define ADV_PATH APP_PATH "/advertisement0"
#define HUAMI_COMPANY_ID 0x0157
#define UUID_CUD 0x2901
#define CALL_USEC (10 * 1000000ull)
/* a central we know is there but not yet which (see implicit_connect) */
#define UNKNOWN_DEVICE "?"

struct periph_desc;

struct periph_svc {
	struct miband__periph *p;
	const struct miband_gatt_service *svc;
	char path[48];
	char uuid[37];
	uint16_t handle; /* exported; BlueZ's choice when it was 0 */
	bool pinned;	 /* exported with the table's handles */
	sd_bus_slot *slot;
};

struct periph_chr {
	struct miband__periph *p;
	const struct miband_gatt_attr *attr;
	struct periph_svc *svc;
	char path[64];
	char uuid[37];
	uint16_t handle; /* value handle */
	bool notifying;	 /* StartNotify seen */
	int notify_fd, write_fd;
	sd_event_source *notify_src, *write_src;
	uint16_t mtu;
	uint8_t value[MIBAND_BAND_VALUE_MAX];
	size_t value_len;
	struct periph_desc *cud; /* User Description, or NULL */
	sd_bus_slot *slot;
};

struct periph_desc {
	struct miband__periph *p;
	struct periph_chr *chr;
	char path[80];
	char uuid[37];
	uint16_t handle;
	sd_bus_slot *slot;
};

struct miband__periph {
	struct miband__periph_config cfg;
	sd_event *event;
	sd_bus *bus;
	sd_event_source *timer;
	sd_bus_slot *root_slot, *adv_slot, *match_props, *match_added;
	sd_bus_slot *match_owner, *match_removed, *pending;
	struct miband__objs objs; /* bluetoothd's tree, for the adapter and
				   * the devices' Connected */
	struct miband_band band;
	const struct miband_gatt_table *table;
	uint64_t origin_usec;
	char adapter[16];
	char adapter_path[32];
	char address[18];
	char old_alias[249];
	bool alias_set;
	bool app_registered, adv_registered, stopped;
	enum pin_mode {
		PIN_ALL,     /* every handle of the table */
		PIN_PROBE,   /* none, to learn where bluetoothd's own end */
		PIN_PARTIAL, /* the services above bluetoothd's own */
		PIN_NONE,    /* none */
	} pin_mode;
	bool pinned;	/* some handle is pinned */
	char conn[128]; /* path of the connected device, "" if none */
	char error[256];
	uint8_t mfr[8]; /* manufacturer data payload */
	size_t mfr_len;
	struct periph_svc *svcs;
	size_t n_svcs;
	struct periph_chr *chrs;
	size_t n_chrs;
	struct periph_desc *descs;
	size_t n_descs;
};

#define GETTER(fn)                                                       \
	static int fn(sd_bus *bus, const char *path, const char *iface,  \
		      const char *prop, sd_bus_message *reply, void *ud, \
		      sd_bus_error *e)
#define UNUSED_GETTER_ARGS   \
	do {                 \
		(void)bus;   \
		(void)path;  \
		(void)iface; \
		(void)prop;  \
		(void)e;     \
	} while (0)

/* periph-engine.c */
uint64_t miband__periph_now_ms(const struct miband__periph *p);
void miband__periph_log(struct miband__periph *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void miband__periph_errorf(struct miband__periph *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "11:22:33:44:55:66" of a device path */
const char *miband__periph_dev_addr(const char *path);
/* A verbose traffic line (only with cfg.verbose). */
void miband__periph_log_value(struct miband__periph *p, const char *what,
			      int ch, bool from_client, const uint8_t *data,
			      size_t len, const char *tail);
/* Performs the engine's actions and re-arms the deadline timer. */
void miband__periph_drain(struct miband__periph *p);
int miband__periph_on_timer(sd_event_source *s, uint64_t usec, void *ud);
void miband__periph_device_connected(struct miband__periph *p, const char *path,
				     bool connected);
void miband__periph_implicit_connect(struct miband__periph *p);
void miband__periph_seen_device(struct miband__periph *p, const char *path);

/* periph-gatt.c */
extern const sd_bus_vtable miband__periph_svc_vtable[];
extern const sd_bus_vtable miband__periph_chr_vtable[];
extern const sd_bus_vtable miband__periph_desc_vtable[];

/* periph-app.c */
extern const sd_bus_vtable miband__periph_adv_vtable[];
void miband__periph_apply_pins(struct miband__periph *p, uint32_t first_free);
int miband__periph_build_objects(struct miband__periph *p);

#endif
