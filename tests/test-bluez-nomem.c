/*
 * Out of memory in the BlueZ transport: an allocation that fails is
 * MIBAND_E_NOMEM (not I/O, not "internal"), and nothing leaks.  The test
 * links with -Wl,--wrap=calloc,--wrap=strdup, so every calloc and strdup
 * of libmiband's objects goes through the wrappers below, which fail the
 * call numbered fail_at (1 = the first) and pass the others on.  Calls
 * inside libsystemd are not wrapped.
 */
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "runner.h"
#include "bluez/peripheral.h"
#include "miband/bluez.h"
#include "miband/miband.h"

void *__real_calloc(size_t n, size_t size);
char *__real_strdup(const char *s);
void *__wrap_calloc(size_t n, size_t size);
char *__wrap_strdup(const char *s);

static int calls, fail_at;

static bool fail_now(void)
{
	return fail_at && ++calls == fail_at;
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

static void fail_call(int n)
{
	calls = 0;
	fail_at = n;
}

TEST(central_new_without_memory_is_nomem)
{
	struct miband_bluez_config cfg;
	struct miband_bluez *bz = NULL;

	miband_bluez_config_init(&cfg);
	cfg.adapter = "hci0";
	fail_call(1); /* the transport object */
	CHECK_EQ(miband_bluez_new(&cfg, &bz), MIBAND_E_NOMEM);
	CHECK(bz == NULL);
	fail_call(2); /* the adapter's name */
	CHECK_EQ(miband_bluez_new(&cfg, &bz), MIBAND_E_NOMEM);
	CHECK(bz == NULL);
	fail_call(0);
}

TEST(peripheral_new_without_memory_is_nomem)
{
	struct miband__periph_config cfg;
	struct miband__periph *p = NULL;
	sd_event *e = NULL;

	CHECK_EQ(sd_event_new(&e), 0);
	miband__periph_config_init(&cfg, MIBAND_MODEL_MB3);
	fail_call(1); /* the peripheral object */
	CHECK_EQ(miband__periph_new(&cfg, e, &p), MIBAND_E_NOMEM);
	CHECK(p == NULL);
	fail_call(0);
	sd_event_unref(e);
}

TEST_MAIN(T(central_new_without_memory_is_nomem),
	  T(peripheral_new_without_memory_is_nomem))
