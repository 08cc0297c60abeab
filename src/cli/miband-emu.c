/*
 * miband-emu: an emulated Mi Band served over real Bluetooth.  The band
 * engine (src/emu) behind a BlueZ GATT application and LE advertisement
 * (src/bluez/peripheral.c): any BLE central - a phone app, bleak,
 * mibandctl on another adapter - can scan for it, connect, pair or
 * authenticate, and use it like a band.
 *
 * One sd-event loop: the bus, the engine's deadline timer and SIGINT/
 * SIGTERM, which unregister everything and end the program with status 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "bluez/peripheral.h"
#include "common/args.h"
#include "common/keys.h"
#include "miband/miband.h"

#define PROG "miband-emu"

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1, /* BlueZ, D-Bus, adapter or registration failure */
	EXIT_USAGE = 2,	  /* bad option or value */
};

static const char usage_text[] =
	"Usage: " PROG " [OPTION]...\n"
	"An emulated Mi Band as a real Bluetooth LE peripheral: registers the\n"
	"band's GATT services with bluetoothd and advertises like a band "
	"until\n"
	"SIGINT or SIGTERM.\n"
	"\n"
	"Options:\n"
	"  -a, --adapter hciN      adapter to serve on (default: the first\n"
	"                          powered one)\n"
	"  -m, --model MODEL       mb2, mb3 or mb4 (default mb3); mb2 also\n"
	"                          uses the real Mi Band 2 attribute handles\n"
	"                          where bluetoothd allows it\n"
	"  -p, --profile MODEL     the old name of --model (deprecated)\n"
	"  -k, --key HEX           the band is paired with this key: 32 hex\n"
	"                          digits, optionally 0x-prefixed, with\n"
	"                          spaces or colons (default: unpaired)\n"
	"      --pairing POLICY    what the wearer does when a client pairs:\n"
	"                          accept (taps after 1.5 s, the default),\n"
	"                          decline (10 01 02), never (the prompt\n"
	"                          times out)\n"
	"  -s, --seed N            seed of the band's history, heart rate and\n"
	"                          serial number (default 1)\n"
	"      --history-days N    days of history the band holds before it\n"
	"                          starts, 0 to 3650 (default 100); with\n"
	"                          --verbose the first minute is logged\n"
	"      --acquire           offer AcquireNotify, so bluetoothd takes\n"
	"                          notifications through a socket instead\n"
	"                          of PropertiesChanged signals\n"
	"      --acquire-write     also offer AcquireWrite for writes\n"
	"                          without response (bluez 5.66 garbles the\n"
	"                          first write of each socket it acquires)\n"
	"      --no-alias          keep the adapter's name (by default it is\n"
	"                          the band's name while running: bluetoothd\n"
	"                          serves the Device Name from it)\n"
	"      --auto-handles      let bluetoothd choose every handle\n"
	"  -v, --verbose           log every read, write and notification on\n"
	"                          stderr (key material redacted)\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n"
	"\n"
	"It needs bluetoothd on the system bus (tested with bluez 5.66) and\n"
	"runs as an ordinary user under the usual D-Bus policy.  Start\n"
	"bluetoothd with DeviceID = false in main.conf, or it adds a Device\n"
	"Information service of its own next to the band's.\n"
	"\n"
	"Messages go to stderr; \"" PROG ": ready: ...\" says it advertises.\n"
	"\n"
	"Exit status:\n"
	"  0  stopped by SIGINT or SIGTERM (everything unregistered)\n"
	"  1  bluetoothd, the D-Bus or the adapter failed\n"
	"  2  bad usage (unknown option, bad key, model or policy)\n";

struct emu {
	sd_event *event;
	struct miband__periph *periph;
	bool verbose;
	int status;
};

static void say(const char *line, void *user_data)
{
	(void)user_data;
	fprintf(stderr, PROG ": %s\n", line);
}

static void on_event(const struct miband_band_event *ev, void *user_data)
{
	char text[96];
	size_t n;

	(void)user_data;
	switch (ev->type) {
	case MIBAND_BAND_EV_PAIR_PROMPT:
		fprintf(stderr, PROG ": band: vibrates, \"tap to pair\"\n");
		return;
	case MIBAND_BAND_EV_ALERT:
		fprintf(stderr, PROG ": band: alert level %u\n", ev->u.level);
		return;
	case MIBAND_BAND_EV_CALL:
	case MIBAND_BAND_EV_TEXT:
	case MIBAND_BAND_EV_CONFIG:
	case MIBAND_BAND_EV_USER:
		n = ev->u.text.len < sizeof(text) - 1 ? ev->u.text.len
						      : sizeof(text) - 1;
		if (ev->type == MIBAND_BAND_EV_CALL ||
		    ev->type == MIBAND_BAND_EV_TEXT) {
			size_t i;

			for (i = 0; i < n; i++) {
				uint8_t c = ev->u.text.data[i];

				text[i] = (c >= 0x20 && c != 0x7f) ? (char)c
								   : '.';
			}
			text[n] = '\0';
			fprintf(stderr, PROG ": band: %s \"%s\"\n",
				miband_band_event_name(ev->type), text);
		} else {
			fprintf(stderr, PROG ": band: %s (%zu bytes)\n",
				miband_band_event_name(ev->type),
				ev->u.text.len);
		}
		return;
	case MIBAND_BAND_EV_TIME_SET:
		fprintf(stderr,
			PROG
			": band: time set to %04u-%02u-%02u %02u:%02u:%02u\n",
			ev->u.time.year, ev->u.time.month, ev->u.time.day,
			ev->u.time.hour, ev->u.time.minute, ev->u.time.second);
		return;
	default:
		fprintf(stderr, PROG ": band: %s\n",
			miband_band_event_name(ev->type));
	}
}

static void on_state(int err, void *user_data)
{
	struct emu *e = user_data;
	struct miband_band *b = miband__periph_band(e->periph);
	uint8_t k[16];
	bool paired;

	if (err) {
		fprintf(stderr, PROG ": error: %s\n",
			miband__periph_error(e->periph));
		e->status = EXIT_RUNTIME;
		sd_event_exit(e->event, EXIT_RUNTIME);
		return;
	}
	paired = miband_band_get_key(b, k) == 0;
	miband_wipe(k, sizeof(k));
	fprintf(stderr, PROG ": ready: advertising \"%s\" (%s) on %s %s, %s\n",
		miband_gatt_table(b->cfg.model)->device_name,
		miband_model_name(b->cfg.model),
		miband__periph_adapter(e->periph),
		miband__periph_address(e->periph),
		paired ? "paired (preset key)" : "unpaired");
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *user_data)
{
	struct emu *e = user_data;

	(void)s;
	fprintf(stderr, PROG ": %s: unregistering\n",
		strsignal((int)si->ssi_signo));
	miband__periph_stop(e->periph);
	fprintf(stderr, PROG ": unregistered\n");
	e->status = EXIT_OK;
	sd_event_exit(e->event, EXIT_OK);
	return 0;
}

/* "miband-emu: unknown model 'mb9': use ..."; arg NULL: not shown */
static int usage_error(const char *what, const char *arg, const char *hint)
{
	fprintf(stderr, PROG ": %s%s%s%s%s%s\nTry '" PROG " --help'.\n", what,
		arg ? " '" : "", arg ? arg : "", arg ? "'" : "",
		hint ? ": " : "", hint ? hint : "");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	enum {
		OPT_PAIRING = 256,
		OPT_ACQUIRE,
		OPT_ACQUIRE_WRITE,
		OPT_NO_ALIAS,
		OPT_AUTO,
		OPT_HISTORY_DAYS
	};
	static const struct option opts[] = {
		{"adapter", required_argument, NULL, 'a'},
		{"model", required_argument, NULL, 'm'},
		/* deprecated: mibandctl and miband-demo say --model */
		{"profile", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"pairing", required_argument, NULL, OPT_PAIRING},
		{"seed", required_argument, NULL, 's'},
		{"history-days", required_argument, NULL, OPT_HISTORY_DAYS},
		{"acquire", no_argument, NULL, OPT_ACQUIRE},
		{"acquire-write", no_argument, NULL, OPT_ACQUIRE_WRITE},
		{"no-alias", no_argument, NULL, OPT_NO_ALIAS},
		{"auto-handles", no_argument, NULL, OPT_AUTO},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct miband__periph_config cfg;
	struct emu e = {.status = EXIT_OK};
	enum miband_model model = MIBAND_MODEL_MB3;
	enum miband_pairing_policy pairing = MIBAND_PAIRING_ACCEPT;
	const char *adapter = NULL;
	uint8_t key[16];
	bool have_key = false, verbose = false, acquire = false;
	bool acquire_write = false;
	bool alias = true, handles = true;
	unsigned long seed = 1, history_days = 100;
	struct tm tm;
	time_t t;
	sigset_t ss;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "a:m:p:k:s:vhV", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'a':
			adapter = optarg;
			break;
		case 'm':
		case 'p':
			if (miband_model_parse(optarg, &model) < 0 ||
			    model > MIBAND_MODEL_MB4)
				return usage_error("unknown model", optarg,
						   "use mb2, mb3 or mb4");
			break;
		case 'k':
			if (mb_key_parse(optarg, key) < 0)
				return usage_error(
					/* never echo what may be a secret */
					"bad key", NULL,
					"a key is 32 hexadecimal digits (16"
					" bytes), optionally with a 0x prefix,"
					" spaces or colons, e.g."
					" 0x30313233343536373839404142434445");
			have_key = true;
			break;
		case OPT_PAIRING:
			if (mb_pairing_policy_parse(optarg, &pairing) < 0)
				return usage_error("unknown pairing policy",
						   optarg,
						   "use accept, decline or"
						   " never");
			break;
		case 's':
			errno = 0;
			seed = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end ||
			    seed > UINT32_MAX || optarg[0] == '-')
				return usage_error("bad seed", optarg,
						   "a number from 0 to"
						   " 4294967295");
			break;
		case OPT_HISTORY_DAYS:
			errno = 0;
			history_days = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    history_days > 3650 || optarg[0] == '-')
				return usage_error("bad number of history days",
						   optarg,
						   "a number from 0 to 3650");
			break;
		case OPT_ACQUIRE:
			acquire = true;
			break;
		case OPT_ACQUIRE_WRITE:
			acquire = acquire_write = true;
			break;
		case OPT_NO_ALIAS:
			alias = false;
			break;
		case OPT_AUTO:
			handles = false;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf(PROG " (libmiband) %s\n", miband_version());
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind], NULL);

	miband__periph_config_init(&cfg, model);
	cfg.adapter = adapter;
	cfg.band.crypto = &miband_crypto_openssl;
	cfg.band.crypto_ctx = NULL;
	cfg.band.pairing = pairing;
	cfg.band.seed = (uint32_t)seed;
	cfg.band.history_days = (uint32_t)history_days;
	/* the band's clock starts at the wall clock, in local time */
	t = time(NULL);
	cfg.band.start_unix = (int64_t)t;
	if (localtime_r(&t, &tm))
		cfg.band.tz = (int8_t)(tm.tm_gmtoff / 900);
	if (verbose) {
		/* what a test needs to recompute the history it must get */
		long long first =
			(long long)(t / 60) - (long long)history_days * 1440;
		time_t ft = (time_t)(first < 0 ? 0 : first) * 60;
		char iso[32] = "";
		struct tm ftm;

		if (gmtime_r(&ft, &ftm))
			strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%MZ", &ftm);
		fprintf(stderr,
			PROG ": history: seed %lu, %lu days, first minute "
			     "%lld (%s)\n",
			seed, history_days, first < 0 ? 0 : first, iso);
	}
	cfg.key = have_key ? key : NULL;
	cfg.verbose = verbose;
	cfg.acquire = acquire;
	cfg.acquire_write = acquire_write;
	cfg.use_handles = handles;
	cfg.set_alias = alias;
	cfg.log = say;
	cfg.event = on_event;
	cfg.state = on_state;
	cfg.user_data = &e;
	e.verbose = verbose;

	r = sd_event_default(&e.event);
	if (r < 0) {
		fprintf(stderr, PROG ": error: sd-event: %s\n", strerror(-r));
		return EXIT_RUNTIME;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if (sd_event_add_signal(e.event, NULL, SIGINT, on_signal, &e) < 0 ||
	    sd_event_add_signal(e.event, NULL, SIGTERM, on_signal, &e) < 0) {
		fprintf(stderr, PROG ": error: cannot watch signals\n");
		sd_event_unref(e.event);
		return EXIT_RUNTIME;
	}
	r = miband__periph_new(&cfg, e.event, &e.periph);
	miband_wipe(key, sizeof(key));
	miband_wipe(&cfg, sizeof(cfg));
	if (r < 0) {
		fprintf(stderr, PROG ": error: %s\n", miband_strerror(r));
		sd_event_unref(e.event);
		return EXIT_RUNTIME;
	}
	r = miband__periph_start(e.periph);
	if (r < 0) {
		fprintf(stderr, PROG ": error: %s (%s)\n",
			miband__periph_error(e.periph), miband_strerror(r));
		miband__periph_free(e.periph);
		sd_event_unref(e.event);
		return EXIT_RUNTIME;
	}
	r = sd_event_loop(e.event);
	if (r < 0 && e.status == EXIT_OK) {
		fprintf(stderr, PROG ": error: event loop: %s\n", strerror(-r));
		e.status = EXIT_RUNTIME;
	}
	miband__periph_free(e.periph);
	sd_event_unref(e.event);
	return e.status;
}
