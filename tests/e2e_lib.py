"""e2e_lib: shared pieces of the end-to-end tests (tests/e2e_*.py).

A Deployment runs the three REAL services (pay-hours, pay-wages,
pay-invoicing) on free localhost ports, with their LMDB stores and the CURVE
keys in a temp folder, and drives them with the REAL payctl exactly as an
operator would: the sample scenario of scripts/gen-sample (reference data,
two weeks of hours as finance, amendments and voids, the first week closed,
invoices issued), with today pinned to the scenario's today.

What the services answer is compared with scripts/refmodel.py, an
independent model of the rules that reads the same CSVs. Python 3 standard
library only; TAP through ok()/done().

Every process started here is killed when the test ends, also on a failure,
on SIGTERM (a Meson timeout) and, through PR_SET_PDEATHSIG, when the test
itself is SIGKILLed.
"""
import csv
import ctypes
import io
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN_SAMPLE = os.path.join(ROOT, "scripts", "gen-sample")
REFMODEL = os.path.join(ROOT, "scripts", "refmodel.py")

START_WEEK = "2026-W46"
WEEK1, WEEK2 = "2026-W46", "2026-W47"
TODAY = "2026-11-23"
SERVICES = ("hours", "wages", "invoicing")
SUPPLIER_CONFIG = (
    "name = HMPPS Prison Industries\n"
    "address = 102 Petty France, London\n"
    "postcode = SW1H 9AJ\n"
    "vat_number = GB888765432\n"
    "email = invoices@industries.example\n"
    "bank_account_name = HMPPS Prison Industries\n"
    "sort_code = 60-70-80\n"
    "account_number = 10293847\n")

# ---------------------------------------------------------------- TAP

_n = 0
_failed = 0


def ok(cond, what, detail=""):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (_n, what))
    if not cond and detail:
        for line in str(detail).splitlines()[:60]:
            print("#   " + line)
    sys.stdout.flush()
    return bool(cond)


def eq(got, want, what):
    if got == want:
        return ok(True, what)
    return ok(False, what, "got:  %r\nwant: %r" % (got, want))


def note(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line)
    sys.stdout.flush()


def bail(msg):
    print("Bail out! " + msg)
    sys.stdout.flush()


def done():
    print("1..%d" % _n)
    sys.stdout.flush()
    return 1 if _failed or _n == 0 else 0


# ---------------------------------------------------------------- processes

_live = []          # every Popen started here that may still run
_libc = None


def _pdeathsig():
    # In the child, before exec: die with the parent (the test), so that a
    # SIGKILLed test leaves nothing behind. Children are only ever started
    # from the main thread (the signal follows the parent thread).
    try:
        if _libc is not None:
            _libc.prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(args, **kw):
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc = False
    kw.setdefault("preexec_fn", _pdeathsig)
    p = subprocess.Popen(args, **kw)
    _live.append(p)
    return p


def kill_all():
    for p in _live:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in _live:
        try:
            p.wait(timeout=10)
        except Exception:
            pass


def install_signal_cleanup():
    def on_term(signum, frame):
        kill_all()
        print("Bail out! killed by signal %d" % signum)
        sys.stdout.flush()
        os._exit(1)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_base(offsets=(0, 1, 10, 20, 21, 30, 31, 40, 41)):
    """A base port such that base+offset is free for every offset (the
    layout of scripts/demo's PAY_DEMO_PORT_BASE)."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
        s.close()
        if base > 65500 - max(offsets):
            continue
        if all(port_free(base + o) for o in offsets):
            return base
    raise RuntimeError("no free port base")


# ---------------------------------------------------------------- CSV

def read_csv_text(text):
    return list(csv.reader(io.StringIO(text)))


def read_csv_file(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def pence(s):
    """'-12.34' -> -1234, exactly."""
    s = s.strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, _, frac = s.partition(".")
    frac = (frac + "00")[:2]
    v = int(whole or "0") * 100 + int(frac)
    return -v if neg else v


# ---------------------------------------------------------------- the model

def gen_sample(out, seed=1):
    subprocess.run([sys.executable, GEN_SAMPLE, "--seed", str(seed), "--out", out,
                    "--start-week", START_WEEK, "--weeks", "2", "--today", TODAY],
                   check=True, stdout=subprocess.DEVNULL)


def refmodel(sample):
    """The reference model's report (JSON) for the scenario as the demo runs
    it: hours imported by finance (no date check) with today the scenario's
    today, the first week closed."""
    out = subprocess.run([sys.executable, REFMODEL, sample, "--finance",
                          "--close-week", WEEK1, "--today", TODAY, "--format", "json"],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out)


def model_rejections(rep):
    """{(file, line, code)} of every row the model refuses."""
    out = set()
    for j in rep["reference"]["rejections"]:
        out.add((j["file"], j["line"], j["code"]))
    for j in rep["hours"]["rejections"]:
        out.add((j["file"], j["line"], j["code"]))
    for k in ("amendments", "voids"):
        for j in rep[k]["rejections"]:
            out.add((j["file"], j["line"], j["code"]))
    return out


# ---------------------------------------------------------------- deployment

class Deployment:
    def __init__(self, tmp, payctl, hours, wages, invoicing, today=TODAY):
        self.tmp = tmp
        self.exe = {"payctl": payctl, "hours": hours, "wages": wages,
                    "invoicing": invoicing}
        for name, path in self.exe.items():
            if not os.access(path, os.X_OK):
                raise SystemExit("not an executable: %s (%s)" % (path, name))
        self.today = today
        self.keys = os.path.join(tmp, "keys")
        self.data = os.path.join(tmp, "data")
        self.logs = os.path.join(tmp, "logs")
        for d in (self.keys, self.data, self.logs):
            os.makedirs(d, exist_ok=True)
        base = free_port_base()
        self.ep = {"hours": "tcp://127.0.0.1:%d" % base,
                   "hours_feed": "tcp://127.0.0.1:%d" % (base + 1),
                   "wages": "tcp://127.0.0.1:%d" % (base + 10),
                   "invoicing": "tcp://127.0.0.1:%d" % (base + 20),
                   "invoice_feed": "tcp://127.0.0.1:%d" % (base + 21)}
        self.procs = {}
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("PAY_") or k == "PAYCTL_CONFIG":
                del self.env[k]
        self.env.update({
            "PAY_TODAY": today, "PAY_DATA_DIR": self.data, "PAY_KEYS_DIR": self.keys,
            # Finance issues the invoices; an automatic issue at a restart
            # would issue a period half-loaded (see scripts/demo).
            "PAY_AUTO_ISSUE": "no",
            "PAY_HOURS_ENDPOINT": self.ep["hours"],
            "PAY_WAGES_ENDPOINT": self.ep["wages"],
            "PAY_INVOICING_ENDPOINT": self.ep["invoicing"],
        })

    # -- keys
    def make_keys(self, prisons, employers):
        names = [("hours", "service", "-"), ("wages", "service", "-"),
                 ("invoicing", "service", "-"), ("industries", "industries", "-"),
                 ("finance", "finance", "-")]
        for p in prisons:
            names.append(("governor-" + p, "governor", p))
            names.append(("instructor-" + p, "instructor", p))
        for e in employers:
            names.append(("employer-" + e, "employer", e))
        allow = os.path.join(self.keys, "allow.txt")
        for name, role, scope in names:
            self.payctl_ok(None, "keys", "new", name, "--dir", self.keys)
            self.payctl_ok(None, "keys", "grant", os.path.join(self.keys, name + ".pub"),
                           "--role", role, "--scope", scope, "--name", "e2e-" + name,
                           "--allow-file", allow)

    # -- services
    def _cmd(self, name):
        if name == "hours":
            return [self.exe["hours"], "--endpoint", self.ep["hours"],
                    "--feed-endpoint", self.ep["hours_feed"],
                    "--invoice-feed", self.ep["invoice_feed"]]
        if name == "wages":
            return [self.exe["wages"], "--endpoint", self.ep["wages"],
                    "--hours-feed", self.ep["hours_feed"]]
        return [self.exe["invoicing"], "--endpoint", self.ep["invoicing"],
                "--feed-endpoint", self.ep["invoice_feed"],
                "--hours-feed", self.ep["hours_feed"],
                "--supplier-config", self.supplier_config()]

    def supplier_config(self):
        """The supplier's details, as scripts/demo configures them."""
        path = os.path.join(self.tmp, "supplier.conf")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(SUPPLIER_CONFIG)
        return path

    def start(self, name):
        log = open(os.path.join(self.logs, name + ".log"), "ab")
        self.procs[name] = spawn(self._cmd(name), env=self.env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
        log.close()

    def start_all(self):
        for s in SERVICES:
            self.start(s)

    def kill(self, name):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def stop_all(self, timeout=30):
        """SIGTERM every service; {name: exit status} (None: had to be killed)."""
        status = {}
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in self.procs.items():
            try:
                status[name] = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                status[name] = None
        return status

    def log_text(self, name):
        try:
            with open(os.path.join(self.logs, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_up(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError("%s exited with %s:\n%s" % (
                        name, p.returncode, self.log_text(name)[-2000:]))
            r = self.payctl("finance", "status")
            if r.returncode == 0:
                return True
            time.sleep(0.2)
        return False

    # -- payctl
    def payctl(self, who, *args, timeout=300, env=None):
        cmd = [self.exe["payctl"], "--config", "/dev/null"]
        if who:
            cmd += ["--key-file", os.path.join(self.keys, who + ".key")]
        cmd += list(args)
        p = spawn(cmd, env=env or self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, universal_newlines=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            err += "\n(e2e: payctl timed out after %ds)" % timeout
        return subprocess.CompletedProcess(cmd, p.returncode, out, err)

    def payctl_ok(self, who, *args, **kw):
        r = self.payctl(who, *args, **kw)
        if r.returncode != 0:
            raise RuntimeError("payctl %s failed (%d):\n%s%s" % (
                " ".join(args), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
        return r.stdout

    def status(self):
        """{service: row dict} from payctl status, or None."""
        r = self.payctl("finance", "--format", "csv", "status")
        rows = read_csv_text(r.stdout)
        if len(rows) < 2:
            return None
        return {row[0]: dict(zip(rows[0], row)) for row in rows[1:] if row}

    def wait_feeds(self, timeout=120):
        """Until wages and invoicing have applied every hours event."""
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.status()
            if st and all(st.get(s, {}).get("lag") == "0" for s in ("wages", "invoicing")):
                return st
            time.sleep(0.2)
        raise RuntimeError("the consumers did not catch up: %r" % (st,))


# ---------------------------------------------------------------- import

SUMMARY_TAIL = " rejected"


def parse_import(stdout):
    """(summary (rows, accepted, rejected) or None, [(line, code, message)])."""
    summary, rejects = None, []
    for l in stdout.splitlines():
        if l.startswith("line "):
            head, _, rest = l.partition(": ")
            code, _, msg = rest.partition(": ")
            try:
                rejects.append((int(head[5:]), code, msg))
            except ValueError:
                pass
        elif l.endswith(SUMMARY_TAIL) and " rows, " in l:
            try:
                tail = l.rsplit(": ", 1)[1]
                nums = [int(x.split()[0]) for x in tail.split(", ")]
                summary = tuple(nums)
            except (IndexError, ValueError):
                pass
    return summary, rejects


def split_by_prison(sample, name, prison_of_row):
    """Writes sample/name.<P>.csv per prison; returns [(prison, path,
    [original line of each part line, index 0 = line 1])]."""
    rows = read_csv_file(os.path.join(sample, name + ".csv"))
    parts = {}
    for line, row in enumerate(rows[1:], start=2):
        parts.setdefault(prison_of_row(row), []).append((line, row))
    out = []
    for p in sorted(parts):
        path = os.path.join(sample, "%s.%s.csv" % (name, p))
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(rows[0])
            for _, r in parts[p]:
                w.writerow(r)
        out.append((p, path, [1] + [line for line, _ in parts[p]]))
    return out


class Scenario:
    """The sample scenario through payctl, step by step; collects what the
    services answered. hours_runner(dep, who, path, args) -> CompletedProcess
    runs one hours import (the crash test watches and kills in it)."""

    def __init__(self, dep, sample, hours_batch=None, retries=0):
        self.dep = dep
        self.sample = sample
        self.rejections = set()           # (file, line, code)
        self.messages = {}                # (file, line, code) -> message
        self.summaries = {}               # file -> (rows, accepted, rejected)
        self.failures = []                # what did not complete
        self.hours_batch = hours_batch
        self.retries = retries
        self.prisons = [r[0] for r in read_csv_file(os.path.join(sample, "prisons.csv"))[1:]]
        self.employers = [r[0] for r in read_csv_file(os.path.join(sample, "employers.csv"))[1:]]
        self.contract_prison = {r[0]: r[2] for r in
                                read_csv_file(os.path.join(sample, "contracts.csv"))[1:]
                                if len(r) > 2}

    def _record(self, orig, summary, rejects, linemap=None):
        for line, code, msg in rejects:
            ol = linemap[line - 1] if linemap else line
            self.rejections.add((orig, ol, code))
            self.messages[(orig, ol, code)] = msg
        if summary:
            prev = self.summaries.get(orig, (0, 0, 0))
            self.summaries[orig] = tuple(a + b for a, b in zip(prev, summary))

    def import_file(self, who, kind, path, orig=None, linemap=None, extra=(), runner=None):
        orig = orig or os.path.basename(path)
        attempts = []
        for attempt in range(self.retries + 1):
            if runner:
                r = runner(self.dep, who, kind, path, list(extra))
            else:
                r = self.dep.payctl(who, "import", kind, path, *extra)
            summary, rejects = parse_import(r.stdout)
            attempts.append(r)
            # exit 0: all accepted; exit 1 with a summary that did not stop
            # early: some rows refused; anything else did not complete.
            complete = summary is not None and "(stopped early)" not in r.stdout \
                and r.returncode in (0, 1)
            if complete:
                self._record(orig, summary, rejects, linemap)
                return r, attempt
        self.failures.append("import %s %s: exit %s\n%s%s" % (
            kind, path, attempts[-1].returncode, attempts[-1].stdout[-2000:],
            attempts[-1].stderr[-2000:]))
        return attempts[-1], len(attempts)

    def reference(self):
        imp = self.import_file
        imp("industries", "prisons", os.path.join(self.sample, "prisons.csv"))
        imp("industries", "prisoners", os.path.join(self.sample, "prisoners.csv"))
        imp("industries", "employers", os.path.join(self.sample, "employers.csv"))
        imp("industries", "contracts", os.path.join(self.sample, "contracts.csv"))
        imp("industries", "allocations", os.path.join(self.sample, "allocations.csv"))
        for p, path, lm in split_by_prison(self.sample, "pay_rates", lambda r: r[0]):
            imp("governor-" + p, "pay-rates", path, "pay_rates.csv", lm)
        # A row naming a contract nobody registered is sent by one of the
        # governors: pay-wages refuses it (UNKNOWN_CONTRACT) before scope.
        anyone = sorted(set(self.contract_prison.values()))[0]
        for p, path, lm in split_by_prison(self.sample, "outside_wages",
                                           lambda r: self.contract_prison.get(r[0], anyone)):
            imp("governor-" + p, "outside-wages", path, "outside_wages.csv", lm)
        imp("industries", "billing-terms", os.path.join(self.sample, "billing_terms.csv"))
        imp("finance", "deductions", os.path.join(self.sample, "deductions.csv"))
        imp("industries", "transfers", os.path.join(self.sample, "transfers.csv"))
        imp("industries", "incentive-levels", os.path.join(self.sample, "incentive_levels.csv"))

    def hours(self, runner=None):
        extra = ("--batch", str(self.hours_batch)) if self.hours_batch else ()
        for f in ("hours_week1.csv", "hours_week2.csv"):
            self.import_file("finance", "hours", os.path.join(self.sample, f), extra=extra,
                             runner=runner)

    def corrections(self):
        rows = read_csv_file(os.path.join(self.sample, "amendments.csv"))
        for line, r in enumerate(rows[1:], start=2):
            rid, minutes, units, outcome, paid = r
            self._correct("amendments.csv", line, "amend", rid, "--minutes", minutes,
                          "--units", units or "0", "--outcome", outcome,
                          "--paid-absence", paid or "no")
        rows = read_csv_file(os.path.join(self.sample, "voids.csv"))
        for line, r in enumerate(rows[1:], start=2):
            self._correct("voids.csv", line, "void", r[0])

    def _correct(self, file, line, kind, rid, *args):
        r = self.dep.payctl("finance", "hours", kind, rid, *args)
        if r.returncode == 0:
            return
        prefix = "payctl: hours %s: " % kind
        for l in r.stderr.splitlines():
            if l.startswith(prefix):
                code, _, msg = l[len(prefix):].partition(": ")
                if code and code.replace("_", "").isalpha() and code.isupper():
                    self.rejections.add((file, line, code))
                    self.messages[(file, line, code)] = msg
                    return
        self.failures.append("hours %s %s: exit %d %s" % (kind, rid, r.returncode, r.stderr))

    def close_and_issue(self):
        self.dep.wait_feeds()
        for p in self.prisons:
            self.dep.payctl_ok("finance", "week", "close", "--prison", p, "--week", WEEK1)
        self.dep.wait_feeds()
        r = self.dep.payctl("finance", "invoices", "issue", "--as-of", TODAY)
        if r.returncode != 0:
            raise RuntimeError("payctl invoices issue: exit %d\n%s%s" % (
                r.returncode, r.stdout, r.stderr))
        return (r.stderr.strip().splitlines() or ["(no summary)"])[-1]


# ---------------------------------------------------------------- comparisons

def check_against_model(dep, scen, rep, label=""):
    """The checks shared by e2e_scenario and e2e_crash: rejections, accepted
    counts, records in the wage service, payroll, invoices, reconciliation."""
    sfx = (" " + label) if label else ""
    ok(not scen.failures, "every import and correction completed" + sfx,
       "\n".join(scen.failures))

    want = model_rejections(rep)
    got = scen.rejections
    eq(sorted(got), sorted(want), "rejected rows (file, line, code) = the model's (%d)%s"
       % (len(want), sfx))

    mh = {f["file"]: f for f in rep["hours"]["files"]}
    for f in ("hours_week1.csv", "hours_week2.csv"):
        m = mh.get(f, {})
        eq(scen.summaries.get(f), (m.get("rows"), m.get("accepted", 0) + m.get("replayed", 0),
                                   m.get("rejected")),
           "%s: rows, accepted, rejected = the model's%s" % (f, sfx))

    st = dep.wait_feeds()
    detail = st["wages"]["detail"] if st else ""
    want_records = rep["hours"]["accepted"]
    eq(detail.split("records ")[-1].strip() if "records " in detail else detail,
       str(want_records), "the wage service holds each accepted record once (%d)%s"
       % (want_records, sfx))

    # payroll: every prisoner's row, and the totals
    for pr in rep["payroll"]:
        p, w = pr["prison"], pr["week"]
        r = dep.payctl("finance", "--format", "json", "wages", "payroll", "--prison", p,
                       "--week", w)
        if not ok(r.returncode == 0, "payroll %s %s answers%s" % (p, w, sfx), r.stderr):
            continue
        rows = json.loads(r.stdout)
        cols = ("sessions", "minutes", "gross", "top_up", "deductions", "levy", "net")

        def num(row, c):
            return int(row[c]) if c in ("sessions", "minutes") else pence(row[c])
        got_rows = {row["prisoner"]: tuple(num(row, c) for c in cols)
                    for row in rows if row["prisoner"] != "TOTAL"}
        want_rows = {row["prisoner"]: tuple(row[c] for c in cols) for row in pr["rows"]}
        diff = sorted(k for k in set(got_rows) | set(want_rows)
                      if got_rows.get(k) != want_rows.get(k))
        ok(not diff, "payroll %s %s: each of %d prisoners = the model%s"
           % (p, w, len(want_rows), sfx),
           "\n".join("%s got %r want %r" % (k, got_rows.get(k), want_rows.get(k))
                     for k in diff[:20]))
        total = [row for row in rows if row["prisoner"] == "TOTAL"]
        t = pr["totals"]
        eq(tuple(num(total[0], c) for c in cols) if total else None,
           tuple(t[c] for c in cols),
           "payroll %s %s TOTAL (sessions, minutes, gross, top_up, deductions, levy, net)"
           " = the model%s" % (p, w, sfx))
        csv_r = dep.payctl("finance", "--format", "csv", "wages", "payroll", "--prison", p,
                           "--week", w)
        lines = csv_r.stdout.splitlines()
        eq(lines[:1], ["prison,week,prisoner,sessions,minutes,gross,top_up,deductions,levy,net"],
           "payroll %s %s CSV has the FORMATS.md header%s" % (p, w, sfx))

    # invoices: the issuable ones, numbered gapless, each = the model's
    r = dep.payctl("finance", "--format", "csv", "invoices", "list")
    ok(r.returncode == 0, "invoices list answers" + sfx, r.stderr)
    docs = read_csv_text(r.stdout)
    head, docs = (docs[0], docs[1:]) if docs else ([], [])
    docs = [dict(zip(head, d)) for d in docs if d]
    want_inv = {(i["employer"], i["period"]): i for i in rep["invoices"] if i["issuable"]}
    got_inv = {(d["employer"], d["period"]): d for d in docs}
    eq(sorted(got_inv), sorted(want_inv), "invoices issued: one per (employer, period) that"
       " has ended (%d)%s" % (len(want_inv), sfx))
    eq(sorted(d["number"] for d in docs),
       ["INV-%06d" % i for i in range(1, len(docs) + 1)],
       "invoice numbers are INV-000001.. gapless, no credit notes" + sfx)
    bad = []
    for k, i in sorted(want_inv.items()):
        d = got_inv.get(k)
        want_t = (i["net_total"], i["vat_total"], i["total"])
        got_t = tuple(pence(d[c]) for c in ("net", "vat", "total")) if d else None
        if got_t != want_t:
            bad.append("%s %s got %r want %r" % (k[0], k[1], got_t, want_t))
    ok(not bad, "each invoice's net, VAT and total = the model's" + sfx, "\n".join(bad))
    sums = rep["invoice_totals"]["issuable"]
    eq((sum(pence(d["net"]) for d in docs), sum(pence(d["vat"]) for d in docs),
        sum(pence(d["total"]) for d in docs)),
       (sums["net"], sums["vat"], sums["total"]),
       "invoice totals (net, VAT, total) = the model's%s" % sfx)
    bad = []
    for k, i in sorted(want_inv.items()):
        d = got_inv.get(k)
        if not d:
            continue
        lr = dep.payctl("finance", "invoices", "get", d["number"], "--csv")
        lines = read_csv_text(lr.stdout)
        if lr.returncode != 0 or not lines:
            bad.append("%s: %s" % (d["number"], lr.stderr.strip()))
            continue
        lh = lines[0]
        got_l = sorted((x[lh.index("contract")], x[lh.index("quantity")],
                        pence(x[lh.index("unit_price")]), pence(x[lh.index("net")]),
                        int(x[lh.index("vat_rate_bp")])) for x in lines[1:] if x)
        want_l = sorted((ln["contract"], ln["quantity"], ln["unit_price"], ln["net"],
                         ln["vat_rate_bp"]) for ln in i["lines"])
        if got_l != want_l:
            bad.append("%s %s %s: got %r want %r" % (d["number"], k[0], k[1], got_l, want_l))
    ok(not bad, "each invoice's lines (contract, quantity, unit price, net, VAT rate) ="
       " the model's" + sfx, "\n".join(bad))

    # reconciliation: both weeks, every prison
    for w in (WEEK1, WEEK2):
        r = dep.payctl("finance", "--format", "csv", "reconcile", "--week", w)
        got_rec = [row for row in read_csv_text(r.stdout)[1:] if row]
        want_rec = [[str(x[k]) for k in ("prison", "week", "minutes_captured", "minutes_priced",
                                         "billable_minutes_captured",
                                         "billable_minutes_invoiced_or_pending", "status")]
                    for x in rep["reconciliation"] if x["week"] == w]
        ok(r.returncode == 0, "reconcile %s exits 0 (clean)%s" % (w, sfx), r.stdout + r.stderr)
        eq(got_rec, want_rec, "reconciliation %s = the model's%s" % (w, sfx))
    return docs


def check_clean_stop(dep, label=""):
    sfx = (" " + label) if label else ""
    status = dep.stop_all()
    eq(status, {s: 0 for s in SERVICES}, "the services stop cleanly on SIGTERM (exit 0)" + sfx)
    bad = [s for s in SERVICES
           if "ERROR: AddressSanitizer" in dep.log_text(s)
           or "runtime error:" in dep.log_text(s)
           or "ERROR: LeakSanitizer" in dep.log_text(s)]
    ok(not bad, "no sanitizer report in the service logs" + sfx,
       "\n".join("%s:\n%s" % (s, dep.log_text(s)[-3000:]) for s in bad))


def run_watched(cmd, env, on_progress, tick=None, timeout=600):
    """Runs cmd with stderr on a pseudo-terminal (payctl then reports its
    progress there after every batch: 'FILE: N rows read, ...') and stdout
    on a pipe; calls on_progress(rows_read) from this (the main) thread as
    the count grows. Returns a CompletedProcess (stderr: what the terminal
    showed). tick(), if given, is called every 20 ms or so."""
    master, slave = pty.openpty()
    p = spawn(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
              stderr=slave)
    os.close(slave)
    out, err = [], []
    buf = ""
    last = -1
    fds = {p.stdout.fileno(): "out", master: "tty"}
    end = time.time() + timeout
    while fds and time.time() < end:
        r, _, _ = select.select(list(fds), [], [], 0.02)
        if tick:
            tick()
        for fd in r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                del fds[fd]
                continue
            text = chunk.decode("utf-8", "replace")
            if fds[fd] == "out":
                out.append(text)
                continue
            err.append(text)
            buf += text
            # Every complete report, in order ('\r\033[K' starts each).
            while " rows read" in buf:
                pos = buf.index(" rows read")
                start = buf.rfind(" ", 0, pos) + 1
                try:
                    n = int(buf[start:pos])
                except ValueError:
                    n = last
                buf = buf[pos + len(" rows read"):]
                if n > last:
                    last = n
                    on_progress(n)
            buf = buf[-256:]
        if p.poll() is not None and not r:
            break
    os.close(master)
    if p.poll() is None:
        p.kill()
    p.wait()
    rest = p.stdout.read()
    if rest:
        out.append(rest.decode("utf-8", "replace"))
    p.stdout.close()
    return subprocess.CompletedProcess(cmd, p.returncode, "".join(out),
                                       "".join(err).replace("\r", "\n"))
