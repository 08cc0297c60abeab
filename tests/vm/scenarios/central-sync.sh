#!/bin/sh
# A full history sync over real BlueZ (issue 5): miband-emu holds two days
# of history (--history-days 2, seed 7), `mibandctl sync` with no --since
# fetches all of it (two batches of 1440 minutes, each committed and
# acknowledged, then the empty round), a second sync finds nothing new,
# and `mibandctl export` holds exactly the band's history: it starts at
# the band's first minute, has no gap, and every minute equals
# miband_history_sample(7, minute), recomputed in the guest from
# libmiband.so (tests/vm/guest/history_check.py), never from the store.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1
SEED=7
export XDG_CONFIG_HOME=/tmp/client-config XDG_STATE_HOME=/tmp/client-state
export XDG_DATA_HOME=/tmp/client-data
mkdir -p $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME
chown client $XDG_CONFIG_HOME $XDG_STATE_HOME $XDG_DATA_HOME
ctl() { runas client mibandctl --adapter hci1 "$@"; }

# scan first (btvirt: see central-auth.sh)
spawn_as client /tmp/scan.log mibandctl --adapter hci1 --json --timeout 6 scan
SCAN_PID=$!
start_emu --model mb3 --key "$KEY" --pairing never --seed $SEED \
	--history-days 2
ADDR=$(sed -n 's/.*ready: advertising .* on hci0 \([0-9A-F:]*\),.*/\1/p' $EMU_LOG)
[ -n "$ADDR" ] || fail "no band address in the emulator's log"
FIRST=$(sed -n "s/.*history: seed $SEED, 2 days, first minute \([0-9]*\) .*/\1/p" $EMU_LOG)
[ -n "$FIRST" ] || fail "the emulator did not log its first minute"
wait $SCAN_PID || fail "scan: $(tail -n 3 /tmp/scan.log)"
grep -q "$ADDR" /tmp/scan.log || fail "the scan did not see the band"
ctl keys import --device "$ADDR" --key "$KEY" >/tmp/import.log 2>&1 ||
	fail "keys import: $(cat /tmp/import.log)"

T=$(uptime_s)
ctl --device "$ADDR" --json sync >/tmp/sync.log 2>/tmp/sync-err.log
rc=$?
log "sync rc=$rc in $(awk "BEGIN{print $(uptime_s)-$T}")s: $(tail -n 1 /tmp/sync.log)"
[ $rc = 0 ] || fail "sync exit $rc: $(tail -n 5 /tmp/sync-err.log)"
last=$(grep '"type":"sync"' /tmp/sync.log)
[ -n "$last" ] || fail "sync printed no summary"
samples=$(echo "$last" | sed -n 's/.*"samples":\([0-9]*\).*/\1/p')
batches=$(echo "$last" | sed -n 's/.*"batches":\([0-9]*\).*/\1/p')
[ "${samples:-0}" -ge 2880 ] || fail "sync got $samples samples, want >= 2880"
[ "${batches:-0}" -ge 2 ] || fail "sync committed $batches batches, want >= 2"
[ "$(grep -c 'band: fetch-ack' $EMU_LOG)" -ge 2 ] ||
	fail "the band did not get an acknowledgement per batch"

# nothing new but the minutes the band completed meanwhile
ctl --device "$ADDR" --json sync >/tmp/sync2.log 2>/tmp/sync2-err.log ||
	fail "second sync: $(tail -n 5 /tmp/sync2-err.log)"
added=$(sed -n 's/.*"type":"sync".*"added":\([0-9]*\).*/\1/p' /tmp/sync2.log)
log "second sync: $(tail -n 1 /tmp/sync2.log)"
[ "${added:-0}" -le 2 ] || fail "the second sync added $added samples"

ctl export --format jsonl --band "$ADDR" >/tmp/export.jsonl \
	2>/tmp/export-err.log || fail "export: $(cat /tmp/export-err.log)"
python3 $E2E/guest/history_check.py --lib $E2E/lib/libmiband.so.0 \
	--seed $SEED --first "$FIRST" --min-count 2880 </tmp/export.jsonl \
	>/tmp/check.log 2>&1
rc=$?
log "$(cat /tmp/check.log)"
[ $rc = 0 ] || fail "the export is not the band's history"
stop_emu
pass
