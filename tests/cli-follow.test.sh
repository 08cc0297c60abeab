#!/usr/bin/env bash
# --follow on the emulated band: streams at the band's own rate (paced
# virtual time, sped up with MIBANDCTL_EMU_SPEED so the test is quick),
# one JSON object per line, continuous heart rate kept alive past the
# band's 15 s timeout, and a clean end on SIGINT/SIGTERM: heart rate
# stopped, exit 0.  Lines are read from a FIFO as they come (no sleeps).
. "$2/tests/lib/cli.sh" "$1" "$2"

expect_rc 0 "pair the emulated band" pair --device emu --key "$KEY"

# follow NAME SIGNAL LINES ARGS...: starts mibandctl ARGS, reads LINES
# lines of its stdout, sends SIGNAL, collects the rest; sets rc.
follow() {
	local name=$1 sig=$2 want=$3 pid line i
	shift 3
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	"$M" "$@" >"$T/fifo" 2>"$T/err" &
	pid=$!
	cleanup_hooks="kill $pid 2>/dev/null || true; $cleanup_hooks"
	exec 3<"$T/fifo"
	: >"$T/out"
	for ((i = 0; i < want; i++)); do
		# -t is only a safety net against a hang, not a sync
		if ! IFS= read -r -t 60 line <&3; then
			echo "# $name: only $i of $want lines"
			break
		fi
		printf '%s\n' "$line" >>"$T/out"
	done
	kill -s "$sig" "$pid"
	cat <&3 >>"$T/out"
	exec 3<&-
	set +e
	wait "$pid"
	rc=$?
	set -e
}

# ---- heart rate: 60 virtual seconds at 30x
MIBANDCTL_EMU_SPEED=30 follow hr INT 60 --json -v hr --follow
check "hr --follow ends with exit 0 on SIGINT" test "$rc" = 0
check "hr --follow streams JSON lines" json_lines "$T/out"
check "at least 60 measurements (past the band's 15 s timeout)" \
	test "$(grep -c '"type":"heart-rate"' "$T/out")" -ge 60
check "each has bpm and a time stamp" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["type"] == "heart-rate" and 40 < o["bpm"] < 200 and "time" in o, o
' "$T/out"
check "continuous mode was started (15 01 01)" grep -q "hr-ctl .* write *15 01 01" "$T/err"
check "kept alive with 16 every 12 s (>= 4 in 60 s)" \
	test "$(grep -c "hr-ctl .* write *16$" "$T/err")" -ge 4
check "after SIGINT: stop written (15 01 00)" grep -q "hr-ctl .* write *15 01 00" "$T/err"
check "the band stopped only after our stop, never on its own timeout" \
	awk '/band hr-stop/ && !seen { bad = 1 } /write *15 01 00/ { seen = 1 }
	     END { exit bad || !seen }' "$T/err"
check "the stop came after the last measurement" \
	awk '/hr-meas .*notify/ { last = NR } /write *15 01 00/ { stop = NR }
	     END { exit !(stop > last) }' "$T/err"

# ---- SIGTERM ends as cleanly
MIBANDCTL_EMU_SPEED=30 follow hr-term TERM 3 hr --follow -v
check "hr --follow ends with exit 0 on SIGTERM" test "$rc" = 0
check "human lines" grep -qE '^heart rate: [0-9]+ bpm$' "$T/out"
check "stopped on SIGTERM too" grep -q "hr-ctl .* write *15 01 00" "$T/err"

# ---- SIGHUP (a closed terminal) ends a stream as cleanly
MIBANDCTL_EMU_SPEED=30 follow hr-hup HUP 2 hr --follow -v
check "hr --follow ends with exit 0 on SIGHUP" test "$rc" = 0
check "stopped on SIGHUP too: the band does not keep measuring" \
	grep -q "hr-ctl .* write *15 01 00" "$T/err"

# ---- the reader goes away: | head -1
set +e
MIBANDCTL_EMU_SPEED=30 "$M" hr --follow -v 2>"$T/err" | head -1 >"$T/out"
rc=${PIPESTATUS[0]}
set -e
check "hr --follow | head -1 ends with exit 0 (not 141)" test "$rc" = 0
check "  ... after one line" test "$(wc -l <"$T/out")" = 1
check "  ... and stops the band's heart rate" grep -q "hr-ctl .* write *15 01 00" "$T/err"
check "  ... with no error message" sh -c "! grep -q 'mibandctl: .*\[' '$T/err'"

# ---- a signal during a command that is not a stream: exit 130, said so.
# The emulated band's link raises the signal just before its first packet
# (MIBANDCTL_EMU_SIGNAL=NAME:0), when mibandctl has taken signals over:
# a Ctrl-C at a chosen point, without timing (and under valgrind too).
signalled() {
	local sig=$1
	shift
	set +e
	MIBANDCTL_EMU_SIGNAL=$sig:0 "$M" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
}
signalled INT sync
check "Ctrl-C during sync exits 130" test "$rc" = 130
check "  ... and says what it kept" err_has "interrupted by SIGINT: nothing of this sync was stored"
signalled TERM --json sync
check "  ... SIGTERM as well, in JSON too" grep -q '"error":"CANCELLED".*"exit":130' "$T/out"
MIBANDCTL_EMU_SPEED=30 signalled HUP hr --follow -v
check "a stream ended before it began exits 0" test "$rc" = 0
check "  ... and still stops heart rate" grep -q "hr-ctl .* write *15 01 00" "$T/err"
"$M" --help >"$T/help"
check "--help documents exit status 130" grep -qE "^  130  interrupted" "$T/help"

# ---- device events: the emulated wearer acts every 5 virtual seconds
MIBANDCTL_EMU_SPEED=50 follow events INT 5 events --follow
check "events --follow ends with exit 0" test "$rc" = 0
printf 'event: button\nevent: music play\nevent: music next\nevent: find-phone-start\nevent: find-phone-stop\n' >"$T/want"
head -n 5 "$T/out" >"$T/first5"
check "the wearer's events, in order" diff -u "$T/want" "$T/first5"
MIBANDCTL_EMU_SPEED=50 follow events-json INT 2 --json events --follow
check "events --follow --json" json_lines "$T/out"
check "event objects name the event" grep -q '"type":"event","event":"button","code":4' "$T/out"

# ---- realtime steps: notified when they change, once a minute at most
MIBANDCTL_EMU_SPEED=1200 follow steps INT 3 --json steps --follow
check "steps --follow ends with exit 0" test "$rc" = 0
check "steps --follow streams JSON" json_lines "$T/out"
check "steps go up" python3 -c '
import json, sys
v = [json.loads(l)["steps"] for l in open(sys.argv[1])]
assert len(v) >= 3 and v == sorted(v) and v[-1] > v[0], v
' "$T/out"

finish
