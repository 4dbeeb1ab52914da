"""Shared pieces of the wage service's process tests (standard library only).

- TAP output (check / note / done),
- a key directory with every role (pay-keygen),
- restartable processes (pay-wages, the test feed producer),
- the wages_client CLI, parsed,
- an independent model of DOMAIN.md's wage rules, written from the spec and
  not from the C code, which the tests compare the service against.
"""
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time

n_checks = 0
n_failed = 0


def check(ok, what):
    global n_checks, n_failed
    n_checks += 1
    if not ok:
        n_failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n_checks, what), flush=True)
    return ok


def check_eq(got, want, what):
    ok = check(got == want, what)
    if not ok:
        note("  got  %r" % (got,))
        note("  want %r" % (want,))
    return ok


def note(msg):
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def done():
    print("1..%d" % n_checks, flush=True)
    return 1 if n_failed else 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- keys -------------------------------------------------------------------

ROLES = [
    # (file base, role, scope)
    ("hours", "service", "-"),
    ("wages", "service", "-"),
    ("invoicing", "service", "-"),
    ("finance", "finance", "-"),
    ("gov-MDI", "governor", "MDI"),
    ("gov-KMI", "governor", "KMI"),
    ("gov-LEI", "governor", "LEI"),
    ("instructor-MDI", "instructor", "MDI"),
    ("instructor-KMI", "instructor", "KMI"),
    ("industries", "industries", "-"),
    ("employer", "employer", "acme"),
]


def make_keys(keygen, keys_dir):
    os.makedirs(keys_dir, exist_ok=True)
    allow = os.path.join(keys_dir, "allow.txt")
    for base, role, scope in ROLES:
        path = os.path.join(keys_dir, base)
        subprocess.run([keygen, path], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([keygen, "--allow", allow, "--role", role, "--scope", scope,
                        "--name", base, path + ".pub"], check=True,
                       stdout=subprocess.DEVNULL)
    return allow


# ---- processes ----------------------------------------------------------------

class Proc:
    def __init__(self, argv, log_path, env=None):
        self.argv, self.log_path, self.env = argv, log_path, env
        self.p = None
        self.starts = 0

    def start(self):
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env or {})
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log, env=env)
        log.close()
        self.starts += 1

    def kill(self):
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
        if self.p:
            self.p.wait()

    def stop(self, timeout=30):
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def alive(self):
        return self.p is not None and self.p.poll() is None


class Client:
    """Runs wages_client as one identity and parses its output."""

    def __init__(self, exe, endpoint, keys_dir, who):
        self.exe, self.endpoint, self.keys_dir, self.who = exe, endpoint, keys_dir, who

    def run(self, *args, timeout_ms=5000, request_id=None):
        """request_id: send the request with this id (a resend, when reused)."""
        argv = [self.exe, "--endpoint", self.endpoint,
                "--server-pub", os.path.join(self.keys_dir, "wages.pub"),
                "--key", os.path.join(self.keys_dir, self.who + ".key"),
                "--timeout", str(timeout_ms)]
        if request_id is not None:
            argv += ["--request-id", request_id]
        argv += [str(a) for a in args]
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=600)
        return Reply(r.returncode, r.stdout, r.stderr)


class Reply:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        self.lines = out.splitlines()
        first = parse_kv(self.lines[0]) if self.lines else {}
        self.status = first.get("status", "NONE")
        self.message = self.lines[0].split("message=", 1)[1] if self.lines and \
            "message=" in self.lines[0] else ""

    def rows(self, word):
        return [parse_kv(l) for l in self.lines[1:] if l.startswith(word + " ")]

    def items(self):
        return self.rows("item")


def parse_kv(line):
    out = {}
    for word in line.split():
        if "=" in word:
            k, v = word.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


def wait_for(pred, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


# ---- the independent model of the wage rules (DOMAIN.md) ----------------------

PAID = {"ATTENDED", "NOT_REQUIRED", "CLASH", "CANCELLED"}
ABSENCES = {"SICK", "REST", "OTHER"}
SESSIONS = {"AM": 1, "PM": 2, "ED": 3}
LEVY_THRESHOLD = 2000
MIN_WEEKLY = 400


def rhu(a, b):
    """round_half_up(a / b) for a >= 0."""
    return (a + b // 2) // b


def iso_week(date):
    import datetime
    y, m, d = map(int, date.split("-"))
    iy, iw, _ = datetime.date(y, m, d).isocalendar()
    return "%04d-W%02d" % (iy, iw)


class Record:
    FIELDS = ["record_id", "prisoner", "prison", "contract", "wt", "band", "level",
              "date", "session", "minutes", "units", "outcome", "paid"]

    def __init__(self, **kw):
        for f in self.FIELDS:
            setattr(self, f, kw[f])
        self.week = iso_week(self.date)

    def line(self, kind):
        return ",".join([kind, self.record_id, self.prisoner, self.prison, self.contract,
                         self.wt, str(self.band), self.level, self.date, self.session,
                         str(self.minutes), str(self.units), self.outcome,
                         "1" if self.paid else "0"])

    def copy(self, **kw):
        d = {f: getattr(self, f) for f in self.FIELDS}
        d.update(kw)
        return Record(**d)


class Model:
    """Prices records and closes weeks the way DOMAIN.md says."""

    def __init__(self):
        self.rates = {}      # (prison, band, level) -> [(eff, basis, rate, piece, items)]
        self.outside = {}    # contract -> [(eff, wage)]
        self.deductions = {}  # (prisoner, week) -> {kind: amount}
        self.adjustments = {}  # (prison, week, prisoner) -> sum
        self.live = {}       # record_id -> Record
        self.by_pw = {}      # (prison, week) -> {record_id: Record}
        self.by_xw = {}      # (prisoner, week) -> {record_id: Record}
        self.closed = {}     # (prison, week) -> {prisoner: payslip dict}
        self.events = []     # lines for the producer
        self.lines_per_event = []   # ledger lines each event must post
        # The reference facts the hours service publishes (prisons,
        # contracts, prisoners' custody), written by write_events before
        # the events above. A prisoner's custody is read off their records
        # in date order: the prison of the earliest, then a transfer on
        # each date their prison changes.
        self.prisons = set()
        self.contracts = {}  # id -> (prison, wt)
        self.seen = {}       # prisoner -> {(date, session): prison}

    def custody(self, prisoner):
        """(start prison, [(from date, prison)]) from the records."""
        days = sorted(self.seen[prisoner].items(), key=lambda x: (x[0][0], SESSIONS[x[0][1]]))
        start, moves, cur = days[0][1], [], days[0][1]
        for (d, _), prison in days[1:]:
            if prison != cur:
                moves.append((d, prison))
                cur = prison
        return start, moves

    def custody_on(self, prisoner, date):
        start, moves = self.custody(prisoner)
        prison = start
        for d, p in moves:
            if d <= date:
                prison = p
        return prison

    def _facts(self, r):
        self.prisons.add(r.prison)
        self.contracts.setdefault(r.contract, (r.prison, r.wt))
        self.seen.setdefault(r.prisoner, {})[(r.date, r.session)] = r.prison

    def facts_lines(self):
        """The facts as the test producer's lines (P, K, N)."""
        out = ["P,%s,%s,%s" % (p, p, "OPEN" if p == "KMI" else "CLOSED")
               for p in sorted(self.prisons)]
        out += ["K,%s,acme,%s,%s,Packing,2020-01-01,-" % (k, pr, "O" if wt == "O" else "W")
                for k, (pr, wt) in sorted(self.contracts.items())]
        for n in sorted(self.seen):
            start, moves = self.custody(n)
            out.append(",".join(["N", n, start, "-"] + ["%s:%s" % m for m in moves]))
        return out

    def rate_in_force(self, r):
        rows = [x for x in self.rates.get((r.prison, r.band, r.level), []) if x[0] <= r.date]
        return max(rows, key=lambda x: x[0]) if rows else None

    def outside_in_force(self, r):
        rows = [x for x in self.outside.get(r.contract, []) if x[0] <= r.date]
        return max(rows, key=lambda x: x[0]) if rows else None

    def price(self, r):
        """(pence, no_rate)"""
        paid = r.outcome in PAID or (r.outcome in ABSENCES and r.paid)
        if not paid:
            return 0, False
        if r.wt == "W":
            row = self.rate_in_force(r)
            if row is None:
                return 0, True
            _, basis, rate, piece, items = row
            pay = rhu(r.minutes * rate, 60) if basis == "HOURLY" else rate
            if r.outcome == "ATTENDED" and items:
                pay += (r.units // items) * piece
            return pay, False
        row = self.outside_in_force(r)
        if row is None:
            return 0, True
        return rhu(r.minutes * row[1], 60), False

    # events
    def _put(self, r):
        old = self.live.get(r.record_id)
        if old:
            self._drop(old)
        self.live[r.record_id] = r
        self.by_pw.setdefault((r.prison, r.week), {})[r.record_id] = r
        self.by_xw.setdefault((r.prisoner, r.week), {})[r.record_id] = r

    def _drop(self, r):
        del self.live[r.record_id]
        del self.by_pw[(r.prison, r.week)][r.record_id]
        del self.by_xw[(r.prisoner, r.week)][r.record_id]

    def record(self, r):
        self._facts(r)
        self.events.append(r.line("R"))
        self.lines_per_event.append(1)
        self._put(r)

    def amend(self, r):
        self._facts(r)
        self.events.append(r.line("A"))
        self.lines_per_event.append(2 if r.record_id in self.live else 1)
        self._put(r)

    def void(self, record_id):
        r = self.live[record_id]
        self._drop(r)
        self.events.append(r.line("V"))
        self.lines_per_event.append(1)

    def week_records(self, prison, week):
        return list(self.by_pw.get((prison, week), {}).values())

    def last_prison(self, prisoner, week):
        """DOMAIN.md: the last prison where the prisoner was in custody that
        week (the custody on its Sunday: nobody is released here)."""
        if prisoner not in self.seen:
            return None
        y, w = int(week[:4]), int(week[6:])
        sunday = dt.date.fromisocalendar(y, w, 7).isoformat()
        return self.custody_on(prisoner, sunday)

    def payslip(self, prison, week, prisoner):
        rs = [r for r in self.by_xw.get((prisoner, week), {}).values() if r.prison == prison]
        workshop = sum(self.price(r)[0] for r in rs if r.wt == "W")
        outside = sum(self.price(r)[0] for r in rs if r.wt == "O")
        adj = self.adjustments.get((prison, week, prisoner), 0)
        attended = any(r.wt == "W" and r.outcome == "ATTENDED" for r in rs)
        gross = workshop + outside + adj
        top_up = MIN_WEEKLY - workshop if attended and workshop < MIN_WEEKLY else 0
        ded = {}
        if self.last_prison(prisoner, week) == prison:
            room = max(outside, 0)
            for kind in ("INCOME_TAX", "NATIONAL_INSURANCE", "COURT_ORDER",
                         "CHILD_MAINTENANCE"):
                want = self.deductions.get((prisoner, week), {}).get(kind, 0)
                take = min(want, room)
                room -= take
                if take:
                    ded[kind] = take
        deductions = sum(ded.values())
        net_outside = outside - deductions
        levy = max(0, net_outside - LEVY_THRESHOLD) * 40 // 100
        net = gross + top_up - deductions - levy
        return {"prisoner": prisoner, "sessions": len(rs),
                "minutes": sum(r.minutes for r in rs), "gross": gross, "top_up": top_up,
                "deductions": deductions, "levy": levy, "net": net,
                "close_lines": (1 if top_up else 0) + len(ded) + (1 if levy else 0)}

    def close(self, prison, week):
        prisoners = sorted({r.prisoner for r in self.week_records(prison, week)} |
                           {p for (pr, w, p) in self.adjustments if pr == prison and w == week})
        slips = {p: self.payslip(prison, week, p) for p in prisoners}
        self.closed[(prison, week)] = slips
        rs = self.week_records(prison, week)
        self.events.append("C,%s,%s,%d,%d" % (prison, week, len(rs),
                                              sum(r.minutes for r in rs)))
        self.lines_per_event.append(sum(s["close_lines"] for s in slips.values()))
        return slips

    def write_events(self, path, facts_only=False):
        """Writes the facts, then (unless facts_only) the events; returns how
        many facts lines come first (the events' seqs start after them)."""
        facts = self.facts_lines()
        with open(path, "w") as f:
            for e in facts + ([] if facts_only else self.events):
                f.write(e + "\n")
        return len(facts)


def parse_journal(path):
    """[(date, kind, prisoner, {seq, feed, week, prison, ref}, [(account, pence)])]"""
    txns = []
    cur = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith(";"):
                cur = None
                continue
            if line.startswith("commodity ") or line.startswith("account "):
                cur = None   # directives: the commodity, each account and its type
                continue
            if not line.startswith(" "):
                head, _, comment = line.partition("  ; ")
                words = head.split(" ")
                meta = {}
                for kv in comment.split(", "):
                    k, _, v = kv.partition(":")
                    meta[k] = v
                cur = (words[0], words[1], words[2], meta, [])
                txns.append(cur)
            else:
                account, amount = line.strip().split("  ")
                pounds = amount.split(" ")[0]
                neg = pounds.startswith("-")
                whole, frac = pounds.lstrip("-").split(".")
                pence = int(whole) * 100 + int(frac)
                cur[4].append((account, -pence if neg else pence))
    return txns
