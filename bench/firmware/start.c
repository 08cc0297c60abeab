/* Entry for the footprint images: no vector table, no libc start-up. */
#include <stdint.h>
int fw_main(const uint8_t *key, uint64_t now);
void _start(void);
void _start(void)
{
	static const uint8_t key[16];

	fw_main(key, 0);
	for (;;)
		;
}
