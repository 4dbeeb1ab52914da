#!/usr/bin/env python3
"""End to end: the README as a new user takes it.

The repository is cloned (git clone of this source tree) into a temp folder;
files changed but not yet committed in the source tree are copied over the
clone, so that the test proves the tree as it is (after a commit, the clone
alone is the same). In the clone, the README's main-job command (the first
of "The two commands": scripts/run) is run as written, with
PAY_DEMO_NO_WAIT=1 so that it stops after its report and PAY_DEMO_PORT_BASE
set to free ports of its own. It builds a release inside the clone, starts
the services, loads the sample and must print:
  - the payroll totals per prison (checked against scripts/refmodel.py on
    the sample that the run wrote),
  - the invoices issued, each with the path of a PDF that exists,
  - a clean reconciliation,
  - every document e-mailed once (to the demo's SMTP sink, ./data/mail),
and show every refused row as one of the sample's expected ones. Run a second
time, it must work and duplicate nothing: the same invoice numbers, the same
totals, the same counts in the services. The README's test command is not
run here (it runs this test). No process may be left behind.

usage: e2e_readme.py           (the source tree is the parent of tests/)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (ROOT, WEEK1, bail, done, eq, free_port_base, install_signal_cleanup,
                     note, ok, pence, read_csv_file, refmodel)

RUN_TIMEOUT = 900
groups = []          # process groups started here


def cleanup_groups():
    for pg in groups:
        try:
            os.killpg(pg, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def group_alive(pg):
    try:
        os.killpg(pg, 0)
        return True
    except ProcessLookupError:
        return False


def readme_commands():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## The two commands\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        return []
    block = re.search(r"```[a-z]*\n(.*?)```", m.group(1), re.S)
    if not block:
        return []
    cmds = []
    for line in block.group(1).splitlines():
        cmd = line.split("#", 1)[0].strip()
        if cmd:
            cmds.append(cmd)
    return cmds


def git(*args, cwd=ROOT):
    return subprocess.run(["git"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


def make_clone(dest):
    r = git("clone", "--quiet", "--no-hardlinks", ROOT, dest)
    if r.returncode != 0:
        raise RuntimeError("git clone: " + r.stderr)
    # The source tree's uncommitted state, over the clone.
    changed = git("ls-files", "-z", "--modified", "--others", "--exclude-standard").stdout
    deleted = git("ls-files", "-z", "--deleted").stdout
    n = 0
    for rel in filter(None, changed.split("\0")):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)) or dest, exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
            n += 1
    for rel in filter(None, deleted.split("\0")):
        try:
            os.remove(os.path.join(dest, rel))
            n += 1
        except OSError:
            pass
    return n


def run_main_job(clone, cmd, env):
    t = time.time()
    p = subprocess.Popen(["bash", "-c", cmd], cwd=clone, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, start_new_session=True)
    groups.append(p.pid)
    try:
        out, _ = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        out += "\n(e2e: killed after %d s)" % RUN_TIMEOUT
    # The demo stops its services before it exits; give them a moment.
    end = time.time() + 30
    while group_alive(p.pid) and time.time() < end:
        time.sleep(0.2)
    left = group_alive(p.pid)
    return p.returncode, out, left, time.time() - t


def section(out, title):
    """The lines of the demo's '== title...' section."""
    lines, on = [], False
    for l in out.splitlines():
        if l.startswith("== "):
            on = l[3:].startswith(title)
            continue
        if on:
            lines.append(l)
    return lines


def parse_report(out, clone):
    rep = {}
    rows = [l.split() for l in section(out, "payroll totals")]
    head = rows[0] if rows else []
    rep["payroll"] = {r[0]: dict(zip(head, r)) for r in rows[1:]
                      if len(r) == len(head) and r[1] == WEEK1}
    inv = section(out, "invoices and credit notes")
    rep["invoices"] = [l.split() for l in inv if re.match(r"(INV|CRN)-\d{6} ", l)]
    rep["pdfs"] = [tuple(l.split()) for l in inv if re.match(r"\s+(INV|CRN)-\d{6}\s+/", l)]
    rec = section(out, "reconciliation")
    rep["reconciliation"] = [l.split() for l in rec if re.match(r"[A-Z]{3}\s+\d{4}-W\d{2}\s", l)]
    rep["clean"] = any(l.startswith("reconciliation: clean") for l in rec)
    st = section(out, "the services")
    rep["status"] = {l.split()[0]: l.split()[4:] for l in st
                     if l.split() and l.split()[0] in ("hours", "wages", "invoicing")}
    rep["expected"] = out.count("[expected]")
    rep["unexpected"] = out.count("[UNEXPECTED]")
    return rep


def main():
    install_signal_cleanup()
    prev = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        cleanup_groups()
        prev(signum, frame)
    signal.signal(signal.SIGTERM, on_term)

    if not os.path.isdir(os.path.join(ROOT, ".git")) or shutil.which("git") is None:
        print("1..0 # SKIP the source tree is not a git checkout (or git is missing)")
        return 0
    tmp = tempfile.mkdtemp(prefix="e2e_readme.")
    keep = False
    try:
        cmds = readme_commands()
        ok(len(cmds) == 2 and cmds[0] == "scripts/run" and cmds[1] == "scripts/test",
           "the README's two commands are scripts/run and scripts/test", repr(cmds))
        main_cmd = cmds[0] if cmds else "scripts/run"

        clone = os.path.join(tmp, "clone")
        n = make_clone(clone)
        note("cloned %s into %s; %d uncommitted file(s) of the source tree copied over"
             % (ROOT, clone, n))
        ok(os.access(os.path.join(clone, main_cmd.split()[0]), os.X_OK),
           "the clone has an executable %s" % main_cmd.split()[0])

        env = dict(os.environ)
        for k in list(env):
            if k.startswith("PAY_") or k in ("PAYCTL_CONFIG", "BUILD_DIR", "MESON_TESTTHREADS"):
                del env[k]
        env["PAY_DEMO_NO_WAIT"] = "1"
        env["PAY_DEMO_PORT_BASE"] = str(free_port_base())
        note("running '%s' in the clone (PAY_DEMO_NO_WAIT=1 PAY_DEMO_PORT_BASE=%s)"
             % (main_cmd, env["PAY_DEMO_PORT_BASE"]))

        rc, out, left, took = run_main_job(clone, main_cmd, env)
        note("first run: exit %s after %.0f s" % (rc, took))
        if not ok(rc == 0, "the first run of %s succeeds" % main_cmd, out[-6000:]):
            bail("the main job failed")
            keep = bool(os.environ.get("E2E_KEEP"))
            return done()
        ok(not left, "the first run leaves no process behind")
        ok(os.path.isdir(os.path.join(clone, "build", "release")),
           "the release build is inside the clone (build/release)")
        data = os.path.join(clone, "data")
        ok(all(os.path.isdir(os.path.join(data, s)) for s in ("hours", "wages", "invoicing")),
           "the LMDB stores are under ./data of the clone")
        r1 = parse_report(out, clone)

        # Payroll totals per prison = the model's, on the sample that the run wrote.
        sample = os.path.join(data, "sample")
        model = refmodel(sample)
        want = {}
        for pr in model["payroll"]:
            t = pr["totals"]
            want[pr["prison"]] = (t["prisoners"], t["sessions"], t["minutes"], t["gross"],
                                  t["top_up"], t["deductions"], t["levy"], t["net"])
        got = {}
        for p, row in r1["payroll"].items():
            try:
                got[p] = (int(row["prisoners"]), int(row["sessions"]), int(row["minutes"]),
                          pence(row["gross"]), pence(row["top_up"]), pence(row["deductions"]),
                          pence(row["levy"]), pence(row["net"]))
            except (KeyError, ValueError):
                got[p] = row
        eq(got, want, "it prints the payroll totals per prison of %s, equal to the model's" % WEEK1)

        # Invoices, with PDFs that exist.
        issuable = [i for i in model["invoices"] if i["issuable"]]
        ok(len(r1["invoices"]) == len(issuable) and len(issuable) > 0,
           "it lists the %d invoices issued" % len(issuable),
           "\n".join(" ".join(x) for x in r1["invoices"]) or out[-3000:])
        bad = [p for _, p in r1["pdfs"] if not (os.path.isfile(p) and
                                                open(p, "rb").read(5) == b"%PDF-")]
        ok(len(r1["pdfs"]) == len(issuable) and not bad,
           "each invoice is printed with the path of a PDF that exists",
           "missing or not PDF: %r\n%s" % (bad, "\n".join(" ".join(x) for x in r1["pdfs"])))
        ok(all(os.path.realpath(p).startswith(os.path.realpath(data) + os.sep)
               for _, p in r1["pdfs"]), "the PDFs are under ./data of the clone")
        got_t = sorted((x[2], x[3], pence(x[9])) for x in r1["invoices"] if len(x) > 9)
        want_t = sorted((i["employer"], i["period"], i["total"]) for i in issuable)
        eq(got_t, want_t, "each invoice's employer, period and total = the model's")

        # Reconciliation.
        ok(r1["clean"] and r1["reconciliation"] and
           all(x[-1] == "OK" for x in r1["reconciliation"]),
           "it prints a clean reconciliation (%d rows, all OK)" % len(r1["reconciliation"]),
           "\n".join(section(out, "reconciliation")))
        n_exp = len(read_csv_file(os.path.join(sample, "expected_rejections.csv"))) - 1
        eq((r1["expected"], r1["unexpected"]), (n_exp, 0),
           "every refused row is shown, as one of the sample's %d expected ones" % n_exp)
        ok("Try, in another terminal:" in out and "payctl" in out.split("Try,")[-1],
           "it tells the user which payctl commands to try")

        # E-mail: one message per document in ./data/mail, each SENT.
        mail = os.path.join(data, "mail")
        mails1 = sorted(f for f in os.listdir(mail) if f.endswith(".eml")) \
            if os.path.isdir(mail) else []
        dl = section(out, "e-mail delivery")
        sent = [l.split()[0] for l in dl if re.match(r"(INV|CRN)-\d{6} .* SENT ", l)]
        eq((len(mails1), sorted(sent)), (len(r1["invoices"]), sorted(x[0] for x in r1["invoices"])),
           "every document is e-mailed once to the demo's SMTP sink (./data/mail) and SENT")

        # The second run: works, duplicates nothing.
        rc2, out2, left2, took2 = run_main_job(clone, main_cmd, env)
        note("second run: exit %s after %.0f s" % (rc2, took2))
        ok(rc2 == 0, "the second run of %s succeeds" % main_cmd, out2[-6000:])
        ok(not left2, "the second run leaves no process behind")
        r2 = parse_report(out2, clone)
        eq([x[0] for x in r2["invoices"]], [x[0] for x in r1["invoices"]],
           "the second run shows the same invoice numbers")
        eq(r2["invoices"], r1["invoices"], "... with the same amounts and dates")
        eq(r2["payroll"], r1["payroll"], "the second run prints the same payroll totals")
        eq(r2["reconciliation"], r1["reconciliation"], "... and the same reconciliation")
        ok("nothing new to issue" in out2, "the second run issues nothing new",
           "\n".join(section(out2, "issuing")))
        eq(r2["status"], r1["status"],
           "the services' counts (feed head, records, documents) are unchanged")
        ok(r2["clean"], "the second run's reconciliation is clean")
        mails2 = sorted(f for f in os.listdir(mail) if f.endswith(".eml")) \
            if os.path.isdir(mail) else []
        eq(mails2, mails1, "the second run e-mails nothing again")
    except Exception:
        import traceback
        ok(False, "the walk through the README ran to its end", traceback.format_exc())
        keep = bool(os.environ.get("E2E_KEEP"))
    finally:
        cleanup_groups()
        if keep:
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
