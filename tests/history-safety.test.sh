#!/usr/bin/env bash
# Data safety of sync and the activity database (the issue "what a new
# user broke in an afternoon"): a band clock off the host's, damaged,
# read-only and missing databases.  The emulated band's clock and host
# clock are pinned (MIBANDCTL_EMU_CLOCK, tests/data/cli/lib.sh).
. "$2/tests/data/cli/lib.sh" "$1" "$2"
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
# (time --sync sets the real host time; this emulated host is pinned)
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

finish
