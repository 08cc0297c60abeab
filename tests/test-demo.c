/*
 * miband-demo's packet trace: key material never reaches its output,
 * whatever the packet's length (the one rule of miband_redact_from()).
 * The demo is built into this suite with its main renamed, and its trace
 * callback's stdout captured in a temporary file.
 */
#include <stdio.h>
#include <unistd.h>

#include "runner.h"

int demo_main(int argc, char **argv);
#define main demo_main
#include "miband-demo.c"
#undef main

/* What trace() prints for one packet, NUL-terminated in buf. */
static void traced(enum miband_link_dir dir, enum miband_channel ch,
		   const uint8_t *data, size_t len, bool secret, char *buf,
		   size_t cap)
{
	FILE *f = tmpfile();
	int saved, n;

	buf[0] = 0;
	if (!f)
		return;
	fflush(stdout);
	saved = dup(1);
	dup2(fileno(f), 1);
	trace(dir, MIBAND_ACTION_WRITE, ch, data, len, secret, 100, NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rewind(f);
	n = (int)fread(buf, 1, cap - 1, f);
	buf[n > 0 ? n : 0] = 0;
	fclose(f);
}

/* A write whose bytes from 2 on are the key pattern a5. */
static void keyed(uint8_t *p, size_t len, uint8_t b0, uint8_t b1)
{
	memset(p, 0xa5, len);
	p[0] = b0;
	p[1] = b1;
}

TEST(set_key_of_any_length_is_redacted)
{
	uint8_t p[20];
	char out[512];

	keyed(p, 19, 0x01, 0x00); /* 01 00 <key> plus a byte */
	traced(MIBAND_LINK_TO_BAND, MIBAND_CH_AUTH, p, 19, false, out,
	       sizeof(out));
	CHECK(strstr(out, "01 00") != NULL);
	CHECK(strstr(out, "a5") == NULL);
	CHECK(strstr(out, "redacted") != NULL);
}

TEST(flagged_secret_is_redacted)
{
	uint8_t p[10];
	char out[512];

	keyed(p, sizeof(p), 0x10, 0x20);
	traced(MIBAND_LINK_TO_BAND, MIBAND_CH_CONFIG, p, sizeof(p), true, out,
	       sizeof(out));
	CHECK(strstr(out, "10 20") != NULL);
	CHECK(strstr(out, "a5") == NULL);
}

TEST(chunked_auth_is_redacted)
{
	uint8_t p[20];
	char out[512];

	keyed(p, sizeof(p), 0x00, 0xc4); /* old chunked, type 4 */
	p[2] = 0x00;
	traced(MIBAND_LINK_TO_BAND, MIBAND_CH_CHUNKED, p, sizeof(p), false, out,
	       sizeof(out));
	CHECK(strstr(out, "00 c4 00") != NULL);
	CHECK(strstr(out, "a5") == NULL);
}

TEST(plain_packets_are_shown_whole)
{
	uint8_t p[18];
	char out[512];

	keyed(p, sizeof(p), 0x10, 0x03); /* the band's reply: not secret */
	traced(MIBAND_LINK_TO_CLIENT, MIBAND_CH_AUTH, p, sizeof(p), false, out,
	       sizeof(out));
	CHECK(strstr(out, "10 03 a5") != NULL);
	CHECK(strstr(out, "redacted") == NULL);
}

TEST_MAIN(T(set_key_of_any_length_is_redacted), T(flagged_secret_is_redacted),
	  T(chunked_auth_is_redacted), T(plain_packets_are_shown_whole))
