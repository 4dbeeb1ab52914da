#!/usr/bin/env python3
"""A failed fdatasync is fatal, in the real services, through payctl.

The sample scenario (scripts/gen-sample, seed 1) with the payfault shim
(tests/fault/payfault.c) preloaded into a service, made to fail every sync
of its LMDB file with EIO while a trigger file exists:

  1. pay-hours, during an hours import: the service exits non-zero (after
     one JSON log line "server.fatal") instead of acknowledging; payctl
     reports no row of the batch as accepted; restarted with working
     syncs, the import run again completes;
  2. pay-wages, while it applies the hours feed (amendments and voids):
     its apply commit fails, it exits non-zero; restarted, it catches up
     from its durable cursor;
and in the end every figure is what scripts/refmodel.py computes, exactly
as without the faults (rejections, payroll per prisoner, invoices,
reconciliation): nothing acknowledged was lost, nothing counted twice.

usage: fault_fatal_test.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING LIBPAYFAULT
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (Deployment, Scenario, bail, check_against_model, check_clean_stop,  # noqa
                     done, gen_sample, install_signal_cleanup, kill_all, note, ok,
                     parse_import, refmodel, spawn)
from fault_lib import shim_env   # noqa: E402


class FaultDeployment(Deployment):
    """A Deployment whose services may each get their own environment."""

    def __init__(self, *a, **kw):
        Deployment.__init__(self, *a, **kw)
        self.svc_env = {}

    def start(self, name):
        log = open(os.path.join(self.logs, name + ".log"), "ab")
        self.procs[name] = spawn(self._cmd(name), env=self.svc_env.get(name, self.env),
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()


def wait_exit(p, timeout):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    install_signal_cleanup()
    shim = sys.argv[5]
    tmp = tempfile.mkdtemp(prefix="fault_fatal.")
    try:
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        rep = refmodel(sample)
        dep = FaultDeployment(tmp, *sys.argv[1:5])
        dep.env["PAY_TIMEOUT_MS"] = "2000"
        scen = Scenario(dep, sample, retries=4)
        dep.make_keys(scen.prisons, scen.employers)
        trig = {s: os.path.join(tmp, "eio-" + s) for s in ("hours", "wages")}
        for s in ("hours", "wages"):
            dep.svc_env[s] = shim_env(dep.env, shim, os.path.join(dep.data, s),
                                      journal=False, eio_file=trig[s])
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1
        scen.reference()
        scen.import_file("finance", "hours", os.path.join(sample, "hours_week1.csv"))

        # 1. pay-hours: fdatasync fails during the second hours file.
        open(trig["hours"], "w").close()
        r = dep.payctl("finance", "import", "hours", os.path.join(sample, "hours_week2.csv"),
                       "--batch", "50", timeout=120)
        summary, _ = parse_import(r.stdout)
        rc = wait_exit(dep.procs["hours"], 30)
        ok(rc is not None and rc != 0, "pay-hours exits non-zero after a failed fdatasync "
           "(exit %s)" % rc, dep.log_text("hours")[-1500:])
        log = dep.log_text("hours")
        ok('"event":"server.fatal"' in log and '"level":"error"' in log,
           "it logs the failure as a JSON line (server.fatal)")
        ok(r.returncode != 0 and (summary is None or summary[1] == 0),
           "payctl got no row acknowledged (exit %d, summary %r)" % (r.returncode, summary),
           r.stdout[-800:] + r.stderr[-800:])
        os.unlink(trig["hours"])
        dep.start("hours")
        ok(dep.wait_up(), "pay-hours restarts from its last durable state")
        scen.import_file("finance", "hours", os.path.join(sample, "hours_week2.csv"))

        # 2. pay-wages: the feed apply's commit fails.
        dep.wait_feeds()
        open(trig["wages"], "w").close()
        scen.corrections()
        rc = wait_exit(dep.procs["wages"], 60)
        ok(rc is not None and rc != 0, "pay-wages exits non-zero when a feed apply's commit "
           "fails (exit %s)" % rc, dep.log_text("wages")[-1500:])
        ok('"event":"server.fatal"' in dep.log_text("wages"), "and says so (server.fatal)")
        os.unlink(trig["wages"])
        dep.start("wages")
        ok(dep.wait_up(), "pay-wages restarts")
        note(scen.close_and_issue())
        check_against_model(dep, scen, rep)
        check_clean_stop(dep)
    except Exception:
        import traceback
        ok(False, "the scenario ran to its end", traceback.format_exc())
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
