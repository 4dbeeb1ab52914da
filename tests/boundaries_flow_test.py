#!/usr/bin/env python3
"""The boundaries between the services, through payctl as their users work:
the three REAL services, real sockets, real LMDB stores in a temp folder.

- A record_id of 33 x "e-acute" (33 characters, 66 bytes; DOMAIN.md allows
  64 characters) is accepted by pay-hours, priced by pay-wages and counted
  by pay-invoicing: the payroll has it and the week reconciles.
- Each refusal of reference data that names what does not exist, or what
  is not the caller's, with its code (DOMAIN.md "Refusals of reference
  data"): a contract for an unknown employer, an outside wage for an
  unknown or a WORKSHOP contract, an outside wage for another prison's
  contract (the governor's scope is the contract's own prison, whatever
  the caller says), billing terms for an unknown contract, a deduction or
  an adjustment for an unknown prisoner; a pay-rates file that mixes
  prisons is judged row by row.
- Custody follows transfers: a prisoner transferred on a Saturday has the
  week's deductions applied at the new prison (capped at its OUTSIDE pay
  there), not at the prison of the earlier records; one transferred to a
  prison where they have no records has none applied at the old prison.

usage: boundaries_flow_test.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import SERVICES, Cluster, done, load_scenario, ok, write_csv  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING = [os.path.abspath(a) for a in sys.argv[1:5]]
WEEK = "2026-W48"
DAYS = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
SATURDAY = "2026-11-28"
WIDE = "\u00e9" * 33
HOURS_HEADER = ["record_id", "prisoner", "contract", "date", "session", "minutes", "units",
                "outcome", "paid_absence"]


def report(out):
    """{line: (code, key)} from an import's CSV report."""
    got = {}
    for row in out.strip().splitlines()[1:]:
        f = row.split(",")
        if len(f) >= 5 and f[1].isdigit():
            got[int(f[1])] = (f[3], f[2])
    return got


def imp(c, kind, name, header, rows, key):
    path = os.path.join(c.tmp, name)
    write_csv(path, header, rows)
    rc, out, err = c.run("--format", "csv", "import", kind, path, key=key)
    return rc, report(out), out + err


def pence(text):
    """'6.00' or '-1.25' as pence; a plain integer as it is."""
    text = str(text)
    if "." not in text:
        return int(text)
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole or "0") * 100 + int((frac + "00")[:2]))


def payroll(c, prison):
    rc, out, err = c.run("--format", "json", "wages", "payroll", "--prison", prison,
                         "--week", WEEK)
    try:
        rows = json.loads(out)
    except ValueError:
        return None
    return {r["prisoner"]: {k: pence(r[k]) for k in ("sessions", "minutes", "gross",
                                                      "deductions", "levy", "net")}
            for r in rows if r.get("prisoner") not in (None, "", "TOTAL")}


def test_wide_id(c):
    rc, out, err = c.run("--format", "json", "hours", "list", "--record-id", WIDE)
    try:
        rec = json.loads(out)
        rec = rec[0] if isinstance(rec, list) else rec
    except ValueError:
        rec = {}
    ok(rc == 0 and rec.get("record_id") == WIDE,
       "pay-hours holds the record under its 33-character, 66-byte id", out + err)
    rc, out, err = c.run("week", "close", "--prison", "MDI", "--week", WEEK)
    ok(rc == 0, "MDI's week closes", out + err)
    c.wait_caught_up()
    pr = payroll(c, "MDI")
    ok(pr is not None and pr.get("A0001BC", {}).get("sessions") == 2 and
       pr["A0001BC"]["minutes"] == 360,
       "pay-wages priced it: A0001BC has both sessions, 360 minutes", pr)
    rc, out, err = c.run("--format", "csv", "reconcile", "--week", WEEK)
    mdi = [l for l in out.splitlines() if l.startswith("MDI,")]
    ok(rc == 0 and mdi and mdi[0].endswith(",OK"),
       "and the three services agree on MDI's week (pay-invoicing counted it too)",
       out + err)


def test_refusals(c):
    att = ["no", "J. Smith", "2025-12-20", "COP-9"]
    rc, rep, text = imp(c, "contracts", "contracts-bad.csv",
                        ["id", "employer", "prison", "activity", "work_type", "start", "end",
                         "public_contact", "attested_by", "attested_on", "attestation_ref"],
                        [["C-0009", "nobody", "MDI", "Packing", "WORKSHOP", "2026-01-01", ""]
                         + att], "industries")
    ok(rc == 1 and rep.get(2) == ("UNKNOWN_EMPLOYER", "C-0009"),
       "a contract for an unregistered employer: UNKNOWN_EMPLOYER", text)
    rc, out, err = c.run("--format", "json", "hours", "list", "--contract", "C-0009",
                         "--from", DAYS[0], "--to", DAYS[-1])
    ok(rc != 0 and "UNKNOWN_CONTRACT" in out + err, "and the contract was not stored",
       out + err)

    rc, rep, text = imp(c, "outside-wages", "outside-bad.csv",
                        ["contract", "effective_from", "hourly_wage"],
                        [["C-NONE", "2026-01-01", "13.00"],
                         ["C-0001", "2026-01-01", "13.00"],
                         ["C-0009", "2026-01-01", "13.00"],
                         ["C-KOUT", "2026-01-01", "13.00"]], "gov-mdi")
    ok(rc == 1 and rep.get(2, ("",))[0] == "UNKNOWN_CONTRACT",
       "an outside wage for an unknown contract: UNKNOWN_CONTRACT", text)
    ok(rep.get(3, ("",))[0] == "INVALID_ARGUMENT",
       "an outside wage for a WORKSHOP contract: INVALID_ARGUMENT", text)
    ok(rep.get(4, ("",))[0] == "UNKNOWN_CONTRACT",
       "an outside wage for a refused contract: UNKNOWN_CONTRACT", text)
    ok(rep.get(5, ("",))[0] == "PERMISSION_DENIED",
       "MDI's governor cannot set the outside wage of KMI's contract", text)

    rc, rep, text = imp(c, "billing-terms", "terms-bad.csv",
                        ["contract", "effective_from", "basis", "charge", "vat_rate_bp"],
                        [["C-NONE", "2026-01-01", "HOURLY", "10.00", "2000"],
                         ["C-0009", "2026-01-01", "HOURLY", "10.00", "2000"]], "industries")
    ok(rc == 1 and [rep.get(2, ("",))[0], rep.get(3, ("",))[0]] ==
       ["UNKNOWN_CONTRACT", "UNKNOWN_CONTRACT"],
       "billing terms for an unknown or refused contract: UNKNOWN_CONTRACT", text)

    rc, rep, text = imp(c, "deductions", "deductions-bad.csv",
                        ["prisoner", "week", "kind", "amount"],
                        [["Z9999ZZ", WEEK, "INCOME_TAX", "1.00"]], "finance")
    ok(rc == 1 and rep.get(2, ("",))[0] == "UNKNOWN_PRISONER",
       "a deduction for an unknown prisoner: UNKNOWN_PRISONER", text)
    rc, out, err = c.run("wages", "adjustments", "add", "--id", "adj-z", "--prisoner",
                         "Z9999ZZ", "--prison", "MDI", "--week", WEEK, "--amount", "2.00",
                         "--reason", "test")
    ok(rc != 0 and "UNKNOWN_PRISONER" in out + err,
       "an adjustment for an unknown prisoner: UNKNOWN_PRISONER", out + err)
    rc, out, err = c.run("wages", "adjustments", "add", "--id", "adj-p", "--prisoner",
                         "A0001BC", "--prison", "XXX", "--week", WEEK, "--amount", "2.00",
                         "--reason", "test")
    ok(rc != 0 and "UNKNOWN_PRISON" in out + err,
       "an adjustment at an unknown prison: UNKNOWN_PRISON", out + err)

    rates_header = ["prison", "pay_band", "incentive_level", "effective_from", "basis", "rate",
                    "piece_rate", "piece_rate_items"]
    rc, rep, text = imp(c, "pay-rates", "rates-mixed.csv", rates_header,
                        [["MDI", "2", "STD", "2026-01-01", "HOURLY", "0.90", "", ""],
                         ["LEI", "2", "STD", "2026-01-01", "HOURLY", "0.90", "", ""],
                         ["MDI", "1", "STD", "2026-01-01", "HOURLY", "0.80", "", ""]],
                        "gov-mdi")
    ok(rc == 1 and list(rep.items()) == [(3, ("PERMISSION_DENIED", rep.get(3, ("", ""))[1]))],
       "a pay-rates file mixing prisons, one command: only LEI's row is PERMISSION_DENIED",
       text)
    rc, out, err = c.run("--format", "csv", "wages", "rates", "list", "--prison", "MDI",
                         key="gov-mdi")
    ok(rc == 0 and ",2,STD," in out and ",1,STD," in out,
       "and MDI's rows were stored", out + err)


def test_transfers(c):
    """K0001BC: KMI outside work Monday to Friday, transferred to HVI on
    Saturday and works there that day. K0002BC: KMI Monday to Friday,
    transferred to LEI on Saturday, no records there."""
    wage = 1300
    rows = []
    for p in ("K0001BC", "K0002BC"):
        rows += [["%s-%s" % (p, d), p, "C-KOUT", d, "AM", "360", "", "ATTENDED", ""]
                 for d in DAYS]
    rows.append(["K0001BC-" + SATURDAY, "K0001BC", "C-HOUT", SATURDAY, "AM", "360", "",
                 "ATTENDED", ""])
    rc, rep, text = imp(c, "hours", "hours-out.csv", HOURS_HEADER, rows, "finance")
    ok(rc == 0 and not rep, "11 outside records at KMI and HVI accepted", text)
    rc, rep, text = imp(c, "deductions", "deductions.csv", ["prisoner", "week", "kind", "amount"],
                        [["K0001BC", WEEK, "INCOME_TAX", "10.00"],
                         ["K0002BC", WEEK, "COURT_ORDER", "10.00"]], "finance")
    ok(rc == 0 and not rep, "finance records both prisoners' deductions", text)
    for p in ("KMI", "HVI", "LEI"):
        rc, out, err = c.run("week", "close", "--prison", p, "--week", WEEK)
        ok(rc == 0 or "already" in (out + err).lower(), "%s's week closes" % p, out + err)
    c.wait_caught_up()
    kmi, hvi, lei = payroll(c, "KMI"), payroll(c, "HVI"), payroll(c, "LEI")
    full = 5 * 360 * wage // 60
    levy = lambda n: max(0, n - 2000) * 40 // 100
    ok(kmi is not None and kmi.get("K0001BC") == {
        "sessions": 5, "minutes": 1800, "gross": full, "deductions": 0, "levy": levy(full),
        "net": full - levy(full)},
       "K0001BC at KMI (the old prison): no deductions, the levy on the whole outside pay",
       kmi)
    sat = 360 * wage // 60
    ok(hvi is not None and hvi.get("K0001BC") == {
        "sessions": 1, "minutes": 360, "gross": sat, "deductions": 1000,
        "levy": levy(sat - 1000), "net": sat - 1000 - levy(sat - 1000)},
       "K0001BC at HVI (custody at the week's end): the deductions, then the levy", hvi)
    ok(kmi is not None and kmi.get("K0002BC", {}).get("deductions") == 0 and
       kmi["K0002BC"]["levy"] == levy(full),
       "K0002BC, transferred to LEI on Saturday: no deductions at KMI", kmi)
    ok(lei is not None and lei.get("K0002BC", {}).get("deductions", 0) == 0,
       "and none at LEI either, with no OUTSIDE pay there to take them from", lei)
    rc, out, err = c.run("--format", "csv", "reconcile", "--week", WEEK)
    ok(rc == 0, "every prison's week reconciles", out + err)


def main():
    with tempfile.TemporaryDirectory(prefix="boundaries_flow.") as tmp:
        c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-11-30")
        for name, scope in (("gov-kmi", "KMI"), ("gov-hvi", "HVI")):
            c.run("keys", "new", name)
            c.run("keys", "grant", os.path.join(c.keys, name + ".pub"), "--role", "governor",
                  "--scope", scope, "--name", name)
        try:
            c.start_all()
            hours = [[WIDE, "A0001BC", "C-0001", DAYS[0], "AM", "180", "", "ATTENDED", ""],
                     ["plain-1", "A0001BC", "C-0001", DAYS[0], "PM", "180", "", "ATTENDED",
                      ""],
                     ["plain-2", "A0002BC", "C-0002", DAYS[1], "AM", "120", "", "ATTENDED", ""]]
            load_scenario(c, hours)
            # Two open prisons with outside work, for the transfers.
            rc, rep, text = imp(c, "prisons", "prisons-open.csv", ["code", "name", "regime"],
                                [["KMI", "Kirkham", "OPEN"], ["HVI", "Haverigg", "OPEN"]],
                                "industries")
            ok(rc == 0, "open prisons KMI and HVI registered", text)
            rc, rep, text = imp(c, "prisoners", "prisoners-kmi.csv",
                                ["number", "prison", "incentive_level",
                                 "public_contact_cleared_on", "released_on"],
                                [["K0001BC", "KMI", "STD", "", ""],
                                 ["K0002BC", "KMI", "STD", "", ""]], "industries")
            ok(rc == 0, "two prisoners at KMI", text)
            att = ["no", "J. Smith", "2025-12-20", "COP-8"]
            rc, rep, text = imp(c, "contracts", "contracts-out.csv",
                                ["id", "employer", "prison", "activity", "work_type", "start",
                                 "end", "public_contact", "attested_by", "attested_on",
                                 "attestation_ref"],
                                [["C-KOUT", "dhl", "KMI", "Warehouse", "OUTSIDE", "2026-01-01",
                                  ""] + att,
                                 ["C-HOUT", "tesco", "HVI", "Store", "OUTSIDE", "2026-01-01",
                                  ""] + att], "industries")
            ok(rc == 0, "outside contracts at KMI and HVI", text)
            rc, rep, text = imp(c, "transfers", "transfers.csv",
                                ["prisoner", "prison", "effective_from"],
                                [["K0001BC", "HVI", SATURDAY], ["K0002BC", "LEI", SATURDAY]],
                                "industries")
            ok(rc == 0, "both transferred on Saturday", text)
            rc, rep, text = imp(c, "allocations", "allocations-out.csv",
                                ["prisoner", "contract", "from", "to", "pay_band"],
                                [["K0001BC", "C-KOUT", "2026-01-01", "2026-11-27", "1"],
                                 ["K0002BC", "C-KOUT", "2026-01-01", "2026-11-27", "1"],
                                 ["K0001BC", "C-HOUT", SATURDAY, "", "1"]], "industries")
            ok(rc == 0, "allocated to the outside contracts", text)
            terms = [["C-KOUT", "2026-01-01", "HOURLY", "15.00", "2000"],
                     ["C-HOUT", "2026-01-01", "HOURLY", "15.00", "2000"]]
            rc, rep, text = imp(c, "billing-terms", "terms-out.csv",
                                ["contract", "effective_from", "basis", "charge",
                                 "vat_rate_bp"], terms, "industries")
            ok(rc == 0, "billing terms for them", text)
            for gov, contract in (("gov-kmi", "C-KOUT"), ("gov-hvi", "C-HOUT")):
                rc, rep, text = imp(c, "outside-wages", "outside-%s.csv" % gov,
                                    ["contract", "effective_from", "hourly_wage"],
                                    [[contract, "2026-01-01", "13.00"]], gov)
                ok(rc == 0, "%s sets %s's outside wage" % (gov, contract), text)
            test_wide_id(c)
            test_refusals(c)
            test_transfers(c)
        finally:
            c.stop_all()
        ok(all("stopped cleanly" in c.log(s) for s in SERVICES), "clean SIGTERM afterwards",
           "\n".join(c.log(s)[-300:] for s in SERVICES))
    return done()


if __name__ == "__main__":
    main()
