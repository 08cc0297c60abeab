#!/usr/bin/env bash
# The key is never shown: a full session's stdout, stderr (--verbose
# included, error paths with near-keys too), JSON, traces and the history
# database are searched for the key as hex (any case,
# with or without separators), base64 (every alignment, standard and
# URL-safe) and raw bytes; only the documented 2-byte prefix may appear.
# The same search finds the key where it must be (the key store, a
# --trace-secrets trace), so it is shown able to fail.  Every command's
# exit status is checked too: one that failed early would print nothing
# and so pass the search.
. "$2/tests/lib/cli.sh" "$1" "$2"

OUT="$T/outputs"
mkdir -p "$OUT"
i=0
# record WANT ARGS...: runs mibandctl, keeps everything it printed, and
# checks that it exited with WANT (a failure must also say why)
record() {
	local want=$1 rc name
	shift
	i=$((i + 1))
	set +e
	"$M" "$@" >"$OUT/$i.out" 2>"$OUT/$i.err"
	rc=$?
	set -e
	echo "$rc" >"$OUT/$i.rc"
	# the command as the test's name, without the (near-)key's digits
	name=$(printf ' %s' "$@" | sed -E 's/(--key )[^ ]+( 00)?/\1.../')
	if [ "$rc" = "$want" ] && { [ "$rc" = 0 ] || [ -s "$OUT/$i.err" ]; }; then
		ok "mibandctl$name (exit $rc)"
	else
		not_ok "mibandctl$name: exit $rc, want $want$([ -s "$OUT/$i.err" ] || echo ', no message')"
		sed 's/^/#   /' "$OUT/$i.out" "$OUT/$i.err"
	fi
}

record 0 pair --device emu --new-key -v --trace "$OUT/pair.btsnoop"
key=$(awk '$1 == "key" { print $2 }' "$XDG_CONFIG_HOME/miband/keys/emu")
check "the generated key is in the key store" test "${#key}" = 32
check "a fresh key differs from the test key" test "$key" != "$KEY"
for args in "auth -v" "auth --json -v" "info -v" "battery --json" "steps -v" \
	"time --sync -v" "hr -v --json" "alert text Hi there -v" "alert call Bob" \
	"config goal 9000 -v" "keys list" "keys list --json" "keys list -v" \
	"--help" "help pair"; do
	# shellcheck disable=SC2086
	record 0 $args --trace "$OUT/t$i.btsnoop"
done
# the band refuses a wrong key: exit 5
record 5 auth --key 000102030405060708090a0b0c0d0e0f -v --trace "$OUT/t$i.btsnoop"
record 0 battery -v --trace "$OUT/last.btsnoop"
# error paths: near-keys (one digit short, one wrong, one too many) of
# the stored key, in human and JSON output: usage errors
record 2 auth -v --key "${key:0:31}"
record 2 auth --json -v --key "${key:0:31}g"
record 2 auth -v --key "$key 00"
# the history store: nothing of the key in the database or its exports
record 0 sync -v --json
record 0 export --format jsonl
record 0 stats
# a key imported from stdin
OTHER=7f0e1d2c3b4a59687786950413223140
i=$((i + 1))
set +e
printf '%s\n' "$OTHER" | "$M" keys import --device C8:0F:10:12:34:56 --alias other -v \
	>"$OUT/$i.out" 2>"$OUT/$i.err"
echo "$?" >"$OUT/$i.rc"
set -e
check "keys import from stdin succeeded" test "$(cat "$OUT/$i.rc")" = 0
record 0 keys list -v --json
record 0 keys forget other # "the only band in the key store" again
# --follow as well, ended by SIGTERM after its first lines
rm -f "$T/fifo" && mkfifo "$T/fifo"
MIBANDCTL_EMU_SPEED=50 "$M" hr --follow -v --json >"$T/fifo" 2>"$OUT/follow.err" &
pid=$!
cleanup_hooks="kill $pid 2>/dev/null || true; $cleanup_hooks"
exec 3<"$T/fifo"
for _ in 1 2 3; do
	IFS= read -r -t 60 line <&3 && printf '%s\n' "$line" >>"$OUT/follow.out"
done
kill -TERM "$pid"
cat <&3 >>"$OUT/follow.out"
exec 3<&-
set +e
wait "$pid"
frc=$?
set -e
check "hr --follow ended cleanly" test "$frc" = 0
check "hr --follow printed its heart rates" \
	test "$(grep -c '"bpm"' "$OUT/follow.out")" -ge 3

# leaks FILE...: prints the forms of $1 found in the files
search() {
	python3 - "$@" <<'PY'
import base64, re, sys
key = bytes.fromhex(sys.argv[1])
files = sys.argv[2:]
forms = {}
h = key.hex()
forms["hex"] = re.compile(re.escape(h), re.I)
forms["hex-spaced"] = re.compile(r"[ :.-]?".join(h[i:i + 2] for i in range(0, 32, 2)), re.I)
# 4-byte windows past the 2-byte prefix the CLI may show
for o in range(2, 13):
    forms["hex-window-%d" % o] = re.compile(re.escape(key[o:o + 4].hex()), re.I)
for pad in range(3):
    for name, enc in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
        e = enc(b"\0" * pad + key).decode()
        # the characters that depend on key bytes only
        start = (pad * 4 + 2) // 3
        inner = e[start + 1:-3]
        forms["%s-%d" % (name, pad)] = re.compile(re.escape(inner))
found = set()
for f in files:
    data = open(f, "rb").read()
    if key in data:
        found.add("raw:" + f)
    text = data.decode("latin-1")
    for name, rx in forms.items():
        if rx.search(text):
            found.add(name + ":" + f)
print("\n".join(sorted(found)))
PY
}

ls "$OUT"/* >"$T/files"
found=$(search "$key" $(cat "$T/files"))
if [ -z "$found" ]; then
	ok "the key appears in no output, error, JSON line or trace ($(wc -l <"$T/files") files)"
else
	not_ok "the key leaked:"
	echo "$found" | sed 's/^/#   /'
fi
found=$(search "$KEY" $(cat "$T/files"))
check "a --key given on the command line is not echoed either" test -z "$found"
found=$(search 000102030405060708090a0b0c0d0e0f $(cat "$T/files"))
check "nor a wrong --key the band refused" test -z "$found"
found=$(search "$OTHER" $(cat "$T/files"))
check "nor a key imported from stdin" test -z "$found"
DB="$XDG_DATA_HOME/miband/miband.db"
check "sync wrote the history database" test -s "$DB"
found=$(search "$key" "$DB"*)
check "the history database holds nothing of the key" test -z "$found"
check "the 2-byte prefix and fingerprint are what is shown" \
	grep -q "key ${key:0:4}\.\.\., SHA256:" "$OUT/1.out"

# the search works: it finds the key where it belongs
found=$(search "$key" "$XDG_CONFIG_HOME/miband/keys/emu")
check "control: the search finds the key in the key store (hex)" grep -q '^hex:' <<<"$found"
printf '%s' "$key" | xxd -r -p | base64 >"$T/b64-0"
printf '00%s' "$key" | xxd -r -p | base64 >"$T/b64-1"
printf '0000%s' "$key" | xxd -r -p | base64 -w0 | tr '+/' '-_' >"$T/b64-2"
found=$(search "$key" "$T/b64-0" "$T/b64-1" "$T/b64-2")
for k in "b64-0:$T/b64-0" "b64-1:$T/b64-1" "b64url-2:$T/b64-2"; do
	check "control: the search finds base64 (${k%%:*})" grep -qxF "$k" <<<"$found"
done
record 0 pair --device emu --key "$KEY" --trace "$T/secret.btsnoop" --trace-secrets
found=$(search "$KEY" "$T/secret.btsnoop")
check "control: the raw key is found in a --trace-secrets trace" grep -q '^raw:' <<<"$found"

# --key is overwritten in the process's argv (ps, /proc/PID/cmdline)
rm -f "$T/fifo" && mkfifo "$T/fifo"
MIBANDCTL_EMU_SPEED=50 "$M" hr --follow --key "$KEY" >"$T/fifo" 2>/dev/null &
pid=$!
cleanup_hooks="kill $pid 2>/dev/null || true; $cleanup_hooks"
exec 3<"$T/fifo"
line=
IFS= read -r -t 60 line <&3 || true
tr '\0' ' ' <"/proc/$pid/cmdline" >"$T/cmdline" || true
kill -INT "$pid"
cat <&3 >/dev/null
exec 3<&-
set +e
wait "$pid"
frc=$?
set -e
check "hr --follow --key printed a heart rate while running" test -n "$line"
check "hr --follow --key ended cleanly on SIGINT" test "$frc" = 0
if [ -n "${MIBANDCTL_WRAPPER:-}" ]; then
	# the wrapper (valgrind) holds the arguments in its own command line
	ok "the running process shows --key's value overwritten # SKIP under MIBANDCTL_WRAPPER"
else
	check "the running process shows --key's value overwritten" grep -q -- '--key xxxxxxxx' "$T/cmdline"
	check "... and not the key" sh -c "! grep -qi '$KEY' '$T/cmdline'"
fi

finish
