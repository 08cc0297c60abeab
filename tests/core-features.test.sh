#!/usr/bin/env bash
# The client engine built with its optional features off (config.h:
# MIBAND_FEATURE_FETCH/TEXT/EVENTS = 0) compiles warning-free and still
# authenticates and reads; the features left out say UNSUPPORTED.
set -euo pipefail
build=$1 src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=c99 -Wall -Wextra -Wconversion -Wshadow -Wmissing-prototypes -Werror \
	-DMIBAND_FEATURE_FETCH=0 -DMIBAND_FEATURE_TEXT=0 -DMIBAND_FEATURE_EVENTS=0 \
	-I"$src/include" -I"$src/tests/lib" "$src"/src/core/*.c "$src"/src/emu/*.c \
	"$src"/src/crypto/openssl.c "$src"/tests/lib/runner.c "$src"/tests/features/main.c -o "$out/features" $(pkg-config --libs libcrypto)
"$out/features"
