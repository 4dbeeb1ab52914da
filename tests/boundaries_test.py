#!/usr/bin/env python3
"""The boundaries between the services, and between a caller and a
service: the three REAL services, the real payctl, real sockets and real
LMDB stores in a temp folder.

- No reply carries invalid UTF-8, whatever the request held: the reply
  bytes are decoded by this file's own protobuf walker with Python's
  strict UTF-8 decoder (what Google's runtime does).
- A revoked key stops working on a connection it opened before the
  revocation: within 1 s of the SIGHUP, in each service.

usage: boundaries_test.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING PAY_WIRE"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import SERVICES, Cluster, done, note, ok  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING, WIRE = [os.path.abspath(a) for a in sys.argv[1:6]]

# ---------------------------------------------------------------- the wire

STATUS = {0: "OK", 7: "PERMISSION_DENIED", 40: "MALFORMED_REQUEST", 1: "INVALID_ARGUMENT",
          22: "NOT_FOUND"}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, payload):
    """A length-delimited field (string, bytes or message)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def health_request(svc, request_id):
    body_field = {"hours": 40, "wages": 16, "invoicing": 11}[svc]
    return field(1, request_id) + field(body_field, b"")


def parse(buf, schema):
    """Walks a protobuf message; `schema` maps field numbers to "str" (a
    string, decoded strictly: a UnicodeDecodeError propagates) or to a
    nested schema dict. Returns {field: [values]} for varints and the
    fields in the schema."""
    out, at = {}, 0

    def rd_varint():
        nonlocal at
        shift = v = 0
        while True:
            b = buf[at]
            at += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                return v

    while at < len(buf):
        tag = rd_varint()
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            out.setdefault(num, []).append(rd_varint())
        elif wt == 1:
            at += 8
        elif wt == 5:
            at += 4
        elif wt == 2:
            n = rd_varint()
            chunk = buf[at:at + n]
            at += n
            kind = schema.get(num)
            if kind == "str":
                out.setdefault(num, []).append(chunk.decode("utf-8", errors="strict"))
            elif isinstance(kind, dict):
                out.setdefault(num, []).append(parse(chunk, kind))
        else:
            raise ValueError("wire type %d" % wt)
    return out


ITEM = {3: "str", 4: "str"}
REPLY = {1: "str", 3: "str", 4: ITEM}


def wire(c, svc, key, request, count=1, interval_ms=0):
    ep = c.ep(svc)
    p = subprocess.run([WIRE, ep, os.path.join(c.keys, key + ".key"),
                        os.path.join(c.keys, svc + ".pub"), str(count), str(interval_ms)],
                       input=request, capture_output=True, timeout=60)
    return [l for l in p.stdout.decode().splitlines()]


def status_of(reply):
    return STATUS.get(reply.get(2, [0])[0], str(reply.get(2, [0])[0]))


# ---------------------------------------------------------------- tests

def test_utf8_replies(c):
    for svc in SERVICES:
        lines = wire(c, svc, "finance", health_request(svc, b"r-\xff\xfe"))
        try:
            rep = parse(bytes.fromhex(lines[0]), REPLY)
            good = True
        except (UnicodeDecodeError, ValueError, IndexError) as e:
            rep, good = {}, False
            note("%s: %r" % (svc, e))
        ok(good and status_of(rep) == "MALFORMED_REQUEST" and 1 not in rep,
           "%s: a request_id of invalid UTF-8 is MALFORMED_REQUEST, not echoed, and the "
           "reply decodes strictly" % svc, rep)
        lines = wire(c, svc, "finance", field(1, "r-ok") + field(99, b"\x00\xff"))
        try:
            rep = parse(bytes.fromhex(lines[0]), REPLY)
            good = True
        except (UnicodeDecodeError, ValueError, IndexError):
            rep, good = {}, False
        ok(good and rep.get(1) == ["r-ok"],
           "%s: invalid bytes in an unknown field never reach a reply" % svc, rep)

    # A string cut inside a character by a message's quote ("%.48s") is
    # repaired before it is sent: 'x' then 30 three-byte characters.
    prisoner = "x" + "\u20ac" * 30
    row = b"".join(field(i + 1, v) for i, v in enumerate(
        ["u-1", prisoner, "C-0001", "2026-11-23", "AM", "60", "", "ATTENDED", ""]))
    req = field(1, "utf8-items") + field(20, field(1, row))
    lines = wire(c, "hours", "finance", req)
    try:
        rep = parse(bytes.fromhex(lines[0]), REPLY)
        good = True
    except (UnicodeDecodeError, ValueError, IndexError) as e:
        rep, good = {}, False
        note("hours items: %r" % e)
    items = rep.get(4, [])
    ok(good and len(items) == 1 and "prisoner" in items[0].get(3, [""])[0],
       "hours: an item message quoting a value cut inside a character decodes strictly",
       rep)
    # An embedded NUL in a record_id: refused as malformed, never stored
    # under a shorter id.
    row = b"".join(field(i + 1, v) for i, v in enumerate(
        [b"nul\x00id", "A0001BC", "C-0001", "2026-11-23", "AM", "60", "", "ATTENDED", ""]))
    lines = wire(c, "hours", "finance", field(1, "nul-id") + field(20, field(1, row)))
    rep = parse(bytes.fromhex(lines[0]), REPLY)
    ok(status_of(rep) == "MALFORMED_REQUEST",
       "hours: a record_id holding a NUL is MALFORMED_REQUEST", rep)
    lines = wire(c, "hours", "finance", field(1, "get-nul") + field(30, field(1, "nul")))
    rep = parse(bytes.fromhex(lines[0]), REPLY)
    ok(status_of(rep) == "NOT_FOUND", "and nothing was stored under \"nul\"", rep)


def test_revocation_live(c):
    rc, out, err = c.run("keys", "new", "late")
    rc, out, err = c.run("keys", "grant", os.path.join(c.keys, "late.pub"), "--role",
                         "finance", "--scope", "-", "--name", "late")
    for svc in SERVICES:
        c.procs[svc].send_signal(signal.SIGHUP)
    time.sleep(0.5)
    got = {s: [] for s in SERVICES}
    procs = {}
    for svc in SERVICES:
        procs[svc] = subprocess.Popen(
            [WIRE, c.ep(svc), os.path.join(c.keys, "late.key"),
             os.path.join(c.keys, svc + ".pub"), "40", "100"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs[svc].stdin.write(health_request(svc, b"live-1"))
        procs[svc].stdin.close()

    def reader(svc):
        for line in procs[svc].stdout:
            line = line.decode().strip()
            st = "timeout" if line == "timeout" else status_of(parse(bytes.fromhex(line),
                                                                     REPLY))
            got[svc].append((time.time(), st))

    threads = [threading.Thread(target=reader, args=(s,)) for s in SERVICES]
    for t in threads:
        t.start()
    time.sleep(1.0)
    rc, out, err = c.run("keys", "revoke", os.path.join(c.keys, "late.pub"))
    ok(rc == 0, "keys revoke", err)
    t0 = time.time()
    for svc in SERVICES:
        c.procs[svc].send_signal(signal.SIGHUP)
    for t in threads:
        t.join(timeout=30)
    for svc in SERVICES:
        before = [st for t, st in got[svc] if t < t0]
        after = [(t - t0, st) for t, st in got[svc] if t >= t0]
        first_denied = next((dt for dt, st in after if st == "PERMISSION_DENIED"), None)
        ok(before and all(st == "OK" for st in before),
           "%s: the key works on its open connection before the revocation" % svc, before)
        ok(first_denied is not None and first_denied <= 1.0,
           "%s: refused on the SAME connection within 1 s of SIGHUP (%.2f s)"
           % (svc, first_denied if first_denied is not None else -1), after[:12])
        ok(after and after[-1][1] == "PERMISSION_DENIED", "%s: and stays refused" % svc,
           after[-3:])


def main():
    with tempfile.TemporaryDirectory(prefix="boundaries_test.") as tmp:
        c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-11-30")
        try:
            c.start_all()
            test_utf8_replies(c)
            test_revocation_live(c)
        finally:
            c.stop_all()
        ok(all(c.log(s).count('"stopped cleanly"') or "stopped cleanly" in c.log(s)
               for s in SERVICES), "clean SIGTERM afterwards",
           "\n".join(c.log(s)[-300:] for s in SERVICES))
    return done()


if __name__ == "__main__":
    main()
