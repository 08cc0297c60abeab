#!/usr/bin/env bash
# Real BlueZ end to end: boots the QEMU guest of tests/vm once per scenario
# (tests/vm/scenarios/*.sh) and runs it against the freshly built binaries.
#
#   tests/vm.test.sh BUILD_DIR [SOURCE_DIR]      (ctest passes both)
#
# A machine that cannot run the VM (no qemu or Debian packages, no space,
# no kernel download, image build fails) FAILS this test with a loud
# message.  MIBAND_SKIP_VM=1 skips it, loudly too, and exits 77 so that
# ctest and test.sh count it as skipped (CI fails on that), never passed.
# MIBAND_VM_ONLY="a b" runs only the named scenarios; the benchmarks
# (scenarios/bench-*.sh) run only when named there or with run.sh.
set -uo pipefail
BUILD=$(cd "${1:?usage: vm.test.sh BUILD_DIR [SOURCE_DIR]}" && pwd)
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
VM="$SRC/tests/vm"

banner() {
	echo "########################################################################"
	for l in "$@"; do echo "## $l"; done
	echo "########################################################################"
}

if [ "${MIBAND_SKIP_VM:-}" = 1 ]; then
	banner "vm: SKIPPED because MIBAND_SKIP_VM=1 is set." \
		"The real-BlueZ scenarios in tests/vm did NOT run."
	echo "ok 1 - vm # SKIP MIBAND_SKIP_VM=1: the real-BlueZ scenarios did not run"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
cannot() {
	banner "vm: FAILED: this machine cannot run the real-BlueZ VM tests:" \
		"$@" \
		"Fix that, or set MIBAND_SKIP_VM=1 to skip them explicitly."
	exit 1
}

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] ||
	cannot "they need Linux on x86_64 (this is $(uname -s)/$(uname -m))"
command -v dpkg-query >/dev/null && command -v apt-get >/dev/null ||
	cannot "they build the guest from Debian packages (no dpkg/apt here)"
[ -x "$BUILD/miband-emu" ] ||
	cannot "$BUILD/miband-emu is missing (built with -DMIBAND_WITH_BLUEZ=OFF?)"

T0=$(date +%s.%N)
el() { awk "BEGIN {printf \"%.1f\", $2 - $1}"; }
echo "vm: base image in $BUILD/vm"
"$VM/build-image.sh" "$BUILD/vm" >"$BUILD/vm-image.log" 2>&1
rc=$?
cat "$BUILD/vm-image.log"
[ $rc = 0 ] || cannot "tests/vm/build-image.sh failed (exit $rc; log above)"
T1=$(date +%s.%N)
echo "vm: image ready in $(el "$T0" "$T1") s"
export MIBAND_VM_IMAGE_CHECKED=1

scenarios=${MIBAND_VM_ONLY:-$(cd "$VM/scenarios" && ls -- *.sh | grep -v '^bench-' | sed 's/\.sh$//')}
pass=0
fail=0
summary=
for s in $scenarios; do
	log="$BUILD/vm/logs/$s.run.log"
	mkdir -p "$BUILD/vm/logs"
	t=$(date +%s.%N)
	"$VM/run.sh" -b "$BUILD" "$s" >"$log" 2>&1
	rc=$?
	d=$(el "$t" "$(date +%s.%N)")
	if [ $rc = 0 ]; then
		pass=$((pass + 1))
		summary="$summary
  PASS  $s  ${d} s"
		grep -E '^(E2E-RESULT|run.sh):' "$log"
	else
		fail=$((fail + 1))
		summary="$summary
  FAIL  $s  ${d} s  (log: $log)"
		echo "===== vm: scenario $s FAILED (exit $rc); its console: ====="
		grep -v '^\[ *[0-9.]*\] ' "$log"
		[ $rc = 3 ] && cannot "tests/vm/run.sh could not boot the VM (see above)"
	fi
done
T2=$(date +%s.%N)
echo "vm: scenarios:$summary"
echo "vm: $pass passed, $fail failed in $(el "$T0" "$T2") s (image $(el "$T0" "$T1") s)"
[ $fail = 0 ] && [ $pass -gt 0 ]
