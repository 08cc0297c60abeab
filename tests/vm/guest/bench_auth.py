#!/usr/bin/env python3
"""Driver of the auth benchmark in the VM (tests/vm/scenarios/bench-auth.sh).

  bench_auth.py run --address A --key K [--runs N] [--timeline]
      Alternating runs, A B A B ...: `mibandctl auth` (key from the key
      store) and tests/vm/guest/bleak_auth.py, each started as the user
      "client" against the same miband-emu.  Per run: wall time from just
      before the fork to the "authenticated" line (mibandctl --verbose:
      "mibandctl: authenticated"; bleak: "AUTH-OK") and to the process's
      exit (both wait for BlueZ to drop the link), user+sys CPU and peak
      RSS from wait4(), and the CPU that bluetoothd, dbus-daemon and
      miband-emu spent during the run (/proc/PID/stat).  Prints each run
      and a table of medians.

  bench_auth.py att --address A --key K [--label L] CLIENT
      One more run of CLIENT (mibandctl or bleak) under `btmon -w`, then
      the ATT operations of hci1 (the central) from the LE connection to
      the 10 03 01 notification, by kind, and every operation in order.
      L names the run in the output (default: CLIENT).

  bench_auth.py parse FILE
      The same count over a btmon text dump (btmon -r FILE.btsnoop).

Nothing here passes or fails: it measures.  Exit status 1 only if a
client failed.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')
STACK = ('bluetoothd', 'dbus-daemon', 'miband-emu')


def stack_pids():
    pids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % d) as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in STACK:
            pids.setdefault(comm, []).append(int(d))
    return pids


def cpu_ticks(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def stack_cpu(pids):
    return {k: sum(cpu_ticks(p) for p in v) for k, v in pids.items()}


def client_cmd(kind, args):
    if kind == 'mibandctl':
        return ['/e2e/bin/mibandctl', '--adapter', args.adapter, '--device',
                args.address, '--verbose', 'auth'], 'mibandctl: authenticated'
    cmd = ['python3', '-u', '/e2e/guest/bleak_auth.py', '--adapter',
           args.adapter, '--address', args.address, '--key', args.key]
    return cmd, 'AUTH-OK'


def run_once(kind, args, pids):
    """One run: returns a dict of figures and the timestamped output."""
    cmd, marker = client_cmd(kind, args)
    before = stack_cpu(pids)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, user=args.user,
                         group=args.user, extra_groups=['bluetooth'],
                         env=os.environ.copy(), close_fds=True)
    out = []
    t_auth = None
    for raw in p.stdout:
        t = time.monotonic() - t0
        line = raw.decode('utf-8', 'replace').rstrip('\n')
        out.append((t, line))
        if t_auth is None and marker in line:
            t_auth = t
    _, status, ru = os.wait4(p.pid, 0)
    t_exit = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stdout.close()
    after = stack_cpu(pids)
    return {
        'kind': kind,
        'rc': p.returncode,
        'auth': t_auth,
        'exit': t_exit,
        'cpu': ru.ru_utime + ru.ru_stime,
        'user': ru.ru_utime,
        'sys': ru.ru_stime,
        'rss': ru.ru_maxrss,  # KiB
        'stack': {k: (after.get(k, 0) - before.get(k, 0)) / CLK_TCK
                  for k in STACK},
        'retries': sum(1 for _, l in out if 'retry' in l),
    }, out


def show_run(i, r):
    st = r['stack']
    print('run %2d %-9s rc=%d auth %s s, exit %.3f s, cpu %.3f s '
          '(user %.3f sys %.3f), rss %d KiB, stack cpu: bluetoothd %.2f '
          'dbus-daemon %.2f miband-emu %.2f%s' % (
              i, r['kind'], r['rc'],
              '%.3f' % r['auth'] if r['auth'] is not None else '-',
              r['exit'], r['cpu'], r['user'], r['sys'], r['rss'],
              st['bluetoothd'], st['dbus-daemon'], st['miband-emu'],
              ', %d connect retries' % r['retries'] if r['retries'] else ''),
          flush=True)


def med(rs, f):
    v = [f(r) for r in rs]
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else float('nan')


def cmd_run(args):
    pids = stack_pids()
    kinds = ['mibandctl', 'bleak']
    res = {k: [] for k in kinds}
    failed = 0
    print('bench: %d warm-up run(s) of each, then %d alternating runs of '
          'each (A B A B ...)' % (args.warmup, args.runs), flush=True)
    for i in range(args.warmup + args.runs):
        for kind in kinds:
            r, out = run_once(kind, args, pids)
            warm = i < args.warmup
            if r['rc'] != 0 or r['auth'] is None:
                failed += 1
                print('run %d %s FAILED (rc %d):' % (i, kind, r['rc']))
                for t, line in out[-15:]:
                    print('    %7.3f %s' % (t, line))
            if args.timeline and i == args.warmup:
                print('timeline of run %d (%s):' % (i, kind))
                for t, line in out:
                    print('    %7.3f %s' % (t, line))
            if warm:
                print('warm-up %s: rc=%d exit %.3f s' % (kind, r['rc'],
                                                          r['exit']))
            else:
                show_run(i - args.warmup, r)
                if r['rc'] == 0 and r['auth'] is not None:
                    res[kind].append(r)
            time.sleep(args.pause)
    a, b = res['mibandctl'], res['bleak']
    rows = [
        ('wall to authenticated (s)', lambda r: r['auth']),
        ('wall to process exit (s)', lambda r: r['exit']),
        ('exit minus authenticated (s)', lambda r: r['exit'] - r['auth']),
        ('CPU user+sys (s)', lambda r: r['cpu']),
        ('peak RSS (KiB)', lambda r: r['rss']),
        ('bluetoothd CPU (s)', lambda r: r['stack']['bluetoothd']),
        ('dbus-daemon CPU (s)', lambda r: r['stack']['dbus-daemon']),
        ('miband-emu CPU (s)', lambda r: r['stack']['miband-emu']),
    ]
    print()
    print('BENCH-SUMMARY medians of %d mibandctl and %d bleak runs' % (
        len(a), len(b)))
    print('| figure | mibandctl auth | bleak | bleak / mibandctl |')
    print('|---|---|---|---|')
    for name, f in rows:
        ma, mb = med(a, f), med(b, f)
        ratio = mb / ma if ma else float('nan')
        fmt = '%.0f' if 'KiB' in name else '%.3f'
        print('| %s | %s | %s | %.1f× |' % (name, fmt % ma, fmt % mb, ratio))
    for name, f in rows[:2]:
        print('range %s: mibandctl %.3f..%.3f, bleak %.3f..%.3f' % (
            name, min(f(r) for r in a), max(f(r) for r in a),
            min(f(r) for r in b), max(f(r) for r in b)) if a and b else '')
    print('bleak runs needing a connect retry: %d of %d' % (
        sum(1 for r in b if r['retries']), len(b)))
    return 1 if failed else 0


# ---- btmon text parser ----------------------------------------------------

HDR = re.compile(r'^([<>@=]) (.*?)\s+(?:#\d+ )?\[(hci\d+)\] ([0-9.]+)\s*$')
ATT = re.compile(r'^\s+ATT: (.*) \(0x([0-9a-f]{2})\) len (\d+)')
REQUESTS = {
    0x02: 'MTU exchange',
    0x04: 'discovery', 0x06: 'discovery', 0x08: 'discovery',
    0x10: 'discovery',
    0x0a: 'read', 0x0c: 'read', 0x0e: 'read', 0x20: 'read',
    0x12: 'write request', 0x52: 'write command', 0xd2: 'write command',
}
NOTIFY = {0x1b: 'notification', 0x23: 'notification', 0x1d: 'indication'}


def parse_btmon(lines, central='hci1'):
    """ATT PDUs of the central's controller, in order: dicts with dir
    ('tx' from the central, 'rx' to it), t, op, code, handle, type,
    data; plus 'connect' / 'disconnect' markers."""
    pdus = []
    cur = None  # packet header being read: (dir, hci, t)
    pdu = None
    for line in lines:
        line = line.rstrip('\n')
        m = HDR.match(line)
        if m:
            pdu = None
            d, what, hci, t = m.groups()
            cur = (d, hci, float(t), what)
            if hci == central and d == '>' and 'Disconnect Complete' in what:
                pdus.append({'mark': 'disconnect', 't': float(t)})
            continue
        if not cur or cur[1] != central:
            continue
        if cur[0] == '>' and 'Connection Complete' in line and \
                'LE Meta Event' in cur[3]:
            pdus.append({'mark': 'connect', 't': cur[2]})
            continue
        m = ATT.match(line)
        if m and cur[0] in '<>':
            pdu = {'dir': 'tx' if cur[0] == '<' else 'rx', 't': cur[2],
                   'op': m.group(1), 'code': int(m.group(2), 16),
                   'handle': None, 'type': '', 'data': ''}
            pdus.append(pdu)
            continue
        if pdu is None:
            continue
        s = line.strip()
        if s.startswith('Handle:') and pdu['handle'] is None:
            hm = re.match(r'Handle: (0x[0-9a-f]+)(?: Type: (.*))?', s)
            if hm:
                pdu['handle'] = int(hm.group(1), 16)
                pdu['type'] = hm.group(2) or ''
        elif s.startswith('Handle range:'):
            pdu['handle'] = int(s.split()[2].split('-')[0], 16)
        elif s.startswith('Attribute type:') or \
                s.startswith('Attribute group type:'):
            pdu['type'] = s.split(':', 1)[1].strip()
        elif s.startswith('Data:') and not pdu['data']:
            pdu['data'] = s.split(':', 1)[1].strip()
    return pdus


def kind_of(p):
    """What an ATT PDU of the central counts as, or None (responses)."""
    code = p['code']
    if p['dir'] == 'rx' and code in NOTIFY:
        return NOTIFY[code]
    if code not in REQUESTS:
        return None
    k = REQUESTS[code]
    if code == 0x08 and not re.search(r'\(0x280[0-3]\)', p['type']):
        # a characteristic value by its type (Database Hash, Server
        # Supported Features): how BlueZ checks its cache, not discovery
        k = 'read by type (%s)' % (p['type'].split(' (')[0] or '?')
    elif code == 0x12 and (
            'Client Characteristic Configuration' in p['type'] or
            (not p['type'] and p['data'] in ('0000', '0100', '0200'))):
        k = 'CCCD write'
    if p['dir'] == 'rx':
        # the band's own bluetoothd is a GATT client of ours too
        return 'from the band side: ' + k
    return k


def window(pdus):
    """PDUs from the last LE connection before the 10 03 01 notification
    up to and including it."""
    end = None
    for i, p in enumerate(pdus):
        if p.get('dir') == 'rx' and p.get('code') in NOTIFY and \
                p['data'].startswith('100301'):
            end = i
            break
    if end is None:
        return None, 'no 10 03 01 notification in the trace'
    start = None
    for i in range(end, -1, -1):
        if pdus[i].get('mark') == 'connect':
            start = i
            break
    if start is None:
        return None, 'no LE connection before 10 03 01'
    return pdus[start:end + 1], None


def report_att(lines, label):
    pdus = parse_btmon(lines)
    w, err = window(pdus)
    if err:
        print('ATT %s: %s' % (label, err))
        return 1
    counts = {}
    order = []
    for p in w:
        if 'mark' in p:
            continue
        k = kind_of(p)
        if k is None:
            continue
        counts[k] = counts.get(k, 0) + 1
        order.append('%+.3f %s %s h=0x%04x %s%s' % (
            p['t'] - w[0]['t'], '->' if p['dir'] == 'tx' else '<-', k,
            p['handle'] or 0, p['type'] + ' ' if p['type'] else '',
            p['data'][:8] + ('..' if len(p['data']) > 8 else '')))
    t = w[-1]['t'] - w[0]['t']
    print('ATT-COUNT %s: connected to authenticated in %.3f s (btmon '
          'clock): %s' % (label, t, ', '.join(
              '%s %d' % (k, v) for k, v in sorted(counts.items()))))
    for o in order:
        print('    ' + o)
    return 0


def cmd_att(args):
    label = args.label or args.client
    snoop = '/tmp/att-%s.btsnoop' % label.replace(' ', '-')
    mon = subprocess.Popen(['btmon', '-w', snoop], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # let btmon open the monitor socket
    r, out = run_once(args.client, args, stack_pids())
    time.sleep(0.3)
    mon.send_signal(signal.SIGINT)
    mon.wait()
    if r['rc'] != 0:
        print('ATT %s: the client failed (rc %d)' % (args.client, r['rc']))
        for t, line in out[-15:]:
            print('    %7.3f %s' % (t, line))
        return 1
    txt = subprocess.run(['btmon', '-r', snoop], capture_output=True,
                         text=True).stdout
    with open(snoop.replace('.btsnoop', '.txt'), 'w') as f:
        f.write(txt)
    return report_att(txt.splitlines(), label)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('run', 'att'):
        p = sub.add_parser(name)
        p.add_argument('--address', required=True)
        p.add_argument('--key', required=True)
        p.add_argument('--adapter', default='hci1')
        p.add_argument('--user', default='client')
        if name == 'run':
            p.add_argument('--runs', type=int, default=10)
            p.add_argument('--warmup', type=int, default=1)
            p.add_argument('--pause', type=float, default=0.5)
            p.add_argument('--timeline', action='store_true')
        else:
            p.add_argument('--label')
            p.add_argument('client', choices=('mibandctl', 'bleak'))
    p = sub.add_parser('parse')
    p.add_argument('file')
    args = ap.parse_args()
    if args.cmd == 'run':
        return cmd_run(args)
    if args.cmd == 'att':
        return cmd_att(args)
    with open(args.file) as f:
        return report_att(f.readlines(), args.file)


if __name__ == '__main__':
    sys.exit(main())
