/*
 * mb_device_open(): which transport a --device string means, and the thin
 * dispatch to the transport's ops (interface in device.h).
 *
 *   "emu"               the in-process emulated band (dev-emu.c)
 *   "AA:BB:CC:DD:EE:FF" a band over BlueZ (dev-bluez.c); the address is
 *                       checked strictly: six hex pairs and colons
 *   "unix:PATH"         a miband-emu over a local socket: not yet
 *   anything else       an alias from the key store, whose file names
 *                       the address; else MIBAND_E_BAD_ADDRESS
 *
 * The programs that use this file are built only with the BlueZ
 * transport (CMakeLists.txt), so dev-bluez.c is always there.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/device.h"
#include "common/keys.h"
#include "common/output.h"

int mb_device_open(const char *spec, const struct mb_device_opts *opts,
		   struct mb_device **ret)
{
	struct mb_key_entry e;
	char addr[MB_ADDRESS_LEN];
	int r;

	if (!spec || !opts || !ret)
		return MIBAND_E_INVAL;
	if (!strcmp(spec, "emu"))
		return mb_device_open_emu(opts, ret);
	if (!strncmp(spec, "unix:", 5)) {
		mb_error_detail("--device unix:PATH (a miband-emu over a local "
				"socket) is not supported yet; use --device "
				"emu");
		return MIBAND_E_UNSUPPORTED;
	}
	if (mb_address_parse(spec, addr) == 0)
		goto bluez;

	/* An alias?  Only names that could be a key file, and only if it
	 * exists: otherwise the user most likely mistyped an address. */
	r = mb_keys_load(spec, &e);
	if (r == 0) {
		if (!strcmp(e.address, "emu")) {
			mb_key_entry_wipe(&e);
			return mb_device_open_emu(opts, ret);
		}
		if (mb_address_parse(e.address, addr) < 0) {
			mb_key_entry_wipe(&e);
			mb_error_detail("the key store entry '%s' names no band "
					"address: import it again with "
					"`mibandctl keys import --device "
					"ADDRESS --alias %s`",
					spec, spec);
			return MIBAND_E_BAD_ADDRESS;
		}
		mb_key_entry_wipe(&e);
		goto bluez;
	}
	if (r != MIBAND_E_NO_KEY)
		return r; /* unsafe permissions and the like: say so */
	mb_error_detail("'%s' is neither a Bluetooth address nor a known "
			"alias: %s; or `emu` for the emulated band, or an alias "
			"from `mibandctl keys list`",
			spec, miband_strerror(MIBAND_E_BAD_ADDRESS));
	return MIBAND_E_BAD_ADDRESS;

bluez:
	return mb_device_open_bluez(addr, opts, ret);
}

int mb_device_run(struct mb_device *d, struct miband_session *s,
		  uint64_t deadline_ms, struct miband_event *ret_ev)
{
	return d->ops->run(d, s, deadline_ms, ret_ev);
}

uint64_t mb_device_now(struct mb_device *d)
{
	return d->ops->now(d);
}

int64_t mb_device_host_time(struct mb_device *d)
{
	return d->ops->host_time ? d->ops->host_time(d) : (int64_t)time(NULL);
}

enum miband_model mb_device_model(struct mb_device *d)
{
	return d->model;
}

void mb_device_close(struct mb_device *d)
{
	if (d)
		d->ops->close(d);
}
