#!/usr/bin/env python3
"""Delivery by e-mail: the REAL pay-mailer against a REAL SMTP server.

The sample scenario (scripts/gen-sample, seed 1) goes through the real
pay-hours, pay-wages and pay-invoicing with payctl, as in scripts/demo, and
the invoices are issued. Then pay-mailer consumes the invoice feed and
e-mails every document to scripts/smtp-sink (aiosmtpd), started here:

  A. STARTTLS with a certificate made here (openssl) and AUTH: every
     document arrives exactly once, to its employer's invoice e-mail, with
     Message-ID <NUMBER@domain>, the PDF attached and the UBL attached
     exactly when invoicing serves one for the document (the same bytes as
     `payctl invoices get --ubl`); the MIME is read with Python's email
     module. `payctl invoices deliveries` shows every one SENT with the
     relay's own answer. A restart sends nothing again; `payctl invoices
     resend` sends one again under NUMBER.r1@domain, and --to elsewhere;
     only finance may list deliveries.
  B. The relay is down when pay-mailer starts: every delivery stays
     PENDING with failed tries and the reason; once the relay is up, every
     document arrives exactly once.
  C. A slow relay (it keeps each message, then waits before answering
     DATA): pay-mailer is SIGKILLed mid-send, several times, and restarted:
     every document arrives, and every copy of a document carries the same
     Message-ID.
  D. The relay refuses one employer's address (550): its documents are
     FAILED with the relay's words; a resend --to another address delivers;
     resend --failed queues the rest again.
  E. Refusals at start: plain SMTP to a host that is not loopback, a bad
     sender address.

usage: mailer_delivery.py PAYCTL PAY_HOURS PAY_WAGES PAY_INVOICING PAY_MAILER
"""
import csv
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import (Deployment, Scenario, bail, done, eq, gen_sample, install_signal_cleanup,
                     kill_all, note, ok, read_csv_file, read_csv_text, spawn)

HERE = os.path.dirname(os.path.abspath(__file__))
SINK = os.path.join(os.path.dirname(HERE), "scripts", "smtp-sink")
DOMAIN = "payroll.example.org"
FROM = "invoices@" + DOMAIN


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(cond, timeout, tick=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(tick)
    return cond()


class Sink:
    """scripts/smtp-sink on a loopback port, keeping messages in `folder`."""

    def __init__(self, tmp, name, port=None, extra=()):
        self.folder = os.path.join(tmp, name)
        self.port = port or free_port()
        self.extra = list(extra)
        self.log = os.path.join(tmp, name + ".log")
        self.proc = None

    def start(self):
        ready = self.folder + ".ready"
        if os.path.exists(ready):
            os.unlink(ready)
        log = open(self.log, "ab")
        self.proc = spawn([sys.executable, SINK, "--port", str(self.port), "--dir", self.folder,
                           "--ready-file", ready] + self.extra,
                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        if not wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, 30):
            raise RuntimeError("smtp-sink did not start")
        if self.proc.poll() is not None:
            raise RuntimeError("smtp-sink exited:\n" + open(self.log).read()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def files(self):
        if not os.path.isdir(self.folder):
            return []
        return sorted(f[:-4] for f in os.listdir(self.folder) if f.endswith(".eml"))

    def messages(self):
        """[(name, email.message.EmailMessage, meta dict)] in arrival order."""
        out = []
        for n in self.files():
            with open(os.path.join(self.folder, n + ".eml"), "rb") as f:
                raw = f.read()
            with open(os.path.join(self.folder, n + ".json")) as f:
                meta = json.load(f)
            out.append((n, email.message_from_bytes(raw, policy=email.policy.default), meta,
                        raw))
        return out


class Mailer:
    """pay-mailer with its own store, endpoint and relay."""

    def __init__(self, dep, exe, tmp, name, relay, extra=()):
        self.dep = dep
        self.exe = exe
        self.name = name
        self.data = os.path.join(tmp, name + "-data")
        self.endpoint = "tcp://127.0.0.1:%d" % free_port()
        self.log = os.path.join(tmp, name + ".log")
        self.args = [exe, "--endpoint", self.endpoint, "--data-dir", self.data,
                     "--keys-dir", dep.keys, "--invoice-feed", dep.ep["invoice_feed"],
                     "--invoicing-endpoint", dep.ep["invoicing"], "--relay", relay,
                     "--from", FROM, "--from-name", "Prison Industries",
                     "--retry-base-ms", "300", "--retry-max-ms", "1500",
                     "--max-tries", "1000", "--smtp-timeout-ms", "20000"] + list(extra)
        self.proc = None
        self.env = dict(dep.env)
        self.env["PAY_MAILER_ENDPOINT"] = self.endpoint

    def start(self):
        log = open(self.log, "ab")
        self.proc = spawn(self.args, env=self.dep.env, stdin=subprocess.DEVNULL, stdout=log,
                          stderr=log)
        log.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode if self.proc else None

    def log_text(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def payctl(self, who, *args):
        return self.dep.payctl(who, *args, env=self.env)

    def deliveries(self, who="finance"):
        """{number: row} from payctl invoices deliveries, or None."""
        r = self.payctl(who, "--format", "csv", "invoices", "deliveries")
        if r.returncode != 0:
            return None
        rows = read_csv_text(r.stdout)
        return {row[0]: dict(zip(rows[0], row)) for row in rows[1:] if row}

    def wait_states(self, numbers, states, timeout):
        def check():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s:\n%s" % (
                    self.name, self.proc.returncode, self.log_text()[-3000:]))
            d = self.deliveries()
            if d and all(d.get(n, {}).get("state") in states for n in numbers):
                return d
            return None
        return wait_for(check, timeout, 0.3)


def by_doc(messages):
    out = {}
    for name, msg, meta, raw in messages:
        out.setdefault(msg["X-Pay-Document"], []).append((name, msg, meta, raw))
    return out


def attachments(msg):
    return {a.get_filename(): (a.get_content_type(), a.get_content())
            for a in msg.iter_attachments()}


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    payctl, hours, wages, invoicing, mailer_exe = sys.argv[1:6]
    install_signal_cleanup()
    tmp = tempfile.mkdtemp(prefix="mailer_delivery.")
    keep = False
    try:
        # ---- the scenario, issued ------------------------------------------------
        t0 = time.time()
        sample = os.path.join(tmp, "sample")
        gen_sample(sample, seed=1)
        emp_rows = read_csv_file(os.path.join(sample, "employers.csv"))
        emp = {r[0]: dict(zip(emp_rows[0], r)) for r in emp_rows[1:] if r}
        dep = Deployment(tmp, payctl, hours, wages, invoicing)
        scen = Scenario(dep, sample)
        dep.make_keys(scen.prisons, scen.employers)
        dep.payctl_ok(None, "keys", "new", "mailer", "--dir", dep.keys)
        dep.payctl_ok(None, "keys", "grant", os.path.join(dep.keys, "mailer.pub"), "--role",
                      "service", "--scope", "-", "--name", "e2e-mailer", "--allow-file",
                      os.path.join(dep.keys, "allow.txt"))
        dep.start_all()
        if not ok(dep.wait_up(), "the three services answer payctl status"):
            bail("the services did not start")
            return 1
        scen.reference()
        # An employer with neither a VAT number nor a Peppol endpoint gets no
        # UBL (DOMAIN.md): make the sample's employer without a VAT number
        # one, before anything is issued to it.
        plain = [e for e, row in sorted(emp.items()) if not row.get("vat_number")]
        if plain:
            path = os.path.join(tmp, "employers-plain.csv")
            with open(path, "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(emp_rows[0])
                row = dict(emp[plain[0]], peppol_endpoint="")
                w.writerow([row.get(c, "") for c in emp_rows[0]])
            r = dep.payctl("industries", "import", "employers", path)
            ok(r.returncode == 0, "%s is registered without a Peppol endpoint" % plain[0],
               r.stdout + r.stderr)
            emp[plain[0]]["peppol_endpoint"] = ""
        scen.hours()
        scen.corrections()
        note(scen.close_and_issue())
        if scen.failures:
            ok(False, "the scenario loads", "\n".join(scen.failures))
        # A credit note too: void an invoiced record of the open week 2 of a
        # weekly employer, and issue again.
        contract_emp = {r[0]: r[1] for r in read_csv_file(os.path.join(sample, "contracts.csv"))[1:]}
        skip = {r[0] for r in read_csv_file(os.path.join(sample, "voids.csv"))[1:]}
        skip |= {r[0] for r in read_csv_file(os.path.join(sample, "amendments.csv"))[1:]}
        bad_lines = {int(r[1]) for r in read_csv_file(os.path.join(sample,
                                                                   "expected_rejections.csv"))[1:]
                     if r[0] == "hours_week2.csv"}
        voided = None
        for line, r in enumerate(read_csv_file(os.path.join(sample, "hours_week2.csv"))[1:],
                                 start=2):
            if (line in bad_lines or r[0] in skip or r[7] != "ATTENDED"
                    or emp.get(contract_emp.get(r[2], ""), {}).get("billing_period") != "WEEKLY"):
                continue
            if dep.payctl("finance", "hours", "void", r[0]).returncode == 0:
                voided = r[0]
                break
        ok(voided is not None, "an invoiced record of week 2 is voided (%s)" % voided)
        dep.wait_feeds()
        r = dep.payctl("finance", "invoices", "issue", "--as-of", "2026-11-23")
        note((r.stderr.strip().splitlines() or ["(no summary)"])[-1])
        r = dep.payctl("finance", "--format", "csv", "invoices", "list")
        rows = read_csv_text(r.stdout)
        docs = {row[0]: dict(zip(rows[0], row)) for row in rows[1:] if row}
        numbers = sorted(docs)
        ok(len(numbers) >= 5, "the sample issues documents (%d)" % len(numbers))
        ok(any(n.startswith("CRN-") for n in numbers), "among them a credit note (%s)"
           % ", ".join(n for n in numbers if n.startswith("CRN-")))
        note("scenario loaded and issued in %.0f s" % (time.time() - t0))

        # What invoicing serves for each document: the UBL (or a refusal).
        ubl = {}
        for n in numbers:
            path = os.path.join(tmp, n + ".xml")
            g = dep.payctl("finance", "invoices", "get", n, "--ubl", path)
            ubl[n] = open(path, "rb").read() if g.returncode == 0 else None
        for e, row in sorted(emp.items()):
            capable = bool(row.get("vat_number") or row.get("peppol_endpoint"))
            served = [n for n in numbers if docs[n]["employer"] == e and ubl[n] is not None]
            mine = [n for n in numbers if docs[n]["employer"] == e]
            if capable:
                ok(len(served) == len(mine),
                   "invoicing serves a UBL for every document of %s (Peppol-capable)" % e)
            elif mine:
                note("%s has neither a VAT number nor a Peppol endpoint: invoicing serves a UBL "
                     "for %d of its %d documents" % (e, len(served), len(mine)))

        # ---- A: STARTTLS + AUTH ---------------------------------------------------------
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pw = os.path.join(tmp, "relay-password")
        with open(pw, "w") as f:
            f.write("s3cret-relay-password\n")
        os.chmod(pw, 0o600)
        sink_a = Sink(tmp, "sink-a", extra=["--tls-cert", cert, "--tls-key", key,
                                            "--auth-user", "mailer", "--auth-password-file", pw])
        sink_a.start()
        ma = Mailer(dep, mailer_exe, tmp, "mailer-a", "smtp://localhost:%d" % sink_a.port,
                    extra=["--relay-user", "mailer", "--relay-password-file", pw,
                           "--relay-ca-file", cert])
        ma.start()
        t1 = time.time()
        d = ma.wait_states(numbers, ("SENT",), 180)
        ok(d is not None, "A: every document is SENT through STARTTLS + AUTH (%d in %.1f s)"
           % (len(numbers), time.time() - t1),
           "%r\n%s" % (ma.deliveries(), ma.log_text()[-3000:]))
        d = d or ma.deliveries() or {}
        msgs = sink_a.messages()
        got = by_doc(msgs)
        eq(sorted(got), numbers, "A: the relay received every document")
        ok(all(len(v) == 1 for v in got.values()), "A: each exactly once",
           {k: len(v) for k, v in got.items() if len(v) != 1})
        bad = []
        for n in numbers:
            if n not in got:
                continue
            name, msg, meta, raw = got[n][0]
            want_to = emp[docs[n]["employer"]]["email"]
            if msg["Message-ID"] != "<%s@%s>" % (n, DOMAIN):
                bad.append("%s: Message-ID %s" % (n, msg["Message-ID"]))
            if msg["To"] != want_to or meta["rcpt_tos"] != [want_to]:
                bad.append("%s: To %s, envelope %s, want %s" % (n, msg["To"], meta["rcpt_tos"],
                                                               want_to))
            if meta["mail_from"] != FROM or not meta["tls"] or meta["auth_user"] != "mailer":
                bad.append("%s: envelope from %s, tls %s, auth %s" % (
                    n, meta["mail_from"], meta["tls"], meta["auth_user"]))
            if n not in (msg["Subject"] or ""):
                bad.append("%s: subject %s" % (n, msg["Subject"]))
            body = msg.get_body(preferencelist=("plain",))
            text = body.get_content() if body else ""
            total = docs[n]["total"]
            if ("\u00a3" + total) not in text:
                bad.append("%s: the text does not say the total \u00a3%s" % (n, total))
            att = attachments(msg)
            pdf = att.get(n + ".pdf")
            if not pdf or pdf[0] != "application/pdf" or not pdf[1].startswith(b"%PDF-"):
                bad.append("%s: no PDF attachment (%s)" % (n, sorted(att)))
            xml = att.get(n + ".xml")
            if ubl[n] is not None:
                if not xml or xml[0] != "application/xml" or xml[1] != ubl[n]:
                    bad.append("%s: the UBL is missing or differs from invoicing's" % n)
            elif xml:
                bad.append("%s: a UBL attached although invoicing serves none" % n)
            if len(att) != (2 if ubl[n] is not None else 1):
                bad.append("%s: attachments %s" % (n, sorted(att)))
            row = d.get(n, {})
            if row.get("detail") != meta["answer"]:
                bad.append("%s: deliveries says %r, the relay answered %r" % (
                    n, row.get("detail"), meta["answer"]))
            if row.get("ubl") != ("yes" if ubl[n] is not None else "no"):
                bad.append("%s: deliveries ubl=%s" % (n, row.get("ubl")))
            if row.get("message_id") != "%s@%s" % (n, DOMAIN) or row.get("to") != want_to:
                bad.append("%s: deliveries row %r" % (n, row))
        ok(not bad, "A: each message has the right recipient, Message-ID, text and "
           "attachments (PDF always; UBL exactly when invoicing serves one), and "
           "deliveries shows the relay's answer", "\n".join(bad))
        with_ubl = sum(1 for n in numbers if ubl[n] is not None)
        note("A: %d documents, %d with a UBL" % (len(numbers), with_ubl))
        eq({docs[n]["kind"] for n in got}, {"invoice", "credit note"},
           "A: invoices and credit notes are delivered")

        r = ma.payctl("employer-dhl", "invoices", "deliveries")
        ok(r.returncode == 1 and "PERMISSION_DENIED" in r.stderr,
           "A: an employer key may not list deliveries", r.stderr)
        r = ma.payctl("finance", "--format", "csv", "invoices", "deliveries", "--state", "SENT",
                      "--employer", "dhl")
        rows = read_csv_text(r.stdout)[1:]
        eq(sorted(x[0] for x in rows if x),
           sorted(n for n in numbers if docs[n]["employer"] == "dhl"),
           "A: deliveries --state SENT --employer dhl lists dhl's documents")
        r = ma.payctl("finance", "invoices", "deliveries", "--state", "LOST")
        ok(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr, "A: an unknown state is refused",
           r.stderr)

        # A restart sends nothing again.
        eq(ma.stop(), 0, "A: pay-mailer stops cleanly on SIGTERM")
        before = len(sink_a.files())
        ma.start()
        time.sleep(3)
        eq(len(sink_a.files()), before, "A: after a restart nothing is sent again")

        # Resend: under a new Message-ID; --to elsewhere.
        n0 = numbers[0]
        r = ma.payctl("finance", "invoices", "resend", n0)
        ok(r.returncode == 0, "A: payctl invoices resend %s" % n0, r.stderr)
        n1 = numbers[-1]
        r = ma.payctl("finance", "invoices", "resend", n1, "--to", "second.copy@example.net")
        ok(r.returncode == 0, "A: payctl invoices resend %s --to another address" % n1, r.stderr)
        r = ma.payctl("finance", "invoices", "resend", "INV-999999")
        ok(r.returncode == 1 and "NOT_FOUND" in r.stderr, "A: resend of an unknown document",
           r.stderr)
        r = ma.payctl("finance", "invoices", "resend", "INV-1")
        ok(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr, "A: resend of a malformed number",
           r.stderr)
        r = ma.payctl("employer-dhl", "invoices", "resend", n0)
        ok(r.returncode == 1 and "PERMISSION_DENIED" in r.stderr,
           "A: an employer key may not resend", r.stderr)
        r = ma.payctl("finance", "invoices", "resend", n0, "--to", "not an address")
        ok(r.returncode == 1 and "INVALID_ARGUMENT" in r.stderr, "A: resend --to a bad address",
           r.stderr)
        d = ma.wait_states([n0, n1], ("SENT",), 60)
        got = by_doc(sink_a.messages())
        ids0 = [m["Message-ID"] for _, m, _, _ in got.get(n0, [])]
        eq(ids0, ["<%s@%s>" % (n0, DOMAIN), "<%s.r1@%s>" % (n0, DOMAIN)],
           "A: the resend arrives under <NUMBER.r1@domain>")
        last = got.get(n1, [])[-1] if got.get(n1) else None
        ok(last is not None and last[1]["To"] == "second.copy@example.net"
           and last[2]["rcpt_tos"] == ["second.copy@example.net"],
           "A: resend --to goes to the new address")
        ok(d is not None and d[n1]["to"] == "second.copy@example.net",
           "A: and deliveries shows the new recipient")
        eq(ma.stop(), 0, "A: pay-mailer stops cleanly again")
        sink_a.stop()

        # ---- B: the relay is down for a while ----------------------------------------------
        sink_b = Sink(tmp, "sink-b")
        mb = Mailer(dep, mailer_exe, tmp, "mailer-b", "smtp://127.0.0.1:%d" % sink_b.port,
                    extra=["--relay-tls", "none"])
        mb.start()

        def tried_all():
            d = mb.deliveries()
            if d and all(d.get(n, {}).get("state") == "PENDING"
                         and int(d[n]["tries"] or 0) >= 1 for n in numbers):
                return d
            return None
        d = wait_for(tried_all, 120, 0.5)
        ok(d is not None, "B: with the relay down every document is PENDING after failed tries",
           "%r\n%s" % (mb.deliveries(), mb.log_text()[-2000:]))
        if d:
            ok(all("onnect" in d[n]["detail"] for n in numbers),
               "B: and says why (%s)" % d[numbers[0]]["detail"])
        eq(sink_b.files(), [], "B: nothing arrived while the relay was down")
        time.sleep(2)
        sink_b.start()
        t2 = time.time()
        d = mb.wait_states(numbers, ("SENT",), 180)
        ok(d is not None, "B: once the relay is up, every document is SENT (%.1f s)"
           % (time.time() - t2), "%r\n%s" % (mb.deliveries(), mb.log_text()[-2000:]))
        got = by_doc(sink_b.messages())
        eq(sorted(got), numbers, "B: the relay received every document")
        ok(all(len(v) == 1 for v in got.values()), "B: each exactly once",
           {k: len(v) for k, v in got.items() if len(v) != 1})
        if d:
            ok(all(int(d[n]["attempts"]) >= 2 for n in numbers),
               "B: each after more than one attempt")
        eq(mb.stop(), 0, "B: pay-mailer stops cleanly")
        sink_b.stop()

        # ---- C: SIGKILL mid-send ----------------------------------------------------------------
        sink_c = Sink(tmp, "sink-c", extra=["--delay-data", "1.0"])
        sink_c.start()
        mc = Mailer(dep, mailer_exe, tmp, "mailer-c", "smtp://127.0.0.1:%d" % sink_c.port,
                    extra=["--relay-tls", "none"])
        kills = 0
        for target in (1, 4, 8):
            mc.start()
            # The sink keeps a message, then waits a second before its 250:
            # a kill right after the file appears lands mid-send.
            seen = wait_for(lambda: len(sink_c.files()) >= target or mc.proc.poll() is not None,
                            120, 0.02)
            if mc.proc.poll() is None and seen:
                mc.kill()
                kills += 1
            time.sleep(0.2)
        eq(kills, 3, "C: pay-mailer SIGKILLed three times while the relay held a message")
        mc.start()
        d = mc.wait_states(numbers, ("SENT",), 300)
        ok(d is not None, "C: after the restarts every document is SENT",
           "%r\n%s" % (mc.deliveries(), mc.log_text()[-2000:]))
        got = by_doc(sink_c.messages())
        eq(sorted(got), numbers, "C: every document arrived")
        dups = {k: [m["Message-ID"] for _, m, _, _ in v] for k, v in got.items() if len(v) > 1}
        ok(dups, "C: a kill mid-send led to a second copy (%d documents)" % len(dups))
        ok(all(len(set(ids)) == 1 and ids[0] == "<%s@%s>" % (k, DOMAIN)
               for k, ids in dups.items()),
           "C: every copy of a document carries the same Message-ID", dups)
        ok(all(len(v) <= 2 for v in got.values()),
           "C: no document arrived more than twice (one resend per kill)",
           {k: len(v) for k, v in got.items()})
        eq(mc.stop(), 0, "C: pay-mailer stops cleanly")
        sink_c.stop()

        # ---- D: a permanent refusal ---------------------------------------------------------------
        victim = docs[numbers[0]]["employer"]
        vaddr = emp[victim]["email"]
        vdocs = [n for n in numbers if docs[n]["employer"] == victim]
        sink_d = Sink(tmp, "sink-d", extra=["--refuse", vaddr])
        sink_d.start()
        md = Mailer(dep, mailer_exe, tmp, "mailer-d", "smtp://127.0.0.1:%d" % sink_d.port,
                    extra=["--relay-tls", "none"])
        md.start()
        d = md.wait_states(numbers, ("SENT", "FAILED"), 180)
        ok(d is not None and all(d[n]["state"] == "FAILED" for n in vdocs)
           and all(d[n]["state"] == "SENT" for n in numbers if n not in vdocs),
           "D: a 550 for %s's address fails its %d documents at once, the rest are SENT"
           % (victim, len(vdocs)), "%r" % (d,))
        ok(d is not None and all("550" in d[n]["detail"] and d[n]["tries"] == "1" for n in vdocs),
           "D: after one try, with the relay's words (%s)" % (d[vdocs[0]]["detail"] if d else ""))
        r = md.payctl("finance", "invoices", "resend", vdocs[0], "--to", "ap.backup@example.net")
        ok(r.returncode == 0, "D: resend --to another address", r.stderr)
        d = md.wait_states([vdocs[0]], ("SENT",), 60)
        got = by_doc(sink_d.messages())
        ok(d is not None and [m["To"] for _, m, _, _ in got.get(vdocs[0], [])]
           == ["ap.backup@example.net"], "D: and it is delivered there")
        rest = vdocs[1:]
        r = md.payctl("finance", "--format", "csv", "invoices", "resend", "--failed")
        listed = sorted(x[0] for x in read_csv_text(r.stdout)[1:] if x)
        ok(r.returncode == 0 and listed == sorted(rest),
           "D: resend --failed queues every FAILED delivery (%d)" % len(rest), r.stdout + r.stderr)
        r = md.payctl("finance", "invoices", "resend", "--failed", vdocs[0])
        ok(r.returncode == 2, "D: resend --failed with a NUMBER is a usage error", r.stderr)

        def failed_again():
            d = md.deliveries()
            if d and all(d[n]["state"] == "FAILED" and d[n]["attempts"] == "2" for n in rest):
                return d
            return None
        ok(not rest or wait_for(failed_again, 60, 0.3) is not None,
           "D: and they are tried again (refused again: FAILED after a second attempt)")
        eq(md.stop(), 0, "D: pay-mailer stops cleanly")
        sink_d.stop()

        # ---- E: refusals at start ------------------------------------------------------------------
        r = subprocess.run([mailer_exe, "--relay", "smtp://192.0.2.10:25", "--relay-tls", "none",
                            "--from", FROM, "--keys-dir", dep.keys,
                            "--data-dir", os.path.join(tmp, "e-data")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        ok(r.returncode == 2 and "loopback only" in r.stderr,
           "E: plain SMTP to a host that is not loopback is refused with a clear message",
           r.stderr)
        r = subprocess.run([mailer_exe, "--relay", "smtp://mail.example.org", "--from", "nobody",
                            "--keys-dir", dep.keys, "--data-dir", os.path.join(tmp, "e-data")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        ok(r.returncode == 2 and "--from" in r.stderr, "E: a bad sender address is refused",
           r.stderr)
        ok(not os.path.exists(os.path.join(tmp, "e-data")), "E: and nothing is created")

        for m in (ma, mb, mc, md):
            log = m.log_text()
            ok("s3cret-relay-password" not in log, "%s: the password never reaches the log"
               % m.name)
        st = dep.stop_all()
        ok(all(v == 0 for v in st.values()), "the services stop cleanly", st)
    except Exception as e:  # a step that could not run is a failure, never a pass
        import traceback
        ok(False, "the test ran to the end", traceback.format_exc())
        keep = True
    finally:
        kill_all()
        if keep or os.environ.get("MAILER_TEST_KEEP"):
            note("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
