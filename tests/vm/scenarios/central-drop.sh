#!/bin/sh
# Streaming over real BlueZ: `hr --follow` prints heart rates until the
# band disappears mid-command (the link dropped from the band's side, then
# miband-emu killed): mibandctl must notice and exit 4.  Then
# `steps --follow` ends cleanly on SIGINT: exit 0, and the band sees the
# central unsubscribe and disconnect.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME
# scan first: btvirt's controller reports an advertiser only on an
# enable edge, and one that comes with the scan-enable edge is dropped by
# the kernel; with the scan running first, the band's advertise-enable
# edge is seen and BlueZ knows the band for the commands below
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 12 scan
SCAN_PID=$!
start_emu --profile mb3 --key "$KEY" --pairing never
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
wait $SCAN_PID || fail "scan: $(tail -n 3 /tmp/scan.log)"
grep -q "$ADDR" /tmp/scan.log || fail "the scan did not see the band"

spawn_as client /tmp/hr.log mibandctl --adapter hci1 --device "$ADDR" \
	--key "$KEY" --json hr --follow
CTL=$!
wait_log /tmp/hr.log '"bpm"' 40 || fail "no heart rate: $(tail -n 3 /tmp/hr.log)"
CENTRAL=$(sed -n 's/.*connected: \([0-9A-F_]*\).*/\1/p' $EMU_LOG | head -n 1)
[ -n "$CENTRAL" ] || fail "the emulator did not log the central"
log "heart rate flows; the band vanishes"
# the link drops from the band's side (out of range), then the band dies.
# (Killing the emulator first makes bluetoothd 5.66 remove the services
# under a connected client, which sometimes crashes bluetoothd itself.)
dbus-send --system --print-reply --dest=org.bluez \
	/org/bluez/hci0/dev_$CENTRAL org.bluez.Device1.Disconnect >/dev/null ||
	fail "could not drop the link"
kill -KILL "$EMU_PID"
T=$(uptime_s)
wait $CTL
rc=$?
log "hr --follow rc=$rc after $(awk "BEGIN{print $(uptime_s)-$T}")s: $(tail -n 1 /tmp/hr.log)"
[ $rc = 4 ] || fail "band gone: exit $rc, expected 4"
grep -q '"error":"DISCONNECTED"' /tmp/hr.log || fail "no DISCONNECTED error"

mv $EMU_LOG /tmp/emu-killed.log
start_emu --profile mb3 --key "$KEY" --pairing never
spawn_as client /tmp/steps.log mibandctl --adapter hci1 --device "$ADDR" \
	--key "$KEY" --json steps --follow
CTL=$!
wait_log /tmp/steps.log '"steps"' 40 || fail "no steps: $(tail -n 3 /tmp/steps.log)"
kill -INT $CTL
wait $CTL
rc=$?
log "steps --follow rc=$rc after SIGINT"
[ $rc = 0 ] || fail "SIGINT: exit $rc, expected 0"
wait_log $EMU_LOG 'disconnected' 10 || fail "the band saw no disconnect"
stop_emu
pass
