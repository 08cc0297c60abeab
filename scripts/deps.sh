#!/usr/bin/env bash
# Installs the Debian packages libmiband needs to build and test, if any
# are missing.  Idempotent; uses sudo when not root.
#   scripts/deps.sh            build + test packages
#   scripts/deps.sh --build    only what the build needs
set -euo pipefail
BUILD_PKGS="build-essential cmake pkg-config libssl-dev libsystemd-dev libsqlite3-dev"
TEST_PKGS="dbus-daemon clang gcc-arm-none-eabi libnewlib-arm-none-eabi libmbedtls-dev valgrind python3 tshark xxd openssl man-db"
pkgs=$BUILD_PKGS
[ "${1:-}" = "--build" ] || pkgs="$pkgs $TEST_PKGS"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
	$SUDO apt-get update -q >&2
fi
if ! $SUDO apt-get install -y -q --no-install-recommends $missing >&2; then
	$SUDO apt-get update -q >&2
	$SUDO apt-get install -y -q --no-install-recommends $missing >&2
fi
