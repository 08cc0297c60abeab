#!/usr/bin/env python3
"""Checks an export of the activity history against the emulator's
deterministic history (tests/vm/scenarios/central-sync.sh).

  history_check.py --lib LIBMIBAND --seed S --first MINUTE --min-count N \
      < export.jsonl

The expectation is recomputed with miband_history_sample(seed, minute)
from libmiband.so through ctypes, never read from what the client stored.
The export (`mibandctl export --format jsonl`, one row per minute, in
minute order) must start at the band's first minute, have no gap, hold at
least N rows, and every row must equal the sample of its minute; a
heart rate the band did not measure (0 or 255) is exported as null.
Prints the count and an order-dependent checksum (FNV-1a over minute,
kind, intensity, steps, heart rate) of both sides; exit 0 only if they
agree row by row.
"""
import argparse
import calendar
import ctypes
import json
import sys
import time


class Sample(ctypes.Structure):
    _fields_ = [('kind', ctypes.c_uint8), ('intensity', ctypes.c_uint8),
                ('steps', ctypes.c_uint8), ('heart_rate', ctypes.c_uint8)]


def fnv(h, values):
    for v in values:
        for b in int(v).to_bytes(4, 'little'):
            h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h


def minute_of(iso):
    return calendar.timegm(time.strptime(iso, '%Y-%m-%dT%H:%M:%SZ')) // 60


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--lib', required=True)
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--first', type=int, required=True)
    ap.add_argument('--min-count', type=int, required=True)
    args = ap.parse_args()
    lib = ctypes.CDLL(args.lib)
    lib.miband_history_sample.argtypes = [ctypes.c_uint32, ctypes.c_uint32,
                                          ctypes.POINTER(Sample)]
    lib.miband_history_sample.restype = None

    got_sum = want_sum = 0x811c9dc5
    n = 0
    bad = []
    for line in sys.stdin:
        row = json.loads(line)
        m = minute_of(row['time'])
        if m != args.first + n:
            bad.append('row %d is minute %d (%s), want %d' % (
                n, m, row['time'], args.first + n))
            break
        s = Sample()
        lib.miband_history_sample(args.seed, m, ctypes.byref(s))
        want_hr = None if s.heart_rate in (0, 255) else s.heart_rate
        got = (row['kind'], row['intensity'], row['steps'],
               row['heart_rate'])
        want = (s.kind, s.intensity, s.steps, want_hr)
        if got != want and len(bad) < 5:
            bad.append('%s: exported %s, the band has %s' % (
                row['time'], got, want))
        got_sum = fnv(got_sum, (m,) + tuple(
            0 if v is None else v for v in got))
        want_sum = fnv(want_sum, (m,) + tuple(
            0 if v is None else v for v in want))
        n += 1
    if n < args.min_count:
        bad.append('%d rows, want at least %d' % (n, args.min_count))
    print('history-check: %d rows from minute %d, checksum %08x, expected '
          '%08x' % (n, args.first, got_sum, want_sum))
    for b in bad:
        print('history-check: MISMATCH %s' % b)
    return 0 if not bad and got_sum == want_sum else 1


if __name__ == '__main__':
    sys.exit(main())
