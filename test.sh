#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this).
#
#   ./test.sh
#
# Stages (each must pass):
#   1. gcc build (warnings as errors) + every ctest suite, including the
#      real-BlueZ scenarios in QEMU (tests/vm; MIBAND_SKIP_VM=1 skips them,
#      counted as skipped)
#   2. the same suites (but the VM) under ASan + UBSan
#   3. clang build (warnings as errors), and a minimal build without
#      BlueZ and the store, with the mbedTLS backend, and its tests
#   4. Cortex-M4 cross build of src/core + src/emu, with its size
#   5. time-boxed fuzzing of every harness (scripts/fuzz-ci.sh; seconds
#      per target in MIBAND_FUZZ_SECONDS, default 20)
#   6. the CLI script tests again, mibandctl under valgrind memcheck
#      (scripts/valgrind.sh: any error or leak fails)
# Ends with one line `N passed, N failed, N skipped` (suites that exited 77,
# ctest's "Skipped", and stages that skipped) and exits non-zero on any
# failure, and with CI=true in the environment (CI) on any skip too.
set -uo pipefail
cd "$(dirname "$0")"
T0=$(date +%s)
JOBS=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
skipped=0
failures=
skips=
. tests/lib/ctest-counts.sh

scripts/deps.sh || { echo "test.sh: could not install the Debian packages it needs" >&2; exit 1; }

# record NAME STATUS: a stage's result (0 passed, 77 skipped, else failed)
record() {
	case $2 in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)); skips="$skips $1" ;;
	*) failed=$((failed + 1)); failures="$failures $1" ;;
	esac
}

# run_ctest DIR NAME ARGS...: runs ctest in a build dir and adds its
# counts; a suite that exits 77 (SKIP_RETURN_CODE) is a skip, not a pass
run_ctest() {
	local dir=$1 name=$2; shift 2
	local log="$dir/ctest.log"
	(cd "$dir" && ctest --output-on-failure -j"$JOBS" "$@") 2>&1 | tee "$log"
	local counts np nf ns
	if ! counts=$(ctest_counts "$log"); then
		echo "test.sh: $name: could not read ctest's results" >&2
		record "$name" 1
		return
	fi
	read -r np nf ns <<<"$counts"
	passed=$((passed + np))
	failed=$((failed + nf))
	skipped=$((skipped + ns))
	[ "$nf" -eq 0 ] || failures="$failures $name"
	[ "$ns" -eq 0 ] || skips="$skips $name:$(grep -E '\*\*\*(Skipped|Not Run \(Disabled\))' "$log" |
		sed -E 's/.*Test +#[0-9]+: ([^ ]+) .*/\1/' | paste -sd, -)"
}

build() {
	local dir=$1; shift
	cmake -S . -B "$dir" -DMIBAND_WERROR=ON "$@" >"$dir.configure.log" 2>&1 &&
		cmake --build "$dir" -j"$JOBS" 2>&1 | tail -n 30
	return "${PIPESTATUS[0]}"
}

echo "== stage 1: gcc build + tests (incl. real BlueZ in QEMU)"
mkdir -p build
if build build -DCMAKE_C_COMPILER=gcc; then
	record build-gcc 0
	run_ctest build gcc
else
	cat build.configure.log; record build-gcc 1
fi

echo "== stage 2: ASan + UBSan"
mkdir -p build-asan
if build build-asan -DCMAKE_C_COMPILER=gcc -DMIBAND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; then
	record build-asan 0
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_ctest build-asan asan -E '^(vm|core-symbols)$'
else
	cat build-asan.configure.log; record build-asan 1
fi

echo "== stage 3: clang build"
mkdir -p build-clang
build build-clang -DCMAKE_C_COMPILER=clang -DMIBAND_TESTS=OFF
record build-clang $?

echo "== stage 3b: minimal build (no BlueZ, no store; mbedTLS backend) + its tests"
mkdir -p build-min
if build build-min -DCMAKE_C_COMPILER=gcc -DMIBAND_WITH_BLUEZ=OFF -DMIBAND_WITH_STORE=OFF \
	-DMIBAND_WITH_MBEDTLS=ON; then
	record build-min 0
	run_ctest build-min minimal
else
	cat build-min.configure.log; record build-min 1
fi

echo "== stage 4: Cortex-M4 cross build of the portable core"
mkdir -p build-m4
if cmake -S . -B build-m4 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
	-DMIBAND_CORE_ONLY=ON -DMIBAND_WERROR=ON >build-m4.configure.log 2>&1 &&
	cmake --build build-m4 -j"$JOBS" 2>&1 | tail -n 30 && [ "${PIPESTATUS[0]}" -eq 0 ]; then
	arm-none-eabi-size -t build-m4/libmiband_portable.a | tail -n 1 |
		awk '{printf "cortex-m4 -Os: core+emu text %s data %s bss %s\n", $1, $2, $3}'
	record cortex-m4 0
else
	cat build-m4.configure.log; record cortex-m4 1
fi

echo "== stage 5: fuzzing, ${MIBAND_FUZZ_SECONDS:-20} s per target"
scripts/fuzz-ci.sh -b build-fuzz
record fuzz $?

echo "== stage 6: the CLI tests with mibandctl under valgrind memcheck"
if [ -x build/mibandctl ]; then
	rm -rf build/valgrind
	MIBANDCTL_WRAPPER="$PWD/scripts/valgrind.sh" MIBAND_VALGRIND_LOGS="$PWD/build/valgrind" \
		run_ctest build valgrind -R '^cli-'
	# every report fails the stage, also where a test let the exit pass
	reports=$(find build/valgrind -name 'vg.*.log' -size +0 2>/dev/null)
	[ -z "$reports" ] || { echo "valgrind reports:"; cat $reports; }
	runs=$(find build/valgrind -name 'vg.*.log' 2>/dev/null | wc -l)
	echo "valgrind: $runs runs of mibandctl checked"
	record valgrind-reports "$([ -z "$reports" ] && [ "$runs" -gt 0 ] && echo 0 || echo 1)"
else
	echo "test.sh: no build/mibandctl (stage 1 failed)"; record valgrind 1
fi

echo "== test.sh: $(( $(date +%s) - T0 )) s"
[ -z "$failures" ] || echo "failed stages/suites:$failures"
[ -z "$skips" ] || echo "skipped stages/suites (checks that did NOT run):$skips"
if [ "$skipped" -gt 0 ] && [ "${CI:-}" = true ]; then
	echo "test.sh: CI=true: a skipped check fails the run"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || [ "${CI:-}" != true ] || exit 1
exit 0
