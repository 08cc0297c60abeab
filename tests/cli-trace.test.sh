#!/usr/bin/env bash
# --trace FILE: a btsnoop file that tshark (Wireshark) opens and decodes
# as ATT over L2CAP CID 4, with the key and the encrypted auth answer
# zeroed unless --trace-secrets.  Needs tshark (scripts/deps.sh).
. "$2/tests/lib/cli.sh" "$1" "$2"
command -v tshark >/dev/null || {
	echo "not ok - tshark is not installed: run scripts/deps.sh"
	exit 1
}
export HOME # tshark keeps its profile there (the private HOME)

# tshark_att FILE: "opcode handle value" per ATT packet
tshark_att() {
	tshark -r "$1" -Y btatt -T fields -E separator=' ' \
		-e btatt.opcode -e btatt.handle -e btatt.value 2>/dev/null
}

expect_rc 0 "pair with a trace" pair --device emu --key "$KEY" --trace "$T/pair.btsnoop"
expect_rc 0 "info, with a trace" info --trace "$T/info.btsnoop"
expect_rc 0 "hr, with a trace" hr --trace "$T/hr.btsnoop"
cp "$T/out" "$T/hr.out"
expect_rc 0 "time --sync, with a trace" time --sync --json --trace "$T/time.btsnoop"
cp "$T/out" "$T/time.out"

for f in pair info hr time; do
	check "tshark reads $f.btsnoop" sh -c "tshark -r '$T/$f.btsnoop' -c 1 >/dev/null 2>&1"
	tshark -r "$T/$f.btsnoop" -T fields -e frame.protocols 2>/dev/null >"$T/$f.protos"
	check "$f.btsnoop: ATT over L2CAP over HCI ACL" grep -q "bthci_acl:btl2cap:btatt" "$T/$f.protos"
	check "$f.btsnoop: no malformed packet" \
		test -z "$(tshark -r "$T/$f.btsnoop" -Y _ws.malformed 2>/dev/null)"
done
tshark_att "$T/pair.btsnoop" >"$T/pair.att"
tshark_att "$T/info.btsnoop" >"$T/info.att"
tshark_att "$T/hr.btsnoop" >"$T/hr.att"
tshark_att "$T/time.btsnoop" >"$T/time.att"
cat "$T"/*.att >"$T/all.att"
for op in 0x12 0x13 0x52 0x0a 0x0b 0x1b; do
	check "ATT opcode $op decoded" grep -q "^$op " "$T/all.att"
done

# the auth exchange, by the handle Wireshark learnt from the discovery:
# the one characteristic of service FEE1 that the client writes
tshark -r "$T/pair.btsnoop" -Y 'btatt.opcode == 0x09' -T fields \
	-e btatt.handle -e btatt.service_uuid16 >"$T/decls" 2>/dev/null
auth_h=$(awk '$2 ~ /^0xfee1/ { split($1, h, ","); v = h[2] } END { print v }' "$T/decls")
check "the discovery names the auth characteristic" test -n "$auth_h"
grep "^0x52 $auth_h " "$T/pair.att" >"$T/auth-writes" || true
check "set-key written as a write command: 01 00 + 16 zero bytes" \
	grep -qx "0x52 $auth_h 0100$(printf '0%.0s' {1..32})" "$T/auth-writes"
check "the answer written redacted: 03 00 + 16 zero bytes" \
	grep -qx "0x52 $auth_h 0300$(printf '0%.0s' {1..32})" "$T/auth-writes"
check "the band's replies are kept: 10 01 01, 10 03 01" \
	sh -c "grep -q '^0x1b $auth_h 100101\$' '$T/pair.att' && grep -q '^0x1b $auth_h 100301\$' '$T/pair.att'"
check "the key is not in the trace (raw bytes)" \
	python3 -c 'import sys; assert bytes.fromhex(sys.argv[1]) not in open(sys.argv[2], "rb").read()' "$KEY" "$T/pair.btsnoop"

# the encrypted answer of a stored-key auth, from its random and the key
random=$(awk -v h="$auth_h" '$1 == "0x1b" && $2 == h && $3 ~ /^100201/ { print substr($3, 7); exit }' "$T/info.att")
check "the band's random is in the trace" test "${#random}" = 32
answer=$(printf '%s' "$random" | xxd -r -p | openssl enc -aes-128-ecb -nopad -K "$KEY" | xxd -p)
check "AES(key, random) is not in the trace" \
	python3 -c 'import sys; assert bytes.fromhex(sys.argv[1]) not in open(sys.argv[2], "rb").read()' "$answer" "$T/info.btsnoop"

# ---- --trace-secrets keeps them (and shows that the checks above can fail)
expect_rc 0 "auth with --trace-secrets" auth --trace "$T/secret.btsnoop" --trace-secrets
check "a secrets trace is created mode 0600" test "$(stat -c %a "$T/secret.btsnoop")" = 600
tshark_att "$T/secret.btsnoop" >"$T/secret.att"
random=$(awk -v h="$auth_h" '$1 == "0x1b" && $2 == h && $3 ~ /^100201/ { print substr($3, 7); exit }' "$T/secret.att")
answer=$(printf '%s' "$random" | xxd -r -p | openssl enc -aes-128-ecb -nopad -K "$KEY" | xxd -p)
check "with --trace-secrets the answer is AES(key, random)" \
	grep -qx "0x52 $auth_h 0300$answer" "$T/secret.att"
expect_rc 0 "pair with --trace-secrets" pair --device emu --key "$KEY" --trace "$T/secret-pair.btsnoop" --trace-secrets
check "with --trace-secrets the set-key carries the key" \
	python3 -c 'import sys; assert bytes.fromhex("0100" + sys.argv[1]) in open(sys.argv[2], "rb").read()' "$KEY" "$T/secret-pair.btsnoop"

# ---- the heart-rate exchange as Wireshark shows it
check "HR control point writes are write requests, acknowledged" \
	sh -c "tshark -r '$T/hr.btsnoop' -Y 'btatt.opcode == 0x12 && btatt.uuid16 == 0x2a39' 2>/dev/null | grep -q 'Heart Rate Control Point'"
bpm=$(tshark -r "$T/hr.btsnoop" -Y 'btatt.opcode == 0x1b && btatt.uuid16 == 0x2a37' \
	-T fields -e btatt.heart_rate_measurement.value.8 2>/dev/null | tail -n 1)
check "Wireshark decodes the measurement the CLI printed ($bpm bpm)" \
	grep -qx "heart rate: $bpm bpm" "$T/hr.out"
tshark -r "$T/time.btsnoop" -Y 'btatt.opcode == 0x12 && btatt.uuid16 == 0x2a2b' -T fields \
	-E separator=' ' -e btatt.year -e btatt.month -e btatt.day -e btatt.hours \
	-e btatt.minutes -e btatt.seconds -e btatt.day_of_week >"$T/cts" 2>/dev/null
check "Wireshark decodes the Current Time that time --sync wrote" python3 -c '
import json, sys, datetime
y, mo, d, h, mi, s, dow = map(int, open(sys.argv[1]).read().split())
o = json.load(open(sys.argv[2]))
t = datetime.datetime.fromisoformat(o["time"])
assert (y, mo, d, h, mi, s) == (t.year, t.month, t.day, t.hour, t.minute, t.second), (y, mo, d, h, mi, s, o)
assert dow == t.isoweekday(), (dow, o)
' "$T/cts" "$T/time.out"

expect_rc 8 "an unwritable trace path is an I/O error" battery --trace "$T/no/such/dir/x.btsnoop"
check "the message names the file" err_has "$T/no/such/dir/x.btsnoop"

finish
