#!/bin/sh
# The bleak client answers the challenge with a key that is not the band's:
# miband-emu must answer 10 03 04 (PROTOCOL.md 2.4).
. /e2e/lib.sh
KEY=0x30313233343536373839404142434445

start_bleak --key "$KEY" --wrong-key
start_emu --key "$KEY"
wait_client
[ "$CLIENT_RC" = 0 ] || fail "bleak client: $(grep -o 'CLIENT-FAIL.*' $CLIENT_LOG)"
grep -q 'AUTH-REJECTED' $CLIENT_LOG || fail "the client did not see 10 03 04"
grep -q 'notify auth 10 03 04' $EMU_LOG || fail "miband-emu did not log 10 03 04"
stop_emu
pass
