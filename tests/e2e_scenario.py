#!/usr/bin/env python3
"""End to end: the sample scenario through the real processes and payctl.

scripts/gen-sample (seed 1: 3 prisons, 200 prisoners, 6 employers, 10
contracts, two weeks of hours with every outcome, bad rows, amendments and
voids) is loaded into the REAL pay-hours, pay-wages and pay-invoicing over
CURVE with the REAL payctl, the way scripts/demo does it: reference data by
industries, pay rates and outside wages by each prison's governor, hours by
finance (which may back-date) with the services' today pinned to the
scenario's today; then the amendments and voids, the first week closed and
the invoices of every ended period issued.

What the services answer must equal what scripts/refmodel.py computes from
the same CSVs (--finance --close-week 2026-W46 --today 2026-11-23): every
rejected row (file, line, code), the accepted counts, each prisoner's payroll
line and the totals per prison, every invoice (lines, net, VAT, total) and
the reconciliation of both weeks. Then the same imports again change nothing,
and the services stop cleanly.

usage: e2e_scenario.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (Deployment, Scenario, bail, check_against_model, check_clean_stop,
                     done, eq, gen_sample, kill_all, install_signal_cleanup, note, ok,
                     refmodel, WEEK1)


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    install_signal_cleanup()
    tmp = tempfile.mkdtemp(prefix="e2e_scenario.")
    keep = False
    try:
        t0 = time.time()
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        rep = refmodel(sample)
        for pr in rep["payroll"]:
            t = pr["totals"]
            note("model: payroll %s %s: %d prisoners, gross %d, top-up %d, deductions %d, "
                 "levy %d, net %d (pence)" % (pr["prison"], pr["week"], t["prisoners"],
                                              t["gross"], t["top_up"], t["deductions"],
                                              t["levy"], t["net"]))
        s = rep["invoice_totals"]["issuable"]
        note("model: %d invoices, net %d, VAT %d, total %d (pence)"
             % (s["invoices"], s["net"], s["vat"], s["total"]))

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
        issued = scen.close_and_issue()
        note(issued)
        check_against_model(dep, scen, rep)

        # The PDFs of the issued invoices.
        r = dep.payctl("finance", "--format", "csv", "invoices", "list")
        numbers = [l.split(",")[0] for l in r.stdout.splitlines()[1:] if l]
        bad = []
        for num in numbers:
            pdf = os.path.join(tmp, num + ".pdf")
            g = dep.payctl("finance", "invoices", "get", num, "--pdf", pdf)
            if g.returncode != 0 or not os.path.exists(pdf) or open(pdf, "rb").read(5) != b"%PDF-":
                bad.append("%s: %s" % (num, g.stderr.strip()))
        ok(numbers and not bad, "every issued invoice comes as a PDF (%d)" % len(numbers),
           "\n".join(bad))

        # The same again: nothing changes (request ids derive from the rows,
        # closing a closed week is a no-op, nothing more is due).
        before = dep.status()
        again = Scenario(dep, sample)
        again.reference()
        again.hours()
        eq(sorted(again.rejections), sorted(scen.rejections - {
            k for k in scen.rejections if k[0] in ("amendments.csv", "voids.csv")}),
           "importing everything again gives the same refusals")
        eq(again.summaries, {k: v for k, v in scen.summaries.items()},
           "importing everything again gives the same counts")
        for p in scen.prisons:
            dep.payctl_ok("finance", "week", "close", "--prison", p, "--week", WEEK1)
        r = dep.payctl("finance", "invoices", "issue", "--as-of", "2026-11-23")
        ok(r.returncode == 0 and "issue: 0 documents issued" in r.stdout + r.stderr,
           "issuing again issues nothing", r.stdout + r.stderr)
        after = dep.wait_feeds()
        eq((after["hours"]["head"], after["wages"]["detail"], after["invoicing"]["detail"]),
           (before["hours"]["head"], before["wages"]["detail"], before["invoicing"]["detail"]),
           "the hours feed head, the wage records and the documents are unchanged")
        check_clean_stop(dep)
        note("took %.1f s" % (time.time() - t0))
    except Exception as e:          # a broken step: report it as a failure
        import traceback
        ok(False, "the scenario ran to its end", traceback.format_exc())
        keep = bool(os.environ.get("E2E_KEEP"))
        del e
    finally:
        kill_all()
        if keep:
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
