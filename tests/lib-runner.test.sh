#!/usr/bin/env bash
# The test runner itself (tests/lib/runner.c): a passed, a failed and a
# skipped test are reported as TAP lines (`# SKIP reason` for the skip),
# the closing line counts all three, and the exit status says which
# outcome the suite had: 1 on a failure or when nothing ran, 77 (ctest's
# SKIP_RETURN_CODE) when something was skipped, 0 only when all passed;
# tests/lib/tap.sh, its shell side, likewise.  And test.sh's reading of
# ctest's output (tests/lib/ctest-counts.sh) counts skips as skips.
set -uo pipefail
src=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/lib-runner.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$src/tests/lib/tap.sh"

cat >"$T/suite.c" <<'C'
#include "runner.h"
TEST(passes) { CHECK_EQ(1, 1); }
TEST(fails) { CHECK_EQ(1, 2); }
TEST(skips) { SKIP("no %s here", "widget"); CHECK(0); }
TEST(fails_then_skips) { TEST_FAIL_AT("x.c", 1, "bad"); SKIP("late"); }
TEST_MAIN(T(passes), T(fails), T(skips), T(fails_then_skips))
C
cc -std=c99 -Wall -Wextra -Wconversion -Wshadow -Wmissing-prototypes -Werror \
	-I"$src/tests/lib" "$T/suite.c" "$src/tests/lib/runner.c" -o "$T/suite"
check "a suite builds on the runner" test -x "$T/suite"

# run ARGS...: the suite's stdout in $T/out, its status in rc
run() { "$T/suite" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
line() { grep -qxF -- "$1" "$T/out"; }

run
check "all four: exit 1 (a failure)" test "$rc" = 1
check "  a pass is ok" line "ok 1 - passes"
check "  a failure is not ok" line "not ok 2 - fails"
check "  the failed check on stderr" grep -qF "suite.c:3: 1 == 2: 1 != 2" "$T/err"
check "  a skip is ok with # SKIP and its reason" line "ok 3 - skips # SKIP no widget here"
check "  a failure wins over a later skip" line "not ok 4 - fails_then_skips"
check "  closing line counts each outcome" line "1 passed, 2 failed, 1 skipped"
check "  the closing line is the last" test "$(tail -n 1 "$T/out")" = "1 passed, 2 failed, 1 skipped"
run skips
check "a skip alone: exit 77" test "$rc" = 77
check "  1 skipped" line "0 passed, 0 failed, 1 skipped"
run passes
check "a pass alone: exit 0" test "$rc" = 0
check "  1 passed" line "1 passed, 0 failed, 0 skipped"
run no_such_test
check "nothing ran: exit 1" test "$rc" = 1


# the shell side (tests/lib/tap.sh) in a subshell of its own
bash -c '. "$1"; check a true; skip b "no b here"; finish' _ "$src/tests/lib/tap.sh" >"$T/out"
rc=$?
check "tap.sh: a skip is ok with # SKIP and its reason" line "ok 2 - b # SKIP no b here"
check "tap.sh: closing line counts it" line "1 passed, 0 failed, 1 skipped"
check "tap.sh: finish returns 77" test "$rc" = 77
bash -c '. "$1"; skip b "no b"; not_ok c; finish' _ "$src/tests/lib/tap.sh" >"$T/out"
rc=$?
check "tap.sh: a failure wins: finish returns 1" test "$rc" = 1
check "tap.sh: closing line" line "0 passed, 1 failed, 1 skipped"
# golden (tests/lib/tap.sh): compares; MIBAND_UPDATE_GOLDEN=1 writes and
# skips; any other value, or CI=true, fails and writes nothing
printf 'new\n' >"$T/got"
gold() { # gold ENV...: runs golden on a fresh golden file "old"
	printf 'old\n' >"$T/gold"
	env -u CI -u MIBAND_UPDATE_GOLDEN "$@" bash -c '. "$1"; golden g "$2" "$3"; finish' _ \
		"$src/tests/lib/tap.sh" "$T/gold" "$T/got" >"$T/out" 2>&1
	rc=$?
}
gold
check "golden: a difference fails" test "$rc" = 1
check "  and shows the diff" line "+new"
gold MIBAND_UPDATE_GOLDEN=1
check "golden: MIBAND_UPDATE_GOLDEN=1 skips the comparison" line "ok 1 - g # SKIP MIBAND_UPDATE_GOLDEN=1 rewrote $T/gold, not compared"
check "  and writes the golden file" cmp -s "$T/gold" "$T/got"
gold MIBAND_UPDATE_GOLDEN=yes
check "golden: MIBAND_UPDATE_GOLDEN=yes fails" test "$rc" = 1
check "  and writes nothing" grep -qx old "$T/gold"
gold MIBAND_UPDATE_GOLDEN=1 CI=true
check "golden: MIBAND_UPDATE_GOLDEN=1 with CI=true fails" test "$rc" = 1
check "  and writes nothing" grep -qx old "$T/gold"
cp "$T/got" "$T/gold2"
env -u CI -u MIBAND_UPDATE_GOLDEN bash -c '. "$1"; golden g "$2" "$3"; finish' _ \
	"$src/tests/lib/tap.sh" "$T/gold2" "$T/got" >"$T/out" 2>&1
check "golden: equal files pass" line "ok 1 - g"

# test.sh's reading of ctest (tests/lib/ctest-counts.sh) against a real
# ctest: a passed, a skipped (exit 77), a disabled, a failed and a missing
# test; skips must not count as passed nor as failed
if command -v cmake >/dev/null && command -v ctest >/dev/null; then
	mkdir -p "$T/ct"
	cat >"$T/ct/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(counts NONE)
enable_testing()
add_test(NAME passes COMMAND true)
add_test(NAME skips COMMAND sh -c "exit 77")
add_test(NAME disabled COMMAND true)
add_test(NAME fails COMMAND false)
add_test(NAME missing COMMAND /nonexistent/program)
set_tests_properties(skips PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties(disabled PROPERTIES DISABLED TRUE)
CMAKE
	cmake -S "$T/ct" -B "$T/ct/b" >/dev/null 2>&1
	(cd "$T/ct/b" && ctest -j2) >"$T/ct.log" 2>&1
	. "$src/tests/lib/ctest-counts.sh"
	check "ctest_counts: 1 passed, 2 failed, 2 skipped" test "$(ctest_counts "$T/ct.log")" = "1 2 2"
	(cd "$T/ct/b" && ctest -R '^passes$') >"$T/ct.log" 2>&1
	check "ctest_counts: 1 passed" test "$(ctest_counts "$T/ct.log")" = "1 0 0"
	echo "garbage" >"$T/ct.log"
	check "ctest_counts: no results is an error" eval '! ctest_counts "$T/ct.log" >/dev/null'
else
	skip "ctest_counts against a real ctest" "no cmake/ctest"
fi

finish
