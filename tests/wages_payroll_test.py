#!/usr/bin/env python3
"""A pay week for 50 prisoners through the real pay-wages process.

The hours feed comes from wages_feed_producer (a stand-in for pay-hours that
serves the same HoursEvents with the same feed protocol). Governors set
rates and outside wages and finance records deductions and an adjustment
over the real API, with CURVE keys per role. Then a week of records, with
amendments, voids, NO_RATE and refused sessions, a transfer between prisons
and both weeks' closes, flows through the feed. The payroll, payslips,
ledger, exceptions, hours norm and reconciliation are compared with an
independent calculation (wages_lib.Model, written from DOMAIN.md), the
ledger balances, hledger reads the exported journal and totals 0, the roles
are enforced, and SIGTERM stops the service cleanly.

usage: wages_payroll_test.py PAY_WAGES PRODUCER CLIENT PAY_KEYGEN
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wages_lib import (Client, Model, Proc, Record, check, check_eq, done, free_port,
                       make_keys, note, parse_journal, wait_for)

WEEK = "2026-W48"
DAYS = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
LEVELS = ["BAS", "ENT", "STD", "ENH", "EN2"]
OUTCOMES = (["ATTENDED"] * 14 + ["SICK", "REST", "OTHER", "NOT_REQUIRED", "CLASH",
                                 "CANCELLED", "REFUSED", "SUSPENDED"])


def build_week(model, rng):
    """40 workshop prisoners at MDI, 10 outside workers at KMI, one of whom
    was at MDI until Wednesday."""
    n = 0
    mdi = ["M%04dAA" % i for i in range(1, 41)]
    kmi = ["K%04dBB" % i for i in range(1, 11)]
    records = []
    for i, p in enumerate(mdi):
        band = 4 if i % 13 == 5 else 1 + i % 3     # band 4 has no rate: NO_RATE
        level = LEVELS[i % 5]
        for day in DAYS:
            for session in ("AM", "PM"):
                if rng.random() < 0.15:
                    continue
                n += 1
                outcome = rng.choice(OUTCOMES)
                records.append(Record(record_id="r-%05d" % n, prisoner=p, prison="MDI",
                                      contract="C-MDI-1", wt="W", band=band, level=level,
                                      date=day, session=session,
                                      minutes=rng.choice([30, 45, 90, 150, 180, 210, 240]),
                                      units=rng.randint(0, 40), outcome=outcome,
                                      paid=rng.random() < 0.5))
    for i, p in enumerate(kmi):
        days = DAYS[3:] if i == 0 else DAYS
        for day in days:
            n += 1
            records.append(Record(record_id="r-%05d" % n, prisoner=p, prison="KMI",
                                  contract="C-KMI-OUT", wt="O", band=1, level="STD",
                                  date=day, session="ED",
                                  minutes=rng.choice([300, 420, 450, 480, 510]),
                                  # K0001BB always attends, so the deductions
                                  # checked below have outside pay to apply to.
                                  units=0, outcome=("ATTENDED" if i == 0 else
                                                    rng.choice(["ATTENDED"] * 8 + ["SICK"])),
                                  paid=False))
    # K0001BB worked at MDI on Monday and Tuesday before the transfer.
    for day in DAYS[:2]:
        n += 1
        records.append(Record(record_id="r-%05d" % n, prisoner="K0001BB", prison="MDI",
                              contract="C-MDI-1", wt="W", band=2, level="STD", date=day,
                              session="AM", minutes=180, units=10, outcome="ATTENDED",
                              paid=False))
    rng.shuffle(records)
    for r in records:
        model.record(r)
    # Amendments (new minutes, outcome or units) and voids.
    live = [r for r in model.live.values() if r.prisoner not in ("K0001BB", "K0002BB")]
    for r in rng.sample(live, 12):
        model.amend(r.copy(minutes=rng.choice([60, 120, 240]),
                           outcome=rng.choice(["ATTENDED", "SICK", "REFUSED"]),
                           units=rng.randint(0, 30), paid=True))
    live = [r for r in model.live.values() if r.prisoner not in ("K0001BB", "K0002BB")]
    for r in rng.sample(live, 6):
        model.void(r.record_id)
    return mdi, kmi


def main():
    if len(sys.argv) != 5:
        print("usage: wages_payroll_test.py PAY_WAGES PRODUCER CLIENT PAY_KEYGEN",
              file=sys.stderr)
        return 2
    pay_wages, producer, client_exe, keygen = sys.argv[1:]
    seed = int(os.environ.get("WAGES_TEST_SEED", random.randrange(1 << 30)))
    note("seed %d (set WAGES_TEST_SEED to replay)" % seed)
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="wages_payroll_")
    keys = os.path.join(tmp, "keys")
    make_keys(keygen, keys)
    api = "tcp://127.0.0.1:%d" % free_port()
    feed = "tcp://127.0.0.1:%d" % free_port()
    wages = Proc([pay_wages, "--data-dir", os.path.join(tmp, "data"), "--endpoint", api,
                  "--hours-feed", feed, "--keys-dir", keys, "--today", "2026-11-25"],
                 os.path.join(tmp, "wages.log"))
    model = Model()
    try:
        wages.start()
        fin = Client(client_exe, api, keys, "finance")
        gov = Client(client_exe, api, keys, "gov-MDI")
        govk = Client(client_exe, api, keys, "gov-KMI")
        up = wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 20)
        check(up, "pay-wages answers health over CURVE")

        # The week's records first (nothing is sent yet), so that the
        # reference facts they need are known: the hours feed publishes
        # prisons, contracts and prisoners before any row names them.
        mdi, kmi = build_week(model, rng)
        events = os.path.join(tmp, "events.txt")
        n_facts = model.write_events(events, facts_only=True)
        prod = Proc([producer, "--data", os.path.join(tmp, "producer"), "--endpoint", feed,
                     "--keys", keys, "--events", events, "--rate", "97"],
                    os.path.join(tmp, "producer.log"))
        prod.start()
        check(wait_for(lambda: (fin.run("health", timeout_ms=1000).rows("health") or
                                [{"cursor": -1}])[0]["cursor"] == n_facts, 60, 0.2),
              "pay-wages learnt the %d reference facts from the feed" % n_facts)

        # ---- reference data over the API, with the roles ----
        rates = os.path.join(tmp, "rates.csv")
        rows = []
        for band in (1, 2, 3):
            for li, level in enumerate(LEVELS):
                if band == 1:
                    rows.append("MDI,1,%s,2026-01-05,HOURLY,%d.%02d,0.05,4" %
                                (level, (40 + 10 * li) // 100, (40 + 10 * li) % 100))
                elif band == 2:
                    rows.append("MDI,2,%s,2026-01-05,SESSION,%d.%02d,,," %
                                (level, (130 + 15 * li) // 100, (130 + 15 * li) % 100))
                else:
                    rows.append("MDI,3,%s,2026-01-05,HOURLY,1.20,,," % level)
        # A later row for band 3 that must not price week 48, and one the day
        # of (Wednesday) for band 1 STD.
        rows.append("MDI,3,STD,2026-12-01,HOURLY,2.40,,,")
        rows.append("MDI,1,STD,2026-11-25,HOURLY,0.75,0.05,4")
        with open(rates, "w") as f:
            f.write("prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,"
                    "piece_rate_items\n" + "\n".join(rows) + "\n")
        r = gov.run("set-rates", rates)
        check_eq([i["status"] for i in r.items()], ["OK"] * len(rows),
                 "governor of MDI sets %d rates" % len(rows))
        for row in rows:
            f = row.split(",")
            pence = lambda s: int(s.replace(".", "")) if s else 0
            model.rates.setdefault((f[0], int(f[1]), f[2]), []).append(
                (f[3], f[4], pence(f[5]), pence(f[6]), int(f[7]) if f[7] else 0))

        bad = os.path.join(tmp, "bad_rates.csv")
        with open(bad, "w") as f:
            f.write("header\nKMI,1,STD,2026-01-05,HOURLY,1.00,,,\n"
                    "MDI,1,STD,2026-01-05,SESSION,5.26,,,\n"
                    "MDI,1,STD,2026-01-05,HOURLY,0.29,,,\n"
                    "MDI,1,STD,2026-01-05,HOURLY,1.00,8.01,1\n"
                    "MDI,11,STD,2026-01-05,HOURLY,1.00,,,\n")
        r = gov.run("set-rates", bad)
        check_eq([i["status"] for i in r.items()],
                 ["PERMISSION_DENIED", "RATE_OUT_OF_BOUNDS", "RATE_OUT_OF_BOUNDS",
                  "RATE_OUT_OF_BOUNDS", "INVALID_ARGUMENT"],
                 "other prison, session > 525p, hourly < 30p, piece > 800p, band 11 refused")
        r = fin.run("set-rates", rates)
        check_eq(r.status, "PERMISSION_DENIED", "finance does not set rates")

        outside = os.path.join(tmp, "outside.csv")
        with open(outside, "w") as f:
            f.write("contract,effective_from,hourly_wage\nC-KMI-OUT,2026-04-01,13.10\n")
        r = govk.run("set-outside", "KMI", outside)
        check_eq([i["status"] for i in r.items()], ["OK"], "governor of KMI sets the outside wage")
        model.outside["C-KMI-OUT"] = [("2026-04-01", 1310)]
        low = os.path.join(tmp, "low.csv")
        with open(low, "w") as f:
            f.write("contract,effective_from,hourly_wage\nC-KMI-OUT,2026-06-01,12.70\n")
        r = govk.run("set-outside", "KMI", low)
        check_eq([i["status"] for i in r.items()], ["BELOW_LIVING_WAGE"],
                 "an outside wage of 12.70 is below the living wage")
        r = gov.run("set-outside", "KMI", outside)
        check_eq([i["status"] for i in r.items()], ["PERMISSION_DENIED"],
                 "the governor of MDI cannot set KMI's outside wages")

        deductions = os.path.join(tmp, "deductions.csv")
        drows = [("K0001BB", "INCOME_TAX", 2500), ("K0002BB", "COURT_ORDER", 999999),
                 ("K0003BB", "NATIONAL_INSURANCE", 1200), ("K0003BB", "CHILD_MAINTENANCE", 800),
                 ("M0001AA", "COURT_ORDER", 500)]
        with open(deductions, "w") as f:
            f.write("prisoner,week,kind,amount\n")
            for p, kind, amount in drows:
                f.write("%s,%s,%s,%d.%02d\n" % (p, WEEK, kind, amount // 100, amount % 100))
                model.deductions.setdefault((p, WEEK), {})[kind] = amount
        r = fin.run("set-deductions", deductions)
        check_eq([i["status"] for i in r.items()], ["OK"] * len(drows),
                 "finance records statutory deductions")
        r = gov.run("set-deductions", deductions)
        check_eq(r.status, "PERMISSION_DENIED", "a governor does not record deductions")

        r = fin.run("adjust", "adj-1", "M0002AA", "MDI", WEEK, 250, "back pay for W47")
        check_eq([i["status"] for i in r.items()], ["OK"], "finance posts an adjustment")
        model.adjustments[("MDI", WEEK, "M0002AA")] = 250
        r = fin.run("adjust", "adj-1", "M0002AA", "MDI", WEEK, 250, "back pay for W47")
        check_eq([i["message"] for i in r.items()], ["already"],
                 "the same adjustment again changes nothing")
        r = fin.run("adjust", "adj-1", "M0002AA", "MDI", WEEK, 300, "back pay for W47")
        check_eq([i["status"] for i in r.items()], ["DUPLICATE_CONFLICT"],
                 "the same id with another amount is a conflict")
        r = fin.run("adjust", "adj-2", "M0003AA", "MDI", WEEK, -75, "overpaid last week")
        check_eq([i["status"] for i in r.items()], ["OK"], "a negative adjustment")
        model.adjustments[("MDI", WEEK, "M0003AA")] = -75

        # ---- the feed ----
        expected = {}
        expected["MDI"] = model.close("MDI", WEEK)
        expected["KMI"] = model.close("KMI", WEEK)
        # The producer resumes from its outbox head: the facts are there,
        # the events follow them.
        prod.stop()
        n_facts = model.write_events(events)
        n_events = n_facts + len(model.events)
        prod.start()

        def caught_up():
            h = fin.run("health", timeout_ms=1000).rows("health")
            return h and h[0]["cursor"] == n_events
        check(wait_for(caught_up, 120, 0.2), "pay-wages applied all %d events" % n_events)

        # ---- payroll against the independent calculation ----
        for prison in ("MDI", "KMI"):
            r = fin.run("payroll", prison, WEEK, 7)
            got = {x["prisoner"]: {k: x[k] for k in ("sessions", "minutes", "gross", "top_up",
                                                     "deductions", "levy", "net")}
                   for x in r.rows("row")}
            want = {p: {k: s[k] for k in ("sessions", "minutes", "gross", "top_up",
                                          "deductions", "levy", "net")}
                    for p, s in expected[prison].items()}
            check_eq(got, want, "%s payroll rows equal the independent calculation" % prison)
            tot = r.rows("total")[0]
            for k in ("sessions", "minutes", "gross", "top_up", "deductions", "levy", "net"):
                check_eq(tot[k], sum(s[k] for s in expected[prison].values()),
                         "%s payroll total %s" % (prison, k))
            summ = r.rows("summary")[0]
            check(summ["closed"] == 1 and summ["pages"] > 1,
                  "%s: closed, and paged (%d pages of 7)" % (prison, summ["pages"]))
        check(expected["MDI"]["M0002AA"]["gross"] >= 250, "the adjustment counts in gross")

        csv = fin.run("payroll-csv", "MDI", WEEK, 9)
        lines = csv.out.splitlines()
        check_eq(lines[0], "prison,week,prisoner,sessions,minutes,gross,top_up,deductions,"
                 "levy,net", "payroll CSV header (FORMATS.md)")
        check_eq(len(lines) - 1, len(expected["MDI"]), "payroll CSV has a row per prisoner")
        s = expected["MDI"]["M0005AA"]
        row = [l for l in lines if ",M0005AA," in l]
        check_eq(row[0] if row else None,
                 "MDI,%s,M0005AA,%d,%d,%s,%s,%s,%s,%s" % (
                     WEEK, s["sessions"], s["minutes"],
                     *["%d.%02d" % (v // 100, v % 100) if v >= 0 else
                       "-%d.%02d" % (-v // 100, -v % 100)
                       for v in (s["gross"], s["top_up"], s["deductions"], s["levy"],
                                 s["net"])]),
                 "payroll CSV money in pounds with two decimals")

        # The transfer: deductions apply at KMI (the last prison), not at MDI.
        r = fin.run("payslip", "KMI", WEEK, "K0001BB")
        ps = r.rows("payslip")[0]
        check_eq(ps["deductions"], expected["KMI"]["K0001BB"]["deductions"],
                 "K0001BB's deductions apply at KMI, the last prison")
        check(ps["deductions"] > 0, "and they are not zero")
        r = fin.run("payslip", "MDI", WEEK, "K0001BB")
        check_eq(r.rows("payslip")[0]["deductions"], 0, "and not at MDI")
        check_eq(r.rows("payslip")[0]["top_up"], expected["MDI"]["K0001BB"]["top_up"],
                 "K0001BB's MDI payslip has its own top-up")
        check_eq(expected["KMI"]["K0002BB"]["deductions"],
                 min(999999, sum(model.price(x)[0] for x in model.live.values()
                                 if x.prisoner == "K0002BB")),
                 "a court order larger than the outside pay is capped at it")
        r = fin.run("payslip", "KMI", WEEK, "K0002BB")
        check_eq(r.rows("payslip")[0]["deductions"], expected["KMI"]["K0002BB"]["deductions"],
                 "K0002BB's capped deduction")
        check_eq(r.rows("payslip")[0]["levy"], 0, "nothing left for the levy after the cap")

        # ---- the ledger ----
        b = fin.run("balances", "", 13)
        check_eq(b.rows("total")[0]["sum"], 0, "the balances of every account sum to 0")
        bal = {x["account"]: x["amount"] for x in b.rows("balance")}
        for p in ("M0001AA", "K0001BB", "M0002AA", "M0003AA"):
            want = sum(expected[pr][p]["net"] for pr in expected if p in expected[pr])
            check_eq(-bal.get("prisoner:%s:spends" % p, 0), want,
                     "%s's spends balance is their net pay" % p)
        check_eq(-bal.get("fund:victims-levy", 0),
                 sum(s["levy"] for pr in expected for s in expected[pr].values()),
                 "the victims' fund holds every levy")
        led = fin.run("ledger", "K0001BB", "", "", 3)
        lines = led.rows("line")
        check(len(lines) > 3, "K0001BB's ledger spans pages of 3")
        check_eq(lines[-1]["balance"] if lines else None,
                 expected["KMI"]["K0001BB"]["net"] + expected["MDI"]["K0001BB"]["net"],
                 "the running balance ends at the net pay")
        run = 0
        ok = True
        for l in lines:
            eff = l["amount"] if l["credit"].endswith(":spends") else -l["amount"]
            run += eff
            ok = ok and l["balance"] == run
        check(ok, "each running balance is the previous one plus the line")
        led2 = fin.run("ledger", "K0001BB", "2026-11-25", "2026-11-29")
        opening = led2.rows("opening")[0]["balance"]
        before = sum((l["amount"] if l["credit"].endswith(":spends") else -l["amount"])
                     for l in lines if l["date"] < "2026-11-25")
        check_eq(opening, before, "a date range starts from the opening balance")
        csvl = fin.run("ledger-csv", "K0001BB")
        check_eq(csvl.out.splitlines()[0],
                 "date,week,entry,description,debit_account,credit_account,amount,balance",
                 "prisoner ledger CSV header (FORMATS.md)")

        journal = os.path.join(tmp, "wages.journal")
        r = fin.run("journal", journal, 50)
        check_eq(r.status, "OK", "the journal exports over the API in pages")
        txns = parse_journal(journal)
        check(all(sum(a for _, a in t[4]) == 0 for t in txns), "every transaction balances")
        by_feed = {}
        for t in txns:
            f = int(t[3].get("feed", "0"))
            by_feed[f] = by_feed.get(f, 0) + 1
        want_lines = {n_facts + i + 1: n for i, n in enumerate(model.lines_per_event) if n}
        got_lines = {f: n for f, n in by_feed.items() if f}
        check_eq(got_lines, want_lines, "one line per record, two per amendment, one per "
                 "void, and the close lines: nothing missing, nothing twice")
        if shutil.which("hledger"):
            h = subprocess.run(["hledger", "-f", journal, "balance", "-O", "csv"],
                               capture_output=True, text=True)
            last = h.stdout.strip().splitlines()[-1].replace('"', "") if h.stdout else ""
            check(h.returncode == 0 and last == "total,0",
                  "hledger reads the journal and the total is 0 (%s)" % last)
        else:
            note("hledger is not installed; scripts/deps installs it")

        # ---- exceptions, hours norm, reconciliation ----
        live = list(model.live.values())
        no_rate = sorted(x.record_id for x in live if x.prison == "MDI" and model.price(x)[1])
        refused = sorted(x.record_id for x in live if x.prison == "MDI" and
                         x.outcome == "REFUSED")
        e = fin.run("exceptions", "MDI", WEEK, "NO_RATE")
        check_eq(sorted(x["record"] for x in e.rows("exception")), no_rate,
                 "NO_RATE exceptions are the paid records without a rate (%d)" % len(no_rate))
        e = fin.run("exceptions", "MDI", WEEK, "REFUSED")
        check_eq(sorted(x["record"] for x in e.rows("exception")), refused,
                 "refused sessions are listed (%d)" % len(refused))
        nm = fin.run("norm", "MDI", WEEK).rows("norm")[0]
        mins = [s["minutes"] for s in expected["MDI"].values() if s["sessions"] > 0]
        check_eq(nm["working"], len(mins), "hours norm: working prisoners")
        hundredths = (sum(mins) * 100 + len(mins) * 30) // (len(mins) * 60)
        check_eq(nm["average_hours"], "%d.%02d" % (hundredths // 100, hundredths % 100),
                 "hours norm: average credited hours")
        check_eq(nm["at_40"], sum(1 for m in mins if m >= 2400), "hours norm: at 40 hours")
        rc = fin.run("recon", "MDI", WEEK).rows("recon")
        check(len(rc) == 1 and rc[0]["minutes_priced"] == sum(x.minutes for x in live
                                                             if x.prison == "MDI")
              and rc[0]["status"] == "OK", "reconciliation: minutes priced = minutes captured")
        rc = fin.run("recon").rows("recon")
        check_eq(sorted((x["prison"], x["week"]) for x in rc), [("KMI", WEEK), ("MDI", WEEK)],
                 "reconciliation lists every prison and week")

        # ---- roles ----
        for who in ("instructor-MDI", "employer", "industries"):
            c = Client(client_exe, api, keys, who)
            check_eq(c.run("payroll", "MDI", WEEK).status, "PERMISSION_DENIED",
                     "%s may not read a payroll" % who)
        check_eq(gov.run("payroll", "MDI", WEEK).status, "PERMISSION_DENIED",
                 "a governor does not read wages")
        check_eq(Client(client_exe, api, keys, "employer").run("ledger", "M0001AA").status,
                 "PERMISSION_DENIED", "an employer never sees a wage")
        check_eq(gov.run("list-rates", "MDI").status, "OK", "a governor reads own rates")
        check_eq(gov.run("list-rates", "KMI").status, "PERMISSION_DENIED",
                 "but not another prison's")
        # health: every key but an employer's; backup: finance only (as in
        # the hours and invoicing services)
        for who in ("finance", "gov-MDI", "instructor-MDI", "industries", "wages"):
            r = Client(client_exe, api, keys, who).run("health")
            check_eq(r.status, "OK", "%s may ask for health" % who)
        check_eq(Client(client_exe, api, keys, "employer").run("health").status,
                 "PERMISSION_DENIED", "an employer may not ask for health")
        broot = os.path.join(tmp, "data", "backups")   # the default: <data-dir>/backups
        for who in ("wages", "gov-MDI", "instructor-MDI", "industries", "employer"):
            r = Client(client_exe, api, keys, who).run("backup", "by-" + who)
            check(r.status == "PERMISSION_DENIED"
                  and not os.path.exists(os.path.join(broot, "by-" + who)),
                  "%s may not take a backup (%s %s)" % (who, r.status, r.message))
        # A resend of the same backup request (a client timeout) gets the
        # first answer back, not "already exists" from meeting its own copy.
        bdir = os.path.join(broot, "nightly", "wages")
        first = fin.run("backup", "nightly", request_id="backup-resend-1", timeout_ms=60000)
        check(first.status == "OK" and os.path.getsize(os.path.join(bdir, "data.mdb")) > 0,
              "finance takes a backup into <data-dir>/backups/nightly/wages (%s %s)"
              % (first.status, first.message))
        again = fin.run("backup", "nightly", request_id="backup-resend-1", timeout_ms=60000)
        check((again.status, again.message) == (first.status, first.message),
              "the resent backup request gets the first answer (%s %s)"
              % (again.status, again.message))
        other = fin.run("backup", "nightly", timeout_ms=60000)
        check(other.status == "INVALID_ARGUMENT" and "exists" in other.message,
              "a new backup request under the same name is refused (%s %s)"
              % (other.status, other.message))
        for bad in ("../x", "/tmp/x", "a/b", ".."):
            r = fin.run("backup", bad, timeout_ms=60000)
            check(r.status == "INVALID_ARGUMENT",
                  "backup name %r is refused (%s %s)" % (bad, r.status, r.message))

        r = fin.run("adjust", "adj-3", "M0004AA", "MDI", WEEK, 100, "too late")
        check_eq([i["status"] for i in r.items()], ["PAY_WEEK_CLOSED"],
                 "no adjustment once the week is closed")
        check_eq(fin.run("payroll", "MDI", "2026-W99").status, "INVALID_ARGUMENT",
                 "a malformed week is INVALID_ARGUMENT")

        # ---- deductions for a closed week: refused, never stored unapplied ----
        before = fin.run("payslip", "KMI", WEEK, "K0004BB").rows("payslip")[0]
        late = os.path.join(tmp, "late-deductions.csv")
        with open(late, "w") as f:
            f.write("prisoner,week,kind,amount\n")
            f.write("K0004BB,%s,COURT_ORDER,7.00\n" % WEEK)        # closed at KMI
            f.write("K0001BB,%s,INCOME_TAX,25.00\n" % WEEK)        # the row already applied
            f.write("K0004BB,2026-W49,COURT_ORDER,7.00\n")          # an open week
        r = fin.run("set-deductions", late)
        check_eq([i["status"] for i in r.items()], ["PAY_WEEK_CLOSED", "OK", "OK"],
                 "a deduction for a closed week is refused; the same row again and an open "
                 "week are fine")
        msg = [l.split("message=", 1)[-1] for l in r.lines[1:] if l.startswith("item ")][0]
        check("K0004BB" in msg and WEEK in msg and "KMI" in msg,
              "the refusal names the prisoner, the week and the prison: %s" % msg)
        after = fin.run("payslip", "KMI", WEEK, "K0004BB").rows("payslip")[0]
        check_eq(after, before, "and the payslip is unchanged")

        # ---- offline export and clean stop ----
        code = wages.stop()
        check_eq(code, 0, "SIGTERM stops pay-wages with status 0")
        prod.stop()
        out = os.path.join(tmp, "offline.journal")
        e = subprocess.run([pay_wages, "--data-dir", os.path.join(tmp, "data"),
                            "--export-journal", out], capture_output=True)
        check(e.returncode == 0 and len(parse_journal(out)) == len(txns),
              "--export-journal writes the same ledger offline")
    finally:
        wages.kill()
        for line in open(os.path.join(tmp, "wages.log"), errors="replace"):
            if '"level":"error"' in line or "AddressSanitizer" in line or "runtime error" in line:
                note("wages.log: " + line.strip())
        if n_failed_now():
            note("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


def n_failed_now():
    import wages_lib
    return wages_lib.n_failed


if __name__ == "__main__":
    sys.exit(main())
