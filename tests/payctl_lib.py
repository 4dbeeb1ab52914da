"""payctl_lib: shared pieces of the payctl process tests (tests/payctl_*.py).

A Cluster runs the three REAL services (pay-hours, pay-wages,
pay-invoicing) on free localhost ports with their LMDB stores in a temp
folder, with keys made by `payctl keys new` and allow-listed by `payctl
keys grant`, and runs the real payctl against them. Python standard library
only; prints TAP through ok()."""
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

n = 0
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
    if not cond and detail:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def note(msg):
    print("# " + msg)
    sys.stdout.flush()


def done():
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# name -> (role, scope)
PEOPLE = {
    "finance": ("finance", "-"),
    "industries": ("industries", "-"),
    "gov-mdi": ("governor", "MDI"),
    "gov-lei": ("governor", "LEI"),
    "emp-dhl": ("employer", "dhl"),
    "emp-tesco": ("employer", "tesco"),
}
SERVICES = ("hours", "wages", "invoicing")

# The supplier's details for the tests' pay-invoicing (it issues nothing
# without them): a configuration file as an operator would write one.
SUPPLIER_CONFIG = """# supplier details for the test deployment
name = Prison Industries Trading Unit
address = 102 Petty France, London
postcode = SW1H 9AJ
vat_number = GB123456782
email = billing@industries.example
bank_account_name = Prison Industries Trading Unit
sort_code = 20-00-00
account_number = 31926819
"""


def write_supplier_config(folder):
    path = os.path.join(folder, "supplier.conf")
    with open(path, "w") as f:
        f.write(SUPPLIER_CONFIG)
    return path


class Cluster:
    def __init__(self, tmp, payctl, hours, wages, invoicing, today):
        self.tmp = tmp
        self.exe = {"payctl": payctl, "hours": hours, "wages": wages, "invoicing": invoicing}
        self.today = today
        self.keys = os.path.join(tmp, "keys")
        self.data = os.path.join(tmp, "data")
        self.port = {"hours": free_port(), "feed": free_port(), "wages": free_port(),
                     "invoicing": free_port(), "invfeed": free_port()}
        self.procs = {}
        self.logs = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PAY")}
        self.env.update({
            "HOME": tmp, "PAY_KEYS_DIR": self.keys,
            "PAY_BACKUP_DIR": os.path.join(tmp, "backups"),
            "PAY_HOURS_ENDPOINT": self.ep("hours"),
            "PAY_WAGES_ENDPOINT": self.ep("wages"),
            "PAY_INVOICING_ENDPOINT": self.ep("invoicing"),
        })
        for name in SERVICES + tuple(PEOPLE):
            rc, out, err = self.run("keys", "new", name)
            assert rc == 0, err
        for name in SERVICES:
            rc, out, err = self.run("keys", "grant", os.path.join(self.keys, name + ".pub"),
                                    "--role", "service", "--scope", "-", "--name", name)
            assert rc == 0, err
        for name, (role, scope) in PEOPLE.items():
            rc, out, err = self.run("keys", "grant", os.path.join(self.keys, name + ".pub"),
                                    "--role", role, "--scope", scope, "--name", name)
            assert rc == 0, err

    def ep(self, what):
        return "tcp://127.0.0.1:%d" % self.port[what]

    def argv(self, svc, hours_feed=None):
        allow = os.path.join(self.keys, "allow.txt")
        feed = hours_feed or self.ep("feed")
        if svc == "hours":
            return [self.exe["hours"], "--data-dir", self.data, "--keys-dir", self.keys,
                    "--endpoint", self.ep("hours"), "--feed-endpoint", self.ep("feed"),
                    "--invoice-feed", self.ep("invfeed"),
                    "--allow-file", allow, "--today", self.today]
        if svc == "wages":
            return [self.exe["wages"], "--data-dir", self.data, "--keys-dir", self.keys,
                    "--endpoint", self.ep("wages"), "--hours-feed", feed,
                    "--allow-file", allow, "--today", self.today]
        # The invoicing store lives in <data-dir> or <data-dir>/invoicing
        # depending on the service's version: a folder of its own either way.
        return [self.exe["invoicing"], "--data-dir", os.path.join(self.tmp, "data-inv"),
                "--keys-dir", self.keys, "--endpoint", self.ep("invoicing"),
                "--feed-endpoint", self.ep("invfeed"), "--hours-feed", feed,
                "--allow-file", allow, "--auto-issue", "no",
                "--supplier-config", write_supplier_config(self.tmp)]

    def start(self, svc, hours_feed=None):
        """hours_feed: another hours feed endpoint, e.g. a dead one, so that
        a consumer answers but falls behind."""
        env = dict(self.env)
        env["PAY_TODAY"] = self.today
        log = open(os.path.join(self.tmp, svc + ".log"), "a")
        self.logs[svc] = log
        self.procs[svc] = subprocess.Popen(self.argv(svc, hours_feed), stdout=log, stderr=log, env=env,
                                           cwd=self.tmp)

    def start_all(self):
        for svc in SERVICES:
            self.start(svc)
        self.wait_up()

    def stop(self, svc, sig=signal.SIGTERM):
        p = self.procs.pop(svc, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.logs.pop(svc).close()

    def stop_all(self):
        for svc in list(self.procs):
            self.stop(svc)

    def log(self, svc):
        try:
            return open(os.path.join(self.tmp, svc + ".log")).read()[-3000:]
        except OSError:
            return ""

    def run(self, *args, key="finance", timeout_ms=None, stdin=None):
        e = dict(self.env)
        e["PAY_KEY_FILE"] = os.path.join(self.keys, key + ".key")
        if timeout_ms:
            e["PAY_TIMEOUT_MS"] = str(timeout_ms)
        p = subprocess.run([self.exe["payctl"]] + [str(a) for a in args], capture_output=True,
                           text=True, env=e, timeout=300, cwd=self.tmp, input=stdin)
        return p.returncode, p.stdout, p.stderr

    def status_rows(self):
        """Every row of payctl status: one per service and feed it produces
        or consumes (producers first)."""
        rc, out, err = self.run("status", "--format", "json", timeout_ms=400)
        try:
            rows = json.loads(out)
        except ValueError:
            rows = []
        return rc, rows, err

    def status(self):
        """{service: its consumer row} from payctl status (the feed each
        service consumes: invoices for hours, hours for the others)."""
        rc, rows, err = self.status_rows()
        return rc, {r["service"]: r for r in rows if r["feed"].endswith("(consumer)")}, err

    def feed_head(self, feed="hours"):
        """The head of a feed, as its producer reports it."""
        rc, rows, err = self.status_rows()
        for r in rows:
            if r["feed"] == feed + " (producer)":
                return r["head"]
        return None

    def wait_up(self, deadline=30):
        end = time.time() + deadline
        while time.time() < end:
            rc, rows, err = self.status()
            if rc == 0:
                return True
            time.sleep(0.2)
        raise RuntimeError("services did not come up: %s\n%s" %
                           (err, "\n".join(self.log(s) for s in SERVICES)))

    def wait_caught_up(self, deadline=60, services=("wages", "invoicing")):
        """Until the consumers' cursors reach the hours feed's head."""
        end = time.time() + deadline
        rows = {}
        while time.time() < end:
            rc, rows, err = self.status()
            if all(s in rows and rows[s]["state"] == "up" and rows[s]["lag"] == "0"
                   for s in services):
                return True
            time.sleep(0.2)
        raise RuntimeError("consumers did not catch up: %s" % rows)


def load_scenario(c, hours_rows):
    """A small, consistent world at MDI: 4 prisoners, employers dhl and
    tesco (weekly), one contract each, billing terms, pay rates, and the
    given hours rows (imported by finance)."""
    t = c.tmp
    write_csv(os.path.join(t, "prisons.csv"), ["code", "name", "regime"],
              [["MDI", "Moorland", "CLOSED"], ["LEI", "Leeds", "CLOSED"]])
    write_csv(os.path.join(t, "prisoners.csv"),
              ["number", "prison", "incentive_level", "public_contact_cleared_on",
               "released_on"],
              [["A%04dBC" % i, "MDI", "STD", "", ""] for i in range(1, 5)] +
              [["B0001BC", "LEI", "STD", "", ""]])
    write_csv(os.path.join(t, "employers.csv"),
              ["id", "name", "address", "postcode", "vat_number", "email", "billing_period",
               "payment_terms_days"],
              [["dhl", "DHL Supply Chain", "1 Dock Road, Leeds", "LS1 1AA", "GB123456789",
                "ap@dhl.example", "WEEKLY", "30"],
               ["tesco", "Tesco Stores", "Cheshunt", "EN8 9SL", "GB987654321",
                "ap@tesco.example", "WEEKLY", "14"]])
    write_csv(os.path.join(t, "contracts.csv"),
              ["id", "employer", "prison", "activity", "work_type", "start", "end",
               "public_contact", "attested_by", "attested_on", "attestation_ref"],
              [["C-0001", "dhl", "MDI", "Packing", "WORKSHOP", "2026-01-01", "", "no",
                "J. Smith", "2025-12-20", "COP-1"],
               ["C-0002", "tesco", "MDI", "Laundry", "WORKSHOP", "2026-01-01", "", "no",
                "J. Smith", "2025-12-20", "COP-2"],
               ["C-0003", "dhl", "LEI", "Packing", "WORKSHOP", "2026-01-01", "", "no",
                "J. Smith", "2025-12-20", "COP-3"]])
    write_csv(os.path.join(t, "allocations.csv"),
              ["prisoner", "contract", "from", "to", "pay_band"],
              [["A%04dBC" % i, "C-0001", "2026-01-01", "", "3"] for i in range(1, 5)] +
              [["A%04dBC" % i, "C-0002", "2026-01-01", "", "3"] for i in range(1, 5)] +
              [["B0001BC", "C-0003", "2026-01-01", "", "3"]])
    write_csv(os.path.join(t, "terms.csv"),
              ["contract", "effective_from", "basis", "charge", "vat_rate_bp"],
              [["C-0001", "2026-01-01", "HOURLY", "12.50", "2000"],
               ["C-0002", "2026-01-01", "HOURLY", "10.00", "2000"],
               ["C-0003", "2026-01-01", "HOURLY", "11.00", "2000"]])
    write_csv(os.path.join(t, "rates.csv"),
              ["prison", "pay_band", "incentive_level", "effective_from", "basis", "rate",
               "piece_rate", "piece_rate_items"],
              [["MDI", "3", "STD", "2026-01-01", "HOURLY", "1.00", "", ""]])
    write_csv(os.path.join(t, "rates-lei.csv"),
              ["prison", "pay_band", "incentive_level", "effective_from", "basis", "rate",
               "piece_rate", "piece_rate_items"],
              [["LEI", "3", "STD", "2026-01-01", "HOURLY", "1.00", "", ""]])
    write_csv(os.path.join(t, "hours.csv"),
              ["record_id", "prisoner", "contract", "date", "session", "minutes", "units",
               "outcome", "paid_absence"], hours_rows)
    steps = [("prisons", "prisons.csv", "industries"),
             ("prisoners", "prisoners.csv", "industries"),
             ("employers", "employers.csv", "industries"),
             ("contracts", "contracts.csv", "industries"),
             ("allocations", "allocations.csv", "industries"),
             ("billing-terms", "terms.csv", "industries"),
             ("pay-rates", "rates.csv", "gov-mdi"),
             ("pay-rates", "rates-lei.csv", "gov-lei"),
             ("hours", "hours.csv", "finance")]
    for kind, f, key in steps:
        rc, out, err = c.run("import", kind, f, key=key)
        if rc != 0:
            raise RuntimeError("import %s: %s %s" % (kind, out, err))
