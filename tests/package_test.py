#!/usr/bin/env python3
"""The Debian packages: built, linted, installed and run in a scratch root.

scripts/package builds them from the working tree (dpkg-buildpackage -us -uc
-b over deploy/debian) into a temp folder; lintian must find no error. Then
each package's contents are checked (binaries, units, man pages, the
completion, the example configuration), and tests/package_install.sh runs in
a scratch root: a chroot over an overlay of this host's root filesystem, in
new mount, PID and network namespaces, so the host's files, processes and
ports are untouched and everything started there dies with it. There the
packages are installed with `dpkg -i` (maintainer scripts and all),
`systemd-analyze verify` checks the units, `man -l` renders every page, the
installed payctl --help runs, the bash completion completes, the three
services run as the user pay with the units' settings and answer
`payctl health`, a person's key is granted as the README says, a backup is
taken, SIGTERM stops them with exit 0, and a purge keeps the stores.

PAY_PACKAGE_DIR=DIR uses .deb files built already (scripts/package --out
DIR) instead of building them. Needs root (for the namespaces).

usage: package_test.py
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_n = 0
_failed = 0


def ok(cond, what, detail=""):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (_n, what))
    if not cond and detail:
        for line in str(detail).splitlines()[-40:]:
            print("#   " + line)
    sys.stdout.flush()
    return bool(cond)


def note(text):
    for line in str(text).splitlines():
        print("# " + line)
    sys.stdout.flush()


PACKAGES = {
    "pay-hours": ["./usr/bin/pay-hours", "./lib/systemd/system/pay-hours.service",
                  "./usr/share/man/man8/pay-hours.8.gz", "./etc/prison-payroll/hours.env"],
    "pay-wages": ["./usr/bin/pay-wages", "./lib/systemd/system/pay-wages.service",
                  "./usr/share/man/man8/pay-wages.8.gz", "./etc/prison-payroll/wages.env"],
    "pay-invoicing": ["./usr/bin/pay-invoicing", "./lib/systemd/system/pay-invoicing.service",
                      "./usr/share/man/man8/pay-invoicing.8.gz",
                      "./etc/prison-payroll/invoicing.env"],
    "payctl": ["./usr/bin/payctl", "./usr/share/man/man1/payctl.1.gz",
               "./usr/share/bash-completion/completions/payctl"],
    "pay-keygen": ["./usr/bin/pay-keygen", "./usr/share/man/man1/pay-keygen.1.gz"],
    "prison-payroll-common": ["./etc/prison-payroll/README", "./etc/prison-payroll/keys/"],
}


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (namespaces, dpkg in a scratch root)")
        return 0
    tmp = tempfile.mkdtemp(prefix="package_test.")
    try:
        out = os.environ.get("PAY_PACKAGE_DIR")
        if not out:
            out = os.path.join(tmp, "out")
            r = subprocess.run([os.path.join(ROOT, "scripts", "package"), "--out", out],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
            ok(r.returncode == 0, "scripts/package builds the packages; lintian finds no error",
               r.stdout)
            note(r.stdout)
            lint = os.path.join(out, "lintian.txt")
            if os.path.exists(lint):
                tags = [l for l in open(lint) if l[:2] in ("E:", "W:")]
                ok(not [t for t in tags if t.startswith("E:")], "lintian: no E: tags",
                   "".join(tags))
        debs = {}
        for path in glob.glob(os.path.join(out, "*.deb")):
            name = os.path.basename(path).split("_")[0]
            if not name.endswith("-dbgsym"):
                debs[name] = path
        ok(sorted(debs) == sorted(PACKAGES), "the six packages: %s" % " ".join(sorted(debs)))
        for name, want in sorted(PACKAGES.items()):
            if name not in debs:
                continue
            listing = subprocess.run(["dpkg-deb", "-c", debs[name]], stdout=subprocess.PIPE,
                                     universal_newlines=True).stdout
            files = {l.split()[-1] for l in listing.splitlines() if l.split()}
            missing = [w for w in want if w not in files]
            ok(not missing, "%s holds %s" % (name, ", ".join(w[2:] for w in want)),
               "missing: %s" % missing)

        # The scratch root.
        upper, work, merged = (os.path.join(tmp, d) for d in ("upper", "work", "root"))
        for d in (upper, work, merged, os.path.join(upper, "tmp", "debs")):
            os.makedirs(d, exist_ok=True)
        for path in debs.values():
            shutil.copy(path, os.path.join(upper, "tmp", "debs"))
        shutil.copy(os.path.join(HERE, "package_install.sh"), os.path.join(upper, "tmp"))
        inner = ("set -e; mount -t overlay overlay -o lowerdir=/,upperdir=%s,workdir=%s %s; "
                 "mount -t proc proc %s/proc; mount --rbind /dev %s/dev; "
                 "mount -t tmpfs tmpfs %s/run; "
                 "exec chroot %s /bin/bash /tmp/package_install.sh"
                 % (upper, work, merged, merged, merged, merged, merged))
        r = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child",
                            "sh", "-c", inner], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=600)
        checks = 0
        pending = []
        for line in r.stdout.splitlines():
            if line.startswith("CHECK "):
                if pending:
                    note("\n".join(pending))
                    pending = []
                _, rc, what = line.split(" ", 2)
                ok(rc == "0", "scratch root: " + what)
                checks += 1
            elif line.startswith("NOTE "):
                pending.append(line[5:])
        if pending:
            note("\n".join(pending))
        ok(checks >= 20 and r.returncode == 0,
           "the scratch-root script ran to its end (%d checks, exit %d)" % (checks, r.returncode),
           r.stdout[-3000:])
    finally:
        subprocess.run(["umount", "-R", os.path.join(tmp, "root")], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % _n)
    return 1 if _failed or _n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
