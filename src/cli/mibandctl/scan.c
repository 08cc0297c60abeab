/*
 * mibandctl scan: the emulated band first, then every band BlueZ
 * discovers within --timeout (one line per band, the first time it is
 * seen).
 */
#include <stdio.h>
#include <string.h>

#include "miband/bluez.h"
#include "mibandctl/mibandctl.h"

static void scan_found(struct miband_bluez *bz,
		       const struct miband_bluez_device_info *dev, bool first,
		       void *user_data)
{
	struct ctx *c = user_data;
	struct mb_json j;
	enum miband_model m = MIBAND_MODEL_MB3;
	bool has_model = dev->has_model;
	char name[128];

	(void)bz;
	if (!first)
		return;
	if (has_model)
		m = dev->model;
	else
		has_model = mb_name_model(dev->name, &m);
	mb_printable(name, sizeof(name), dev->name, strlen(dev->name));
	if (c->json) {
		mb_json_begin(&j, "band");
		mb_json_str(&j, "address", dev->address);
		mb_json_str(&j, "name", dev->name);
		if (dev->has_rssi)
			mb_json_int(&j, "rssi", dev->rssi);
		else
			mb_json_null(&j, "rssi");
		mb_json_str(&j, "model",
			    has_model ? miband_model_name(m) : NULL);
		mb_json_bool(&j, "paired", dev->paired);
		mb_json_bool(&j, "connected", dev->connected);
		mb_json_end(&j);
	} else {
		char rssi[16] = "-";

		if (dev->has_rssi)
			snprintf(rssi, sizeof(rssi), "%d", dev->rssi);
		mb_say("%-17s  %5s  %-5s  %s", dev->address, rssi,
		       has_model ? miband_model_name(m) : "?", name);
	}
}

static int scan_run(struct ctx *c, int argc, char **argv)
{
	struct miband_bluez_config cfg;
	struct miband_bluez *bz = NULL;
	struct mb_json j;
	enum miband_model m = c->has_model ? c->model : MIBAND_MODEL_MB3;
	int r;

	(void)argc;
	(void)argv;
	if (c->device && strcmp(c->device, "emu"))
		return mb_usage_error("scan lists every band; --device only "
				      "takes `emu` here (the emulated band "
				      "alone)");
	if (!c->json)
		mb_say("%-17s  %5s  %-5s  %s", "ADDRESS", "RSSI", "MODEL",
		       "NAME");
	if (c->json) {
		mb_json_begin(&j, "band");
		mb_json_str(&j, "address", "emu");
		mb_json_str(&j, "name", miband_model_display_name(m));
		mb_json_null(&j, "rssi");
		mb_json_str(&j, "model", miband_model_name(m));
		mb_json_bool(&j, "emulated", true);
		mb_json_end(&j);
	} else {
		char name[64];

		snprintf(name, sizeof(name), "%s (emulated, in-process)",
			 miband_model_display_name(m));
		mb_say("%-17s  %5s  %-5s  %s", "emu", "-", miband_model_name(m),
		       name);
	}
	if (c->device)
		return 0;
	miband_bluez_config_init(&cfg);
	cfg.adapter = c->adapter;
	r = miband_bluez_new(&cfg, &bz);
	if (r == 0)
		r = miband_bluez_scan_sync(bz, NULL,
					   c->has_timeout ? c->timeout_ms
							  : DEFAULT_SCAN_MS,
					   scan_found, c);
	if (r < 0 && bz && c->verbose && *miband_bluez_last_error(bz))
		mb_verbose("D-Bus: %s", miband_bluez_last_error(bz));
	miband_bluez_unref(bz);
	if (r < 0)
		mb_error_hint("`mibandctl --device emu ...` works without "
			      "Bluetooth");
	return r < 0 ? r : 0;
}

const struct command mb_cmd_scan = {
	.name = "scan",
	.args = "[--timeout S]",
	.doc = "List nearby bands: address, RSSI, model guess, name (the "
	       "emulated band first).",
	.run = scan_run,
};
