#!/usr/bin/env python3
"""End to end: every document of the sample, credit allocation, statements,
pending lines and the journals, through the real processes and payctl.

The sample scenario (scripts/gen-sample, seed 1) runs as scripts/demo runs
it (e2e_lib: reference data, hours, amendments and voids, week 1 closed, the
ended periods issued). Then, after issue, every ATTENDED record of one
employer's week 2 is voided (its invoice is wholly credited) and one record
of another's (partly credited), and finance issues again: two credit notes.
scripts/refmodel.py computes the same from the same CSVs, independently.

Proves:
- every invoice and credit note comes as UBL that passes the UBL 2.1 XSD
  (xmllint), addressed 9932:<VAT> for employers with a VAT number only and
  by the registered endpoint for the employer without one (0088 GLN);
- the credit notes = the model's adjustment documents; each is allocated to
  the invoice it adjusts up to what is outstanding (refmodel.allocate); the
  wholly credited invoice is no longer overdue, the partly credited one is,
  with the rest;
- each employer's statement of account (FORMATS.md layout) balances: its
  amounts add up to its balance = outstanding - unallocated credit;
- `invoices pending` = the model's NO_TERMS records and the unissued month
  (WAITING), with the days each terms row covers; `invoices lines` gives
  the lines of a period range with their dates;
- the wage journal and the invoicing journal pass `hledger check --strict
  ordereddates` each and together; the receivables of each employer equal
  the sum of what is outstanding on its invoices; bs and is show figures.

usage: e2e_documents.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING XMLLINT UBL_XSD_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
from e2e_lib import (Deployment, Scenario, bail, done, eq, gen_sample, kill_all,  # noqa: E402
                     install_signal_cleanup, note, ok, pence, read_csv_text, TODAY, WEEK1,
                     WEEK2)
import refmodel  # noqa: E402


def table(r):
    rows = read_csv_text(r.stdout)
    if not rows:
        return []
    return [dict(zip(rows[0], x)) for x in rows[1:] if x]


def main():
    if len(sys.argv) != 7:
        print(__doc__)
        return 2
    install_signal_cleanup()
    xmllint, xsd_dir = sys.argv[5], sys.argv[6]
    tmp = tempfile.mkdtemp(prefix="e2e_documents.")
    keep = False
    try:
        t0 = time.time()
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        m, rep = refmodel.run(sample, close_weeks=[WEEK1],
                              today=refmodel.parse_date(TODAY), finance=True)
        before = [i for i in rep["invoices"] if i["issuable"]]

        dep = Deployment(tmp, *sys.argv[1:5])
        scen = Scenario(dep, sample)
        dep.make_keys(scen.prisons, scen.employers)
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1
        scen.reference()
        scen.hours()
        scen.corrections()
        note(scen.close_and_issue())

        # ---- corrections after issue: voids in the open week 2
        live = [r for r in m.records.values()
                if r.live and r.outcome == "ATTENDED" and r.week == WEEK2]
        whole = sorted(r.record_id for r in live if r.employer == "callright")
        part = sorted(r.record_id for r in live if r.employer == "dhl")[:1]
        ok(whole and part, "the sample has week-2 work of callright and dhl to void")
        for rid in whole + part:
            dep.payctl_ok("finance", "hours", "void", rid)
            m.void([rid])
        dep.wait_feeds()
        after, no_terms = m.invoices(refmodel.parse_date(TODAY))
        want_adj = refmodel.adjustments(before, [i for i in after if i["issuable"]])
        r = dep.payctl("finance", "--format", "csv", "invoices", "issue", "--as-of", "2026-11-24")
        got_adj = {d["employer"]: d for d in table(r)}
        eq(sorted(got_adj), sorted(want_adj), "issuing again: one document per corrected employer")
        eq({e: (pence(d["net"]), pence(d["vat"]), pence(d["total"]), d["kind"])
            for e, d in got_adj.items()},
           {e: (a["net"], a["vat"], a["total"], "credit note") for e, a in want_adj.items()},
           "the credit notes = the model's adjustments (net, VAT, total)")

        docs = table(dep.payctl("finance", "--format", "csv", "invoices", "list"))
        by_no = {d["number"]: d for d in docs}
        invs = [d for d in docs if d["kind"] == "invoice"]
        crns = [d for d in docs if d["kind"] == "credit note"]
        ok(len(invs) == len(before) and len(crns) == 2,
           "%d invoices and 2 credit notes" % len(before), [d["number"] for d in docs])

        # ---- every document as UBL that passes the XSD
        bad, schemes = [], {}
        for d in docs:
            path = os.path.join(tmp, d["number"] + ".xml")
            g = dep.payctl("finance", "invoices", "get", d["number"], "--ubl", path)
            if g.returncode != 0:
                bad.append("%s: %s" % (d["number"], g.stderr.strip()))
                continue
            xsd = os.path.join(xsd_dir, "maindoc", "UBL-%s-2.1.xsd" % (
                "CreditNote" if d["number"].startswith("CRN-") else "Invoice"))
            v = subprocess.run([xmllint, "--noout", "--nonet", "--schema", xsd, path],
                               capture_output=True, text=True)
            if v.returncode != 0:
                bad.append("%s: %s" % (d["number"], v.stderr.strip()[-500:]))
            xml = open(path, encoding="utf-8").read()
            cust = xml[xml.index("<cac:AccountingCustomerParty>"):]
            i = cust.index('<cbc:EndpointID schemeID="') + len('<cbc:EndpointID schemeID="')
            schemes.setdefault(d["employer"], set()).add(cust[i:i + 4])
            if d["number"].startswith("INV-") and "<cbc:PaymentMeansCode" not in xml:
                bad.append("%s: no PaymentMeans" % d["number"])
        ok(not bad, "every invoice and credit note (%d) is UBL that passes the UBL 2.1 XSD, "
           "invoices with PaymentMeans" % len(docs), "\n".join(bad))
        # ---- EN 16931 and Peppol BIS 3 schematron rules, when the rule files
        # are at hand ($PAY_UBL_RULES: a folder of .sch files, not shipped)
        rules = os.environ.get("PAY_UBL_RULES")
        if rules:
            checker = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "..", "scripts", "check-ubl-rules")
            paths = [os.path.join(tmp, d["number"] + ".xml") for d in docs]
            c = subprocess.run([checker, "--rules", rules] + paths,
                               capture_output=True, text=True)
            sys.stderr.write(c.stdout[-4000:] + c.stderr[-2000:])
            keep = os.environ.get("PAY_UBL_KEEP")  # a folder to copy the documents to
            if keep:
                os.makedirs(keep, exist_ok=True)
                for q in paths:
                    shutil.copy(q, keep)
            ok(c.returncode == 0, "every invoice and credit note (%d) passes the "
               "schematron rules in %s" % (len(paths), rules), c.stdout[-3000:])
        else:
            ok(True, "# SKIP schematron rules: PAY_UBL_RULES is not set")
        eq(schemes.get("greenfurn"), {"0088"},
           "the employer without a VAT number is addressed by its registered endpoint")
        eq({e for e, s in schemes.items() if s == {"9932"}},
           set(scen.employers) - {"greenfurn"} & set(schemes),
           "the employers with only a VAT number are addressed 9932:<VAT>")

        # ---- allocation, outstanding, overdue
        period_inv = {(d["employer"], d["period"]): d for d in invs}
        want_out = {d["number"]: pence(d["total"]) for d in invs}
        want_credited = {}
        for emp, a in want_adj.items():
            targets = [(period_inv[(emp, p)]["number"], want_out[period_inv[(emp, p)]["number"]])
                       for p in a["adjusts"]]
            alloc, left = refmodel.allocate(-a["total"], sorted(targets))
            for num, amt in alloc:
                want_out[num] -= amt
                want_credited[num] = want_credited.get(num, 0) + amt
            want_credited[got_adj[emp]["number"]] = -a["total"] - left
        eq({n: pence(d["outstanding"]) for n, d in by_no.items() if d["kind"] == "invoice"},
           want_out, "every invoice's outstanding amount counts the allocated credit")
        eq({n: pence(d["credited"]) for n, d in by_no.items() if pence(d["credited"])},
           {n: v for n, v in want_credited.items() if v},
           "each credit note is allocated to the invoice it adjusts, up to what is outstanding")
        cr = period_inv[("callright", WEEK2)]
        dh = period_inv[("dhl", WEEK2)]
        eq((by_no[cr["number"]]["status"], pence(by_no[cr["number"]]["outstanding"])),
           ("CREDITED", 0), "callright's week-2 invoice, wholly credited: CREDITED, nothing owed")
        ok(0 < pence(by_no[dh["number"]]["outstanding"]) < pence(dh["total"]),
           "dhl's week-2 invoice, partly credited, shows the rest",
           by_no[dh["number"]])
        od = table(dep.payctl("finance", "--format", "csv", "invoices", "overdue", "--as-of",
                              "2027-02-01"))
        eq(sorted(d["number"] for d in od), sorted(n for n, v in want_out.items() if v > 0),
           "overdue on 2027-02-01: every invoice with something outstanding, not the credited one")
        eq({d["number"]: pence(d["outstanding"]) for d in od if d["number"] == dh["number"]},
           {dh["number"]: want_out[dh["number"]]}, "the partly credited invoice: the rest overdue")

        # ---- statements
        bad = []
        for emp in sorted({d["employer"] for d in docs}):
            st = table(dep.payctl("finance", "--format", "csv", "invoices", "statement",
                                  "--employer", emp))
            amounts = sum(pence(r["amount"]) for r in st if r["amount"])
            outstanding = sum(pence(d["outstanding"]) for d in invs if d["employer"] == emp)
            unalloc = sum(-pence(d["total"]) - pence(d["credited"]) for d in crns
                          if d["employer"] == emp)
            model = refmodel.statement_balance(
                [(pence(d["total"]), pence(d["credited"])) for d in invs if d["employer"] == emp],
                [], [(-pence(d["total"]), pence(d["credited"])) for d in crns
                     if d["employer"] == emp])
            last = pence(st[-1]["balance"]) if st else None
            if not (last == amounts == outstanding - unalloc == model):
                bad.append("%s: balance %r, amounts %d, outstanding %d - unallocated %d, model %d"
                           % (emp, last, amounts, outstanding, unalloc, model))
            if [k for k in (st[0].keys() if st else [])] != ["date", "document", "kind", "amount",
                                                              "allocated", "balance"]:
                bad.append("%s: header %r" % (emp, list(st[0].keys()) if st else None))
            if any(a["date"] > b["date"] for a, b in zip(st, st[1:])):
                bad.append("%s: rows not in date order" % emp)
        ok(not bad, "every employer's statement balances: its amounts = its balance = "
           "outstanding - unallocated credit", "\n".join(bad))

        # ---- pending billable lines
        pend = table(dep.payctl("finance", "--format", "csv", "invoices", "pending"))
        got_nt = {}
        for p in pend:
            if p["status"] == "NO_TERMS":
                k = (p["employer"], p["contract"])
                got_nt[k] = got_nt.get(k, 0) + int(p["minutes"])
        want_nt = {}
        for x in no_terms:
            k = (x["employer"], x["contract"])
            want_nt[k] = want_nt.get(k, 0) + x["minutes"]
        eq(got_nt, want_nt, "pending NO_TERMS minutes = the model's records without terms")
        got_w = sorted((p["employer"], p["contract"], p["period"], p["period_start"],
                        p["period_end"], int(p["minutes"]), int(p["units"]))
                       for p in pend if p["status"] == "WAITING")
        want_w = sorted((i["employer"], ln["contract"], i["period"], ln["period_start"],
                         ln["period_end"], ln["minutes"], ln["units"])
                        for i in after if not i["issuable"] for ln in i["lines"])
        eq(got_w, want_w, "pending WAITING lines = the model's unissued periods, with the days "
           "each terms row covers")
        ok(any(a[3][8:] != "01" or a[4][8:] not in ("30", "31") for a in got_w if a[2] == "2026-11"),
           "the month whose terms change mid-month has lines that say which days", got_w)

        # ---- lines of a period range
        ln = table(dep.payctl("finance", "--format", "csv", "invoices", "lines", "--from", WEEK1,
                              "--to", WEEK2))
        want_n = 0
        for d in docs:
            g = table(dep.payctl("finance", "invoices", "get", d["number"], "--csv"))
            want_n += sum(1 for x in g if x["period"] in (WEEK1, WEEK2))
        ok(len(ln) == want_n and want_n > 0 and all(x["period_start"] and x["period_end"] for x in ln),
           "lines --from %s --to %s: every line of those weeks (%d), with its dates"
           % (WEEK1, WEEK2, want_n), len(ln))

        # ---- journals
        ij, wj = os.path.join(tmp, "invoicing.journal"), os.path.join(tmp, "wages.journal")
        dep.payctl_ok("finance", "invoices", "journal", ij)
        dep.payctl_ok("finance", "wages", "export-journal", wj)
        if not shutil.which("hledger"):
            note("hledger is not installed; scripts/deps installs it")
        else:
            for files, what in (([ij], "invoicing"), ([wj], "wages"), ([wj, ij], "both")):
                args = ["hledger"] + sum((["-f", f] for f in files), [])
                h = subprocess.run(args + ["check", "--strict", "ordereddates"],
                                   capture_output=True, text=True)
                ok(h.returncode == 0, "hledger check --strict ordereddates: %s journal%s"
                   % (what, "s" if what == "both" else ""), h.stdout + h.stderr)
            h = subprocess.run(["hledger", "-f", ij, "balance", "assets:receivables", "-N",
                                "--flat", "-O", "csv"], capture_output=True, text=True)
            got_rec = {}
            for row in read_csv_text(h.stdout)[1:]:
                if row and row[1]:
                    got_rec[row[0].split(":")[-1]] = pence(row[1].split()[0])
            want_rec = {}
            for d in invs:
                if pence(d["outstanding"]):
                    want_rec[d["employer"]] = want_rec.get(d["employer"], 0) + pence(d["outstanding"])
            eq(got_rec, want_rec, "hledger: each employer's receivables = the sum of its "
               "outstanding amounts")
            both = os.path.join(tmp, "both.journal")
            with open(both, "w") as f:
                f.write(open(wj).read() + open(ij).read())
            bs = subprocess.run(["hledger", "-f", both, "bs", "-N", "--flat"],
                                capture_output=True, text=True).stdout
            is_ = subprocess.run(["hledger", "-f", both, "is", "-N", "--flat"],
                                 capture_output=True, text=True).stdout
            ok("assets:receivables:dhl" in bs and "liabilities:vat:output" in bs
               and ":spends" in bs, "hledger bs: receivables, VAT output tax, prisoners' spends "
               "(both journals as one file)", bs)
            ok("revenue:contracts:C-0101" in is_ and "prison:MDI:wages" in is_,
               "hledger is: revenue per contract and the prisons' wages", is_)
        note("took %.1f s" % (time.time() - t0))
    except Exception:
        import traceback
        ok(False, "the scenario ran to its end", traceback.format_exc())
        keep = bool(os.environ.get("E2E_KEEP"))
    finally:
        kill_all()
        if keep:
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
