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
# golden NAME FILE GOT: the check NAME passes if the file GOT equals the
# golden FILE (the diff is printed if not).  A developer who changed the
# output on purpose sets MIBAND_UPDATE_GOLDEN=1: GOT is written into FILE
# instead and the check is reported skipped, never passed (review the
# change with git diff).  Any other value, and any value with CI=true,
# fails the check without writing.
golden() {
	local name=$1 file=$2 got=$3
	if [ -n "${MIBAND_UPDATE_GOLDEN:-}" ]; then
		if [ "$MIBAND_UPDATE_GOLDEN" != 1 ] || [ "${CI:-}" = true ]; then
			not_ok "$name: MIBAND_UPDATE_GOLDEN=$MIBAND_UPDATE_GOLDEN refused" \
				"(only =1 rewrites golden files, and never with CI=true)"
			return
		fi
		cp "$got" "$file"
		skip "$name" "MIBAND_UPDATE_GOLDEN=1 rewrote $file, not compared"
		return
	fi
	if diff -u "$file" "$got"; then ok "$name"; else not_ok "$name: differs (diff above)"; fi
}
finish() {
	echo "$((n - fails - skips)) passed, $fails failed, $skips skipped"
	[ "$fails" -eq 0 ] || return 1
	[ "$skips" -eq 0 ] || return 77
}
