# Helpers for scenarios, sourced by /e2e/runner.sh and by each scenario:
#
#   . /e2e/lib.sh
#
# Conventions: miband-emu runs on hci0 as the ordinary user "band", the
# client on hci1 (as the user "client" or root); project binaries are in
# /e2e/bin (on PATH); logs go to /tmp/*.log, which the runner prints when
# the scenario fails.  A scenario ends with `pass` or `fail "reason"`.
export PATH=/e2e/bin:/usr/sbin:/usr/bin:/sbin:/bin
E2E=/e2e
EMU_LOG=/tmp/emu.log
CLIENT_LOG=/tmp/client.log

uptime_s() { cut -d' ' -f1 /proc/uptime; }
log() { echo "scenario [$(uptime_s)s]: $*"; }
pass() {
	echo "SCENARIO-PASS"
	exit 0
}
fail() {
	echo "SCENARIO-FAIL $*"
	exit 1
}

# wait_until TENTHS CMD...: retry CMD every 0.1 s, at most TENTHS times
wait_until() {
	n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.1
	done
}

# wait_log FILE PATTERN SECS: until an extended regex shows up in FILE
wait_log() {
	wait_until $(($3 * 10)) grep -qE "$2" "$1"
}

# runas USER PROGRAM ARGS...: run as an ordinary user (keeps PATH)
runas() {
	u=$1
	shift
	# busybox su permutes options: everything after -- is left alone
	su -p -s /bin/sh -c 'exec "$0" "$@"' -- "$u" "$@"
}

# spawn_as USER LOG PROGRAM ARGS...: in the background, output to LOG; $!
# is the program itself (su and sh exec), so signals and `wait` reach it.
spawn_as() {
	u=$1
	l=$2
	shift 2
	(exec su -p -s /bin/sh -c 'exec "$0" "$@"' -- "$u" "$@") >"$l" 2>&1 &
}

# start_emu ARGS...: miband-emu on hci0 as user band, --verbose, logging to
# $EMU_LOG; returns when it advertises.  Sets EMU_PID.
start_emu() {
	spawn_as band $EMU_LOG miband-emu --adapter hci0 --verbose "$@"
	EMU_PID=$!
	wait_log $EMU_LOG 'miband-emu: ready|miband-emu: error' 20 ||
		fail "miband-emu did not come up in 20 s"
	grep -q 'miband-emu: ready' $EMU_LOG ||
		fail "miband-emu failed: $(grep 'miband-emu: error' $EMU_LOG)"
	log "miband-emu up (pid $EMU_PID)"
}

# stop_emu: SIGTERM, and the emulator must exit 0 after unregistering.
stop_emu() {
	kill -TERM "$EMU_PID" 2>/dev/null
	wait "$EMU_PID"
	EMU_RC=$?
	[ "$EMU_RC" = 0 ] || fail "miband-emu exited with $EMU_RC after SIGTERM"
	grep -q 'miband-emu: unregistered' $EMU_LOG ||
		fail "miband-emu did not say it unregistered"
	log "miband-emu stopped cleanly"
}

# start_bleak ARGS...: the bleak client (tests/vm/guest/bleak_client.py) on
# hci1 as user client, logging to $CLIENT_LOG; returns once it scans (it
# must scan before the band advertises: see docs/TESTING.md).  Sets
# CLIENT_PID.
start_bleak() {
	spawn_as client $CLIENT_LOG python3 -u $E2E/guest/bleak_client.py \
		--adapter hci1 "$@"
	CLIENT_PID=$!
	wait_log $CLIENT_LOG ': scanning on|Traceback|CLIENT-FAIL' 30 ||
		fail "bleak client did not start scanning in 30 s"
	grep -q ': scanning on' $CLIENT_LOG ||
		fail "bleak client failed: $(tail -n 3 $CLIENT_LOG)"
}

# wait_client: waits for the client; CLIENT_RC is its exit status.
wait_client() {
	wait "$CLIENT_PID"
	CLIENT_RC=$?
	cat $CLIENT_LOG
}

# The emulator's --verbose log must never show key material.
check_no_key_in() { # check_no_key_in FILE HEXKEY
	k=$(echo "$2" | tr -d ' :' | tr 'A-F' 'a-f' | sed 's/^0x//')
	spaced=$(echo "$k" | sed 's/../& /g; s/ $//')
	if grep -qi -e "$k" -e "$spaced" "$1"; then
		fail "the key shows up in $1"
	fi
}
