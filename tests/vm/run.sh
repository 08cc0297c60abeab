#!/bin/bash
# Boot the real-BlueZ test VM and run ONE scenario in it.
#
#   tests/vm/run.sh [-b BUILD_DIR] [-d] SCENARIO
#   tests/vm/run.sh [-b BUILD_DIR] --shell        interactive guest
#   tests/vm/run.sh --list                        the scenarios
#
# SCENARIO is the name of a file in tests/vm/scenarios/ without ".sh".
# BUILD_DIR (default: $MIBAND_BUILD_DIR, else ./build) holds the freshly
# built project binaries (miband-emu, mibandctl, ...) and the cached base
# image (BUILD_DIR/vm, made by build-image.sh when missing or stale).  The
# binaries, the libraries they need that the base lacks, tests/vm/guest/*
# and tests/vm/scenarios/* go into a small second cpio loaded before the
# base one, so nothing is rebuilt when only they change.
#
# Options: -d/--debug prints every guest log even on success.
# Environment: MIBAND_VM_TIMEOUT (host limit for the whole boot, default
# 240 s), MIBAND_VM_SCENARIO_TIMEOUT (guest limit, default 60 s),
# MIBAND_VM_BTVIRT (btvirt arguments, comma separated, default "-L,-l2"),
# MIBAND_VM_APPEND (extra kernel command line).
#
# Exit status: 0 the scenario printed SCENARIO-PASS; 1 it failed; 2 usage
# or missing binaries; 3 the machine cannot build or boot the VM.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${MIBAND_BUILD_DIR:-$PWD/build}
DEBUG=0
SHELL_MODE=0
SCENARIO=

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	-b | --build) BUILD=$2; shift 2 ;;
	-d | --debug) DEBUG=1; shift ;;
	--shell) SHELL_MODE=1; SCENARIO=shell; shift ;;
	--list)
		for f in "$HERE"/scenarios/*.sh; do basename "$f" .sh; done
		exit 0 ;;
	-h | --help) usage ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) SCENARIO=$1; shift ;;
	esac
done
[ -n "$SCENARIO" ] || usage
if [ $SHELL_MODE = 0 ] && [ ! -f "$HERE/scenarios/$SCENARIO.sh" ]; then
	echo "run.sh: no scenario $HERE/scenarios/$SCENARIO.sh" >&2
	exit 2
fi
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || {
	echo "run.sh: build directory $BUILD does not exist" >&2
	exit 2
}
[ -x "$BUILD/miband-emu" ] || {
	echo "run.sh: $BUILD/miband-emu is missing: build the project first" \
		"(cmake --build $BUILD)" >&2
	exit 2
}
command -v qemu-system-x86_64 >/dev/null || [ "$(id -u)" = 0 ] || {
	echo "run.sh: CANNOT RUN THE VM: qemu-system-x86_64 is not installed" \
		"(apt-get install qemu-system-x86)" >&2
	exit 3
}

VM="$BUILD/vm"
T0=$(date +%s.%N)
# vm.test.sh checks the image once and says so for every run it starts
if [ -n "${MIBAND_VM_IMAGE_CHECKED:-}" ] && [ -f "$VM/base.stamp" ]; then
	rc=0
else
	"$HERE/build-image.sh" "$VM"
	rc=$?
fi
if [ $rc != 0 ]; then
	echo "run.sh: CANNOT BUILD THE VM IMAGE (build-image.sh exit $rc)" >&2
	exit 3
fi
command -v qemu-system-x86_64 >/dev/null || {
	echo "run.sh: CANNOT RUN THE VM: qemu-system-x86_64 is missing" >&2
	exit 3
}
T1=$(date +%s.%N)

# ---- overlay: project binaries + guest scripts + scenarios ----------------
WORK=$(mktemp -d "$VM/run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
O="$WORK/root"
mkdir -p "$O/e2e/bin" "$O/e2e/guest" "$O/e2e/scenarios"
declare -A have
while IFS= read -r p; do [ -n "$p" ] && have[$p]=1; done <"$VM/base.files"
add_lib() { # a library the base lacks, where put() in build-image puts it
	local t
	t=$(readlink -f "$(dirname "$1")")/$(basename "$1")
	[ -n "${have[$t]:-}" ] && return 0
	mkdir -p "$O$(dirname "$t")"
	cp -L "$1" "$O$t"
}
for b in miband-emu mibandctl miband-demo; do
	[ -x "$BUILD/$b" ] || continue
	cp "$BUILD/$b" "$O/e2e/bin/"
	ldd "$BUILD/$b" | awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' \
		>"$WORK/libs.$b"
	while read -r l; do add_lib "$l"; done <"$WORK/libs.$b"
done
# the library itself, for guest helpers that recompute expectations
# through ctypes (history_check.py); it needs nothing mibandctl does not
if [ -e "$BUILD/libmiband.so.0" ]; then
	mkdir -p "$O/e2e/lib"
	cp -L "$BUILD/libmiband.so.0" "$O/e2e/lib/"
fi
cp "$HERE/guest/runner.sh" "$HERE/guest/lib.sh" "$O/e2e/"
cp "$HERE"/guest/*.py "$O/e2e/guest/"
cp "$HERE"/scenarios/*.sh "$O/e2e/scenarios/"
chmod 755 "$O/e2e/runner.sh" "$O"/e2e/bin/* "$O"/e2e/scenarios/*
# The uncompressed overlay goes first (as early microcode does); the kernel
# then unpacks the lz4 base after it.  The two share no paths.
(cd "$O" && find . -print0 | LC_ALL=C sort -z |
	cpio -o -0 -H newc --quiet -R 0:0) >"$WORK/initrd"
cat "$VM/base.img" >>"$WORK/initrd"

# ---- boot ---------------------------------------------------------------
BTVIRT=${MIBAND_VM_BTVIRT:-}
APPEND="console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init acpi=off"
APPEND="$APPEND pci=off reboot=t e2e.scenario=$SCENARIO"
APPEND="$APPEND e2e.timeout=${MIBAND_VM_SCENARIO_TIMEOUT:-60}"
[ $DEBUG = 1 ] && APPEND="$APPEND e2e.debug=1"
[ -n "$BTVIRT" ] && APPEND="$APPEND e2e.btvirt=$BTVIRT"
APPEND="$APPEND ${MIBAND_VM_APPEND:-}"
QEMU=(qemu-system-x86_64 -M microvm,rtc=on,acpi=off -accel tcg,thread=multi
	-cpu max -smp 2 -m 1024 -nographic -no-reboot -nodefaults
	-kernel "$VM/vmlinux" -initrd "$WORK/initrd" -append "$APPEND")
if [ $SHELL_MODE = 1 ]; then
	echo "run.sh: booting an interactive guest (Ctrl-A x quits QEMU)"
	"${QEMU[@]}" -serial mon:stdio
	exit $?
fi
mkdir -p "$VM/logs"
LOG="$VM/logs/$SCENARIO.log"
: >"$LOG"
T2=$(date +%s.%N)
timeout --foreground "${MIBAND_VM_TIMEOUT:-240}" "${QEMU[@]}" -serial stdio \
	</dev/null 2>&1 | tee "$LOG"
qrc=${PIPESTATUS[0]}
T3=$(date +%s.%N)
el() { awk "BEGIN {printf \"%.1f\", $2 - $1}"; }
if [ "$qrc" = 124 ]; then
	echo "run.sh: the VM did not finish in ${MIBAND_VM_TIMEOUT:-240} s"
fi
result=FAIL
grep -q "^E2E-RESULT: PASS $SCENARIO\b" "$LOG" && result=PASS
if ! grep -q '^E2E-RESULT:' "$LOG" && ! grep -q '^init: userspace up' "$LOG"; then
	echo "run.sh: CANNOT BOOT THE VM (qemu exit $qrc, no guest output)" >&2
	exit 3
fi
echo "run.sh: $SCENARIO $result in $(el "$T0" "$T3") s" \
	"(image check/build $(el "$T0" "$T1") s, overlay $(el "$T1" "$T2") s," \
	"VM boot+scenario $(el "$T2" "$T3") s; log $LOG)"
[ $result = PASS ]
