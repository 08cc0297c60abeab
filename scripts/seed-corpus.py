#!/usr/bin/env python3
"""Seeds the fuzz corpora from the test transcripts (tests/data/*.txt).

Each transcript is written in the input format of every harness
(the formats are described atop fuzz/fuzz-*.c):

  transcript  the file itself
  session     its operations as the client engine sees them
  band        the client's operations as the band engine sees them
  codec       every value the band sent (one file each)
  cli-parse   its key (as mibandctl accepts keys), a key file holding
              it, the fetch times as ISO 8601, device strings for the
              terminal and JSON escapers, plus a few fixed examples

Files are named seed-<transcript>[-n]; running the script again rewrites
them and leaves every other corpus file (fuzzer finds, regressions)
alone.  Usage: scripts/seed-corpus.py [CORPUS_DIR]
"""
import glob
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# include/miband/types.h, in order
CHANNELS = ["auth", "time", "battery", "steps", "events", "fetch-ctl",
            "fetch-data", "config", "user", "chunked", "sensor-ctl",
            "sensor-data", "hr-meas", "hr-ctl", "alert", "new-alert",
            "device-name", "serial", "hw-rev", "sw-rev", "system-id",
            "pnp-id"]
MODELS = {"mb2": 0, "mb3": 1, "mb4": 2, "mb5": 3, "mb6": 4}
# include/miband/session.h: enum miband_request_type
REQUESTS = ["none", "auth", "battery", "steps", "steps-follow", "time-get",
            "time-set", "devinfo", "hr-oneshot", "hr-start", "hr-stop",
            "hr-interval", "alert", "call", "call-stop", "text",
            "events-follow", "config", "user", "fetch"]
DEVINFO = ["serial", "hw-rev", "sw-rev", "system-id", "pnp-id", "name"]
AUTH_MODES = {"stored": 0, "pair": 1, "auto": 2}


def channel_names():
    """The names miband_channel_info() uses, read from src/core."""
    src = open(os.path.join(ROOT, "src/core/profile.c")).read()
    names = re.findall(r'CH\(MIBAND_CH_\w+, "([a-z0-9-]+)"', src)
    return names if len(names) == len(CHANNELS) else CHANNELS


def parse(path):
    """The transcript's lines as (mark, words...) tuples."""
    lines = []
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mark, rest = line[0], line[1:].strip()
        lines.append((mark, rest))
    return lines


def hexbytes(s):
    s = re.sub(r"[\s:]", "", s)
    return bytes.fromhex(s)


def op_hex(rest):
    """'write auth 02 00' -> ('write', 'auth', b'\\x02\\x00')"""
    parts = rest.split(None, 2)
    data = hexbytes(parts[2]) if len(parts) > 2 else b""
    return parts[0], parts[1], data


def sized(data, limit):
    data = data[:limit]
    return bytes([len(data)]) + data


def request_args(name, arg):
    """The session harness's bytes for '@ request NAME ARG'."""
    t = REQUESTS.index(name)
    out = bytes([t])
    if name == "time-set":
        b = hexbytes(arg)
        year, = struct.unpack("<H", b[0:2])
        out += struct.pack("<HBBBBBBb", year, b[2], b[3], b[4], b[5], b[6],
                           b[7], struct.unpack("b", b[10:11])[0])
    elif name == "fetch":
        m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+)([+-]\d+)", arg)
        y, mo, d, h, mi, tz = (int(x) for x in m.groups())
        out += struct.pack("<HBBBBBBb", y, mo, d, h, mi, 0, 0, tz)
    elif name == "devinfo":
        out += bytes([DEVINFO.index(arg)])
    elif name in ("alert", "hr-interval"):
        out += bytes([int(arg, 0)])
    elif name in ("call", "text"):
        out += sized(arg.encode(), 255)
    elif name in ("config", "user"):
        out += sized(hexbytes(arg), 21)
    return out


def header(lines):
    model, opts, key, auth = 1, set(), None, None
    for mark, rest in lines:
        if mark != "@":
            continue
        word, _, arg = rest.partition(" ")
        if word == "model":
            model = MODELS[arg.strip()]
        elif word == "option":
            opts.add(arg.strip())
        elif word == "key":
            key = hexbytes(arg)
        elif word == "auth" and auth is None:
            auth = arg.strip()
    return model, opts, key, auth


def to_session(lines, ch):
    model, opts, _, _ = header(lines)
    sel = model
    sel |= 0x08 if "allow_pair_fallback" in opts else 0
    sel |= 0x10 if "config_reply_required" in opts else 0
    sel |= 0x20 if "no_fetch_ack" in opts else 0
    out = bytearray([sel, 0])
    pending_read = None
    for mark, rest in lines:
        if mark == "@":
            word, _, arg = rest.partition(" ")
            arg = arg.strip()
            if word == "auth":
                out += bytes([6, AUTH_MODES[arg]])
            elif word == "request":
                name, _, rarg = arg.partition(" ")
                out += bytes([5]) + request_args(name, rarg.strip())
            elif word == "timeout":
                out += bytes([3, 0xff, 0xff])
            elif word == "disconnect":
                out += bytes([4])
            elif word == "fetch-stored":
                out += bytes([7])
            elif word == "cancel":
                out += bytes([8])
        elif mark == ">":
            op, name, _ = op_hex(rest)
            if op == "read":
                pending_read = ch.index(name)
            else:  # subscribe, write, write-req: completed
                out += bytes([1, ch.index(name), 1])
        elif mark == "<":
            op, name, data = op_hex(rest)
            if op == "notify":
                out += bytes([0, ch.index(name)]) + sized(data, 24)
            else:
                out += bytes([2, ch.index(name), 1]) + sized(data, 24)
                pending_read = None
    return bytes(out)


def to_band(lines, ch, name):
    model, _, key, auth = header(lines)
    paired = auth in ("stored", "auto") and "no-key" not in name
    pairing = 1 if "declined" in name else 0
    sel = model | pairing << 3 | (0x80 if paired else 0)
    out = bytearray([sel, 0])
    for mark, rest in lines:
        if mark == "@":
            word = rest.split()[0]
            if word == "timeout":
                out += bytes([3, 0xff, 0xff])
            elif word == "disconnect":
                out += bytes([6, 3])
        elif mark == ">":
            op, cname, data = op_hex(rest)
            c = ch.index(cname)
            if op == "subscribe":
                out += bytes([1, c, 1])
            elif op == "read":
                out += bytes([2, 20, c])
            elif cname == "auth" and data and data[0] & 0x7f == 3:
                # the band's random differs from the transcript's:
                # answer it with the band's key (harness op 8)
                out += bytes([8, 1 if data[0] & 0x80 else 0])
            else:
                out += bytes([0, c, 1 if op == "write-req" else 0])
                out += sized(data, 24)
            # let the band's timers run (tap, heart rate, history)
            out += bytes([3]) + struct.pack("<H", 3500)
    return bytes(out)


def values(lines):
    vals = []
    for mark, rest in lines:
        if mark == "<":
            _, _, data = op_hex(rest)
            if data and data not in vals:
                vals.append(data)
    return vals


def cli_seeds(lines):
    """(sel, text) pairs for fuzz-cli-parse."""
    seeds = []
    _, _, key, _ = header(lines)
    if key:
        h = key.hex()
        seeds.append((0, h))
        seeds.append((0, "0x" + h.upper()))
        seeds.append((0, ":".join(h[i:i + 2] for i in range(0, 32, 2))))
        seeds.append((3, "# mibandctl key: keep private (chmod 600)\n"
                         "address C8:0F:10:12:34:56\nmodel mb3\n"
                         "key %s\n" % h))
    for mark, rest in lines:
        if mark == "@" and rest.startswith("request fetch "):
            m = re.match(r"request fetch (\d+-\d+-\d+)T(\d+:\d+)([+-]\d+)",
                         rest)
            q = int(m.group(3))
            sign = "-" if q < 0 else "+"
            q = abs(q)
            seeds.append((2, "%sT%s%s%02d:%02d" % (m.group(1), m.group(2),
                                                  sign, q // 4,
                                                  q % 4 * 15)))
        if mark == "<" and rest.startswith("read "):
            _, cname, data = op_hex(rest)
            if cname in ("serial", "hw-rev", "sw-rev", "device-name"):
                seeds.append((5 + 7 * 4, data))
                seeds.append((6, data))
        if mark == "@" and rest.startswith("request call "):
            seeds.append((6, rest[len("request call "):].encode()))
    return seeds


FIXED_CLI = [
    (1, "C8:0F:10:12:34:56"), (1, "c8:0f:10:12:34:5g"),
    (2, "2025-11-24T17:00:05+01:00"), (2, "2025-11-24"),
    (2, "2025-03-30T02:30"), (2, "2025-11-24 17:00Z"),
    (3, "address emu\nkey 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45\n"),
    (4, "C8:0F:10:12:34:56"), (4, "my-band.1"), (4, ".hidden"),
    (5, "Mi Band 3 \x1b[2J\u00e9\u2028"), (6, "caf\u00e9 \"q\" \\ \t\x7f"),
]


def write(path, data):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT,
                                                                "fuzz/corpus")
    ch = channel_names()
    for d in ("transcript", "session", "band", "codec", "cli-parse"):
        for old in glob.glob(os.path.join(corpus, d, "seed-*")):
            os.unlink(old)
    n = 0
    cli = list(FIXED_CLI)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/*.txt"))):
        name = os.path.basename(path)[:-4]
        lines = parse(path)
        write(os.path.join(corpus, "transcript", "seed-" + name),
              open(path, "rb").read())
        write(os.path.join(corpus, "session", "seed-" + name),
              to_session(lines, ch))
        write(os.path.join(corpus, "band", "seed-" + name),
              to_band(lines, ch, name))
        for i, v in enumerate(values(lines)):
            write(os.path.join(corpus, "codec", "seed-%s-%d" % (name, i)), v)
        cli += cli_seeds(lines)
        n += 1
    seen = set()
    for i, (sel, text) in enumerate(cli):
        data = bytes([sel]) + (text.encode() if isinstance(text, str)
                               else text)
        if data in seen:
            continue
        seen.add(data)
        write(os.path.join(corpus, "cli-parse", "seed-%d" % i), data)
    print("seed-corpus: %d transcripts -> %s" % (n, corpus))


if __name__ == "__main__":
    main()
