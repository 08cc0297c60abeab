/*
 * libmiband error codes.
 *
 * Every function that can fail returns 0 (or a non-negative count) on
 * success and a negative MIBAND_E_* code on failure.  The list below is the
 * single source: it generates the enum, miband_strerror(), miband_err_name()
 * and miband_is_fatal().  Codes are never renumbered; new codes are appended
 * to the list and take unused numbers in their range:
 *
 *     -1 ..  -19  generic / API misuse
 *    -20 ..  -39  link and protocol (the band's messages)
 *    -40 ..  -49  crypto backend
 *    -50 ..  -69  authentication and pairing (band status replies)
 *    -70 ..  -89  activity history transfer
 *   -100 .. -199  host side: parsing user input, key store, transport, storage
 *
 * A fatal error ends the session: after it the engine emits no further
 * action but DISCONNECT, and the caller must re-initialise the session.
 *
 * Messages describe what went wrong in terms of the library and the band;
 * they never name a program's options or commands (mibandctl adds its own
 * hints, src/cli/common/output.c).
 */
#ifndef MIBAND_ERROR_H
#define MIBAND_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* XX(NAME, code, fatal, "message") */
#define MIBAND_ERRNO_MAP(XX)                                                    \
	XX(INVAL, -1, 0, "invalid argument")                                   \
	XX(BUSY, -2, 0, "another request is still running on this session")   \
	XX(NOT_AUTHED, -3, 0,                                                  \
	   "not authenticated: the band ignores this until auth succeeds")     \
	XX(UNSUPPORTED, -4, 0, "this band model does not support the request") \
	XX(NOSPACE, -5, 0, "buffer too small")                                 \
	XX(STATE, -6, 0, "the session cannot do that in its current state")    \
	XX(INTERNAL, -7, 1, "internal error (a bug in libmiband)")             \
	XX(CANCELLED, -8, 0, "request cancelled")                              \
	XX(TIMEOUT, -20, 0, "the band did not answer before the deadline")     \
	XX(DISCONNECTED, -21, 1, "the band disconnected")                      \
	XX(MALFORMED, -22, 0,                                                  \
	   "the band sent a malformed message (wrong length or layout)")       \
	XX(UNEXPECTED, -23, 0,                                                 \
	   "the band answered a step that was not asked for")                  \
	XX(WRITE_FAILED, -24, 0, "a write to the band failed")                 \
	XX(READ_FAILED, -25, 0, "a read from the band failed")                 \
	XX(SUBSCRIBE_FAILED, -26, 0, "could not enable notifications")         \
	XX(REJECTED, -27, 0, "the band rejected the command")                  \
	XX(CRYPTO, -40, 0, "the crypto backend failed (AES)")                  \
	XX(RNG, -41, 0, "the random number generator failed")                  \
	XX(PAIR_DECLINED, -50, 0,                                              \
	   "pairing was not confirmed on the band (10 01 02): tap the band "   \
	   "when it vibrates, then pair again")                                \
	XX(PAIR_TIMEOUT, -51, 0,                                               \
	   "nobody confirmed pairing on the band before the deadline: pair "   \
	   "again and tap the band when it vibrates")                          \
	XX(SETKEY_FAILED, -52, 0, "the band refused the new key (10 01 04)")   \
	XX(RANDOM_FAILED, -53, 0,                                              \
	   "the band refused to issue a challenge (10 02 04): it may hold no " \
	   "key for this client yet; pair first")                              \
	XX(WRONG_KEY, -54, 0, "the band holds a different key (10 03 04)")     \
	XX(AUTH_REJECTED, -55, 0,                                              \
	   "the band rejected the encrypted challenge (10 03 08): wrong key, " \
	   "or the firmware expects another auth variant (crypt flags)")       \
	XX(AUTH_STATUS, -56, 0,                                                \
	   "the band answered an auth step with an unknown status")            \
	XX(FETCH_STATUS, -70, 0,                                               \
	   "the band refused the history transfer (non-01 status)")            \
	XX(FETCH_GAP, -71, 0,                                                  \
	   "a history packet was lost (counter gap); the batch is discarded "  \
	   "and will be fetched again")                                        \
	XX(FETCH_SHORT, -72, 0,                                                \
	   "a history packet had a bad length; the batch is discarded")        \
	XX(BAD_KEY, -100, 0,                                                   \
	   "a key is 32 hexadecimal digits (16 bytes), optionally with a 0x "  \
	   "prefix, spaces or colons")                                         \
	XX(BAD_ADDRESS, -101, 0,                                               \
	   "a Bluetooth address is six hex pairs separated by colons, e.g. "   \
	   "C8:0F:10:12:34:56")                                                \
	XX(BAD_UTF8, -102, 0, "the text is not valid UTF-8")                   \
	XX(BAD_TIME, -103, 0,                                                  \
	   "a time is ISO 8601: YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]")              \
	XX(KEY_PERMS, -104, 0,                                                 \
	   "the key file or its directory can be read by other users")         \
	XX(NO_KEY, -105, 0, "no key is stored for this band")                  \
	XX(IO, -106, 0, "input/output error")                                  \
	XX(NO_ADAPTER, -110, 0, "no powered Bluetooth adapter")                \
	XX(NOT_FOUND, -111, 0, "no band found")                                \
	XX(DBUS, -112, 0, "D-Bus call failed")                                 \
	XX(NO_BLUEZ, -113, 0,                                                  \
	   "bluetoothd is not running or not reachable on the system bus")     \
	XX(CONNECT_FAILED, -114, 0, "could not connect to the band")           \
	XX(NO_SERVICE, -115, 0,                                                \
	   "the device does not offer a Mi Band characteristic that is "       \
	   "needed")                                                           \
	XX(DB, -120, 0, "the activity database failed")                        \
	XX(DB_SCHEMA, -121, 0,                                                 \
	   "the activity database has a newer schema than this program")       \
	XX(NOMEM, -9, 0, "out of memory")

enum miband_error {
	MIBAND_OK = 0,
#define MIBAND__ERR_ENUM(name, code, fatal, msg) MIBAND_E_##name = (code),
	MIBAND_ERRNO_MAP(MIBAND__ERR_ENUM)
#undef MIBAND__ERR_ENUM
};

/* A sentence for a person; never NULL ("unknown error" for unknown codes). */
const char *miband_strerror(int err);
/* The code's stable name without the prefix ("WRONG_KEY"); for JSON/logs. */
const char *miband_err_name(int err);
/* Non-zero if the error ends the session. */
int miband_is_fatal(int err);

#ifdef __cplusplus
}
#endif
#endif
