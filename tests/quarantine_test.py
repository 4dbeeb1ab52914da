#!/usr/bin/env python3
"""A consumer given an event it cannot apply keeps going, holds the event in
its quarantine (with the cursor, in the same transaction), shows the count,
reconciles MISMATCH, and a retry after the fix applies it exactly once.

The real pay-wages consumes the hours feed of wages_feed_producer (a
test-only producer that serves whatever events it is given, with the feed
protocol of pay-hours). The producer sends a record for a prisoner it has
published no facts for: pay-wages cannot place it (UNKNOWN_PRISONER).
Then:
- the events after it are applied (the consumer does not stall);
- `payctl status` shows 1 quarantined, `payctl feed quarantine list` names
  the seq and the reason, and the week reconciles MISMATCH;
- a retry before the fix applies nothing and keeps it (tries counted);
- the quarantine survives a SIGKILL of pay-wages;
- the producer then publishes the prisoner's facts (as an upgraded or
  repaired producer would), a retry applies the record once: the payroll
  counts it, the quarantine is empty, the week reconciles OK; a second
  retry and a restart change nothing.

usage: quarantine_test.py PAY_WAGES PRODUCER CLIENT PAY_KEYGEN PAYCTL
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wages_lib import (Client, Proc, check, check_eq, done, free_port, make_keys,  # noqa: E402
                       note, wait_for)

WEEK = "2026-W48"


def rec(rid, prisoner, day, minutes):
    # R,id,prisoner,prison,contract,W|O,band,level,date,session,minutes,units,outcome,paid
    return "R,%s,%s,MDI,C-1,W,1,STD,%s,AM,%d,0,ATTENDED,0" % (rid, prisoner, day, minutes)


def main():
    if len(sys.argv) != 6:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    pay_wages, producer, client_exe, keygen, payctl = [os.path.abspath(a) for a in sys.argv[1:]]
    with tempfile.TemporaryDirectory(prefix="quarantine_test.") as tmp:
        keys = os.path.join(tmp, "keys")
        make_keys(keygen, keys)
        api = "tcp://127.0.0.1:%d" % free_port()
        feed = "tcp://127.0.0.1:%d" % free_port()
        wages = Proc([pay_wages, "--data-dir", os.path.join(tmp, "data"), "--endpoint", api,
                      "--hours-feed", feed, "--keys-dir", keys, "--today", "2026-11-30"],
                     os.path.join(tmp, "wages.log"))
        events = os.path.join(tmp, "events.txt")
        facts = ["P,MDI,Moorland,CLOSED",
                 "N,A0001AA,MDI,-",
                 "K,C-1,acme,MDI,W,Laundry,2026-01-01,-"]
        lines = facts + [
                 rec("r-1", "A0001AA", "2026-11-23", 180),
                 rec("r-2", "A0002AA", "2026-11-23", 120),     # seq 5: no facts for A0002AA
                 rec("r-3", "A0001AA", "2026-11-24", 150),
                 "C,MDI,%s,3,450" % WEEK]
        with open(events, "w") as f:      # the facts first: the rates need MDI
            f.write("\n".join(facts) + "\n")
        prod = Proc([producer, "--data", os.path.join(tmp, "producer"), "--endpoint", feed,
                     "--keys", keys, "--events", events], os.path.join(tmp, "producer.log"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAY")}
        env.update({"HOME": tmp, "PAY_KEYS_DIR": keys, "PAY_WAGES_ENDPOINT": api,
                    "PAY_KEY_FILE": os.path.join(keys, "finance.key"),
                    # Nothing listens there: the hours and invoicing rows of
                    # status are "down", the wage rows are what is checked.
                    "PAY_HOURS_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(),
                    "PAY_INVOICING_ENDPOINT": "tcp://127.0.0.1:%d" % free_port(),
                    "PAY_TIMEOUT_MS": "1500"})

        def pctl(*args):
            p = subprocess.run([payctl] + list(args), capture_output=True, text=True, env=env,
                               timeout=120, cwd=tmp)
            return p.returncode, p.stdout, p.stderr

        def held():
            rc, out, err = pctl("--format", "json", "feed", "quarantine", "list",
                                "--service", "wages")
            try:
                return rc, json.loads(out) if out.strip() else []
            except ValueError:
                return rc, None

        def wage_status():
            rc, out, err = pctl("--format", "json", "status")
            try:
                rows = json.loads(out)
            except ValueError:
                return None
            return next((r for r in rows if r["service"] == "wages" and
                         r["feed"].endswith("(consumer)")), None)

        def payroll():
            r = fin.run("payroll", "MDI", WEEK)
            return {x["prisoner"]: (x["sessions"], x["minutes"]) for x in r.rows("row")}

        def recon():
            r = fin.run("recon", "MDI", WEEK).rows("recon")
            return r[0]["status"] if r else None

        fin = Client(client_exe, api, keys, "finance")
        gov = Client(client_exe, api, keys, "gov-MDI")
        try:
            wages.start()
            check(wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 20),
                  "pay-wages is up")
            rates = os.path.join(tmp, "rates.csv")
            with open(rates, "w") as f:
                f.write("prison,pay_band,incentive_level,effective_from,basis,rate,"
                        "piece_rate,piece_rate_items\nMDI,1,STD,2026-01-05,HOURLY,1.00,,,\n")
            prod.start()
            cursor = lambda: (fin.run("health", timeout_ms=1000).rows("health") or
                              [{"cursor": -1}])[0]["cursor"]
            check(wait_for(lambda: cursor() == len(facts), 60, 0.2),
                  "pay-wages learnt the prison, the prisoner and the contract")
            check_eq([i["status"] for i in gov.run("set-rates", rates).items()], ["OK"],
                     "the governor sets MDI's rate")
            prod.stop()
            with open(events, "w") as f:
                f.write("\n".join(lines) + "\n")
            prod.start()
            check(wait_for(lambda: cursor() == len(lines), 60, 0.2),
                  "the consumer kept going past the event it could not apply (cursor %d)"
                  % len(lines))
            check_eq(payroll(), {"A0001AA": (2, 330)},
                     "the records around it are paid; the quarantined one is not")
            rc, q = held()
            check(rc == 0 and q is not None and len(q) == 1 and q[0]["seq"] == "5" and
                  q[0]["prison"] == "MDI" and q[0]["week"] == WEEK and
                  "A0002AA" in q[0]["reason"] and q[0]["tries"] == "0",
                  "payctl feed quarantine list names seq 5, its prison-week and the reason (%r)"
                  % (q,))
            st = wage_status()
            check(st is not None and str(st.get("quarantined")) == "1",
                  "payctl status shows 1 quarantined for wages (%r)" % (st,))
            check_eq(recon(), "MISMATCH", "the prison-week reconciles MISMATCH")

            rc, out, err = pctl("feed", "quarantine", "retry", "--service", "wages")
            rc2, q = held()
            check(rc != 0 and "0 events applied, 1 still quarantined" in err and q and
                  int(q[0]["tries"]) >= 1,
                  "a retry before the fix applies nothing, says so, and counts the try (%s %r)"
                  % (err.strip(), q))
            check_eq(payroll(), {"A0001AA": (2, 330)}, "and the payroll is unchanged")

            wages.kill()
            wages.start()
            check(wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 20),
                  "pay-wages is back after SIGKILL")
            rc, q = held()
            check(rc == 0 and q is not None and len(q) == 1 and q[0]["seq"] == "5",
                  "the quarantine survives a SIGKILL")

            # The fix: the producer publishes the prisoner's facts.
            prod.stop()
            with open(events, "a") as f:
                f.write("N,A0002AA,MDI,-\n")
            prod.start()
            check(wait_for(lambda: cursor() == len(lines) + 1, 60, 0.2),
                  "pay-wages learnt the missing prisoner's facts")
            check_eq(payroll(), {"A0001AA": (2, 330)},
                     "a fact alone does not apply a quarantined record")
            rc, out, err = pctl("feed", "quarantine", "retry", "--service", "wages", "--seq", "5")
            check(rc == 0 and "1 event applied, 0 still quarantined" in err,
                  "the retry after the fix applies it (%s)" % err.strip())
            check_eq(payroll(), {"A0001AA": (2, 330), "A0002AA": (1, 120)},
                     "the record is paid once")
            rc, q = held()
            check(rc == 0 and q == [], "the quarantine is empty (%r)" % (q,))
            check_eq(recon(), "OK", "the prison-week reconciles OK")
            st = wage_status()
            check(st is not None and str(st.get("quarantined")) == "0",
                  "payctl status shows 0 quarantined")

            rc, out, err = pctl("feed", "quarantine", "retry", "--service", "wages")
            check(rc == 0 and "0 events applied" in err, "a second retry finds nothing (%s)"
                  % err.strip())
            wages.kill()
            wages.start()
            check(wait_for(lambda: fin.run("health", timeout_ms=500).status == "OK", 20),
                  "pay-wages is back after another SIGKILL")
            check_eq(payroll(), {"A0001AA": (2, 330), "A0002AA": (1, 120)},
                     "and after it the record is still paid exactly once")
            check_eq(wages.stop(), 0, "SIGTERM stops pay-wages cleanly")
        finally:
            prod.stop()
            wages.stop()
            if os.environ.get("KEEP"):
                note(open(os.path.join(tmp, "wages.log")).read()[-2000:])
    return done()


if __name__ == "__main__":
    sys.exit(main())
