#!/usr/bin/env python3
"""A pay week for 50 prisoners through the real pay-hours and pay-wages.

Industries registers two prisons (MDI closed, KMI open), 50 prisoners,
a workshop and an outside contract and the allocations in pay-hours;
governors set rates and the outside wage in pay-wages; instructors record a
week of hours (with amendments and voids) in pay-hours; finance records
deductions in pay-wages and closes both weeks in pay-hours. pay-wages learns
everything from the real hours feed. Its payroll must equal an independent
calculation over the records pay-hours accepted, its reconciliation must
match pay-hours' week totals, and its ledger must balance (hledger agrees).

usage: wages_hours_test.py PAY_HOURS PAY_HOURS_CLIENT PAY_WAGES WAGES_CLIENT PAY_KEYGEN
                           TEST_FEED_PRODUCER (plays the invoice feed: the employers)
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wages_lib
from wages_lib import (Client, Model, Proc, Record, check, check_eq, done, free_port,
                       make_keys, note, parse_journal, wait_for)

WEEK = "2026-W48"
DAYS = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27"]
LEVELS = ["BAS", "ENT", "STD", "ENH", "EN2"]
OUTCOMES = ["ATTENDED"] * 12 + ["SICK", "REST", "NOT_REQUIRED", "CANCELLED", "REFUSED",
                                "SUSPENDED"]


class HoursClient:
    """One pay-hours-client process (JSON lines), as one identity."""
    n = 0

    def __init__(self, exe, endpoint, keys, who, log):
        self.p = subprocess.Popen(
            [exe, "--endpoint", endpoint, "--key", os.path.join(keys, who + ".key"),
             "--server-key", os.path.join(keys, "hours.pub")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "ab"))

    def call(self, body_name, body):
        HoursClient.n += 1
        self.p.stdin.write((json.dumps({"request_id": "w-%d" % HoursClient.n,
                                        body_name: body}) + "\n").encode())
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        out = json.loads(line.decode()) if line else {"error": "client exited"}
        return out.get("reply", {"status": "ERROR:" + out.get("error", "?")})

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def statuses(reply):
    return [i.get("status") for i in reply.get("items", [])]


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    pay_hours, hours_client, pay_wages, wages_client, keygen, producer = sys.argv[1:]
    seed = int(os.environ.get("WAGES_TEST_SEED", random.randrange(1 << 30)))
    note("seed %d (set WAGES_TEST_SEED to replay)" % seed)
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="wages_hours_")
    keys = os.path.join(tmp, "keys")
    make_keys(keygen, keys)
    h_api, h_feed, w_api, i_feed = ("tcp://127.0.0.1:%d" % free_port() for _ in range(4))
    data = os.path.join(tmp, "data")
    with open(os.path.join(tmp, "employers.txt"), "w") as f:
        f.write("E,acme,Acme Logistics\n")
    invoices = Proc([producer, "--feed", "invoices", "--data", os.path.join(tmp, "invfeed"),
                     "--endpoint", i_feed, "--keys", keys, "--events",
                     os.path.join(tmp, "employers.txt")], os.path.join(tmp, "invfeed.log"))
    hours = Proc([pay_hours, "--data-dir", data, "--keys-dir", keys, "--endpoint", h_api,
                  "--feed-endpoint", h_feed, "--invoice-feed", i_feed, "--today", "2026-11-28"],
                 os.path.join(tmp, "hours.log"))
    wages = Proc([pay_wages, "--data-dir", data, "--keys-dir", keys, "--endpoint", w_api,
                  "--hours-feed", h_feed, "--today", "2026-11-28"],
                 os.path.join(tmp, "wages.log"))
    clients = []
    model = Model()
    try:
        invoices.start()
        hours.start()
        wages.start()
        fin = Client(wages_client, w_api, keys, "finance")
        check(wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 30),
              "pay-wages is up")
        hc = lambda who: clients.append(HoursClient(hours_client, h_api, keys, who,
                                                    os.path.join(tmp, "hclient.log"))) \
            or clients[-1]
        ind, hfin = hc("industries"), hc("finance")
        ins = {"MDI": hc("instructor-MDI"), "KMI": hc("instructor-KMI")}
        check(wait_for(lambda: hfin.call("get_health", {}).get("status") == "OK", 30),
              "pay-hours is up")
        # A contract needs its employer, which pay-hours learns from the
        # invoice feed (here the stand-in's one fact): wait for it.
        invoice_cursor = lambda: hfin.call("get_health", {}).get("health", {}).get(
            "invoice_cursor", 0)
        check(wait_for(lambda: invoice_cursor() >= 1, 30),
              "pay-hours learnt the employer from the invoice feed")

        # ---- pay-hours: reference data (industries) ----
        r = ind.call("upsert_prisons", {"rows": [
            {"code": "MDI", "name": "Moorland", "regime": "CLOSED"},
            {"code": "KMI", "name": "Kirkham", "regime": "OPEN"}]})
        check_eq(statuses(r), ["OK", "OK"], "prisons registered in pay-hours")
        prisoners = [("M%04dAA" % i, "MDI", LEVELS[i % 5], 1 + i % 3) for i in range(40)] + \
                    [("K%04dBB" % i, "KMI", "STD", 1) for i in range(10)]
        r = ind.call("upsert_prisoners", {"rows": [
            {"number": p, "prison": pr, "incentive_level": lv} for p, pr, lv, _ in prisoners]})
        check_eq(statuses(r), ["OK"] * 50, "50 prisoners registered")
        att = {"attested_by": "J Smith", "attested_on": "2025-12-01", "attestation_ref": "COP-1"}
        r = ind.call("upsert_contracts", {"rows": [
            dict(id="C-MDI-1", employer="acme", prison="MDI", activity="Laundry",
                 work_type="WORKSHOP", start="2026-01-01", **att),
            dict(id="C-KMI-OUT", employer="acme", prison="KMI", activity="Warehouse",
                 work_type="OUTSIDE", start="2026-01-01", **att)]})
        check_eq(statuses(r), ["OK", "OK"], "contracts registered")
        r = ind.call("upsert_allocations", {"rows": [
            {"prisoner": p, "contract": "C-MDI-1" if pr == "MDI" else "C-KMI-OUT",
             "from": "2026-01-01", "pay_band": str(band)} for p, pr, _, band in prisoners]})
        check_eq(statuses(r), ["OK"] * 50, "prisoners allocated")

        # The reference facts reach pay-wages on the hours feed.
        head = hfin.call("get_health", {}).get("health", {}).get("outbox_head", 0)
        check(wait_for(lambda: (fin.run("health", timeout_ms=1000).rows("health") or
                                [{"cursor": -1}])[0]["cursor"] >= head, 60, 0.2),
              "pay-wages learnt the %d reference facts from the hours feed" % head)

        # ---- pay-wages: rates and outside wage (governors) ----
        rates = os.path.join(tmp, "rates.csv")
        with open(rates, "w") as f:
            f.write("prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,"
                    "piece_rate_items\n")
            for band in (1, 2):
                for li, level in enumerate(LEVELS):
                    basis, rate = ("HOURLY", 50 + 10 * li) if band == 1 else \
                        ("SESSION", 140 + 20 * li)
                    f.write("MDI,%d,%s,2026-01-01,%s,%d.%02d,0.05,3\n" %
                            (band, level, basis, rate // 100, rate % 100))
                    model.rates[("MDI", band, level)] = [("2026-01-01", basis, rate, 5, 3)]
        r = Client(wages_client, w_api, keys, "gov-MDI").run("set-rates", rates)
        check(all(i["status"] == "OK" for i in r.items()) and len(r.items()) == 10,
              "MDI's governor sets 10 rates (band 3 has none: NO_RATE)")
        ow = os.path.join(tmp, "outside.csv")
        with open(ow, "w") as f:
            f.write("contract,effective_from,hourly_wage\nC-KMI-OUT,2026-04-01,12.90\n")
        model.outside["C-KMI-OUT"] = [("2026-04-01", 1290)]
        r = Client(wages_client, w_api, keys, "gov-KMI").run("set-outside", "KMI", ow)
        check_eq([i["status"] for i in r.items()], ["OK"], "KMI's governor sets the outside wage")

        # ---- deductions (finance, pay-wages) ----
        ded = os.path.join(tmp, "ded.csv")
        with open(ded, "w") as f:
            f.write("prisoner,week,kind,amount\nK0001BB,%s,INCOME_TAX,30.00\n"
                    "K0002BB,%s,COURT_ORDER,5000.00\n" % (WEEK, WEEK))
        model.deductions[("K0001BB", WEEK)] = {"INCOME_TAX": 3000}
        model.deductions[("K0002BB", WEEK)] = {"COURT_ORDER": 500000}
        check_eq([i["status"] for i in fin.run("set-deductions", ded).items()], ["OK", "OK"],
                 "deductions recorded")

        # ---- a week of hours (instructors, pay-hours) ----
        n = 0
        accepted = refused = 0
        for p, prison, level, band in prisoners:
            rows, recs = [], []
            for day in DAYS:
                for session in (("AM", "PM") if prison == "MDI" else ("ED",)):
                    if rng.random() < 0.15:
                        continue
                    n += 1
                    minutes = rng.choice([60, 90, 180, 240]) if prison == "MDI" else \
                        rng.choice([300, 420, 480])
                    outcome = rng.choice(OUTCOMES) if prison == "MDI" else "ATTENDED"
                    paid = rng.random() < 0.5
                    units = rng.randint(0, 20) if prison == "MDI" else 0
                    rows.append({"record_id": "h-%05d" % n, "prisoner": p,
                                 "contract": "C-MDI-1" if prison == "MDI" else "C-KMI-OUT",
                                 "date": day, "session": session, "minutes": str(minutes),
                                 "units": str(units), "outcome": outcome,
                                 "paid_absence": "yes" if paid else "no"})
                    recs.append(Record(record_id="h-%05d" % n, prisoner=p, prison=prison,
                                       contract=rows[-1]["contract"],
                                       wt="W" if prison == "MDI" else "O", band=band,
                                       level=level, date=day, session=session,
                                       minutes=minutes, units=units, outcome=outcome,
                                       paid=paid))
            r = ins[prison].call("submit_hours", {"records": rows})
            for st, rec in zip(statuses(r), recs):
                if st == "OK":
                    model.record(rec)
                    accepted += 1
                else:
                    refused += 1
        check(accepted > 300 and refused == 0,
              "pay-hours accepted %d records (%d refused)" % (accepted, refused))
        live = [x for x in model.live.values() if x.prison == "MDI"]
        for x in rng.sample(live, 8):
            new = x.copy(minutes=rng.choice([30, 120]), outcome="ATTENDED", units=7, paid=False)
            r = ins["MDI"].call("amend_hours", {"record_id": x.record_id,
                                                "minutes": str(new.minutes), "units": "7",
                                                "outcome": "ATTENDED", "paid_absence": "no"})
            if r.get("status") == "OK":
                model.amend(new)
        for x in rng.sample([x for x in model.live.values() if x.prison == "MDI"], 5):
            r = ins["MDI"].call("void_hours", {"record_id": x.record_id})
            if r.get("status") == "OK":
                model.void(x.record_id)
        check_eq(len(model.events), accepted + 13, "8 amendments and 5 voids accepted")

        totals = {}
        for prison in ("MDI", "KMI"):
            t = hfin.call("get_week_totals", {"prison": prison, "week": WEEK})
            totals[prison] = t.get("totals", {})
            r = hfin.call("close_pay_week", {"prison": prison, "week": WEEK})
            check_eq(r.get("status"), "OK", "finance closes %s %s in pay-hours" % (prison, WEEK))
        expected = {"MDI": model.close("MDI", WEEK), "KMI": model.close("KMI", WEEK)}
        head = hfin.call("get_health", {}).get("health", {}).get("outbox_head", 0)
        check(head > 0, "the hours feed holds %d events" % head)

        def caught_up():
            h = fin.run("health", timeout_ms=1000).rows("health")
            return h and h[0]["cursor"] >= head
        check(wait_for(caught_up, 120, 0.2), "pay-wages applied the whole hours feed")

        # ---- compare ----
        keys_ = ("sessions", "minutes", "gross", "top_up", "deductions", "levy", "net")
        for prison in ("MDI", "KMI"):
            r = fin.run("payroll", prison, WEEK, 11)
            got = {x["prisoner"]: {k: x[k] for k in keys_} for x in r.rows("row")}
            want = {p: {k: s[k] for k in keys_} for p, s in expected[prison].items()}
            check_eq(got, want, "%s payroll equals the independent calculation (%d prisoners)"
                     % (prison, len(want)))
            tot = r.rows("total")[0] if r.rows("total") else {}
            check_eq({k: tot.get(k) for k in keys_},
                     {k: sum(s[k] for s in expected[prison].values()) for k in keys_},
                     "%s payroll totals" % prison)
            rc = fin.run("recon", prison, WEEK).rows("recon")
            check(len(rc) == 1 and rc[0]["minutes_priced"] == totals[prison].get("minutes")
                  and rc[0]["records"] == totals[prison].get("records")
                  and rc[0]["status"] == "OK",
                  "%s reconciliation: minutes priced = minutes captured by pay-hours (%s)"
                  % (prison, totals[prison].get("minutes")))
        check(expected["KMI"]["K0002BB"]["deductions"] > 0 and
              expected["KMI"]["K0002BB"]["levy"] == 0,
              "a court order above the outside pay is capped and leaves no levy")
        b = fin.run("balances")
        check_eq(b.rows("total")[0]["sum"], 0, "the ledger's balances sum to 0")
        journal = os.path.join(tmp, "wages.journal")
        fin.run("journal", journal)
        if shutil.which("hledger"):
            h = subprocess.run(["hledger", "-f", journal, "balance", "-O", "csv"],
                               capture_output=True, text=True)
            last = h.stdout.strip().splitlines()[-1].replace('"', "") if h.stdout else ""
            check(h.returncode == 0 and last == "total,0", "hledger: total %s" % last)
        txns = parse_journal(journal)
        check_eq(len(txns), sum(model.lines_per_event),
                 "the ledger holds one line per record, two per amendment, one per void, "
                 "plus the close lines")
        check_eq(wages.stop(), 0, "pay-wages stops cleanly on SIGTERM")
    finally:
        for c in clients:
            try:
                c.close()
            except Exception:
                pass
        wages.kill()
        hours.stop()
        invoices.stop()
        if wages_lib.n_failed:
            note("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
