#!/usr/bin/env bash
# Every way a check can be left out is reported as skipped (or failed),
# never as passed: each skip path of the suites and of test.sh's stages
# is taken here on purpose and its report checked.
#   - the vm suite with MIBAND_SKIP_VM=1: exit 77 and says so
#   - cli-docs without a man command: its man-page checks are skipped
#   - cli-emu with MIBAND_UPDATE_GOLDEN=1: the golden files are written
#     (into a copy here) and the comparisons skipped
#   - scripts/fuzz-ci.sh with a target that ran zero executions, or did
#     not say how many: the stage fails
# Needs mibandctl: built only with BlueZ and the store, as the cli suites.
set -uo pipefail
build=$1
src=$2
. "$src/tests/lib/tap.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/lib-skips.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset MIBANDCTL_WRAPPER MIBAND_UPDATE_GOLDEN MIBAND_SKIP_VM CI
has() { grep -qF -- "$1" "$T/out"; }

# ---- vm
MIBAND_SKIP_VM=1 bash "$src/tests/vm.test.sh" "$build" "$src" >"$T/out" 2>&1
rc=$?
check "vm with MIBAND_SKIP_VM=1 exits 77 (skipped)" test "$rc" = 77
check "  and says it did not run" has "vm: SKIPPED because MIBAND_SKIP_VM=1 is set."
check "  as a TAP skip" has "ok 1 - vm # SKIP MIBAND_SKIP_VM=1"

# ---- cli-docs without man: every command of PATH but man
mkdir -p "$T/bin"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
	[ -d "$d" ] && ln -s "$d"/* "$T/bin/" 2>/dev/null
done
rm -f "$T/bin/man"
PATH="$T/bin" bash "$src/tests/cli-docs.test.sh" "$build" "$src" >"$T/out" 2>&1
rc=$?
check "cli-docs without man exits 77 (skipped)" test "$rc" = 77
check "  skips the rendering" has "- the man page renders # SKIP no man command (Debian package man-db)"
check "  and counts both skips" grep -qE '^[0-9]+ passed, 0 failed, 2 skipped$' "$T/out"

# ---- cli-emu with MIBAND_UPDATE_GOLDEN=1, on a copy of the golden files
mkdir -p "$T/src/tests/data"
ln -s "$src/tests/lib" "$T/src/tests/lib"
cp -r "$src/tests/data/cli" "$T/src/tests/data/cli"
: >"$T/src/tests/data/cli/emu-session.txt"
MIBAND_UPDATE_GOLDEN=1 bash "$src/tests/cli-emu.test.sh" "$build" "$T/src" >"$T/out" 2>&1
rc=$?
check "cli-emu with MIBAND_UPDATE_GOLDEN=1 exits 77 (skipped)" test "$rc" = 77
check "  skips the comparisons" \
	has "transcript matches tests/data/cli/emu-session.txt # SKIP MIBAND_UPDATE_GOLDEN=1 rewrote"
check "  and writes the golden file" cmp -s "$src/tests/data/cli/emu-session.txt" "$T/src/tests/data/cli/emu-session.txt"

# ---- fuzz-ci.sh with targets that fuzzed nothing (stub clang, cmake
# and harnesses: only the verdict is under test)
mkdir -p "$T/stub" "$T/fz/fuzz"
printf '#!/bin/sh\nexit 0\n' >"$T/stub/clang"
printf '#!/bin/sh\nexit 0\n' >"$T/stub/cmake"
fuzzer() { # fuzzer EXECS|-: a harness that prints that count (- none)
	if [ "$1" = - ]; then
		printf '#!/bin/sh\necho "INFO: Seed: 1"\nexit 0\n'
	else
		printf '#!/bin/sh\necho "stat::number_of_executed_units: %s"\nexit 0\n' "$1"
	fi >"$T/fz/fuzz/fuzz-codec"
	chmod +x "$T/stub/clang" "$T/stub/cmake" "$T/fz/fuzz/fuzz-codec"
	PATH="$T/stub:$PATH" bash "$src/scripts/fuzz-ci.sh" -t 1 -b "$T/fz" codec >"$T/out" 2>&1
	rc=$?
}
fuzzer 0
check "fuzz-ci: zero executions fails the stage" test "$rc" = 1
check "  and says so" has "not ok - fuzz-codec: 0 executions: it fuzzed nothing"
fuzzer -
check "fuzz-ci: no count of executions fails the stage" test "$rc" = 1
fuzzer 1234
check "fuzz-ci: 1234 executions pass" test "$rc" = 0
check "  and are counted" has "ok - fuzz-codec: 1234 executions in 1 s, no failure"
finish
