#!/usr/bin/env python3
"""import_test: payctl import and the hours commands against a real pay-hours.

Starts pay-hours on free localhost ports with its store in a temp folder,
then proves: rejected rows reported as "line N: CODE: message" in line
order (local and service refusals merged, line numbers right after a
quoted multi-line cell), exit 1 when any row is rejected; batches of 500;
re-importing the same file changes nothing and gives the same report;
--rerun retries rows whose cause was fixed elsewhere; hours submit, amend,
void and list; a service that does not answer is an error, not a hang.
Prints TAP.

usage: import_test.py PATH/TO/payctl PATH/TO/pay-hours
"""
import csv
import io
import os
import socket
import subprocess
import sys
import tempfile
import time

PAYCTL, HOURS = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
PRODUCER = os.path.abspath(sys.argv[3])   # plays the invoice feed (employers)
n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond and detail:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


with tempfile.TemporaryDirectory() as tmp:
    keys = os.path.join(tmp, "keys")
    api, feed = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAY")}
    env.update({"HOME": tmp, "PAY_KEYS_DIR": keys,
                "PAY_HOURS_ENDPOINT": "tcp://127.0.0.1:%d" % api})

    def run(*args, key="industries", extra=None):
        e = dict(env)
        e["PAY_KEY_FILE"] = os.path.join(keys, key + ".key")
        if extra:
            e.update(extra)
        p = subprocess.run([PAYCTL] + list(args), capture_output=True, text=True, env=e,
                           timeout=120, cwd=tmp)
        return p.returncode, p.stdout, p.stderr

    for name in ("hours", "industries", "finance", "invoicing"):
        rc, out, err = run("keys", "new", name)
        assert rc == 0, err
    for name, role in (("hours", "service"), ("industries", "industries"),
                       ("finance", "finance")):
        rc, out, err = run("keys", "grant", os.path.join(keys, name + ".pub"), "--role", role,
                           "--scope", "-", "--name", name)
        assert rc == 0, err

    invfeed = free_port()
    with open(os.path.join(tmp, "employers.txt"), "w") as f:
        f.write("E,dhl,DHL\n")
    producer = subprocess.Popen([PRODUCER, "--feed", "invoices", "--data",
                                 os.path.join(tmp, "invfeed"), "--endpoint",
                                 "tcp://127.0.0.1:%d" % invfeed, "--keys", keys, "--events",
                                 os.path.join(tmp, "employers.txt")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(os.path.join(tmp, "hours.log"), "w")

    def start_hours():
        return subprocess.Popen([HOURS, "--data-dir", os.path.join(tmp, "data"),
                                 "--keys-dir", keys, "--endpoint", "tcp://127.0.0.1:%d" % api,
                                 "--feed-endpoint", "tcp://127.0.0.1:%d" % feed,
                                 "--invoice-feed", "tcp://127.0.0.1:%d" % invfeed,
                                 "--today", "2026-12-02"],
                                stdout=log, stderr=log, env=env)
    server = start_hours()
    try:
        time.sleep(0.3)
        # ---- reference data, with bad rows of every origin
        with open(os.path.join(tmp, "prisons.csv"), "w", newline="") as f:
            f.write("code,name,regime\r\n"
                    "MDI,Moorland,CLOSED\r\n"
                    "KMI,\"Kirkham\nopen prison\",OPEN\r\n"     # lines 3-4: refused locally
                    "LEI,Leeds,Closed\r\n"                      # line 5
                    "BXI,\"Brixton, London\",CLOSED\r\n"        # line 6
                    "PVI,Pentonville\r\n"                       # line 7: one field short
                    "\r\n"                                     # line 8: empty, not a row
                    "FDI,Ford,OPEN\r\n"                          # line 9
                    "\"\"\r\n")                                 # line 10: "" is a row
        rc, out, err = run("import", "prisons", "prisons.csv")
        rc, out, err = run("import", "prisons", "prisons.csv")
        lines = out.splitlines()
        ok(rc == 1, "import with rejected rows exits 1", (rc, out, err))
        ok(lines[:4] == [
            'line 3: INVALID_ARGUMENT: name: not UTF-8 text without control characters '
            '[key KMI]',
            'line 5: INVALID_ARGUMENT: regime: "Closed" is not one of CLOSED, OPEN [key LEI]',
            'line 7: INVALID_ARGUMENT: row has 2 fields, expected 3 (prisons) [key PVI]',
            'line 10: INVALID_ARGUMENT: row has 1 fields, expected 3 (prisons)'],
           "rejected rows by physical line with their keys, in order; the empty line 8 "
           "is skipped", out)
        ok("prisons prisons.csv: 7 rows, 3 accepted, 4 rejected" in out,
           "summary counts (the empty line is not a row)", out)
        rc, csv_out, err = run("import", "prisons", "prisons.csv", "--format", "csv")
        got = list(csv.reader(io.StringIO(csv_out)))
        ok(got[:3] == [["file", "line", "key", "code", "message"],
                       ["prisons.csv", "3", "KMI", "INVALID_ARGUMENT",
                        "name: not UTF-8 text without control characters"],
                       ["prisons.csv", "5", "LEI", "INVALID_ARGUMENT",
                        'regime: "Closed" is not one of CLOSED, OPEN']],
           "the CSV report is file,line,key,code,message (FORMATS.md)", csv_out)
        rc2, out2, err2 = run("import", "prisons", "prisons.csv")
        ok(rc2 == 1 and out2 == out, "re-import: the same report", (out, out2))

        rc, out, err = run("import", "prisons", "prisons.csv", key="finance")
        ok(rc == 1 and out.count("PERMISSION_DENIED") == 3,
           "the service's refusals are reported per row", out)

        with open(os.path.join(tmp, "wrong.csv"), "w") as f:
            f.write("code,nam,regime\nMDI,Moorland,CLOSED\n")
        rc, out, err = run("import", "prisons", "wrong.csv")
        ok(rc == 1 and 'line 1: header column 2 is "nam", expected "name"' in err,
           "wrong header refused with the first difference", err)

        N = 1200
        write_csv(os.path.join(tmp, "prisoners.csv"),
                  ["number", "prison", "incentive_level", "public_contact_cleared_on",
                   "released_on"],
                  [["A%04dBC" % i, "MDI", "STD", "", ""] for i in range(N)])
        rc, out, err = run("import", "prisoners", "prisoners.csv")
        ok(rc == 0 and "%d rows, %d accepted, 0 rejected" % (N, N) in out,
           "1200 prisoners in batches of 500", (rc, out, err))
        write_csv(os.path.join(tmp, "contracts.csv"),
                  "id,employer,prison,activity,work_type,start,end,public_contact,"
                  "attested_by,attested_on,attestation_ref".split(","),
                  [["C-0001", "dhl", "MDI", "Laundry", "WORKSHOP", "2026-01-01", "", "no",
                    "J. Smith", "2025-12-20", "COP-1"]])
        # No invoicing service here to wait for: the stand-in feed tells
        # pay-hours the employer within moments.
        for _ in range(50):
            rc, out, err = run("import", "contracts", "contracts.csv", "--wait", "0", "--rerun")
            if rc == 0:
                break
            time.sleep(0.2)
        ok(rc == 0, "contract imported once pay-hours knows its employer", (rc, out, err))
        write_csv(os.path.join(tmp, "allocations.csv"),
                  ["prisoner", "contract", "from", "to", "pay_band"],
                  [["A%04dBC" % i, "C-0001", "2026-01-01", "", "3"] for i in range(N)] +
                  [["B0001BC", "C-0001", "2026-01-01", "", "3"]])
        rc, out, err = run("import", "allocations", "allocations.csv")
        ok(rc == 1 and out.startswith("line %d: UNKNOWN_PRISONER" % (N + 2)),
           "allocation of an unknown prisoner refused", out[:300])

        # ---- hours: over two batches, with refusals of every origin
        rows = [["r%d" % i, "A%04dBC" % i, "C-0001", "2026-12-01", "AM", "180", "",
                 "ATTENDED", ""] for i in range(N)]
        rows.insert(700, ["late1", "B0001BC", "C-0001", "2026-12-01", "AM", "60", "",
                          "ATTENDED", ""])                          # line 703 (after the next insert)
        rows.insert(10, ["bad-min", "A0001BC", "C-0001", "2026-12-01", "PM", "601", "",
                         "ATTENDED", ""])                           # line 12
        rows.append(["clash", "A0002BC", "C-0001", "2026-12-01", "AM", "60", "", "ATTENDED",
                     ""])                                          # line N + 4
        write_csv(os.path.join(tmp, "hours.csv"),
                  "record_id,prisoner,contract,date,session,minutes,units,outcome,"
                  "paid_absence".split(","), rows)
        rc, out, err = run("import", "hours", "hours.csv", key="finance")
        rej = [l for l in out.splitlines() if l.startswith("line ")]
        ok(rc == 1, "hours import with refusals exits 1", (rc, out, err))
        ok([l.split(":")[0:2] for l in rej] == [
            ["line 12", " INVALID_ARGUMENT"], ["line 703", " UNKNOWN_PRISONER"],
            ["line %d" % (N + 4), " SESSION_CLASH"]],
           "hours refusals with their lines and codes, in order", rej)
        ok("%d rows, %d accepted, 3 rejected" % (N + 3, N) in out, "hours summary", out)
        rc2, out2, err2 = run("import", "hours", "hours.csv", key="finance")
        ok(rc2 == 1 and out2 == out, "hours re-import: the same report", (out, out2))
        rc, out, err = run("hours", "list", "--contract", "C-0001", "--from", "2026-12-01",
                           "--to", "2026-12-01", "--format", "csv", key="finance")
        ok(rc == 0 and len(out.splitlines()) == N + 1,
           "the contract holds exactly %d records after two imports" % N,
           (rc, len(out.splitlines()), err))

        # Fix the unknown prisoner, then --rerun: only that row changes.
        with open(os.path.join(tmp, "more.csv"), "w") as f:
            f.write("number,prison,incentive_level,public_contact_cleared_on,released_on\n"
                    "B0001BC,MDI,STD,,\n")
        rc, out, err = run("import", "prisoners", "more.csv")
        rc, out, err = run("import", "allocations", "allocations.csv")
        ok(rc == 1, "allocations re-import replays the first answers", out[:200])
        rc, out, err = run("import", "allocations", "allocations.csv", "--rerun")
        ok(rc == 0 and "0 rejected" in out, "allocations --rerun imports the fixed row", out)
        rc, out, err = run("import", "hours", "hours.csv", "--rerun", key="finance")
        rej = [l.split(":")[0] for l in out.splitlines() if l.startswith("line ")]
        ok(rc == 1 and rej == ["line 12", "line %d" % (N + 4)],
           "hours --rerun: the fixed row accepted, the others still refused", out)
        rc, out, err = run("hours", "list", "--contract", "C-0001", "--from", "2026-12-01",
                           "--to", "2026-12-01", "--format", "csv", key="finance")
        ok(len(out.splitlines()) == N + 2, "one more record, no duplicates",
           len(out.splitlines()))

        # ---- several batches in flight, pay-hours killed mid-import and
        # restarted: payctl resends the unanswered batches under the same
        # ids, so every row is stored once and none is lost.
        rows2 = [["w%s%d" % (d + s_, i), "A%04dBC" % i, "C-0001", d, s_, "60", "",
                  "ATTENDED", ""]
                 for d, s_ in (("2026-11-30", "AM"), ("2026-11-30", "PM"),
                               ("2026-12-02", "AM"))
                 for i in range(N)]
        write_csv(os.path.join(tmp, "hours2.csv"),
                  "record_id,prisoner,contract,date,session,minutes,units,outcome,"
                  "paid_absence".split(","), rows2)
        e = dict(env, PAY_KEY_FILE=os.path.join(keys, "finance.key"))
        imp = subprocess.Popen([PAYCTL, "import", "hours", "hours2.csv", "--batch", "2",
                                "--window", "6", "--timeout-ms", "1500"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=e, cwd=tmp)
        time.sleep(0.6)
        running = imp.poll() is None
        server.kill()
        server.wait()
        time.sleep(0.5)
        server = start_hours()
        out, err = imp.communicate(timeout=120)
        ok(running, "pay-hours was killed while the import was still running")
        ok(imp.returncode == 0 and "%d rows, %d accepted, 0 rejected" % (3 * N, 3 * N) in out,
           "a windowed import survives pay-hours killed and restarted", (imp.returncode, out,
                                                                          err))
        counts = []
        for d in ("2026-11-30", "2026-12-02"):
            rc, o, _ = run("hours", "list", "--contract", "C-0001", "--from", d, "--to", d,
                           "--format", "csv", key="finance")
            counts.append(len(o.splitlines()) - 1)
        ok(counts == [2 * N, N], "every row stored once: %d on 30 Nov, %d on 2 Dec"
           % (2 * N, N), counts)
        rc, o, err = run("import", "hours", "hours2.csv", "--window", "1", key="finance")
        ok(rc == 0 and o == out, "the same file with --window 1: the same report, nothing added",
           (o, out))

        # ---- single records
        rc, out, err = run("hours", "submit", "--record-id", "s1", "--prisoner", "A0003BC",
                           "--contract", "C-0001", "--date", "2026-12-01", "--session", "PM",
                           "--minutes", "120", "--outcome", "SICK", "--paid-absence", "yes",
                           "--format", "csv", key="finance")
        ok(rc == 0 and out.splitlines()[1].startswith("s1,OK,"), "hours submit", (out, err))
        rc, out, err = run("hours", "submit", "--record-id", "s1", "--prisoner", "A0003BC",
                           "--contract", "C-0001", "--date", "2026-12-01", "--session", "PM",
                           "--minutes", "121", "--outcome", "SICK", "--paid-absence", "yes",
                           "--format", "csv", key="finance")
        ok(rc == 1 and "DUPLICATE_CONFLICT" in out, "same id, other content refused",
           (out, err))
        rc, out, err = run("hours", "amend", "s1", "--minutes", "90", "--format", "json",
                           key="finance")
        ok(rc == 0 and '"minutes": "90"' in out and '"outcome": "SICK"' in out
           and '"amendments": "1"' in out, "hours amend keeps the fields not given",
           (out, err))
        rc, out, err = run("hours", "void", "s1", "--format", "json", key="finance")
        ok(rc == 0 and '"voided": "yes"' in out, "hours void", (out, err))
        rc, out, err = run("hours", "list", "--record-id", "nope", key="finance")
        ok(rc == 1 and "NOT_FOUND" in err, "unknown record: exit 1 with the code", (rc, err))
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    # ---- nobody there
    t0 = time.time()
    rc, out, err = run("import", "prisons", "prisons.csv", "--timeout-ms", "100")
    ok(rc == 1 and "no answer from hours" in err and time.time() - t0 < 10,
       "a silent service is an error after the retries", (rc, err))
    rc, out, err = run("hours", "void", "x", extra={"PAY_KEY_FILE": os.path.join(tmp, "none")})
    ok(rc == 1 and "cannot read payctl's key file" in err, "missing key file named", err)

print("1..%d" % n)
sys.exit(1 if failed else 0)
