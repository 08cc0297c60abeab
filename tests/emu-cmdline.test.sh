#!/usr/bin/env bash
# miband-emu's command line without Bluetooth: --help documents every
# option of the program and its exit statuses, --version, each bad value
# is a usage error (exit 2) that says what a good one looks like (and a bad
# key is never echoed back), and a machine without a system bus is a
# runtime error (exit 1).  The real peripheral runs in tests/vm.
set -uo pipefail
E="$1/miband-emu"
SRC=$2
. "$SRC/tests/lib/tap.sh"
# check NAME CMD...: as tap.sh's, without the command's output
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi
}
[ -x "$E" ] || { not_ok "$E not built"; finish; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/emu-cmdline.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$E" --help >"$T/help" 2>&1
check "--help exits 0" test $? = 0
# every long option the program parses (its getopt table) is documented
opts=$(sed -n '/struct option opts\[\]/,/};/p' "$SRC/src/cli/miband-emu.c" |
	grep -oE '\{ ?"[a-z-]+"' | grep -oE '[a-z-]+')
check "found the option table" test "$(echo "$opts" | wc -w)" -ge 10
for o in $opts; do
	check "--help documents --$o" grep -qE -- "--$o\b" "$T/help"
done
for v in mb2 mb3 mb4 accept decline never; do
	check "--help names $v" grep -qw -- "$v" "$T/help"
done
for s in 0 1 2; do
	check "--help documents exit status $s" grep -qE "^  $s  " "$T/help"
done

"$E" --version >"$T/version"
check "--version exits 0" test $? = 0
check "--version names the program" grep -q '^miband-emu (libmiband) [0-9]' "$T/version"

usage() { # usage NAME PATTERN ARGS...: exit 2 and PATTERN on stderr
	local name=$1 pat=$2
	shift 2
	"$E" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	check "$name exits 2" test $rc = 2
	check "$name says $pat" grep -q -- "$pat" "$T/err"
	check "$name prints nothing on stdout" test ! -s "$T/out"
}
SECRET=0x8e4a17c2d3b6f05a19e27c44b0d3a6f   # 31 digits: one short
usage "a short key" "32 hexadecimal digits" --key "$SECRET"
check "a bad key is not echoed" sh -c "! grep -q 8e4a17c2 '$T/err'"
usage "a key with a bad digit" "0x prefix, spaces or colons" \
	--key 30313233343536373839404142434g45
usage "an unknown model" "unknown model 'mb9': use mb2, mb3 or mb4" --model mb9
usage "an unknown model under the old name" "use mb2, mb3 or mb4" --profile mb9
usage "a model the emulator does not serve" "use mb2, mb3 or mb4" --model mb5
usage "an unknown pairing policy" "use accept, decline or never" --pairing maybe
usage "a negative seed" "a number from 0 to 4294967295" --seed -1
usage "a seed that is too large" "a number from 0 to" --seed 4294967296
usage "too many history days" "a number from 0 to 3650" --history-days 3651
usage "negative history days" "a number from 0 to 3650" --history-days -1
usage "history days that are no number" "bad number of history days" \
	--history-days 2d
usage "an unknown option" "Try 'miband-emu --help'" --frobnicate
usage "an extra argument" "unexpected argument" extra

# a good key in every documented form passes parsing (and then fails on
# the missing bus, exit 1, not 2)
for k in 30313233343536373839404142434445 0x30313233343536373839404142434445 \
	"30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45" \
	"30:31:32:33:34:35:36:37:38:39:40:41:42:43:44:45"; do
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus "$E" --key "$k" \
		--adapter hci9 >/dev/null 2>"$T/err"
	check "key form '$k' is accepted" test $? = 1
done
# --model, and --profile (its deprecated old name), pass parsing
for o in --model -m --profile -p; do
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus "$E" $o mb4 \
		--adapter hci9 >/dev/null 2>"$T/err"
	check "$o mb4 is accepted" test $? = 1
done
check "no system bus: says so" grep -q 'miband-emu: error: .*system bus' "$T/err"

# --history-days: --verbose names the first minute the band holds
t0=$(($(date +%s) / 60))
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus "$E" --verbose --seed 7 \
	--history-days 2 --adapter hci9 >/dev/null 2>"$T/err"
t1=$(($(date +%s) / 60))
first=$(sed -n 's/.*history: seed 7, 2 days, first minute \([0-9]*\) .*/\1/p' "$T/err")
check "--history-days 2 starts 2880 minutes before the start" \
	test -n "$first" -a "${first:-0}" -ge $((t0 - 2880)) -a "${first:-0}" -le $((t1 - 2880))

# the man page (docs/miband-emu.1) documents the options of the getopt
# table with the same short forms and argument names as --help, marks
# --profile deprecated, and documents the exit statuses
MAN="$SRC/docs/miband-emu.1"
# forms: "-x --name ARG" per option, from --help's option lines
awk '/^Options:/ { on = 1; next } on && /^$/ { exit } on' "$T/help" |
	grep -E '^ {2,6}(-[a-zA-Z], )?--' |
	sed -E 's/^ +//; s/^(-[a-zA-Z]), /\1 /; s/^(-[a-zA-Z] )?(--[a-z-]+)( [A-Za-z]+)?.*/\1\2\3/' |
	sort >"$T/help-forms"
# the same from the man page's option tags (the line after each .TP)
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN" >"$T/man.txt"
awk '/^\.SH OPTIONS/ { on = 1 } /^\.SH EXIT/ { on = 0 }
	on && prev == ".TP" { print } { prev = $0 }' "$T/man.txt" |
	sed -E 's/^\.(B|BR|BI) //; s/"//g; s/, / /; s/ +/ /g; s/ $//' |
	sort >"$T/man-forms"
check "found the man page's options" test "$(wc -l <"$T/man-forms")" -ge 10
check "the man page's options are --help's (same short forms and arguments)" \
	diff "$T/help-forms" "$T/man-forms"
for o in $opts; do
	check "the man page documents --$o" grep -qE -- "--$o( |$)" "$T/man-forms"
done
check "--help marks --profile deprecated" grep -qE -- '--profile .*deprecated' "$T/help"
check "the man page marks --profile deprecated" \
	awk '/^\.BR -p ", " --profile/ { on = 1; next } on && /deprecated/ { found = 1 }
		/^\.TP/ { on = 0 } END { exit !found }' "$T/man.txt"
for s in 0 1 2; do
	check "the man page documents exit status $s" \
		awk -v c="$s" '/^\.SH EXIT STATUS/ { on = 1 } /^\.SH EXAMPLES/ { on = 0 }
			on && $0 == ".B " c { found = 1 } END { exit !found }' "$T/man.txt"
done
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -l "$MAN" >"$T/man.out" 2>"$T/man.err" || true
	check "the man page renders without warnings" test -s "$T/man.out" -a ! -s "$T/man.err"
else
	skip "the man page renders without warnings" "no man command (Debian package man-db)"
fi

finish
