#!/usr/bin/env bash
# mibandctl's documentation agrees with the program: the man page and the
# bash completion know every command, option and config key that --help
# lists, the man page documents every exit status, and it renders
# without warnings (skipped, exit 77, where there is no man command).
. "$2/tests/lib/cli.sh" "$1" "$2"
MAN="$src/docs/mibandctl.1"
COMP="$src/completion/mibandctl.bash"

"$M" --help >"$T/help"
commands=$(awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$T/help")
options=$(awk '/^global options:/ { on = 1 } /^exit status:/ { on = 0 } on' "$T/help" |
	grep -oE -- '--[a-z][a-z-]+' | sort -u)
for c in $commands; do "$M" "$c" --help; done |
	grep -oE -- '--[a-z][a-z-]+' | sort -u >"$T/cmd-options"
"$M" help config | awk '/^config keys/ { on = 1; next } on && /^  [a-z]/ { print $1 }' >"$T/config-keys"
check "--help lists at least 13 commands" test "$(echo "$commands" | wc -w)" -ge 13
check "help config lists the config keys" test "$(wc -l <"$T/config-keys")" -ge 15

# the man page, as roff source with \- for -
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN" >"$T/man.txt"
for c in $commands; do
	check "man page documents the $c command" grep -qE "^\.(B|BR|BI) \"?$c\b" "$T/man.txt"
done
for o in $options $(cat "$T/cmd-options"); do
	check "man page documents $o" grep -qF -- "$o" "$T/man.txt"
done
for k in $(cat "$T/config-keys"); do
	check "man page documents config $k" grep -qE "^\.(B|BR) $k\b|^\.BR .*\b$k\b" "$T/man.txt"
done
for code in 0 1 2 3 4 5 6 7 8 130; do
	check "man page documents exit status $code" \
		awk -v c="$code" '/^\.SH EXIT STATUS/ { on = 1 } /^\.SH FILES/ { on = 0 }
			on && $0 == ".B " c { found = 1 } END { exit !found }' "$T/man.txt"
done
if command -v man >/dev/null; then
	MANWIDTH=80 man --warnings -l "$MAN" >"$T/man.out" 2>"$T/man.err" || true
	check "the man page renders" grep -q "EXIT STATUS" "$T/man.out"
	check "the man page renders without warnings" test ! -s "$T/man.err"
else
	# scripts/deps.sh installs man-db; without it these did not run
	skip "the man page renders" "no man command (Debian package man-db)"
	skip "the man page renders without warnings" "no man command (Debian package man-db)"
fi

# the completion: ask it as bash would
complete_words() {
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_mibandctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" mibandctl "$@"
}
check "bash -n accepts the completion" bash -n "$COMP"
got=$(complete_words "" | sort | tr '\n' ' ')
want=$(echo "$commands" | sort | tr '\n' ' ')
check "completes the commands" test "$got" = "$want"
got=$(complete_words --json "" | sort | tr '\n' ' ')
check "completes commands after a global option" test "$got" = "$want"
check "completes config keys" \
	test "$(complete_words config "" | sort)" = "$(sort "$T/config-keys")"
check "completes config values" \
	test "$(complete_words config time-format "" | tr '\n' ' ')" = "12 24 "
check "completes alert kinds" test "$(complete_words alert "" | tr '\n' ' ')" = "call text vibrate stop "
check "completes --follow for hr" grep -qx -- --follow <(complete_words hr --f)
check "no --follow for battery" test -z "$(complete_words battery --fo)"
for o in $options; do
	check "completes $o" grep -qx -- "$o" <(complete_words --json "${o:0:4}")
done
for c in $commands; do
	for o in $("$M" "$c" --help | sed -n '1p' | grep -oE -- '--[a-z][a-z-]+'); do
		check "completes $o after $c" grep -qx -- "$o" <(complete_words "$c" "${o:0:4}")
	done
done
"$M" keys import --device emu --key "$KEY" >/dev/null
"$M" keys import --device C8:0F:10:12:34:56 --alias wrist --key "$KEY" >/dev/null
check "completes devices from the key store" \
	test "$(complete_words --device "" | sort | tr '\n' ' ')" = "emu wrist "
check "completes keys forget with the stored names" \
	test "$(complete_words keys forget w)" = "wrist"
check "completes --emu-pairing values" \
	test "$(complete_words --emu-pairing "" | tr '\n' ' ')" = "accept decline never "

# One source of truth (item 16): the command table, as `mibandctl
# --dump-options` prints it.  Per command, --help, the man page and the
# completion agree with it: the same options required ("--device D") or
# optional ("[--device D]") in the usage line and the man page's, each
# option described in --help and the man page, and the completion offers
# exactly the command's options beside the global ones.
"$M" --dump-options >"$T/table"
check "--dump-options lists every command" \
	test "$(awk '$1 == "usage" { print $2 }' "$T/table" | sort)" = "$(echo "$commands" | sort)"
# marks: each --option of the usage text on stdin with "required" or
# "optional" (inside [ ]), sorted
marks() {
	python3 -c '
import re, sys
out, depth, text = set(), 0, sys.stdin.read()
for m in re.finditer(r"\[|\]|--[a-z][a-z-]*", text):
    t = m.group()
    if t == "[": depth += 1
    elif t == "]": depth -= 1
    else: out.add(t + (" optional" if depth > 0 else " required"))
print("\n".join(sorted(out)))'
}
# the man page's synopsis line(s) of a command, as text
man_usage() {
	awk '/^\.SH COMMANDS/ { on = 1 } /^\.SH OPTIONS/ { on = 0 }
		on && prev == ".TP" { print } { prev = $0 }' "$T/man.txt" |
		sed -E 's/^\.(B|BR|BI) //; s/"//g' | grep -E "^$1( |$)" || true
}
for c in $commands; do
	"$M" "$c" --help | sed -n '1s/^usage: mibandctl //p' | marks >"$T/help-marks"
	man_usage "$c" | marks >"$T/man-marks"
	check "$c: the man page marks the same options required/optional as --help" \
		diff "$T/help-marks" "$T/man-marks"
	"$M" "$c" --help | sed '/^global options:/,$d' >"$T/cmd-help"
	opts=$(awk -v c="$c" '$1 == "option" && $2 == c { print $3 }' "$T/table")
	for o in $opts; do
		check "$c $o: --help describes it" grep -qE -- "^ +(-[a-zA-Z], )?$o( |$)" "$T/cmd-help"
		check "$c $o: the usage line names it" grep -qF -- "$o" <(sed -n 1p "$T/cmd-help")
		check "$c $o: the man page describes it" \
			test "$(grep -F -- "$o" "$T/man.txt" | grep -vcE "^\.(B|BR|BI) $c\b")" -ge 1
	done
	got=$(complete_words "$c" -- | sort | tr '\n' ' ')
	want=$(printf '%s\n' $options $opts | sort -u | tr '\n' ' ')
	check "$c: the completion offers exactly its options" test "$got" = "$want"
done
check "no key store aliases for --band" test -z "$(complete_words export --band "")"

# a negative config value reaches the value's parser (item 16), wherever
# the options stand, and the options after it still count
for args in "config --device emu goal -5" "--device emu config goal -5" \
	"config goal -5 --device emu" "config --device emu goal -- -5"; do
	expect_rc 2 "$args: a usage error" $args
	check "$args: names the goal's range" err_has "bad value '-5' for goal: expected steps per day (1-65535)"
	check "$args: no unknown option" sh -c "! grep -q 'unknown option' '$T/err'"
done
mb config goal 9000 --device emu
check "config goal 9000 --device emu: past the parser (exit $rc)" test "$rc" != 2
check "config goal 9000 --device emu: the option is no argument" sh -c "! grep -q 'too many arguments' '$T/err'"

# pair warns before replacing a key that comes from the vendor's server
# (mb4, mb5, mb6: docs/PROTOCOL.md 2.2), and only then
for m in mb4 mb5 mb6; do
	expect_rc 0 "pair --model $m" pair --device emu --model "$m"
	check "pair --model $m warns about the vendor's key" \
		err_has "normally holds the key the vendor's app got from the vendor's server"
done
expect_rc 0 "pair --model mb3" pair --device emu --model mb3
check "pair --model mb3 does not warn" sh -c "! grep -q warning '$T/err'"

# miband-demo takes the models its usage lists, and no other (exit 2)
D="$build/miband-demo"
for m in mb2 mb3 mb4; do
	check "miband-demo --model $m runs" "$D" --model "$m" --quiet
	check "miband-demo's usage lists $m" grep -q -- "--model [a-z0-9|]*$m" <("$D" --help)
done
for m in mb5 mb6 mb9; do
	set +e
	"$D" --model "$m" --quiet >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	check "miband-demo --model $m is a usage error (exit $rc)" test "$rc" = 2
	check "miband-demo --model $m names the models" err_has "unknown model '$m': use mb2, mb3 or mb4"
done

finish
