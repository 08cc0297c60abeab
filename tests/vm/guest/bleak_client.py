#!/usr/bin/env python3
"""A Mi Band client written with python3-bleak (Debian's package), used by
the VM scenarios to prove that miband-emu works with a BLE central that is
not ours.  It knows the band only from PROTOCOL.md:

  scan for a device advertising service FEE0, check its advertisement,
  connect, enable notifications on the auth characteristic H(0009),
  02 00 -> 10 02 01 R, 03 00 AES-128-ECB(K, R) -> 10 03 01 (or 10 03 04
  with --wrong-key), then read the battery characteristic H(0006) and
  check its 20-byte layout (PROTOCOL.md 4.1).

Prints "client: ..." lines and, last, CLIENT-OK or CLIENT-FAIL reason.
Exit status 0 only with CLIENT-OK.
"""
import argparse
import asyncio
import sys
import time
import traceback

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:  # pragma: no cover - the image ships it
    Cipher = None

HUAMI = '0000%s-0000-3512-2118-0009af100700'
SIG = '0000%s-0000-1000-8000-00805f9b34fb'
FEE0 = SIG % 'fee0'
FEE1 = SIG % 'fee1'
AUTH = HUAMI % '0009'
BATTERY = HUAMI % '0006'
HUAMI_COMPANY = 0x0157
T0 = time.monotonic()


def log(msg):
    print('client [%6.2fs]: %s' % (time.monotonic() - T0, msg), flush=True)


class Fail(Exception):
    pass


def aes_ecb(key, block):
    if Cipher is not None:
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return enc.update(block) + enc.finalize()
    import ctypes  # fallback: libcrypto through ctypes
    lib = ctypes.CDLL('libcrypto.so.3')
    lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
    lib.EVP_aes_128_ecb.restype = ctypes.c_void_p
    ctx = lib.EVP_CIPHER_CTX_new()
    out = ctypes.create_string_buffer(32)
    n = ctypes.c_int(0)
    lib.EVP_EncryptInit_ex(ctypes.c_void_p(ctx), ctypes.c_void_p(
        lib.EVP_aes_128_ecb()), None, key, None)
    lib.EVP_CIPHER_CTX_set_padding(ctypes.c_void_p(ctx), 0)
    lib.EVP_EncryptUpdate(ctypes.c_void_p(ctx), out, ctypes.byref(n),
                          block, 16)
    lib.EVP_CIPHER_CTX_free(ctypes.c_void_p(ctx))
    return out.raw[:16]


def parse_key(s):
    s = s.strip().lower().replace(' ', '').replace(':', '')
    if s.startswith('0x'):
        s = s[2:]
    k = bytes.fromhex(s)
    if len(k) != 16:
        raise ValueError('a key is 16 bytes')
    return k


def check_datetime7(b, what):
    year = b[0] | b[1] << 8
    mon, day, hh, mm, ss = b[2], b[3], b[4], b[5], b[6]
    if not (2000 <= year <= 2100 and 1 <= mon <= 12 and 1 <= day <= 31 and
            hh < 24 and mm < 60 and ss < 60):
        raise Fail('battery: bad %s date-time %s' % (what, b.hex(' ')))
    return '%04d-%02d-%02d %02d:%02d:%02d' % (year, mon, day, hh, mm, ss)


def check_battery(v):
    """PROTOCOL.md 4.1: 20 bytes; [1] level %, [2] 0/1 charging,
    [3..9] date-time of the previous battery event, [10] its tz,
    [11..17] date-time of the last charge, [18] its tz, [19] level % at
    the last charge."""
    if len(v) != 20:
        raise Fail('battery: %d bytes, want 20: %s' % (len(v), v.hex(' ')))
    level, charging = v[1], v[2]
    if level > 100:
        raise Fail('battery: level %d%%' % level)
    if charging not in (0, 1):
        raise Fail('battery: charging byte %d' % charging)
    off = check_datetime7(v[3:10], 'last-off')
    chg = check_datetime7(v[11:18], 'last-charge')
    for i in (10, 18):
        tz = v[i] - 256 if v[i] > 127 else v[i]
        if not -48 <= tz <= 56:
            raise Fail('battery: byte %d (time zone) is %d' % (i, tz))
    if v[19] > 100:
        raise Fail('battery: last charge level %d%%' % v[19])
    log('battery %d%%, %s, last off %s, last charge %s at %d%%' % (
        level, 'charging' if charging else 'not charging', off, chg, v[19]))


async def find_band(adapter, timeout, restart_after):
    found = asyncio.get_running_loop().create_future()

    def seen(dev, adv):
        uuids = [u.lower() for u in adv.service_uuids]
        if FEE0 in uuids and not found.done():
            found.set_result((dev, adv))

    scanner = BleakScanner(seen, service_uuids=[FEE0], adapter=adapter)
    await scanner.start()
    log('scanning on %s' % adapter)
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail('no band found in %.0f s' % timeout)
            try:
                return await asyncio.wait_for(asyncio.shield(found),
                                              min(left, restart_after))
            except asyncio.TimeoutError:
                # btvirt reports an advertiser only on the scan/advertise
                # enable edges: restart the scan rather than wait for the
                # kernel's own restart (docs/TESTING.md).
                log('nothing found yet, restarting the scan')
                await scanner.stop()
                await scanner.start()
    finally:
        await scanner.stop()


def check_adv(dev, adv, want_name):
    uuids = sorted(u.lower() for u in adv.service_uuids)
    name = adv.local_name or dev.name
    mdata = {k: bytes(v) for k, v in adv.manufacturer_data.items()}
    log('found %s name=%r uuids=%s manufacturer=%s' % (
        dev.address, name, uuids,
        {'0x%04x' % k: v.hex(' ') for k, v in mdata.items()}))
    if FEE1 not in uuids:
        raise Fail('advertisement lacks service FEE1: %s' % uuids)
    if HUAMI_COMPANY not in mdata:
        raise Fail('advertisement lacks Huami manufacturer data (0x0157)')
    if want_name and name != want_name:
        raise Fail('advertised name %r, want %r' % (name, want_name))


async def run(args):
    key = parse_key(args.key)
    dev, adv = await find_band(args.adapter, args.scan_timeout, 8.0)
    check_adv(dev, adv, args.name)

    notes = asyncio.Queue()
    client = await connect(dev, args)
    try:
        await session(client, args, key, notes)
    finally:
        await client.disconnect()
    log('disconnected')


async def connect(dev, args):
    """Connects, retrying a connection that bleak reports as dropped while
    services resolve: under TCG bluetoothd sometimes answers Device1.Connect
    before it signals Connected=True, and bleak (0.20) then takes the stale
    Connected=False for a disconnect (docs/TESTING.md)."""
    for attempt in range(1, 5):
        client = BleakClient(dev, adapter=args.adapter,
                             timeout=args.connect_timeout)
        try:
            await client.connect()
        except BleakError as e:
            if 'disconnected' not in str(e) or attempt == 4:
                raise
            log('connect attempt %d: %s; retrying' % (attempt, e))
            await asyncio.sleep(1.0)
            continue
        # bluetoothd may signal ServicesResolved before the last of its
        # InterfacesAdded, and bleak then builds an incomplete service
        # list; it never refreshes it, so connect again.
        missing = [u for u in (AUTH, BATTERY)
                   if client.services.get_characteristic(u) is None]
        if not missing:
            log('connected (attempt %d)' % attempt)
            return client
        await client.disconnect()
        if attempt == 4:
            raise Fail('characteristics %s missing after 4 connects' %
                       ' '.join(missing))
        log('connect attempt %d: service list lacks %s; reconnecting' % (
            attempt, ' '.join(missing)))
        await asyncio.sleep(1.0)


async def session(client, args, key, notes):
    if args.list:
        for s in client.services:
            log('service %s handle 0x%04x' % (s.uuid, s.handle))
            for c in s.characteristics:
                log('  char %s handle 0x%04x %s' % (
                    c.uuid, c.handle, ','.join(c.properties)))
    if args.expect_handle:
        # "UUID=0xHHHH": declaration handle of a characteristic (the
        # number in BlueZ's object path, which bleak reports)
        for spec in args.expect_handle:
            uuid, h = spec.split('=')
            c = client.services.get_characteristic(uuid)
            if c is None:
                raise Fail('no characteristic %s' % uuid)
            if c.handle != int(h, 0):
                raise Fail('%s at handle 0x%04x, want %s' % (
                    uuid, c.handle, h))
        log('handles as expected: %s' % ' '.join(args.expect_handle))

    def on_auth(_, data):
        notes.put_nowait(bytes(data))

    async def reply(what):
        try:
            v = await asyncio.wait_for(notes.get(), 10)
        except asyncio.TimeoutError:
            raise Fail('no notification after %s' % what) from None
        log('notify %s' % v.hex(' '))
        return v

    await client.start_notify(AUTH, on_auth)
    log('notifications on auth enabled')
    await client.write_gatt_char(AUTH, b'\x02\x00', response=False)
    log('write 02 00')
    r = await reply('02 00')
    if len(r) != 19 or r[:3] != b'\x10\x02\x01':
        raise Fail('want 10 02 01 <16 random>, got %s' % r.hex(' '))
    k = key
    if args.wrong_key:
        k = bytes([key[0] ^ 0x5a]) + key[1:]
    answer = aes_ecb(k, r[3:19])
    log('answer %s' % answer.hex())
    await client.write_gatt_char(AUTH, b'\x03\x00' + answer,
                                 response=False)
    log('write 03 00 <answer>')
    r = await reply('03 00')
    want = b'\x10\x03\x04' if args.wrong_key else b'\x10\x03\x01'
    if r != want:
        raise Fail('want %s, got %s' % (want.hex(' '), r.hex(' ')))
    if args.wrong_key:
        log('AUTH-REJECTED as expected (10 03 04)')
    else:
        log('AUTH-OK')
        v = await client.read_gatt_char(BATTERY)
        log('read battery %s' % bytes(v).hex(' '))
        check_battery(bytes(v))
        log('BATTERY-OK')
    await client.stop_notify(AUTH)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--adapter', default='hci1')
    ap.add_argument('--key', required=True, help='32 hex digits')
    ap.add_argument('--wrong-key', action='store_true',
                    help='answer with a different key: expect 10 03 04')
    ap.add_argument('--name', help='advertised name to expect')
    ap.add_argument('--expect-handle', action='append',
                    help='UUID=0xHHHH declaration handle to check')
    ap.add_argument('--list', action='store_true',
                    help='print every service and characteristic')
    ap.add_argument('--scan-timeout', type=float, default=25)
    ap.add_argument('--connect-timeout', type=float, default=20)
    args = ap.parse_args()
    try:
        asyncio.run(run(args))
    except Fail as e:
        log('CLIENT-FAIL %s' % e)
        print('client: FAIL %s' % e, flush=True)
        return 1
    except Exception as e:  # bleak/D-Bus errors
        traceback.print_exc()
        log('CLIENT-FAIL %s: %s' % (type(e).__name__, e))
        print('client: FAIL %s' % e, flush=True)
        return 1
    log('CLIENT-OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
