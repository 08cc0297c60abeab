#!/usr/bin/env bash
# Data safety of the key store (the issue "what a new user broke in an
# afternoon"): every repro on a fresh store and emulated band, and what
# must hold instead.  One section per item; `fresh` starts each one.
. "$2/tests/data/cli/lib.sh" "$1" "$2"
KEYS="$XDG_CONFIG_HOME/miband/keys"
OTHER=ffeeddccbbaa99887766554433221100
fresh() { rm -rf "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_DATA_HOME"; }

# ---- 1. pair checks that the store can keep the key before the band gets it
fresh
expect_rc 0 "pair-store-first: first pairing" pair -d emu --key "$KEY"
mv "$KEYS/emu" "$T/emu.key"
mkdir "$KEYS/emu" # in the way: the key file cannot be replaced
expect_rc 8 "pair-store-first: a store that cannot keep the key fails" pair -d emu
check "pair-store-first: it says what is in the way" err_has "is in the way"
check "pair-store-first: no temporary file is left" sh -c "! ls -A '$KEYS' | grep -q '^\.'"
rmdir "$KEYS/emu"
mv "$T/emu.key" "$KEYS/emu"
expect_rc 0 "pair-store-first: the band still has the old, stored key" battery -d emu
rm -rf "$KEYS"
printf 'not a directory\n' >"$KEYS"
expect_rc 8 "pair-store-first: a key store that is a file fails" pair -d emu
rm -f "$KEYS"
expect_rc 0 "pair-store-first: the band still takes the old key" auth -d emu --key "$KEY"
if [ "$(id -u)" != 0 ]; then
	mkdir -p "$KEYS" && chmod 500 "$KEYS"
	expect_rc 8 "pair-store-first: an unwritable key store fails" pair -d emu
	chmod 700 "$KEYS"
	expect_rc 0 "pair-store-first: the band kept its key" auth -d emu --key "$KEY"
fi

# ---- 2. keys import never overwrites silently; aliases have rules
fresh
expect_rc 0 "import-no-overwrite: pair" pair -d emu
expect_rc 2 "import-no-overwrite: another key for a paired band is refused" \
	keys import --device emu --key "$OTHER"
check "import-no-overwrite: the message says --force" err_has "pass --force"
expect_rc 0 "import-no-overwrite: the pairing still works" auth -d emu
expect_rc 0 "import-no-overwrite: the same key again is fine" keys list
expect_rc 0 "import-no-overwrite: --force replaces it" \
	keys import --device emu --key "$OTHER" --force
expect_rc 5 "import-no-overwrite: (the band has the paired key)" auth -d emu
fresh
expect_rc 0 "alias-rules: an alias for band 01" \
	keys import --device AA:BB:CC:DD:EE:01 --alias wrist --key "$KEY"
expect_rc 2 "alias-rules: the same alias for band 02 is refused" \
	keys import --device AA:BB:CC:DD:EE:02 --alias wrist --key "$OTHER"
check "alias-rules: the message names the other band" err_has "already the key of AA:BB:CC:DD:EE:01"
check "alias-rules: wrist still names band 01" grep -qx "address AA:BB:CC:DD:EE:01" "$KEYS/wrist"
expect_rc 0 "import band 02" keys import --device AA:BB:CC:DD:EE:02 --key "$OTHER"
expect_rc 2 "alias-rules: an address as an alias is refused" \
	keys import --device AA:BB:CC:DD:EE:01 --alias AA:BB:CC:DD:EE:02 --key "$KEY"
check "alias-rules: it says it looks like an address" err_has "looks like a Bluetooth address"
check "alias-rules: band 02 keeps its key" grep -qx "key $OTHER" "$KEYS/AA:BB:CC:DD:EE:02"
expect_rc 2 "alias-rules: emu as an alias is refused" \
	keys import --device AA:BB:CC:DD:EE:01 --alias emu --key "$KEY"
check "alias-rules: it says emu is reserved" err_has "is reserved"
expect_rc 2 "alias-rules: pair --alias emu is refused" pair -d emu --alias emu
check "alias-rules: pair says emu is reserved" err_has "is reserved"
expect_rc 2 "alias-rules: a colon in an alias is refused" \
	keys import --device AA:BB:CC:DD:EE:01 --alias a:b --key "$KEY"
check "alias-rules: it says what an alias is" err_has "an alias is 1 to 63 letters"

# ---- 3. re-pairing updates every entry of the band
fresh
expect_rc 0 "repair-aliases: pair under an alias" pair -d emu --alias mine
expect_rc 0 "repair-aliases: pair again with another key" pair -d emu --key "$OTHER"
check "repair-aliases: the alias got the new key" grep -qx "key $OTHER" "$KEYS/mine"
expect_rc 0 "repair-aliases: -d mine works" battery -d mine
expect_rc 0 "repair-aliases: one band, so it is the default" battery
expect_rc 0 "repair-aliases: pair -d mine" pair -d mine --key "$KEY"
expect_rc 0 "repair-aliases: -d emu finds the alias's key" auth -d emu
check "repair-aliases: every entry has the same key" sh -c "
	for f in '$KEYS'/*; do grep -qx 'key $KEY' \"\$f\" || exit 1; done"

# ---- 13. a corrupt key file is a key store error (8), not usage (2)
fresh
expect_rc 0 "corrupt-key-file: pair" pair -d emu
printf 'garbage\n' >"$KEYS/emu"
expect_rc 8 "corrupt-key-file: exit 8" battery -d emu
check "corrupt-key-file: the message says how to fix it" err_has "keys forget emu"
expect_rc 8 "corrupt-key-file: as the default device too" battery
expect_rc 0 "corrupt-key-file: it can be forgotten" keys forget emu

# ---- 5. only key files count; symbolic links are refused as such
fresh
expect_rc 0 "store-strays: pair" pair -d emu
printf 'hello\n' >"$KEYS/README.txt"
chmod 600 "$KEYS/README.txt"
ln -s /etc/passwd "$KEYS/evil"
expect_rc 0 "store-strays: a stray file and a link are no bands" battery
expect_rc 0 "store-strays: keys list" keys list
check "store-strays: the link is refused as a link" err_has "evil' is a symbolic link: it is refused"
check "store-strays: no chmod advice for the link" sh -c "! grep -q 'chmod 600.*evil' '$T/err'"
check "store-strays: README.txt is no key file" err_has "README.txt' is not a usable key file"
check "store-strays: /etc/passwd untouched" test "$(stat -c %a /etc/passwd)" = 644
expect_rc 8 "store-strays: -d evil is refused" battery -d evil
check "store-strays: -d evil says it is a link" err_has "symbolic link"

# ---- 6. no usable HOME: fail clearly, never create HOME
fresh
noenv() { env -i PATH=/usr/bin:/bin MIBANDCTL_EMU_CLOCK=1764000000 "$@"; }
set +e
noenv "$M" -d emu battery >"$T/out" 2>"$T/err"; rc=$?
set -e
check "no-home: battery without HOME exits 8 ($rc)" test "$rc" = 8
check "no-home: it says HOME is not set" err_has "HOME is not set"
check "no-home: no hint at pair" sh -c "! grep -q 'pair' '$T/err'"
set +e
noenv "$M" keys list >"$T/out" 2>"$T/err"; rc=$?
set -e
check "no-home: keys list without HOME exits 8 ($rc)" test "$rc" = 8
set +e
noenv HOME="$T/nonexistent" "$M" -d emu pair >"$T/out" 2>"$T/err"; rc=$?
set -e
check "no-home: pair with a missing HOME exits 8 ($rc)" test "$rc" = 8
check "no-home: it says HOME does not exist" err_has "does not exist"
check "no-home: HOME was not created" test ! -e "$T/nonexistent"
set +e
noenv HOME="$T/nonexistent" XDG_CONFIG_HOME="$T/xc" XDG_STATE_HOME="$T/xs" \
	"$M" -d emu pair >"$T/out" 2>"$T/err"; rc=$?
set -e
check "no-home: the XDG variables alone are enough ($rc)" test "$rc" = 0
check "no-home: still no HOME" test ! -e "$T/nonexistent"
set +e
noenv HOME="$T/nonexistent" "$M" export >"$T/out" 2>"$T/err"; rc=$?
set -e
check "no-home: export without a usable HOME exits 8 ($rc)" test "$rc" = 8

finish
