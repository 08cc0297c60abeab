#!/usr/bin/env bash
# mibandctl sync / export / stats end to end on the emulated band
# (issue 5).  Runs in a sandbox HOME with the band's clock pinned
# (MIBANDCTL_EMU_CLOCK), so its history window is the same every run:
# 100 days before 2025-11-24T16:00Z.  The C suite test-store checks the
# samples themselves against miband_history_sample(); this checks the
# commands: formats, ranges, idempotence, faults and resume, exit codes.
#   tests/cli-history.test.sh BUILD_DIR [SOURCE_DIR]
set -uo pipefail
build=$1
M="$build/mibandctl"
[ -x "$M" ] || { echo "not ok - $M not built"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# as in tests/lib/cli.sh: mibandctl under a wrapper (valgrind)
if [ -n "${MIBANDCTL_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$MIBANDCTL_WRAPPER" "$M" >"$T/mibandctl"
	chmod +x "$T/mibandctl"
	M="$T/mibandctl"
fi
export HOME="$T/home" TZ=UTC MIBANDCTL_EMU_CLOCK=1764000000
unset XDG_DATA_HOME XDG_CONFIG_HOME XDG_STATE_HOME MIBANDCTL_EMU_FAULT
mkdir -p "$HOME"
DB="$HOME/.local/share/miband/miband.db"
FIRST=2025-08-16T16:00Z # the band's oldest minute
NOW=2025-11-24T16:00Z   # its clock when each run starts
. "${2:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/tap.sh"
bad() { not_ok "$@"; }
status() { # status WANT NAME COMMAND...: exit status is WANT
	local want=$1 name=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		bad "$name (exit $got, want $want)"; sed 's/^/#   /' "$T/err"
	fi
}
rows() { "$M" export --format jsonl "$@" | wc -l; }

status 8 "export before any sync says there is no database" \
	"$M" export
check "  ... and names the way out" grep -q "run \`mibandctl sync" "$T/err"
[ ! -e "$DB" ] && ok "  ... without creating one" || bad "export created $DB"

status 0 "pair with the emulated band" "$M" --device emu pair

# a fault in the middle: whole batches kept, exit 7, then resume
MIBANDCTL_EMU_FAULT=corrupt:1000 status 7 "a corrupt counter stops sync (exit 7)" \
	"$M" --device emu sync
check "  ... the message says it will be fetched again" grep -q "FETCH_GAP" "$T/err"
kept=$(rows)
[ "$kept" -eq 2880 ] && ok "  ... the two complete batches were kept" ||
	bad "kept $kept rows, want 2880"
MIBANDCTL_EMU_FAULT=disconnect:900 status 4 "a disconnect stops sync (exit 4)" \
	"$M" --device emu sync
MIBANDCTL_EMU_FAULT=stall:5 status 4 "a stall times out (exit 4)" \
	"$M" --device emu sync
[ "$(rows)" -eq $((2880 + 2 * 1440)) ] && ok "  ... each resumed after the last batch" ||
	bad "rows $(rows), want $((2880 + 2 * 1440))"

status 0 "sync resumes and completes" "$M" --device emu sync
check "  ... and says what it stored" grep -q "^sync: emu: .* samples from" "$T/out"
total=$(rows)
win=$(rows --from $FIRST --to $NOW)
[ "$win" -eq 144000 ] && ok "100 days = 144000 minutes stored" ||
	bad "window has $win rows, want 144000"
"$M" export --format csv --from $FIRST --to $NOW >"$T/full.csv"

status 0 "a second sync finds nothing new" "$M" --device emu sync
check "  ... says so" grep -q "up to date" "$T/out"
status 0 "sync --since the beginning fetches everything again" \
	"$M" --json --device emu sync --since $FIRST
check "  ... with JSON progress lines" grep -q '"type":"sync-progress"' "$T/out"
check "  ... and nothing new or changed" \
	grep -q '"type":"sync".*"added":[0-9]*,"changed":0' "$T/out"
added=$(grep '"type":"sync"' "$T/out" | sed -E 's/.*"added":([0-9]+).*/\1/')
[ "$added" -le 2 ] && ok "  ... (only minutes the band completed since: $added)" ||
	bad "re-sync added $added"
"$M" export --format csv --from $FIRST --to $NOW >"$T/again.csv"
check "the export is identical after re-sync, faults and resume" \
	cmp -s "$T/full.csv" "$T/again.csv"

# formats
check "CSV header" test "$(head -1 "$T/full.csv")" = \
	"band,time,kind,activity,intensity,steps,heart_rate"$'\r'
check "CSV lines end in CRLF (RFC 4180)" test "$(grep -c $'\r$' "$T/full.csv")" -eq "$(wc -l <"$T/full.csv")"
check "CSV first row is the band's oldest minute" \
	grep -q "^emu,2025-08-16T16:00:00Z," <(sed -n 2p "$T/full.csv")
check "JSON Lines: every line an object, minutes consecutive" python3 - "$M" <<'PY'
import json, subprocess, sys
from datetime import datetime, timezone
out = subprocess.run([sys.argv[1], "export", "--format", "jsonl", "--from",
                      "2025-11-01", "--to", "2025-11-03"],
                     capture_output=True, text=True, check=True).stdout
rows = [json.loads(l) for l in out.splitlines()]
assert len(rows) == 2880, len(rows)
assert all(r["type"] == "sample" for r in rows), rows[0]
ts = [datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() for r in rows]
assert ts[0] == datetime(2025, 11, 1, tzinfo=timezone.utc).timestamp()
assert all(b - a == 60 for a, b in zip(ts, ts[1:]))
for r in rows:
    assert set(r) == {"type", "band", "time", "kind", "activity", "intensity", "steps", "heart_rate"}
    assert r["heart_rate"] is None or 0 < r["heart_rate"] < 255
PY
"$M" --json export --from 2025-11-01 --to 2025-11-01T01:00 >"$T/json-export"
check "--json export writes JSON Lines, not CSV" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 60 and all("time" in r for r in rows), rows[:1]
' "$T/json-export"
"$M" --json export --format csv --from 2025-11-01 --to 2025-11-01T01:00 >"$T/csv-export"
check "  ... unless --format says csv" grep -q "^band,time," "$T/csv-export"
"$M" export --from $FIRST --to $NOW 2>"$T/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
check "export | head -1: the reader's choice, exit 0" test "$rc" -eq 0
check "  ... and no error message" test ! -s "$T/err"
[ "$(rows --from 2025-11-01 --to 2025-11-02)" -eq 1440 ] &&
	ok "--from/--to select one day" || bad "one day"
[ "$(rows --band emu --to 2025-08-17)" -eq 480 ] &&
	ok "--band and an open start" || bad "band filter"
[ "$(rows --from 2025-11-01T01:00+01:00 --to 2025-11-01T02:00:00Z)" -eq 120 ] &&
	ok "--from with an offset" || bad "offset"
# one ISO 8601 grammar with time --set (common/timefmt.h): 't' and 'z'
# in lower case too, a zone of hours alone or HHMM
[ "$(rows --from 2025-11-01t01:00+0100 --to 2025-11-01t02:00:00z)" -eq 120 ] &&
	ok "--from/--to in lower case and +HHMM" || bad "lower-case t/z"
[ "$(rows --from 2025-11-01T01:00+01 --to 2025-11-01T02:00Z)" -eq 120 ] &&
	ok "--from with +HH" || bad "+HH"
status 2 "a zone cut after its colon is refused" "$M" export --from 2025-11-01T01:00+01:
TZ="CET-1CEST,M3.5.0,M10.5.0/3" status 2 "a local --from the zone skips is refused" \
	"$M" export --from 2025-03-30T02:30
TZ="CET-1CEST,M3.5.0,M10.5.0/3" status 2 "  ... and one it passes twice" \
	"$M" export --to 2025-10-26T02:30

# stats agree with the export they summarise
"$M" --json stats --utc --from $FIRST --to $NOW >"$T/stats" 2>"$T/err"
check "stats --json: one line per day" test "$(grep -c '"type":"day"' "$T/stats")" -eq 101
total() { awk '{ s += $1 } END { print s + 0 }'; }
field() { sed -E "s/.*\"$1\":([0-9]+).*/\\1/" "$T/stats" | total; }
sum_stats=$(field steps)
sum_csv=$(tail -n +2 "$T/full.csv" | cut -d, -f6 | total)
[ "$sum_stats" = "$sum_csv" ] && ok "stats steps = the export's ($sum_csv)" ||
	bad "stats steps $sum_stats, export $sum_csv"
min_stats=$(field minutes)
[ "$min_stats" -eq 144000 ] && ok "stats minutes add up" || bad "minutes $min_stats"
light_csv=$(grep -c ',light-sleep,' "$T/full.csv")
light_stats=$(field light_sleep)
[ "$light_csv" = "$light_stats" ] && ok "stats light sleep = the export's" ||
	bad "light sleep $light_stats vs $light_csv"
status 0 "stats in human form" "$M" stats --from 2025-11-01 --to 2025-11-03
check "  ... a header and two days" test "$(wc -l <"$T/out")" -eq 3

# --keep-on-band: no 03 acknowledgement on the wire
"$M" -v --device emu sync --keep-on-band --since 2025-11-24T10:00Z 2>"$T/err" >/dev/null
if grep -q "fetch-ctl   write     02" "$T/err" &&
	! grep -q "fetch-ctl   write     03" "$T/err"; then
	ok "--keep-on-band sends no 03"
else bad "--keep-on-band"; fi
"$M" -v --device emu sync --since 2025-11-24T10:00Z 2>"$T/err" >/dev/null
check "without it every batch is acknowledged" grep -q "fetch-ctl   write     03" "$T/err"

# usage and errors
status 2 "export --format xml is a usage error" "$M" export --format xml
status 2 "sync does not take --format" "$M" --device emu sync --format csv
status 2 "battery does not take --since" "$M" --device emu battery --since 2025-01-01
status 2 "a bad --from" "$M" export --from yesterday
status 2 "a reversed range is a usage error" "$M" export --from 2025-11-05 --to 2025-11-01
check "  ... with nothing on stdout" test ! -s "$T/out"
check "  ... and says why" grep -q "is after --to" "$T/err"
status 2 "stats too" "$M" stats --from 2025-11-05T00:00Z --to 2025-11-05T01:00+02:00
status 0 "an equal --from and --to is an empty range, not an error" \
	"$M" export --from 2025-11-05 --to 2025-11-05
status 2 "a bad --since" "$M" --device emu sync --since 2025-13-01
status 3 "an unknown --band" "$M" export --band C8:0F:10:00:00:09
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()" "$DB"
status 8 "a database from a newer libmiband is refused" "$M" export
check "  ... and left alone" test "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$DB")" = 99
status 0 "--db FILE: a database elsewhere" "$M" --device emu sync --db "$T/other.db" --since 2025-11-24T12:00Z
check "  ... one batch is \"1 batch\"" grep -q " in 1 batch, " "$T/out"
[ "$("$M" export --db "$T/other.db" | wc -l)" -ge 241 ] && ok "  ... holds what was synced" ||
	bad "--db export"

finish
