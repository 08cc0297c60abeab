#!/bin/sh
# Runs inside the VM (called by /init).  Starts the Bluetooth stack the way
# a desktop has it, then runs ONE scenario and prints its verdict:
#
#   btvirt (two virtual controllers sharing one virtual air: hci0, hci1)
#   dbus-daemon --system with Debian's own policy (system.conf and bluez's
#     bluetooth.conf), so programs run as ordinary users as on a desktop
#   bluetoothd -n -d with /etc/bluetooth/main.conf: [General] DeviceID=false
#     (no Device Information service of its own: the band serves 0x180A) and
#     [GATT] Channels=1 (plain ATT on CID 4, as a Mi Band uses), under a
#     watchdog: bluetoothd 5.66 sometimes crashes when a link drops under
#     an acquired notification (docs/TESTING.md).  When it dies, the
#     watchdog prints how (exit status or signal, the kernel's trap line,
#     its last log lines; also in /tmp/bluez-deaths.log), counts it in
#     /run/e2e/bluez.restarts and starts it again (at most BLUEZ_MAX
#     times); /run/e2e/bluez.pid names the running one.  Scenarios wait
#     for it and retry the step it broke (lib.sh: bluez_step), and the
#     verdict line says how many restarts there were.
#   both adapters powered
#   /e2e/scenarios/$NAME.sh   (prints SCENARIO-PASS or SCENARIO-FAIL reason)
#
# Kernel command line knobs (run.sh sets them):
#   e2e.scenario=NAME   the scenario; "shell" gives an interactive shell
#   e2e.debug=1         dump every log even when the scenario passes
#   e2e.btvirt=-L,-l2   btvirt arguments, comma separated (default: two LE
#                       controllers, "-L -l2")
#   e2e.timeout=SECS    scenario time limit (default 60)
. /e2e/lib.sh

SCENARIO=
DEBUG=0
BTVIRT_ARGS="-L -l2"
LIMIT=60
for a in $(cat /proc/cmdline); do
	case "$a" in
	e2e.scenario=*) SCENARIO=${a#e2e.scenario=} ;;
	e2e.debug=1) DEBUG=1 ;;
	e2e.btvirt=*) BTVIRT_ARGS=$(echo "${a#e2e.btvirt=}" | tr ',' ' ') ;;
	e2e.timeout=*) LIMIT=${a#e2e.timeout=} ;;
	esac
done

verdict() { # verdict PASS|FAIL reason
	echo "E2E-RESULT: $1 $SCENARIO${2:+: $2} (guest ${T_SC:-?}s scenario," \
		"stack ${T_STACK:-?}s, uptime $(uptime_s)s," \
		"bluetoothd restarts $(bluez_restarts))"
}

dump() {
	for f in /tmp/*.log; do
		case "$f" in
		*/btmon.log | */bluetoothd.log | */scenario.log) continue ;;
		esac
		echo "===== $f ====="
		cat "$f"
	done
	echo "===== bluetoothd -d (last 200 lines) ====="
	tail -n 200 /tmp/bluetoothd.log
	echo "===== btmon (last 400 lines) ====="
	tail -n 400 /tmp/btmon.log
	echo "===== dmesg (bluetooth) ====="
	dmesg | grep -iE 'bluetooth|vhci|hci|alg:' | tail -n 30
}

stack_fail() {
	verdict FAIL "$*"
	dump
	exit 1
}

T0=$(uptime_s)
btmon >/tmp/btmon.log 2>&1 &
# shellcheck disable=SC2086
btvirt $BTVIRT_ARGS >/tmp/btvirt.log 2>&1 &
wait_until 100 test -e /sys/class/bluetooth/hci1 ||
	stack_fail "btvirt did not create hci0 and hci1"

dbus-daemon --system --nofork --nopidfile >/tmp/dbus.log 2>&1 &
wait_until 100 test -S /run/dbus/system_bus_socket ||
	stack_fail "dbus-daemon did not start"
BLUEZ_MAX=5
# bluez_watchdog: runs bluetoothd, and again each time it dies
bluez_watchdog() {
	: >/tmp/bluetoothd.log
	while :; do
		bluetoothd -n -d >>/tmp/bluetoothd.log 2>&1 &
		pid=$!
		echo $pid >$BLUEZ_STATE/bluez.pid
		wait $pid
		rc=$?
		n=$(($(bluez_restarts) + 1))
		how="exit status $rc"
		[ $rc -gt 128 ] && how="signal $((rc - 128)) (SIG$(kill -l $((rc - 128))))"
		{
			echo "runner: bluetoothd (pid $pid) died at $(uptime_s)s: $how"
			dmesg | grep "bluetoothd\[$pid\]" | tail -n 3 |
				sed 's/^/runner:   kernel: /'
			echo "runner:   its last log lines:"
			grep "bluetoothd\[$pid\]" /tmp/bluetoothd.log | tail -n 8 |
				sed 's/^/runner:     /'
		} | tee -a /tmp/bluez-deaths.log
		if [ $n -gt $BLUEZ_MAX ]; then
			echo "runner: bluetoothd died $n times: not restarted"
			return
		fi
		echo "===== bluetoothd restart $n (pid $pid died: $how) =====" \
			>>/tmp/bluetoothd.log
		echo $n >$BLUEZ_STATE/bluez.restarts
		echo "runner: restarting bluetoothd (restart $n)"
	done
}
mkdir -p $BLUEZ_STATE
echo 0 >$BLUEZ_STATE/bluez.restarts
bluez_watchdog &
for hci in hci0 hci1; do
	wait_until 200 dbus-send --system --print-reply --dest=org.bluez \
		/org/bluez/$hci org.freedesktop.DBus.Properties.Get \
		string:org.bluez.Adapter1 string:Address ||
		stack_fail "bluetoothd did not expose $hci"
	# bluetoothd powers adapters itself (AutoEnable) but may still be
	# busy setting one up: retry until Powered reads true
	wait_until 100 power_on $hci || stack_fail "could not power $hci"
done
T_STACK=$(awk "BEGIN {print $(uptime_s) - $T0}")
echo "runner: bluetooth stack up in ${T_STACK}s (btvirt $BTVIRT_ARGS)"

if [ "$SCENARIO" = shell ]; then
	cat <<'EOF'
runner: interactive shell.  hci0 and hci1 are up, bluetoothd runs (log in
  /tmp/bluetoothd.log, btmon in /tmp/btmon.log).  Try:
    btmon                                   # live HCI trace (Ctrl-C)
    su -p -s /bin/sh band -c 'miband-emu --adapter hci0 --verbose' &
    bluetoothctl   (select <hci1 address>, scan le, connect ...)
    ls /e2e/scenarios; sh /e2e/scenarios/bleak-auth.sh
  exit (or Ctrl-D) powers the VM off; Ctrl-A x kills QEMU.
EOF
	setsid cttyhack sh -l
	exit 0
fi

f=/e2e/scenarios/$SCENARIO.sh
[ -f "$f" ] || stack_fail "no scenario $f"
echo "runner: scenario $SCENARIO (limit ${LIMIT}s)"
T1=$(uptime_s)
# The scenario writes to a file that is echoed as it grows (a pipe to tee
# would wait for every process the scenario left behind).
timeout -s TERM "$LIMIT" sh "$f" >/tmp/scenario.log 2>&1 &
SPID=$!
shown=0
show_new() {
	n=$(wc -l </tmp/scenario.log)
	if [ "$n" -gt "$shown" ]; then
		sed -n "$((shown + 1)),${n}p" /tmp/scenario.log
		shown=$n
	fi
}
while kill -0 $SPID 2>/dev/null; do
	sleep 0.1
	show_new
done
wait $SPID
src=$?
show_new
T_SC=$(awk "BEGIN {print $(uptime_s) - $T1}")

if grep -q '^SCENARIO-FAIL' /tmp/scenario.log; then
	reason=$(grep '^SCENARIO-FAIL' /tmp/scenario.log | head -n 1)
	verdict FAIL "${reason#SCENARIO-FAIL}"
	dump
	exit 1
elif grep -q '^SCENARIO-PASS' /tmp/scenario.log && [ $src = 0 ]; then
	[ $DEBUG = 1 ] && dump
	verdict PASS
	exit 0
elif [ $src = 143 ]; then
	verdict FAIL "time limit of ${LIMIT}s reached"
else
	verdict FAIL "no verdict from the scenario (exit status $src)"
fi
dump
exit 1
