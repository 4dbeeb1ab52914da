#!/usr/bin/env python3
"""Process-level tests of the hours service: the real pay-hours over real
CURVE sockets with a real LMDB store in a temporary folder, driven through
pay-hours-client (one JSON request per line; Python has no zmq here).

  hours_process.py PAY_HOURS PAY_HOURS_CLIENT PAY_KEYGEN TEST_FEED_PRODUCER

The invoicing service's feed, which tells pay-hours the registered
employers, is played by the test feed producer (--feed invoices).

Covers: scope enforcement for every role; a garbage frame answered with an
error, then a good request served; idempotent resubmission after a client
timeout; SIGKILL after acknowledgement, restart, the record is there and in
the feed exactly once (read by a real feed consumer); SIGTERM exits cleanly.
Prints TAP."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOURS, CLIENT, KEYGEN, PRODUCER = sys.argv[1:5]
TODAY = "2026-11-25"

n_tests = 0
n_failed = 0


def ok(cond, name, detail=None):
    global n_tests, n_failed
    n_tests += 1
    if not cond:
        n_failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n_tests, name))
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def note(msg):
    print("# " + msg)
    sys.stdout.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


WORK = tempfile.mkdtemp(prefix="hours_process.")
KEYS = os.path.join(WORK, "keys")
os.makedirs(KEYS)
API = "tcp://127.0.0.1:%d" % free_port()
FEED = "tcp://127.0.0.1:%d" % free_port()
INVOICE_FEED = "tcp://127.0.0.1:%d" % free_port()

# name -> (role, scope)
PEOPLE = {
    "ind": ("industries", "-"),
    "mdi": ("instructor", "MDI"),
    "lei": ("instructor", "LEI"),
    "fin": ("finance", "-"),
    "gov": ("governor", "MDI"),
    "emp": ("employer", "dhl"),
    "svc": ("service", "-"),
}


def keygen(*args):
    subprocess.run([KEYGEN] + list(args), check=True, stdout=subprocess.DEVNULL)


keygen(os.path.join(KEYS, "hours"))
keygen("--allow", os.path.join(KEYS, "allow.txt"), "--role", "service", "--scope", "-",
       "--name", "hours", os.path.join(KEYS, "hours.pub"))
for name, (role, scope) in PEOPLE.items():
    keygen(os.path.join(KEYS, name))
    keygen("--allow", os.path.join(KEYS, "allow.txt"), "--role", role, "--scope", scope,
           "--name", name, os.path.join(KEYS, name + ".pub"))
keygen(os.path.join(KEYS, "stranger"))   # not on the allow-list
keygen(os.path.join(KEYS, "invoicing"))  # the stand-in invoice feed's pair


class Server:
    def __init__(self):
        self.proc = None
        self.log = open(os.path.join(WORK, "hours.log"), "ab")

    def start(self):
        self.proc = subprocess.Popen(
            [HOURS, "--data-dir", os.path.join(WORK, "data"), "--keys-dir", KEYS,
             "--endpoint", API, "--feed-endpoint", FEED, "--invoice-feed", INVOICE_FEED,
             "--today", TODAY],
            stdout=self.log, stderr=self.log)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)


class Client:
    """One pay-hours-client process: a long-lived CURVE connection."""

    def __init__(self, who, timeout_ms=4000, retries=3):
        self.proc = subprocess.Popen(
            [CLIENT, "--endpoint", API, "--key", os.path.join(KEYS, who + ".key"),
             "--server-key", os.path.join(KEYS, "hours.pub"),
             "--timeout-ms", str(timeout_ms), "--retries", str(retries)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(os.path.join(WORK, "client.log"), "ab"))
        self.who = who

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return {"error": "client exited"}
        return json.loads(line.decode("utf-8", "replace"))

    def call(self, obj):
        """The reply, or {"status": "ERROR:<why>"} when none came."""
        out = self.send(obj)
        if "reply" in out:
            return out["reply"]
        return {"status": "ERROR:" + out.get("error", "?")}

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()


_rid = [0]


def rid():
    _rid[0] += 1
    return "req-%d" % _rid[0]


def req(body_name, body):
    return {"request_id": rid(), body_name: body}


def hours_row(record_id, prisoner, contract, date, session, minutes, outcome="ATTENDED"):
    return {"record_id": record_id, "prisoner": prisoner, "contract": contract,
            "date": date, "session": session, "minutes": str(minutes), "outcome": outcome}


def submit(client, *rows):
    return client.call(req("submit_hours", {"records": list(rows)}))


def item_statuses(reply):
    return [i.get("status") for i in reply.get("items", [])]


def wait_ready(who="fin", seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        c = Client(who, timeout_ms=1000, retries=0)
        r = c.call(req("get_health", {}))
        c.close()
        if r.get("status") == "OK":
            return True
        time.sleep(0.2)
    return False


def read_feed(idle_ms=2000):
    """Every event of the hours feed, read by a real consumer from seq 1."""
    cursor = tempfile.mkdtemp(prefix="cursor.", dir=WORK)
    out = subprocess.run(
        [CLIENT, "--feed", "--endpoint", FEED, "--key", os.path.join(KEYS, "svc.key"),
         "--server-key", os.path.join(KEYS, "hours.pub"), "--data", cursor,
         "--idle-ms", str(idle_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    events = [json.loads(l) for l in out.stdout.decode("utf-8", "replace").splitlines() if l.strip()]
    return out.returncode, events


def recorded_ids(events):
    ids = []
    for e in events:
        ev = e.get("event") or {}
        if "recorded" in ev:
            ids.append(ev["recorded"]["record"]["record_id"])
    return ids


server = Server()
with open(os.path.join(WORK, "employers.txt"), "w") as f:
    f.write("E,dhl,DHL Supply Chain\n")
invoice_feed = subprocess.Popen(
    [PRODUCER, "--feed", "invoices", "--data", os.path.join(WORK, "invfeed"), "--endpoint",
     INVOICE_FEED, "--keys", KEYS, "--events", os.path.join(WORK, "employers.txt")],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "invfeed.log"), "ab"))
try:
    server.start()
    ok(wait_ready(), "pay-hours starts and answers health over CURVE")
    fin0 = Client("fin")
    end = time.time() + 30
    while time.time() < end:
        h = fin0.call(req("get_health", {})).get("health", {})
        if h.get("invoice_cursor", 0) >= 1:
            break
        time.sleep(0.1)
    ok(h.get("invoice_cursor") == 1 and h.get("quarantined", 0) == 0,
       "pay-hours learns the registered employers from the invoice feed", h)

    # ---- reference data --------------------------------------------------
    ind = Client("ind")
    r = ind.call(req("upsert_prisons", {"rows": [
        {"code": "MDI", "name": "Moorland", "regime": "CLOSED"},
        {"code": "LEI", "name": "Leeds", "regime": "CLOSED"}]}))
    ok(item_statuses(r) == ["OK", "OK"], "industries registers prisons", r)
    r = ind.call(req("upsert_prisoners", {"rows": [
        {"number": "A1234BC", "prison": "MDI", "incentive_level": "STD"},
        {"number": "B2345CD", "prison": "LEI", "incentive_level": "ENH"},
        {"number": "C3456DE", "prison": "LEI", "incentive_level": "BAS"}]}))
    ok(item_statuses(r) == ["OK", "OK", "OK"], "industries registers prisoners", r)
    att = {"attested_by": "J Smith", "attested_on": "2025-12-01", "attestation_ref": "COP-1"}
    r = ind.call(req("upsert_contracts", {"rows": [
        dict(id="C-MDI", employer="dhl", prison="MDI", activity="Laundry", work_type="WORKSHOP",
             start="2026-01-01", **att),
        dict(id="C-LEI", employer="dhl", prison="LEI", activity="Printing", work_type="WORKSHOP",
             start="2026-01-01", **att),
        dict(id="C-OUT", employer="dhl", prison="MDI", activity="Warehouse", work_type="OUTSIDE",
             start="2026-01-01", **att)]}))
    ok(item_statuses(r) == ["OK", "OK", "REGIME_MISMATCH"],
       "contracts, and REGIME_MISMATCH for OUTSIDE at a CLOSED prison", r)
    r = ind.call(req("upsert_contracts", {"rows": [
        dict(id="C-TSC", employer="tesco", prison="MDI", activity="Laundry", work_type="WORKSHOP",
             start="2026-01-01", **att)]}))
    ok(item_statuses(r) == ["UNKNOWN_EMPLOYER"],
       "a contract for an employer the invoice feed never published: UNKNOWN_EMPLOYER", r)
    r = ind.call(req("upsert_allocations", {"rows": [
        {"prisoner": "A1234BC", "contract": "C-MDI", "from": "2026-01-01", "pay_band": "2"},
        {"prisoner": "B2345CD", "contract": "C-LEI", "from": "2026-01-01", "pay_band": "4"},
        {"prisoner": "C3456DE", "contract": "C-LEI", "from": "2026-01-01", "pay_band": "1"}]}))
    ok(item_statuses(r) == ["OK", "OK", "OK"], "industries allocates prisoners", r)

    # ---- scope enforcement for every role --------------------------------
    clients = {name: Client(name) for name in PEOPLE}
    mdi, lei, fin, gov, emp, svc = (clients[k] for k in ("mdi", "lei", "fin", "gov", "emp", "svc"))

    r = submit(mdi, hours_row("s-1", "A1234BC", "C-MDI", "2026-11-23", "AM", 240))
    ok(item_statuses(r) == ["OK"], "instructor MDI records at MDI", r)
    r = submit(mdi, hours_row("s-2", "B2345CD", "C-LEI", "2026-11-23", "AM", 240))
    ok(item_statuses(r) == ["PERMISSION_DENIED"], "instructor MDI may not record at LEI", r)
    r = submit(lei, hours_row("s-3", "A1234BC", "C-MDI", "2026-11-23", "PM", 60))
    ok(item_statuses(r) == ["PERMISSION_DENIED"], "instructor LEI may not record at MDI", r)
    r = submit(lei, hours_row("s-4", "B2345CD", "C-LEI", "2026-11-23", "AM", 240))
    ok(item_statuses(r) == ["OK"], "instructor LEI records at LEI", r)
    r = submit(mdi, hours_row("s-5", "A1234BC", "C-MDI", "2026-11-17", "PM", 60))
    ok(item_statuses(r) == ["BACKDATE_LIMIT"], "an instructor may not go past the backdate limit", r)
    r = submit(fin, hours_row("s-5", "A1234BC", "C-MDI", "2026-11-17", "PM", 60))
    ok(item_statuses(r) == ["OK"], "finance may record past the backdate limit", r)
    r = submit(fin, hours_row("s-6", "B2345CD", "C-LEI", "2026-11-24", "PM", 60))
    ok(item_statuses(r) == ["OK"], "finance records at any prison", r)
    r = submit(gov, hours_row("s-7", "A1234BC", "C-MDI", "2026-11-24", "AM", 60))
    ok(item_statuses(r) == ["PERMISSION_DENIED"], "a governor may not record hours", r)
    r = submit(clients["ind"], hours_row("s-8", "A1234BC", "C-MDI", "2026-11-24", "AM", 60))
    ok(item_statuses(r) == ["PERMISSION_DENIED"], "industries may not record hours", r)
    r = submit(svc, hours_row("s-9", "A1234BC", "C-MDI", "2026-11-24", "AM", 60))
    ok(item_statuses(r) == ["PERMISSION_DENIED"], "a service key may not record hours", r)

    pol = lambda prison: req("upsert_pay_policies", {"rows": [
        {"prison": prison, "effective_from": "2026-01-01", "daily_cap_minutes": 600}]})
    ok(item_statuses(gov.call(pol("MDI"))) == ["OK"], "the MDI governor sets MDI's pay policy")
    ok(item_statuses(gov.call(pol("LEI"))) == ["PERMISSION_DENIED"],
       "the MDI governor may not set LEI's pay policy")
    ok(item_statuses(mdi.call(pol("MDI"))) == ["PERMISSION_DENIED"],
       "an instructor may not set pay policy")
    prisons = req("upsert_prisons", {"rows": [{"code": "PVI", "name": "Pentonville", "regime": "CLOSED"}]})
    for who in ("mdi", "fin", "gov", "svc"):
        r = clients[who].call(dict(prisons, request_id=rid()))
        ok(r.get("status") == "PERMISSION_DENIED", "%s may not register prisons" % PEOPLE[who][0], r)

    close = lambda: req("close_pay_week", {"prison": "LEI", "week": "2026-W47"})
    for who in ("mdi", "gov", "ind", "svc"):
        r = clients[who].call(close())
        ok(r.get("status") == "PERMISSION_DENIED", "%s may not close a pay week" % PEOPLE[who][0], r)

    totals = lambda prison: req("get_week_totals", {"prison": prison, "week": "2026-W48"})
    ok(mdi.call(totals("MDI")).get("status") == "OK", "an instructor reads their prison's totals")
    ok(mdi.call(totals("LEI")).get("status") == "PERMISSION_DENIED",
       "an instructor may not read another prison's totals")
    ok(gov.call(totals("MDI")).get("status") == "OK", "a governor reads their prison's totals")
    ok(fin.call(totals("LEI")).get("status") == "OK", "finance reads every prison's totals")
    ok(svc.call(totals("LEI")).get("status") == "OK", "a service reads totals")
    r = lei.call(req("get_record", {"record_id": "s-1"}))
    missing = lei.call(req("get_record", {"record_id": "no-such-id"}))
    ok(r.get("status") == "NOT_FOUND" and
       r.get("message", "").replace("s-1", "X") == missing.get("message", "").replace("no-such-id", "X"),
       "instructor LEI reading an MDI record is answered exactly like a missing one", (r, missing))
    r = mdi.call(req("get_record", {"record_id": "s-1"}))
    ok(r.get("status") == "OK" and r["record"]["state"]["minutes"] == 240,
       "instructor MDI reads an MDI record", r)
    r = lei.call(req("amend_hours", {"record_id": "s-1", "minutes": "200", "outcome": "ATTENDED"}))
    ok(r.get("status") == "NOT_FOUND", "instructor LEI may not amend an MDI record (NOT_FOUND)", r)
    r = lei.call(req("void_hours", {"record_id": "s-1"}))
    ok(r.get("status") == "NOT_FOUND", "instructor LEI may not void an MDI record (NOT_FOUND)", r)

    employer_requests = [
        req("get_health", {}), req("get_stats", {}),
        req("submit_hours", {"records": [hours_row("e-1", "A1234BC", "C-MDI", "2026-11-24", "ED", 60)]}),
        req("amend_hours", {"record_id": "s-1", "minutes": "200", "outcome": "ATTENDED"}),
        req("void_hours", {"record_id": "s-1"}),
        req("close_pay_week", {"prison": "MDI", "week": "2026-W47"}),
        req("get_record", {"record_id": "s-1"}),
        req("list_by_prisoner_week", {"prisoner": "A1234BC", "week": "2026-W48"}),
        req("list_by_contract", {"contract": "C-MDI", "from": "2026-11-01", "to": "2026-11-30"}),
        req("get_week_totals", {"prison": "MDI", "week": "2026-W48"}),
        req("upsert_prisons", {"rows": [{"code": "PVI", "name": "P", "regime": "CLOSED"}]}),
        req("upsert_contracts", {"rows": [{"id": "C-X"}]}),
    ]
    denied = [emp.call(q).get("status") for q in employer_requests]
    ok(all(s == "PERMISSION_DENIED" for s in denied),
       "an employer gets PERMISSION_DENIED for every request (%d kinds)" % len(denied), denied)

    stranger = Client("stranger", timeout_ms=700, retries=0)
    r = stranger.call(req("get_health", {}))
    ok(r.get("status", "").startswith("ERROR:"), "a key not on the allow-list gets no answer at all", r)
    stranger.close()

    # ---- a garbage frame, then a good request ----------------------------
    for name, raw in (("random bytes", "ffff0102"), ("a truncated field", "0a05616263"),
                      ("a field of the wrong wire type", "0a0172a2010208ff01")):
        r = fin.call({"_raw": raw})
        ok(r.get("status") == "MALFORMED_REQUEST", "a garbage frame (%s) gets MALFORMED_REQUEST" % name, r)
        r = fin.call(req("get_health", {}))
        ok(r.get("status") == "OK", "and the next good request succeeds")
    r = fin.call({"_raw": "c20200"})   # get_health with no request_id
    ok(r.get("status") == "MALFORMED_REQUEST", "a request without a request_id is refused", r)
    r = fin.call(req("get_health", {}))
    ok(r.get("status") == "OK", "and the next good request succeeds")

    # ---- idempotent resubmission after a client timeout ------------------
    # The server is stopped while the request is in flight, so the client
    # gives up; the same request (same request_id, same bytes) sent again
    # once the server runs gets the first answer, and each record exists
    # once.
    t_rows = [hours_row("t-1", "A1234BC", "C-MDI", "2026-11-24", "AM", 300),
              hours_row("t-2", "A1234BC", "C-MDI", "2026-11-24", "PM", 300)]
    t_req = {"request_id": "timeout-1", "submit_hours": {"records": t_rows}}
    r = mdi.call(req("get_health", {}))   # connected before the stop
    server.signal(signal.SIGSTOP)
    r = mdi.call(dict(t_req, _timeout_ms=600, _retries=0))
    ok(r.get("status") == "ERROR:timeout", "the client times out while the server is stopped", r)
    server.signal(signal.SIGCONT)
    time.sleep(0.5)
    r = mdi.call(dict(t_req, _timeout_ms=4000, _retries=3))
    ok(r.get("status") == "OK" and item_statuses(r) == ["OK", "OK"],
       "the same request sent again gets the answer: both records accepted", r)
    r2 = mdi.call(dict(t_req, _timeout_ms=4000, _retries=3))
    ok(r2 == r, "and a third send gets the byte-identical first answer", r2)
    r = submit(mdi, *t_rows)
    ok(item_statuses(r) == ["OK", "OK"], "the same records under a new request_id: the first answer")
    r = submit(mdi, hours_row("t-1", "A1234BC", "C-MDI", "2026-11-24", "AM", 299))
    ok(item_statuses(r) == ["DUPLICATE_CONFLICT"], "the same record_id with other content: DUPLICATE_CONFLICT", r)
    stats = fin.call(req("get_stats", {}))
    note("stats after the timeout test: %s" % json.dumps(stats.get("stats")))
    r = submit(mdi, hours_row("t-3", "A1234BC", "C-MDI", "2026-11-24", "ED", 1))
    ok(item_statuses(r) == ["DAILY_CAP_EXCEEDED"], "t-1 and t-2 count once each toward the daily cap", r)

    # ---- SIGKILL after acknowledgement -----------------------------------
    acked = []
    for i in range(40):
        day = "2026-11-%02d" % (19 + i % 7)
        sess = ["AM", "PM", "ED"][(i // 7) % 3]
        row = hours_row("k-%d" % i, "B2345CD", "C-LEI", day, sess, 10)
        r = lei.call(req("submit_hours", {"records": [row]}))
        if item_statuses(r) == ["OK"]:
            acked.append("k-%d" % i)
    server.signal(signal.SIGKILL)
    server.wait()
    ok(len(acked) >= 15, "records acknowledged before the SIGKILL (%d)" % len(acked))
    for c in clients.values():
        c.close()
    ind.close()

    server.start()
    ok(wait_ready(), "pay-hours restarts on the same store")
    fin = Client("fin")
    missing = [k for k in acked if fin.call(req("get_record", {"record_id": k})).get("status") != "OK"]
    ok(not missing, "every acknowledged record is there after the restart", missing)
    rc, events = read_feed()
    ok(rc == 0 and len(events) > 0, "a real feed consumer reads the hours feed (%d events)" % len(events))
    seqs = [e.get("seq") for e in events]
    ok(seqs == list(range(1, len(seqs) + 1)), "the feed is gapless and in order from seq 1")
    ids = recorded_ids(events)
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    ok(not dupes, "no record is in the feed twice", dupes)
    ok(all(ids.count(k) == 1 for k in acked), "every acknowledged record is in the feed exactly once")
    ok(ids.count("t-1") == 1 and ids.count("t-2") == 1,
       "the records resubmitted after the timeout are in the feed exactly once")
    health = fin.call(req("get_health", {}))
    ok(health.get("health", {}).get("outbox_head") == len(events),
       "the consumer saw the whole outbox (head %s)" % health.get("health", {}).get("outbox_head"))
    r = Client("lei")
    rr = r.call(req("submit_hours", {"records": [hours_row(acked[0], "B2345CD", "C-LEI", "2026-11-19", "AM", 10)]}))
    ok(item_statuses(rr) == ["OK"] and fin.call(req("get_health", {}))["health"]["outbox_head"] == len(events),
       "resubmitting an acknowledged record after the restart adds nothing", rr)
    r.close()

    # ---- closing a week: the event follows every event of the week --------
    r = fin.call(req("close_pay_week", {"prison": "LEI", "week": "2026-W47"}))
    ok(r.get("status") == "OK", "finance closes LEI 2026-W47", r)
    rc, events = read_feed()
    kinds = [list(e["event"].keys()) for e in events]
    closed_at = [i for i, e in enumerate(events) if "week_closed" in e["event"]]
    week_records = [i for i, e in enumerate(events)
                    if "recorded" in e["event"] and e["event"]["recorded"]["record"]["prison"] == "LEI"
                    and e["event"]["recorded"]["record"]["week"] == "2026-W47"]
    ok(closed_at and week_records and max(week_records) < closed_at[-1],
       "PayWeekClosed follows every event of its week")
    wc = events[closed_at[-1]]["event"]["week_closed"] if closed_at else {}
    tot = fin.call(req("get_week_totals", {"prison": "LEI", "week": "2026-W47"}))
    ok(wc.get("minutes") == tot.get("totals", {}).get("minutes") and tot["totals"].get("closed"),
       "its totals match the week's totals", (wc, tot))
    lei = Client("lei")
    r = submit(lei, hours_row("late-1", "C3456DE", "C-LEI", "2026-11-22", "PM", 10))
    ok(item_statuses(r) == ["PAY_WEEK_CLOSED"], "capture stops for the closed week", r)
    r = submit(lei, hours_row("late-2", "C3456DE", "C-LEI", "2026-11-23", "PM", 10))
    ok(item_statuses(r) == ["OK"], "and goes on in the next week", r)
    lei.close()
    fin.close()

    # ---- SIGTERM: clean exit -------------------------------------------
    server.signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        code = "timeout"
    ok(code == 0, "SIGTERM: pay-hours exits cleanly (status %s)" % code)
finally:
    if server.proc and server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()
    invoice_feed.terminate()
    invoice_feed.wait()
    if n_failed:
        try:
            with open(os.path.join(WORK, "hours.log"), "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines()[-30:]:
                    print("# log: " + line)
        except OSError:
            pass
    print("1..%d" % n_tests)
    shutil.rmtree(WORK, ignore_errors=True)
sys.exit(1 if n_failed else 0)
