#!/bin/sh
# BENCHMARK, not a test (vm.test.sh skips bench-*): time to authenticated
# over real BlueZ, `mibandctl auth` against a bleak client doing the same
# handshake with the same miband-emu (paired, preset key), in alternating
# runs; the ATT operations from connected to authenticated come from
# btmon: of the first connection (BlueZ discovers and caches the band's
# GATT database) and of one more reconnect of each client at the end.
# docs/PERFORMANCE.md has the figures.
#
#   MIBAND_VM_SCENARIO_TIMEOUT=400 MIBAND_VM_TIMEOUT=600 \
#       tests/vm/run.sh -b BUILD bench-auth
#
# Kernel command line knobs (MIBAND_VM_APPEND): bench.runs=N runs of each
# client (default 10), bench.timeline=1 prints the timestamped output of
# the first measured run of each.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
RUNS=10
TIMELINE=
for a in $(cat /proc/cmdline); do
	case "$a" in
	bench.runs=*) RUNS=${a#bench.runs=} ;;
	bench.timeline=1) TIMELINE=--timeline ;;
	esac
done
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
export XDG_DATA_HOME=/tmp/client-data
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME

# scan first (btvirt: see central-auth.sh); BlueZ then knows the band
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 6 scan
SCAN_PID=$!
# not --verbose: the emulator's log lines would cost it time in every run
spawn_as band $EMU_LOG miband-emu --adapter hci0 --model mb3 --key "$KEY" \
	--pairing never
EMU_PID=$!
wait_log $EMU_LOG 'miband-emu: ready|miband-emu: error' 20 ||
	fail "miband-emu did not come up in 20 s"
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
wait $SCAN_PID || fail "scan: $(tail -n 3 /tmp/scan.log)"
grep -q "$ADDR" /tmp/scan.log || fail "the scan did not see the band"
runas client mibandctl keys import --device "$ADDR" --key "$KEY" \
	>/tmp/import.log 2>&1 || fail "keys import: $(cat /tmp/import.log)"

log "band $ADDR; $RUNS runs of each client"
# the first connection: BlueZ discovers the band's GATT database and
# caches it, so every later run is a reconnect
python3 -u $E2E/guest/bench_auth.py att --address "$ADDR" --key "$KEY" \
	--label "first connection (mibandctl)" mibandctl ||
	fail "ATT count of the first connection failed"
python3 -u $E2E/guest/bench_auth.py run --address "$ADDR" --key "$KEY" \
	--runs "$RUNS" $TIMELINE || fail "a client failed"
for c in mibandctl bleak; do
	python3 -u $E2E/guest/bench_auth.py att --address "$ADDR" --key "$KEY" \
		$c || fail "ATT count of $c failed"
done
log "load: $(cat /proc/loadavg)"
stop_emu
pass
