#!/usr/bin/env bash
# Data safety of the key store (the issue "what a new user broke in an
# afternoon"): every repro on a fresh store and emulated band, and what
# must hold instead.  One section per item; `fresh` starts each one.
. "$2/tests/data/cli/lib.sh" "$1" "$2"
KEYS="$XDG_CONFIG_HOME/miband/keys"
OTHER=ffeeddccbbaa99887766554433221100
fresh() { rm -rf "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_DATA_HOME"; }

# ---- 3. re-pairing updates every entry of the band
fresh
expect_rc 0 "repair-aliases: pair under an alias" pair -d emu --alias mine
expect_rc 0 "repair-aliases: pair again with another key" pair -d emu --key "$OTHER"
check "repair-aliases: the alias got the new key" grep -qx "key $OTHER" "$KEYS/mine"
expect_rc 0 "repair-aliases: -d mine works" battery -d mine
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
