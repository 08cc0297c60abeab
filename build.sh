#!/usr/bin/env bash
# Installs the Debian packages the build needs (if missing), builds
# everything into ./build, and runs the main job on the emulated band:
# pair, authenticate, then read battery, steps, time and firmware.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh --build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
echo
exec ./build/miband-demo "$@"
