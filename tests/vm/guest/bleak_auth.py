#!/usr/bin/env python3
"""The bleak side of the auth benchmark (tests/vm/scenarios/bench-auth.sh):
the same work as `mibandctl auth` with a stored key, written the way a
careful bleak user writes it, against a band BlueZ already knows:

  connect (no scan: a BLEDevice for BlueZ's known object path, as
  bleak-retry-connector does), enable notifications on the auth
  characteristic H(0009), 02 00 -> 10 02 01 R, 03 00 AES(K, R) ->
  10 03 01, read the firmware revision (0x2A28, as `mibandctl auth`
  reports it), disconnect (bleak waits for the link to drop).

Prints "AUTH-OK" the moment 10 03 01 arrives (the driver timestamps it)
and "DONE" before exiting 0.  --scan uses BleakClient(address) instead,
which makes bleak run discovery first.
"""
import argparse
import asyncio
import sys
import time

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

sys.path.insert(0, '/e2e/guest')
from bleak_client import AUTH, aes_ecb, parse_key  # noqa: E402

SW_REV = '00002a28-0000-1000-8000-00805f9b34fb'
T0 = time.monotonic()


def log(msg):
    print('bleak [%6.3fs]: %s' % (time.monotonic() - T0, msg), flush=True)


async def connect(target, adapter):
    """bleak 0.20 under TCG: Device1.Connect may answer before Connected
    is signalled (bleak then sees a disconnect), and ServicesResolved may
    come before the last InterfacesAdded (an incomplete service list).
    Both are retried, as tests/vm/guest/bleak_client.py does."""
    for attempt in range(1, 6):
        client = BleakClient(target, adapter=adapter, timeout=20)
        try:
            await client.connect()
        except BleakError as e:
            if 'disconnected' not in str(e) or attempt == 5:
                raise
            log('retry %d: %s' % (attempt, e))
            await asyncio.sleep(0.2)
            continue
        if client.services.get_characteristic(AUTH) is not None:
            return client, attempt
        await client.disconnect()
        log('retry %d: service list lacks auth' % attempt)
    raise BleakError('no auth characteristic after 5 connects')


async def run(args):
    key = parse_key(args.key)
    if args.scan:
        target = args.address
    else:
        path = '/org/bluez/%s/dev_%s' % (args.adapter,
                                         args.address.replace(':', '_'))
        target = BLEDevice(args.address, None, {'path': path, 'props': {}},
                           -127)
    client, attempts = await connect(target, args.adapter)
    log('connected (attempt %d)' % attempts)
    notes = asyncio.Queue()
    try:
        await client.start_notify(AUTH, lambda _, d: notes.put_nowait(
            bytes(d)))
        await client.write_gatt_char(AUTH, b'\x02\x00', response=False)
        r = await asyncio.wait_for(notes.get(), 10)
        if len(r) != 19 or r[:3] != b'\x10\x02\x01':
            raise BleakError('want 10 02 01 R, got %s' % r.hex(' '))
        await client.write_gatt_char(
            AUTH, b'\x03\x00' + aes_ecb(key, r[3:19]), response=False)
        r = await asyncio.wait_for(notes.get(), 10)
        if r != b'\x10\x03\x01':
            raise BleakError('want 10 03 01, got %s' % r.hex(' '))
        log('AUTH-OK')
        fw = await client.read_gatt_char(SW_REV)
        log('firmware %s' % bytes(fw).decode('ascii', 'replace'))
    finally:
        await client.disconnect()
    log('DONE')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--adapter', default='hci1')
    ap.add_argument('--address', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--scan', action='store_true')
    args = ap.parse_args()
    try:
        asyncio.run(run(args))
    except Exception as e:  # noqa: BLE001 - report and fail
        log('FAIL %s: %s' % (type(e).__name__, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
