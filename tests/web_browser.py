#!/usr/bin/env python3
"""web_browser: pay-web in a real headless Chromium (Debian's chromium and
chromium-driver, driven by python3-selenium) against the three REAL
services and a REAL pay-web, on free localhost ports, with real LMDB stores
in a temp folder. Prints TAP; saves a screenshot of each page under the
folder given (named in the TAP output).

Proves: finance logs in through the form; the payroll page's totals equal
`payctl wages payroll`; the CSV download equals `payctl --format csv
wages payroll`; an invoice PDF downloads and pdftotext finds its number
and total; an employer sees only its own documents, gets 404 for another
employer's document by URL and 403 for finance pages, and no page it sees
shows a prisoner number; a POST without (or with a wrong) CSRF token is
refused and changes nothing; a session idle past --idle-timeout is sent to
the login page; wrong passwords are throttled (even the right one then
waits); an employer name holding <script> is shown as text; a revoked
key's session fails at its next page (payctl keys revoke + SIGHUP);
/metrics; HTTPS with a certificate; plain HTTP refused off loopback.

usage: web_browser.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING PAY_WEB OUTDIR
"""
import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import payctl_lib  # noqa: E402
from payctl_lib import Cluster, done, free_port, load_scenario, note, ok, write_csv  # noqa: E402

PAYCTL, HOURS, WAGES, INVOICING, WEB = [os.path.abspath(a) for a in sys.argv[1:6]]
OUTDIR = os.path.abspath(sys.argv[6]) if len(sys.argv) > 6 else tempfile.mkdtemp(
    prefix="web-screenshots.")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("1..0 # SKIP python3-selenium is not installed (scripts/deps installs it)")
    sys.exit(0)

EVIL = "Evil <script>alert(1)</script> Ltd"
payctl_lib.PEOPLE["emp-evil"] = ("employer", "evil")
payctl_lib.PEOPLE["fin2"] = ("finance", "-")
PASSWORD = {"finance": "finance-password-1", "employer-dhl": "dhl-password-12",
            "employer-evil": "evil-password-12", "finance-two": "finance-two-pw-3"}
WEEK, OPEN_WEEK = "2026-W48", "2026-W49"
# Week 2026-W48: Monday 2026-11-23 to Sunday 2026-11-29.
HOURS_ROWS = [
    ["r%02d" % i, "A%04dBC" % (1 + i % 4), "C-0001" if i % 2 else "C-0002",
     "2026-11-%02d" % (23 + i % 5), "AM" if i < 10 else "PM", "180", "", "ATTENDED", ""]
    for i in range(20)] + [
    ["w49", "A0001BC", "C-0001", "2026-11-30", "AM", "120", "", "ATTENDED", ""]]
PRISONER_RE = re.compile(r"\b[A-Z][0-9]{4}[A-Z]{2}\b")

procs = []


def start_web(c, port, *extra):
    log = open(os.path.join(c.tmp, "web-%d.log" % port), "a")
    p = subprocess.Popen([WEB, "--listen", "127.0.0.1:%d" % port, "--data-dir", c.data,
                          "--keys-dir", c.keys, "--hours-endpoint", c.ep("hours"),
                          "--wages-endpoint", c.ep("wages"),
                          "--invoicing-endpoint", c.ep("invoicing"), "--today", c.today]
                         + list(extra), stdout=log, stderr=log, env=c.env)
    procs.append(p)
    return p


def wait_http(port, tls_ctx=None, deadline=30):
    end = time.time() + deadline
    while time.time() < end:
        try:
            conn = (http.client.HTTPSConnection("127.0.0.1", port, context=tls_ctx, timeout=5)
                    if tls_ctx else http.client.HTTPConnection("127.0.0.1", port, timeout=5))
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def request(port, method, path, cookie=None, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    if body is not None:
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data, r.getheaders()


def payctl_bytes(c, *args):
    """payctl's standard output as bytes, exactly (line ends included)."""
    e = dict(c.env)
    e["PAY_KEY_FILE"] = os.path.join(c.keys, "finance.key")
    return subprocess.run([PAYCTL] + list(args), capture_output=True, env=e, timeout=120,
                          cwd=c.tmp).stdout


class Browser:
    def __init__(self, base):
        self.base = base
        self.profile = tempfile.mkdtemp(prefix="web-chromium.")
        opts = webdriver.ChromeOptions()
        for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-extensions",
                  "--ignore-certificate-errors", "--window-size=1400,1000",
                  "--user-data-dir=" + self.profile]:
            opts.add_argument(a)
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        self.d = webdriver.Chrome(service=Service(shutil.which("chromedriver")
                                                  or "/usr/bin/chromedriver"), options=opts)
        self.d.set_page_load_timeout(60)

    def get(self, path, shot=None):
        self.d.get(self.base + path)
        if shot:
            self.d.save_screenshot(os.path.join(OUTDIR, shot + ".png"))
        return self.d

    def login(self, name, password, shot=None):
        self.get("/login")
        self.d.find_element(By.NAME, "login").send_keys(name)
        self.d.find_element(By.NAME, "password").send_keys(password)
        self.click(self.d.find_element(By.CSS_SELECTOR, "form.login button"))
        if shot:
            self.d.save_screenshot(os.path.join(OUTDIR, shot + ".png"))
        return self.d

    def click(self, element):
        """Clicks and waits until the next page has replaced this one."""
        html = self.d.find_element(By.TAG_NAME, "html")
        element.click()

        def replaced(d):
            try:
                html.is_enabled()
                return False
            except Exception:   # stale, or no longer in the document
                return d.execute_script("return document.readyState") == "complete"
        WebDriverWait(self.d, 60).until(replaced)

    def cookie(self):
        return "; ".join("%s=%s" % (c["name"], c["value"]) for c in self.d.get_cookies()
                         if c["name"] == "pw_session")

    def title(self):
        return self.d.find_element(By.TAG_NAME, "h1").text

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def table_rows(d, table_id):
    rows = []
    for tr in d.find_elements(By.CSS_SELECTOR, "table#%s tbody tr" % table_id):
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        if cells and not (len(cells) == 1 and cells[0] == "nothing to show"):
            rows.append(cells)
    return rows


def main(tmp):
    os.makedirs(OUTDIR, exist_ok=True)
    note("screenshots in %s" % OUTDIR)
    c = Cluster(tmp, PAYCTL, HOURS, WAGES, INVOICING, today="2026-12-02")
    browsers = []
    try:
        c.start_all()
        load_scenario(c, HOURS_ROWS)
        # An employer whose name holds markup, with one contract and hours.
        write_csv(os.path.join(tmp, "evil.csv"),
                  ["id", "name", "address", "postcode", "vat_number", "email",
                   "billing_period", "payment_terms_days"],
                  [["evil", EVIL, "1 <b>Bold</b> Street", "LS2 2BB", "GB111111111",
                    "ap@evil.example", "WEEKLY", "30"]])
        write_csv(os.path.join(tmp, "evil-contracts.csv"),
                  ["id", "employer", "prison", "activity", "work_type", "start", "end",
                   "public_contact", "attested_by", "attested_on", "attestation_ref"],
                  [["C-0009", "evil", "MDI", "Assembly", "WORKSHOP", "2026-01-01", "", "no",
                    "J. Smith", "2025-12-20", "COP-9"]])
        write_csv(os.path.join(tmp, "evil-alloc.csv"), ["prisoner", "contract", "from", "to",
                                                        "pay_band"],
                  [["A0001BC", "C-0009", "2026-01-01", "", "3"]])
        write_csv(os.path.join(tmp, "evil-terms.csv"),
                  ["contract", "effective_from", "basis", "charge", "vat_rate_bp"],
                  [["C-0009", "2026-01-01", "HOURLY", "20.00", "2000"]])
        write_csv(os.path.join(tmp, "evil-hours.csv"),
                  ["record_id", "prisoner", "contract", "date", "session", "minutes", "units",
                   "outcome", "paid_absence"],
                  [["e1", "A0001BC", "C-0009", "2026-11-28", "AM", "60", "", "ATTENDED", ""]])
        for kind, f, key in [("employers", "evil.csv", "industries"),
                             ("contracts", "evil-contracts.csv", "industries"),
                             ("allocations", "evil-alloc.csv", "industries"),
                             ("billing-terms", "evil-terms.csv", "industries"),
                             ("hours", "evil-hours.csv", "finance")]:
            rc, out, err = c.run("import", kind, f, key=key)
            if rc != 0:
                raise RuntimeError("import %s: %s %s" % (kind, out, err))
        c.wait_caught_up()
        rc, out, err = c.run("week", "close", "--prison", "MDI", "--week", WEEK)
        assert rc == 0, err
        c.wait_caught_up()
        rc, out, err = c.run("invoices", "issue", "--as-of", "2026-11-30", "--format", "csv")
        assert rc == 0, err
        docs = list(csv.DictReader(io.StringIO(out)))
        num = {d["employer"]: d["number"] for d in docs}
        ok(sorted(num) == ["dhl", "evil", "tesco"], "three invoices issued for the test", out)

        # ---- web logins (payctl writes pay-web's store)
        logins = {"finance": "finance", "employer-dhl": "emp-dhl",
                  "employer-evil": "emp-evil", "finance-two": "fin2"}
        for login, key in logins.items():
            pw = os.path.join(tmp, login + ".password")
            with open(pw, "w") as f:
                f.write(PASSWORD[login] + "\n")
            rc, out, err = c.run("web", "user", "add", login, "--key",
                                 os.path.join(c.keys, key + ".key"), "--password-file", pw,
                                 "--data-dir", c.data)
            ok(rc == 0, "payctl web user add %s" % login, err)
        rc, out, err = c.run("web", "user", "add", "finance", "--key",
                             os.path.join(c.keys, "finance.key"), "--password-file",
                             os.path.join(tmp, "finance.password"), "--data-dir", c.data)
        ok(rc == 1 and "exists" in err, "adding an existing login again is refused", err)
        rc, out, err = c.run("web", "user", "list", "--data-dir", c.data, "--format", "csv")
        ok(rc == 0 and sorted(r["login"] for r in csv.DictReader(io.StringIO(out)))
           == sorted(logins), "payctl web user list", out)
        store = open(os.path.join(c.data, "web", "data.mdb"), "rb").read()
        secret = [l.split("=", 1)[1].strip() for l in
                  open(os.path.join(c.keys, "finance.key")).read().splitlines()
                  if l.startswith("secret=")][0]
        ok(secret.encode() not in store and PASSWORD["finance"].encode() not in store,
           "pay-web's store holds neither the secret key nor the password")

        # ---- pay-web refuses unsafe listeners
        r = subprocess.run([WEB, "--listen", "0.0.0.0:%d" % free_port(), "--insecure-http",
                            "--data-dir", c.data, "--keys-dir", c.keys], capture_output=True,
                           text=True, env=c.env, timeout=30)
        ok(r.returncode == 2 and "loopback" in r.stderr,
           "plain HTTP on a non-loopback address is refused", r.stderr[-500:])
        r = subprocess.run([WEB, "--listen", "127.0.0.1:%d" % free_port(), "--data-dir", c.data,
                            "--keys-dir", c.keys], capture_output=True, text=True, env=c.env,
                           timeout=30)
        ok(r.returncode == 2 and "tls-cert" in r.stderr,
           "without TLS files and without --insecure-http it does not start", r.stderr[-500:])

        port, mport, port2 = free_port(), free_port(), free_port()
        start_web(c, port, "--insecure-http", "--idle-timeout", "600",
                  "--service-timeout-ms", "3000", "--service-retries", "0",
                  "--metrics-listen", "127.0.0.1:%d" % mport,
                  "--metrics-key", os.path.join(c.keys, "industries.key"))
        # A second pay-web on the same store: short idle timeout, strict throttle.
        start_web(c, port2, "--insecure-http", "--idle-timeout", "2",
                  "--login-free-failures", "3", "--login-delay-ms", "60000")
        ok(wait_http(port) and wait_http(port2), "pay-web answers on both ports")
        base = "http://127.0.0.1:%d" % port

        # ---- headers on any page
        st, h, body, raw = request(port, "GET", "/login")
        ok(st == 200 and h.get("content-security-policy", "").startswith("default-src 'self'")
           and h.get("x-frame-options") == "DENY" and h.get("x-content-type-options") == "nosniff",
           "CSP default-src 'self', X-Frame-Options DENY, nosniff", h)
        cookies = [v for k, v in raw if k.lower() == "set-cookie"]
        ok(cookies and all("HttpOnly" in x and "SameSite=Strict" in x and "Secure" in x
                           for x in cookies),
           "cookies are HttpOnly; Secure; SameSite=Strict (Chromium keeps Secure cookies on "
           "http://127.0.0.1)", cookies)
        ok(b"<script>" not in body and b" on" not in body.lower().replace(b" one", b""),
           "no inline script or handler on the login page", body[:400])

        # ---- finance in the browser
        fin = Browser(base)
        browsers.append(fin)
        fin.login("finance", PASSWORD["finance"], shot="01-login-finance")
        ok(fin.d.current_url.rstrip("/") == base and fin.title() == "Dashboard",
           "finance logs in and lands on the dashboard", fin.d.current_url)
        fin.get("/", shot="02-dashboard")
        svc = table_rows(fin.d, "services")
        ok(len(svc) == 3 and all(r[1] == "up" for r in svc) and svc[1][5] == "0"
           and svc[2][5] == "0", "dashboard: three services up, feed lag 0", svc)
        rec = table_rows(fin.d, "reconciliation")
        ok(any(r[0] == "MDI" and r[1] == WEEK and r[6] == "OK" for r in rec),
           "dashboard: MDI %s reconciles" % WEEK, rec)

        d = fin.get("/payroll?prison=MDI&week=%s" % WEEK, shot="03-payroll")
        foot = [th.text for th in d.find_elements(By.CSS_SELECTOR, "table#payroll tfoot th")]
        rc, out, err = c.run("--format", "json", "wages", "payroll", "--prison", "MDI",
                             "--week", WEEK)
        rows = json.loads(out) if rc == 0 else []
        total = [r for r in rows if r["prisoner"] == "TOTAL"]
        want = [total[0][k] for k in ("prisoner", "sessions", "minutes", "gross", "top_up",
                                      "deductions", "levy", "net")] if total else None
        ok(foot == want, "payroll page totals = payctl wages payroll TOTAL", (foot, want))
        body_rows = table_rows(d, "payroll")
        ok(sorted(r[0] for r in body_rows) == sorted(r["prisoner"] for r in rows
                                                     if r["prisoner"] != "TOTAL"),
           "payroll page lists the same prisoners", body_rows)
        link = d.find_element(By.PARTIAL_LINK_TEXT, "Download CSV").get_attribute("href")
        st, h, data, _ = request(port, "GET", urllib.parse.urlsplit(link).path + "?" +
                                 urllib.parse.urlsplit(link).query, cookie=fin.cookie())
        want_csv = payctl_bytes(c, "--format", "csv", "wages", "payroll", "--prison", "MDI",
                                "--week", WEEK)
        ok(st == 200 and data == want_csv and "attachment" in
           h.get("content-disposition", ""),
           "the CSV download = payctl --format csv wages payroll, as an attachment",
           (st, data[:300], want_csv[:300]))
        api = json.loads(request(port, "GET", "/api/payroll?prison=MDI&week=%s" % WEEK,
                                 cookie=fin.cookie())[2])
        ok([api["tables"]["payroll"]["totals"][k] for k in
            ("prisoner", "sessions", "minutes", "gross", "top_up", "deductions", "levy", "net")]
           == want, "/api/payroll carries the same totals as JSON", api.get("tables"))

        first = body_rows[0][0] if body_rows else "A0001BC"
        fin.click(d.find_element(By.LINK_TEXT, first))
        d.save_screenshot(os.path.join(OUTDIR, "04-payslip.png"))
        ok(fin.title() == "Payslip" and first in fin.text(), "a payroll row links to the payslip")
        fin.get("/ledger?prisoner=%s" % first, shot="05-ledger")
        ok(len(table_rows(fin.d, "ledger")) > 0 and "opening balance" in fin.text(),
           "the ledger shows lines with the running balance")
        fin.get("/exceptions?prison=MDI", shot="06-exceptions")
        ok(fin.title() == "Exceptions", "exceptions page")
        fin.get("/norm?prison=MDI&week=%s" % WEEK, shot="07-norm")
        ok("average hours" in fin.text(), "hours norm page")
        fin.get("/invoices", shot="08-invoices")
        listed = sorted(r[0] for r in table_rows(fin.d, "documents"))
        ok(listed == sorted(num.values()), "finance sees every invoice", listed)
        fin.get("/overdue?as_of=2027-02-01", shot="09-overdue")
        ok(len(table_rows(fin.d, "overdue")) == 3, "overdue as of 2027-02-01: all three")
        fin.get("/statement", shot="10-statements")
        fin.get("/statement?employer=dhl", shot="11-statement-dhl")
        ok("balance" in fin.text() and num["dhl"] in fin.text(), "dhl's statement of account")

        d = fin.get("/documents/%s" % num["dhl"], shot="12-document")
        pdf_href = d.find_element(By.PARTIAL_LINK_TEXT, "PDF").get_attribute("href")
        st, h, pdf, _ = request(port, "GET", urllib.parse.urlsplit(pdf_href).path,
                                cookie=fin.cookie())
        pdf_path = os.path.join(tmp, "inv.pdf")
        open(pdf_path, "wb").write(pdf)
        text = subprocess.run(["pdftotext", pdf_path, "-"], capture_output=True,
                              text=True).stdout if pdf.startswith(b"%PDF") else ""
        dhl_total = [x["total"] for x in docs if x["employer"] == "dhl"][0]
        ok(st == 200 and h.get("content-type") == "application/pdf" and num["dhl"] in text
           and dhl_total in text,
           "the invoice PDF downloads; pdftotext finds %s and %s" % (num["dhl"], dhl_total),
           text[:500])
        st, h, xml, _ = request(port, "GET", "/documents/%s.xml" % num["dhl"],
                                cookie=fin.cookie())
        ok(st == 200 and b"Invoice-2" in xml, "the UBL download")

        # ---- escaping: the employer whose name is markup
        d = fin.get("/documents/%s" % num["evil"], shot="13-escaped-name")
        src = d.page_source
        ok(EVIL in fin.text() and "<script>alert" not in src and "&lt;script&gt;" in src,
           "an employer name with <script> is shown as text, escaped in the HTML",
           fin.text()[:600])
        try:
            alert = d.switch_to.alert.text
        except Exception:
            alert = None
        ok(alert is None, "no script ran", alert)

        # ---- actions: a confirmation step; CSRF
        d = fin.get("/actions/close-week", shot="14-close-week")
        d.find_element(By.NAME, "prison").send_keys("MDI")
        d.find_element(By.NAME, "week").send_keys(OPEN_WEEK)
        fin.click(d.find_element(By.CSS_SELECTOR, "main form button"))
        d.save_screenshot(os.path.join(OUTDIR, "15-close-week-confirm.png"))
        ok(fin.title().startswith("Confirm") and "cannot be undone" in fin.text(),
           "closing a week asks for confirmation first", fin.text()[:300])
        csrf = d.find_element(By.NAME, "csrf").get_attribute("value")
        action_id = d.find_element(By.NAME, "action_id").get_attribute("value")
        form = "prison=MDI&week=%s&confirm=yes&action_id=%s" % (OPEN_WEEK, action_id)
        st, h, body, _ = request(port, "POST", "/actions/close-week", cookie=fin.cookie(),
                                 body=form)
        ok(st == 403 and b"CSRF" in body, "a POST without the CSRF token is refused (403)", st)
        st, h, body, _ = request(port, "POST", "/actions/close-week", cookie=fin.cookie(),
                                 body=form + "&csrf=" + "0" * 64)
        ok(st == 403, "a POST with a wrong CSRF token is refused (403)", st)
        st, h, body, _ = request(port, "POST", "/actions/close-week", cookie=fin.cookie(),
                                 body=form + "&csrf=" + csrf,
                                 headers={"Origin": "http://evil.example"})
        ok(st == 403, "a POST from another origin is refused (403)", st)
        st, h, body, _ = request(port, "POST", "/logout", cookie=fin.cookie(), body="")
        ok(st == 403, "logout without the token is refused too", st)
        st, h, body, _ = request(port, "GET", "/api/payroll?prison=MDI&week=" + OPEN_WEEK,
                                 cookie=fin.cookie())
        ok(st == 200 and json.loads(body)["facts"]["state"].startswith("open"),
           "after the refused POSTs the week is still open", body[:300])
        fin.click(d.find_element(By.CSS_SELECTOR, "button.danger"))
        d.save_screenshot(os.path.join(OUTDIR, "16-close-week-done.png"))
        ok(fin.title() == "Pay week closed", "confirming closes the week", fin.text()[:300])
        c.wait_caught_up()
        rc, out, err = c.run("--format", "json", "wages", "payroll", "--prison", "MDI",
                             "--week", OPEN_WEEK)
        st, h, body, _ = request(port, "GET", "/api/payroll?prison=MDI&week=" + OPEN_WEEK,
                                 cookie=fin.cookie())
        ok(st == 200 and json.loads(body)["facts"]["state"] == "closed",
           "the wage service shows the week closed", body[:300])

        d = fin.get("/actions/payment", shot="17-payment")
        d.find_element(By.NAME, "number").send_keys(num["dhl"])
        d.find_element(By.NAME, "amount").send_keys("10.00")
        d.find_element(By.NAME, "date").send_keys("12012026")
        d.find_element(By.NAME, "reference").send_keys("BACS 1")
        fin.click(d.find_element(By.CSS_SELECTOR, "main form button"))
        ok(fin.title().startswith("Confirm"), "a payment asks for confirmation", fin.text()[:300])
        d.save_screenshot(os.path.join(OUTDIR, "18-payment-confirm.png"))
        fin.click(d.find_element(By.CSS_SELECTOR, "button.danger"))
        d.refresh()     # the same confirmation sent again: the service answers it once
        d.save_screenshot(os.path.join(OUTDIR, "19-payment-done.png"))
        rc, out, err = c.run("--format", "csv", "invoices", "get", num["dhl"])
        got = list(csv.DictReader(io.StringIO(out)))
        ok(rc == 0 and got and got[0]["paid"] == "10.00",
           "the payment is recorded once, even when the confirmation is sent twice", out)
        d = fin.get("/actions/issue", shot="20-issue")
        fin.click(d.find_element(By.CSS_SELECTOR, "main form button"))
        fin.click(d.find_element(By.CSS_SELECTOR, "button.danger"))
        d.save_screenshot(os.path.join(OUTDIR, "21-issue-done.png"))
        ok(fin.title() == "Invoices issued", "issuing through the portal", fin.text()[:300])

        # ---- metrics
        st, h, body, _ = request(mport, "GET", "/metrics")
        text = body.decode()
        ok(st == 200 and 'pay_service_up{service="hours"} 1' in text
           and 'pay_feed_lag{service="wages",feed="hours"}' in text
           and "pay_service_stats_batches" in text and "pay_web_requests_total" in text
           and 'pay_web_logins_total{result="ok"}' in text,
           "/metrics: services up, feed lag, batches, pay-web's own counters", text[:1500])

        # ---- an employer
        emp = Browser(base)
        browsers.append(emp)
        emp.login("employer-dhl", PASSWORD["employer-dhl"], shot="22-login-employer")
        ok(emp.title() == "Your invoices and credit notes", "an employer lands on its invoices")
        emp.d.save_screenshot(os.path.join(OUTDIR, "23-employer-invoices.png"))
        rows = table_rows(emp.d, "documents")
        rc, out, err = c.run("--format", "csv", "invoices", "list", key="emp-dhl")
        want_docs = sorted(r["number"] for r in csv.DictReader(io.StringIO(out)))
        ok(rows and all(r[2] == "dhl" for r in rows) and sorted(r[0] for r in rows) == want_docs,
           "the employer sees only its own documents", rows)
        emp.get("/documents/%s" % num["tesco"], shot="24-employer-other-document")
        st, h, body, _ = request(port, "GET", "/documents/%s.pdf" % num["tesco"],
                                 cookie=emp.cookie())
        ok(emp.title() == "Not found" and st == 404,
           "another employer's document by URL: 404 (page and PDF)", (emp.title(), st))
        for path in ("/payroll?prison=MDI&week=" + WEEK, "/dashboard", "/ledger?prisoner=A0001BC",
                     "/actions/issue", "/overdue"):
            st, h, body, _ = request(port, "GET", path, cookie=emp.cookie())
            ok(st == 403, "finance page %s: 403 for the employer" % path, st)
        emp.get("/payroll?prison=MDI&week=" + WEEK, shot="25-employer-forbidden")
        ok(emp.title() == "Forbidden", "the browser shows Forbidden")
        seen = []
        for i, path in enumerate(("/invoices", "/documents/%s" % num["dhl"], "/statement")):
            emp.get(path, shot="26-employer-%d" % i)
            seen += PRISONER_RE.findall(emp.text())
            seen += PRISONER_RE.findall(emp.d.page_source)
        ok(not seen, "no prisoner number on any page the employer sees", seen)
        nav = [a.text for a in emp.d.find_elements(By.CSS_SELECTOR, "nav a")]
        ok(not any(w in " ".join(nav).lower() for w in ("payroll", "ledger", "payslip")),
           "the employer's menu has no pay pages", nav)

        # ---- idle timeout (the second pay-web: --idle-timeout 2)
        base2 = "http://127.0.0.1:%d" % port2
        idle = Browser(base2)
        browsers.append(idle)
        idle.login("finance", PASSWORD["finance"])
        ok(idle.title() == "Dashboard", "log in on the short-idle pay-web")
        time.sleep(3.5)
        idle.get("/payroll?prison=MDI&week=" + WEEK, shot="27-idle-expired")
        ok("/login" in idle.d.current_url and "expired=1" in idle.d.current_url
           and "time without use" in idle.text(),
           "a session idle past its timeout is sent to the login page", idle.d.current_url)

        # ---- throttling (second pay-web: 3 free failures, then 60 s)
        codes = []
        for i in range(4):
            idle.login("employer-dhl", "wrong-password-%d" % i)
            codes.append(idle.d.find_element(By.CSS_SELECTOR, "p.note.error").text)
        idle.login("employer-dhl", PASSWORD["employer-dhl"], shot="28-throttled")
        msg = idle.d.find_element(By.CSS_SELECTOR, "p.note.error").text
        ok(all("wrong login name or password" in x for x in codes) and "too many" in msg,
           "after 4 wrong passwords even the right one is refused for now", (codes, msg))
        st, h, body, _ = request(port2, "GET", "/login")
        tok = re.search(rb'name="csrf" value="([0-9a-f]{64})"', body).group(1).decode()
        st, h, body, _ = request(port2, "POST", "/login", cookie="pw_login=" + tok,
                                 body="csrf=%s&login=employer-dhl&password=%s" %
                                 (tok, PASSWORD["employer-dhl"]))
        ok(st == 429 and h.get("retry-after", "0") != "0", "429 with Retry-After", (st, h))
        idle.login("employer-evil", PASSWORD["employer-evil"])
        ok(idle.title() == "Your invoices and credit notes",
           "another login from the same address still works")

        # ---- revocation: payctl keys revoke + SIGHUP, and the next page fails
        rev = Browser(base)
        browsers.append(rev)
        rev.login("finance-two", PASSWORD["finance-two"])
        rev.get("/payroll?prison=MDI&week=" + WEEK)
        ok(len(table_rows(rev.d, "payroll")) > 0, "finance-two sees the payroll")
        rc, out, err = c.run("keys", "revoke", os.path.join(c.keys, "fin2.pub"),
                             "--allow-file", os.path.join(c.keys, "allow.txt"))
        ok(rc == 0, "payctl keys revoke fin2", err)
        for s in ("hours", "wages", "invoicing"):
            c.procs[s].send_signal(signal.SIGHUP)
        time.sleep(1.5)
        rev.get("/payroll?prison=MDI&week=" + WEEK, shot="29-revoked")
        ok(not table_rows(rev.d, "payroll") and rev.title() in ("Service unavailable",
                                                                "Forbidden"),
           "the revoked key's session fails on its next page", rev.text()[:400])
        rev.d.delete_all_cookies()
        rev.login("finance-two", PASSWORD["finance-two"], shot="30-revoked-login")
        ok(rev.title() == "Log in" and "allow-list" in rev.text(),
           "and the revoked key cannot log in again", rev.text()[:300])

        # ---- logout wipes the session
        d = fin.get("/")
        fin.click(d.find_element(By.CSS_SELECTOR, ".who button"))
        ok("/login" in d.current_url, "log out")
        st, h, body, _ = request(port, "GET", "/api/invoices", cookie=fin.cookie() or
                                 "pw_session=" + "0" * 64)
        ok(st == 401, "after logout the session is gone (401 on /api)", st)

        # ---- bad requests get a 4xx, never a crash
        for method, path, body, want in [
                ("GET", "/documents/..%2F..%2Fetc", None, 404),
                ("GET", "/payroll?prison=%FF%FE&week=x", None, 302),
                ("POST", "/login", "x" * 20000, 413),
                ("PUT", "/", "", 405),
                ("GET", "/" + "a" * 600, None, 414)]:
            st, h, b, _ = request(port, method, path, body=body)
            ok(400 <= st < 500 or (want == 302 and st == 303), "%s %s... -> %d" %
               (method, path[:30], st), st)
        ok(procs[0].poll() is None, "pay-web is still running after the bad requests")

        # ---- HTTPS
        cert, key = os.path.join(tmp, "web.crt"), os.path.join(tmp, "web.key")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "2", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                           capture_output=True, text=True)
        ok(r.returncode == 0, "a self-signed certificate", r.stderr[-300:])
        tport = free_port()
        start_web(c, tport, "--tls-cert", cert, "--tls-key", key)
        ctx = ssl.create_default_context(cafile=cert)
        ok(wait_http(tport, ctx), "pay-web answers over HTTPS")
        conn = http.client.HTTPSConnection("127.0.0.1", tport, context=ctx, timeout=30)
        conn.request("GET", "/login")
        resp = conn.getresponse()
        resp.read()
        ok(resp.status == 200 and "max-age" in (resp.getheader("Strict-Transport-Security") or "")
           and "Secure" in (resp.getheader("Set-Cookie") or ""),
           "HTTPS: HSTS and Secure cookies", resp.getheaders())
        tls = Browser("https://127.0.0.1:%d" % tport)
        browsers.append(tls)
        tls.login("finance", PASSWORD["finance"], shot="31-https-dashboard")
        ok(tls.title() == "Dashboard", "Chromium logs in over HTTPS")

        rc, out, err = c.run("web", "user", "remove", "employer-evil", "--data-dir", c.data)
        ok(rc == 0, "payctl web user remove", err)
        st, h, body, _ = request(port2, "GET", "/login")
        tok = re.search(rb'name="csrf" value="([0-9a-f]{64})"', body).group(1).decode()
        st, h, body, _ = request(port2, "POST", "/login", cookie="pw_login=" + tok,
                                 body="csrf=%s&login=employer-evil&password=%s" %
                                 (tok, PASSWORD["employer-evil"]))
        ok(st == 401, "a removed login cannot log in", st)
    finally:
        for b in browsers:
            try:
                b.quit()
            except Exception:
                pass
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = []
        for p in procs:
            try:
                codes.append(p.wait(timeout=20))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(None)
        c.stop_all()
        logs = ""
        for f in os.listdir(tmp):
            if f.startswith("web-") and f.endswith(".log"):
                logs += open(os.path.join(tmp, f), errors="replace").read()
        ok(all(x == 0 for x in codes), "every pay-web stops cleanly on SIGTERM", codes)
        ok("AddressSanitizer" not in logs and "runtime error:" not in logs,
           "no sanitizer report from pay-web", logs[-3000:])


with tempfile.TemporaryDirectory(prefix="web_browser.") as tmp:
    try:
        main(tmp)
    except Exception as e:  # a setup failure is a failed check, not a silent pass
        import traceback
        ok(False, "the test ran to the end", traceback.format_exc())
done()
