#!/usr/bin/env bash
# Acknowledge-after-commit, proven on the real `mibandctl sync` against an
# emulated band that erases what it acknowledged (MIBANDCTL_EMU_ERASE=1,
# as a real band may: PROTOCOL.md, UNCONFIRMED).  mibandctl is SIGKILLed
# as each history packet of a sync in turn enters the link (MIBANDCTL_EMU_KILL=N:
# the 01/02/03 writes, the band's 10 xx replies, every data packet, so
# also between the 03 and the band's answer); then a new sync runs.  No
# minute the band held may be missing.  Deterministic: the kill comes
# from the emulated link itself, no timing involved.
. "$2/tests/lib/cli.sh" "$1" "$2"
export MIBANDCTL_EMU_ERASE=1 MIBANDCTL_EMU_BATCH=20
DB="$XDG_DATA_HOME/miband/miband.db"
SINCE=2025-11-24T15:00Z # an hour before the band's clock: 3 rounds of 20
S=$(((1764000000 - 3600) / 60))
rows() { sqlite3 "$DB" "SELECT count(*) FROM samples WHERE minute >= $S AND minute < $((S + 60))" 2>/dev/null || echo 0; }

fresh() { rm -rf "$XDG_STATE_HOME" "$XDG_DATA_HOME"; "$M" pair -d emu --key "$KEY" >/dev/null; }

# the band really erases: a second database gets nothing
fresh
expect_rc 0 "erase: a whole sync" sync -d emu --since "$SINCE"
check "erase: it stored the hour" test "$(rows)" = 60
expect_rc 0 "erase: a sync into another database" sync -d emu --since "$SINCE" --db "$T/other.db"
check "erase: the band had erased what it acknowledged" \
	test "$(sqlite3 "$T/other.db" 'SELECT count(*) FROM samples')" = 0

killed=0
for k in $(seq 0 200); do
	fresh
	# through sh, so that bash does not report the kill; the binary
	# itself, not $M: under test.sh's valgrind wrapper a process that is
	# SIGKILLed mid-transaction still gets a leak check, which reports
	# SQLite's live memory (the sync after it runs under the wrapper)
	MIBANDCTL_EMU_KILL=$k sh -c '"$@" >"$0/out" 2>"$0/err"; echo $? >"$0/rc"' \
		"$T" "$build/mibandctl" sync -d emu --since "$SINCE"
	rc=$(cat "$T/rc")
	if [ "$rc" != 137 ]; then
		check "kill-at-every-packet: past the last packet ($k) the sync completes" test "$rc" = 0
		break
	fi
	killed=$((killed + 1))
	expect_rc 0 "kill-at-packet-$k: the next sync" sync -d emu --since "$SINCE"
	check "kill-at-packet-$k: no minute is missing" test "$(rows)" = 60
done
check "kill-at-every-packet: killed before each of the $killed packets (3 rounds of 11, 2 in the last)" \
	test "$killed" = 35

finish
