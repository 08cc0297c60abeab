# TAP-like helpers for script suites (sourced), the shell side of
# tests/lib/runner.c: one line per check, `ok N - name`, `not ok N - name`
# or `ok N - name # SKIP reason`, and finish's closing line
# `N passed, N failed, N skipped`.  finish returns 1 on a failure, else
# 77 (ctest's SKIP_RETURN_CODE) when something was skipped, else 0.
#
#   . "$src/tests/lib/tap.sh"
#   check "it works" test "$x" = 1
#   command -v man >/dev/null || skip "the man page renders" "no man (Debian package man-db)"
#   finish
n=0
fails=0
skips=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $*"
}
# skip NAME REASON: the check NAME did not run, because of REASON
skip() {
	n=$((n + 1))
	skips=$((skips + 1))
	echo "ok $n - $1 # SKIP $2"
}
# check NAME CMD...: passes if CMD succeeds
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
finish() {
	echo "$((n - fails - skips)) passed, $fails failed, $skips skipped"
	[ "$fails" -eq 0 ] || return 1
	[ "$skips" -eq 0 ] || return 77
}
