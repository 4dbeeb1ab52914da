#!/usr/bin/env python3
"""Backup and restore, as docs/operations.md describes them, end to end.

The sample scenario (scripts/gen-sample, seed 1) through the three real
services and payctl (reference data, two weeks of hours, amendments and
voids, the first week closed, invoices issued); then `payctl backup
nightly`, which every service writes off its request loop to
<backup-dir>/nightly/<service>/data.mdb. The procedure of the runbook: the
backup set is copied into a FRESH data dir, the services are started on it
(new ports, same keys), and everything is checked against
scripts/refmodel.py as for the original: payroll per prisoner, invoices
with gapless numbers, and a clean reconciliation of both weeks (the three
services agree). Also: a name already used is refused by every service and
the first copy is untouched; names with a path are refused.

usage: backup_restore_test.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (SERVICES, Deployment, Scenario, bail, check_against_model,  # noqa: E402
                     check_clean_stop, done, gen_sample, install_signal_cleanup, kill_all,
                     note, ok, refmodel)


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    install_signal_cleanup()
    tmp = tempfile.mkdtemp(prefix="backup_restore.")
    try:
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        rep = refmodel(sample)
        dep = Deployment(os.path.join(tmp, "live"), *sys.argv[1:5])
        broot = os.path.join(tmp, "backups")
        dep.env["PAY_BACKUP_DIR"] = broot
        scen = Scenario(dep, sample)
        dep.make_keys(scen.prisons, scen.employers)
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1
        scen.reference()
        scen.hours()
        scen.corrections()
        note(scen.close_and_issue())
        dep.wait_feeds()

        out = dep.payctl_ok("finance", "--format", "csv", "backup", "nightly")
        ok(out.count(",OK,") == 3, "payctl backup nightly: three OK rows", out)
        for s in SERVICES:
            mdb = os.path.join(broot, "nightly", s, "data.mdb")
            ok(os.path.isfile(mdb) and os.path.getsize(mdb) > 0,
               "the %s copy is <backup-dir>/nightly/%s/data.mdb" % (s, s))
        first = open(os.path.join(broot, "nightly", "hours", "data.mdb"), "rb").read()
        r = dep.payctl("finance", "backup", "nightly")
        ok(r.returncode == 1 and "already exists" in r.stderr,
           "the same name again is refused", r.stdout + r.stderr)
        ok(open(os.path.join(broot, "nightly", "hours", "data.mdb"), "rb").read() == first,
           "and the first copy is untouched")
        for bad in ("../up", "/abs"):
            r = dep.payctl("finance", "backup", bad)
            ok(r.returncode == 2, "backup name %r refused" % bad, r.stderr)
        status = dep.stop_all()
        ok(all(v == 0 for v in status.values()), "the live services stop cleanly")

        # Restore: the backup set is a data dir; copy it into a fresh one.
        fresh = Deployment(os.path.join(tmp, "restored"), *sys.argv[1:5])
        shutil.rmtree(fresh.keys)
        shutil.copytree(dep.keys, fresh.keys)
        shutil.rmtree(fresh.data)
        shutil.copytree(os.path.join(broot, "nightly"), fresh.data)
        ok(sorted(os.listdir(fresh.data)) == sorted(SERVICES),
           "the fresh data dir holds the three stores of the set")
        fresh.start_all()
        if not ok(fresh.wait_up(), "the services start on the restored data dir"):
            bail("the restored services did not start")
            return 1
        fresh.wait_feeds()
        check_against_model(fresh, scen, rep, label="(restored)")
        check_clean_stop(fresh, label="(restored)")
    except Exception:
        import traceback
        ok(False, "the scenario ran to its end", traceback.format_exc())
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
