/*
 * How mibandctl ends on a signal: SIGINT, SIGTERM and SIGHUP only set a
 * flag (no SA_RESTART: a wait returns EINTR), the command sees it, stops
 * the band's streams and closes the link.  SIGPIPE is ignored: a write to
 * a closed pipe fails with EPIPE instead, and output.h's mb_output_closed()
 * tells the stream to end the same way.
 */
#ifndef MB_SIGNALS_H
#define MB_SIGNALS_H

#include <stdbool.h>

/* Installs the handlers (and unblocks the signals). */
void mb_signals_catch(void);
/* The signal that arrived (SIGINT ...), 0 if none since the last clear. */
int mb_signalled(void);
/* "SIGINT", "SIGTERM", "SIGHUP". */
const char *mb_signal_name(int sig);
/* Forgets it (to run a last request, e.g. stopping heart rate). */
void mb_signals_clear(void);

#endif
