#!/usr/bin/env bash
# Data safety of sync and the activity database (the issue "what a new
# user broke in an afternoon"): a band clock off the host's, damaged,
# read-only and missing databases.  The emulated band's clock and host
# clock are pinned (MIBANDCTL_EMU_CLOCK, tests/lib/cli.sh).
. "$2/tests/lib/cli.sh" "$1" "$2"
DB="$XDG_DATA_HOME/miband/miband.db"
NOWMIN=$((1764000000 / 60))
rows() { sqlite3 "$DB" "SELECT count(*) FROM samples WHERE minute $1"; }

# ---- 4. a band clock ahead: refused before anything is fetched
expect_rc 0 "clock-skew: pair" pair -d emu --key "$KEY"
expect_rc 0 "clock-skew: first sync" sync -d emu
before=$(rows ">= 0")
expect_rc 0 "clock-skew: set the band two days ahead" time -d emu --set 2025-11-26T17:00+01:00
expect_rc 1 "clock-skew: sync refuses" sync -d emu
check "clock-skew: it says how far ahead and what to do" \
	err_has "is 2880 minutes ahead of this computer's"
check "clock-skew: the hint is time --sync" err_has "mibandctl time --sync"
check "clock-skew: nothing in the future was stored" test "$(rows "> $NOWMIN")" = 0
check "clock-skew: nothing at all was stored" test "$(rows ">= 0")" = "$before"
# (time --set, to a fixed value: the band then agrees with the pinned host)
expect_rc 0 "clock-skew: set the clock right" time -d emu --set 2025-11-24T17:00+01:00
expect_rc 0 "clock-skew: then sync works" sync -d emu
# a database poisoned by an older mibandctl: minutes in the future, and
# the real last hour missing -- the resume point stays before now
sqlite3 "$DB" "DELETE FROM samples WHERE minute >= $((NOWMIN - 60));
	INSERT INTO samples SELECT band, $((NOWMIN + 2880)), kind, intensity,
	steps, heart_rate FROM samples LIMIT 1;
	UPDATE sync_state SET last_minute = $((NOWMIN + 2880));"
expect_rc 0 "clock-skew: sync over a poisoned database" sync -d emu
check "clock-skew: it says the database holds future minutes" err_has "in the future"
check "clock-skew: the real last hour was fetched again" \
	test "$(rows ">= $((NOWMIN - 60)) AND minute < $NOWMIN")" = 60

# ---- 12. a damaged database: said so, with the fix; never acknowledged
cp "$DB" "$T/good.db"
dd if=/dev/urandom of="$DB" bs=4096 seek=300 count=2 conv=notrunc 2>/dev/null
expect_rc 8 "damaged-db: export fails" export
check "damaged-db: export says the database is damaged" err_has "is damaged"
check "damaged-db: no SQLite message twice" \
	sh -c "! grep -q 'malformed (database disk image is malformed)' '$T/err'"
check "damaged-db: it says what to do" err_has "mv '$DB' '$DB.damaged'"
expect_rc 8 "damaged-db: sync fails" sync -d emu
check "damaged-db: sync says nothing was acknowledged" \
	err_has "nothing was fetched from the band or acknowledged to it"
check "damaged-db: sync's hint names the backup" err_has "mv '$DB' '$DB.damaged'"
# what the hint says works, and the band still has its minutes
mv "$DB" "$DB.damaged"
expect_rc 0 "damaged-db: after moving it away sync works" sync -d emu
check "damaged-db: the band's 100 days are stored again" \
	test "$(rows ">= 0")" = "$before"
# the salvage of docs/SCHEMA.md keeps what the damaged file still holds
sqlite3 "$DB.damaged" .dump 2>/dev/null |
	sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 "$T/salvaged.db"
sqlite3 "$T/salvaged.db" "PRAGMA user_version = 1"
expect_rc 0 "damaged-db: the salvaged database exports" export --db "$T/salvaged.db"
check "damaged-db: it holds most of the minutes" \
	test "$(wc -l <"$T/out")" -gt 1000

# ---- 11. read-only and missing databases
R=$(mktemp -d "${TMPDIR:-/tmp}/mibandctl-ro.XXXXXX")
cleanup_hooks="chmod -R u+w '$R'; rm -rf '$R'"
chmod 755 "$R"
mkdir "$R/db"
cp "$T/good.db" "$R/db/m.db"
chmod 644 "$R/db/m.db"
# as root, permissions bind nobody only: run as nobody then
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}
mkdir -m 700 "$R/state" # the emulated band's, for sync
if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$R/db" "$R/state"; fi
chmod 555 "$R/db"
chmod 444 "$R/db/m.db"
# Under a wrapper (test.sh's valgrind stage) the wrapper script in $T is
# root's alone: run the wrapper itself, with a log folder the user may write.
ro_cmd=("$M")
ro_env=()
if [ -n "${MIBANDCTL_WRAPPER:-}" ]; then
	vglogs="${MIBAND_VALGRIND_LOGS:-${TMPDIR:-/tmp}/miband-valgrind}/as-user"
	mkdir -p "$vglogs"
	if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$vglogs"; fi
	ro_cmd=("$MIBANDCTL_WRAPPER" "$build/mibandctl")
	ro_env=(MIBAND_VALGRIND_LOGS="$vglogs")
fi
ro() {
	set +e
	as_user env -i PATH=/usr/bin:/bin HOME=/ TZ="$TZ" "${ro_env[@]}" \
		XDG_STATE_HOME="$R/state" MIBANDCTL_EMU_CLOCK=1764000000 "${ro_cmd[@]}" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
}
ro export --db "$R/db/m.db"
check "read-only-db: export works on a read-only database ($rc)" test "$rc" = 0
check "read-only-db: export has every minute" test "$(wc -l <"$T/out")" = "$(($(sqlite3 "$R/db/m.db" 'SELECT count(*) FROM samples') + 1))"
ro stats --db "$R/db/m.db" --from 2025-11-20 --to 2025-11-21
check "read-only-db: stats works on a read-only database ($rc)" test "$rc" = 0
check "read-only-db: stats shows the day" out_has "2025-11-20"
ro sync -d emu --key "$KEY" --db "$R/db/m.db"
check "read-only-db: sync fails with exit 8 ($rc)" test "$rc" = 8
check "read-only-db: sync says permission denied and the path" \
	err_has "cannot write the activity database $R/db/m.db: permission denied"
expect_rc 8 "missing-db: sync into a missing folder" sync -d emu --db "$R/none/m.db"
check "missing-db: it says the folder does not exist" \
	err_has "the folder $R/none does not exist"
expect_rc 8 "missing-db: export of a missing database" export --db "$R/db/none.db"
check "missing-db: export says there is none yet" err_has "no activity database at $R/db/none.db yet"

# ---- 7. stats cuts days in one zone, across both DST changes of a year
export XDG_DATA_HOME="$T/dst"
DB="$XDG_DATA_HOME/miband/miband.db"
# two syncs: 100 days before 2025-04-15 (March 30 change), then before
# 2025-11-24 (October 26 change)
MIBANDCTL_EMU_CLOCK=1744675200 mb time -d emu --set 2025-04-15T02:00+02:00
MIBANDCTL_EMU_CLOCK=1744675200 expect_rc 0 "dst-days: sync up to April" sync -d emu
mb time -d emu --set 2025-11-24T17:00+01:00
expect_rc 0 "dst-days: sync up to November" sync -d emu
for zone in Europe/Paris "$TZ" UTC; do
	for utc in "" --utc; do
		TZ=$zone expect_rc 0 "dst-days: export ($zone)" export
		cp "$T/out" "$T/export.csv"
		TZ=$zone expect_rc 0 "dst-days: stats $utc ($zone)" --json stats $utc
		check "dst-days: stats $utc = export summed per day ($zone)" \
			env TZ="$zone" python3 -c '
import csv, json, sys, time, calendar, collections
utc = sys.argv[3] == "--utc"
steps = collections.Counter(); mins = collections.Counter()
for r in csv.DictReader(open(sys.argv[1])):
    t = calendar.timegm(time.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ"))
    d = time.strftime("%Y-%m-%d", time.gmtime(t) if utc else time.localtime(t))
    steps[d] += int(r["steps"]); mins[d] += 1
days = [json.loads(l) for l in open(sys.argv[2])]
got = {d["date"]: (d["steps"], d["minutes"]) for d in days}
want = {d: (steps[d], mins[d]) for d in steps}
assert got == want, sorted(set(got.items()) ^ set(want.items()))[:6]
if not utc and sys.argv[4] != "UTC":
    assert got["2025-03-30"][1] == 1380 and got["2025-10-26"][1] == 1500, got
' "$T/export.csv" "$T/out" "${utc:-local}" "$zone"
	done
done
TZ=Europe/Paris expect_rc 0 "dst-days: a September range" --json stats --from 2025-09-01 --to 2025-09-03
check "dst-days: exactly the two days asked for" python3 -c '
import json, sys
d = [json.loads(l)["date"] for l in open(sys.argv[1])]
assert d == ["2025-09-01", "2025-09-02"], d
' "$T/out"
TZ=Europe/Paris expect_rc 0 "dst-days: --utc --from is UTC" --json stats --utc --from 2025-10-01 --to 2025-10-02
check "dst-days: --utc --from 2025-10-01 starts on 10-01" python3 -c '
import json, sys
d = [json.loads(l)["date"] for l in open(sys.argv[1])]
assert d == ["2025-10-01"], d
' "$T/out"

finish
