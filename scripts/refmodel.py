#!/usr/bin/env python3
"""refmodel: an independent reference model of the payroll rules.

Written from spec/DOMAIN.md and spec/FORMATS.md alone (never from the C
services), so that the end-to-end tests can compare what the real processes
compute with what the spec says they must compute. Python 3 standard library
only; integer arithmetic only (pence, minutes).

What it does, given a folder of CSVs in the FORMATS.md layouts (as written by
scripts/gen-sample):
  - imports the reference data row by row, refusing bad rows with the spec's
    codes (INVALID_ARGUMENT, UNKNOWN_*, RATE_OUT_OF_BOUNDS, BELOW_LIVING_WAGE,
    REGIME_MISMATCH);
  - captures the hours files in order, answering each row with the 13 checks
    of DOMAIN.md in their order (checks 9-11 count earlier accepted records of
    the same batch);
  - applies amendments.csv (record_id,minutes,units,outcome,paid_absence) and
    voids.csv (record_id);
  - closes the requested pay weeks and works out each prison's payroll
    (sessions, minutes, gross, top_up, deductions, levy, net, and totals);
  - works out the invoice lines and totals per employer and billing period,
    and the reconciliation rows per prison and week.

The scenario: if DIR/scenario.json exists (gen-sample writes it) it gives the
order of the steps and the "today" of each hours import. Otherwise the hours
files hours_week*.csv are taken in name order, each imported on the Monday
after its latest date, and the final today is the Monday after the latest
week. --today overrides the final today, --finance skips check 12 (the finance
role may back-date; the model then refuses no date at all).

The caller is assumed allowed to record hours for every prison (finance, or
each prison's instructor importing that prison's rows), so check 5
(PERMISSION_DENIED) never fires here.

CLI:  scripts/refmodel.py DIR [--close-week 2026-W46 ...] [--today D]
                              [--finance] [--records]
                              [--format json|text|payroll-csv|reconciliation-csv]
"""

import argparse
import csv
import datetime as dt
import json
import os
import re
import sys

# ---------------------------------------------------------------- constants

PRISON_RE = re.compile(r"[A-Z]{3}")
PRISONER_RE = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
EMPLOYER_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,31}")
CONTRACT_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,23}")
VAT_RE = re.compile(r"GB[0-9]{9}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")
UINT_RE = re.compile(r"[0-9]+")
MONEY_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,2}))?")

LEVELS = ("BAS", "ENT", "STD", "ENH", "EN2")
REGIMES = ("CLOSED", "OPEN")
WORK_TYPES = ("WORKSHOP", "OUTSIDE")
PERIODS = ("WEEKLY", "MONTHLY")
RATE_BASES = ("SESSION", "HOURLY")
BILL_BASES = ("HOURLY", "UNIT")
DEDUCTION_KINDS = ("INCOME_TAX", "NATIONAL_INSURANCE", "COURT_ORDER",
                   "CHILD_MAINTENANCE")
SESSIONS = ("AM", "PM", "ED")
OUTCOMES = ("ATTENDED", "SICK", "REST", "OTHER", "NOT_REQUIRED", "CLASH",
            "CANCELLED", "REFUSED", "SUSPENDED")
PAID_ALWAYS = ("ATTENDED", "NOT_REQUIRED", "CLASH", "CANCELLED")
PAID_IF_FLAGGED = ("SICK", "REST", "OTHER")

HEADERS = {
    "prisons": "code,name,regime",
    "prisoners": "number,prison,incentive_level,public_contact_cleared_on,"
                 "released_on",
    "employers": "id,name,address,postcode,vat_number,email,billing_period,"
                 "payment_terms_days,peppol_endpoint",
    "contracts": "id,employer,prison,activity,work_type,start,end,"
                 "public_contact,attested_by,attested_on,attestation_ref",
    "allocations": "prisoner,contract,from,to,pay_band",
    "pay_rates": "prison,pay_band,incentive_level,effective_from,basis,rate,"
                 "piece_rate,piece_rate_items",
    "outside_wages": "contract,effective_from,hourly_wage",
    "billing_terms": "contract,effective_from,basis,charge,vat_rate_bp",
    "deductions": "prisoner,week,kind,amount",
    "transfers": "prisoner,prison,effective_from",
    "incentive_levels": "prisoner,incentive_level,effective_from",
    "hours": "record_id,prisoner,contract,date,session,minutes,units,outcome,"
             "paid_absence",
    "amendments": "record_id,minutes,units,outcome,paid_absence",
    "voids": "record_id",
}

# Trailing columns a file may leave out (FORMATS.md): the 8-column
# employers header is still accepted.
OPTIONAL_TRAILING = {"employers": 1}

PEPPOL_RE = re.compile(r"[0-9]{4}:[!-~]{1,120}")

# The Electronic Address Scheme codes of Peppol BIS Billing 3.0.15 (rule
# PEPPOL-EN16931-CL008); "EM" (e-mail) is not one of them.
EAS = set("""0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0151 0183
0184 0188 0190 0191 0192 0193 0195 0196 0198 0199 0200 0201 0202 0204 0208 0209
0210 0211 0212 0213 0215 0216 0218 0221 0230 9901 9910 9913 9914 9915 9918 9919
9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936
9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 9952
9953 9957 9959""".split())
PEPPOL_ID_RE = re.compile(r"[A-Za-z0-9.:_-]{1,120}")


def gln_ok(s):
    """GS1 check digit (PEPPOL-COMMON-R040): 13 digits."""
    if not re.fullmatch(r"[0-9]{13}", s):
        return False
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(s[:-1])))
    return (10 - total % 10) % 10 == int(s[-1])


def peppol_endpoint_ok(s):
    """scheme:id with a scheme on the EAS list; GLNs (0088) checked. The
    service also checks the other schemes Peppol checks (0192, 0184, 0208,
    0007, 0151); the sample uses none of them."""
    scheme, _, ident = s.partition(":")
    if scheme not in EAS or not PEPPOL_ID_RE.fullmatch(ident):
        return False
    return gln_ok(ident) if scheme == "0088" else True

# The reference kinds in the order they must be imported (each refers only
# to kinds before it).
REFERENCE_ORDER = ("prisons", "prisoners", "employers", "contracts",
                   "allocations", "pay_rates", "outside_wages",
                   "billing_terms", "deductions", "transfers",
                   "incentive_levels")


class Policy:
    """A prison's pay policy: the DOMAIN.md defaults (none is overridden)."""
    weekly_cap = 2400
    daily_cap = 600
    backdate_days = 7
    min_weekly_pay = 400
    session_min, session_max = 125, 525
    hourly_min, hourly_max = 30, 250
    piece_max = 800
    living_wage = 1271          # pence per hour, from 2026-04-01
    invoice_delay_days = 0      # issue on the day after the period's last day


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------ arithmetic

def round_half_up(a, b):
    """round_half_up(a / b) in integers; negatives on the absolute value."""
    if b <= 0:
        raise ValueError("divisor must be positive")
    if a < 0:
        return -((-a + b // 2) // b)
    return (a + b // 2) // b


def levy_of(net_outside):
    """Prisoners' Earnings Act levy on the week's net OUTSIDE pay."""
    return max(0, net_outside - 2000) * 40 // 100


def pence_str(p):
    """Integer pence as pounds with exactly two decimals."""
    sign = "-" if p < 0 else ""
    p = abs(p)
    return "%s%d.%02d" % (sign, p // 100, p % 100)


def hundredths_str(h):
    return "%d.%02d" % (h // 100, h % 100)


# ------------------------------------------------------------ dates

def parse_date(s):
    if not DATE_RE.fullmatch(s):
        return None
    try:
        return dt.date(int(s[0:4]), int(s[5:7]), int(s[8:10]))
    except ValueError:
        return None


def parse_week(s):
    """'2026-W46' -> the Monday of that ISO week, or None."""
    m = WEEK_RE.fullmatch(s)
    if not m:
        return None
    try:
        return dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None


def iso_week(d):
    y, w, _ = d.isocalendar()
    return "%04d-W%02d" % (y, w)


def month_of(d):
    return "%04d-%02d" % (d.year, d.month)


def period_of(d, billing_period):
    return iso_week(d) if billing_period == "WEEKLY" else month_of(d)


def period_last_day(period):
    monday = parse_week(period)
    if monday is not None:
        return monday + dt.timedelta(days=6)
    y, m = int(period[0:4]), int(period[5:7])
    first_next = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def parse_money(s):
    """Pounds with 0 to 2 decimals -> integer pence, exactly."""
    m = MONEY_RE.fullmatch(s)
    if not m:
        return None
    frac = (m.group(2) or "").ljust(2, "0")
    return int(m.group(1)) * 100 + int(frac)


# ------------------------------------------------------------ CSV reading

def read_csv(path):
    """Returns (header, [(line_number, cells)]) with the header as line 1."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = []
        for cells in reader:
            if cells == []:
                continue
            rows.append((reader.line_num, cells))
    return header, rows


# ------------------------------------------------------------ the model

class Record:
    __slots__ = ("record_id", "prisoner", "contract", "date", "session",
                 "minutes", "units", "outcome", "paid_absence", "live",
                 "prison", "employer", "work_type", "pay_band", "level",
                 "week", "source")

    def content(self):
        return (self.prisoner, self.contract, self.date, self.session,
                self.minutes, self.units, self.outcome, self.paid_absence)


class Model:
    def __init__(self, policy=None):
        self.policy = policy or Policy()
        self.prisons = {}        # code -> {name, regime}
        self.prisoners = {}      # number -> {prison, level, cleared_on, released_on}
        self.employers = {}      # id -> dict
        self.contracts = {}      # id -> dict
        self.allocations = {}    # (prisoner, contract, from) -> {to, band}
        self.rates = {}          # (prison, band, level, from) -> dict
        self.outside_wages = {}  # (contract, from) -> pence/hour
        self.terms = {}          # (contract, from) -> {basis, charge, vat_bp}
        self.deductions = {}     # (prisoner, week, kind) -> pence
        self.transfers = {}      # (prisoner, from) -> prison
        self.levels = {}         # (prisoner, from) -> level
        self.records = {}        # record_id -> Record (accepted only)
        self.by_prisoner = {}    # prisoner -> [Record] (accepted only)
        self.closed = set()      # (prison, week)
        self.today = None

    # ------------------------------------------------ reference data

    def import_reference(self, kind, cells):
        """Applies one reference row; raises Refused. Same key replaces."""
        fields = HEADERS[kind].split(",")
        short = len(fields) - len(cells)
        if short < 0 or short > OPTIONAL_TRAILING.get(kind, 0):
            raise Refused("INVALID_ARGUMENT", "expected %d fields, got %d"
                          % (len(fields), len(cells)))
        row = dict(zip(fields, list(cells) + [""] * short))
        getattr(self, "_ref_" + kind)(row)

    @staticmethod
    def _bad(field, why="malformed"):
        raise Refused("INVALID_ARGUMENT", "%s: %s" % (field, why))

    def _need(self, row, field, regex):
        if not regex.fullmatch(row[field]):
            self._bad(field)
        return row[field]

    def _date(self, row, field, optional=False):
        if optional and row[field] == "":
            return None
        d = parse_date(row[field])
        if d is None:
            self._bad(field, "not a real YYYY-MM-DD date")
        return d

    def _enum(self, row, field, values):
        if row[field] not in values:
            self._bad(field, "not one of " + "|".join(values))
        return row[field]

    def _text(self, row, field, optional=False):
        if row[field] == "" and not optional:
            self._bad(field, "empty")
        return row[field]

    def _money(self, row, field, optional=False):
        if optional and row[field] == "":
            return None
        p = parse_money(row[field])
        if p is None:
            self._bad(field, "not an amount in pounds")
        return p

    def _uint(self, row, field, lo=0, hi=None, optional=False):
        if optional and row[field] == "":
            return None
        if not UINT_RE.fullmatch(row[field]):
            self._bad(field, "not a whole number")
        v = int(row[field])
        if v < lo or (hi is not None and v > hi):
            self._bad(field, "out of range")
        return v

    def _bool(self, row, field):
        return self._enum(row, field, ("yes", "no")) == "yes"

    def _prison_ref(self, code):
        if code not in self.prisons:
            raise Refused("UNKNOWN_PRISON", "no prison " + code)

    def _prisoner_ref(self, number):
        if number not in self.prisoners:
            raise Refused("UNKNOWN_PRISONER", "no prisoner " + number)

    def _contract_ref(self, cid):
        if cid not in self.contracts:
            raise Refused("UNKNOWN_CONTRACT", "no contract " + cid)

    def _ref_prisons(self, row):
        code = self._need(row, "code", PRISON_RE)
        name = self._text(row, "name")
        regime = self._enum(row, "regime", REGIMES)
        self.prisons[code] = {"name": name, "regime": regime}

    def _ref_prisoners(self, row):
        number = self._need(row, "number", PRISONER_RE)
        prison = self._need(row, "prison", PRISON_RE)
        level = self._enum(row, "incentive_level", LEVELS)
        cleared = self._date(row, "public_contact_cleared_on", optional=True)
        released = self._date(row, "released_on", optional=True)
        self._prison_ref(prison)
        self.prisoners[number] = {"prison": prison, "level": level,
                                  "cleared_on": cleared,
                                  "released_on": released}

    def _ref_employers(self, row):
        eid = self._need(row, "id", EMPLOYER_RE)
        name = self._text(row, "name")
        address = self._text(row, "address")
        postcode = self._text(row, "postcode")
        vat = row["vat_number"]
        if vat != "" and not VAT_RE.fullmatch(vat):
            self._bad("vat_number")
        email = self._text(row, "email")
        if "@" not in email:
            self._bad("email")
        period = self._enum(row, "billing_period", PERIODS)
        terms = self._uint(row, "payment_terms_days", optional=True)
        peppol = row["peppol_endpoint"]
        if peppol != "" and not (PEPPOL_RE.fullmatch(peppol) and peppol_endpoint_ok(peppol)):
            self._bad("peppol_endpoint")
        self.employers[eid] = {
            "peppol_endpoint": peppol or None,
            "name": name, "address": address, "postcode": postcode,
            "vat_number": vat or None, "email": email,
            "billing_period": period,
            "payment_terms_days": 30 if terms is None else terms}

    def _ref_contracts(self, row):
        cid = self._need(row, "id", CONTRACT_RE)
        employer = self._need(row, "employer", EMPLOYER_RE)
        prison = self._need(row, "prison", PRISON_RE)
        activity = self._text(row, "activity")
        work_type = self._enum(row, "work_type", WORK_TYPES)
        start = self._date(row, "start")
        end = self._date(row, "end", optional=True)
        if end is not None and end < start:
            self._bad("end", "before start")
        public = self._bool(row, "public_contact")
        att = (row["attested_by"], row["attested_on"], row["attestation_ref"])
        if any(att) and not all(att):
            self._bad("attested_by", "an attestation needs who, when and a reference")
        attested_on = self._date(row, "attested_on", optional=True)
        if employer not in self.employers:
            raise Refused("UNKNOWN_EMPLOYER", "no employer " + employer)
        self._prison_ref(prison)
        if work_type == "OUTSIDE" and self.prisons[prison]["regime"] != "OPEN":
            raise Refused("REGIME_MISMATCH",
                          "OUTSIDE contract at CLOSED prison " + prison)
        self.contracts[cid] = {
            "employer": employer, "prison": prison, "activity": activity,
            "work_type": work_type, "start": start, "end": end,
            "public_contact": public, "attested": all(att),
            "attested_on": attested_on}

    def _ref_allocations(self, row):
        prisoner = self._need(row, "prisoner", PRISONER_RE)
        contract = self._need(row, "contract", CONTRACT_RE)
        frm = self._date(row, "from")
        to = self._date(row, "to", optional=True)
        if to is not None and to < frm:
            self._bad("to", "before from")
        band = self._uint(row, "pay_band", 1, 10)
        self._prisoner_ref(prisoner)
        self._contract_ref(contract)
        self.allocations[(prisoner, contract, frm)] = {"to": to, "band": band}

    def _ref_pay_rates(self, row):
        prison = self._need(row, "prison", PRISON_RE)
        band = self._uint(row, "pay_band", 1, 10)
        level = self._enum(row, "incentive_level", LEVELS)
        frm = self._date(row, "effective_from")
        basis = self._enum(row, "basis", RATE_BASES)
        rate = self._money(row, "rate")
        piece = self._money(row, "piece_rate", optional=True)
        items = self._uint(row, "piece_rate_items", 1, optional=True)
        if (piece is None) != (items is None):
            self._bad("piece_rate_items",
                      "a piece rate needs both piece_rate and piece_rate_items")
        self._prison_ref(prison)
        p = self.policy
        lo, hi = ((p.session_min, p.session_max) if basis == "SESSION"
                  else (p.hourly_min, p.hourly_max))
        if not lo <= rate <= hi:
            raise Refused("RATE_OUT_OF_BOUNDS", "%s rate %dp outside %d-%dp"
                          % (basis, rate, lo, hi))
        if piece is not None and piece > p.piece_max:
            raise Refused("RATE_OUT_OF_BOUNDS", "piece rate %dp above %dp"
                          % (piece, p.piece_max))
        self.rates[(prison, band, level, frm)] = {
            "basis": basis, "rate": rate, "piece": piece, "items": items}

    def _ref_outside_wages(self, row):
        contract = self._need(row, "contract", CONTRACT_RE)
        frm = self._date(row, "effective_from")
        wage = self._money(row, "hourly_wage")
        self._contract_ref(contract)
        if self.contracts[contract]["work_type"] != "OUTSIDE":
            raise Refused("INVALID_ARGUMENT", "contract %s is not an OUTSIDE contract"
                          % contract)
        if wage < self.policy.living_wage:
            raise Refused("BELOW_LIVING_WAGE", "%dp/hour below %dp"
                          % (wage, self.policy.living_wage))
        self.outside_wages[(contract, frm)] = wage

    def _ref_billing_terms(self, row):
        contract = self._need(row, "contract", CONTRACT_RE)
        frm = self._date(row, "effective_from")
        basis = self._enum(row, "basis", BILL_BASES)
        charge = self._money(row, "charge")
        bp = self._uint(row, "vat_rate_bp", 0, 10000)
        self._contract_ref(contract)
        self.terms[(contract, frm)] = {"basis": basis, "charge": charge,
                                       "vat_bp": bp, "from": frm}

    def _ref_deductions(self, row):
        prisoner = self._need(row, "prisoner", PRISONER_RE)
        week = row["week"]
        if parse_week(week) is None:
            self._bad("week")
        kind = self._enum(row, "kind", DEDUCTION_KINDS)
        amount = self._money(row, "amount")
        self._prisoner_ref(prisoner)
        self.deductions[(prisoner, week, kind)] = amount

    def _ref_transfers(self, row):
        prisoner = self._need(row, "prisoner", PRISONER_RE)
        prison = self._need(row, "prison", PRISON_RE)
        frm = self._date(row, "effective_from")
        self._prisoner_ref(prisoner)
        self._prison_ref(prison)
        self.transfers[(prisoner, frm)] = prison

    def _ref_incentive_levels(self, row):
        prisoner = self._need(row, "prisoner", PRISONER_RE)
        level = self._enum(row, "incentive_level", LEVELS)
        frm = self._date(row, "effective_from")
        self._prisoner_ref(prisoner)
        self.levels[(prisoner, frm)] = level

    # ------------------------------------------------ effective-dated lookups

    def custody_prison(self, prisoner, d):
        """The prison in force on d after transfers, None once released."""
        p = self.prisoners[prisoner]
        if p["released_on"] is not None and d >= p["released_on"]:
            return None
        best, prison = None, p["prison"]
        for (who, frm), to_prison in self.transfers.items():
            if who == prisoner and frm <= d and (best is None or frm > best):
                best, prison = frm, to_prison
        return prison

    def level_on(self, prisoner, d):
        best, level = None, self.prisoners[prisoner]["level"]
        for (who, frm), lv in self.levels.items():
            if who == prisoner and frm <= d and (best is None or frm > best):
                best, level = frm, lv
        return level

    def allocation_on(self, prisoner, contract, d):
        """The covering allocation with the latest from, or None."""
        best = None
        for (who, cid, frm), a in self.allocations.items():
            if who != prisoner or cid != contract or frm > d:
                continue
            if a["to"] is not None and d > a["to"]:
                continue
            if best is None or frm > best[0]:
                best = (frm, a)
        return None if best is None else best[1]

    def rate_on(self, prison, band, level, d):
        best = None
        for (pr, b, lv, frm), r in self.rates.items():
            if pr == prison and b == band and lv == level and frm <= d:
                if best is None or frm > best[0]:
                    best = (frm, r)
        return None if best is None else best[1]

    def outside_wage_on(self, contract, d):
        best = None
        for (cid, frm), w in self.outside_wages.items():
            if cid == contract and frm <= d and (best is None or frm > best[0]):
                best = (frm, w)
        return None if best is None else best[1]

    def terms_span(self, contract, tfrom, period):
        """The days of `period` that the contract's terms row from `tfrom`
        covers: from the later of the period's first day and tfrom, to the
        earlier of its last day and the day before the next row."""
        last = period_last_day(period)
        first = parse_week(period) or dt.date(int(period[0:4]), int(period[5:7]), 1)
        nxt = [f for (cid, f) in self.terms if cid == contract and f > tfrom]
        if nxt:
            last = min(last, min(nxt) - dt.timedelta(days=1))
        return max(first, tfrom), last

    def terms_on(self, contract, d):
        best = None
        for (cid, frm), t in self.terms.items():
            if cid == contract and frm <= d and (best is None or frm > best[0]):
                best = (frm, t)
        return None if best is None else best[1]

    # ------------------------------------------------ hours capture

    def _parse_hours(self, cells):
        """Check 1: well formed. Returns the parsed content tuple's dict."""
        fields = HEADERS["hours"].split(",")
        if len(cells) != len(fields):
            raise Refused("INVALID_ARGUMENT", "expected %d fields, got %d"
                          % (len(fields), len(cells)))
        row = dict(zip(fields, cells))
        if not 1 <= len(row["record_id"]) <= 64:
            self._bad("record_id", "must be 1 to 64 characters")
        self._need(row, "prisoner", PRISONER_RE)
        self._need(row, "contract", CONTRACT_RE)
        d = self._date(row, "date")
        self._enum(row, "session", SESSIONS)
        minutes = self._uint(row, "minutes", 1, 600)
        units = 0 if row["units"] == "" else self._uint(row, "units", 0)
        self._enum(row, "outcome", OUTCOMES)
        if row["paid_absence"] == "":
            paid = False
        else:
            paid = self._bool(row, "paid_absence")
        return {"record_id": row["record_id"], "prisoner": row["prisoner"],
                "contract": row["contract"], "date": d,
                "session": row["session"], "minutes": minutes, "units": units,
                "outcome": row["outcome"], "paid_absence": paid}

    def _live(self, exclude=None, prisoner=None):
        pool = (self.records.values() if prisoner is None
                else self.by_prisoner.get(prisoner, ()))
        for r in pool:
            if r.live and r.record_id != exclude:
                yield r

    def _check_caps(self, prisoner, d, minutes, prison, exclude=None):
        pol = self.policy
        day = sum(r.minutes for r in self._live(exclude, prisoner)
                  if r.date == d)
        if day + minutes > pol.daily_cap:
            raise Refused("DAILY_CAP_EXCEEDED",
                          "%d minutes on %s, cap %d at %s"
                          % (day + minutes, d, pol.daily_cap, prison))
        wk = iso_week(d)
        week = sum(r.minutes for r in self._live(exclude, prisoner)
                   if r.week == wk)
        if week + minutes > pol.weekly_cap:
            raise Refused("WEEKLY_CAP_EXCEEDED",
                          "%d minutes in %s, cap %d at %s"
                          % (week + minutes, wk, pol.weekly_cap, prison))

    def submit(self, cells, today, finance=False):
        """Answers one hours row. Returns "ACCEPTED" or "REPLAYED"; raises
        Refused with the first failing check's code."""
        v = self._parse_hours(cells)                                   # 1
        rid = v["record_id"]
        old = self.records.get(rid)                                    # 2
        if old is not None:
            new = (v["prisoner"], v["contract"], v["date"], v["session"],
                   v["minutes"], v["units"], v["outcome"], v["paid_absence"])
            if new == old.source:
                return "REPLAYED"
            raise Refused("DUPLICATE_CONFLICT",
                          "record_id %s was accepted with other content" % rid)
        prisoner, cid, d = v["prisoner"], v["contract"], v["date"]
        if prisoner not in self.prisoners:                             # 3
            raise Refused("UNKNOWN_PRISONER", "no prisoner " + prisoner)
        c = self.contracts.get(cid)                                    # 4
        if c is None:
            raise Refused("UNKNOWN_CONTRACT", "no contract " + cid)
        if d < c["start"] or (c["end"] is not None and d > c["end"]):
            raise Refused("CONTRACT_INACTIVE", "%s not active on %s" % (cid, d))
        if not c["attested"]:
            raise Refused("CONTRACT_NOT_ATTESTED", cid + " has no attestation")
        prison = c["prison"]                                           # 5: allowed
        if self.custody_prison(prisoner, d) != prison:                 # 6
            raise Refused("NOT_IN_CUSTODY",
                          "%s not in custody at %s on %s" % (prisoner, prison, d))
        alloc = self.allocation_on(prisoner, cid, d)                   # 7
        if alloc is None:
            raise Refused("NOT_ALLOCATED",
                          "%s not allocated to %s on %s" % (prisoner, cid, d))
        if c["public_contact"]:                                        # 8
            cl = self.prisoners[prisoner]["cleared_on"]
            if cl is None or cl > d:
                raise Refused("CLEARANCE_REQUIRED",
                              "%s not cleared for public contact on %s"
                              % (prisoner, d))
        for r in self._live(prisoner=prisoner):                        # 9
            if r.date == d and r.session == v["session"]:
                raise Refused("SESSION_CLASH", "%s already has %s %s (%s)"
                              % (prisoner, d, v["session"], r.record_id))
        self._check_caps(prisoner, d, v["minutes"], prison)            # 10, 11
        if not finance:                                                # 12
            if d > today:
                raise Refused("DATE_IN_FUTURE", "%s is after %s" % (d, today))
            if d < today - dt.timedelta(days=self.policy.backdate_days):
                raise Refused("BACKDATE_LIMIT", "%s is more than %d days before %s"
                              % (d, self.policy.backdate_days, today))
        week = iso_week(d)
        if (prison, week) in self.closed:                              # 13
            raise Refused("PAY_WEEK_CLOSED", "%s %s is closed" % (prison, week))
        r = Record()
        for k, val in v.items():
            setattr(r, k, val)
        r.live = True
        r.prison = prison
        r.employer = c["employer"]
        r.work_type = c["work_type"]
        r.pay_band = alloc["band"]
        r.level = self.level_on(prisoner, d)
        r.week = week
        r.source = r.content()
        self.records[rid] = r
        self.by_prisoner.setdefault(prisoner, []).append(r)
        return "ACCEPTED"

    def amend(self, cells):
        """amendments.csv row: record_id,minutes,units,outcome,paid_absence."""
        fields = HEADERS["amendments"].split(",")
        if len(cells) != len(fields):
            raise Refused("INVALID_ARGUMENT", "expected %d fields, got %d"
                          % (len(fields), len(cells)))
        row = dict(zip(fields, cells))
        minutes = self._uint(row, "minutes", 1, 600)
        units = 0 if row["units"] == "" else self._uint(row, "units", 0)
        outcome = self._enum(row, "outcome", OUTCOMES)
        paid = False if row["paid_absence"] == "" else self._bool(row, "paid_absence")
        r = self.records.get(row["record_id"])
        if r is None or not r.live:
            raise Refused("NOT_FOUND", "no live record " + row["record_id"])
        if (r.prison, r.week) in self.closed:
            raise Refused("PAY_WEEK_CLOSED", "%s %s is closed" % (r.prison, r.week))
        self._check_caps(r.prisoner, r.date, minutes, r.prison,
                         exclude=r.record_id)
        r.minutes, r.units, r.outcome, r.paid_absence = minutes, units, outcome, paid

    def void(self, cells):
        if len(cells) != 1:
            raise Refused("INVALID_ARGUMENT", "expected 1 field")
        r = self.records.get(cells[0])
        if r is None or not r.live:
            raise Refused("NOT_FOUND", "no live record " + cells[0])
        if (r.prison, r.week) in self.closed:
            raise Refused("PAY_WEEK_CLOSED", "%s %s is closed" % (r.prison, r.week))
        r.live = False

    def close_week(self, prison, week):
        self.closed.add((prison, week))

    # ------------------------------------------------ wages

    @staticmethod
    def is_paid(r):
        return (r.outcome in PAID_ALWAYS
                or (r.outcome in PAID_IF_FLAGGED and r.paid_absence))

    def price(self, r):
        """(pence, no_rate) for the record's current values."""
        if not self.is_paid(r):
            return 0, False
        if r.work_type == "OUTSIDE":
            wage = self.outside_wage_on(r.contract, r.date)
            if wage is None:
                return 0, True
            return round_half_up(r.minutes * wage, 60), False
        rate = self.rate_on(r.prison, r.pay_band, r.level, r.date)
        if rate is None:
            return 0, True
        if rate["basis"] == "HOURLY":
            pay = round_half_up(r.minutes * rate["rate"], 60)
        else:
            pay = rate["rate"]
        if r.outcome == "ATTENDED" and rate["piece"] is not None:
            pay += (r.units // rate["items"]) * rate["piece"]
        return pay, False

    def last_custody_prison(self, prisoner, week):
        monday = parse_week(week)
        last = None
        for i in range(7):
            p = self.custody_prison(prisoner, monday + dt.timedelta(days=i))
            if p is not None:
                last = p
        return last

    def payroll(self, prison, week):
        """The payslips of a prison's week, per prisoner, with totals."""
        by_prisoner = {}
        for r in self._live():
            if r.prison == prison and r.week == week:
                by_prisoner.setdefault(r.prisoner, []).append(r)
        rows = []
        cols = ("sessions", "minutes", "gross", "top_up", "deductions", "levy",
                "net")
        totals = dict.fromkeys(cols, 0)
        for prisoner in sorted(by_prisoner):
            recs = by_prisoner[prisoner]
            gross = workshop = outside = 0
            attended_workshop = False
            for r in recs:
                pay, _ = self.price(r)
                gross += pay
                if r.work_type == "WORKSHOP":
                    workshop += pay
                    attended_workshop |= r.outcome == "ATTENDED"
                else:
                    outside += pay
            top_up = 0
            if attended_workshop and workshop < self.policy.min_weekly_pay:
                top_up = self.policy.min_weekly_pay - workshop
            deductions = 0
            if self.last_custody_prison(prisoner, week) == prison:
                total = sum(a for (who, wk, _), a in self.deductions.items()
                            if who == prisoner and wk == week)
                deductions = min(total, max(0, outside))
            levy = levy_of(outside - deductions)
            row = {"prison": prison, "week": week, "prisoner": prisoner,
                   "sessions": len(recs),
                   "minutes": sum(r.minutes for r in recs),
                   "gross": gross, "top_up": top_up, "deductions": deductions,
                   "levy": levy,
                   "net": gross + top_up - deductions - levy}
            rows.append(row)
            for k in cols:
                totals[k] += row[k]
        totals["prisoners"] = len(rows)
        return {"prison": prison, "week": week, "rows": rows, "totals": totals}

    # ------------------------------------------------ invoicing

    def invoices(self, today=None):
        """Invoice lines and totals per employer and billing period, for every
        period with billable records, plus the NO_TERMS exceptions."""
        groups = {}        # (employer, period) -> {(contract, terms_from): [min, units]}
        no_terms = []
        for r in sorted(self._live(), key=lambda r: r.record_id):
            if r.outcome != "ATTENDED":
                continue
            t = self.terms_on(r.contract, r.date)
            if t is None:
                no_terms.append({"record_id": r.record_id, "contract": r.contract,
                                 "employer": r.employer, "prison": r.prison,
                                 "date": r.date.isoformat(), "minutes": r.minutes,
                                 "units": r.units})
                continue
            emp = self.employers[r.employer]
            period = period_of(r.date, emp["billing_period"])
            acc = groups.setdefault((r.employer, period), {}).setdefault(
                (r.contract, t["from"]), [0, 0, 0])
            acc[0] += r.minutes
            acc[1] += r.units
            acc[2] += 1
        out = []
        for (employer, period) in sorted(groups):
            lines = []
            for (cid, tfrom) in sorted(groups[(employer, period)]):
                minutes, units, n = groups[(employer, period)][(cid, tfrom)]
                t = self.terms[(cid, tfrom)]
                if t["basis"] == "HOURLY":
                    qty = hundredths_str(round_half_up(minutes * 100, 60))
                    net = round_half_up(minutes * t["charge"], 60)
                    unit = "hour"
                else:
                    if units == 0:
                        continue
                    qty = str(units)
                    net = units * t["charge"]
                    unit = "unit"
                first, last = self.terms_span(cid, tfrom, period)
                lines.append({
                    "contract": cid, "period": period,
                    "period_start": first.isoformat(), "period_end": last.isoformat(),
                    "activity": self.contracts[cid]["activity"],
                    "terms_from": tfrom.isoformat(), "basis": t["basis"],
                    "records": n, "minutes": minutes, "units": units,
                    "quantity": qty, "unit": unit,
                    "unit_price": t["charge"], "unit_price_str": pence_str(t["charge"]),
                    "net": net, "vat_rate_bp": t["vat_bp"]})
            if not lines:
                continue
            by_rate = {}
            for ln in lines:
                by_rate[ln["vat_rate_bp"]] = by_rate.get(ln["vat_rate_bp"], 0) + ln["net"]
            vat = [{"vat_rate_bp": bp, "net": n,
                    "vat": round_half_up(n * bp, 10000)}
                   for bp, n in sorted(by_rate.items())]
            net_total = sum(ln["net"] for ln in lines)
            vat_total = sum(v["vat"] for v in vat)
            last = period_last_day(period)
            issue_on = last + dt.timedelta(days=1 + self.policy.invoice_delay_days)
            emp = self.employers[employer]
            out.append({
                "employer": employer, "period": period,
                "billing_period": emp["billing_period"],
                "tax_point": last.isoformat(),
                "issuable_from": issue_on.isoformat(),
                "issuable": today is not None and issue_on <= today,
                "payment_terms_days": emp["payment_terms_days"],
                "lines": lines, "vat": vat, "net_total": net_total,
                "vat_total": vat_total, "total": net_total + vat_total,
                "billable_minutes": sum(ln["minutes"] for ln in lines)})
        return out, no_terms

    # ------------------------------------------------ reconciliation

    def reconciliation(self):
        acc = {}
        for r in self._live():
            a = acc.setdefault((r.prison, r.week), [0, 0])
            a[0] += r.minutes
            if r.outcome == "ATTENDED":
                a[1] += r.minutes
        rows = []
        for (prison, week) in sorted(acc):
            captured, billable = acc[(prison, week)]
            rows.append({"prison": prison, "week": week,
                         "minutes_captured": captured,
                         "minutes_priced": captured,
                         "billable_minutes_captured": billable,
                         "billable_minutes_invoiced_or_pending": billable,
                         "status": "OK"})
        return rows

    def exceptions(self):
        no_rate, refused = [], {}
        for r in sorted(self._live(), key=lambda r: r.record_id):
            pay, missing = self.price(r)
            if missing:
                no_rate.append({"record_id": r.record_id, "prisoner": r.prisoner,
                                "prison": r.prison, "contract": r.contract,
                                "date": r.date.isoformat(), "week": r.week})
            if r.outcome == "REFUSED":
                k = (r.prison, r.week)
                refused[k] = refused.get(k, 0) + 1
        return no_rate, [{"prison": p, "week": w, "refused_sessions": n}
                         for (p, w), n in sorted(refused.items())]


# ------------------------------------------------------------ credit and statements

def vat_of(nets_by_rate):
    """VAT per rate on the sum of the nets, computed on |sum| (DOMAIN.md)."""
    total = 0
    for bp, n in nets_by_rate.items():
        v = round_half_up(abs(n) * bp, 10000)
        total += v if n >= 0 else -v
    return total


def adjustments(before, after):
    """The documents a second issue makes for periods already invoiced:
    `before` and `after` are Model.invoices() results (the issued periods,
    then the same periods after corrections). Per employer, one line per
    (period, contract, terms row) whose net changed, priced on the sums
    (new net - billed net); VAT per rate on the sum of those; a total below
    zero is a credit note. Returns {employer: {"net", "vat", "total",
    "kind", "adjusts": [periods]}}."""
    def nets(invs):
        out = {}
        for inv in invs:
            for ln in inv["lines"]:
                out[(inv["employer"], inv["period"], ln["contract"], ln["terms_from"])] = (
                    ln["net"], ln["vat_rate_bp"])
        return out
    b, a = nets(before), nets(after)
    docs = {}
    for key in sorted(set(b) | set(a)):
        emp, period = key[0], key[1]
        if not any(i["employer"] == emp and i["period"] == period for i in before):
            continue   # a period not yet invoiced: its own invoice, not an adjustment
        old, bp = b.get(key, (0, None))
        new, bp2 = a.get(key, (0, None))
        if new == old:
            continue
        d = docs.setdefault(emp, {"rates": {}, "adjusts": set()})
        rate = bp if bp is not None else bp2
        d["rates"][rate] = d["rates"].get(rate, 0) + new - old
        d["adjusts"].add(period)
    out = {}
    for emp, d in docs.items():
        net = sum(d["rates"].values())
        vat = vat_of(d["rates"])
        out[emp] = {"net": net, "vat": vat, "total": net + vat,
                    "kind": "credit_note" if net + vat < 0 else "invoice",
                    "adjusts": sorted(d["adjusts"])}
    return out


def allocate(credit, outstanding):
    """DOMAIN.md: a credit note is allocated to the invoices it adjusts, up
    to what is outstanding on each; oldest first. `outstanding` is a list of
    (number, pence) in ascending number order. Returns ([(number,
    allocated)], unallocated)."""
    left, out = max(credit, 0), []
    for number, owed in outstanding:
        take = min(left, max(owed, 0))
        out.append((number, take))
        left -= take
    return out, left


def statement_balance(invoices, payments, credit_notes):
    """The closing balance of a statement of account: what the employer
    owes, i.e. the sum of what is outstanding on its invoices less the
    credit not allocated. invoices: [(total, allocated)], payments: [pence],
    credit_notes: [(credit > 0, allocated)]."""
    outstanding = sum(t - a for t, a in invoices) - sum(payments)
    unallocated = sum(c - a for c, a in credit_notes)
    return outstanding - unallocated


# ------------------------------------------------------------ the scenario

def default_steps(folder, final_today):
    steps = [{"import": k, "file": k + ".csv"} for k in REFERENCE_ORDER
             if os.path.exists(os.path.join(folder, k + ".csv"))]
    hours = sorted((f for f in os.listdir(folder)
                    if re.fullmatch(r"hours_week[0-9]+\.csv", f)),
                   key=lambda f: int(re.findall(r"[0-9]+", f)[0]))
    for f in hours:
        latest = None
        _, rows = read_csv(os.path.join(folder, f))
        for _, cells in rows:
            d = parse_date(cells[3]) if len(cells) > 3 else None
            if d is not None and (latest is None or d > latest):
                latest = d
        today = final_today
        if latest is not None:
            today = latest + dt.timedelta(days=7 - latest.weekday())
        steps.append({"import": "hours", "file": f,
                      "today": today.isoformat() if today else None})
    for k in ("amendments", "voids"):
        if os.path.exists(os.path.join(folder, k + ".csv")):
            steps.append({"apply": k, "file": k + ".csv"})
    return steps


def run(folder, close_weeks=None, today=None, finance=False):
    """Runs the scenario in folder; returns (model, report dict)."""
    scen_path = os.path.join(folder, "scenario.json")
    scenario = {}
    if os.path.exists(scen_path):
        with open(scen_path) as f:
            scenario = json.load(f)
    final_today = today or (parse_date(scenario["today"]) if "today" in scenario
                            else None)
    steps = scenario.get("steps") or default_steps(folder, final_today)
    if final_today is None:
        todays = [parse_date(s["today"]) for s in steps if s.get("today")]
        final_today = max(todays) if todays else dt.date.today()
    if close_weeks is None:
        close_weeks = scenario.get("close_weeks", [])

    m = Model()
    reference = {"rejections": [], "accepted": {}}
    hours = {"files": [], "rejections": []}
    changes = {"amendments": {"applied": 0, "rejections": []},
               "voids": {"applied": 0, "rejections": []}}
    for step in steps:
        path = os.path.join(folder, step["file"])
        header, rows = read_csv(path)
        kind = step.get("import") or step.get("apply")
        expect = HEADERS[kind].split(",")
        opt = OPTIONAL_TRAILING.get(kind, 0)
        if header is None or not (header == expect or (
                len(expect) - opt <= len(header) < len(expect)
                and header == expect[:len(header)])):
            raise SystemExit("%s: header %r, expected %r" % (path, header, expect))
        if kind in REFERENCE_ORDER:
            n = 0
            for line, cells in rows:
                try:
                    m.import_reference(kind, cells)
                    n += 1
                except Refused as e:
                    reference["rejections"].append(
                        {"file": step["file"], "line": line, "code": e.code,
                         "message": e.message})
            reference["accepted"][kind] = n
        elif kind == "hours":
            day = parse_date(step["today"]) if step.get("today") else final_today
            if today is not None and day > today:
                day = today
            stats = {"file": step["file"], "today": day.isoformat(),
                     "rows": len(rows), "accepted": 0, "replayed": 0,
                     "rejected": 0}
            for line, cells in rows:
                try:
                    ans = m.submit(cells, day, finance=finance)
                    stats["accepted" if ans == "ACCEPTED" else "replayed"] += 1
                except Refused as e:
                    stats["rejected"] += 1
                    hours["rejections"].append(
                        {"file": step["file"], "line": line,
                         "record_id": cells[0] if cells else "",
                         "code": e.code, "message": e.message})
            hours["files"].append(stats)
        else:
            apply = m.amend if kind == "amendments" else m.void
            for line, cells in rows:
                try:
                    apply(cells)
                    changes[kind]["applied"] += 1
                except Refused as e:
                    changes[kind]["rejections"].append(
                        {"file": step["file"], "line": line,
                         "record_id": cells[0] if cells else "",
                         "code": e.code, "message": e.message})

    payroll = []
    for week in close_weeks:
        if parse_week(week) is None:
            raise SystemExit("not an ISO week: " + week)
        for prison in sorted(m.prisons):
            m.close_week(prison, week)
            pr = m.payroll(prison, week)
            if pr["rows"]:
                payroll.append(pr)

    invoices, no_terms = m.invoices(final_today)
    no_rate, refused = m.exceptions()
    live = [r for r in m.records.values() if r.live]
    report = {
        "today": final_today.isoformat(),
        "finance": finance,
        "reference": reference,
        "hours": dict(hours,
                      accepted=sum(f["accepted"] for f in hours["files"]),
                      replayed=sum(f["replayed"] for f in hours["files"]),
                      rejected=sum(f["rejected"] for f in hours["files"]),
                      live_records=len(live),
                      voided_records=len(m.records) - len(live)),
        "amendments": changes["amendments"],
        "voids": changes["voids"],
        "closed_weeks": list(close_weeks),
        "payroll": payroll,
        "invoices": invoices,
        "invoice_totals": {
            "issuable": _invoice_sums([i for i in invoices if i["issuable"]]),
            "all": _invoice_sums(invoices)},
        "exceptions": {"no_rate": no_rate, "no_terms": no_terms,
                       "refused_sessions": refused},
        "reconciliation": m.reconciliation(),
    }
    return m, report


def _invoice_sums(invs):
    return {"invoices": len(invs),
            "net": sum(i["net_total"] for i in invs),
            "vat": sum(i["vat_total"] for i in invs),
            "total": sum(i["total"] for i in invs)}


def record_dump(m):
    out = []
    for r in sorted(m.records.values(), key=lambda r: r.record_id):
        pay, no_rate = m.price(r)
        out.append({"record_id": r.record_id, "prisoner": r.prisoner,
                    "contract": r.contract, "prison": r.prison,
                    "date": r.date.isoformat(), "session": r.session,
                    "minutes": r.minutes, "units": r.units,
                    "outcome": r.outcome, "paid_absence": r.paid_absence,
                    "live": r.live, "pay_band": r.pay_band, "level": r.level,
                    "pay": pay if r.live else 0, "no_rate": no_rate})
    return out


def format_text(rep):
    o = []
    h = rep["hours"]
    o.append("today %s%s" % (rep["today"], " (finance)" if rep["finance"] else ""))
    o.append("reference rows refused: %d" % len(rep["reference"]["rejections"]))
    for j in rep["reference"]["rejections"]:
        o.append("  %s:%d %s %s" % (j["file"], j["line"], j["code"], j["message"]))
    o.append("hours: %d accepted, %d replayed, %d rejected; %d live, %d voided"
             % (h["accepted"], h["replayed"], h["rejected"], h["live_records"],
                h["voided_records"]))
    for j in h["rejections"]:
        o.append("  %s:%d %s %s" % (j["file"], j["line"], j["code"], j["message"]))
    for k in ("amendments", "voids"):
        o.append("%s: %d applied, %d refused" % (k, rep[k]["applied"],
                                                 len(rep[k]["rejections"])))
        for j in rep[k]["rejections"]:
            o.append("  %s:%d %s %s" % (j["file"], j["line"], j["code"], j["message"]))
    for pr in rep["payroll"]:
        t = pr["totals"]
        o.append("payroll %s %s: %d prisoners, %d sessions, %d minutes, gross %s,"
                 " top-up %s, deductions %s, levy %s, net %s"
                 % (pr["prison"], pr["week"], t["prisoners"], t["sessions"],
                    t["minutes"], pence_str(t["gross"]), pence_str(t["top_up"]),
                    pence_str(t["deductions"]), pence_str(t["levy"]),
                    pence_str(t["net"])))
    for inv in rep["invoices"]:
        o.append("invoice %-10s %-8s net %10s vat %9s total %10s %s"
                 % (inv["employer"], inv["period"], pence_str(inv["net_total"]),
                    pence_str(inv["vat_total"]), pence_str(inv["total"]),
                    "issuable" if inv["issuable"] else "open period"))
    for r in rep["reconciliation"]:
        o.append("reconcile %s %s captured %d billable %d %s"
                 % (r["prison"], r["week"], r["minutes_captured"],
                    r["billable_minutes_captured"], r["status"]))
    return "\n".join(o) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--close-week", action="append", default=None,
                    help="ISO week to close for every prison (repeatable); "
                         "default: scenario.json's close_weeks")
    ap.add_argument("--today", help="the final today (YYYY-MM-DD)")
    ap.add_argument("--finance", action="store_true",
                    help="import hours as finance (no date check)")
    ap.add_argument("--records", action="store_true",
                    help="include every record with its pay in the JSON")
    ap.add_argument("--format", default="json",
                    choices=("json", "text", "payroll-csv", "reconciliation-csv"))
    a = ap.parse_args(argv)
    today = None
    if a.today:
        today = parse_date(a.today)
        if today is None:
            ap.error("--today: not a YYYY-MM-DD date")
    m, rep = run(a.dir, a.close_week, today, a.finance)
    if a.records:
        rep["records"] = record_dump(m)
    w = csv.writer(sys.stdout, lineterminator="\n")
    if a.format == "json":
        json.dump(rep, sys.stdout, indent=1, sort_keys=False)
        sys.stdout.write("\n")
    elif a.format == "text":
        sys.stdout.write(format_text(rep))
    elif a.format == "payroll-csv":
        w.writerow(HEADERS_EXPORT_PAYROLL)
        for pr in rep["payroll"]:
            for r in pr["rows"]:
                w.writerow([r["prison"], r["week"], r["prisoner"], r["sessions"],
                            r["minutes"]] + [pence_str(r[k]) for k in
                                             ("gross", "top_up", "deductions",
                                              "levy", "net")])
    else:
        w.writerow(HEADERS_EXPORT_RECONCILIATION)
        for r in rep["reconciliation"]:
            w.writerow([r[k] for k in HEADERS_EXPORT_RECONCILIATION])
    return 0


HEADERS_EXPORT_PAYROLL = ("prison,week,prisoner,sessions,minutes,gross,top_up,"
                          "deductions,levy,net").split(",")
HEADERS_EXPORT_RECONCILIATION = (
    "prison,week,minutes_captured,minutes_priced,billable_minutes_captured,"
    "billable_minutes_invoiced_or_pending,status").split(",")

if __name__ == "__main__":
    sys.exit(main())
