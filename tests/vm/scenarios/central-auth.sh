#!/bin/sh
# mibandctl over real BlueZ (hci1) against miband-emu (hci0), the
# seed's flow with a preset key: scan finds the band (JSON: address, name,
# model), auth reports model and firmware, battery reads, and a second
# command reconnects and authenticates without any pairing prompt.  Also:
# --verbose shows the GATT traffic but never the key, --trace writes a
# btsnoop file, and the band's own log shows no set-key.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME
ctl() { runas client mibandctl --adapter hci1 "$@"; }

# scan first: btvirt reports an advertiser on the scan-enable edge
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 12 scan
SCAN_PID=$!
start_emu --model mb3 --key "$KEY" --pairing never
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
wait $SCAN_PID || fail "scan exit $? ($(cat /tmp/scan.log))"
log "scan: $(cat /tmp/scan.log)"
grep -q "\"address\": *\"$ADDR\"" /tmp/scan.log || fail "scan did not list $ADDR"
grep "\"$ADDR\"" /tmp/scan.log | grep -q '"model": *"mb3"' ||
	fail "scan did not guess the model"

T=$(uptime_s)
ctl --device "$ADDR" --key "$KEY" --json --verbose --trace /tmp/auth.btsnoop \
	auth >/tmp/auth.log 2>/tmp/auth-err.log
rc=$?
log "auth rc=$rc in $(awk "BEGIN{print $(uptime_s)-$T}")s: $(cat /tmp/auth.log)"
[ $rc = 0 ] || fail "auth exit $rc: $(tail -n 5 /tmp/auth-err.log)"
grep -q '"model"' /tmp/auth.log || fail "auth did not report the model"
grep -qi 'firmware' /tmp/auth.log || fail "auth did not report the firmware"
grep -q 'write auth' /tmp/auth-err.log || fail "--verbose shows no GATT write"
check_no_key_in /tmp/auth-err.log "$KEY"
check_no_key_in /tmp/auth.log "$KEY"
[ "$(head -c 8 /tmp/auth.btsnoop)" = btsnoop ] || fail "--trace wrote no btsnoop"

T=$(uptime_s)
ctl --device "$ADDR" --key "$KEY" --json battery >/tmp/batt.log 2>/tmp/batt-err.log
rc=$?
log "battery rc=$rc in $(awk "BEGIN{print $(uptime_s)-$T}")s: $(cat /tmp/batt.log)"
[ $rc = 0 ] || fail "battery exit $rc: $(tail -n 5 /tmp/batt-err.log)"
grep -q '"level"' /tmp/batt.log || fail "battery printed no level"
grep -q 'tap to pair' $EMU_LOG && fail "the band showed a pairing prompt"
stop_emu
pass
