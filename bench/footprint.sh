#!/usr/bin/env bash
# Footprint of the portable core on Cortex-M4 (issue: performance, 1c):
# text/data/bss of src/core and src/emu built with
#   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections
# and sizeof the session, band and link structs on that target.
# Heap use is zero by construction (tests/core-symbols.test.sh checks
# that no allocator is referenced).
#   bench/footprint.sh [BUILD_DIR]      (default build-m4)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-m4}
cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
	-DMIBAND_CORE_ONLY=ON >/dev/null
cmake --build "$B" -j"$(nproc)" >/dev/null
objdir="$B/CMakeFiles/miband_core.dir/src"
sum() { arm-none-eabi-size "$@" | awk 'NR>1 {t+=$1; d+=$2; b+=$3} END {printf "%6d %6d %6d", t, d, b}'; }
printf '%-28s %6s %6s %6s\n' "part (Cortex-M4, -Os)" text data bss
printf '%-28s %s\n' "core (client engine+codec)" "$(sum "$objdir"/core/*.obj)"
printf '%-28s %s\n' "emu (band engine+link)" "$(sum "$objdir"/emu/*.obj)"
for f in "$objdir"/core/*.obj "$objdir"/emu/*.obj; do
	printf '  %-26s %s\n' "$(basename "$f" .c.obj)" "$(sum "$f")"
done
probe=$(mktemp -d)
cat >"$probe/p.c" <<'C'
#include "miband/miband.h"
char sizeof_session[sizeof(struct miband_session)];
char sizeof_band[sizeof(struct miband_band)];
char sizeof_link[sizeof(struct miband_link)];
char sizeof_action[sizeof(struct miband_action)];
char sizeof_event[sizeof(struct miband_event)];
C
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -Iinclude -c "$probe/p.c" -o "$probe/p.o"
arm-none-eabi-nm -S "$probe/p.o" | while read -r _ size _ name; do printf "%-28s %6d bytes\n" "sizeof(struct ${name#sizeof_})" "$((16#$size))"; done
# Linked cost for a firmware that authenticates and reads battery, steps
# and time: (fw-client) - (fw-empty), --gc-sections, newlib-nano.
FW="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -Iinclude"
LD="-nostartfiles -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs"
$FW bench/firmware/start.c bench/firmware/fw-client.c "$B/libmiband_portable.a" $LD -o "$probe/client.elf"
$FW bench/firmware/start.c bench/firmware/fw-empty.c $LD -o "$probe/empty.elf"
read -r ct cd cb _ < <(arm-none-eabi-size "$probe/client.elf" | tail -1)
read -r et ed eb _ < <(arm-none-eabi-size "$probe/empty.elf" | tail -1)
printf '%-28s %6d %6d %6d   (auth + battery/steps/time, linked, AES excluded)\n' \
	"client engine in firmware" $((ct - et)) $((cd - ed)) $((cb - eb))
# The same firmware with the client engine's optional features left out
# (config.h: MIBAND_FEATURE_FETCH, _TEXT, _EVENTS = 0).
MIN="-DMIBAND_FEATURE_FETCH=0 -DMIBAND_FEATURE_TEXT=0 -DMIBAND_FEATURE_EVENTS=0"
$FW $MIN bench/firmware/start.c bench/firmware/fw-client.c src/core/*.c $LD -o "$probe/min.elf"
read -r mt md mb _ < <(arm-none-eabi-size "$probe/min.elf" | tail -1)
printf '%-28s %6d %6d %6d   (same, FETCH/TEXT/EVENTS features off)\n' \
	"client engine, minimal" $((mt - et)) $((md - ed)) $((mb - eb))
# newlib's memcpy/memset are in both figures: the platform's libc
rm -rf "$probe"
