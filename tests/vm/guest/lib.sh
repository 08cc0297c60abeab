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

# ---- bluetoothd, which the runner restarts when it dies ----
BLUEZ_STATE=/run/e2e
# bluez_restarts: how many times bluetoothd was restarted so far
bluez_restarts() { cat $BLUEZ_STATE/bluez.restarts 2>/dev/null || echo 0; }

# power_on hciN: true once the adapter is powered (else asks for it)
power_on() {
	dbus-send --system --print-reply --dest=org.bluez /org/bluez/$1 \
		org.freedesktop.DBus.Properties.Get string:org.bluez.Adapter1 \
		string:Powered 2>/dev/null | grep -q 'boolean true' && return 0
	dbus-send --system --print-reply --dest=org.bluez /org/bluez/$1 \
		org.freedesktop.DBus.Properties.Set string:org.bluez.Adapter1 \
		string:Powered variant:boolean:true >/dev/null 2>&1
	return 1
}

# bluez_restarted_since COUNT: bluetoothd was restarted since the count
bluez_restarted_since() { [ "$(bluez_restarts)" != "$1" ]; }

# bluez_ready SECS: until bluetoothd answers with both adapters powered
bluez_ready() {
	wait_until $(($1 * 10)) power_on hci0 && wait_until 100 power_on hci1
}

# bluez_step STEP ARGS...: runs a step, a shell function that returns 0,
# or non-zero with the reason in WHY.  When the step fails because
# bluetoothd died under it (the restart count grew), that is bluetoothd's
# doing, not our programs': the step runs again once the restarted
# bluetoothd is ready (twice more at most).  Any other failure fails the
# scenario with WHY.
bluez_step() {
	tries=0
	while :; do
		bluez_ready 30 || fail "bluetoothd is not up (restarts: $(bluez_restarts))"
		r0=$(bluez_restarts)
		WHY=
		"$@" && return 0
		# the watchdog counts a death as soon as it reaps bluetoothd;
		# a failure that is not bluetoothd's costs these 2 s
		wait_until 20 bluez_restarted_since "$r0" ||
			fail "${WHY:-$1 failed}"
		tries=$((tries + 1))
		[ $tries -le 2 ] ||
			fail "${WHY:-$1 failed} (bluetoothd died under it $tries times)"
		log "bluetoothd died under $1 (${WHY:-failed}): again"
	done
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

# discard_emu: kills miband-emu (a failed step's), keeps its log as
# /tmp/emu-discarded-N.log for the dump
discard_emu() {
	kill -KILL "$EMU_PID" 2>/dev/null
	wait "$EMU_PID"
	n=1
	while [ -e "/tmp/emu-discarded-$n.log" ]; do n=$((n + 1)); done
	mv $EMU_LOG "/tmp/emu-discarded-$n.log"
}

# emu_settled: miband-emu said it is ready or failed, or it is gone
emu_settled() {
	grep -qE 'miband-emu: (ready|error)' $EMU_LOG ||
		[ ! -e /proc/$EMU_PID ] ||
		grep -q '^[0-9]* ([^)]*) Z' /proc/$EMU_PID/stat
}

# try_start_emu ARGS...: miband-emu on hci0 as user band, --verbose,
# logging to $EMU_LOG; returns 0 when it advertises, else 1 with WHY and
# the emulator discarded.  Sets EMU_PID, EMU_RESTARTS.
try_start_emu() {
	EMU_RESTARTS=$(bluez_restarts)
	spawn_as band $EMU_LOG miband-emu --adapter hci0 --verbose "$@"
	EMU_PID=$!
	if ! wait_until 200 emu_settled; then
		WHY="miband-emu did not come up in 20 s"
	elif grep -q 'miband-emu: error' $EMU_LOG; then
		WHY="miband-emu failed: $(grep 'miband-emu: error' $EMU_LOG)"
	elif ! grep -q 'miband-emu: ready' $EMU_LOG; then
		WHY="miband-emu exited: $(tail -n 2 $EMU_LOG)"
	else
		log "miband-emu up (pid $EMU_PID)"
		return 0
	fi
	discard_emu
	return 1
}

# start_emu ARGS...: try_start_emu, again if bluetoothd died under it.
start_emu() {
	bluez_step try_start_emu "$@"
}

# stop_emu: SIGTERM, and the emulator must exit 0 after unregistering
# (unless bluetoothd died under it: then it must have said so and exit 1).
stop_emu() {
	kill -TERM "$EMU_PID" 2>/dev/null
	wait "$EMU_PID"
	EMU_RC=$?
	if [ "$EMU_RC" = 1 ] && [ "$(bluez_restarts)" != "$EMU_RESTARTS" ] &&
		grep -q 'miband-emu: error: bluetoothd went away' $EMU_LOG; then
		log "miband-emu ended when bluetoothd died under it"
		return 0
	fi
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
