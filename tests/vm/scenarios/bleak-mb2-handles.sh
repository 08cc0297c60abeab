#!/bin/sh
# miband-emu --model mb2 serves the real Mi Band 2 attribute handles
# (PROTOCOL.md 1.2) where bluetoothd lets an application choose them:
# bleak sees the characteristics at their real declaration handles, and
# authentication works on the auth characteristic at 0x0053/0x0054.
# bluetoothd keeps 0x0001-0x0011 for its own GAP and GATT services, so
# Device Information (0x000c-0x0016 on the band) cannot keep its handles.
. /e2e/lib.sh
KEY="8e:4a:17:c2:d3:b6:f0:5a:19:e2:7c:44:b0:d3:a6:f1"
HUAMI=0000%s-0000-3512-2118-0009af100700

start_bleak --key "$KEY" --name "MI Band 2" --list \
	--expect-handle "$(printf $HUAMI 0009)=0x0053" \
	--expect-handle "$(printf $HUAMI 0006)=0x0046" \
	--expect-handle "$(printf $HUAMI 0010)=0x004f" \
	--expect-handle "00002a2b-0000-1000-8000-00805f9b34fb=0x002e" \
	--expect-handle "00002a46-0000-1000-8000-00805f9b34fb=0x001e" \
	--expect-handle "00002a37-0000-1000-8000-00805f9b34fb=0x0028"
start_emu --model mb2 --key "$KEY"
wait_client
[ "$CLIENT_RC" = 0 ] || fail "bleak client: $(grep -o 'CLIENT-FAIL.*' $CLIENT_LOG)"
grep -q 'handles as expected' $CLIENT_LOG || fail "handles not checked"
grep -q 'AUTH-OK' $CLIENT_LOG || fail "no AUTH-OK from the client"
stop_emu
pass
