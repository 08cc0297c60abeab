#!/usr/bin/env bash
# libmiband.so exports exactly the API the installed headers declare:
# every function and object declared in include/miband/*.h is defined and
# exported, and nothing else is (no miband__* internals, no test backend).
# Headers of parts left out of the build (bluez.h, store.h, a crypto
# backend) are held to "nothing extra", not "everything there".
#   tests/exported-symbols.test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
B=${1:?build dir}
S=${2:?source dir}
lib=$B/libmiband.so
cache=$B/CMakeCache.txt
if [ ! -e "$lib" ]; then
	echo "not ok 1 - $lib exists"
	exit 1
fi
opt() { grep -q "^$1:BOOL=ON" "$cache"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declared: every miband_ name followed by "(" in the preprocessed headers
# but not by "(*" (a function returning a function pointer type) nor
# preceded by "(*" (a function pointer typedef), plus extern objects.
declared() {
	local h
	for h in "$S"/include/miband/*.h; do printf '#include "%s"\n' "$h"; done |
		${CC:-cc} -E -P -I"$S/include" -x c - |
		perl -0777 -ne '
			while (/(\(\s*\*\s*)?\b(miband_[a-z0-9_]+)\s*\((?!\s*\*)/g) {
				print "$2\n" unless $1;
			}
			print "$1\n" while /\bextern\b[^;()]*?\b(miband_[a-z0-9_]+)\s*;/g;
		' | sort -u
}
declared >"$tmp/declared"
nm -D --defined-only "$lib" | awk '{print $3}' | sort -u >"$tmp/exported"

# Declared but possibly absent: parts of the API this build left out.
: >"$tmp/optional"
opt MIBAND_WITH_MBEDTLS || echo miband_crypto_mbedtls >>"$tmp/optional"
opt MIBAND_WITH_OPENSSL || echo miband_crypto_openssl >>"$tmp/optional"
if ! opt MIBAND_WITH_BLUEZ; then grep '^miband_bluez_' "$tmp/declared" >>"$tmp/optional" || true; fi
if ! opt MIBAND_WITH_STORE; then grep '^miband_store_' "$tmp/declared" >>"$tmp/optional" || true; fi
sort -u -o "$tmp/optional" "$tmp/optional"

fail=0
n=0
# check WHAT LIST: ok if LIST is empty, else not ok with LIST.
check() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1:"
		printf '  %s\n' $2
		fail=$((fail + 1))
	fi
}
check "every exported symbol is declared in include/miband" \
	"$(comm -13 "$tmp/declared" "$tmp/exported")"
check "every declared function and object is exported" \
	"$(comm -23 "$tmp/declared" "$tmp/exported" | comm -23 - "$tmp/optional")"
count=$(wc -l <"$tmp/exported")
check "$count symbols exported, none internal" \
	"$(grep -E '^miband__|^miband_crypto_test' "$tmp/exported" || true)"
echo "$((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
