#!/usr/bin/env bash
# Every way a check can be left out is reported as skipped (or failed),
# never as passed: each skip path of the suites and of test.sh's stages
# is taken here on purpose and its report checked.
#   - the vm suite with MIBAND_SKIP_VM=1: exit 77 and says so
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

finish
