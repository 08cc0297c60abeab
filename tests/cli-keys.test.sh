#!/usr/bin/env bash
# mibandctl's key store and input checks: key and address parsing, the
# 0600/0700 rules (refused like ssh, with the chmod that fixes it),
# aliases, the default device, and JSON escaping of arbitrary bytes.
. "$2/tests/lib/cli.sh" "$1" "$2"
FP=SHA256:fd9d61d11f779957 # of $KEY: printf '0123456789@ABCDE' | sha256sum
KEYS="$XDG_CONFIG_HOME/miband/keys"

# ---- key forms accepted, through --key and through standard input
i=0
for form in "$KEY" "0x$KEY" "0X$KEY" \
	"30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45" \
	"30:31:32:33:34:35:36:37:38:39:40:41:42:43:44:45" \
	"  0x3031323334353637 3839404142434445  "; do
	i=$((i + 1))
	expect_rc 0 "key form $i via --key" keys import --device emu --key "$form"
	check "key form $i gives the right key" out_has "$FP"
	set +e
	printf '%s\n' "$form" | "$M" keys import --device emu >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	check "key form $i via standard input" test "$rc" = 0
	check "key form $i via stdin gives the right key" out_has "$FP"
done

# ---- key forms refused: exit 2, BAD_KEY, the expected form named
for form in "3031" "${KEY}aa" "0x" "" "zz${KEY:2}" "0123456789@ABCDE" \
	"0x 0x$KEY" "${KEY:0:31}" "30-31-32-33-34-35-36-37-38-39-40-41-42-43-44-45"; do
	expect_rc 2 "bad key '$form' refused" keys import --device emu --key "$form"
	check "bad key '$form': BAD_KEY names the expected form" \
		err_has "a key is 32 hexadecimal digits (16 bytes), optionally with a 0x prefix, spaces or colons [BAD_KEY]"
done
expect_rc 2 "bad --key on a band command" battery --device emu --key 1234
check "the bad key is not echoed back" sh -c "! grep -q 1234 '$T/err'"

# ---- addresses: six hex pairs with colons, nothing else
for a in C8:0F:10:12:34 C80F10123456 C8-0F-10-12-34-56 C8:0F:10:12:34:5G \
	c8:0f:10:12:34:567 :C8:0F:10:12:34:5 "C8:0F:10:12:34:56 " "C8::0F:10:12:34"; do
	expect_rc 2 "bad address '$a'" battery --device "$a"
	check "bad address '$a' is BAD_ADDRESS with the expected form" \
		err_has "six hex pairs separated by colons, e.g. C8:0F:10:12:34:56"
done
expect_rc 2 "keys import with a bad address" keys import --device C8:0F:10:12 --key "$KEY"
check "keys import: BAD_ADDRESS" err_has "[BAD_ADDRESS]"
expect_rc 0 "keys import for a lower-case address" keys import --device c8:0f:10:aa:bb:cc --key "$KEY"
check "the address is stored in upper case" test -f "$KEYS/C8:0F:10:AA:BB:CC"
expect_rc 3 "a valid address with no key: NO_KEY" battery --device C8:0F:10:12:34:56
check "NO_KEY says to pair" err_has "pair first"

# ---- the default device
expect_rc 2 "two bands in the store and no --device" battery
check "the message names the stored bands and what to pass" \
	err_has "2 bands in the key store (C8:0F:10:AA:BB:CC, emu): pass --device"
expect_rc 0 "keys forget by address" keys forget C8:0F:10:AA:BB:CC
check "the file is gone" test ! -e "$KEYS/C8:0F:10:AA:BB:CC"
expect_rc 0 "pair the emulated band with the stored key" pair --device emu --key "$KEY"
expect_rc 0 "one band in the store: it is the default" battery
expect_rc 3 "forget twice: NO_KEY" keys forget C8:0F:10:AA:BB:CC

# ---- aliases
expect_rc 0 "import under an alias" keys import --device emu --alias wrist --key "$KEY"
check "the alias file names the band" grep -qx "address emu" "$KEYS/wrist"
expect_rc 0 "an alias works as --device" battery --device wrist
expect_rc 2 "an unknown alias is BAD_ADDRESS" battery --device wirst
check "the message mentions aliases" err_has "alias"
expect_rc 2 "an alias may not be a path" keys import --device emu --alias ../evil --key "$KEY"
check "no file outside the store" test ! -e "$XDG_CONFIG_HOME/miband/evil"
expect_rc 0 "keys list" keys list
check "list shows the alias, its band and fingerprint" grep -q "^wrist .* emu .* 3031\.\.\., $FP" "$T/out"
check "list never shows the key" sh -c "! grep -qi '$KEY' '$T/out'"
expect_rc 0 "keys list --json" keys list --json
check "keys list --json is JSON lines" json_lines "$T/out"
check "JSON list has prefix and fingerprint, not the key" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert {r["name"] for r in rows} == {"emu", "wrist"}, rows
for r in rows:
    assert r["key_prefix"] == "3031" and r["fingerprint"] == sys.argv[2], r
    assert "key" not in r
' "$T/out" "$FP"
expect_rc 0 "forget the alias" keys forget wrist

# ---- permissions: refused like ssh, with the fix in the message
chmod 644 "$KEYS/emu"
expect_rc 8 "a 0644 key file is refused" battery --device emu
check "0644: KEY_PERMS" err_has "[KEY_PERMS]"
check "0644: the message gives the fix" err_has "permissions 0644 for the key file '$KEYS/emu' are too open"
check "0644: chmod 600 on the file" err_has "run: chmod 600 '$KEYS/emu'"
chmod 640 "$KEYS/emu"
expect_rc 8 "a group-readable key file is refused" auth --device emu
expect_rc 8 "refused as the default device too" battery
expect_rc 0 "keys list still lists it" keys list
check "listed as unusable" grep -q "^emu .*unusable: KEY_PERMS" "$T/out"
check "with a note how to fix it" err_has "chmod"
chmod 600 "$KEYS/emu"
expect_rc 0 "after chmod 600 it works" battery --device emu
chmod 755 "$KEYS"
expect_rc 8 "a 0755 key directory is refused" battery --device emu
check "0755 dir: chmod 700 in the message" err_has "run: chmod 700 '$KEYS'"
expect_rc 8 "storing into an open directory is refused" keys import --device emu --key "$KEY"
chmod 700 "$KEYS"
mv "$KEYS/emu" "$T/realkey"
ln -s "$T/realkey" "$KEYS/emu"
expect_rc 8 "a symlinked key file is refused" battery --device emu
check "the message says it is a link" err_has "symbolic link"
rm "$KEYS/emu"
mv "$T/realkey" "$KEYS/emu"
# new files and directories are created private, whatever the umask
rm -rf "$XDG_CONFIG_HOME"
(umask 000 && "$M" keys import --device emu --key "$KEY" >/dev/null)
check "created with umask 000: file 0600" test "$(stat -c %a "$KEYS/emu")" = 600
check "created with umask 000: dir 0700" test "$(stat -c %a "$KEYS")" = 700
check "created with umask 000: parent 0700" test "$(stat -c %a "$XDG_CONFIG_HOME/miband")" = 700

# ---- JSON strings are escaped correctly for any bytes
bad=$(printf 'k\001\037"\\\t\n\177\xff\xc3\x28é\xe2\x80\xa8')
expect_rc 2 "an unknown config key with odd bytes" --json config "$bad" x
grep '^{' "$T/out" >"$T/json" || true
check "the error object is valid JSON" json_lines "$T/json"
check "controls, quotes, invalid UTF-8 and U+2028 are escaped" python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
raw = open(sys.argv[1], "rb").read()
assert o["error"] == "INVAL" and o["exit"] == 2, o
m = o["message"]
assert "k\x01\x1f\"\\\t\n\x7f\ufffd\ufffd(é\u2028" in m, repr(m)
assert b"\\u0001" in raw and b"\\u001f" in raw and b"\\u007f" in raw, raw
assert b"\\ufffd" in raw and b"\\u2028" in raw and b"\xff" not in raw, raw
' "$T/json"

finish
