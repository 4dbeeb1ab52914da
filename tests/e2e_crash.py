#!/usr/bin/env python3
"""End to end through crashes: the sample scenario of e2e_scenario.py, with
each service SIGKILLed and restarted at random points of the hours import.

The import goes through the real payctl in small batches (--batch 5, with
its progress read from a pseudo-terminal), and pay-hours, pay-wages and
pay-invoicing are each SIGKILLed once in each of the two hours files, at a
seeded random row, and restarted after a random pause. payctl retries a request
that got no answer under the same request id, and an import that gives up
is simply run again (its request ids derive from its rows, so the service
answers what it has already done from its first answer). The wage and
invoicing services resume their hours-feed cursors.

In the end every answer must be what scripts/refmodel.py computes from the
CSVs, exactly as without crashes: the rejected rows, the accepted counts,
each accepted record held once by the wage service, each prisoner's payroll
line and the totals, every invoice, and a clean reconciliation.

usage: e2e_crash.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
Set E2E_CRASH_SEED to replay a run (the seed is printed).
"""
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (SERVICES, Deployment, Scenario, bail, check_against_model,
                     check_clean_stop, done, gen_sample, install_signal_cleanup, kill_all,
                     note, ok, read_csv_file, refmodel, run_watched)

BATCH = 5


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    install_signal_cleanup()
    seed = int(os.environ.get("E2E_CRASH_SEED") or random.SystemRandom().randrange(1, 10 ** 6))
    note("seed %d (E2E_CRASH_SEED=%d replays this run)" % (seed, seed))
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="e2e_crash.")
    keep = False
    try:
        t0 = time.time()
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        rep = refmodel(sample)

        dep = Deployment(tmp, *sys.argv[1:5])
        # A restarted hours service must be asked again soon: 2 s a try.
        dep.env["PAY_TIMEOUT_MS"] = "2000"
        scen = Scenario(dep, sample, hours_batch=BATCH, retries=6)
        dep.make_keys(scen.prisons, scen.employers)
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1
        scen.reference()

        files = ["hours_week1.csv", "hours_week2.csv"]
        rows = {f: len(read_csv_file(os.path.join(sample, f))) - 1 for f in files}
        plan = []          # [file, row, service, pause, fired]
        for s in SERVICES:          # once in each file, at a random row
            for f in files:
                plan.append([f, rng.randrange(BATCH, rows[f] - BATCH), s,
                             round(rng.uniform(0.0, 0.6), 2), False])
        plan.sort(key=lambda k: (files.index(k[0]), k[1]))
        for f, row, s, pause, _ in plan:
            note("plan: SIGKILL pay-%s once %s reaches row %d; restart after %.2f s"
                 % (s, f, row, pause))

        pending = {}       # service -> when to restart it

        def restart_due(wait=False):
            for s in sorted(pending):
                if wait and pending[s] > time.time():
                    time.sleep(pending[s] - time.time())
                if pending[s] <= time.time():
                    del pending[s]
                    dep.start(s)

        def runner(d, who, kind, path, extra):
            fname = os.path.basename(path)

            def on_progress(n):
                for k in plan:
                    if k[0] == fname and not k[4] and n >= k[1] and k[2] not in pending:
                        k[4] = True
                        d.kill(k[2])
                        pending[k[2]] = time.time() + k[3]
                        note("killed pay-%s at %s row %d (planned %d)" % (k[2], fname, n, k[1]))
            cmd = [d.exe["payctl"], "--config", "/dev/null", "--key-file",
                   os.path.join(d.keys, who + ".key"), "import", kind, path] + extra
            r = run_watched(cmd, d.env, on_progress, tick=restart_due)
            restart_due(wait=True)
            if r.returncode not in (0, 1) or "stopped" in r.stderr:
                note("import %s: exit %d, run again: %s" % (
                    fname, r.returncode, " ".join(r.stderr.split())[-300:]))
            return r

        scen.hours(runner=runner)
        ok(all(k[4] for k in plan), "all %d planned kills happened during the import" % len(plan),
           "\n".join("not fired: %s row %d pay-%s" % (k[0], k[1], k[2])
                     for k in plan if not k[4]))
        ok(all(dep.procs[s].poll() is None for s in SERVICES),
           "the restarted services are running")
        scen.corrections()
        note(scen.close_and_issue())
        check_against_model(dep, scen, rep)
        check_clean_stop(dep)
        note("took %.1f s" % (time.time() - t0))
    except Exception:
        import traceback
        ok(False, "the scenario ran to its end", traceback.format_exc())
        keep = bool(os.environ.get("E2E_KEEP"))
    finally:
        kill_all()
        if keep:
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
