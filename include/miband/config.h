/*
 * Compile-time limits.  Each may be overridden with -DNAME=value; the
 * comment says what one more unit costs, so firmware authors can size RAM.
 */
#ifndef MIBAND_CONFIG_H
#define MIBAND_CONFIG_H

/*
 * Largest value the client engine writes in one ATT operation.  20 is
 * ATT_MTU 23 - 3, the only MTU a Mi Band 3 is known to use.  Longer
 * messages (app notifications) are chunked.  Costs 1 byte per session.
 */
#ifndef MIBAND_WRITE_MAX
#define MIBAND_WRITE_MAX 20
#endif

/*
 * Largest notification or read value the client engine keeps to hand to
 * an event (device information strings, history packets).  Longer values
 * are cut.  Costs 1 byte per session.
 */
#ifndef MIBAND_VALUE_MAX
#define MIBAND_VALUE_MAX 32
#endif

/*
 * Actions a session can have queued for next_action().  One write is in
 * flight at a time, so a handful suffices.  Costs sizeof(struct
 * miband_action) (about 56 bytes on 64-bit, 40 on Cortex-M) each.
 */
#ifndef MIBAND_ACTION_QUEUE
#define MIBAND_ACTION_QUEUE 4
#endif

/* Same for the band engine (notifications queued for the transport). */
#ifndef MIBAND_BAND_ACTION_QUEUE
#define MIBAND_BAND_ACTION_QUEUE 6
#endif

/*
 * Largest value the band engine notifies or answers a read with; 20 at
 * MTU 23.  Costs 1 byte per queued band action.
 */
#ifndef MIBAND_BAND_VALUE_MAX
#define MIBAND_BAND_VALUE_MAX 20
#endif

/*
 * Largest app-notification message (prefix + text) the band accepts over
 * the chunked characteristic; 230 per Gadgetbridge.  The band engine
 * reassembles it: costs 1 byte per band.
 */
#ifndef MIBAND_TEXT_MAX
#define MIBAND_TEXT_MAX 230
#endif

/*
 * Packets the in-process link holds in flight.  Costs about
 * MIBAND_BAND_VALUE_MAX + 24 bytes each (link only, not the engines).
 */
#ifndef MIBAND_LINK_QUEUE
#define MIBAND_LINK_QUEUE 16
#endif

/*
 * Feature switches of the client engine, for firmware that needs less
 * than everything.  A request of a feature left out returns
 * MIBAND_E_UNSUPPORTED.  Linked Cortex-M4 text each saves (-Os,
 * --gc-sections; see docs/PERFORMANCE.md): FETCH about 1 KiB (history
 * transfer), TEXT about 1 KiB (calls and app notifications: UTF-8
 * cutting, chunking), EVENTS about 0.3 KiB (device-event names).
 */
#ifndef MIBAND_FEATURE_FETCH
#define MIBAND_FEATURE_FETCH 1
#endif
#ifndef MIBAND_FEATURE_TEXT
#define MIBAND_FEATURE_TEXT 1
#endif
#ifndef MIBAND_FEATURE_EVENTS
#define MIBAND_FEATURE_EVENTS 1
#endif

/* Default deadlines (milliseconds); all can be changed per session. */
#ifndef MIBAND_DEFAULT_PAIR_TIMEOUT_MS
#define MIBAND_DEFAULT_PAIR_TIMEOUT_MS 30000u /* waiting for the tap */
#endif
#ifndef MIBAND_DEFAULT_REPLY_TIMEOUT_MS
#define MIBAND_DEFAULT_REPLY_TIMEOUT_MS 5000u /* any other reply */
#endif
#ifndef MIBAND_DEFAULT_HR_TIMEOUT_MS
#define MIBAND_DEFAULT_HR_TIMEOUT_MS 20000u /* one-shot heart rate */
#endif
#ifndef MIBAND_DEFAULT_HR_KEEPALIVE_MS
#define MIBAND_DEFAULT_HR_KEEPALIVE_MS 12000u /* continuous HR ping */
#endif

#endif
