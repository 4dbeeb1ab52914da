#!/usr/bin/env python3
"""SIGHUP re-reads the allow-list: a key granted while the three services
run is refused at the handshake until the services get SIGHUP, and is let
in after it; a revoked key is refused again after the next SIGHUP. The
real services and the real payctl, over real sockets.

usage: sighup_test.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING"""
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from payctl_lib import SERVICES, Cluster, done, ok  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING = [os.path.abspath(a) for a in sys.argv[1:5]]


def all_up(c, key):
    rc, out, err = c.run("status", "--format", "json", key=key, timeout_ms=400)
    return rc == 0


def hup_and_wait(c, key, want_up, deadline=10):
    for svc in SERVICES:
        c.procs[svc].send_signal(signal.SIGHUP)
    end = time.time() + deadline
    while time.time() < end:
        if all_up(c, key) == want_up:
            return True
        time.sleep(0.3)
    return False


def main():
    with tempfile.TemporaryDirectory(prefix="sighup_test.") as tmp:
        c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-11-30")
        try:
            c.start_all()
            rc, out, err = c.run("keys", "new", "late")
            ok(rc == 0, "a new key pair for a finance officer who joins later", err)
            ok(not all_up(c, "late"), "a key not on the allow-list gets no answer")
            rc, out, err = c.run("keys", "grant", os.path.join(c.keys, "late.pub"),
                                 "--role", "finance", "--scope", "-", "--name", "late")
            ok(rc == 0, "keys grant adds it to allow.txt", err)
            ok(not all_up(c, "late"), "the running services do not see it before SIGHUP")
            ok(hup_and_wait(c, "late", True), "after SIGHUP every service answers the new key")
            ok(all(p.poll() is None for p in c.procs.values()), "SIGHUP stops no service")
            ok(all('"auth.reload"' in c.log(s) for s in SERVICES),
               "each service logs the reload")
            rc, out, err = c.run("keys", "revoke", os.path.join(c.keys, "late.pub"))
            ok(rc == 0, "keys revoke takes it off allow.txt", err)
            ok(hup_and_wait(c, "late", False), "after the next SIGHUP it is refused again")
            ok(all_up(c, "finance"), "keys still on the list are unaffected")
        finally:
            c.stop_all()
        ok(all("stopped cleanly" in c.log(s) for s in SERVICES), "clean SIGTERM afterwards",
           "\n".join(c.log(s)[-300:] for s in SERVICES))
    return done()


if __name__ == "__main__":
    sys.exit(main())
