#!/bin/sh
# The bleak client answers the challenge with a key that is not the band's:
# miband-emu must answer 10 03 04 (PROTOCOL.md 2.4).  The emulator runs
# with --acquire here, so bluetoothd takes the notifications through a
# socket (AcquireNotify) instead of PropertiesChanged signals; bleak-auth
# covers the signal path.  (Not --acquire-write: bluez 5.66 sends the
# write that makes it acquire the socket from a buffer it has already
# reused, and the band then sees garbage instead of 02 00.)  The Mi Band 4
# profile also checks that its longer name still gets advertised.
. /e2e/lib.sh
KEY=0x30313233343536373839404142434445

start_bleak --key "$KEY" --wrong-key --name "Mi Smart Band 4"
start_emu --model mb4 --key "$KEY" --acquire
wait_client
[ "$CLIENT_RC" = 0 ] || fail "bleak client: $(grep -o 'CLIENT-FAIL.*' $CLIENT_LOG)"
grep -q 'AUTH-REJECTED' $CLIENT_LOG || fail "the client did not see 10 03 04"
grep -q 'notify auth 10 03 04 (fd)' $EMU_LOG ||
	fail "miband-emu did not send 10 03 04 through the acquired socket"
grep -q 'subscribe auth (fd' $EMU_LOG ||
	fail "bluetoothd did not acquire the notify socket of auth"
stop_emu
pass
