/*
 * Every decoder of include/miband/codec.h on arbitrary bytes; where a
 * decode succeeds, the value re-encodes and decodes to the same value.
 */
#include <string.h>

#include "fuzz.h"
#include "miband/codec.h"
#include "miband/error.h"

static void time_eq(const struct miband_time *a, const struct miband_time *b)
{
	FUZZ_ASSERT(a->year == b->year && a->month == b->month &&
		    a->day == b->day && a->hour == b->hour &&
		    a->minute == b->minute && a->second == b->second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[64];
	struct miband_auth_reply ar;
	struct miband_time t, t2;
	struct miband_battery bat, bat2;
	struct miband_steps st, st2;
	struct miband_device_event de;
	struct miband_fetch_reply fr;
	uint8_t bpm, cmd, status;
	int n;

	if (miband_decode_auth_reply(data, size, &ar) == 0) {
		FUZZ_ASSERT(size >= 3 && data[0] == MIBAND_AUTH_RESPONSE);
		FUZZ_ASSERT(ar.payload_len == size - 3);
	}
	if (miband_decode_time(data, size, &t) == 0) {
		n = miband_encode_time(buf, sizeof(buf), &t);
		FUZZ_ASSERT(n == MIBAND_TIME_LEN);
		FUZZ_ASSERT(miband_decode_time(buf, (size_t)n, &t2) == 0);
		time_eq(&t, &t2);
	}
	if (miband_decode_datetime7(data, size, &t) == 0) {
		n = miband_encode_datetime7(buf, sizeof(buf), &t);
		FUZZ_ASSERT(n == 7);
	}
	if (miband_decode_battery(data, size, &bat) == 0) {
		FUZZ_ASSERT(bat.level <= 255);
		n = miband_encode_battery(buf, sizeof(buf), &bat);
		FUZZ_ASSERT(n == MIBAND_BATTERY_LEN);
		FUZZ_ASSERT(miband_decode_battery(buf, (size_t)n, &bat2) == 0);
		FUZZ_ASSERT(bat.level == bat2.level &&
			    bat.charging == bat2.charging);
	}
	if (miband_decode_steps(data, size, &st) == 0) {
		n = miband_encode_steps(buf, sizeof(buf), &st);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(miband_decode_steps(buf, (size_t)n, &st2) == 0);
		FUZZ_ASSERT(st.steps == st2.steps);
	}
	(void)miband_decode_hr(data, size, &bpm);
	if (miband_decode_device_event(data, size, &de) == 0)
		FUZZ_ASSERT(de.name != NULL);
	(void)miband_decode_fetch_reply(data, size, &fr);
	(void)miband_decode_config_reply(data, size, &cmd, &status);

	/* text paths: UTF-8 cut and the notification encoder */
	n = miband_utf8_cut((const char *)data, size, size / 2);
	FUZZ_ASSERT(n == MIBAND_E_BAD_UTF8 || (n >= 0 && (size_t)n <= size / 2));
	{
		char title[40], body[80];
		uint8_t msg[MIBAND_TEXT_MAX + 16];
		size_t tl = size < sizeof(title) - 1 ? size : sizeof(title) - 1;
		size_t bl = size < sizeof(body) - 1 ? size : sizeof(body) - 1;

		memcpy(title, data, tl);
		title[tl] = 0;
		memcpy(body, data, bl);
		body[bl] = 0;
		n = miband_encode_app_notification(msg, sizeof(msg), 230,
						   MIBAND_CATEGORY_SMS, 0,
						   title, body, NULL);
		FUZZ_ASSERT(n < 0 || n <= 230);
		n = miband_encode_new_alert(buf, 20, MIBAND_CATEGORY_CALL, 1,
					    title, strlen(title));
		FUZZ_ASSERT(n < 0 || n <= 20);
	}
	return 0;
}
