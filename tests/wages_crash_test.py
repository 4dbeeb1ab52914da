#!/usr/bin/env python3
"""SIGKILL pay-wages while it prices a 100,000-record hours feed.

wages_feed_producer serves ten pay weeks of three prisons (records,
amendments, voids and each week's close; about 103,000 events). pay-wages
is SIGKILLed at least three times while it applies them, at seeded random
points, and restarted each time. In the end the ledger, exported with
--export-journal, must hold exactly the lines an independent calculation
expects for every feed event (nothing missing, nothing twice), balance to
zero (every transaction and every account; hledger agrees), and credit each
prisoner with the net pay of every week.

usage: wages_crash_test.py PAY_WAGES PRODUCER CLIENT PAY_KEYGEN
Set WAGES_TEST_SEED to replay a run; WAGES_CRASH_RECORDS to change the size.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wages_lib
from wages_lib import (Client, Model, Proc, Record, check, check_eq, done, free_port,
                       make_keys, note, parse_journal, wait_for)

LEVELS = ["BAS", "ENT", "STD", "ENH", "EN2"]
OUTCOMES = ["ATTENDED"] * 12 + ["SICK", "REST", "NOT_REQUIRED", "REFUSED", "CANCELLED"]


def build(model, rng, target):
    """Ten weeks from 2026-W40: workshop prisoners at MDI and LEI (AM/PM),
    outside workers at KMI (ED); each week's events end with its closes."""
    weeks = 10
    per_week = target // weeks
    n_work = max(10, int(per_week / 8.8))   # ~8 workshop records a week each
    n_out = max(5, n_work // 5)             # ~4.5 outside records a week each
    workshop = [("MDI" if i % 2 else "LEI", "W%04dAA" % i) for i in range(n_work)]
    outside = ["O%04dBB" % i for i in range(n_out)]
    monday0 = datetime.date(2026, 9, 28)    # 2026-W40
    n = 0
    for w in range(weeks):
        monday = monday0 + datetime.timedelta(days=7 * w)
        week_recs = []
        for i, (prison, p) in enumerate(workshop):
            band = 1 + i % 3
            level = LEVELS[i % 5]
            for d in range(5):
                day = (monday + datetime.timedelta(days=d)).isoformat()
                for session in ("AM", "PM"):
                    if rng.random() < 0.2:
                        continue
                    n += 1
                    week_recs.append(Record(
                        record_id="x%06d" % n, prisoner=p, prison=prison,
                        contract="C-%s-1" % prison, wt="W", band=band, level=level,
                        date=day, session=session, minutes=rng.choice([60, 90, 150, 210]),
                        units=rng.randint(0, 30), outcome=rng.choice(OUTCOMES),
                        paid=rng.random() < 0.5))
        for p in outside:
            for d in range(5):
                if rng.random() < 0.1:
                    continue
                n += 1
                day = (monday + datetime.timedelta(days=d)).isoformat()
                week_recs.append(Record(
                    record_id="x%06d" % n, prisoner=p, prison="KMI", contract="C-KMI-OUT",
                    wt="O", band=1, level="STD", date=day, session="ED",
                    minutes=rng.choice([240, 420, 480]), units=0,
                    outcome=rng.choice(["ATTENDED"] * 9 + ["SICK"]), paid=False))
        rng.shuffle(week_recs)
        for r in week_recs:
            model.record(r)
            x = rng.random()
            if x < 0.02:
                model.amend(r.copy(minutes=rng.choice([30, 120]), outcome="ATTENDED",
                                   units=rng.randint(0, 50)))
            elif x < 0.03:
                model.void(r.record_id)
        week = wages_lib.iso_week(monday.isoformat())
        for prison in ("MDI", "LEI", "KMI"):
            model.close(prison, week)
    return workshop, outside


def main():
    if len(sys.argv) != 5:
        print("usage: wages_crash_test.py PAY_WAGES PRODUCER CLIENT PAY_KEYGEN",
              file=sys.stderr)
        return 2
    pay_wages, producer, client_exe, keygen = sys.argv[1:]
    seed = int(os.environ.get("WAGES_TEST_SEED", random.randrange(1 << 30)))
    target = int(os.environ.get("WAGES_CRASH_RECORDS", "100000"))
    note("seed %d, about %d records (WAGES_TEST_SEED / WAGES_CRASH_RECORDS)" % (seed, target))
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="wages_crash_")
    keys = os.path.join(tmp, "keys")
    make_keys(keygen, keys)
    api = "tcp://127.0.0.1:%d" % free_port()
    feed = "tcp://127.0.0.1:%d" % free_port()
    data = os.path.join(tmp, "data")
    wages = Proc([pay_wages, "--data-dir", data, "--endpoint", api, "--hours-feed", feed,
                  "--keys-dir", keys, "--map-mb", "8"], os.path.join(tmp, "wages.log"))
    prod = None
    model = Model()
    try:
        # Rates first, so that nothing is priced before they exist; and
        # before them the reference facts of the records to come.
        wages.start()
        fin = Client(client_exe, api, keys, "finance")
        check(wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 30),
              "pay-wages is up")
        workshop, outside = build(model, rng, target)
        events = os.path.join(tmp, "events.txt")
        n_facts = model.write_events(events, facts_only=True)
        prod = Proc([producer, "--data", os.path.join(tmp, "producer"), "--endpoint", feed,
                     "--keys", keys, "--events", events, "--rate", "500"],
                    os.path.join(tmp, "producer.log"))
        prod.start()
        check(wait_for(lambda: (fin.run("health", timeout_ms=1000).rows("health") or
                                [{"cursor": -1}])[0]["cursor"] == n_facts, 120, 0.2),
              "pay-wages learnt the %d reference facts from the feed" % n_facts)
        prod.stop()
        for prison in ("MDI", "LEI"):
            path = os.path.join(tmp, "rates-%s.csv" % prison)
            with open(path, "w") as f:
                f.write("prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,"
                        "piece_rate_items\n")
                for band in (1, 2, 3):
                    for li, level in enumerate(LEVELS):
                        if band == 3 and level == "EN2":
                            continue          # NO_RATE for some records
                        basis = "SESSION" if band == 2 else "HOURLY"
                        rate = 150 + 10 * li if band == 2 else 45 + 5 * band + 5 * li
                        f.write("%s,%d,%s,2026-01-01,%s,%d.%02d,0.10,5\n" %
                                (prison, band, level, basis, rate // 100, rate % 100))
                        model.rates[(prison, band, level)] = [
                            ("2026-01-01", basis, rate, 10, 5)]
            r = Client(client_exe, api, keys, "gov-" + prison).run("set-rates", path)
            check(r.status == "OK" and all(i["status"] == "OK" for i in r.items()),
                  "rates for %s" % prison)
        with open(os.path.join(tmp, "outside.csv"), "w") as f:
            f.write("contract,effective_from,hourly_wage\nC-KMI-OUT,2026-04-01,13.50\n")
        model.outside["C-KMI-OUT"] = [("2026-04-01", 1350)]
        r = Client(client_exe, api, keys, "gov-KMI").run("set-outside", "KMI",
                                                         os.path.join(tmp, "outside.csv"))
        check(r.status == "OK" and r.items()[0]["status"] == "OK", "outside wage for KMI")

        ded = os.path.join(tmp, "deductions.csv")
        with open(ded, "w") as f:
            f.write("prisoner,week,kind,amount\n")
            for p in outside[:20]:
                for w in range(40, 50):
                    week = "2026-W%02d" % w
                    amount = rng.choice([500, 1500, 40000])
                    f.write("%s,%s,INCOME_TAX,%d.%02d\n" % (p, week, amount // 100, amount % 100))
                    model.deductions[(p, week)] = {"INCOME_TAX": amount}
        r = fin.run("set-deductions", ded)
        check(r.status == "OK" and all(i["status"] == "OK" for i in r.items()),
              "deductions recorded")
        # model.close() ran in build() before the deductions were known:
        # recompute the expected close lines now that they are.
        recompute_closes(model)

        model.write_events(events)
        n_events = n_facts + len(model.events)
        n_records = sum(1 for e in model.events if e[0] == "R")
        note("%d events, %d records" % (n_events, n_records))
        check(n_records >= target, "the feed carries %d records (>= %d)" % (n_records, target))
        prod = Proc([producer, "--data", os.path.join(tmp, "producer"), "--endpoint", feed,
                     "--keys", keys, "--events", events, "--rate", "1000",
                     "--pause-ms", "100"],
                    os.path.join(tmp, "producer.log"))
        prod.start()

        def cursor():
            h = fin.run("health", timeout_ms=700).rows("health")
            return h[0]["cursor"] if h else None

        kills = 0
        marks = sorted(rng.sample(range(n_events // 10, n_events * 9 // 10), 3))
        t0 = time.time()
        for mark in marks:
            reached = wait_for(lambda: (cursor() or 0) >= mark, 300, 0.05)
            if not reached:
                break
            time.sleep(rng.random() * 0.2)
            c = cursor()
            wages.kill()
            if c is not None and c < n_events:
                kills += 1
            note("SIGKILL at cursor ~%s of %d" % (c, n_events))
            wages.start()
        check(kills >= 3, "pay-wages was SIGKILLed %d times mid-feed" % kills)
        check(wait_for(lambda: cursor() == n_events, 600, 0.2),
              "after the restarts pay-wages applied all %d events" % n_events)
        note("applied in %.1f s (ASan build, with restarts)" % (time.time() - t0))

        # Payroll of one prison-week against the model.
        week = "2026-W45"
        r = fin.run("payroll", "MDI", week, 1000)
        got = {x["prisoner"]: (x["sessions"], x["minutes"], x["gross"], x["top_up"], x["net"])
               for x in r.rows("row")}
        want = {p: (s["sessions"], s["minutes"], s["gross"], s["top_up"], s["net"])
                for p, s in model.closed[("MDI", week)].items()}
        check_eq(got, want, "MDI %s payroll equals the independent calculation" % week)
        r = fin.run("payroll", "KMI", week, 1000)
        got = {x["prisoner"]: (x["gross"], x["deductions"], x["levy"], x["net"])
               for x in r.rows("row")}
        want = {p: (s["gross"], s["deductions"], s["levy"], s["net"])
                for p, s in model.closed[("KMI", week)].items()}
        check_eq(got, want, "KMI %s payroll (deductions, levy) equals the calculation" % week)
        check_eq(wages.stop(), 0, "SIGTERM stops pay-wages cleanly")

        journal = os.path.join(tmp, "ledger.journal")
        e = subprocess.run([pay_wages, "--data-dir", data, "--export-journal", journal],
                           capture_output=True, text=True)
        check_eq(e.returncode, 0, "--export-journal")
        txns = parse_journal(journal)
        by_feed = {}
        seen = set()
        dup = 0
        for t in txns:
            f = int(t[3]["feed"])
            by_feed[f] = by_feed.get(f, 0) + 1
            key = (f, t[1], t[3]["ref"], t[2], t[4][0][0], t[4][1][0])
            if key in seen and t[1] not in ("deduction",):
                dup += 1
            seen.add(key)
        want_lines = {n_facts + i + 1: n for i, n in enumerate(model.lines_per_event) if n}
        missing = sum(1 for f, n in want_lines.items() if by_feed.get(f, 0) < n)
        extra = sum(1 for f, n in by_feed.items() if n > want_lines.get(f, 0))
        check(missing == 0, "no feed event is missing a line (%d missing)" % missing)
        check(extra == 0 and dup == 0,
              "no line is posted twice (%d events over, %d duplicates)" % (extra, dup))
        check_eq(len(txns), sum(model.lines_per_event),
                 "the ledger holds exactly the %d expected lines" % sum(model.lines_per_event))
        check(all(sum(a for _, a in t[4]) == 0 for t in txns), "every transaction balances")
        acct = {}
        for t in txns:
            for a, amt in t[4]:
                acct[a] = acct.get(a, 0) + amt
        check_eq(sum(acct.values()), 0, "the ledger balances to zero over %d accounts" %
                 len(acct))
        nets = {}
        for (prison, week), slips in model.closed.items():
            for p, s in slips.items():
                nets[p] = nets.get(p, 0) + s["net"]
        bad = [p for p in nets if -acct.get("prisoner:%s:spends" % p, 0) != nets[p]]
        check(not bad, "every prisoner's spends equal their net pay over ten weeks "
              "(%d differ)" % len(bad))
        if shutil.which("hledger"):
            t1 = time.time()
            h = subprocess.run(["hledger", "-f", journal, "balance", "-O", "csv", "--depth", "1"],
                               capture_output=True, text=True, timeout=600)
            last = h.stdout.strip().splitlines()[-1].replace('"', "") if h.stdout else ""
            check(h.returncode == 0 and last == "total,0",
                  "hledger reads the %d-line journal and the total is 0 (%s, %.1f s)" %
                  (len(txns), last, time.time() - t1))
        else:
            note("hledger is not installed; scripts/deps installs it")
    finally:
        wages.kill()
        if prod:
            prod.stop()
        for line in open(os.path.join(tmp, "wages.log"), errors="replace"):
            if "AddressSanitizer" in line or "runtime error" in line:
                note("wages.log: " + line.strip())
        if wages_lib.n_failed:
            note("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


def recompute_closes(model):
    """Replays the event list to recompute the close lines and payslips with
    the deductions known (the event lines themselves do not change)."""
    events, lines = model.events, model.lines_per_event
    replay = Model()
    replay.rates, replay.outside = model.rates, model.outside
    replay.deductions, replay.adjustments = model.deductions, model.adjustments
    for e in events:
        f = e.split(",")
        if f[0] == "C":
            replay.close(f[1], f[2])
            continue
        r = Record(record_id=f[1], prisoner=f[2], prison=f[3], contract=f[4], wt=f[5],
                   band=int(f[6]), level=f[7], date=f[8], session=f[9], minutes=int(f[10]),
                   units=int(f[11]), outcome=f[12], paid=f[13] == "1")
        {"R": replay.record, "A": replay.amend}.get(f[0], lambda x: replay.void(x.record_id))(r)
    assert replay.events == events or len(replay.events) == len(events)
    model.closed = replay.closed
    model.lines_per_event = replay.lines_per_event
    model.events = replay.events
    del lines


if __name__ == "__main__":
    sys.exit(main())
