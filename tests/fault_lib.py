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


# ---------------------------------------------------------------- bulk input

BULK_PRISONS = (("FTA", "HMP Fault Test A", "CLOSED"), ("FTB", "HMP Fault Test B", "CLOSED"))
BULK_EMPLOYERS = (
    ("ftlog", "Fault Test Logistics Ltd", "1 Test Way, Leeds", "LS1 1AA", "GB123456782",
     "ap@ftlog.example", "WEEKLY", "30"),
    ("ftprint", "Fault Test Printers Ltd", "2 Test Road, Hull", "HU1 1AA", "GB987654326",
     "ap@ftprint.example", "WEEKLY", "14"),
)


def _csv(path, header, rows):
    import csv
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header.split(","))
        for r in rows:
            w.writerow(r)


def gen_bulk(out, prisoners=2000, weeks=5, first_monday="2026-09-28"):
    """Writes a bulk scenario in the FORMATS.md layouts: 2 prisons, 2
    employers (weekly billing), one workshop contract per prison,
    `prisoners` prisoners allocated to their prison's contract, hourly pay
    rates, billing terms, and `weeks` weeks of hours: every prisoner AM 180
    and PM 180 minutes, Monday to Friday (10 records a week, within both
    caps). Every row is valid, so every record must end up counted once.
    Deterministic. Returns a dict: files, weeks (ISO), today, records."""
    import datetime as dt
    os.makedirs(out, exist_ok=True)
    monday = dt.date.fromisoformat(first_monday)
    mondays = [monday + dt.timedelta(days=7 * k) for k in range(weeks)]
    today = (mondays[-1] + dt.timedelta(days=7)).isoformat()
    _csv(os.path.join(out, "prisons.csv"), "code,name,regime", BULK_PRISONS)
    people = []
    for i in range(prisoners):
        num = "%s%04d%s%s" % ("AGH"[i % 3], i % 10000, chr(65 + (i // 10000) % 26),
                              chr(65 + (i // 260000) % 26 + (i % 7)))
        people.append((num, BULK_PRISONS[i % 2][0], 1 + i % 3))
    _csv(os.path.join(out, "prisoners.csv"),
         "number,prison,incentive_level,public_contact_cleared_on,released_on",
         [(n, p, "STD", "", "") for n, p, _ in people])
    _csv(os.path.join(out, "employers.csv"),
         "id,name,address,postcode,vat_number,email,billing_period,payment_terms_days",
         BULK_EMPLOYERS)
    contract = {"FTA": "C-9001", "FTB": "C-9002"}
    _csv(os.path.join(out, "contracts.csv"),
         "id,employer,prison,activity,work_type,start,end,public_contact,attested_by,"
         "attested_on,attestation_ref",
         [("C-9001", "ftlog", "FTA", "Warehouse packing", "WORKSHOP", "2025-10-05", "", "no",
           "Industries: Fault Test", "2026-01-13", "COP-9001"),
          ("C-9002", "ftprint", "FTB", "Print finishing", "WORKSHOP", "2025-10-05", "", "no",
           "Industries: Fault Test", "2026-01-13", "COP-9002")])
    _csv(os.path.join(out, "allocations.csv"), "prisoner,contract,from,to,pay_band",
         [(n, contract[p], "2026-01-05", "", str(b)) for n, p, b in people])
    _csv(os.path.join(out, "pay_rates.csv"),
         "prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,piece_rate_items",
         [(p, str(b), "STD", "2026-01-05", "HOURLY", r, "", "")
          for p, _, _ in BULK_PRISONS for b, r in ((1, "0.40"), (2, "0.45"), (3, "0.50"))])
    _csv(os.path.join(out, "billing_terms.csv"), "contract,effective_from,basis,charge,vat_rate_bp",
         [("C-9001", "2026-01-05", "HOURLY", "6.15", "2000"),
          ("C-9002", "2026-01-05", "HOURLY", "5.95", "2000")])
    files = []
    n = 0
    for k, m in enumerate(mondays):
        rows = []
        for d in range(5):
            day = (m + dt.timedelta(days=d)).isoformat()
            for num, p, _ in people:
                for sess in ("AM", "PM"):
                    rows.append(("%s-%s-%s-%s-%s" % (p, day, sess, num, contract[p]), num,
                                 contract[p], day, sess, "180", "", "ATTENDED", "no"))
        path = os.path.join(out, "hours_week%d.csv" % (k + 1))
        _csv(path, "record_id,prisoner,contract,date,session,minutes,units,outcome,paid_absence",
             rows)
        files.append(path)
        n += len(rows)
    iso = ["%d-W%02d" % m.isocalendar()[:2] for m in mondays]
    return {"files": files, "weeks": iso, "today": today, "records": n,
            "prisons": [p for p, _, _ in BULK_PRISONS],
            "employers": [e[0] for e in BULK_EMPLOYERS]}
