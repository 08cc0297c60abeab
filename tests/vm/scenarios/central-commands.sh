#!/bin/sh
# Every everyday command of mibandctl over real BlueZ against miband-emu
# (preset key): info (device information reads), time --sync
# (write), hr (one-shot: HR control write + measurement notifications),
# alert vibrate and text (chunked writes), config (H(0003) command with
# its 10 .. reply) and user info, and sync of two hours of history (the
# fetch control/data notification stream).  Each must exit 0 with its
# JSON, and the band must log what it received.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
export XDG_DATA_HOME=/tmp/client-data
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME

# scan first (btvirt: see central-auth.sh)
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 6 scan
SCAN_PID=$!
start_emu --model mb3 --key "$KEY" --pairing never
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
wait $SCAN_PID || fail "scan: $(tail -n 3 /tmp/scan.log)"
grep -q "$ADDR" /tmp/scan.log || fail "the scan did not see the band"

n=0
# run EXPECTED_TYPE ARGS...: one command, exit 0, a JSON line of that type
run() {
	want=$1
	shift
	n=$((n + 1))
	T=$(uptime_s)
	runas client mibandctl --adapter hci1 --device "$ADDR" --key "$KEY" \
		--json "$@" >/tmp/cmd$n.log 2>&1
	rc=$?
	log "$* rc=$rc in $(awk "BEGIN{print $(uptime_s)-$T}")s: $(tail -n 1 /tmp/cmd$n.log)"
	[ $rc = 0 ] || fail "$*: exit $rc: $(tail -n 3 /tmp/cmd$n.log)"
	grep -q "\"type\":\"$want\"" /tmp/cmd$n.log || fail "$*: no $want"
}

run info info
grep -q '"firmware":"V' /tmp/cmd$n.log || fail "info: no firmware"
grep -q '"serial":"' /tmp/cmd$n.log || fail "info: no serial"
run time-set time --sync
grep -q 'time set to' $EMU_LOG || fail "the band did not get the time"
run heart-rate hr
run alert alert vibrate
run alert alert text Hello "from BlueZ"
wait_log $EMU_LOG 'band: text' 5 || fail "the band did not show the text"
run config config time-format 24
run config config user born=1990-05-04,sex=female,height=170,weight=60
SINCE=$(date -u -d @$(($(date +%s) - 7200)) +%Y-%m-%dT%H:%M)
run sync-progress sync --since "$SINCE"
grep -q 'band: fetch-ack' $EMU_LOG || fail "the band got no fetch ack"
stop_emu
pass
