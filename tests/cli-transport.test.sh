#!/usr/bin/env bash
# mibandctl really has the BlueZ transport linked in: with only weak
# references to it, the linker leaves src/bluez/central.o out of
# libmiband.a and every BlueZ command quietly becomes "this build has no
# BlueZ transport".  Without a system bus, scan and a command on an
# address must try BlueZ and say that bluetoothd cannot be reached.
. "$2/tests/lib/cli.sh" "$1" "$2"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus"

expect_rc 4 "scan without a system bus fails on the bus" scan --timeout 1
check "  ... and does not claim a build without BlueZ" \
	sh -c "! grep -q 'no BlueZ transport' '$T/err'"
check "  ... it names bluetoothd" err_has "bluetoothd is not running"
expect_rc 4 "auth on an address without a system bus" \
	--device 00:11:22:33:44:55 --key "$KEY" auth
check "  ... names bluetoothd" err_has "bluetoothd is not running"
finish
