#!/bin/bash
# Build the base image of the real-BlueZ test VM: Debian's kernel plus an
# initramfs with busybox, bluez (bluetoothd, btvirt, btmon), dbus, python3
# and python3-bleak, all taken from Debian packages.  The project's own
# binaries and the scenarios are NOT in it: tests/vm/run.sh appends them as
# a second small cpio at boot, so the base is built once and reused.
#
#   tests/vm/build-image.sh OUT_DIR      (run.sh passes $BUILD/vm)
#
# Output in OUT_DIR: vmlinux (ELF, booted through PVH), base.img (lz4 cpio),
# base.files (the paths in it), base.stamp (hash of the inputs).  The image
# is rebuilt only when an input changed: this script, the guest files that
# go into the base (guest/init), the versions of the Debian packages it
# copies from, or the kernel package.  REBUILD=1 forces a rebuild.
#
# Needs: Debian 12 (bookworm) x86_64.  Missing packages are installed with
# apt-get when running as root; otherwise the script says which to install.
# Exit status: 0 image ready, 1 build failed, 3 the machine cannot build it
# (no packages, no space, no network for the kernel download).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: build-image.sh OUT_DIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T_START=$(date +%s.%N)

say() { echo "build-image: $*"; }
cannot() { echo "build-image: CANNOT BUILD THE VM IMAGE: $*" >&2; exit 3; }

# One builder at a time per output directory (ctest -j, two shells...).
exec 9>"$OUT/.lock"
flock 9

# ---- 1. host packages ------------------------------------------------------
# Userspace is copied from the host's own install of these packages.
PKGS="qemu-system-x86 busybox-static bluez bluez-test-tools dbus dbus-bin
      dbus-daemon dbus-system-bus-common python3 python3-dbus python3-gi
      python3-bleak python3-dbus-fast python3-cryptography
      python3-cffi-backend cpio lz4 kmod"
# Libraries whose versions also go into the cache key.
LIBPKGS="libc6 libglib2.0-0 libdbus-1-3 libssl3 libpython3.11-minimal
         libpython3.11-stdlib python3.11 python3.11-minimal libsystemd0
         libudev1 libreadline8 libexpat1 libffi8 libsqlite3-0"
missing=""
for p in $PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && [ -z "${SKIP_APT:-}" ]; then
		say "installing Debian packages:$missing"
		export DEBIAN_FRONTEND=noninteractive
		[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' \
			-print -quit 2>/dev/null)" ] || apt-get update -q ||
			cannot "apt-get update failed"
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing \
			>"$OUT/apt.log" 2>&1 ||
			cannot "apt-get install$missing failed (see $OUT/apt.log)"
	else
		cannot "missing Debian packages:$missing
  install them with: sudo apt-get install --no-install-recommends$missing"
	fi
fi

# Enough room for the kernel, the root tree and the image (~600 MB).
avail_kb=$(df -Pk "$OUT" | awk 'NR==2 {print $4}')
[ "${avail_kb:-0}" -ge 700000 ] ||
	cannot "less than 700 MB free in $OUT ($((avail_kb / 1024)) MB)"

# ---- 2. the cache key --------------------------------------------------------
# The kernel package behind linux-image-amd64; apt-cache takes seconds, so
# its answer is kept until apt's lists or dpkg's status change.
aptstamp=$(stat -c %Y /var/lib/apt/lists /var/lib/dpkg/status 2>/dev/null |
	tr '\n' ' ')
if [ -f "$OUT/kernel.pkg" ] && [ "$(head -n 1 "$OUT/kernel.pkg")" = "$aptstamp" ]; then
	read -r KPKG KDEBVER < <(sed -n 2p "$OUT/kernel.pkg")
else
	KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$KPKG" ] || cannot "apt-cache does not know linux-image-amd64"
	KDEBVER=$(apt-cache show "$KPKG" 2>/dev/null |
		awk '/^Version:/ {print $2; exit}')
	printf '%s\n%s %s\n' "$aptstamp" "$KPKG" "$KDEBVER" >"$OUT/kernel.pkg"
fi
KVER=${KPKG#linux-image-}
COMPRESS=${COMPRESS:-lz4}
BASE_GUEST_FILES="init"
key=$({
	cat "$0"
	for f in $BASE_GUEST_FILES; do echo "== $f"; cat "$HERE/guest/$f"; done
	# shellcheck disable=SC2086
	dpkg-query -W -f '${Package} ${Version}\n' $PKGS $LIBPKGS 2>/dev/null
	echo "kernel $KPKG $KDEBVER compress $COMPRESS"
	echo "extra ${EXTRA_DIAG:-}"
} | sha256sum | cut -d' ' -f1)

if [ -z "${REBUILD:-}" ] && [ -f "$OUT/base.stamp" ] &&
	[ "$(cat "$OUT/base.stamp")" = "$key" ] &&
	[ -f "$OUT/vmlinux" ] && [ -f "$OUT/base.img" ] &&
	[ -f "$OUT/base.files" ]; then
	say "cached image is up to date ($OUT, key ${key:0:12})"
	exit 0
fi
say "building the base image in $OUT (key ${key:0:12})"
rm -f "$OUT/base.stamp"

# ---- 3. Debian kernel (downloaded as a .deb and extracted, not installed) ---
if [ ! -f "$OUT/kernel/$KDEBVER/boot/vmlinuz-$KVER" ]; then
	say "downloading $KPKG $KDEBVER"
	rm -rf "$OUT/kernel" "$OUT/dl"
	mkdir -p "$OUT/dl" "$OUT/kernel/$KDEBVER"
	# apt's _apt sandbox user may not be able to write into OUT
	(cd "$OUT/dl" && apt-get download -o APT::Sandbox::User=root \
		"$KPKG" >/dev/null 2>"$OUT/dl/err") ||
		cannot "apt-get download $KPKG failed: $(cat "$OUT/dl/err")"
	dpkg-deb -x "$OUT"/dl/"${KPKG}"_*.deb "$OUT/kernel/$KDEBVER"
	rm -rf "$OUT/dl"
fi
KROOT="$OUT/kernel/$KDEBVER"
# Debian's bzImage is XZ-compressed; decompressing it under TCG costs about
# 3.5 s per boot.  Extract the ELF vmlinux once; QEMU boots it through PVH.
/usr/bin/python3 - "$KROOT/boot/vmlinuz-$KVER" "$OUT/vmlinux" <<'PYEOF'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
x = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
out = x.decompress(d[d.find(b'\xfd7zXZ\x00'):])
assert out[:4] == b'\x7fELF', 'no ELF vmlinux inside the bzImage'
open(sys.argv[2], 'wb').write(out)
PYEOF
MODDIR="$KROOT/lib/modules/$KVER"
[ -f "$MODDIR/modules.dep" ] || depmod -b "$KROOT" "$KVER"

# ---- 4. root filesystem tree (usr-merged) -----------------------------------
R="$OUT/root"
rm -rf "$R"
mkdir -p "$R"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys} \
	"$R"/{dev,run,tmp,var/lib,etc/dbus-1/system.d,etc/bluetooth,e2e,root}
ln -s usr/bin "$R/bin"
ln -s usr/sbin "$R/sbin"
ln -s usr/lib "$R/lib"
ln -s usr/lib64 "$R/lib64"
ln -s ../run "$R/var/run" # D-Bus clients look for /var/run/dbus/...

# copy a host file to the same canonical path, dereferenced
put() {
	local f=$1 d
	d=$(readlink -f "$(dirname "$f")")
	mkdir -p "$R$d"
	[ -e "$R$d/$(basename "$f")" ] || cp -L "$f" "$R$d/"
}
# copy an ELF file plus its shared-library closure
put_elf() {
	put "$1"
	ldd "$1" 2>/dev/null |
		awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' |
		while read -r l; do put "$l"; done
}

# busybox: sh, mount, su, timeout, awk, grep, ...
cp /bin/busybox "$R/usr/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$R/usr/bin/$a" ] || ln -s busybox "$R/usr/bin/$a"
done

# BlueZ and D-Bus
for b in /usr/libexec/bluetooth/bluetoothd /usr/bin/bluetoothctl \
	/usr/bin/btmon /usr/bin/btvirt /usr/bin/btmgmt /usr/bin/hciconfig \
	/usr/bin/dbus-daemon /usr/bin/dbus-send /usr/bin/dbus-monitor; do
	put_elf "$b"
done
ln -sf ../libexec/bluetooth/bluetoothd "$R/usr/sbin/bluetoothd"
# The real system bus policy of Debian: system.conf + bluez's bluetooth.conf
# (the emulator runs as an ordinary user under it, as on a desktop).
mkdir -p "$R/usr/share/dbus-1"
cp /usr/share/dbus-1/system.conf "$R/usr/share/dbus-1/"
cp /etc/dbus-1/system.d/bluetooth.conf "$R/etc/dbus-1/system.d/"
# bluetoothd: plain ATT (a Mi Band has no EATT) and no Device Information
# service of its own (the band serves 0x180A).
cat >"$R/etc/bluetooth/main.conf" <<'EOF'
[General]
DeviceID = false

[GATT]
Channels = 1
EOF
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
messagebus:x:100:101::/nonexistent:/bin/false
band:x:1000:1000:miband-emu:/tmp:/bin/sh
client:x:1001:1001:BLE client:/tmp:/bin/sh
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
messagebus:x:101:
bluetooth:x:112:band,client
band:x:1000:
client:x:1001:
EOF
echo 'hosts: files' >"$R/etc/nsswitch.conf"

# Python: stdlib (with its .pyc) minus the heavy parts, plus the Debian
# python packages the clients use, copied as installed (with __pycache__).
PYBIN=$(readlink -f /usr/bin/python3)
put_elf "$PYBIN"
ln -sf "$(basename "$PYBIN")" "$R/usr/bin/python3"
PY=/usr/lib/$(basename "$PYBIN")
(cd / && find "${PY#/}" \( -name test -o -name tests -o -name idlelib \
	-o -name tkinter -o -name turtledemo -o -name lib2to3 \
	-o -name ensurepip -o -name pydoc_data -o -name 'config-3.*' \
	-o -name site-packages -o -name distutils \) -prune -o \
	\( -type f -o -type l \) -print | cpio -pdmL --quiet "$R")
for so in "$R$PY"/lib-dynload/*.so; do put_elf "${so#"$R"}"; done
DP=/usr/lib/python3/dist-packages
mkdir -p "$R$DP"
for p in python3-dbus python3-gi python3-bleak python3-dbus-fast \
	python3-cryptography python3-cffi-backend; do
	dpkg -L "$p" | grep -E "^$DP/[^/]+$" | while read -r f; do
		cp -a "$f" "$R$DP/"
	done
done
find "$R$DP" -name '*.so' | while read -r so; do put_elf "${so#"$R"}"; done
# OpenSSL 3 providers: python3-cryptography loads the legacy one
put_elf /usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so
[ ! -f /usr/lib/ssl/openssl.cnf ] || put /usr/lib/ssl/openssl.cnf
mkdir -p "$R/usr/lib/x86_64-linux-gnu/girepository-1.0"
cp /usr/lib/x86_64-linux-gnu/girepository-1.0/{GLib,GObject,Gio,GModule}-2.0.typelib \
	"$R/usr/lib/x86_64-linux-gnu/girepository-1.0/"
put_elf /usr/lib/x86_64-linux-gnu/libgirepository-1.0.so.1
put_elf /usr/lib/x86_64-linux-gnu/libgio-2.0.so.0

# Kernel modules: the Bluetooth and crypto subtrees with a real modules.dep
# and kmod's modprobe, so that both the explicit loads and the kernel's own
# request_module() calls (AF_ALG, cmac(aes), drbg, ...) work.  btvirt needs
# the crypto user API (af_alg, algif_*) or it cannot create its controllers.
MODS="hci_vhci af_alg algif_hash algif_skcipher ecb cmac ccm drbg"
MODS="$MODS jitterentropy_rng ecdh_generic"
RM="$R/lib/modules/$KVER"
mkdir -p "$RM"
cp "$MODDIR"/modules.order "$MODDIR"/modules.builtin \
	"$MODDIR"/modules.builtin.modinfo "$RM/"
(cd "$MODDIR" && find kernel/crypto kernel/arch/x86/crypto \
	kernel/net/bluetooth kernel/drivers/bluetooth kernel/net/rfkill \
	kernel/lib -name '*.ko*' | cpio -pdm --quiet "$RM")
depmod -b "$R" "$KVER"
put_elf /usr/bin/kmod
# the kernel's request_module() runs /sbin/modprobe (jitterentropy_rng, for
# one, asks for sha3-256 that way)
for t in modprobe insmod rmmod lsmod modinfo depmod; do
	ln -sf kmod "$R/usr/bin/$t"
	ln -sf ../bin/kmod "$R/usr/sbin/$t"
done
echo "$MODS" >"$R/etc/e2e-modules"
[ -z "${EXTRA_DIAG:-}" ] || put_elf /usr/bin/strace

cp "$HERE/guest/init" "$R/init"
chmod 755 "$R/init"

# ---- 5. pack ----------------------------------------------------------------
case "$COMPRESS" in
gzip) Z="gzip -1" ;;
lz4) Z="lz4 -l -1 -q" ;;
none) Z="cat" ;;
*) cannot "COMPRESS=$COMPRESS: use lz4, gzip or none" ;;
esac
(cd "$R" && find . -print0 | LC_ALL=C sort -z |
	cpio -o -0 -H newc --quiet -R 0:0 | $Z >"$OUT/base.img.tmp")
(cd "$R" && find . | sed 's|^\.||' | LC_ALL=C sort) >"$OUT/base.files"
mv "$OUT/base.img.tmp" "$OUT/base.img"
size=$(du -sh "$R" | cut -f1)
rm -rf "$R"
echo "$key" >"$OUT/base.stamp"
T_END=$(date +%s.%N)
say "kernel $KVER, root $size, base.img $(du -h "$OUT/base.img" | cut -f1) ($COMPRESS)"
say "built in $(awk "BEGIN {printf \"%.1f\", $T_END - $T_START}") s"
