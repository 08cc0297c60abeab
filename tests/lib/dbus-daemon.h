/*
 * A private D-Bus daemon for suites that need a system bus (test-bluez,
 * test-peripheral): started once per process on first use with an
 * allow-all policy, DBUS_SYSTEM_BUS_ADDRESS pointed at it, stopped and
 * its directory removed at exit.
 */
#ifndef MIBAND_TEST_DBUS_DAEMON_H
#define MIBAND_TEST_DBUS_DAEMON_H

#include <stdbool.h>

#include "runner.h"

/* Starts the daemon on the first call; true while it runs, false if
 * there is no dbus-daemon (or it did not start). */
bool test_dbus_daemon(void);

/* Skips the running test unless the private bus is up. */
#define NEED_BUS()                                                \
	do {                                                      \
		if (!test_dbus_daemon())                          \
			SKIP("needs dbus-daemon (Debian package " \
			     "dbus-daemon)");                     \
	} while (0)

#endif
