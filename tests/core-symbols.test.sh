#!/usr/bin/env bash
# The portable core (src/core, src/emu) must reference no symbol beyond
# memcpy/memset/memcmp/memmove/strlen: no allocation, no I/O, no clock.
# Checks the objects of the build this test belongs to.
set -euo pipefail
build=$1
objs=$(find "$build/CMakeFiles/miband_core.dir" -name '*.o')
[ -n "$objs" ] || { echo "no core objects under $build"; exit 1; }
defined=$(nm --defined-only $objs | awk 'NF==3 {print $3}' | sort -u)
bad=$(nm -u $objs | awk 'NF==2 {print $2}' | sort -u | comm -23 - <(echo "$defined") |
	grep -vxE 'memcpy|memset|memcmp|memmove|strlen|_GLOBAL_OFFSET_TABLE_' || true)
n=$(echo "$objs" | wc -l)
if [ -n "$bad" ]; then
	echo "not ok - core objects reference forbidden symbols:"
	echo "$bad"
	exit 1
fi
echo "ok - $n core objects reference only memcpy/memset/memcmp/memmove/strlen"
src=$2
# ...and include nothing beyond the four freestanding-friendly headers.
inc=$(grep -hoE '#[[:space:]]*include[[:space:]]*<[^>]+>' "$src"/src/core/*.[ch] "$src"/src/emu/*.[ch] \
	$(ls "$src"/include/miband/*.h | grep -v bluez) 2>/dev/null | sed -E 's/.*<(.*)>/\1/' | sort -u |
	grep -vxE 'stdint.h|stddef.h|stdbool.h|string.h' || true)
# bluez.h is the Linux transport's public header, not the core's
if [ -n "$inc" ]; then
	echo "not ok - portable core includes forbidden headers: $inc"
	exit 1
fi
echo "ok - portable core includes only stdint.h stddef.h stdbool.h string.h"
