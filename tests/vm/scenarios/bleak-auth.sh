#!/bin/sh
# A BLE client that is not ours (python3-bleak) authenticates against
# miband-emu with the preset key and reads the battery: scan (FEE0, name,
# Huami manufacturer data), connect, notify on H(0009), 02 00 -> 10 02 01 R,
# 03 00 AES(K, R) -> 10 03 01, read H(0006) and check its 20-byte layout.
# Also: the emulator's --verbose log shows the traffic but never the key,
# and SIGTERM unregisters everything and exits 0.
. /e2e/lib.sh
KEY=0x8e4a17c2d3b6f05a19e27c44b0d3a6f1

start_bleak --key "$KEY" --name "Mi Band 3"
start_emu --model mb3 --key "$KEY" --pairing never
wait_client
[ "$CLIENT_RC" = 0 ] || fail "bleak client: $(grep -o 'CLIENT-FAIL.*' $CLIENT_LOG)"
grep -q 'AUTH-OK' $CLIENT_LOG || fail "no AUTH-OK from the client"
grep -q 'BATTERY-OK' $CLIENT_LOG || fail "no BATTERY-OK from the client"
# the emulator logged the exchange, with the secrets redacted
grep -q 'write auth' $EMU_LOG || fail "miband-emu --verbose did not log writes"
grep -q 'notify auth 10 03 01' $EMU_LOG || fail "miband-emu did not log 10 03 01"
grep -q 'read battery' $EMU_LOG || fail "miband-emu --verbose did not log the read"
check_no_key_in $EMU_LOG "$KEY"
check_no_key_in $EMU_LOG "$(grep -o 'answer [0-9a-f]*' $CLIENT_LOG | cut -d' ' -f2)"
stop_emu
pass
