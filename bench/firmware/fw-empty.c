/* The baseline for fw-client.c: the same entry point, no engine. */
#include <stdint.h>
volatile uint32_t sink;
int fw_main(const uint8_t *key, uint64_t now);
int fw_main(const uint8_t *key, uint64_t now)
{
	sink = key[0] + (uint32_t)now;
	return 0;
}
