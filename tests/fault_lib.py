"""fault_lib: the pieces of the fault suite (scripts/fault-test) and of its
tests: rolling an LMDB data file back to its last-synced state from the
journal of the payfault shim (tests/fault/payfault.c), the environment that
preloads the shim, and a bulk input generator.

Python 3 standard library only.
"""
import os
import struct

MAGIC = b"PFJ1"


def journal_path(data_file):
    return data_file + ".pfj"


def rollback(data_file):
    """Puts data_file back as a power cut would have left it: the bytes the
    last completed sync made durable, from the shim's journal (see the
    header of tests/fault/payfault.c). Returns (records applied, bytes
    restored, size after); (0, 0, size) if there is no journal. The journal
    is removed afterwards, so the next life starts from this state."""
    jp = journal_path(data_file)
    if not os.path.exists(jp):
        return 0, 0, os.path.getsize(data_file) if os.path.exists(data_file) else 0
    with open(jp, "rb") as f:
        raw = f.read()
    if raw[:4] != MAGIC or len(raw) < 12:
        raise RuntimeError("%s: not a payfault journal" % jp)
    (synced_size,) = struct.unpack_from("=Q", raw, 4)
    pos = 12
    recs = []
    while pos < len(raw):
        if pos + 17 > len(raw):
            break   # a record cut short: the write it announced never happened
        kind = raw[pos:pos + 1]
        off, length = struct.unpack_from("=QQ", raw, pos + 1)
        pos += 17
        if kind == b"W":
            if pos + length > len(raw):
                break
            recs.append(("W", off, raw[pos:pos + length]))
            pos += length
        elif kind == b"D":
            recs.append(("D", off, length))
        else:
            raise RuntimeError("%s: bad record at %d" % (jp, pos - 17))
    size = synced_size
    masked = []          # (start, end) ranges made durable by an O_DSYNC write
    applied = restored = 0
    fd = os.open(data_file, os.O_RDWR)
    try:
        for rec in reversed(recs):
            if rec[0] == "D":
                _, off, length = rec
                masked.append((off, off + length))
                size = max(size, off + length)
                continue
            _, off, data = rec
            # Write back the parts of data that no later O_DSYNC write covers.
            pieces = [(off, off + len(data))]
            for ms, me in masked:
                nxt = []
                for s, e in pieces:
                    if me <= s or ms >= e:
                        nxt.append((s, e))
                        continue
                    if s < ms:
                        nxt.append((s, ms))
                    if me < e:
                        nxt.append((me, e))
                pieces = nxt
            for s, e in pieces:
                if e > s:
                    os.pwrite(fd, data[s - off:e - off], s)
                    restored += e - s
            applied += 1
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.unlink(jp)
    return applied, restored, size


def rollback_dir(store_dir):
    """rollback() of <store_dir>/data.mdb, if it exists."""
    df = os.path.join(store_dir, "data.mdb")
    if not os.path.exists(df):
        return 0, 0, 0
    return rollback(df)


def shim_env(env, shim, track_dir, journal=True, eio_file=None):
    """A copy of env that preloads the payfault shim for files under
    track_dir. An AddressSanitizer build insists on being first in the
    library list; the shim is not instrumented, so that check is relaxed."""
    e = dict(env)
    e["LD_PRELOAD"] = shim
    e["PAY_FAULT_TRACK"] = track_dir
    if journal:
        e["PAY_FAULT_JOURNAL"] = "1"
    if eio_file:
        e["PAY_FAULT_EIO_FILE"] = eio_file
    opts = e.get("ASAN_OPTIONS", "")
    if "verify_asan_link_order" not in opts:
        e["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "verify_asan_link_order=0"
    return e
