#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind; counts, not seconds, so
# they repeat exactly for the same binary and inputs):
#   per reconnect handshake (client + band engines + OpenSSL AES, over the
#   in-process link), per 1000 samples decoded by the codec, and per 1440
#   minutes fetched over the link (client + band).
# Each figure is (run with N) - (run with 0), divided by N, so process
# start-up and OpenSSL initialisation cancel out.
#   bench/instr.sh [BUILD_DIR]     (default build)
set -euo pipefail
B=${1:-build}
bin=$B/bench/bench-auth
[ -x "$bin" ] || { echo "build $bin first (cmake --build $B)"; exit 1; }
ir() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per() { # MODE N UNIT
	local base n
	base=$(ir "$1" 0)
	n=$(ir "$1" "$2")
	printf '%-34s %12d instructions\n' "$3" $(( (n - base) * $4 / $2 ))
}
per --handshakes 200 "per reconnect handshake" 1
per --decode 40000 "per 1000 samples decoded (codec)" 1000
per --fetch 2880 "per 1440 minutes fetched (link)" 1440
