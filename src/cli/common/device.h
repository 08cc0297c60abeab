/*
 * How the programs reach a band: one interface over the in-process
 * emulated band (`emu`) and a real band over BlueZ (`AA:BB:CC:DD:EE:FF`).
 *
 * A device owns the link; the caller owns the session.  mb_device_run()
 * is the blocking pump the CLI uses: it performs the session's actions on
 * the link (subscribe, write, read, disconnect), feeds completions,
 * notifications, deadlines and disconnects back into the session, and
 * returns as soon as the session reports an event, or when deadline_ms
 * (on the device's clock, mb_device_now()) passes.  Non-blocking users
 * drive the transports directly (include/miband/bluez.h, link.h).
 */
#ifndef MB_DEVICE_H
#define MB_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "miband/miband.h"

struct mb_device;

struct mb_device_opts {
	const char *adapter;        /* "hci0"; NULL: first powered */
	enum miband_model model;    /* expected model (for emu: emulated) */
	uint32_t connect_timeout_ms;/* scan + connect + services resolved */
	bool verbose;               /* log each GATT op to stderr (redacted) */
	const char *state_dir;      /* emu: where the band keeps its state */
	const char *trace_path;     /* btsnoop trace, or NULL */
	bool trace_secrets;         /* don't redact key material in traces */
	/* emu only (fields added for mibandctl; zero = the defaults) */
	enum miband_pairing_policy emu_pairing; /* the emulated wearer */
	bool realtime;              /* pace virtual time to real time
				     * (--follow), else as fast as possible */
};

/* Opens "emu", a BD address, or "unix:PATH".  0 or a MIBAND_E_* code;
 * on failure *ret is untouched and a message may have been printed with
 * --verbose only. */
int mb_device_open(const char *spec, const struct mb_device_opts *opts,
		   struct mb_device **ret);
/* Pumps until an event (returns 1, *ret_ev filled), the deadline (0), or
 * a link failure (negative MIBAND_E_*; the session has seen
 * on_disconnect). */
int mb_device_run(struct mb_device *d, struct miband_session *s,
		  uint64_t deadline_ms, struct miband_event *ret_ev);
/* Milliseconds on the device's clock (virtual for emu, monotonic for
 * BlueZ). */
uint64_t mb_device_now(struct mb_device *d);
/* Model reported/assumed for the device. */
enum miband_model mb_device_model(struct mb_device *d);
/* The host's wall clock (unix s) as the band's peer sees it: time(NULL),
 * or the emulated host clock (MIBANDCTL_EMU_CLOCK) of --device emu. */
int64_t mb_device_host_time(struct mb_device *d);
/* Disconnects and frees; saves emu band state. */
void mb_device_close(struct mb_device *d);

/* Per-transport constructors used by mb_device_open. */
int mb_device_open_emu(const struct mb_device_opts *opts,
		       struct mb_device **ret);
int mb_device_open_bluez(const char *address,
			 const struct mb_device_opts *opts,
			 struct mb_device **ret);

/* The common device object: transports embed it first. */
struct mb_device_ops {
	int (*run)(struct mb_device *d, struct miband_session *s,
		   uint64_t deadline_ms, struct miband_event *ret_ev);
	uint64_t (*now)(struct mb_device *d);
	void (*close)(struct mb_device *d);
	int64_t (*host_time)(struct mb_device *d); /* NULL: time(NULL) */
};
struct mb_device {
	const struct mb_device_ops *ops;
	enum miband_model model;
};

#endif
