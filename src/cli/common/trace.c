/*
 * btsnoop writer for the GATT traffic (see trace.h for the contract).
 *
 * File format (btsnoop version 1): the 16-byte header "btsnoop\0",
 * version 1, datalink 1002 (HCI UART/H4: every record starts with the H4
 * packet type), then records of
 *
 *     original length, included length, flags, cumulative drops (u32 BE)
 *     timestamp (i64 BE, microseconds since 0000-01-01)
 *     the packet
 *
 * flags bit 0 is the direction (0 host -> controller, i.e. to the band;
 * 1 received), bit 1 is set for HCI commands and events.  Each ATT PDU is
 * wrapped as H4 0x02, ACL header (handle | PB flags, length), L2CAP basic
 * header (length, CID 0x0004).
 *
 * Handles: one synthetic attribute layout serves every model, computed
 * once from the channel table: for each 16-bit service UUID in order of
 * first use, a service declaration, then per channel a characteristic
 * declaration, its value and, for notifying channels, a CCCD.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miband/miband.h"

#include "common/trace.h"
#include "core/hex.h"

#define ACL_HANDLE 0x0040u
#define ATT_CID 0x0004u

/* ATT opcodes */
#define ATT_ERROR_RSP 0x01
#define ATT_FIND_INFO_REQ 0x04
#define ATT_FIND_INFO_RSP 0x05
#define ATT_READ_BY_TYPE_REQ 0x08
#define ATT_READ_BY_TYPE_RSP 0x09
#define ATT_READ_REQ 0x0a
#define ATT_READ_RSP 0x0b
#define ATT_READ_BY_GROUP_REQ 0x10
#define ATT_READ_BY_GROUP_RSP 0x11
#define ATT_WRITE_REQ 0x12
#define ATT_WRITE_RSP 0x13
#define ATT_WRITE_CMD 0x52
#define ATT_NOTIFY 0x1b

/* 0000-01-01 to 1970-01-01 in microseconds, as btsnoop counts. */
#define BTSNOOP_EPOCH_DELTA 0x00dcddb30f2f8000ull

struct mb_trace {
	FILE *f;
	bool secrets;
	bool failed;
	uint64_t wall_us;   /* wall clock at open */
	uint64_t clock_ms;  /* caller's clock at open */
	uint8_t addr[6];    /* little-endian, as HCI sends it */
	/* last request per channel, for responses and error responses */
	uint8_t last_op[MIBAND_CH_COUNT];
	uint16_t last_handle[MIBAND_CH_COUNT];
};

struct layout {
	uint16_t decl, value, cccd; /* cccd 0: none */
	uint16_t svc_start, svc_end;
};

static struct layout layout[MIBAND_CH_COUNT];
static bool layout_done;

static bool ch_notifies(const struct miband_channel_info *ci)
{
	return ci->props & (MIBAND_PROP_NOTIFY | MIBAND_PROP_INDICATE);
}

static void layout_build(void)
{
	uint16_t h = 1;
	bool placed[MIBAND_CH_COUNT] = { false };
	unsigned i, j;

	if (layout_done)
		return;
	for (i = 0; i < MIBAND_CH_COUNT; i++) {
		const struct miband_channel_info *ci = miband_channel_info(i);
		uint16_t start;

		if (placed[i] || !ci)
			continue;
		start = h++; /* service declaration */
		for (j = i; j < MIBAND_CH_COUNT; j++) {
			const struct miband_channel_info *cj =
				miband_channel_info(j);

			if (placed[j] || !cj || cj->service16 != ci->service16)
				continue;
			placed[j] = true;
			layout[j].svc_start = start;
			layout[j].decl = h++;
			layout[j].value = h++;
			layout[j].cccd = ch_notifies(cj) ? h++ : 0;
		}
		for (j = 0; j < MIBAND_CH_COUNT; j++)
			if (layout[j].svc_start == start)
				layout[j].svc_end = (uint16_t)(h - 1);
	}
	layout_done = true;
}

uint16_t mb_trace_value_handle(enum miband_channel ch)
{
	layout_build();
	return (unsigned)ch < MIBAND_CH_COUNT ? layout[ch].value : 0;
}

uint16_t mb_trace_cccd_handle(enum miband_channel ch)
{
	layout_build();
	return (unsigned)ch < MIBAND_CH_COUNT ? layout[ch].cccd : 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint64_t stamp(const struct mb_trace *t, uint64_t now_ms)
{
	int64_t d = (int64_t)(now_ms - t->clock_ms);

	return t->wall_us + (uint64_t)(d * 1000) + BTSNOOP_EPOCH_DELTA;
}

static void record(struct mb_trace *t, uint32_t flags, const uint8_t *pkt,
		   size_t len, uint64_t now_ms)
{
	uint8_t hdr[24];
	uint64_t ts = stamp(t, now_ms);
	int i;

	put_be32(hdr, (uint32_t)len);
	put_be32(hdr + 4, (uint32_t)len);
	put_be32(hdr + 8, flags);
	put_be32(hdr + 12, 0);
	for (i = 0; i < 8; i++)
		hdr[16 + i] = (uint8_t)(ts >> (56 - 8 * i));
	if (fwrite(hdr, 1, sizeof(hdr), t->f) != sizeof(hdr) ||
	    fwrite(pkt, 1, len, t->f) != len)
		t->failed = true;
}

/* One ATT PDU in an ACL frame; received: band -> client. */
static void att(struct mb_trace *t, bool received, const uint8_t *pdu,
		size_t len, uint64_t now_ms)
{
	uint8_t pkt[1 + 4 + 4 + 600];

	if (len > 600)
		len = 600;
	pkt[0] = 0x02; /* H4: ACL data */
	/* PB flags: host -> controller 00 (first non-flushable), controller
	 * -> host 10 (first flushable), as LE links use them. */
	put_le16(pkt + 1, (uint16_t)(ACL_HANDLE | (received ? 0x2000u : 0)));
	put_le16(pkt + 3, (uint16_t)(len + 4));
	put_le16(pkt + 5, (uint16_t)len);
	put_le16(pkt + 7, ATT_CID);
	memcpy(pkt + 9, pdu, len);
	record(t, received ? 1u : 0u, pkt, len + 9, now_ms);
	miband_wipe(pkt, len + 9); /* it may hold key material */
}

static void hci_event(struct mb_trace *t, const uint8_t *ev, size_t len,
		      uint64_t now_ms)
{
	uint8_t pkt[64];

	pkt[0] = 0x04; /* H4: event */
	memcpy(pkt + 1, ev, len);
	record(t, 3u, pkt, len + 1, now_ms);
}

/* A 16-bit value on the Huami base UUID, little-endian as ATT sends it:
 * 0000xxxx-0000-3512-2118-0009af100700. */
static void huami_uuid_le(uint16_t u16, uint8_t out[16])
{
	static const uint8_t base_le[16] = { 0x00, 0x07, 0x10, 0xaf, 0x09, 0x00,
					     0x18, 0x21, 0x12, 0x35, 0x00, 0x00,
					     0x00, 0x00, 0x00, 0x00 };

	memcpy(out, base_le, 16);
	put_le16(out + 12, u16);
}

/*
 * A discovery a client could have run: primary services, characteristic
 * declarations and CCCDs, one response each, so Wireshark maps handles
 * to UUIDs.  Stamped at the open time.
 */
static void synth_discovery(struct mb_trace *t, uint64_t now_ms)
{
	uint8_t pdu[32];
	unsigned i;

	for (i = 0; i < MIBAND_CH_COUNT; i++) {
		const struct miband_channel_info *ci = miband_channel_info(i);
		const struct layout *lo = &layout[i];

		if (!ci)
			continue;
		if (lo->decl == lo->svc_start + 1) { /* first of its service */
			pdu[0] = ATT_READ_BY_GROUP_REQ;
			put_le16(pdu + 1, lo->svc_start);
			put_le16(pdu + 3, 0xffff);
			put_le16(pdu + 5, 0x2800);
			att(t, false, pdu, 7, now_ms);
			pdu[0] = ATT_READ_BY_GROUP_RSP;
			pdu[1] = 6;
			put_le16(pdu + 2, lo->svc_start);
			put_le16(pdu + 4, lo->svc_end);
			put_le16(pdu + 6, ci->service16);
			att(t, true, pdu, 8, now_ms);
		}
		pdu[0] = ATT_READ_BY_TYPE_REQ;
		put_le16(pdu + 1, lo->decl);
		put_le16(pdu + 3, lo->svc_end);
		put_le16(pdu + 5, 0x2803);
		att(t, false, pdu, 7, now_ms);
		pdu[0] = ATT_READ_BY_TYPE_RSP;
		put_le16(pdu + 2, lo->decl);
		pdu[4] = ci->props;
		put_le16(pdu + 5, lo->value);
		if (ci->huami_base) {
			pdu[1] = 21;
			huami_uuid_le(ci->uuid16, pdu + 7);
			att(t, true, pdu, 23, now_ms);
		} else {
			pdu[1] = 7;
			put_le16(pdu + 7, ci->uuid16);
			att(t, true, pdu, 9, now_ms);
		}
		if (lo->cccd) {
			pdu[0] = ATT_FIND_INFO_REQ;
			put_le16(pdu + 1, lo->cccd);
			put_le16(pdu + 3, lo->cccd);
			att(t, false, pdu, 5, now_ms);
			pdu[0] = ATT_FIND_INFO_RSP;
			pdu[1] = 0x01; /* 16-bit UUIDs */
			put_le16(pdu + 2, lo->cccd);
			put_le16(pdu + 4, 0x2902);
			att(t, true, pdu, 6, now_ms);
		}
	}
}

static void parse_addr(const char *s, uint8_t out[6])
{
	int i;

	memset(out, 0, 6);
	if (!s || strlen(s) != 17)
		return;
	for (i = 0; i < 6; i++) {
		int hi = miband__hexval(s[3 * i]), lo = miband__hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0) {
			memset(out, 0, 6);
			return;
		}
		out[5 - i] = (uint8_t)(hi << 4 | lo);
	}
}

int mb_trace_open(const char *path, const char *address, bool secrets,
		  uint64_t clock_now_ms, struct mb_trace **ret)
{
	static const uint8_t hdr[16] = { 'b', 't', 's', 'n', 'o', 'o', 'p', 0,
					 0,   0,   0,   1,   0,   0,   0x03, 0xea };
	struct mb_trace *t;
	struct timespec ts;
	uint8_t ev[21];
	int fd;

	if (!path || !ret)
		return MIBAND_E_INVAL;
	layout_build();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  secrets ? 0600 : 0644);
	if (fd < 0)
		return MIBAND_E_IO;
	if (secrets && fchmod(fd, 0600) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return MIBAND_E_IO;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return MIBAND_E_NOMEM;
	}
	if (!(t->f = fdopen(fd, "wb"))) {
		free(t);
		close(fd);
		return MIBAND_E_IO;
	}
	t->secrets = secrets;
	clock_gettime(CLOCK_REALTIME, &ts);
	t->wall_us = (uint64_t)ts.tv_sec * 1000000u +
		     (uint64_t)ts.tv_nsec / 1000u;
	t->clock_ms = clock_now_ms;
	parse_addr(address, t->addr);

	if (fwrite(hdr, 1, sizeof(hdr), t->f) != sizeof(hdr))
		t->failed = true;
	/* LE Meta: LE Connection Complete, we are central. */
	ev[0] = 0x3e;
	ev[1] = 19;
	ev[2] = 0x01;         /* subevent */
	ev[3] = 0x00;         /* status */
	put_le16(ev + 4, ACL_HANDLE);
	ev[6] = 0x00;         /* role: central */
	ev[7] = 0x00;         /* peer address type: public */
	memcpy(ev + 8, t->addr, 6);
	put_le16(ev + 14, 0x0027); /* 48.75 ms, as a Mi Band 2 asks */
	put_le16(ev + 16, 0);
	put_le16(ev + 18, 0x01f4);
	ev[20] = 0;
	hci_event(t, ev, 21, clock_now_ms);
	synth_discovery(t, clock_now_ms);
	if (t->failed) {
		fclose(t->f);
		free(t);
		return MIBAND_E_IO;
	}
	*ret = t;
	return 0;
}

void mb_trace_packet(enum miband_link_dir dir, int kind, enum miband_channel ch,
		     const uint8_t *data, size_t len, bool secret,
		     uint64_t now_ms, void *trace)
{
	struct mb_trace *t = trace;
	uint8_t pdu[3 + 512];
	size_t n;

	if (!t || (unsigned)ch >= MIBAND_CH_COUNT)
		return;
	if (len > 512)
		len = 512;
	if (!data)
		len = 0;
	if (dir == MIBAND_LINK_TO_BAND) {
		switch (kind) {
		case MIBAND_ACTION_SUBSCRIBE:
		case MIBAND_ACTION_UNSUBSCRIBE:
			pdu[0] = ATT_WRITE_REQ;
			put_le16(pdu + 1, layout[ch].cccd ? layout[ch].cccd
							  : layout[ch].value);
			pdu[3] = kind == MIBAND_ACTION_SUBSCRIBE ? 0x01 : 0x00;
			pdu[4] = 0x00;
			t->last_op[ch] = ATT_WRITE_REQ;
			t->last_handle[ch] = (uint16_t)(pdu[1] | pdu[2] << 8);
			att(t, false, pdu, 5, now_ms);
			return;
		case MIBAND_ACTION_WRITE:
			/* The link reports a write request's ack later with
			 * dir 1; a command has none.  Which one it was is not
			 * in the packet: channels that only offer write
			 * without response use a command. */
			pdu[0] = (miband_channel_info(ch)->props &
				  MIBAND_PROP_WRITE) ? ATT_WRITE_REQ
						     : ATT_WRITE_CMD;
			put_le16(pdu + 1, layout[ch].value);
			memcpy(pdu + 3, data, len);
			if (!t->secrets) {
				size_t from = miband_redact_from(ch, true, data,
								 len, secret);

				memset(pdu + 3 + from, 0, len - from);
			}
			t->last_op[ch] = pdu[0];
			t->last_handle[ch] = layout[ch].value;
			att(t, false, pdu, 3 + len, now_ms);
			miband_wipe(pdu, 3 + len);
			return;
		case MIBAND_ACTION_READ:
			pdu[0] = ATT_READ_REQ;
			put_le16(pdu + 1, layout[ch].value);
			t->last_op[ch] = ATT_READ_REQ;
			t->last_handle[ch] = layout[ch].value;
			att(t, false, pdu, 3, now_ms);
			return;
		default:
			return;
		}
	}
	switch (kind) {
	case MIBAND_ACTION_READ:
		pdu[0] = ATT_READ_RSP;
		memcpy(pdu + 1, data, len);
		n = 1 + len;
		break;
	case MIBAND_ACTION_WRITE:
	case MIBAND_ACTION_SUBSCRIBE:
	case MIBAND_ACTION_UNSUBSCRIBE:
		if (t->last_op[ch] == ATT_WRITE_CMD)
			return; /* a command has no response */
		pdu[0] = ATT_WRITE_RSP;
		n = 1;
		break;
	case MIBAND_ACTION_EVENT:
		pdu[0] = ATT_NOTIFY;
		put_le16(pdu + 1, layout[ch].value);
		memcpy(pdu + 3, data, len);
		n = 3 + len;
		break;
	default:
		return;
	}
	att(t, true, pdu, n, now_ms);
}

void mb_trace_error(struct mb_trace *t, enum miband_channel ch,
		    uint8_t request_opcode, uint8_t att_err, uint64_t now_ms)
{
	uint8_t pdu[5];

	if (!t || (unsigned)ch >= MIBAND_CH_COUNT)
		return;
	pdu[0] = ATT_ERROR_RSP;
	pdu[1] = request_opcode ? request_opcode : t->last_op[ch];
	put_le16(pdu + 2, t->last_handle[ch] ? t->last_handle[ch]
					     : layout[ch].value);
	pdu[4] = att_err;
	att(t, true, pdu, 5, now_ms);
}

int mb_trace_close(struct mb_trace *t, uint64_t now_ms)
{
	uint8_t ev[6];
	bool failed;

	if (!t)
		return 0;
	ev[0] = 0x05; /* Disconnection Complete */
	ev[1] = 4;
	ev[2] = 0x00;
	put_le16(ev + 3, ACL_HANDLE);
	ev[5] = 0x16; /* connection terminated by local host */
	hci_event(t, ev, 6, now_ms);
	failed = t->failed;
	if (fflush(t->f) != 0)
		failed = true;
	if (fclose(t->f) != 0)
		failed = true;
	free(t);
	return failed ? MIBAND_E_IO : 0;
}
