/*
 * Small argument parsers shared by mibandctl and miband-emu.
 */
#ifndef MB_ARGS_H
#define MB_ARGS_H

#include "miband/miband.h"

/* What the emulated wearer does: accept, decline or never; 0 or -1. */
int mb_pairing_policy_parse(const char *s, enum miband_pairing_policy *ret);

#endif
