#!/usr/bin/env python3
"""Upgrades keep the data: the first release's stores under these binaries.

tests/fixtures/first-release/ holds the three stores (hours, wages,
invoicing) that the first release (its revision in REVISION there) wrote
when it ran its own demo on its own sample, compacted (stores.tar.xz), and
what that release's payctl answered on them (expected.json, the journal in
journal.txt.xz): every prison's payroll
for both weeks, the invoices and each one's lines, the overdue list, the
reconciliation of both weeks, exceptions, pay rates, ledgers and hours of a
few prisoners, the whole ledger as an hledger journal, and the feed
positions. scripts/make-fixtures makes all of it.

--check (the test): copies the stores to a temp folder, makes fresh keys,
starts THESE binaries on them and asks the same questions: every answer
must be the same (for a table, every column the old one had; new columns
may be added). The upgraded stores then record their format, and take the
same new work as the first release took on them (a week later: week 2
closed, new hours of week 3, its invoices issued) with the same answers
(payroll, invoices, a clean reconciliation). Last, a copy
stamped with a format newer than the binaries is refused by each service,
which exits non-zero with a message naming the formats and the releases,
and leaves the store as it was.

--capture (scripts/make-fixtures): the same questions and work with the
first release's binaries, answers written to expected.json.

usage: upgrade_fixture.py --check|--capture FIXTURE_DIR PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING
"""
import csv
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (Deployment, SERVICES, WEEK1, WEEK2, bail, done, eq, kill_all,
                     install_signal_cleanup, note, ok)

# Columns that differ between two runs of the same data (ports, times).
IGNORED = {"status": {"endpoint"}}
# Values the spec has renamed since the first release: the invoice lines'
# `unit` is HOURLY or UNIT (FORMATS.md), the first release wrote hours/units.
RENAMED = {"invoice": {"unit": {"hours": "HOURLY", "units": "UNIT"}}}
# The formats this release writes (the migration raises every store to
# them); a store stamped older is migrated, newer is refused.
CURRENT_FORMAT = {"hours": "2", "wages": "2", "invoicing": "2"}
WEEK3 = "2026-W48"


def unpack(fixture, tmp):
    """The folder that holds <service>/data.mdb: the fixture itself, or its
    stores.tar.xz unpacked under tmp."""
    packed = os.path.join(fixture, "stores.tar.xz")
    if not os.path.exists(packed):
        return fixture
    out = os.path.join(tmp, "fixture")
    with tarfile.open(packed, "r:xz") as t:
        for m in t.getmembers():
            if not (m.isdir() or m.isfile()) or m.name.startswith("/") or ".." in m.name:
                raise RuntimeError("unexpected member %s in %s" % (m.name, packed))
        t.extractall(out)
    return out


def copy_stores(fixture, data):
    for s in SERVICES:
        d = os.path.join(data, s)
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(os.path.join(fixture, s, "data.mdb"), os.path.join(d, "data.mdb"))
        os.chmod(os.path.join(d, "data.mdb"), 0o600)


def meta(store_dir):
    """{key: value} of the store's meta database ({} if there is none)."""
    r = subprocess.run(["mdb_dump", "-p", "-s", "meta", store_dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        return {}
    lines = r.stdout.split("HEADER=END\n", 1)[-1].splitlines()
    pairs = [l[1:] for l in lines if l.startswith(" ")]
    return dict(zip(pairs[0::2], pairs[1::2]))


def stamp(store_dir, values):
    """Writes text key/value pairs into the store's meta database."""
    text = "".join("%s\n%s\n" % kv for kv in values.items())
    subprocess.run(["mdb_load", "-T", "-s", "meta", store_dir], input=text, check=True,
                   universal_newlines=True)


def csv_rows(text):
    return list(csv.reader(io.StringIO(text)))


def questions(dep, scenario):
    """[(name, args)] asked as finance, each with --format csv."""
    qs = [("status", ["status"])]
    for w in (WEEK1, WEEK2):
        qs.append(("reconcile %s" % w, ["reconcile", "--week", w]))
        for p in scenario["prisons"]:
            qs.append(("payroll %s %s" % (p, w), ["wages", "payroll", "--prison", p, "--week", w]))
    for p in scenario["prisons"]:
        qs.append(("exceptions %s" % p, ["wages", "exceptions", "--prison", p]))
        qs.append(("rates %s" % p, ["wages", "rates", "list", "--prison", p]))
    for x in scenario["prisoners"]:
        qs.append(("ledger %s" % x, ["wages", "ledger", "--prisoner", x]))
        for w in (WEEK1, WEEK2):
            qs.append(("hours %s %s" % (x, w), ["hours", "list", "--prisoner", x, "--week", w]))
    qs.append(("invoices", ["invoices", "list"]))
    qs.append(("overdue", ["invoices", "overdue", "--as-of", "2027-03-31"]))
    qs.append(("journal", ["wages", "export-journal", "-"]))
    return qs


def ask(dep, qs, numbers):
    answers = {}
    for name, args in qs + [("invoice %s" % n, ["invoices", "get", n, "--csv"]) for n in numbers]:
        r = dep.payctl("finance", "--format", "csv", *args)
        answers[name] = {"exit": r.returncode, "stdout": r.stdout}
    return answers


def invoice_numbers(dep):
    r = dep.payctl("finance", "--format", "csv", "invoices", "list")
    return [row[0] for row in csv_rows(r.stdout)[1:] if row]


def status_ok(got):
    """'' if every service is up, every consumer has applied its feed and
    quarantined nothing. The status table itself grew (one row per feed,
    and the quarantine) after the first release, and the migration
    publishes the reference facts on the feeds, so its heads moved: what
    must hold is that nothing lags and nothing was refused."""
    rows = csv_rows(got["stdout"])
    if got["exit"] != 0 or len(rows) < 2:
        return "exit %s\n%s" % (got["exit"], got["stdout"][-1500:])
    h = rows[0]
    bad = [r for r in rows[1:] if r and (r[h.index("state")] != "up" or
           (r[h.index("feed")].endswith("(consumer)") and
            (r[h.index("lag")] != "0" or r[h.index("quarantined")] != "0")))]
    return "" if not bad else "not up, behind or quarantining: %s" % bad


def same(name, got, want):
    """'' if got answers as want did, else what differs."""
    if name == "status":
        return status_ok(got)
    if got["exit"] != want["exit"]:
        return "exit %s, was %s\n%s" % (got["exit"], want["exit"], got["stdout"][-1500:])
    if name == "journal":
        # The same transactions; the journal now declares its accounts and
        # sorts them by date, so the order and the directives may differ.
        return "" if journal_entries(got["stdout"]) == journal_entries(want["stdout"]) \
            else "the journal's transactions differ"
    if not want["stdout"].strip():
        return "" if got["stdout"] == want["stdout"] else "output differs"
    g, w = csv_rows(got["stdout"]), csv_rows(want["stdout"])
    if not g or not w:
        return "" if g == w else "output differs"
    missing = [c for c in w[0] if c not in g[0]]
    if missing:
        return "columns gone: %s" % missing
    skip = IGNORED.get(name.split()[0], set())
    cols = [c for c in w[0] if c not in skip]
    gi = [g[0].index(c) for c in cols]
    wi = [w[0].index(c) for c in cols]
    gv = [[row[i] if i < len(row) else None for i in gi] for row in g[1:]]
    wv = [[row[i] if i < len(row) else None for i in wi] for row in w[1:]]
    for c, m in RENAMED.get(name.split()[0], {}).items():
        if c in cols:
            k = cols.index(c)
            wv = [row[:k] + [m.get(row[k], row[k])] + row[k + 1:] for row in wv]
    if gv == wv:
        return ""
    diff = ["%d rows, were %d" % (len(gv), len(wv))]
    for a, b in zip(gv, wv):
        if a != b:
            diff.append("got  %s\nwant %s" % (a, b))
            break
    return "\n".join(diff)


def journal_entries(text):
    """The transactions of an hledger journal (each with its postings), in
    a canonical order; comments and directives left out."""
    blocks, cur = [], None
    for line in (text or "").splitlines():
        if line[:1].isdigit():
            cur = [line]
            blocks.append(cur)
        elif line.startswith(" ") and cur is not None:
            cur.append(line)
        else:
            cur = None
    return sorted("\n".join(b) for b in blocks)


def start(dep):
    dep.start_all()
    if not dep.wait_up(timeout=90):
        raise RuntimeError("the services did not answer payctl status")
    dep.wait_feeds(timeout=120)


def refused(dep, fixture, tmp):
    """A copy stamped with format 99 by release 99.0.0: each service refuses it."""
    for s in SERVICES:
        data = os.path.join(tmp, "newer-" + s)
        copy_stores(fixture, data)
        store = os.path.join(data, s)
        stamp(store, {"format_version": "99", "service": s,
                      "written_by": "prison-payroll 99.0.0"})
        before = open(os.path.join(store, "data.mdb"), "rb").read()
        env = dict(dep.env, PAY_DATA_DIR=data)
        p = subprocess.run(dep._cmd(s), env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        msgs = [json.loads(l).get("msg", "") for l in p.stderr.splitlines()
                if l.startswith("{")]
        refusal = [m for m in msgs if "format 99" in m]
        ok(p.returncode != 0, "%s: a format-99 store: exit %d (non-zero)" % (s, p.returncode),
           p.stderr[-1500:])
        ok(refusal and "written by prison-payroll 99.0.0" in refusal[0]
           and ("up to format %s" % CURRENT_FORMAT[s]) in refusal[0]
           and "run prison-payroll 99.0.0 or later"
           in refusal[0] and store in refusal[0],
           "%s: the refusal names the store, both formats and the release to run" % s,
           "\n".join(msgs[-5:]))
        if refusal:
            note("%s: %s" % (s, refusal[0]))
        after = open(os.path.join(store, "data.mdb"), "rb").read()
        ok(after == before and meta(store).get("format_version") == "99",
           "%s: the refused store is unchanged" % s)


def later_work(dep, scenario):
    """A week later, on the upgraded stores: week 2 closed, new hours of
    week 3 (scenario.json's new_hours, rows like week 2's accepted ones,
    7 days on), the invoices of week 3 issued. [(name, answer)]."""
    out = []
    for p in scenario["prisons"]:
        r = dep.payctl("finance", "--format", "csv", "week", "close", "--prison", p,
                       "--week", WEEK2)
        out.append(("close %s %s" % (p, WEEK2), {"exit": r.returncode, "stdout": r.stdout}))
    for h in scenario["new_hours"]:
        r = dep.payctl("finance", "--format", "csv", "hours", "submit",
                       "--record-id", h["record_id"],
                       "--prisoner", h["prisoner"], "--contract", h["contract"],
                       "--date", h["date"], "--session", h["session"],
                       "--minutes", h["minutes"], "--outcome", h["outcome"])
        out.append(("submit %s" % h["record_id"], {"exit": r.returncode, "stdout": r.stdout}))
    dep.wait_feeds()
    r = dep.payctl("finance", "--format", "csv", "invoices", "issue", "--as-of",
                   scenario["later"])
    out.append(("issue %s" % scenario["later"], {"exit": r.returncode, "stdout": r.stdout}))
    return out


def later_questions(scenario):
    qs = []
    for w in (WEEK2, WEEK3):
        qs.append(("reconcile %s" % w, ["reconcile", "--week", w]))
    for p in scenario["prisons"]:
        qs.append(("payroll %s %s" % (p, WEEK2), ["wages", "payroll", "--prison", p, "--week", WEEK2]))
    qs.append(("invoices", ["invoices", "list"]))
    return qs


def compare(got, want, what):
    eq(sorted(got), sorted(want), "%s: the same %d questions" % (what, len(want)))
    for name in sorted(want):
        if name in got:
            diff = same(name, got[name], want[name])
            ok(not diff, "%s: %s: as the first release answered" % (what, name), diff)


def main():
    if len(sys.argv) != 7 or sys.argv[1] not in ("--check", "--capture"):
        print(__doc__)
        return 2
    mode, fixture = sys.argv[1], os.path.abspath(sys.argv[2])
    install_signal_cleanup()
    scenario = json.load(open(os.path.join(fixture, "scenario.json")))
    tmp = tempfile.mkdtemp(prefix="upgrade_fixture.")
    keep = False
    try:
        dep = Deployment(tmp, *sys.argv[3:7], today=scenario["today"])
        stores = unpack(fixture, tmp)
        if mode == "--check":
            for s in SERVICES:
                ok(meta(os.path.join(stores, s)) == {},
                   "the %s fixture records no format (the first release's)" % s)
        copy_stores(stores, dep.data)
        dep.make_keys([], [])

        # 1. The stores as the first release left them.
        start(dep)
        qs = questions(dep, scenario)
        if mode == "--capture":
            numbers = invoice_numbers(dep)
        else:
            want = json.load(open(os.path.join(fixture, "expected.json")))
            for a in want["as-left"].values():
                if a.get("file"):
                    with lzma.open(os.path.join(fixture, a["file"]), "rt") as f:
                        a["stdout"] = f.read()
            numbers = [n[len("invoice "):] for n in want["as-left"] if n.startswith("invoice ")]
        as_left = ask(dep, qs, numbers)
        st = dep.stop_all()
        ok(all(v == 0 for v in st.values()), "the services stopped cleanly: %s" % st)
        if mode == "--check":
            compare(as_left, want["as-left"], "as left")
            nrec = [n for n in want["as-left"] if n.startswith("reconcile")]
            ok(nrec and all(want["as-left"][n]["exit"] == 0 for n in nrec),
               "the first release's reconciliation was clean (so the above proves it still is)")
            for s in SERVICES:
                m = meta(os.path.join(dep.data, s))
                ok(m.get("format_version") == CURRENT_FORMAT[s] and m.get("service") == s
                   and m.get("written_by", "").startswith("prison-payroll "),
                   "the upgraded %s store records format %s, its service and the release"
                   % (s, CURRENT_FORMAT[s]), repr(m))

        # 2. New work a week later.
        dep.env["PAY_TODAY"] = scenario["later"]
        start(dep)
        work = dict(later_work(dep, scenario))
        dep.wait_feeds()
        later = ask(dep, later_questions(scenario), [])
        new = [n for n in invoice_numbers(dep) if n not in numbers]
        later.update(ask(dep, [], new))
        later.update(work)
        st = dep.stop_all()
        ok(all(v == 0 for v in st.values()), "the services stopped cleanly again: %s" % st)

        if mode == "--capture":
            ok(any(k.startswith("submit") and v["exit"] == 0 for k, v in work.items()),
               "some new hours were accepted", repr(work))
            ok(new, "new documents were issued: %s" % new)
            ok(all(later[k]["exit"] == 0 for k in later if k.startswith("reconcile")),
               "the later reconciliation is clean")
            # The journal is most of the text: it is kept compressed.
            with lzma.open(os.path.join(fixture, "journal.txt.xz"), "wt") as f:
                f.write(as_left["journal"]["stdout"])
            as_left["journal"]["stdout"] = None
            as_left["journal"]["file"] = "journal.txt.xz"
            with open(os.path.join(fixture, "expected.json"), "w") as f:
                json.dump({"as-left": as_left, "later": later}, f, indent=1, sort_keys=True)
                f.write("\n")
            ok(len(as_left) > 20, "%d + %d answers captured" % (len(as_left), len(later)))
            return done()

        compare(later, want["later"], "a week later")
        refused(dep, stores, tmp)
        return done()
    except Exception as e:
        keep = bool(os.environ.get("UPGRADE_KEEP"))
        bail("%s: %s" % (type(e).__name__, e))
        return 1
    finally:
        kill_all()
        if keep:
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
