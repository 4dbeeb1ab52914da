#!/usr/bin/env python3
"""The payfault shim (tests/fault/payfault.c) and its rollback
(tests/fault_lib.py) do what the fault suite relies on:

  1. raw writes: after a SIGKILL, rolling back leaves a tracked file exactly
     as its last completed fsync did (overwrites undone, the file cut back
     to its synced size), except what an O_DSYNC write made durable; a
     plain SIGKILL (no rollback) keeps every write, which is why it proves
     nothing about flushes;
  2. LMDB: a transaction committed with full sync survives a power cut, one
     committed with MDB_NOSYNC does not, and the store opens cleanly;
  3. EIO: while the trigger file exists, fsync of a tracked file fails with
     EIO; afterwards it works again; untracked files are never touched.

usage: fault_shim_test.py LIBPAYFAULT FAULT_LMDB_PROBE
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import done, eq, note, ok   # noqa: E402
from fault_lib import journal_path, rollback, rollback_dir, shim_env   # noqa: E402

SHIM, PROBE = sys.argv[1:3]

WRITER = r"""
import os, signal, sys
d = sys.argv[1]
p = os.path.join(d, "data.mdb")
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, b"A" * 8192, 0)
os.fsync(fd)
os.pwrite(fd, b"B" * 100, 0)            # overwrite, never synced
os.pwrite(fd, b"C" * 4096, 8192)        # extension, never synced
ds = os.open(p, os.O_WRONLY | os.O_DSYNC)
os.pwrite(ds, b"D" * 50, 1000)          # durable at once
os.pwrite(fd, b"E" * 50, 1020)          # over part of it, never synced
other = os.open(os.path.join(d, "other.bin"), os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(other, b"X" * 10, 0)          # not a data.mdb: not tracked
sys.stdout.write("ready\n"); sys.stdout.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""

EIO = r"""
import os, sys
d, trigger = sys.argv[1], sys.argv[2]
fd = os.open(os.path.join(d, "data.mdb"), os.O_RDWR | os.O_CREAT, 0o600)
other = os.open(os.path.join(d, "other.bin"), os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, b"x", 0)
out = []
open(trigger, "w").close()
for f in (fd, other):
    try:
        os.fsync(f); out.append("ok")
    except OSError as e:
        out.append("EIO" if e.errno == 5 else "errno %d" % e.errno)
os.unlink(trigger)
try:
    os.fsync(fd); out.append("ok")
except OSError as e:
    out.append("errno %d" % e.errno)
print(" ".join(out))
"""


def main():
    tmp = tempfile.mkdtemp(prefix="fault_shim.")
    try:
        # 1. raw writes
        d = os.path.join(tmp, "raw")
        os.makedirs(d)
        env = shim_env(os.environ, SHIM, d)
        r = subprocess.run([sys.executable, "-c", WRITER, d], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        ok(r.returncode == -signal.SIGKILL and "ready" in r.stdout,
           "the writer ran under the shim and was SIGKILLed", r.stderr)
        df = os.path.join(d, "data.mdb")
        ok(os.path.exists(journal_path(df)), "the shim kept a journal beside data.mdb")
        ok(not os.path.exists(os.path.join(d, "other.bin.pfj")),
           "and none for a file that is not data.mdb")
        copy = os.path.join(tmp, "raw-copy.mdb")
        shutil.copyfile(df, copy)
        with open(copy, "rb") as f:
            killed = f.read()
        eq((len(killed), killed[:1], killed[8192:8193]), (12288, b"B", b"C"),
           "a plain SIGKILL keeps every write (the page cache survives it)")
        applied, restored, size = rollback(df)
        with open(df, "rb") as f:
            data = f.read()
        want = bytearray(b"A" * 8192)
        want[1000:1050] = b"D" * 50
        eq(size, 8192, "rolled back to the synced size (the extension is gone)")
        ok(data == bytes(want), "rolled back to the synced bytes, and the O_DSYNC write kept "
           "(%d records, %d bytes restored)" % (applied, restored),
           "first difference at %s" % next((i for i in range(min(len(data), len(want)))
                                            if data[i] != want[i]), len(data)))
        ok(not os.path.exists(journal_path(df)), "the journal is consumed by the rollback")
        with open(os.path.join(d, "other.bin"), "rb") as f:
            eq(f.read(), b"X" * 10, "an untracked file is left alone")

        # 2. LMDB
        ld = os.path.join(tmp, "lmdb")
        os.makedirs(ld)
        p = subprocess.Popen([PROBE, ld, "write"], env=shim_env(os.environ, SHIM, ld),
                             stdout=subprocess.PIPE, universal_newlines=True)
        line = p.stdout.readline().strip()
        ok(line == "ready", "the LMDB probe committed a (full sync) and b (MDB_NOSYNC)")
        p.kill()
        p.wait()
        keep = os.path.join(tmp, "lmdb-killed")
        shutil.copytree(ld, keep)
        os.unlink(journal_path(os.path.join(keep, "data.mdb")))
        r = subprocess.run([PROBE, keep, "read"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        eq((r.returncode, r.stdout.strip()), (0, "a b"),
           "after a plain SIGKILL the unsynced b is still there")
        applied, restored, _ = rollback_dir(ld)
        ok(applied > 0, "the power cut undid %d writes (%d bytes)" % (applied, restored))
        r = subprocess.run([PROBE, ld, "read"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        eq((r.returncode, r.stdout.strip()), (0, "a"),
           "after the power cut LMDB opens cleanly with a and without b")

        # 3. EIO
        ed = os.path.join(tmp, "eio")
        os.makedirs(ed)
        trigger = os.path.join(tmp, "eio-now")
        r = subprocess.run([sys.executable, "-c", EIO, ed, trigger],
                           env=shim_env(os.environ, SHIM, ed, journal=False, eio_file=trigger),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        eq(r.stdout.split(), ["EIO", "ok", "ok"],
           "fsync of a tracked file fails with EIO while the trigger exists (an untracked "
           "one does not), and works again after")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    note("shim %s" % SHIM)
    sys.exit(main())
