#!/usr/bin/env python3
"""Bad input against the three REAL services: random frames, every
truncation of a request, and an oversize frame, sent by garbage_test to
each of pay-hours, pay-wages and pay-invoicing over CURVE. Each service
must answer every frame that fits its socket, drop the oversize one, keep
answering afterwards, log no sanitizer report, and still stop cleanly.

usage: garbage_services.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING GARBAGE_TEST"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import SERVICES, Cluster, done, ok  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING, GARBAGE = [os.path.abspath(a) for a in sys.argv[1:6]]


def main():
    with tempfile.TemporaryDirectory(prefix="garbage_services.") as tmp:
        c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-11-30")
        try:
            c.start_all()
            for svc in SERVICES:
                p = subprocess.run([GARBAGE, svc, c.ep(svc), os.path.join(c.keys, "finance.key"),
                                    os.path.join(c.keys, svc + ".pub")],
                                   capture_output=True, text=True, timeout=240)
                lines = p.stdout.splitlines()
                checks = [l for l in lines if l.startswith("ok ") or l.startswith("not ok ")]
                ok(p.returncode == 0 and checks and all(l.startswith("ok ") for l in checks),
                   "%s survives garbage (%d checks)" % (svc, len(checks)),
                   "\n".join(lines + p.stderr.splitlines()[-10:]))
            rc, rows, err = c.status()
            ok(rc == 0 and all(rows.get(s, {}).get("state") == "up" for s in SERVICES),
               "payctl status: all three still up", err)
            ok(all(p.poll() is None for p in c.procs.values()), "no service exited")
        finally:
            c.stop_all()
        for svc in SERVICES:
            log = c.log(svc)
            ok("runtime error" not in log and "AddressSanitizer" not in log
               and "stopped cleanly" in log,
               "%s: no sanitizer report, and a clean stop" % svc, log[-800:])
    return done()


if __name__ == "__main__":
    sys.exit(main())
