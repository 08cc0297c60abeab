/*
 * Bluetooth device addresses and advertised names: plain checks any
 * transport (BlueZ, a microcontroller's own stack) and any front end use
 * before they reach for a band.  No I/O, no allocation.
 */
#ifndef MIBAND_ADDRESS_H
#define MIBAND_ADDRESS_H

#include "miband/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "AA:BB:CC:DD:EE:FF" and the NUL */
#define MIBAND_ADDRESS_LEN 18

/*
 * Checks a BD address (six hex pairs joined by ':', either case) and
 * writes it in upper case to ret_address.  Returns 0 or
 * MIBAND_E_BAD_ADDRESS (s NULL, ret_address NULL, any other form).
 */
int miband_address_parse(const char *s, char ret_address[MIBAND_ADDRESS_LEN]);

/*
 * Model from an advertised name: "MI Band 2" -> MB2, "Mi Band 3" and
 * "Xiaomi Band 3" -> MB3, "Mi Smart Band 4" / "Mi Band 4" -> MB4, and so
 * on up to 6 (case-insensitive, leading spaces ignored, anything may
 * follow).  Returns 0 or MIBAND_E_UNSUPPORTED (not a name a Mi Band
 * uses, or NULL).
 */
int miband_model_guess(const char *name, enum miband_model *ret_model);

#ifdef __cplusplus
}
#endif
#endif
