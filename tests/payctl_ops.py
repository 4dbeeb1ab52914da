#!/usr/bin/env python3
"""payctl_ops: `payctl reconcile`, `payctl status` and `payctl backup`
against the three real services over real CURVE sockets, with real LMDB
stores in a temp folder. Prints TAP.

Proves: reconcile prints the FORMATS.md table with the totals computed here
from the hours rows and exits 0 when the services agree (one prison, and
every prison, the list coming from the hours service: a prison that neither
consumer has heard of is a MISMATCH, not left out); a consumer that answers but has fallen behind gives MISMATCH
and exit 1, and OK again once it catches up; a stopped service is an error
(exit 1, its name in the message, no table), never a silent OK; status
shows every service with cursor, head and lag, and a stopped one as down
(exit 1); backup writes a data.mdb per service that mdb_stat opens (and a
restored hours store serves its records), and a second backup into the same
folder is refused without touching the first.

usage: payctl_ops.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import (Cluster, done, free_port, load_scenario, note, ok,  # noqa: E402
                        write_csv)

PAYCTL, HOURS, WAGES, INVOICING = [os.path.abspath(a) for a in sys.argv[1:5]]
HEADER = ("prison,week,minutes_captured,minutes_priced,billable_minutes_captured,"
          "billable_minutes_invoiced_or_pending,status")

HOURS_ROWS = [
    ["r1", "A0001BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r2", "A0002BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r3", "A0003BC", "C-0001", "2026-11-24", "AM", "120", "", "SICK", "yes"],
    ["r4", "A0004BC", "C-0002", "2026-11-23", "PM", "150", "", "ATTENDED", ""],
    ["r5", "A0004BC", "C-0002", "2026-11-24", "PM", "90", "", "REFUSED", ""],
    ["r6", "B0001BC", "C-0003", "2026-11-23", "AM", "60", "", "ATTENDED", ""],
]


def expected(rows, prison_of):
    """(captured, billable) per prison, computed from the rows alone."""
    out = {}
    for r in rows:
        p = prison_of[r[2]]
        cap, bill = out.get(p, (0, 0))
        out[p] = (cap + int(r[5]), bill + (int(r[5]) if r[7] == "ATTENDED" else 0))
    return out


PRISON_OF = {"C-0001": "MDI", "C-0002": "MDI", "C-0003": "LEI"}


def recon_rows(out):
    return list(csv.DictReader(io.StringIO(out)))


def want_line(prison, cap, bill, status="OK"):
    return "%s,2026-W48,%d,%d,%d,%d,%s" % (prison, cap, cap, bill, bill, status)


with tempfile.TemporaryDirectory(prefix="payctl_ops.") as tmp:
    c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-12-02")
    try:
        c.start_all()
        load_scenario(c, HOURS_ROWS)
        c.wait_caught_up()
        exp = expected(HOURS_ROWS, PRISON_OF)

        # ---- reconcile: consistent
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        cap, bill = exp["MDI"]
        ok(rc == 0 and out.splitlines() == [HEADER, want_line("MDI", cap, bill)],
           "reconcile MDI: OK with the totals computed from the rows (%d, %d)" % (cap, bill),
           (rc, out, err))
        rc, out, err = c.run("reconcile", "--week", "2026-W48", "--format", "csv")
        ok(rc == 0 and out.splitlines() == [HEADER, want_line("LEI", *exp["LEI"]),
                                            want_line("MDI", *exp["MDI"])],
           "reconcile without --prison: every prison, in order, all OK", (rc, out, err))
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W48")
        ok(rc == 0 and out.splitlines()[0].split() == HEADER.split(",")
           and out.splitlines()[2].split()[-1] == "OK", "reconcile as a table", out)
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W47",
                             "--format", "csv")
        ok(rc == 0 and out.splitlines()[1:] == ["MDI,2026-W47,0,0,0,0,OK"],
           "an empty week reconciles at zero", (rc, out, err))
        rc, out, err = c.run("reconcile", "--prison", "MDI")
        ok(rc == 2 and "--week" in err, "reconcile without --week: usage error", (rc, err))
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "48")
        ok(rc == 2 and "ISO week" in err and out == "", "a malformed week: usage error",
           (rc, out, err))
        rc, out, err = c.run("reconcile", "--prison", "XYZ", "--week", "2026-W48")
        ok(rc == 1 and "UNKNOWN_PRISON" in err and out == "",
           "an unknown prison is an error", (rc, out, err))

        # ---- status
        rc, rows, err = c.status()
        hours_head = c.feed_head("hours")
        ok(rc == 0 and sorted(rows) == ["hours", "invoicing", "wages"]
           and all(r["state"] == "up" for r in rows.values()),
           "status: every service up", (rc, rows, err))
        ok(hours_head not in (None, "", "0") and rows["wages"]["head"] == hours_head
           and rows["wages"]["cursor"] == hours_head and rows["wages"]["lag"] == "0"
           and rows["invoicing"]["cursor"] == hours_head and rows["invoicing"]["lag"] == "0",
           "status: consumers' cursors at the hours feed head %s, lag 0" % hours_head, rows)
        rc, out, err = c.run("status")
        ok(rc == 0 and out.splitlines()[0].split()[:7] == ["service", "endpoint", "state",
                                                           "feed", "cursor", "head", "lag"],
           "status as a table", out)

        # ---- backup
        bdir = os.path.join(tmp, "backups", "b1")
        rc, out, err = c.run("backup", "b1", "--format", "csv")
        ok(rc == 0 and len(out.splitlines()) == 4 and out.count(",OK,") == 3,
           "backup: three OK rows", (rc, out, err))
        for svc in ("hours", "wages", "invoicing"):
            mdb = os.path.join(bdir, svc, "data.mdb")
            ok(os.path.isfile(mdb) and os.path.getsize(mdb) > 0, "backup: %s/data.mdb" % svc)
            if shutil.which("mdb_stat"):
                p = subprocess.run(["mdb_stat", "-a", os.path.join(bdir, svc)],
                                   capture_output=True, text=True)
                ok(p.returncode == 0 and "Status of server_requests" in p.stdout,
                   "backup: mdb_stat opens the %s copy and finds its databases" % svc,
                   (p.returncode, p.stdout[-500:], p.stderr))
            else:
                ok(True, "# SKIP mdb_stat is not installed")
        first = open(os.path.join(bdir, "hours", "data.mdb"), "rb").read()
        rc, out, err = c.run("backup", "b1")
        ok(rc == 1 and "already exists" in err and "3 of 3 backups failed" in err,
           "a second backup under the same name is refused by every service", (rc, out, err))
        ok(open(os.path.join(bdir, "hours", "data.mdb"), "rb").read() == first,
           "the first backup is untouched")
        rc, out, err = c.run("backup", "b2", key="emp-dhl")
        ok(rc == 1 and not os.path.exists(os.path.join(tmp, "backups", "b2")),
           "an employer key may not take backups", (rc, out, err))
        for bad in ("../escape", "/tmp/x", "", ".hidden", "a" * 65):
            rc, out, err = c.run("backup", bad)
            ok(rc == 2 and "NAME" in err, "backup name %r refused before anything is sent"
               % bad[:20], (rc, out, err))
        ok(not os.path.exists(os.path.join(tmp, "escape")), "nothing was written outside")

        # The hours copy is a working store: a pay-hours started on it serves
        # the records.
        rdata = os.path.join(tmp, "restored")
        os.makedirs(os.path.join(rdata, "hours"))
        shutil.copy(os.path.join(bdir, "hours", "data.mdb"), os.path.join(rdata, "hours"))
        rport, rfeed = free_port(), free_port()
        rlog = open(os.path.join(tmp, "restored.log"), "w")
        restored = subprocess.Popen(
            [HOURS, "--data-dir", rdata, "--keys-dir", c.keys,
             "--endpoint", "tcp://127.0.0.1:%d" % rport,
             "--feed-endpoint", "tcp://127.0.0.1:%d" % rfeed,
             "--invoice-feed", c.ep("invfeed"),
             "--allow-file", os.path.join(c.keys, "allow.txt"), "--today", c.today],
            stdout=rlog, stderr=rlog)
        try:
            rc = 1
            for _ in range(50):
                rc, out, err = c.run("hours", "list", "--record-id", "r4", "--format", "csv",
                                     "--hours-endpoint", "tcp://127.0.0.1:%d" % rport,
                                     timeout_ms=300)
                if rc == 0:
                    break
                time.sleep(0.2)
            ok(rc == 0 and ",150," in out, "a pay-hours on the restored copy serves record r4",
               (rc, out, err))
        finally:
            restored.terminate()
            restored.wait(timeout=20)
            rlog.close()

        # ---- out of step: wages answers but cannot read the hours feed
        c.stop("wages")
        c.start("wages", hours_feed="tcp://127.0.0.1:%d" % free_port())
        c.wait_up()
        rc, out, err = c.run("hours", "submit", "--record-id", "r7", "--prisoner", "A0001BC",
                             "--contract", "C-0001", "--date", "2026-11-25", "--session", "AM",
                             "--minutes", "60", "--outcome", "ATTENDED")
        ok(rc == 0, "one more record while wages is cut off from the feed", (rc, out, err))
        c.wait_caught_up(services=("invoicing",))
        rc, rows, err = c.status()
        ok(rc == 0 and rows.get("wages", {}).get("lag") == "1",
           "status: wages lags the hours feed by 1", rows)
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        cap, bill = exp["MDI"]
        ok(rc == 1 and out.splitlines()[1:] == [
            "MDI,2026-W48,%d,%d,%d,%d,MISMATCH" % (cap + 60, cap, bill + 60, bill + 60)]
           and "do not reconcile" in err,
           "reconcile: MISMATCH and exit 1 while wages is behind", (rc, out, err))
        rc, out, err = c.run("reconcile", "--week", "2026-W48", "--format", "csv")
        ok(rc == 1 and "LEI,2026-W48" in out and ",OK" in out and ",MISMATCH" in out,
           "reconcile of every prison: LEI OK, MDI MISMATCH, exit 1", (rc, out, err))
        c.stop("wages")
        c.start("wages")
        c.wait_up()
        c.wait_caught_up()
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        ok(rc == 0 and out.splitlines()[1:] == [want_line("MDI", cap + 60, bill + 60)],
           "reconcile: OK again once wages has caught up", (rc, out, err))

        # ---- a prison that only the hours service knows of
        t = c.tmp
        write_csv(os.path.join(t, "pvi.csv"), ["code", "name", "regime"],
                  [["PVI", "Pentonville", "CLOSED"]])
        write_csv(os.path.join(t, "pvi-prisoners.csv"),
                  ["number", "prison", "incentive_level", "public_contact_cleared_on",
                   "released_on"], [["C0001BC", "PVI", "STD", "", ""]])
        write_csv(os.path.join(t, "pvi-contracts.csv"),
                  ["id", "employer", "prison", "activity", "work_type", "start", "end",
                   "public_contact", "attested_by", "attested_on", "attestation_ref"],
                  [["C-0009", "dhl", "PVI", "Packing", "WORKSHOP", "2026-01-01", "", "no",
                    "J. Smith", "2025-12-20", "COP-9"]])
        write_csv(os.path.join(t, "pvi-alloc.csv"),
                  ["prisoner", "contract", "from", "to", "pay_band"],
                  [["C0001BC", "C-0009", "2026-01-01", "", "3"]])
        for kind, f in (("prisons", "pvi.csv"), ("prisoners", "pvi-prisoners.csv"),
                        ("contracts", "pvi-contracts.csv"), ("allocations", "pvi-alloc.csv")):
            rc, out, err = c.run("import", kind, f, key="industries")
            ok(rc == 0, "import %s for PVI" % kind, (rc, out, err))
        c.wait_caught_up()
        rc, out, err = c.run("reconcile", "--week", "2026-W48", "--format", "csv")
        ok(rc == 0 and "PVI,2026-W48,0,0,0,0,OK" in out.splitlines(),
           "reconcile of every prison asks the hours service which prisons exist", (rc, out))
        dead = "tcp://127.0.0.1:%d" % free_port()
        for svc in ("wages", "invoicing"):
            c.stop(svc)
            c.start(svc, hours_feed=dead)
        c.wait_up()
        rc, out, err = c.run("hours", "submit", "--record-id", "p1", "--prisoner", "C0001BC",
                             "--contract", "C-0009", "--date", "2026-11-23", "--session", "AM",
                             "--minutes", "45", "--outcome", "ATTENDED")
        ok(rc == 0, "a PVI record while both consumers are cut off", (rc, out, err))
        rc, out, err = c.run("reconcile", "--week", "2026-W48", "--format", "csv")
        ok(rc == 1 and "PVI,2026-W48,45,0,45,0,MISMATCH" in out.splitlines(),
           "a prison that neither consumer has heard of is a MISMATCH, not a silent OK",
           (rc, out, err))
        for svc in ("wages", "invoicing"):
            c.stop(svc)
            c.start(svc)
        c.wait_up()
        c.wait_caught_up()
        rc, out, err = c.run("reconcile", "--week", "2026-W48", "--format", "csv")
        ok(rc == 0 and "PVI,2026-W48,45,45,45,45,OK" in out.splitlines(),
           "and OK once they have caught up", (rc, out, err))

        # ---- a service stopped
        c.stop("invoicing")
        t0 = time.time()
        rc, out, err = c.run("reconcile", "--prison", "MDI", "--week", "2026-W48",
                             timeout_ms=300)
        ok(rc == 1 and "no answer from invoicing" in err and out == "",
           "reconcile with invoicing stopped: exit 1, named, no table", (rc, out, err))
        ok(time.time() - t0 < 30, "and it does not hang")
        rc, rows, err = c.status()
        ok(rc == 1 and rows.get("invoicing", {}).get("state") == "down"
           and rows.get("hours", {}).get("state") == "up"
           and rows.get("wages", {}).get("state") == "up" and "down" in err,
           "status: invoicing down, the others up, exit 1", (rc, rows, err))
        rc, out, err = c.run("backup", "b3", timeout_ms=300)
        ok(rc == 1 and "1 of 3 backups failed" in err, "backup with a service down: exit 1",
           (rc, out, err))
        c.stop("hours")
        rc, out, err = c.run("reconcile", "--week", "2026-W48", timeout_ms=300)
        ok(rc == 1 and out == "", "reconcile with two services down: exit 1", (rc, out, err))
    except Exception as e:  # report, then fail the run
        ok(False, "unexpected error", "%s\n%s" % (e, "\n".join(c.log(s) for s in
                                                              ("hours", "wages", "invoicing"))))
    finally:
        c.stop_all()

done()
