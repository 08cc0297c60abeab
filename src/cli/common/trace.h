/*
 * btsnoop traces of the GATT traffic (`mibandctl --trace FILE`).
 *
 * Both links (the in-process emu link and BlueZ) report the same packet
 * stream: what the client sent to the band and what came back.  This
 * writer turns it into a btsnoop file (datalink 1002, HCI H4) that
 * Wireshark and tshark open: every operation becomes an HCI ACL frame on
 * L2CAP CID 4 carrying the ATT PDU a real stack would have sent (write
 * request 0x12 / response 0x13, write command 0x52, read request 0x0a /
 * response 0x0b, notification 0x1b, error response 0x01).
 *
 * There is no real ATT database behind the logical channels, so the
 * writer gives each channel a stable handle from a synthetic layout (one
 * service per 16-bit service UUID, in channel order) and opens the file
 * with a synthetic service and characteristic discovery, so Wireshark
 * names each handle's UUID.  A synthetic LE connection complete event
 * opens the trace and a disconnection complete event closes it.
 *
 * Key material is redacted (zeroed) unless secrets is set, by the one
 * rule of miband_redact_from() (types.h): the set-key write and the
 * encrypted answer on the auth channel, chunked auth data, and whatever
 * the transport flagged secret.
 */
#ifndef MB_TRACE_H
#define MB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "miband/types.h"

struct mb_trace;

/*
 * Creates (truncates) path.  address is the band's BD address for the
 * connection event ("emu" or NULL: 00:00:00:00:00:00).  clock_now_ms is
 * the current time on the clock later packets are stamped with (virtual
 * ms for emu, CLOCK_MONOTONIC ms for BlueZ); it is pinned to the wall
 * clock now.  With secrets the file is created mode 0600.
 * Returns 0 or MIBAND_E_IO (errno kept), MIBAND_E_NOMEM, MIBAND_E_INVAL.
 */
int mb_trace_open(const char *path, const char *address, bool secrets,
		  uint64_t clock_now_ms, struct mb_trace **ret);

/*
 * One packet: a miband_trace_fn (types.h; trace is the struct mb_trace *),
 * so it can be passed to miband_bluez_set_trace() or be the link's trace.
 * A NULL trace is ignored.
 */
void mb_trace_packet(enum miband_link_dir dir, int kind, enum miband_channel ch,
		     const uint8_t *data, size_t len, bool secret,
		     uint64_t now_ms, void *trace);

/* An ATT error response to the last request on ch (att_err: 0x01..). */
void mb_trace_error(struct mb_trace *t, enum miband_channel ch,
		    uint8_t request_opcode, uint8_t att_err, uint64_t now_ms);

/* The value handle (and CCCD handle) the trace uses for a channel. */
uint16_t mb_trace_value_handle(enum miband_channel ch);
uint16_t mb_trace_cccd_handle(enum miband_channel ch);

/* Writes the disconnection event and closes.  0, or MIBAND_E_IO if any
 * write failed.  NULL is fine. */
int mb_trace_close(struct mb_trace *t, uint64_t now_ms);

#endif
