#!/usr/bin/env bash
# Time-boxed fuzzing, as CI runs it (test.sh calls this): builds the
# libFuzzer harnesses with clang (ASan + UBSan) and fuzzes each target for
# a bounded time, starting from a copy of its corpus (fuzz/corpus/NAME is
# never modified here).
#
#   scripts/fuzz-ci.sh [-t SECONDS] [-b BUILD_DIR] [TARGET...]
#
#   -t SECONDS   per target (default: $MIBAND_FUZZ_SECONDS, else 20)
#   -b DIR       build directory (default build-fuzz)
#   TARGET       codec, session, band, transcript, cli-parse (default: all)
#
# A crash, leak, timeout or failed invariant fails the run; the input is
# kept in DIR/fuzz-artifacts/ with the command that reproduces it.  A
# target that ran zero executions, or whose count libFuzzer did not print,
# fuzzed nothing and fails too.  Prints the executions per target and ends
# with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${MIBAND_FUZZ_SECONDS:-20}
dir=build-fuzz
while getopts "t:b:" o; do
	case $o in
	t) secs=$OPTARG ;;
	b) dir=$OPTARG ;;
	*) sed -n '2,15p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in fuzz/fuzz-*.c; do
		t=${f#fuzz/fuzz-}
		targets+=("${t%.c}")
	done
fi

# libFuzzer ships in Debian's libclang-rt-N-dev, which clang only
# recommends: install it when a trivial fuzzer does not link.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	ver=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	echo "fuzz-ci: installing libclang-rt-$ver-dev (libFuzzer)" >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "libclang-rt-$ver-dev" >&2 ||
		{ $SUDO apt-get update -q >&2 &&
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "libclang-rt-$ver-dev" >&2; }
	if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p"; then
		echo "fuzz-ci: clang cannot build libFuzzer binaries" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

mkdir -p "$dir"
if ! cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DMIBAND_FUZZ=ON \
	-DMIBAND_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir/configure.log" 2>&1; then
	cat "$dir/configure.log"
	echo "0 passed, 1 failed"
	exit 1
fi
bins=()
for t in "${targets[@]}"; do bins+=("fuzz-$t"); done
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target "${bins[@]}" 2>&1 | tail -n 30
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
	echo "fuzz-ci: the build failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

art="$dir/fuzz-artifacts"
mkdir -p "$art"
passed=0
failed=0
for t in "${targets[@]}"; do
	bin="$dir/fuzz/fuzz-$t"
	work="$probe/$t"
	mkdir -p "$work/corpus"
	[ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/corpus/"
	log="$dir/fuzz-$t.log"
	rm -f "$art/$t-"*
	nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/$t-" \
		"$work/corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ] && ! [ "${execs:-0}" -gt 0 ] 2>/dev/null; then
		failed=$((failed + 1))
		echo "not ok - fuzz-$t: ${execs:-no count of} executions: it fuzzed nothing (log: $log)"
		tail -n 5 "$log" | sed 's/^/#   /'
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - fuzz-$t: $execs executions in ${secs} s, no failure"
	else
		failed=$((failed + 1))
		echo "not ok - fuzz-$t: exit $rc after ${execs:-?} executions"
		grep -E 'invariant failed|ERROR: |SUMMARY: |runtime error' "$log" | head -n 5 | sed 's/^/#   /'
		for a in "$art/$t-"*; do
			[ -e "$a" ] || continue
			echo "#   reproduce: $bin $a"
			echo "#   (after a fix, add it to fuzz/corpus/$t/ as a regression input)"
		done
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
