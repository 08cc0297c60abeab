# Shared by tests/cli-*.test.sh (sourced): a private HOME and XDG dirs, a
# fixed band clock and zone, mibandctl helpers, and the TAP-like helpers
# of tests/lib/tap.sh (ok, not_ok, skip, check, finish) that end with one
# line `N passed, N failed, N skipped`.
#
#   . "$2/tests/lib/cli.sh" "$1" "$2"
set -euo pipefail
build=$1
src=$2
M="$build/mibandctl"
DATA="$src/tests/data/cli"
[ -x "$M" ] || { echo "not ok - $M not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/mibandctl-test.XXXXXX")
cleanup_hooks=
trap 'eval "$cleanup_hooks"; rm -rf "$T"' EXIT
export HOME="$T/home"
export XDG_CONFIG_HOME="$T/config"
export XDG_STATE_HOME="$T/state"
export XDG_DATA_HOME="$T/data"
mkdir -p "$HOME"
chmod 700 "$T"
# MIBANDCTL_WRAPPER: a command that runs mibandctl, e.g. under valgrind
# (test.sh: scripts/valgrind.sh); "$M" stays one word for the tests.
if [ -n "${MIBANDCTL_WRAPPER:-}" ]; then
	printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$MIBANDCTL_WRAPPER" "$M" >"$T/mibandctl"
	chmod +x "$T/mibandctl"
	M="$T/mibandctl"
fi
# A zone with DST in POSIX form (no tzdata needed): +01:00 in November.
export TZ="CET-1CEST,M3.5.0,M10.5.0/3"
export LC_ALL=C
# The emulated band starts at 2025-11-24 16:00:00 UTC (a Monday).
export MIBANDCTL_EMU_CLOCK=1764000000
unset MIBANDCTL_EMU_SPEED
# A key for tests (Gadgetbridge's default key "0123456789@ABCDE").
KEY=30313233343536373839404142434445

. "$src/tests/lib/tap.sh"
# mb ARGS...: runs mibandctl; stdout in $T/out, stderr in $T/err, status in rc
mb() {
	set +e
	"$M" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
}
# expect_rc CODE NAME ARGS...: runs mibandctl and checks its exit status
expect_rc() {
	local want=$1 name=$2
	shift 2
	mb "$@"
	if [ "$rc" = "$want" ]; then
		ok "$name (exit $rc)"
	else
		not_ok "$name: exit $rc, want $want"
		sed 's/^/#   /' "$T/out" "$T/err"
	fi
}
# err_has TEXT: the last stderr contains TEXT
err_has() { grep -qF -- "$1" "$T/err"; }
out_has() { grep -qF -- "$1" "$T/out"; }
# json_lines FILE: every line is one JSON object (python3 json)
json_lines() {
	python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    obj = json.loads(line)
    assert isinstance(obj, dict) and "type" in obj, line
    n += 1
assert n > 0, "no JSON lines"
' "$1"
}
