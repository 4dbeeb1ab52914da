#!/usr/bin/env python3
"""payctl health: the probe an orchestrator runs beside a service.

The three real services run on free ports with real stores in a temp folder.
`payctl health SERVICE` with only the keys folder (no payctl.key there, no
--key-file) uses the service's own key pair and answers 0 with one line for
each; PAY_SERVICE names the service when no argument does; a person's key
works too. A stopped service, a key the services do not know, an unknown
service name and no service at all are each refused with the right exit
status (1, 1, 2, 2), the stopped one within the probe's short timeout.

usage: health_probe.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import Deployment, bail, done, kill_all, install_signal_cleanup, ok


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    install_signal_cleanup()
    tmp = tempfile.mkdtemp(prefix="health_probe.")
    try:
        dep = Deployment(tmp, *sys.argv[1:5])
        dep.make_keys([], [])
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1

        def probe(*args, env=None):
            cmd = [dep.exe["payctl"], "--config", "/dev/null"] + list(args)
            t0 = time.time()
            r = subprocess.run(cmd, env=env or dep.env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=60)
            return r, time.time() - t0

        ok(not os.path.exists(os.path.join(dep.keys, "payctl.key")),
           "the keys folder has no payctl.key (as beside a service)")
        for s in ("hours", "wages", "invoicing"):
            r, _ = probe("health", s)
            ok(r.returncode == 0 and r.stdout.startswith(s + ": up"),
               "payctl health %s with the service's own key: exit 0, '%s'" % (s, r.stdout.strip()),
               r.stderr)
        env = dict(dep.env, PAY_SERVICE="invoicing")
        r, _ = probe("health", env=env)
        ok(r.returncode == 0 and r.stdout.startswith("invoicing: up"),
           "PAY_SERVICE=invoicing payctl health: exit 0", r.stdout + r.stderr)
        r, _ = probe("--key-file", os.path.join(dep.keys, "finance.key"), "health", "wages")
        ok(r.returncode == 0, "a finance key may probe too", r.stderr)

        r, _ = probe("health", "payroll")
        ok(r.returncode == 2 and "unknown service" in r.stderr,
           "an unknown service name: exit 2 (%s)" % (r.stderr.strip().splitlines() or [""])[0])
        r, _ = probe("health")
        ok(r.returncode == 2 and "PAY_SERVICE" in r.stderr,
           "no service and no PAY_SERVICE: exit 2 (%s)" % (r.stderr.strip().splitlines() or [""])[0])

        stranger = os.path.join(tmp, "stranger")
        os.makedirs(stranger)
        dep.payctl_ok(None, "keys", "new", "stranger", "--dir", stranger)
        r, took = probe("--key-file", os.path.join(stranger, "stranger.key"), "health", "hours")
        ok(r.returncode == 1, "a key not on the allow-list: exit 1 after %.1f s" % took, r.stderr)

        dep.kill("wages")
        r, took = probe("health", "wages")
        ok(r.returncode == 1 and "wages" in r.stderr,
           "a stopped service: exit 1 (%s)" % (r.stderr.strip().splitlines() or [""])[-1], r.stderr)
        ok(took < 10, "and within the probe's timeout (4 tries of 1 s): %.1f s" % took)
        r, _ = probe("health", "hours")
        ok(r.returncode == 0, "the others still answer")
        st = dep.stop_all()
        ok(st.get("hours") == 0 and st.get("invoicing") == 0,
           "the running services stop cleanly: %s" % st)
        return done()
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
