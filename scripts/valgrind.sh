#!/bin/sh
# Runs a program under valgrind memcheck for test.sh's valgrind stage: a
# memory error or a leak (definite, indirect or possible) makes it exit
# 99.  The report goes to $MIBAND_VALGRIND_LOGS/vg.PID.log, never to
# stderr, so the CLI tests' golden outputs still compare.
#
#   MIBANDCTL_WRAPPER=$PWD/scripts/valgrind.sh \
#   MIBAND_VALGRIND_LOGS=$PWD/build/valgrind ctest --test-dir build -R cli-
logs=${MIBAND_VALGRIND_LOGS:-${TMPDIR:-/tmp}/miband-valgrind}
mkdir -p "$logs" || exit 1
exec valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible \
	--num-callers=30 --log-file="$logs/vg.%p.log" "$@"
