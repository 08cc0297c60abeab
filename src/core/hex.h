/*
 * One hexadecimal digit to its value (internal; shared by src/core, the
 * CLI's key and trace parsers, and anything else that reads hex).
 */
#ifndef MIBAND_CORE_HEX_H
#define MIBAND_CORE_HEX_H

/* 0-15 for [0-9a-fA-F], -1 for anything else (any int, EOF too). */
static inline int miband__hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
