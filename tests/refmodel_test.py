#!/usr/bin/env python3
"""refmodel_test: the reference model against hand-worked cases from
spec/DOMAIN.md, and the sample generator (determinism, exact FORMATS.md
headers, expected refusals = the model's refusals). TAP on stdout.

Run: python3 tests/refmodel_test.py   (meson test refmodel)
"""

import csv
import datetime as dt
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(os.path.dirname(HERE), "scripts")
GEN = os.path.join(SCRIPTS, "gen-sample")
sys.path.insert(0, SCRIPTS)
import refmodel  # noqa: E402
from refmodel import Model, Refused, round_half_up, levy_of  # noqa: E402

N = 0
FAILED = 0


def check(cond, name, detail=""):
    global N, FAILED
    N += 1
    if cond:
        print("ok %d - %s" % (N, name))
    else:
        FAILED += 1
        print("not ok %d - %s" % (N, name))
        for line in str(detail).splitlines():
            print("#   " + line)


def eq(got, want, name):
    check(got == want, name, "got  %r\nwant %r" % (got, want))


def case(fn):
    """Runs one group of checks; an exception is one failed check."""
    try:
        fn()
    except Exception:
        check(False, fn.__name__ + " raised", traceback.format_exc())
    return fn


# ------------------------------------------------------------ a tiny world

MON = dt.date(2026, 11, 9)             # Monday of 2026-W46
WEEK = "2026-W46"


def day(i):
    return MON + dt.timedelta(days=i)


def world():
    """MDI (closed) and KMI (open), one employer per billing period, a
    workshop contract per prison, an OUTSIDE one, a public-contact one."""
    m = Model()
    ref = m.import_reference
    ref("prisons", ["MDI", "HMP Moorland", "CLOSED"])
    ref("prisons", ["KMI", "HMP Kirkham", "OPEN"])
    ref("employers", ["acme", "Acme Ltd", "1 Road, Town", "AB1 2CD", "GB123456789",
                      "a@acme.example", "WEEKLY", "30"])
    ref("employers", ["monthly", "Monthly Ltd", "2 Road", "AB1 2CD", "",
                      "m@m.example", "MONTHLY", "30"])
    att = ["Industries", "2026-01-01", "COP-1"]
    ref("contracts", ["C-1", "acme", "MDI", "Packing", "WORKSHOP", "2026-01-01", "",
                      "no"] + att)
    ref("contracts", ["C-2", "acme", "MDI", "Sorting", "WORKSHOP", "2026-01-01", "",
                      "no"] + att)
    ref("contracts", ["C-PUB", "acme", "MDI", "Call centre", "WORKSHOP", "2026-01-01",
                      "", "yes"] + att)
    ref("contracts", ["C-K", "acme", "KMI", "Laundry", "WORKSHOP", "2026-01-01", "",
                      "no"] + att)
    ref("contracts", ["C-OUT", "acme", "KMI", "Laundry outside", "OUTSIDE",
                      "2026-01-01", "", "no"] + att)
    ref("contracts", ["C-M", "monthly", "MDI", "Printing", "WORKSHOP", "2026-01-01",
                      "", "no"] + att)
    for lv in refmodel.LEVELS:
        ref("pay_rates", ["MDI", "1", lv, "2026-04-01", "HOURLY", "1.00", "", ""])
        ref("pay_rates", ["MDI", "2", lv, "2026-04-01", "SESSION", "1.50", "0.25", "10"])
        ref("pay_rates", ["KMI", "1", lv, "2026-04-01", "HOURLY", "0.60", "", ""])
    ref("outside_wages", ["C-OUT", "2026-04-01", "12.83"])
    return m


def prisoner(m, number, prison="MDI", contracts=("C-1",), band=1, cleared="",
             released="", level="STD"):
    m.import_reference("prisoners", [number, prison, level, cleared, released])
    for c in contracts:
        m.import_reference("allocations", [number, c, "2026-10-01", "", str(band)])


def rec(m, rid, number, contract, d, session, minutes, units="",
        outcome="ATTENDED", paid="", today=None, finance=False):
    """Submits one hours row; returns "ACCEPTED"/"REPLAYED" or the code."""
    cells = [rid, number, contract, d.isoformat() if isinstance(d, dt.date) else d,
             session, str(minutes), units, outcome, paid]
    try:
        return m.submit(cells, today or day(7), finance=finance)
    except Refused as e:
        return e.code


def slip(m, number, prison="MDI", week=WEEK):
    m.close_week(prison, week)
    for r in m.payroll(prison, week)["rows"]:
        if r["prisoner"] == number:
            return r
    return None


# ------------------------------------------------------------ arithmetic

@case
def arithmetic():
    eq([round_half_up(a, 2) for a in (0, 1, 2, 3, 5)], [0, 1, 1, 2, 3],
       "round_half_up(a/2) rounds halves up")
    eq(round_half_up(-5, 2), -3, "round_half_up of a negative is on the absolute value")
    eq(round_half_up(187 * 64, 60), 199, "187 minutes at 64p/hour = 199p (199.47)")
    eq(round_half_up(225 * 58, 60), 218, "225 minutes at 58p/hour = 218p (217.5 up)")
    eq([levy_of(n) for n in (0, 2000, 2001, 2003, 2500)], [0, 0, 0, 1, 200],
       "levy at net_outside 0/2000/2001/2003/2500 = 0/0/0/1/200")
    eq(refmodel.parse_money("1.5"), 150, "money 1.5 = 150p")
    eq(refmodel.parse_money("12"), 1200, "money 12 = 1200p")
    eq([refmodel.parse_money(s) for s in ("1.505", "-1.00", "1,00", "")],
       [None] * 4, "malformed money refused")


# ------------------------------------------------------------ capture

@case
def well_formed():
    m = world()
    prisoner(m, "A1234BC")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 601), "INVALID_ARGUMENT",
       "one 601-minute record fails check 1")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "am", 60), "INVALID_ARGUMENT",
       "session case matters")
    eq(rec(m, "r1", "a1234BC", "C-1", day(0), "AM", 60), "INVALID_ARGUMENT",
       "prisoner number case matters")
    eq(rec(m, "r1", "A1234BC ", "C-1", day(0), "AM", 60), "INVALID_ARGUMENT",
       "nothing is trimmed")
    eq(rec(m, "r1", "A1234BC", "C-1", "2026-11-31", "AM", 60), "INVALID_ARGUMENT",
       "a date that is not real")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 0), "INVALID_ARGUMENT",
       "0 minutes")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 60, units="-1"),
       "INVALID_ARGUMENT", "negative units")
    eq(rec(m, "x" * 65, "A1234BC", "C-1", day(0), "AM", 60), "INVALID_ARGUMENT",
       "record_id longer than 64")
    try:
        m.submit(["r1", "A1234BC", "C-1", day(0).isoformat(), "AM", "60", "",
                  "ATTENDED"], day(7))
        got = "ACCEPTED"
    except Refused as e:
        got = e.code
    eq(got, "INVALID_ARGUMENT", "a row with 8 fields")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 600), "ACCEPTED",
       "600 minutes in one record; a rejected id can be reused")


@case
def idempotency():
    m = world()
    prisoner(m, "A1234BC")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 60, units="", paid=""), "ACCEPTED",
       "first record accepted")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 60, units="0", paid="no"),
       "REPLAYED", "same parsed content (empty units = 0, empty flag = no) replays")
    eq(rec(m, "r1", "A1234BC", "C-1", day(0), "AM", 61), "DUPLICATE_CONFLICT",
       "same id, other minutes")
    eq(rec(m, "r1", "Z9999ZZ", "C-1", day(0), "AM", 60), "DUPLICATE_CONFLICT",
       "check 2 comes before check 3")
    eq(len(m.records), 1, "replays change nothing")


@case
def references_and_custody():
    m = world()
    prisoner(m, "A1234BC", contracts=("C-1", "C-PUB"), cleared="2026-11-11",
             released="2026-11-13")
    prisoner(m, "B1234BC", contracts=())
    m.import_reference("contracts", ["C-OLD", "acme", "MDI", "x", "WORKSHOP",
                                     "2026-01-01", "2026-11-09", "no", "", "", ""])
    m.import_reference("contracts", ["C-END", "acme", "MDI", "x", "WORKSHOP",
                                     "2026-01-01", "2026-11-09", "no", "I", "2026-01-01",
                                     "R"])
    eq(rec(m, "a", "Z9999ZZ", "C-1", day(0), "AM", 60), "UNKNOWN_PRISONER", "unknown prisoner")
    eq(rec(m, "a", "A1234BC", "C-9", day(0), "AM", 60), "UNKNOWN_CONTRACT", "unknown contract")
    eq(rec(m, "a", "A1234BC", "C-END", day(1), "AM", 60), "CONTRACT_INACTIVE",
       "the day after the end date")
    eq(rec(m, "a", "A1234BC", "C-OLD", day(0), "AM", 60), "CONTRACT_NOT_ATTESTED",
       "no attestation")
    eq(rec(m, "a", "A1234BC", "C-K", day(0), "AM", 60), "NOT_IN_CUSTODY",
       "a contract at another prison")
    eq(rec(m, "a", "B1234BC", "C-1", day(0), "AM", 60), "NOT_ALLOCATED", "not allocated")
    eq(rec(m, "a", "A1234BC", "C-PUB", day(1), "AM", 60), "CLEARANCE_REQUIRED",
       "public contact the day before clearance")
    eq(rec(m, "a", "A1234BC", "C-PUB", day(2), "AM", 60), "ACCEPTED",
       "public contact on the day clearance was granted")
    eq(rec(m, "b", "A1234BC", "C-1", day(3), "AM", 60), "ACCEPTED",
       "in custody the day before release")
    eq(rec(m, "c", "A1234BC", "C-1", day(4), "AM", 60), "NOT_IN_CUSTODY",
       "not in custody on the release date itself")


@case
def transfers_and_allocations():
    m = world()
    prisoner(m, "A1234BC", contracts=())
    m.import_reference("allocations", ["A1234BC", "C-1", "2026-10-01", "2026-11-10", "1"])
    m.import_reference("allocations", ["A1234BC", "C-K", "2026-11-11", "", "1"])
    m.import_reference("transfers", ["A1234BC", "KMI", "2026-11-11"])
    eq(rec(m, "a", "A1234BC", "C-1", day(1), "AM", 60), "ACCEPTED",
       "at MDI the day before the transfer (allocation 'to' is inclusive)")
    eq(rec(m, "b", "A1234BC", "C-1", day(2), "AM", 60), "NOT_IN_CUSTODY",
       "at MDI on the transfer day")
    eq(rec(m, "c", "A1234BC", "C-K", day(2), "AM", 60), "ACCEPTED", "at KMI from the transfer day")
    # Same (prisoner, contract, from) replaces; overlaps: the latest from wins.
    prisoner(m, "B1234BC", contracts=("C-1",), band=1)
    m.import_reference("allocations", ["B1234BC", "C-1", "2026-10-01", "", "2"])
    m.import_reference("allocations", ["B1234BC", "C-1", "2026-11-12", "", "1"])
    eq(m.allocation_on("B1234BC", "C-1", day(2))["band"], 2, "a replaced allocation's band")
    eq(m.allocation_on("B1234BC", "C-1", day(3))["band"], 1,
       "the overlapping allocation with the latest from gives the band")


@case
def batch_caps():
    m = world()
    prisoner(m, "A1234BC", contracts=("C-1", "C-2"))
    eq(rec(m, "a", "A1234BC", "C-1", day(0), "AM", 300), "ACCEPTED", "AM 300")
    eq(rec(m, "b", "A1234BC", "C-2", day(0), "AM", 60), "SESSION_CLASH",
       "same session on another contract clashes")
    eq(rec(m, "c", "A1234BC", "C-2", day(0), "PM", 300), "ACCEPTED",
       "a different session never clashes: 600 minutes in the day")
    eq(rec(m, "d", "A1234BC", "C-1", day(0), "ED", 1), "DAILY_CAP_EXCEEDED", "601st minute of the day")
    for i in (1, 2, 3):
        rec(m, "am%d" % i, "A1234BC", "C-1", day(i), "AM", 300)
        rec(m, "pm%d" % i, "A1234BC", "C-1", day(i), "PM", 300)
    eq(sum(r.minutes for r in m.records.values()), 2400, "2400 minutes in the week, all accepted")
    eq(rec(m, "e", "A1234BC", "C-1", day(4), "AM", 1), "WEEKLY_CAP_EXCEEDED",
       "2401st minute of the week")
    eq(rec(m, "f", "A1234BC", "C-1", day(7), "AM", 600), "ACCEPTED",
       "the next ISO week starts again", )
    # Every accepted record counts, whatever its outcome; voids free minutes.
    m = world()
    prisoner(m, "B1234BC")
    rec(m, "a", "B1234BC", "C-1", day(0), "AM", 600, outcome="REFUSED")
    eq(rec(m, "b", "B1234BC", "C-1", day(0), "PM", 1), "DAILY_CAP_EXCEEDED",
       "a REFUSED record counts toward the daily cap")
    m.void(["a"])
    eq(rec(m, "b", "B1234BC", "C-1", day(0), "PM", 1), "ACCEPTED",
       "a voided record no longer counts; a rejected id is not remembered")
    eq(rec(m, "c", "B1234BC", "C-1", day(0), "AM", 60), "ACCEPTED",
       "a voided record no longer clashes")


@case
def amendments():
    m = world()
    prisoner(m, "A1234BC")
    rec(m, "a", "A1234BC", "C-1", day(0), "AM", 300)
    rec(m, "b", "A1234BC", "C-1", day(0), "PM", 300)
    try:
        m.amend(["a", "301", "", "ATTENDED", "no"])
        got = "APPLIED"
    except Refused as e:
        got = e.code
    eq(got, "DAILY_CAP_EXCEEDED", "check 10 applies to amended values")
    m.amend(["a", "240", "", "SICK", "yes"])
    eq((m.records["a"].minutes, m.records["a"].outcome), (240, "SICK"), "amendment applied")
    eq(rec(m, "a", "A1234BC", "C-1", day(0), "AM", 300), "REPLAYED",
       "the original content still replays after an amendment")
    r = slip(m, "A1234BC")
    eq((r["sessions"], r["minutes"], r["gross"]), (2, 540, 400 + 500),
       "payroll on the amended values (240 min paid SICK = 400p, plus 500p)")
    try:
        m.amend(["b", "60", "", "ATTENDED", "no"])
        got = "APPLIED"
    except Refused as e:
        got = e.code
    eq(got, "PAY_WEEK_CLOSED", "no amendment once the week is closed")
    eq(rec(m, "z", "A1234BC", "C-1", day(1), "AM", 60), "PAY_WEEK_CLOSED",
       "no capture once the week is closed")


@case
def dates():
    m = world()
    prisoner(m, "A1234BC")
    today = day(7)
    eq(rec(m, "a", "A1234BC", "C-1", day(0), "AM", 60, today=today), "ACCEPTED",
       "exactly 7 days before today is within the limit")
    eq(rec(m, "b", "A1234BC", "C-1", day(-1), "AM", 60, today=today), "BACKDATE_LIMIT",
       "8 days before today")
    eq(rec(m, "c", "A1234BC", "C-1", day(8), "AM", 60, today=today), "DATE_IN_FUTURE",
       "tomorrow")
    eq(rec(m, "d", "A1234BC", "C-1", day(7), "AM", 60, today=today), "ACCEPTED", "today")
    eq(rec(m, "b", "A1234BC", "C-1", day(-1), "AM", 60, today=today, finance=True),
       "ACCEPTED", "finance may back-date")


# ------------------------------------------------------------ wages

@case
def pricing():
    m = world()
    prisoner(m, "A1234BC", contracts=("C-1",), band=1)
    prisoner(m, "B1234BC", contracts=("C-1",), band=2)
    rec(m, "h", "A1234BC", "C-1", day(0), "AM", 187)              # 100p/h
    rec(m, "s", "B1234BC", "C-1", day(0), "AM", 17, units="105")  # 150p + 10 x 25p
    rec(m, "s2", "B1234BC", "C-1", day(1), "AM", 17, units="105", outcome="CANCELLED")
    eq(m.price(m.records["h"]), (312, False), "HOURLY: 187 min at 100p = 312p (311.67)")
    eq(m.price(m.records["s"]), (150 + 250, False),
       "SESSION whatever the minutes, plus floor(105/10) x 25p piece")
    eq(m.price(m.records["s2"]), (150, False), "no piece pay unless ATTENDED")
    paid = {}
    for o in refmodel.OUTCOMES:
        for flag in ("yes", "no"):
            mm = world()
            prisoner(mm, "A1234BC")
            rec(mm, "x", "A1234BC", "C-1", day(0), "AM", 60, outcome=o, paid=flag)
            paid[(o, flag)] = mm.price(mm.records["x"])[0]
    eq(sorted(k for k, v in paid.items() if v),
       sorted([(o, f) for o in ("ATTENDED", "NOT_REQUIRED", "CLASH", "CANCELLED")
               for f in ("yes", "no")] + [(o, "yes") for o in ("SICK", "REST", "OTHER")]),
       "paid outcomes; SICK/REST/OTHER only with the flag; REFUSED/SUSPENDED never")
    # Incentive level on the date, and rates effective-dated.
    m = world()
    m.import_reference("pay_rates", ["MDI", "1", "ENH", "2026-11-11", "HOURLY", "1.20", "", ""])
    prisoner(m, "A1234BC", level="STD")
    m.import_reference("incentive_levels", ["A1234BC", "ENH", "2026-11-10"])
    rec(m, "a", "A1234BC", "C-1", day(0), "AM", 60)
    rec(m, "b", "A1234BC", "C-1", day(1), "AM", 60)
    rec(m, "c", "A1234BC", "C-1", day(2), "AM", 60)
    eq([m.price(m.records[k])[0] for k in "abc"], [100, 100, 120],
       "level on the date, rate with the latest effective_from on or before it")


@case
def rate_refusals():
    m = world()
    cases = [(["MDI", "1", "STD", "2026-11-01", "HOURLY", "2.51", "", ""], "RATE_OUT_OF_BOUNDS"),
             (["MDI", "1", "STD", "2026-11-01", "HOURLY", "0.29", "", ""], "RATE_OUT_OF_BOUNDS"),
             (["MDI", "1", "STD", "2026-11-01", "SESSION", "1.24", "", ""], "RATE_OUT_OF_BOUNDS"),
             (["MDI", "1", "STD", "2026-11-01", "SESSION", "5.26", "", ""], "RATE_OUT_OF_BOUNDS"),
             (["MDI", "1", "STD", "2026-11-01", "SESSION", "5.25", "8.01", "1"], "RATE_OUT_OF_BOUNDS"),
             (["MDI", "1", "STD", "2026-11-01", "SESSION", "5.25", "8.00", "1"], None),
             (["MDI", "1", "STD", "2026-11-01", "HOURLY", "2.50", "", ""], None),
             (["MDI", "1", "STD", "2026-11-01", "HOURLY", "0.30", "", ""], None)]
    got = []
    for cells, _ in cases:
        try:
            m.import_reference("pay_rates", cells)
            got.append(None)
        except Refused as e:
            got.append(e.code)
    eq(got, [c for _, c in cases], "rate bounds: session 125-525p, hourly 30-250p, piece <= 800p")
    got = []
    for cells in (["C-OUT", "2026-11-01", "12.70"], ["C-OUT", "2026-11-01", "12.71"]):
        try:
            m.import_reference("outside_wages", cells)
            got.append(None)
        except Refused as e:
            got.append(e.code)
    eq(got, ["BELOW_LIVING_WAGE", None], "outside wage at least 1271p")
    try:
        m.import_reference("contracts", ["C-X", "acme", "MDI", "x", "OUTSIDE", "2026-01-01",
                                         "", "no", "I", "2026-01-01", "R"])
        got = None
    except Refused as e:
        got = e.code
    eq(got, "REGIME_MISMATCH", "OUTSIDE contract at a CLOSED prison")


@case
def top_up():
    m = world()
    for n in ("A0000AA", "B0000AA", "C0000AA", "D0000AA", "E0000AA"):
        prisoner(m, n)
    m.import_reference("prisoners", ["F0000AA", "KMI", "STD", "", ""])
    m.import_reference("allocations", ["F0000AA", "C-OUT", "2026-10-01", "", "1"])
    m.import_reference("allocations", ["F0000AA", "C-K", "2026-10-01", "", "9"])
    rec(m, "a", "A0000AA", "C-1", day(0), "AM", 60)                          # 100p attended
    rec(m, "b", "B0000AA", "C-1", day(0), "AM", 60, outcome="SICK", paid="yes")
    rec(m, "c1", "C0000AA", "C-1", day(0), "AM", 60, outcome="REFUSED")
    rec(m, "c2", "C0000AA", "C-1", day(1), "AM", 180, outcome="NOT_REQUIRED")  # 300p
    rec(m, "c3", "C0000AA", "C-1", day(2), "AM", 30)                          # 50p attended
    rec(m, "d", "D0000AA", "C-1", day(0), "AM", 240)                          # 400p
    rec(m, "e", "E0000AA", "C-1", day(0), "AM", 239)                          # 398p
    rec(m, "f1", "F0000AA", "C-OUT", day(0), "AM", 60)
    rec(m, "f2", "F0000AA", "C-K", day(0), "PM", 60)                          # band 9: NO_RATE
    m.close_week("MDI", WEEK)
    rows = {r["prisoner"]: r for r in m.payroll("MDI", WEEK)["rows"]}
    eq((rows["A0000AA"]["top_up"], rows["A0000AA"]["net"]), (300, 400),
       "one ATTENDED WORKSHOP record at 100p: top-up 300p to 400p")
    eq(rows["B0000AA"]["top_up"], 0, "paid SICK only: no ATTENDED record, no top-up")
    eq((rows["C0000AA"]["gross"], rows["C0000AA"]["top_up"], rows["C0000AA"]["net"]),
       (350, 50, 400), "top-up on the week's WORKSHOP pay of all outcomes")
    eq(rows["D0000AA"]["top_up"], 0, "at 400p exactly: no top-up")
    eq(rows["E0000AA"]["top_up"], 2, "398p: top-up 2p")
    k = {r["prisoner"]: r for r in m.payroll("KMI", WEEK)["rows"]}["F0000AA"]
    eq((k["gross"], k["top_up"], k["net"]), (1283, 400, 1683),
       "NO_RATE ATTENDED WORKSHOP record still triggers the top-up; OUTSIDE pay does not count")
    no_rate, _ = m.exceptions()
    eq([x["record_id"] for x in no_rate], ["f2"], "the NO_RATE exception is listed")


@case
def deductions_and_levy():
    m = world()
    wages = {"L0000AA": "20.00", "L0001AA": "20.01", "L0002AA": "20.03", "L0003AA": "25.00"}
    for i, (n, w) in enumerate(sorted(wages.items())):
        cid = "C-O%d" % i
        m.import_reference("contracts", [cid, "acme", "KMI", "x", "OUTSIDE", "2026-01-01", "",
                                         "no", "I", "2026-01-01", "R"])
        m.import_reference("outside_wages", [cid, "2026-04-01", w])
        m.import_reference("prisoners", [n, "KMI", "STD", "", ""])
        m.import_reference("allocations", [n, cid, "2026-10-01", "", "1"])
        rec(m, "r" + n, n, cid, day(0), "AM", 60)
    m.close_week("KMI", WEEK)
    rows = {r["prisoner"]: r for r in m.payroll("KMI", WEEK)["rows"]}
    eq([rows[n]["levy"] for n in sorted(wages)], [0, 0, 1, 200],
       "levy at net outside pay 2000/2001/2003/2500 = 0/0/1/200")
    eq(rows["L0003AA"]["net"], 2300, "net = gross - levy")

    m = world()
    for n in ("D0000AA", "D0001AA"):
        m.import_reference("prisoners", [n, "KMI", "STD", "", ""])
        m.import_reference("allocations", [n, "C-OUT", "2026-10-01", "", "1"])
    prisoner(m, "W0000AA")
    rec(m, "a", "D0000AA", "C-OUT", day(0), "AM", 240)        # 5132p
    rec(m, "b", "D0001AA", "C-OUT", day(0), "AM", 480)        # 10264p
    rec(m, "c", "W0000AA", "C-1", day(0), "AM", 600)          # 1000p workshop
    m.import_reference("deductions", ["D0000AA", WEEK, "COURT_ORDER", "150.00"])
    m.import_reference("deductions", ["D0001AA", WEEK, "INCOME_TAX", "10.00"])
    m.import_reference("deductions", ["D0001AA", WEEK, "INCOME_TAX", "20.00"])  # replaces
    m.import_reference("deductions", ["D0001AA", WEEK, "NATIONAL_INSURANCE", "5.00"])
    m.import_reference("deductions", ["D0001AA", "2026-W47", "INCOME_TAX", "99.00"])
    m.import_reference("deductions", ["W0000AA", WEEK, "COURT_ORDER", "5.00"])
    m.close_week("KMI", WEEK)
    m.close_week("MDI", WEEK)
    rows = {r["prisoner"]: r for r in m.payroll("KMI", WEEK)["rows"]}
    eq((rows["D0000AA"]["deductions"], rows["D0000AA"]["levy"], rows["D0000AA"]["net"]),
       (5132, 0, 0), "deductions capped at the week's OUTSIDE pay, not carried forward")
    eq((rows["D0001AA"]["deductions"], rows["D0001AA"]["levy"], rows["D0001AA"]["net"]),
       (2500, (10264 - 2500 - 2000) * 40 // 100, 10264 - 2500 - 2305),
       "deductions of the week (a later row with the same key replaces), levy on the rest")
    w = {r["prisoner"]: r for r in m.payroll("MDI", WEEK)["rows"]}["W0000AA"]
    eq((w["deductions"], w["net"]), (0, 1000), "no OUTSIDE pay: deductions capped at 0")

    # Deductions apply at the last prison in custody during the week.
    m = world()
    m.import_reference("prisoners", ["T0000AA", "KMI", "STD", "", ""])
    m.import_reference("allocations", ["T0000AA", "C-OUT", "2026-10-01", "", "1"])
    m.import_reference("contracts", ["C-O2", "acme", "KMI", "x", "OUTSIDE", "2026-01-01", "",
                                     "no", "I", "2026-01-01", "R"])
    m.import_reference("outside_wages", ["C-O2", "2026-04-01", "13.00"])
    rec(m, "a", "T0000AA", "C-OUT", day(0), "AM", 60)
    m.import_reference("transfers", ["T0000AA", "MDI", "2026-11-11"])
    m.import_reference("deductions", ["T0000AA", WEEK, "INCOME_TAX", "5.00"])
    m.close_week("KMI", WEEK)
    r = m.payroll("KMI", WEEK)["rows"][0]
    eq(r["deductions"], 0, "deductions do not apply at an earlier prison of the week")


# ------------------------------------------------------------ invoicing

def invoice_world():
    m = world()
    prisoner(m, "A1234BC", contracts=("C-1", "C-2", "C-M"))
    prisoner(m, "B1234BC", contracts=("C-1", "C-2", "C-M"))
    return m


@case
def invoices():
    m = invoice_world()
    m.import_reference("billing_terms", ["C-1", "2026-01-01", "HOURLY", "1.01", "2000"])
    for i, s in enumerate(("AM", "PM", "ED")):
        rec(m, "r%d" % i, "A1234BC", "C-1", day(0), s, 20)
    rec(m, "x", "B1234BC", "C-1", day(0), "AM", 20, outcome="SICK", paid="yes")
    inv, no_terms = m.invoices(day(7))
    eq([(i["employer"], i["period"]) for i in inv], [("acme", WEEK)], "one invoice")
    ln = inv[0]["lines"]
    eq([(x["contract"], x["quantity"], x["net"]) for x in ln], [("C-1", "1.00", 101)],
       "three 20-minute records at 101p/hour invoice 101p (priced on the sum)")
    eq((inv[0]["vat_total"], inv[0]["total"]), (20, 121), "VAT 20% of 101p = 20p (20.2)")
    eq(inv[0]["issuable"], True, "issuable the day after the period's last day")
    eq(m.invoices(day(6))[0][0]["issuable"], False, "not issuable on the period's last day")

    m = invoice_world()
    m.import_reference("billing_terms", ["C-1", "2026-01-01", "HOURLY", "1.00", "2000"])
    m.import_reference("billing_terms", ["C-2", "2026-01-01", "HOURLY", "1.00", "2000"])
    rec(m, "a", "A1234BC", "C-1", day(0), "AM", 61)     # 101.67 -> 102p
    rec(m, "b", "A1234BC", "C-2", day(0), "PM", 61)     # 102p
    inv, _ = m.invoices(day(7))
    eq([x["quantity"] for x in inv[0]["lines"]], ["1.02", "1.02"],
       "61 minutes shown as 1.02 hours (1.0167 rounded half up)")
    eq((inv[0]["net_total"], inv[0]["vat"]), (204, [{"vat_rate_bp": 2000, "net": 204, "vat": 41}]),
       "VAT on the sum of the nets at a rate: 40.8 -> 41p (per line would be 20+20)")
    eq(round_half_up(-204 * 2000, 10000), -41, "a negative sum's VAT is on the absolute value")

    # UNIT terms, 0-unit lines left out, terms changing inside a MONTHLY period,
    # mixed VAT rates, NO_TERMS.
    m = invoice_world()
    m.import_reference("billing_terms", ["C-M", "2026-01-01", "UNIT", "0.12", "2000"])
    m.import_reference("billing_terms", ["C-M", "2026-11-11", "UNIT", "0.15", "0"])
    m.import_reference("billing_terms", ["C-2", "2026-11-11", "UNIT", "0.50", "2000"])
    rec(m, "a", "A1234BC", "C-M", day(0), "AM", 60, units="100")
    rec(m, "b", "B1234BC", "C-M", day(1), "AM", 60, units="3")
    rec(m, "c", "A1234BC", "C-M", day(2), "AM", 60, units="7")
    rec(m, "d", "A1234BC", "C-M", day(3), "AM", 60, units="5", outcome="CANCELLED")
    rec(m, "e", "A1234BC", "C-2", day(3), "PM", 60, units="")   # UNIT, 0 units
    rec(m, "f", "A1234BC", "C-2", day(0), "PM", 45)             # before terms: NO_TERMS
    inv, no_terms = m.invoices(dt.date(2026, 12, 1))
    by = {(i["employer"], i["period"]): i for i in inv}
    eq(sorted(by), [("monthly", "2026-11")], "a 0-unit UNIT line is left out; no empty invoice")
    mi = by[("monthly", "2026-11")]
    eq([(x["terms_from"], x["quantity"], x["net"], x["vat_rate_bp"]) for x in mi["lines"]],
       [("2026-01-01", "103", 1236, 2000), ("2026-11-11", "7", 105, 0)],
       "one line per terms row in force in the month; only ATTENDED units")
    eq((mi["vat_total"], mi["total"]), (247, 1236 + 105 + 247), "VAT per rate: 20% of 1236p, 0% of 105p")
    eq([x["record_id"] for x in no_terms], ["f"], "a billable record without terms is NO_TERMS")
    eq(m.invoices(dt.date(2026, 11, 30))[0][0]["issuable"], False,
       "a MONTHLY period is issuable only after the month")
    rows = {(r["prison"], r["week"]): r for r in m.reconciliation()}
    r = rows[("MDI", WEEK)]
    eq((r["minutes_captured"], r["billable_minutes_captured"],
        r["billable_minutes_invoiced_or_pending"], r["status"]),
       (345, 285, 285, "OK"), "reconciliation counts every record; billable = ATTENDED")
    eq([(x["terms_from"], x["period_start"], x["period_end"]) for x in mi["lines"]],
       [("2026-01-01", "2026-11-01", "2026-11-10"), ("2026-11-11", "2026-11-11", "2026-11-30")],
       "each line states the days its terms row covers (DOMAIN.md)")


@case
def credit_allocation():
    """DOMAIN.md: a credit note goes to the invoice it adjusts, up to what
    is outstanding; the rest stays on the account; statements balance."""
    eq(refmodel.allocate(1440, [("INV-000004", 4320)]), ([("INV-000004", 1440)], 0),
       "a credit below the outstanding amount is allocated whole")
    eq(refmodel.allocate(1440, [("INV-000004", 880)]), ([("INV-000004", 880)], 560),
       "above it: up to the outstanding amount, the rest unallocated")
    eq(refmodel.allocate(3000, [("INV-000001", 0)]), ([("INV-000001", 0)], 3000),
       "an invoice already paid takes nothing")
    eq(refmodel.allocate(500, [("INV-000001", 300), ("INV-000002", 600)]),
       ([("INV-000001", 300), ("INV-000002", 200)], 0), "several invoices: oldest first")
    # The 43.20 invoice, a 14.40 credit, 20.00 paid, a second 14.40 credit.
    eq(refmodel.statement_balance([(4320, 1440 + 880)], [2000], [(1440, 1440), (1440, 880)]),
       -560, "statement: 0 outstanding less 5.60 unallocated credit")

    m = invoice_world()
    m.import_reference("billing_terms", ["C-1", "2026-01-01", "HOURLY", "12.00", "2000"])
    for i, s in enumerate(("AM", "PM", "ED")):
        rec(m, "r%d" % i, "A1234BC", "C-1", day(i), s, 60)
    before, _ = m.invoices(day(7))
    eq(before[0]["total"], 4320, "3 hours at 12.00 + 20 % = 43.20")
    m.void(["r0"])
    after, _ = m.invoices(day(7))
    adj = refmodel.adjustments(before, after)
    eq(adj, {"acme": {"net": -1200, "vat": -240, "total": -1440, "kind": "credit_note",
                      "adjusts": [WEEK]}},
       "a void after issue makes a credit note of 14.40 for the period it adjusts")
    eq(refmodel.adjustments(before, before), {}, "no change, no document")
    check(not refmodel.peppol_endpoint_ok("EM:ap@acme.example"), "EM is not a Peppol scheme")
    check(refmodel.peppol_endpoint_ok("0088:5012345678900"), "a GLN with a good check digit")
    check(not refmodel.peppol_endpoint_ok("0088:5012345678901"), "and one with a bad one")
    check(refmodel.peppol_endpoint_ok("9932:GB123456789"), "a UK VAT number under 9932")


# ------------------------------------------------------------ the generator

FORMATS_HEADERS = {   # copied from spec/FORMATS.md, on purpose not from the scripts
    "prisons.csv": "code,name,regime",
    "prisoners.csv": "number,prison,incentive_level,public_contact_cleared_on,released_on",
    "employers.csv": "id,name,address,postcode,vat_number,email,billing_period,payment_terms_days,peppol_endpoint",
    "contracts.csv": "id,employer,prison,activity,work_type,start,end,public_contact,attested_by,attested_on,attestation_ref",
    "allocations.csv": "prisoner,contract,from,to,pay_band",
    "pay_rates.csv": "prison,pay_band,incentive_level,effective_from,basis,rate,piece_rate,piece_rate_items",
    "outside_wages.csv": "contract,effective_from,hourly_wage",
    "billing_terms.csv": "contract,effective_from,basis,charge,vat_rate_bp",
    "deductions.csv": "prisoner,week,kind,amount",
    "transfers.csv": "prisoner,prison,effective_from",
    "incentive_levels.csv": "prisoner,incentive_level,effective_from",
    "hours_week1.csv": "record_id,prisoner,contract,date,session,minutes,units,outcome,paid_absence",
    "hours_week2.csv": "record_id,prisoner,contract,date,session,minutes,units,outcome,paid_absence",
    "amendments.csv": "record_id,minutes,units,outcome,paid_absence",
    "voids.csv": "record_id",
    "expected_rejections.csv": "file,line,code",
}


def spec_headers():
    """The headers in spec/FORMATS.md, where the spec is at hand."""
    for p in (os.path.join(os.path.dirname(HERE), "spec", "FORMATS.md"),
              "/work/shared/spec/FORMATS.md"):
        if os.path.exists(p):
            text = open(p, encoding="utf-8").read()
            found = {}
            for name, hdr in re.findall(r"^\| ([a-z ]+) \| `([a-z_,]+)`", text, re.M):
                found[name.strip().replace(" ", "_")] = hdr
            m = re.search(r"## Hours\s+`([a-z_,]+)`", text)
            if m:
                found["hours"] = m.group(1)
            return found
    return None


def gen(out, seed, *extra):
    subprocess.run([sys.executable, GEN, "--seed", str(seed), "--out", out] + list(extra),
                   check=True)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


TMP = tempfile.mkdtemp(prefix="refmodel_test.")


@case
def generator():
    a, b, c = (os.path.join(TMP, x) for x in "abc")
    gen(a, 42)
    gen(b, 42)
    gen(c, 43)
    files = sorted(os.listdir(a))
    eq(files, sorted(os.listdir(b)), "the same seed writes the same files")
    same = [f for f in files if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f),
                                                shallow=False)]
    eq(same, [], "the same seed gives byte-identical files")
    check(not filecmp.cmp(os.path.join(a, "hours_week1.csv"),
                          os.path.join(c, "hours_week1.csv"), shallow=False)
          and not filecmp.cmp(os.path.join(a, "prisoners.csv"),
                              os.path.join(c, "prisoners.csv"), shallow=False),
          "a different seed gives different hours and prisoners")
    bad = []
    for f, hdr in FORMATS_HEADERS.items():
        rows = read_rows(os.path.join(a, f))
        if rows[0] != hdr.split(","):
            bad.append((f, rows[0]))
        width = len(hdr.split(","))
        odd = [i + 1 for i, r in enumerate(rows) if len(r) != width]
        if odd and not f.startswith("hours"):
            bad.append((f, "rows of another width at lines %s" % odd[:5]))
    eq(bad, [], "every CSV has the exact FORMATS.md header (and reference rows its width)")
    sh = spec_headers()
    if sh is not None:
        want = {"prisons": "prisons.csv", "prisoners": "prisoners.csv",
                "employers": "employers.csv", "contracts": "contracts.csv",
                "allocations": "allocations.csv", "pay_rates": "pay_rates.csv",
                "outside_wages": "outside_wages.csv", "billing_terms": "billing_terms.csv",
                "deductions": "deductions.csv", "transfers": "transfers.csv",
                "incentive_levels": "incentive_levels.csv", "hours": "hours_week1.csv"}
        diff = [(k, sh.get(k), FORMATS_HEADERS[f]) for k, f in want.items()
                if sh.get(k) != FORMATS_HEADERS[f]]
        eq(diff, [], "the headers checked here are those of spec/FORMATS.md")

    # A realistic sample.
    prisons = read_rows(os.path.join(a, "prisons.csv"))[1:]
    check(len(prisons) >= 3 and any(p[2] == "OPEN" for p in prisons)
          and {"MDI", "LEI", "KMI"} <= {p[0] for p in prisons},
          "at least 3 prisons, KMI open, MDI and LEI")
    pr = read_rows(os.path.join(a, "prisoners.csv"))[1:]
    check(len(pr) == 200 and len({p[0] for p in pr}) == 200
          and all(re.fullmatch(r"[A-Z][0-9]{4}[A-Z]{2}", p[0]) for p in pr),
          "200 prisoners with valid, distinct numbers")
    check(any(p[4] for p in pr), "a release")
    emp = read_rows(os.path.join(a, "employers.csv"))[1:]
    check(len(emp) == 6 and sum(e[6] == "MONTHLY" for e in emp) == 1
          and sum(e[4] == "" for e in emp) >= 1
          and all(e[4] == "" or re.fullmatch(r"GB[0-9]{9}", e[4]) for e in emp),
          "6 employers, one MONTHLY, VAT numbers GB + 9 digits, one without")
    m, rep = refmodel.run(a)
    eq(len(m.contracts), 10, "10 contracts registered")
    check(any(c["public_contact"] for c in m.contracts.values())
          and any(c["work_type"] == "OUTSIDE" and m.prisons[c["prison"]]["regime"] == "OPEN"
                  for c in m.contracts.values())
          and any(r["piece"] for r in m.rates.values())
          and min(m.outside_wages.values()) >= 1271,
          "a public-contact contract, an OUTSIDE one at the open prison, piece work")
    for k in (1, 2):
        rows = read_rows(os.path.join(a, "hours_week%d.csv" % k))[1:]
        outcomes = {(r[7], r[8] or "no") for r in rows if len(r) == 9}
        missing = [o for o in refmodel.OUTCOMES if not any(x[0] == o for x in outcomes)]
        missing += [(o, f) for o in ("SICK", "REST", "OTHER") for f in ("yes", "no")
                    if (o, f) not in outcomes]
        eq(missing, [], "hours_week%d: every outcome and every paid-absence case" % k)
    weekly = {}
    for r in m.records.values():
        weekly[(r.prisoner, r.week)] = weekly.get((r.prisoner, r.week), 0) + r.minutes
    check(sum(2340 <= v <= 2400 for v in weekly.values()) >= 3,
          "prisoners near 40 hours")
    codes = {j["code"] for j in rep["hours"]["rejections"]}
    want = {"INVALID_ARGUMENT", "UNKNOWN_PRISONER", "SESSION_CLASH", "DAILY_CAP_EXCEEDED",
            "NOT_ALLOCATED", "CLEARANCE_REQUIRED", "WEEKLY_CAP_EXCEEDED",
            "DUPLICATE_CONFLICT", "NOT_IN_CUSTODY", "UNKNOWN_CONTRACT",
            "CONTRACT_INACTIVE", "CONTRACT_NOT_ATTESTED"}
    eq(sorted(want - codes), [], "the bad hours rows cover the refusals")
    eq(rep["hours"]["replayed"], 1, "one row replayed (same id, same parsed content)")
    check(all(p["totals"]["levy"] >= 0 for p in rep["payroll"])
          and any(p["totals"]["levy"] > 0 for p in rep["payroll"])
          and any(p["totals"]["deductions"] > 0 for p in rep["payroll"])
          and all(p["totals"]["top_up"] > 0 for p in rep["payroll"]),
          "week 1 payroll has top-ups, deductions and a levy")
    eq(sorted({(i["billing_period"], i["issuable"]) for i in rep["invoices"]}),
       [("MONTHLY", False), ("WEEKLY", True)],
       "WEEKLY invoices issuable on today, the MONTHLY month still open")
    check(any(len({ln["terms_from"] for ln in i["lines"] if ln["contract"] == "C-0402"}) == 2
              for i in rep["invoices"]), "terms changing inside the MONTHLY period: two lines")
    check(any(ln["vat_rate_bp"] == 0 for i in rep["invoices"] for ln in i["lines"]),
          "a zero-rated line")
    check(rep["exceptions"]["no_rate"] and rep["exceptions"]["no_terms"],
          "NO_RATE and NO_TERMS exceptions")
    eq([r for r in rep["reconciliation"] if r["status"] != "OK"], [], "reconciliation is clean")


@case
def expected_rejections():
    for seed, extra in ((42, ()), (1, ()), (5, ("--weeks", "1")),
                        (9, ("--weeks", "3", "--start-week", "2026-W52"))):
        d = os.path.join(TMP, "e%d" % seed)
        gen(d, seed, *extra)
        exp = sorted(tuple(r) for r in read_rows(os.path.join(d, "expected_rejections.csv"))[1:])
        m, rep = refmodel.run(d)
        got = sorted((j["file"], str(j["line"]), j["code"])
                     for part in (rep["reference"]["rejections"], rep["hours"]["rejections"],
                                  rep["amendments"]["rejections"], rep["voids"]["rejections"])
                     for j in part)
        eq(got, exp, "seed %d%s: the model refuses exactly expected_rejections.csv"
           % (seed, "".join(" " + x for x in extra)))
        m2, rep2 = refmodel.run(d, finance=True)
        eq([rep2[k] for k in ("payroll", "invoices", "reconciliation")],
           [rep[k] for k in ("payroll", "invoices", "reconciliation")],
           "seed %d: importing as finance gives the same totals as per-week today" % seed)


@case
def cli():
    d = os.path.join(TMP, "a")
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "refmodel.py"), d,
                          "--close-week", "2026-W46", "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    rep = json.loads(out)
    eq(sorted(p["prison"] for p in rep["payroll"]), ["KMI", "LEI", "MDI"],
       "CLI: payroll of week 1 for every prison, as JSON")
    for p in rep["payroll"]:
        t = p["totals"]
        check(t["net"] == t["gross"] + t["top_up"] - t["deductions"] - t["levy"]
              and t["net"] == sum(r["net"] for r in p["rows"]),
              "CLI: %s totals add up" % p["prison"])
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, "refmodel.py"), d,
                          "--format", "payroll-csv"],
                         check=True, capture_output=True, text=True).stdout
    eq(out.splitlines()[0], "prison,week,prisoner,sessions,minutes,gross,top_up,deductions,levy,net",
       "CLI: payroll CSV with the FORMATS.md export header")


shutil.rmtree(TMP, ignore_errors=True)
print("1..%d" % N)
sys.exit(1 if FAILED else 0)
