#!/usr/bin/env python3
"""payctl_invoices: the invoicing commands of payctl against the real
services (pay-hours feeding pay-invoicing and pay-wages) over real CURVE
sockets, with real LMDB stores in a temp folder. Prints TAP.

Proves: `invoices issue` issues the week's invoices with the totals computed
here from the hours rows; `invoices list` and `get` (summary, --pdf file
that starts with %PDF, --ubl UBL 2.1 XML file, --csv invoice lines with the
FORMATS.md header); an employer key sees only its own invoices and gets
another employer's as NOT_FOUND; `payments record` changes the status (part
paid, paid) and running it again records nothing more; `invoices overdue
--as-of`; issuing again issues nothing; the roles are enforced.

usage: payctl_invoices.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import Cluster, done, load_scenario, note, ok  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING = [os.path.abspath(a) for a in sys.argv[1:5]]

# Week 2026-W48 runs from Monday 2026-11-23 to Sunday 2026-11-29.
HOURS_ROWS = [
    ["r1", "A0001BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r2", "A0002BC", "C-0001", "2026-11-23", "AM", "180", "", "ATTENDED", ""],
    ["r3", "A0003BC", "C-0001", "2026-11-24", "AM", "120", "", "SICK", "yes"],
    ["r4", "A0004BC", "C-0002", "2026-11-23", "PM", "150", "", "ATTENDED", ""],
    ["r5", "B0001BC", "C-0003", "2026-11-23", "AM", "60", "", "ATTENDED", ""],
]
# dhl: MDI 360 min at 12.50/h = 75.00, LEI 60 min at 11.00/h = 11.00;
# net 86.00, VAT 20 % 17.20, total 103.20. tesco: 150 min at 10.00/h.
WANT = {"dhl": ("86.00", "17.20", "103.20", "2026-12-30"),
        "tesco": ("25.00", "5.00", "30.00", "2026-12-14")}


def rows_of(out):
    return list(csv.DictReader(io.StringIO(out)))


with tempfile.TemporaryDirectory(prefix="payctl_invoices.") as tmp:
    c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-12-02")
    try:
        c.start_all()
        load_scenario(c, HOURS_ROWS)
        c.wait_caught_up()

        rc, out, err = c.run("invoices", "issue", "--as-of", "2026-11-30", key="emp-dhl")
        ok(rc == 1 and "PERMISSION_DENIED" in err and out == "",
           "an employer may not issue invoices", (rc, out, err))

        rc, out, err = c.run("invoices", "issue", "--as-of", "2026-11-30", "--format", "csv")
        issued = rows_of(out)
        ok(rc == 0 and len(issued) == 2, "issue: two invoices for week 2026-W48", (rc, out, err))
        by_emp = {r["employer"]: r for r in issued}
        for emp, (net, vat, total, due) in WANT.items():
            r = by_emp.get(emp, {})
            ok(r.get("net") == net and r.get("vat") == vat and r.get("total") == total
               and r.get("period") == "2026-W48" and r.get("issue_date") == "2026-11-30"
               and r.get("due_date") == due and r.get("tax_point") == "2026-11-29",
               "issue: %s's totals, period and dates" % emp, r)
        numbers = sorted(r["number"] for r in issued)
        ok(numbers == ["INV-000001", "INV-000002"], "numbers gapless from INV-000001", numbers)
        dhl_no = by_emp.get("dhl", {}).get("number", "INV-000001")
        tesco_no = by_emp.get("tesco", {}).get("number", "INV-000002")

        rc, out, err = c.run("invoices", "issue", "--as-of", "2026-11-30", "--format", "csv")
        ok(rc == 0 and rows_of(out) == [], "issuing again issues nothing", (rc, out, err))

        rc, out, err = c.run("invoices", "list")
        lines = out.splitlines()
        ok(rc == 0 and lines[0].split() == ["number", "kind", "employer", "period",
                                             "issue_date", "tax_point", "due_date", "net",
                                             "vat", "total", "paid", "credited", "outstanding",
                                             "status"]
           and len(lines) == 4, "list: a readable table with both invoices", out)
        rc, out, err = c.run("invoices", "list", "--format", "json")
        docs = json.loads(out) if rc == 0 else []
        ok(len(docs) == 2 and all(d["status"] == "ISSUED" and d["paid"] == "0.00" for d in docs),
           "list as JSON: both ISSUED, nothing paid", out)
        rc, out, err = c.run("invoices", "list", "--employer", "tesco", "--format", "csv")
        ok(rc == 0 and [r["number"] for r in rows_of(out)] == [tesco_no],
           "list --employer tesco", out)

        # ---- documents
        pdf, ubl = os.path.join(tmp, "inv.pdf"), os.path.join(tmp, "inv.xml")
        rc, out, err = c.run("invoices", "get", dhl_no, "--pdf", pdf, "--ubl", ubl,
                             "--format", "csv")
        ok(rc == 0 and [r["number"] for r in rows_of(out)] == [dhl_no]
           and rows_of(out)[0]["total"] == "103.20", "get: the summary", (rc, out, err))
        head = open(pdf, "rb").read(8) if os.path.exists(pdf) else b""
        ok(head.startswith(b"%PDF"), "get --pdf writes a PDF file", head)
        ok(not os.path.exists(pdf + ".tmp"), "no temporary file left behind")
        xml = open(ubl, encoding="utf-8").read() if os.path.exists(ubl) else ""
        ok(xml.startswith("<?xml") and "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
           in xml and dhl_no in xml and "103.20" in xml,
           "get --ubl writes UBL 2.1 XML with the number and total", xml[:300])
        rc, out, err = c.run("invoices", "get", dhl_no, "--csv")
        lines = out.splitlines()
        ok(rc == 0 and lines[0] == "invoice,line,contract,period,period_start,period_end,"
           "original_invoice,description,quantity,unit,unit_price,net,vat_rate_bp,vat"
           and len(lines) == 3, "get --csv: the FORMATS.md invoice lines, one per contract", out)
        cells = rows_of(out)
        ok(all(r["period_start"] == "2026-11-23" and r["period_end"] == "2026-11-29"
               and r["unit"] == "HOURLY" and r["original_invoice"] == "" for r in cells),
           "each line states its period's first and last day", cells)
        rc, out, err = c.run("invoices", "get", "INV-999999")
        ok(rc == 1 and "NOT_FOUND" in err and out == "", "get of an unknown number: exit 1",
           (rc, out, err))
        rc, out, err = c.run("invoices", "get", dhl_no, "--pdf", "")
        ok(rc == 2, "get --pdf with an empty name: usage error", (rc, err))

        # ---- employer isolation
        rc, out, err = c.run("invoices", "list", "--format", "csv", key="emp-tesco")
        ok(rc == 0 and [r["employer"] for r in rows_of(out)] == ["tesco"],
           "an employer key lists only its own invoices", out)
        rc, out, err = c.run("invoices", "list", "--employer", "dhl", "--format", "csv",
                             key="emp-tesco")
        ok(rc == 0 and [r["employer"] for r in rows_of(out)] == ["tesco"],
           "--employer cannot widen an employer key's view", out)
        rc, out, err = c.run("invoices", "get", dhl_no, "--pdf", os.path.join(tmp, "x.pdf"),
                             key="emp-tesco")
        ok(rc == 1 and "NOT_FOUND" in err and not os.path.exists(os.path.join(tmp, "x.pdf")),
           "another employer's invoice is NOT_FOUND, and no file is written", (rc, err))
        rc, out, err = c.run("invoices", "get", tesco_no, "--pdf", os.path.join(tmp, "t.pdf"),
                             key="emp-tesco")
        ok(rc == 0 and open(os.path.join(tmp, "t.pdf"), "rb").read(4) == b"%PDF",
           "an employer downloads its own invoice", (rc, err))
        rc, out, err = c.run("payments", "record", tesco_no, "--amount", "30.00", "--date",
                             "2026-12-01", key="emp-tesco")
        ok(rc == 1 and "PERMISSION_DENIED" in err, "an employer may not record payments",
           (rc, err))

        # ---- payments and overdue
        rc, out, err = c.run("payments", "record", dhl_no, "--amount", "50.00", "--date",
                             "2026-12-01", "--reference", "BACS-1", "--format", "csv")
        r = (rows_of(out) or [{}])[0]
        ok(rc == 0 and r.get("status") == "PART_PAID" and r.get("paid") == "50.00"
           and r.get("outstanding") == "53.20", "a part payment: PART_PAID, 53.20 left",
           (rc, out, err))
        rc, out, err = c.run("payments", "record", dhl_no, "--amount", "50.00", "--date",
                             "2026-12-01", "--reference", "BACS-1", "--format", "csv")
        r = (rows_of(out) or [{}])[0]
        ok(rc == 0 and r.get("paid") == "50.00", "the same payment again records nothing more",
           (rc, out, err))
        rc, out, err = c.run("payments", "record", tesco_no, "--amount", "30.00", "--date",
                             "2026-12-02", "--reference", "BACS-2", "--format", "csv")
        r = (rows_of(out) or [{}])[0]
        ok(rc == 0 and r.get("status") == "PAID" and r.get("outstanding") == "0.00",
           "paid in full: PAID", (rc, out, err))
        rc, out, err = c.run("payments", "record", tesco_no, "--amount", "abc", "--date",
                             "2026-12-02")
        ok(rc == 1 and "INVALID_ARGUMENT" in err, "a malformed amount is refused", (rc, err))
        rc, out, err = c.run("payments", "record", tesco_no, "--date", "2026-12-02")
        ok(rc == 2 and "--amount" in err, "--amount is required", (rc, err))

        rc, out, err = c.run("invoices", "list", "--format", "json")
        st = {d["number"]: d["status"] for d in json.loads(out)} if rc == 0 else {}
        ok(st == {dhl_no: "PART_PAID", tesco_no: "PAID"}, "list shows the new statuses", st)

        rc, out, err = c.run("invoices", "overdue", "--as-of", "2026-12-15", "--format", "csv")
        ok(rc == 0 and rows_of(out) == [], "nothing overdue on 2026-12-15", (rc, out, err))
        rc, out, err = c.run("invoices", "overdue", "--as-of", "2026-12-31", "--format", "csv")
        ok(rc == 0 and [r["number"] for r in rows_of(out)] == [dhl_no],
           "on 2026-12-31 only the part-paid dhl invoice is overdue", (rc, out, err))

        # ---- credit notes, allocation, statements
        for rid in ("r1", "r4"):   # dhl: 180 min at 12.50; tesco: its only record
            rc, out, err = c.run("hours", "void", rid)
            ok(rc == 0, "void %s after issue" % rid, (rc, out, err))
        c.wait_caught_up()
        rc, out, err = c.run("invoices", "pending", "--format", "csv")
        pend = {(r["employer"], r["contract"]): r for r in rows_of(out)}
        ok(rc == 0 and pend.get(("dhl", "C-0001"), {}).get("minutes") == "-180"
           and pend[("dhl", "C-0001")]["status"] == "WAITING"
           and pend[("dhl", "C-0001")]["period_start"] == "2026-11-23"
           and pend.get(("tesco", "C-0002"), {}).get("minutes") == "-150"
           and list(rows_of(out)[0].keys()) == ["employer", "contract", "period", "period_start",
                                                "period_end", "minutes", "units", "status"],
           "pending: the voids wait for the next document (FORMATS.md layout)", out)
        rc, out, err = c.run("invoices", "issue", "--as-of", "2026-12-05", "--format", "csv")
        crn = {r["employer"]: r for r in rows_of(out)}
        ok(rc == 0 and crn.get("dhl", {}).get("total") == "-45.00"
           and crn.get("tesco", {}).get("total") == "-30.00"
           and all(r["number"].startswith("CRN-") for r in crn.values()),
           "the voids make credit notes of 45.00 (dhl) and 30.00 (tesco)", (rc, out, err))
        rc, out, err = c.run("invoices", "pending", "--format", "csv")
        ok(rc == 0 and rows_of(out) == [], "nothing pending after issue", out)
        rc, out, err = c.run("invoices", "list", "--format", "json")
        by_no = {d["number"]: d for d in json.loads(out)} if rc == 0 else {}
        d = by_no.get(dhl_no, {})
        ok(d.get("credited") == "45.00" and d.get("outstanding") == "8.20"
           and d.get("status") == "PART_PAID",
           "dhl's invoice: 50.00 paid, 45.00 credited, 8.20 outstanding", d)
        t = by_no.get(crn.get("tesco", {}).get("number"), {})
        ok(t.get("credited") == "0.00" and t.get("status") == "CREDIT",
           "tesco's credit note: nothing to allocate it to (its invoice was paid)", t)
        rc, out, err = c.run("invoices", "overdue", "--as-of", "2026-12-31", "--format", "csv")
        od = rows_of(out)
        ok(rc == 0 and [r["number"] for r in od] == [dhl_no] and od[0]["outstanding"] == "8.20",
           "partly credited: still overdue with the rest, 8.20", od)
        rc, out, err = c.run("invoices", "statement", "--employer", "dhl", "--format", "csv")
        st = rows_of(out)
        ok(rc == 0 and out.splitlines()[0] == "date,document,kind,amount,allocated,balance"
           and [(r["kind"], r["amount"], r["allocated"], r["balance"]) for r in st] ==
           [("invoice", "103.20", "45.00", "103.20"), ("payment", "-50.00", "", "53.20"),
            ("credit_note", "-45.00", "45.00", "8.20"), ("allocation", "", "45.00", "8.20")],
           "dhl's statement: invoice, payment, credit note and its allocation, balance 8.20", out)
        rc, out, err = c.run("invoices", "statement", "--format", "csv", key="emp-tesco")
        st = rows_of(out)
        ok(rc == 0 and st and st[-1]["balance"] == "-30.00" and st[-1]["kind"] == "credit_note",
           "tesco's own statement: 30.00 of credit left on its account", out)
        rc, out, err = c.run("invoices", "statement", key="emp-tesco")
        ok(rc == 0 and "balance -30.00 = outstanding 0.00 - unallocated credit 30.00" in err,
           "the table says how the balance is made up", err)
        rc, out, err = c.run("invoices", "lines", "--from", "2026-W48", "--format", "csv")
        ln = rows_of(out)
        ok(rc == 0 and len(ln) == 5 and sum(1 for r in ln if r["original_invoice"]) == 2
           and all(r["period"] == "2026-W48" for r in ln),
           "lines of 2026-W48: 3 invoice lines and 2 adjustment lines naming their invoice", out)
        rc, out, err = c.run("invoices", "lines", "--from", "2026-W49", "--format", "csv")
        ok(rc == 0 and rows_of(out) == [], "no lines for 2026-W49", out)
        rc, out, err = c.run("invoices", "lines")
        ok(rc == 2 and "--from" in err, "lines needs --from", err)

        # ---- journals that hledger accepts
        ij, wj = os.path.join(tmp, "invoicing.journal"), os.path.join(tmp, "wages.journal")
        rc, out, err = c.run("invoices", "journal", ij)
        ok(rc == 0 and os.path.exists(ij), "invoices journal writes the journal", (rc, err))
        rc2, out, err2 = c.run("wages", "export-journal", wj)
        ok(rc2 == 0, "wages export-journal writes the wage journal", err2)
        rc, out, err = c.run("invoices", "journal", "-", key="emp-dhl")
        ok(rc == 1 and "PERMISSION_DENIED" in err, "the journal is finance's", err)
        if shutil.which("hledger"):
            for files, what in (([ij], "the invoicing journal"), ([wj], "the wage journal"),
                                ([wj, ij], "both together")):
                args = ["hledger"] + sum((["-f", f] for f in files), [])
                h = subprocess.run(args + ["check", "--strict", "ordereddates"],
                                   capture_output=True, text=True)
                ok(h.returncode == 0, "hledger check --strict ordereddates: %s" % what,
                   h.stdout + h.stderr)
            def bal(account):
                h = subprocess.run(["hledger", "-f", ij, "balance", account, "-N", "--flat",
                                    "-O", "csv"], capture_output=True, text=True)
                rows = list(csv.reader(io.StringIO(h.stdout)))[1:]
                return {r[0]: r[1] for r in rows}
            rec = bal("assets:receivables")
            ok(rec.get("assets:receivables:dhl") == "8.20 GBP"
               and "assets:receivables:tesco" not in rec,
               "receivables = outstanding: dhl 8.20, tesco settled", rec)
            cc = bal("liabilities:customer-credit")
            ok(cc.get("liabilities:customer-credit:tesco") == "-30.00 GBP",
               "tesco's unallocated credit is a liability of 30.00", cc)
            # bs and is on each journal, and on both as one file: hledger
            # 1.25 keys accounts by their place among a file's account
            # directives, so with two -f files the Nth account of one hides
            # the Nth of the other in bs/is (check and bal are unaffected).
            both = os.path.join(tmp, "both.journal")
            with open(both, "w") as f:
                f.write(open(wj).read() + open(ij).read())
            def report(cmd, f):
                h = subprocess.run(["hledger", "-f", f, cmd, "-N", "--flat"],
                                   capture_output=True, text=True)
                return h.returncode, h.stdout + h.stderr
            rc, out = report("bs", ij)
            ok(rc == 0 and "assets:receivables:dhl" in out and "8.20 GBP" in out
               and "liabilities:vat:output" in out and "9.70 GBP" in out
               and "assets:bank" in out and "80.00 GBP" in out,
               "hledger bs (invoicing): receivables 8.20, bank 80.00, VAT 9.70", out)
            rc, out = report("is", ij)
            ok(rc == 0 and "revenue:contracts:C-0001" in out and "revenue:contracts:C-0003" in out,
               "hledger is (invoicing): revenue per contract", out)
            rc, out = report("bs", wj)
            ok(rc == 0 and "prisoner:A0002BC:spends" in out, "hledger bs (wages): prisoners' spends",
               out)
            rc, out = report("is", wj)
            ok(rc == 0 and "prison:MDI:wages" in out, "hledger is (wages): the prisons' wages", out)
            h = subprocess.run(["hledger", "-f", both, "check", "--strict"], capture_output=True,
                               text=True)
            ok(h.returncode == 0, "hledger check --strict: both as one file", h.stdout + h.stderr)
            rc, out = report("bs", both)
            ok(rc == 0 and "assets:receivables:dhl" in out and "liabilities:vat:output" in out
               and "prisoner:A0002BC:spends" in out and "liabilities:customer-credit:tesco" in out,
               "hledger bs (both): receivables, VAT, customer credit and prisoners' spends", out)
            rc, out = report("is", both)
            ok(rc == 0 and "revenue:contracts:C-0001" in out and "prison:MDI:wages" in out,
               "hledger is (both): revenue per contract and the prisons' wages", out)
        else:
            note("hledger is not installed; scripts/deps installs it")

        rc, out, err = c.run("payments", "record", "--help")
        ok(rc == 0 and out.startswith("usage: payctl payments record NUMBER --amount A"),
           "payments record --help", out)
    finally:
        c.stop_all()

done()
