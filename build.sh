#!/usr/bin/env bash
# Installs the Debian packages the build needs (if missing), builds
# everything into ./build, and runs the main job on the emulated band
# (`--device emu`, in-process, no Bluetooth needed): pair, authenticate,
# read battery, steps, time and heart rate, sync 100 days of history and
# show the last week's totals.  The emulated band keeps its state (its
# key too) in ~/.local/state/miband/emu, the key store is
# ~/.config/miband/keys, the history ~/.local/share/miband/miband.db.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh --build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
M=./build/mibandctl
run() { echo; echo "\$ mibandctl $*"; "$M" "$@"; }
run --device emu pair --new-key
run --device emu auth
run --device emu battery
run --device emu steps
run --device emu time --sync
run --device emu hr
run --device emu sync
run stats --band emu --from "$(date -d '6 days ago' +%F)"
echo
echo "build.sh: done. Try ./build/mibandctl --help, or ./build/miband-demo to see each protocol step."
