#!/bin/sh
# Failures over real BlueZ and their exit codes: a wrong key (the band
# answers 10 03 04: exit 5), a band that never answers (miband-emu
# stopped with SIGSTOP: the reply deadline ends the command with exit 4
# in about --timeout seconds), and an address nobody advertises (exit 4
# or 3 within the connection timeout, never a hang).
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
OTHER=0x00112233445566778899aabbccddeeff
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME
ctl() { runas client mibandctl --adapter hci1 "$@"; }

# scan first: btvirt's controller reports an advertiser only on an
# enable edge, and one that comes with the scan-enable edge is dropped by
# the kernel; with the scan running first, the band's advertise-enable
# edge is seen and BlueZ knows the band for the commands below
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 12 scan
SCAN_PID=$!
start_emu --model mb3 --key "$KEY" --pairing never
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
wait $SCAN_PID || fail "scan: $(tail -n 3 /tmp/scan.log)"
grep -q "$ADDR" /tmp/scan.log || fail "the scan did not see the band"

ctl --device "$ADDR" --key "$OTHER" --json auth >/tmp/wrong.log 2>/tmp/wrong-err.log
rc=$?
log "wrong key rc=$rc: $(cat /tmp/wrong.log)"
[ $rc = 5 ] || fail "wrong key: exit $rc, expected 5"
grep -q 'WRONG_KEY' /tmp/wrong.log || fail "no WRONG_KEY"

# the band stops answering (its GATT objects stay with bluetoothd)
kill -STOP "$EMU_PID"
T=$(uptime_s)
ctl --device "$ADDR" --key "$KEY" --timeout 4 --json auth >/tmp/mute.log \
	2>/tmp/mute-err.log
rc=$?
D=$(awk "BEGIN{print $(uptime_s)-$T}")
log "mute band rc=$rc in ${D}s: $(cat /tmp/mute.log)"
kill -CONT "$EMU_PID"
[ $rc = 4 ] || fail "mute band: exit $rc, expected 4"
grep -q '"error":"TIMEOUT"' /tmp/mute.log || fail "no TIMEOUT error"
awk "BEGIN{exit !($D < 15)}" || fail "the deadline took ${D}s"

T=$(uptime_s)
ctl --device 12:34:56:78:9A:BC --key "$KEY" --timeout 5 --json auth \
	>/tmp/absent.log 2>/tmp/absent-err.log
rc=$?
D=$(awk "BEGIN{print $(uptime_s)-$T}")
log "absent band rc=$rc in ${D}s: $(cat /tmp/absent.log)"
[ $rc = 3 ] || [ $rc = 4 ] || fail "absent band: exit $rc, expected 3 or 4"
awk "BEGIN{exit !($D < 15)}" || fail "the connection deadline took ${D}s"
stop_emu
pass
