#!/usr/bin/env bash
# mibandctl against the emulated band (--device emu): every command, its
# human output and its JSON output against golden transcripts, the band's
# state kept between commands, and the exit status of each failure class.
# ctest passes the build dir ($1) and the source dir ($2).
. "$2/tests/lib/cli.sh" "$1" "$2"

# A transcript: "$ mibandctl ARGS", what it printed (stdout, then stderr),
# and its exit status.  Keys (here always $KEY) never appear in full.
session() {
	local out=$1
	shift
	: >"$out"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		eval "set -- $line"
		echo "\$ mibandctl $line" >>"$out"
		set +e
		"$M" "$@" >>"$out" 2>&1
		echo "[exit $?]" >>"$out"
		set -e
	done
}

COMMANDS=$(cat <<CMDS
scan --device emu
battery --device emu
pair --device emu --key $KEY
auth
info
battery
steps
time
time --set 2025-07-01T14:00:00
time
time --set 2025-11-24T17:00:00+01:00
time
hr
alert call Alice
alert text Lunch 'Pizza at 12:30, table 4 🍕'
alert vibrate
alert stop
config time-format 24
config date-format dd.MM.yyyy
config display-items notifications,heart-rate,status
config wrist left
config goal 10000
config goal-notification on
config dnd 22:00-07:00
config night-mode sunset
config lift-to-wake on
config user born=1990-05-17,sex=female,height=170,weight=60
keys list
auth --key 00112233445566778899aabbccddeeff
battery --device emu --emu-pairing decline
CMDS
)

# ---- human output
echo "$COMMANDS" | session "$T/human.txt"
# MIBAND_UPDATE_GOLDEN=1 rewrites the golden files (tests/lib/tap.sh)
golden "human transcript matches tests/data/cli/emu-session.txt" \
	"$DATA/emu-session.txt" "$T/human.txt"

# ---- JSON output: a fresh band, the same commands with --json
rm -rf "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
echo "$COMMANDS" | sed 's/^/--json /' | session "$T/json.txt"
golden "JSON transcript matches tests/data/cli/emu-session.json.txt" \
	"$DATA/emu-session.json.txt" "$T/json.txt"
# every stdout line of every --json command is one JSON object
grep -v -e '^\$ ' -e '^\[exit' -e '^mibandctl: ' "$T/json.txt" >"$T/json-lines"
check "every --json line parses as a JSON object" json_lines "$T/json-lines"
check "--json errors come as JSON objects with their name and exit" \
	python3 -c '
import json, sys
errs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"type\":\"error\"")]
names = {e["error"]: e["exit"] for e in errs}
assert names == {"NO_KEY": 3, "WRONG_KEY": 5}, names
' "$T/json.txt"

# ---- values checked independently of the golden files
mb time --device emu --json
check "time reads the band clock: 2025-11-24 17:00 +01:00 (MIBANDCTL_EMU_CLOCK in CET)" \
	python3 -c '
import json, sys, datetime
o = json.load(open(sys.argv[1]))
t = datetime.datetime.fromisoformat(o["time"])
assert t.utcoffset() == datetime.timedelta(hours=1), o
assert int(t.timestamp()) == 1764000000, (o, t.timestamp())
assert o["day"] == "Monday" and o["tz_quarter_hours"] == 4, o
' "$T/out"
mb time --device emu --set 2025-07-01T14:00:00 --json
check "--set without a zone takes the host zone with DST (+02:00 in July)" \
	grep -q '"time":"2025-07-01T14:00:00+02:00","tz_quarter_hours":8,"day":"Tuesday"' "$T/out"
mb time --device emu --json
check "the band keeps a set clock between commands" \
	grep -q '"time":"2025-07-01T14:00:00+02:00"' "$T/out"
TZ="NPT-5:45" mb time --device emu --sync --json
check "--sync sends the host zone in quarter hours (+05:45 = 23)" \
	grep -q '"tz_quarter_hours":23' "$T/out"
check "--sync sends the host's local time and day of week" python3 -c '
import json, sys, datetime
o = json.load(open(sys.argv[1]))
t = datetime.datetime.fromisoformat(o["time"])
now = datetime.datetime.now(datetime.timezone.utc)
assert abs((now - t).total_seconds()) < 120, (o, now)
assert t.strftime("%A") == o["day"], o
' "$T/out"
mb time --device emu --json
check "after --sync the band shows the host time" python3 -c '
import json, sys, datetime
o = json.load(open(sys.argv[1]))
t = datetime.datetime.fromisoformat(o["time"])
# the host clock of the emulated band is pinned by MIBANDCTL_EMU_CLOCK,
# so the band runs at real time + (real now - pinned clock) afterwards;
# what matters is the zone it was given
assert t.utcoffset() == datetime.timedelta(hours=5, minutes=45), o
' "$T/out"
mb time --device emu --set 2025-11-24T17:00:00+01:00

# ---- the band's state survives between commands
rm -rf "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
expect_rc 0 "pair stores a new key" pair --device emu --new-key
check "the key store entry is mode 0600" test "$(stat -c %a "$XDG_CONFIG_HOME/miband/keys/emu")" = 600
check "the key store directory is mode 0700" test "$(stat -c %a "$XDG_CONFIG_HOME/miband/keys")" = 700
check "the emulated band's state is mode 0600" test "$(stat -c %a "$XDG_STATE_HOME/miband/emu/band")" = 600
check "the band's state dir is mode 0700" test "$(stat -c %a "$XDG_STATE_HOME/miband/emu")" = 700
expect_rc 0 "a later auth meets the same band, without a prompt" auth --device emu -v
check "no pairing prompt on auth" sh -c "! grep -q 'tap to pair' '$T/err'"
check "auth reports model and firmware" grep -q '^firmware: V' "$T/out"
expect_rc 0 "the only stored band is the default device" battery
# a new band (state removed) does not know the key any more
rm -rf "$XDG_STATE_HOME"
expect_rc 5 "a band that forgot the key rejects auth (WRONG_KEY or RANDOM_FAILED)" battery
check "the message says how to fix it" err_has "pair"

# ---- exit status per failure class
rm -rf "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
expect_rc 6 "pairing declined on the band" pair --device emu --emu-pairing decline
check "declined is PAIR_DECLINED" err_has "[PAIR_DECLINED]"
check "nothing is stored after a declined pairing" test ! -e "$XDG_CONFIG_HOME/miband/keys/emu"
expect_rc 6 "nobody taps: pairing times out" pair --device emu --emu-pairing never
check "never is PAIR_TIMEOUT" err_has "[PAIR_TIMEOUT]"
expect_rc 6 "nobody taps, --timeout 2: still PAIR_TIMEOUT" pair --device emu --emu-pairing never --timeout 2
expect_rc 0 "pairing accepted" pair --device emu --key "0x$KEY"
expect_rc 5 "wrong key" auth --device emu --key 0102030405060708090a0b0c0d0e0f10
check "wrong key is WRONG_KEY" err_has "[WRONG_KEY]"
expect_rc 2 "non-UTF-8 text" alert text Title "$(printf 'caf\xe9')"
check "non-UTF-8 is BAD_UTF8" err_has "[BAD_UTF8]"
expect_rc 2 "non-UTF-8 caller" alert call "$(printf '\xc3\x28')"
expect_rc 2 "bad time" time --set 2025-13-01T00:00
check "bad time is BAD_TIME" err_has "[BAD_TIME]"
expect_rc 2 "time zone not in quarter hours" time --set 2025-01-01T00:00+01:10
expect_rc 2 "unknown config key" config brightness 5
expect_rc 2 "bad config value" config time-format 13
expect_rc 2 "events without --follow" events
expect_rc 2 "unknown command" frobnicate
expect_rc 2 "option a command does not take" battery --follow
expect_rc 2 "--sync and --set together" time --sync --set 2025-01-01T00:00
expect_rc 1 "unix:PATH is not supported yet" battery --device unix:/tmp/x
check "unix: is UNSUPPORTED" err_has "[UNSUPPORTED]"

# ---- help and version
expect_rc 0 "--help" --help
for code in 0 1 2 3 4 5 6 7 8; do
	check "--help documents exit status $code" grep -qE "^  $code  " "$T/out"
done
for cmd in scan pair auth info battery steps time hr alert events config keys; do
	check "--help lists $cmd" grep -qE "^  $cmd " "$T/out"
done
expect_rc 0 "per-command help: hr --help" hr --help
check "hr --help explains --follow" out_has "--follow"
expect_rc 0 "help config" help config
check "help config lists the keys" out_has "night-mode"
expect_rc 0 "--version" --version
check "--version names the library" grep -q "^mibandctl .* (libmiband " "$T/out"
expect_rc 2 "no command" 

# a long text is cut on a character boundary by the codec
long=$(python3 -c 'print("é" * 300)')
expect_rc 0 "a 600-byte text is accepted and cut" alert text "Title" "$long" --json
check "the message was cut to the band's limit (230 bytes)" \
	python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert 200 < o["bytes"] <= 230, o' "$T/out"

finish
