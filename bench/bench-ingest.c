/*
 * History ingest benchmark (issue 5): how fast minutes of history go from
 * wire packets into the SQLite store, and how many packets a day of
 * history costs on air.
 *
 *   bench-ingest [--days N] [--dir DIR] [--batch N] [--runs N]
 *
 * Two measurements, each on a fresh database in DIR (default $TMPDIR or
 * /tmp; the durable commits fsync, so the filesystem matters):
 *
 *  1. decode + store: N days of the emulator's history (default 100 =
 *     144 000 samples) pre-built as MB3 data packets (counter + 4
 *     samples), then timed: every packet through
 *     miband_decode_fetch_packet() into the ingest as SAMPLES events,
 *     one durable commit per batch of --batch samples (default 1440, the
 *     emulator's fetch_batch_max).
 *  2. engine + store: the client engine fetches the same history from
 *     the band engine over the in-process link (auth first), every event
 *     into the store, the 03 ack after each commit.  Reports the packets
 *     and bytes on air per day of history (both directions; notifications
 *     and writes, ATT payloads) and the end-to-end rate.
 *
 * Prints one line per figure; the best of --runs (default 3) is kept.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "miband/miband.h"
#include "miband/store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *dir;
static char path[512];

static int fresh_store(struct miband_store **st, int64_t *band)
{
	char f[600];
	int r;

	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
	unlink(path);
	r = miband_store_open(path, 0, st);
	if (r < 0) {
		fprintf(stderr, "bench-ingest: %s: %s\n", path,
			miband_strerror(r));
		return r;
	}
	return miband_store_band(*st, "bench", MIBAND_MODEL_MB3, band);
}

#define SEED 20190601u
#define START_UNIX 1559390400 /* the band engine's default clock */

/* ---- 1. decode + store ---- */

static int bench_store(uint32_t days, uint32_t batch, double *ret_s)
{
	uint32_t total = days * 1440u, first = START_UNIX / 60 - total;
	uint32_t npkt = (total + 3) / 4, i, k, m;
	uint8_t *pkts = malloc((size_t)npkt * 17);
	uint8_t *len = malloc(npkt);
	struct miband_store_ingest in;
	struct miband_store *st;
	struct miband_event ev;
	int64_t band;
	double t0;
	int r;

	if (!pkts || !len)
		return MIBAND_E_IO;
	/* the wire: counter + up to 4 samples per packet, per batch */
	for (i = 0, m = 0; m < total; i++) {
		uint32_t in_batch = (m - 0) % batch;
		uint32_t n = total - m < 4 ? total - m : 4;
		uint8_t *p = pkts + (size_t)i * 17;

		if (batch - in_batch < n)
			n = batch - in_batch;
		p[0] = (uint8_t)i;
		for (k = 0; k < n; k++) {
			struct miband_sample s;

			miband_history_sample(SEED, first + m + k, &s);
			p[1 + 4 * k] = s.kind;
			p[2 + 4 * k] = s.intensity;
			p[3 + 4 * k] = s.steps;
			p[4 + 4 * k] = s.heart_rate;
		}
		len[i] = (uint8_t)(1 + 4 * n);
		m += n;
	}
	npkt = i;
	r = fresh_store(&st, &band);
	if (r < 0)
		goto out;
	miband_store_ingest_init(&in, st, band);
	t0 = now_s();
	for (i = 0, m = 0; i < npkt && r >= 0; i++) {
		const uint8_t *samples;
		uint8_t counter;
		int n;

		if (m % batch == 0) {
			memset(&ev, 0, sizeof(ev));
			ev.type = MIBAND_EV_FETCH_START;
			ev.u.fetch.count = batch;
			miband_time_from_unix((int64_t)(first + m) * 60, 0,
					      &ev.u.fetch.first);
			r = miband_store_ingest_event(&in, &ev, 0);
		}
		n = miband_decode_fetch_packet(pkts + (size_t)i * 17, len[i],
					       &counter, &samples);
		if (n < 0) {
			r = n;
			break;
		}
		memset(&ev, 0, sizeof(ev));
		ev.type = MIBAND_EV_SAMPLES;
		ev.u.samples.data = samples;
		ev.u.samples.count = (size_t)n;
		ev.u.samples.index = m % batch;
		r = miband_store_ingest_event(&in, &ev, 0);
		m += (uint32_t)n;
		if (r >= 0 && (m % batch == 0 || m == total)) {
			memset(&ev, 0, sizeof(ev));
			ev.type = MIBAND_EV_FETCH_BATCH;
			r = miband_store_ingest_event(&in, &ev, 0);
		}
	}
	*ret_s = now_s() - t0;
	if (r >= 0 && in.samples != total) {
		fprintf(stderr, "bench-ingest: stored %" PRIu64 " of %u\n",
			in.samples, total);
		r = MIBAND_E_INTERNAL;
	}
	miband_store_close(st);
out:
	free(pkts);
	free(len);
	return r < 0 ? r : 0;
}

/* ---- 2. engine + store over the link ---- */

struct air {
	uint64_t packets, bytes;
};

static void count_air(enum miband_link_dir d, int kind, enum miband_channel ch,
		      const uint8_t *data, size_t len, bool secret, uint64_t now,
		      void *ud)
{
	struct air *a = ud;

	(void)d;
	(void)secret;
	(void)kind;
	(void)ch;
	(void)data;
	(void)now;
	a->packets++;
	a->bytes += len;
}

static int wait_final(struct miband_link *l, struct miband_store_ingest *in,
		      struct miband_session *s)
{
	struct miband_link_output out;
	int r;

	for (;;) {
		r = miband_link_run(l, UINT64_MAX, &out);
		if (r < 0)
			return r;
		if (r == 0)
			return MIBAND_E_TIMEOUT;
		if (out.from_band)
			continue;
		if (in) {
			r = miband_store_ingest_event(in, &out.client, 0);
			if (r < 0)
				return r;
			if (r == MIBAND_STORE_ACK)
				miband_session_fetch_stored(s,
							    miband_link_now(l));
		}
		if (out.client.type == MIBAND_EV_DONE ||
		    out.client.type == MIBAND_EV_AUTH_OK)
			return 0;
		if (out.client.type == MIBAND_EV_ERROR)
			return out.client.error;
	}
}

static int bench_link(uint32_t days, uint32_t batch, double *ret_s,
		      struct air *ret_air, uint64_t *ret_samples)
{
	static const uint8_t key[16] = "0123456789@ABCDE";
	struct miband_session_config sc;
	struct miband_band_config bc;
	struct miband_link_config lc;
	struct miband_store_ingest in;
	struct miband_request req;
	struct miband_session s;
	struct miband_store *st;
	struct miband_band b;
	struct miband_link l;
	struct air air = {0, 0};
	uint64_t before;
	uint32_t since;
	int64_t band;
	double t0;
	int r;

	miband_band_config_init(&bc, MIBAND_MODEL_MB3);
	bc.crypto = &miband_crypto_openssl;
	bc.seed = SEED;
	bc.start_unix = START_UNIX;
	bc.history_days = days;
	bc.fetch_batch_max = batch;
	miband_band_init(&b, &bc, key, 0);
	miband_session_config_init(&sc, MIBAND_MODEL_MB3);
	sc.crypto = &miband_crypto_openssl;
	sc.fetch_ack = true;
	miband_session_init(&s, &sc, key);
	miband_link_config_init(&lc);
	lc.trace = count_air;
	lc.user_data = &air;
	miband_link_init(&l, &lc, &s, &b, 0);
	miband_session_start_auth(&s, MIBAND_AUTH_STORED, 0);
	r = wait_final(&l, NULL, &s);
	if (r < 0)
		return r;
	r = fresh_store(&st, &band);
	if (r < 0)
		return r;
	miband_store_ingest_init(&in, st, band);
	air.packets = air.bytes = 0;
	t0 = now_s();
	/* rounds as mibandctl sync runs them: each request from the minute
	 * after the last stored one, until a request brings nothing */
	since = START_UNIX / 60 - days * 1440u;
	do {
		before = in.samples;
		memset(&req, 0, sizeof(req));
		req.type = MIBAND_REQ_FETCH;
		miband_time_from_unix((int64_t)since * 60, bc.tz, &req.u.time);
		r = miband_session_request(&s, &req, miband_link_now(&l));
		if (r == 0)
			r = wait_final(&l, &in, &s);
		if (in.has_range)
			since = in.range_last + 1;
	} while (r == 0 && in.samples > before);
	*ret_s = now_s() - t0;
	*ret_air = air;
	*ret_samples = in.samples;
	miband_store_close(st);
	return r;
}

int main(int argc, char **argv)
{
	uint32_t days = 100, batch = 1440, runs = 3, i;
	double best = 1e30, best_link = 1e30, t;
	uint64_t samples = 0;
	struct air air = {0, 0};
	int a, r;

	dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--days") && a + 1 < argc)
			days = (uint32_t)strtoul(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--batch") && a + 1 < argc)
			batch = (uint32_t)strtoul(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--runs") && a + 1 < argc)
			runs = (uint32_t)strtoul(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--dir") && a + 1 < argc)
			dir = argv[++a];
		else {
			fprintf(stderr, "usage: bench-ingest [--days N] "
					"[--dir DIR] [--batch N] [--runs N]\n");
			return 2;
		}
	}
	if (!days || !batch || !runs || days > 10000) {
		fprintf(stderr, "bench-ingest: bad --days/--batch/--runs\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/bench-ingest-%ld.db", dir,
		 (long)getpid());
	printf("history: %u days = %u samples, batches of %u, db in %s, "
	       "best of %u\n",
	       days, days * 1440u, batch, dir, runs);
	for (i = 0; i < runs; i++) {
		r = bench_store(days, batch, &t);
		if (r < 0) {
			fprintf(stderr, "bench-ingest: store: %s (%s)\n",
				miband_strerror(r), miband_err_name(r));
			return 1;
		}
		if (t < best)
			best = t;
	}
	printf("decode+store: %.0f samples/s (%.3f s for %u samples, "
	       "%u durable commits)\n",
	       days * 1440.0 / best, best, days * 1440u,
	       (days * 1440u + batch - 1) / batch);
	for (i = 0; i < runs; i++) {
		r = bench_link(days, batch, &t, &air, &samples);
		if (r < 0) {
			fprintf(stderr, "bench-ingest: link: %s (%s)\n",
				miband_strerror(r), miband_err_name(r));
			return 1;
		}
		if (t < best_link)
			best_link = t;
	}
	printf("engine+store: %.0f samples/s (%.3f s for %" PRIu64
	       " samples over the in-process link)\n",
	       (double)samples / best_link, best_link, samples);
	printf("on air: %.1f packets/day, %.0f bytes/day of history "
	       "(%" PRIu64 " packets, %" PRIu64 " bytes for %u days)\n",
	       (double)air.packets / days, (double)air.bytes / days,
	       air.packets, air.bytes, days);
	{
		char f[600];

		unlink(path);
		snprintf(f, sizeof(f), "%s-wal", path);
		unlink(f);
		snprintf(f, sizeof(f), "%s-shm", path);
		unlink(f);
	}
	return 0;
}
