#!/usr/bin/env python3
"""payctl_wages: the wages commands of payctl against the real services
(pay-hours feeding pay-wages and pay-invoicing) over real CURVE sockets,
with real LMDB stores in a temp folder. Prints TAP.

Proves: rates import and list (the pay-rates layout, round trip); payroll
with --format csv giving exactly the FORMATS.md export (header, one row per
prisoner, minutes from the hours rows, gross at the imported rate) and on
screen a TOTAL row that adds up; an adjustment changes the gross; a
deduction is recorded and a bad kind refused; the prisoner ledger (FORMATS.md
columns, running balance); the payslip (prison found through the hours
service); exceptions (REFUSED); the hours norm; the hledger journal
(hledger balances it to 0 when installed); roles.

usage: payctl_wages.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import Cluster, done, load_scenario, note, ok, write_csv  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING = [os.path.abspath(a) for a in sys.argv[1:5]]
PAYROLL_HEADER = "prison,week,prisoner,sessions,minutes,gross,top_up,deductions,levy,net"
LEDGER_HEADER = "date,week,entry,description,debit_account,credit_account,amount,balance"

HOURS_ROWS = [
    ["r1", "A0001BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r2", "A0002BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r3", "A0001BC", "C-0002", "2026-11-24", "PM", "120", "", "ATTENDED", ""],
    ["r4", "A0004BC", "C-0002", "2026-11-23", "PM", "150", "", "ATTENDED", ""],
    ["r5", "A0004BC", "C-0002", "2026-11-24", "PM", "90", "", "REFUSED", ""],
]


def rows_of(out):
    return list(csv.DictReader(io.StringIO(out)))


with tempfile.TemporaryDirectory(prefix="payctl_wages.") as tmp:
    c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-12-02")
    try:
        c.start_all()
        load_scenario(c, HOURS_ROWS)
        c.wait_caught_up()

        # ---- rates
        rc, out, err = c.run("wages", "rates", "list", "--prison", "MDI", "--format", "csv")
        ok(rc == 0 and out.splitlines() == [
            "prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,"
            "piece_rate_items", "MDI,3,STD,2026-01-01,HOURLY,1.00,,"],
           "rates list: the imported rate in the pay-rates layout", (rc, out, err))
        with open(os.path.join(tmp, "listed.csv"), "w") as f:
            f.write(out)
        write_csv(os.path.join(tmp, "more-rates.csv"),
                  ["prison", "pay_band", "incentive_level", "effective_from", "basis", "rate",
                   "piece_rate", "piece_rate_items"],
                  [["MDI", "4", "STD", "2026-01-01", "SESSION", "2.00", "", ""]])
        rc, out, err = c.run("wages", "rates", "import", "more-rates.csv", key="gov-mdi")
        ok(rc == 0 and "1 accepted, 0 rejected" in out, "rates import by the governor",
           (rc, out, err))
        rc, out, err = c.run("wages", "rates", "import", "listed.csv", key="gov-mdi")
        ok(rc == 0, "a listed file imports back unchanged", (rc, out, err))
        rc, out, err = c.run("wages", "rates", "list", "--prison", "MDI", "--format", "csv")
        ok(rc == 0 and len(out.splitlines()) == 3 and
           "MDI,4,STD,2026-01-01,SESSION,2.00,," in out.splitlines(),
           "rates list shows both rates", out)
        rc, out, err = c.run("wages", "rates", "import", "more-rates.csv", key="finance")
        ok(rc == 1 and "PERMISSION_DENIED" in out, "finance may not set rates", (rc, out, err))

        # ---- payroll of the open week
        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        lines = out.splitlines()
        rows = {r["prisoner"]: r for r in rows_of(out)}
        ok(rc == 0 and lines[0] == PAYROLL_HEADER,
           "payroll --format csv: the FORMATS.md header", (rc, out, err))
        ok(sorted(rows) == ["A0001BC", "A0002BC", "A0004BC"],
           "one row per prisoner with hours", sorted(rows))
        want_minutes = {"A0001BC": 300, "A0002BC": 180, "A0004BC": 240}
        ok(all(int(rows[p]["minutes"]) == m for p, m in want_minutes.items() if p in rows),
           "minutes per prisoner from the hours rows", rows)
        ok(rows.get("A0001BC", {}).get("gross") == "5.00"
           and rows.get("A0002BC", {}).get("gross") == "3.00",
           "gross at 1.00 an hour: 5.00 and 3.00", rows)
        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "json")
        jrows = json.loads(out) if rc == 0 else []
        tot = [r for r in jrows if r["prisoner"] == "TOTAL"]
        body = [r for r in jrows if r["prisoner"] != "TOTAL"]
        ok(len(tot) == 1 and int(tot[0]["minutes"]) == sum(int(r["minutes"]) for r in body)
           and int(tot[0]["sessions"]) == sum(int(r["sessions"]) for r in body),
           "payroll as JSON: a TOTAL row that adds up", jrows)
        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48")
        ok(rc == 0 and "TOTAL" in out and out.startswith("payroll MDI 2026-W48 (open"),
           "payroll on screen with its TOTAL row", out)

        # ---- adjustments and deductions
        rc, out, err = c.run("wages", "adjustments", "add", "--id", "adj-1", "--prisoner",
                             "A0002BC", "--prison", "MDI", "--week", "2026-W48", "--amount",
                             "1.25", "--reason", "bonus", "--format", "csv")
        ok(rc == 0 and "adj-1,OK," in out, "adjustment posted", (rc, out, err))
        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        rows = {r["prisoner"]: r for r in rows_of(out)}
        ok(rows.get("A0002BC", {}).get("gross") == "4.25", "the adjustment counts in gross",
           rows.get("A0002BC"))
        rc, out, err = c.run("wages", "adjustments", "add", "--id", "adj-2", "--prisoner",
                             "A0002BC", "--prison", "MDI", "--week", "2026-W48", "--amount",
                             "0", "--reason", "x")
        ok(rc == 1 and "amount" in err, "a zero adjustment is refused", (rc, err))
        rc, out, err = c.run("wages", "deductions", "add", "--prisoner", "A0001BC", "--week",
                             "2026-W48", "--kind", "COURT_ORDER", "--amount", "0.50",
                             "--format", "csv")
        ok(rc == 0 and ",OK," in out, "deduction recorded", (rc, out, err))
        rc, out, err = c.run("wages", "deductions", "add", "--prisoner", "A0001BC", "--week",
                             "2026-W48", "--kind", "PARKING", "--amount", "0.50")
        ok(rc == 1 and "INVALID_ARGUMENT" in err and "kind" in err,
           "a deduction of an unknown kind is refused", (rc, err))
        rc, out, err = c.run("wages", "deductions", "add", "--prisoner", "A0001BC", "--week",
                             "2026-W48", "--kind", "COURT_ORDER", "--amount", "0.50",
                             key="gov-mdi")
        ok(rc == 1 and "PERMISSION_DENIED" in out + err, "a governor may not record deductions",
           (rc, out, err))

        # ---- close the week, then the closed payroll, payslip and ledger
        rc, out, err = c.run("week", "close", "--prison", "MDI", "--week", "2026-W48")
        ok(rc == 0, "week close", (rc, out, err))
        c.wait_caught_up()
        closed = False
        for _ in range(50):
            rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48")
            if rc == 0 and "(closed)" in out.splitlines()[0]:
                closed = True
                break
            time.sleep(0.1)
        ok(closed, "the payroll shows the week closed", out)
        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        rows = {r["prisoner"]: r for r in rows_of(out)}
        a1 = rows.get("A0001BC", {})
        # DOMAIN.md: deductions are capped at the week's OUTSIDE pay (none here).
        ok(a1.get("deductions") == "0.00" and a1.get("net") == "5.00",
           "the deduction is capped at the week's OUTSIDE pay (none): net 5.00", a1)

        rc, out, err = c.run("wages", "payslip", "--prisoner", "A0001BC", "--week", "2026-W48",
                             "--format", "json")
        slip = (json.loads(out) or [{}])[0] if rc == 0 else {}
        ok(rc == 0 and slip.get("prison") == "MDI" and slip.get("closed") == "yes"
           and slip.get("net") == a1.get("net") and slip.get("gross") == "5.00",
           "payslip: prison found through the hours service, totals as the payroll",
           (rc, out, err))
        rc, out, err = c.run("wages", "payslip", "--prisoner", "A0001BC", "--week", "2026-W48",
                             "--prison", "MDI", "--lines", "--format", "csv")
        ok(rc == 0 and [r["description"] for r in rows_of(out)] == ["r1", "r3"],
           "payslip --lines: the week's ledger lines",
           (rc, out, err))
        rc, out, err = c.run("wages", "payslip", "--prisoner", "A0003BC", "--week", "2026-W48")
        ok(rc == 1 and "--prison" in err, "no hours that week: asks for --prison", (rc, err))

        rc, out, err = c.run("wages", "ledger", "--prisoner", "A0001BC", "--format", "csv")
        lrows = rows_of(out)
        ok(rc == 0 and out.splitlines()[0] == LEDGER_HEADER and len(lrows) == 2,
           "ledger --format csv: the FORMATS.md columns", (rc, out, err))
        ok(lrows and lrows[-1]["balance"] == a1.get("net"),
           "the running balance ends at the week's net pay", (lrows[-1:], a1))
        rc, out, err = c.run("wages", "ledger", "--prisoner", "A0001BC", "--from", "2026-11-24",
                             "--to", "2026-11-24", "--format", "csv")
        ok(rc == 0 and all(r["date"] == "2026-11-24" for r in rows_of(out))
           and len(rows_of(out)) == 1, "ledger --from --to: one day", out)
        rc, out, err = c.run("wages", "ledger", "--prisoner", "A0001BC")
        ok(rc == 0 and out.startswith("opening balance 0.00\n"), "ledger on screen", out)

        # ---- exceptions, norm
        rc, out, err = c.run("wages", "exceptions", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        ex = rows_of(out)
        ok(rc == 0 and any(r["kind"] == "REFUSED" and r["record_id"] == "r5" for r in ex),
           "exceptions: the refused session", (rc, out, err))
        rc, out, err = c.run("wages", "norm", "--prison", "MDI", "--week", "2026-W48",
                             "--format", "csv")
        nr = (rows_of(out) or [{}])[0]
        ok(rc == 0 and nr.get("working_prisoners") == "3" and nr.get("at_40_hours") == "0"
           and nr.get("share_at_40_hours") == "0.00%", "the hours norm", (rc, out, err))

        # ---- the journal
        jf = os.path.join(tmp, "wages.journal")
        rc, out, err = c.run("wages", "export-journal", jf)
        text = open(jf).read() if os.path.exists(jf) else ""
        ok(rc == 0 and "prisoner:A0001BC" in text, "export-journal writes the journal",
           (rc, err, text[:300]))
        if shutil.which("hledger"):
            h = subprocess.run(["hledger", "-f", jf, "balance", "-O", "csv"],
                               capture_output=True, text=True)
            last = h.stdout.strip().splitlines()[-1].replace('"', "") if h.stdout else ""
            ok(h.returncode == 0 and last == "total,0", "hledger balances it to 0 (%s)" % last,
               h.stderr)
        else:
            note("hledger is not installed; scripts/deps installs it")
        rc, out, err = c.run("wages", "export-journal", "-")
        ok(rc == 0 and out == text, "export-journal - writes the same to stdout")

        rc, out, err = c.run("wages", "payroll", "--prison", "MDI", "--week", "2026-W48",
                             key="emp-dhl")
        ok(rc == 1 and "PERMISSION_DENIED" in err, "an employer may not read the payroll",
           (rc, err))
    except Exception as e:  # report, then fail the run
        ok(False, "unexpected error", "%s\n%s" % (e, "\n".join(c.log(s) for s in
                                                              ("hours", "wages", "invoicing"))))
    finally:
        c.stop_all()

done()
