/* hrs_rules_test: every capture check and every reference-row refusal,
 * each at the boundary that passes and the one that fails, and the order in
 * which the checks decide. */
#include "hrs_rules.h"

#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "tap.h"

static int32_t D(const char *s)
{
    int32_t d = 0;
    if (civil_parse_date(s, &d) != 0) {
        printf("# bad date in test: %s\n", s);
        return 0;
    }
    return d;
}

#define TODAY "2026-11-25"      /* a Wednesday of 2026-W48 */
#define DATE "2026-11-24"       /* the record's date: the Tuesday */

static hrs_record_text_t s_text(void)
{
    hrs_record_text_t t = {"r-1", "A1234BC", "C-0042", DATE, "AM", "240", "0", "ATTENDED", "no"};
    return t;
}

/* Facts under which s_text() is accepted. */
static hrs_capture_facts_t s_facts(void)
{
    hrs_capture_facts_t f;
    memset(&f, 0, sizeof f);
    f.prisoner.exists = true;
    strcpy(f.prisoner.custody, "MDI");
    f.prisoner.released_on = HRS_NO_DATE;
    f.prisoner.level = PAY__INCENTIVE_LEVEL__STD;
    f.prisoner.cleared_on = HRS_NO_DATE;
    f.contract.exists = true;
    strcpy(f.contract.prison, "MDI");
    strcpy(f.contract.employer, "dhl");
    f.contract.work_type = PAY__WORK_TYPE__WORKSHOP;
    f.contract.start = D("2026-01-01");
    f.contract.end = HRS_NO_DATE;
    f.contract.attested = true;
    f.allocated = true;
    f.pay_band = 3;
    f.today = D(TODAY);
    f.role = ROLE_INSTRUCTOR;
    f.scope = "MDI";
    f.policy = hrs_rules_policy_default();
    f.policy_today = hrs_rules_policy_default();
    return f;
}

static Pay__Status s_check(hrs_record_text_t t, hrs_capture_facts_t f, hrs_verdict_t *v)
{
    return hrs_rules_check_text(&t, &f, v);
}

static Pay__Status s_status(hrs_record_text_t t, hrs_capture_facts_t f)
{
    hrs_verdict_t v;
    return s_check(t, f, &v);
}

static int s_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Expects INVALID_ARGUMENT naming `field` for record text `t`. */
static void s_expect_invalid(hrs_record_text_t t, const char *field, const char *what)
{
    hrs_verdict_t v;
    Pay__Status st = s_check(t, s_facts(), &v);
    TAP_OK(st == PAY__STATUS__INVALID_ARGUMENT && s_starts(v.message, field),
           "check 1: %s is INVALID_ARGUMENT naming %s (%s)", what, field, v.message);
}

static void s_expect_ok(hrs_record_text_t t, const char *what)
{
    hrs_verdict_t v;
    Pay__Status st = s_check(t, s_facts(), &v);
    TAP_OK(st == PAY__STATUS__OK, "%s passes (%s)", what, v.message);
}

static void test_baseline(void)
{
    hrs_verdict_t v;
    Pay__Status st = s_check(s_text(), s_facts(), &v);
    TAP_EQ_INT(st, PAY__STATUS__OK, "the baseline record is accepted");
    TAP_OK(!v.replay, "a new record is not a replay");
}

static void test_check1_identifiers(void)
{
    hrs_record_text_t t;
    char id[80];

    t = s_text(); t.record_id = NULL;
    s_expect_invalid(t, "record_id", "a missing record_id");
    t = s_text(); t.record_id = "";
    s_expect_invalid(t, "record_id", "an empty record_id");
    memset(id, 'x', 64); id[64] = '\0';
    t = s_text(); t.record_id = id;
    s_expect_ok(t, "a 64-character record_id");
    memset(id, 'x', 65); id[65] = '\0';
    t = s_text(); t.record_id = id;
    s_expect_invalid(t, "record_id", "a 65-character record_id");
    {
        /* 64 two-byte characters are 128 bytes but 64 characters. */
        char wide[64 * 2 + 3];
        for (int i = 0; i < 64; i++) { wide[2 * i] = (char)0xc3; wide[2 * i + 1] = (char)0xa9; }
        wide[128] = '\0';
        t = s_text(); t.record_id = wide;
        s_expect_ok(t, "a record_id of 64 two-byte characters");
        wide[128] = (char)0xc3; wide[129] = (char)0xa9; wide[130] = '\0';
        t = s_text(); t.record_id = wide;
        s_expect_invalid(t, "record_id", "a record_id of 65 two-byte characters");
    }
    t = s_text(); t.record_id = " r-1 ";
    s_expect_ok(t, "a record_id with spaces (kept as is, not trimmed)");
    t = s_text(); t.record_id = "r\t1";
    s_expect_invalid(t, "record_id", "a record_id with a tab");
    t = s_text(); t.record_id = "r\xff" "1";
    s_expect_invalid(t, "record_id", "a record_id that is not UTF-8");
    t = s_text(); t.record_id = "r\xc0\xaf";
    s_expect_invalid(t, "record_id", "an overlong UTF-8 record_id");

    const char *bad_prisoners[] = {"a1234bc", "a1234BC", "A1234bc", " A1234BC", "A1234BC ",
                                   "A1234B", "A12345BC", "A123BC", "11234BC", "A1234B1", ""};
    for (size_t i = 0; i < sizeof bad_prisoners / sizeof *bad_prisoners; i++) {
        char what[64];
        snprintf(what, sizeof what, "prisoner '%s'", bad_prisoners[i]);
        t = s_text(); t.prisoner = bad_prisoners[i];
        s_expect_invalid(t, "prisoner", what);
    }
    t = s_text(); t.prisoner = "Z9999ZZ";
    {
        hrs_record_t r; hrs_verdict_t v;
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && strcmp(r.prisoner, "Z9999ZZ") == 0,
               "check 1: prisoner Z9999ZZ is well formed");
    }

    const char *bad_contracts[] = {"c-0042", "C-0042 ", " C-0042", "-C1", "C_1", "C 1",
                                   "ABCDEFGHIJKLMNOPQRSTUVWXY", ""};
    for (size_t i = 0; i < sizeof bad_contracts / sizeof *bad_contracts; i++) {
        char what[64];
        snprintf(what, sizeof what, "contract '%s'", bad_contracts[i]);
        t = s_text(); t.contract = bad_contracts[i];
        s_expect_invalid(t, "contract", what);
    }
    {
        hrs_record_t r; hrs_verdict_t v;
        t = s_text(); t.contract = "ABCDEFGHIJKLMNOPQRSTUVWX";   /* 24 */
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0, "check 1: a 24-character contract id is well formed");
        t = s_text(); t.contract = "9";
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0, "check 1: a 1-character contract id is well formed");
        t = s_text(); t.contract = "C--";
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0, "check 1: contract 'C--' is well formed");
    }
}

static void test_check1_values(void)
{
    hrs_record_text_t t;
    hrs_record_t r;
    hrs_verdict_t v;

    const char *bad_dates[] = {"2026-02-29", "2026-13-01", "2026-11-31", "2026-11-24 ",
                               " 2026-11-24", "2026/11/24", "26-11-24", "2026-1-24",
                               "20261124", "2026-11-2x", "", "0000-01-01"};
    for (size_t i = 0; i < sizeof bad_dates / sizeof *bad_dates; i++) {
        char what[64];
        snprintf(what, sizeof what, "date '%s'", bad_dates[i]);
        t = s_text(); t.date = bad_dates[i];
        s_expect_invalid(t, "date", what);
    }
    t = s_text(); t.date = "2028-02-29";
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.date == D("2028-02-29"),
           "check 1: 2028-02-29 (a leap day) is a real date");

    const char *sessions[] = {"AM", "PM", "ED"};
    const Pay__Session session_values[] = {PAY__SESSION__AM, PAY__SESSION__PM, PAY__SESSION__ED};
    for (int i = 0; i < 3; i++) {
        t = s_text(); t.session = sessions[i];
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.session == session_values[i],
               "check 1: session %s is spelled right", sessions[i]);
    }
    const char *bad_sessions[] = {"am", "Am", " AM", "AM ", "EV", "MORNING", ""};
    for (size_t i = 0; i < sizeof bad_sessions / sizeof *bad_sessions; i++) {
        char what[64];
        snprintf(what, sizeof what, "session '%s'", bad_sessions[i]);
        t = s_text(); t.session = bad_sessions[i];
        s_expect_invalid(t, "session", what);
    }

    t = s_text(); t.minutes = "1";
    s_expect_ok(t, "check 1: 1 minute");
    t = s_text(); t.minutes = "600";
    s_expect_ok(t, "check 1: 600 minutes in one record");
    const char *bad_minutes[] = {"601", "0", "-1", "abc", " 60", "60 ", "60.0", "+60", "",
                                 "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad_minutes / sizeof *bad_minutes; i++) {
        char what[64];
        snprintf(what, sizeof what, "minutes '%s'", bad_minutes[i]);
        t = s_text(); t.minutes = bad_minutes[i];
        s_expect_invalid(t, "minutes", what);
    }

    t = s_text(); t.units = "";
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.units == 0, "check 1: empty units mean 0");
    t = s_text(); t.units = NULL;
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.units == 0, "check 1: missing units mean 0");
    t = s_text(); t.units = "125";
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.units == 125, "check 1: 125 units");
    const char *bad_units[] = {"-1", "1.5", "x", " 1", "1000000001"};
    for (size_t i = 0; i < sizeof bad_units / sizeof *bad_units; i++) {
        char what[64];
        snprintf(what, sizeof what, "units '%s'", bad_units[i]);
        t = s_text(); t.units = bad_units[i];
        s_expect_invalid(t, "units", what);
    }

    const char *outcomes[] = {"ATTENDED", "SICK", "REST", "OTHER", "NOT_REQUIRED",
                              "CLASH", "CANCELLED", "REFUSED", "SUSPENDED"};
    for (int i = 0; i < 9; i++) {
        t = s_text(); t.outcome = outcomes[i];
        TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && (int)r.outcome == i + 1 &&
                   strcmp(hrs_outcome_name(r.outcome), outcomes[i]) == 0,
               "check 1: outcome %s is spelled right", outcomes[i]);
    }
    const char *bad_outcomes[] = {"attended", "Attended", "ABSENT", "NOT REQUIRED",
                                  "ATTENDED ", ""};
    for (size_t i = 0; i < sizeof bad_outcomes / sizeof *bad_outcomes; i++) {
        char what[64];
        snprintf(what, sizeof what, "outcome '%s'", bad_outcomes[i]);
        t = s_text(); t.outcome = bad_outcomes[i];
        s_expect_invalid(t, "outcome", what);
    }

    t = s_text(); t.paid_absence = "yes";
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && r.paid_absence, "check 1: paid_absence yes");
    t = s_text(); t.paid_absence = "";
    TAP_OK(hrs_rules_parse_record(&t, &r, &v) == 0 && !r.paid_absence,
           "check 1: empty paid_absence means no");
    t = s_text(); t.outcome = "NOT_REQUIRED\n";
    {
        hrs_verdict_t v2;
        TAP_OK(s_check(t, s_facts(), &v2) == PAY__STATUS__INVALID_ARGUMENT && !strchr(v2.message, '\n'),
               "check 1: outcome with a trailing newline is refused, and the message has no newline");
    }
    const char *bad_flags[] = {"Yes", "YES", "true", "1", "y", "no "};
    for (size_t i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
        char what[64];
        snprintf(what, sizeof what, "paid_absence '%s'", bad_flags[i]);
        t = s_text(); t.paid_absence = bad_flags[i];
        s_expect_invalid(t, "paid_absence", what);
    }

    /* The first malformed field, in column order, is the one named. */
    t = s_text(); t.prisoner = "x"; t.minutes = "601";
    s_expect_invalid(t, "prisoner", "a bad prisoner before bad minutes");
}

static void test_check2_idempotency(void)
{
    hrs_record_text_t t = s_text();
    hrs_record_t first;
    hrs_verdict_t v;
    hrs_rules_parse_record(&t, &first, &v);

    hrs_capture_facts_t f = s_facts();
    f.existing = &first;
    Pay__Status st = s_check(s_text(), f, &v);
    TAP_OK(st == PAY__STATUS__OK && v.replay, "check 2: the same content again is the first answer");

    t = s_text(); t.units = "";
    st = s_check(t, f, &v);
    TAP_OK(st == PAY__STATUS__OK && v.replay, "check 2: empty units and 0 are the same content");

    /* Even when later checks would now fail (the week closed since), the
     * same content gets the first answer. */
    hrs_capture_facts_t g = f;
    g.week_closed = true;
    g.clash = true;
    st = s_check(s_text(), g, &v);
    TAP_OK(st == PAY__STATUS__OK && v.replay, "check 2: a replay comes before every later check");

    struct { const char *field; hrs_record_text_t t; } diffs[8];
    for (int i = 0; i < 8; i++) diffs[i].t = s_text();
    diffs[0].field = "prisoner"; diffs[0].t.prisoner = "B1234BC";
    diffs[1].field = "contract"; diffs[1].t.contract = "C-0043";
    diffs[2].field = "date"; diffs[2].t.date = "2026-11-23";
    diffs[3].field = "session"; diffs[3].t.session = "PM";
    diffs[4].field = "minutes"; diffs[4].t.minutes = "241";
    diffs[5].field = "units"; diffs[5].t.units = "1";
    diffs[6].field = "outcome"; diffs[6].t.outcome = "SICK";
    diffs[7].field = "paid_absence"; diffs[7].t.paid_absence = "yes";
    for (int i = 0; i < 8; i++) {
        st = s_check(diffs[i].t, f, &v);
        TAP_OK(st == PAY__STATUS__DUPLICATE_CONFLICT && strstr(v.message, diffs[i].field),
               "check 2: a different %s is DUPLICATE_CONFLICT (%s)", diffs[i].field, v.message);
    }
    /* A malformed resubmission is check 1's business, not check 2's. */
    t = s_text(); t.minutes = "601";
    TAP_EQ_INT(s_check(t, f, &v), PAY__STATUS__INVALID_ARGUMENT,
               "check 1 comes before check 2");
}

static void test_check3_4(void)
{
    hrs_capture_facts_t f;
    hrs_record_text_t t;
    hrs_verdict_t v;

    f = s_facts(); f.prisoner.exists = false;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__UNKNOWN_PRISONER && strstr(v.message, "A1234BC"),
           "check 3: an unknown prisoner is UNKNOWN_PRISONER, named (%s)", v.message);

    f = s_facts(); f.contract.exists = false;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__UNKNOWN_CONTRACT && strstr(v.message, "C-0042"),
           "check 4: an unknown contract is UNKNOWN_CONTRACT, named (%s)", v.message);

    f = s_facts(); f.contract.start = D(DATE);
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 4: the contract's start date is inclusive");
    f = s_facts(); f.contract.start = D(DATE) + 1;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__CONTRACT_INACTIVE,
           "check 4: the day before the start is CONTRACT_INACTIVE (%s)", v.message);
    f = s_facts(); f.contract.end = D(DATE);
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 4: the contract's end date is inclusive");
    f = s_facts(); f.contract.end = D(DATE) - 1;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__CONTRACT_INACTIVE,
               "check 4: the day after the end is CONTRACT_INACTIVE");
    f = s_facts(); f.contract.attested = false;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__CONTRACT_NOT_ATTESTED && strstr(v.message, "C-0042"),
           "check 4: an unattested contract is CONTRACT_NOT_ATTESTED (%s)", v.message);

    /* Identifiers are case sensitive: the facts for "c-0042" would be
     * looked up under that exact key, but check 1 refuses it first. */
    t = s_text(); t.contract = "c-0042";
    TAP_EQ_INT(s_status(t, s_facts()), PAY__STATUS__INVALID_ARGUMENT,
               "check 1: contract ids are case sensitive");
}

static void test_check5_roles(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;

    f = s_facts();
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 5: an instructor of MDI records at MDI");
    f = s_facts(); f.scope = "LEI";
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__PERMISSION_DENIED && strstr(v.message, "MDI"),
           "check 5: an instructor of LEI may not record at MDI (%s)", v.message);
    f = s_facts(); f.scope = "mdi";
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__PERMISSION_DENIED, "check 5: scopes are case sensitive");
    f = s_facts(); f.scope = "";
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__PERMISSION_DENIED,
               "check 5: an instructor without a scope records nowhere");
    f = s_facts(); f.role = ROLE_FINANCE; f.scope = "";
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 5: finance records at any prison");
    const auth_role_t denied[] = {ROLE_GOVERNOR, ROLE_INDUSTRIES, ROLE_EMPLOYER, ROLE_SERVICE, ROLE_NONE};
    for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
        f = s_facts(); f.role = denied[i];
        TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__PERMISSION_DENIED,
                   "check 5: %s with scope MDI may not record hours", auth_role_name(denied[i]));
    }
}

static void test_check6_custody(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;

    f = s_facts(); strcpy(f.prisoner.custody, "LEI");
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__NOT_IN_CUSTODY && strstr(v.message, "LEI"),
           "check 6: custody at another prison is NOT_IN_CUSTODY (%s)", v.message);
    f = s_facts(); f.prisoner.released_on = D(DATE) + 1;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK,
               "check 6: released the day after: in custody on the day before release");
    f = s_facts(); f.prisoner.released_on = D(DATE);
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__NOT_IN_CUSTODY,
           "check 6: not in custody on the release date itself (%s)", v.message);
    f = s_facts(); f.prisoner.released_on = D("2026-01-01");
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__NOT_IN_CUSTODY, "check 6: released long before");

    /* Transfers: the prison in force on the date. */
    hrs_transfer_t tr[2] = {{D(DATE), "MDI"}, {D("2026-12-10"), "FDI"}};
    TAP_EQ_STR(hrs_rules_custody_on("LEI", tr, 2, D(DATE)), "MDI",
               "custody: a transfer on the date is in force that date");
    TAP_EQ_STR(hrs_rules_custody_on("LEI", tr, 2, D(DATE) - 1), "LEI",
               "custody: the day before a transfer is still the old prison");
    TAP_EQ_STR(hrs_rules_custody_on("LEI", tr, 2, D("2026-12-10")), "FDI",
               "custody: the later transfer wins from its date");
    hrs_transfer_t rev[2] = {tr[1], tr[0]};
    TAP_EQ_STR(hrs_rules_custody_on("LEI", rev, 2, D("2026-12-11")), "FDI",
               "custody: transfers in any order");
    TAP_EQ_STR(hrs_rules_custody_on("LEI", NULL, 0, D(DATE)), "LEI",
               "custody: no transfers, the starting prison");

    /* The same through the checks: transferred into MDI on the date. */
    f = s_facts();
    strcpy(f.prisoner.custody, hrs_rules_custody_on("LEI", tr, 2, D(DATE)));
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 6: transferred in on the date passes");
    hrs_record_text_t t = s_text(); t.date = "2026-11-23";
    f = s_facts();
    strcpy(f.prisoner.custody, hrs_rules_custody_on("LEI", tr, 2, D("2026-11-23")));
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__NOT_IN_CUSTODY,
               "check 6: the day before the transfer in fails");

    hrs_level_change_t lc[2] = {{D(DATE), PAY__INCENTIVE_LEVEL__ENH}, {D("2026-12-01"), PAY__INCENTIVE_LEVEL__BAS}};
    TAP_EQ_INT(hrs_rules_level_on(PAY__INCENTIVE_LEVEL__STD, lc, 2, D(DATE) - 1), PAY__INCENTIVE_LEVEL__STD,
               "level: the starting level before any change");
    TAP_EQ_INT(hrs_rules_level_on(PAY__INCENTIVE_LEVEL__STD, lc, 2, D(DATE)), PAY__INCENTIVE_LEVEL__ENH,
               "level: a change is in force from its date");
    TAP_EQ_INT(hrs_rules_level_on(PAY__INCENTIVE_LEVEL__STD, lc, 2, D("2026-12-31")), PAY__INCENTIVE_LEVEL__BAS,
               "level: the latest change on or before the date");
}

static void test_check7_allocation(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;

    f = s_facts(); f.allocated = false;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__NOT_ALLOCATED && strstr(v.message, "C-0042"),
           "check 7: not allocated is NOT_ALLOCATED (%s)", v.message);

    int32_t d = D(DATE);
    hrs_allocation_t a1 = {d, HRS_NO_DATE, 2};
    TAP_EQ_INT(hrs_rules_allocation_on(&a1, 1, d), 0, "allocation: from is inclusive");
    hrs_allocation_t a2 = {d + 1, HRS_NO_DATE, 2};
    TAP_EQ_INT(hrs_rules_allocation_on(&a2, 1, d), -1, "allocation: the day before from is not allocated");
    hrs_allocation_t a3 = {d - 30, d, 2};
    TAP_EQ_INT(hrs_rules_allocation_on(&a3, 1, d), 0, "allocation: to is inclusive");
    hrs_allocation_t a4 = {d - 30, d - 1, 2};
    TAP_EQ_INT(hrs_rules_allocation_on(&a4, 1, d), -1, "allocation: the day after to is not allocated");
    hrs_allocation_t over[3] = {{d - 30, HRS_NO_DATE, 1}, {d - 5, d + 5, 7}, {d - 10, HRS_NO_DATE, 4}};
    int i = hrs_rules_allocation_on(over, 3, d);
    TAP_OK(i == 1 && over[i].pay_band == 7, "allocation: overlapping, the latest from gives the band");
    i = hrs_rules_allocation_on(over, 3, d + 6);
    TAP_OK(i == 2 && over[i].pay_band == 4, "allocation: once the latest has ended, the next latest");
    hrs_allocation_t future[2] = {{d - 30, HRS_NO_DATE, 1}, {d + 1, HRS_NO_DATE, 9}};
    i = hrs_rules_allocation_on(future, 2, d);
    TAP_OK(i == 0 && future[i].pay_band == 1, "allocation: a later from after the date does not apply yet");
}

static void test_check8_clearance(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;

    f = s_facts(); f.contract.public_contact = true;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__CLEARANCE_REQUIRED,
           "check 8: public contact without clearance is CLEARANCE_REQUIRED (%s)", v.message);
    f = s_facts(); f.contract.public_contact = true; f.prisoner.cleared_on = D(DATE);
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 8: clearance granted that day passes");
    f = s_facts(); f.contract.public_contact = true; f.prisoner.cleared_on = D(DATE) + 1;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__CLEARANCE_REQUIRED,
           "check 8: clearance granted the day after fails (%s)", v.message);
    f = s_facts(); f.contract.public_contact = false;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK,
               "check 8: no clearance needed off public-contact contracts");
}

static void test_check9_11(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;
    hrs_record_text_t t;

    f = s_facts(); f.clash = true; strcpy(f.clash_id, "r-0");
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__SESSION_CLASH && strstr(v.message, "r-0"),
           "check 9: a live record in the same session is SESSION_CLASH (%s)", v.message);

    f = s_facts(); f.day_minutes = 360;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 10: 600 minutes in a day passes");
    f = s_facts(); f.day_minutes = 361; f.week_minutes = 361;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__DAILY_CAP_EXCEEDED && strstr(v.message, "600"),
           "check 10: 601 minutes in a day is DAILY_CAP_EXCEEDED (%s)", v.message);
    t = s_text(); t.minutes = "600";
    f = s_facts();
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__OK, "check 10: one 600-minute record alone passes");
    f = s_facts(); f.policy.daily_cap = 480; f.day_minutes = 240;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 10: the prison's own cap, at the cap");
    f.day_minutes = 241;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__DAILY_CAP_EXCEEDED, "check 10: the prison's own cap, over it");

    f = s_facts(); f.week_minutes = 2160;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 11: 2400 minutes in a week passes");
    f = s_facts(); f.week_minutes = 2161;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__WEEKLY_CAP_EXCEEDED && strstr(v.message, "2026-W48"),
           "check 11: 2401 minutes in a week is WEEKLY_CAP_EXCEEDED (%s)", v.message);
    f = s_facts(); f.policy.weekly_cap = 1200; f.week_minutes = 960;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__OK, "check 11: the prison's own weekly cap, at it");
    f.week_minutes = 961;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__WEEKLY_CAP_EXCEEDED, "check 11: over it");
}

static void test_check12_13(void)
{
    hrs_capture_facts_t f;
    hrs_verdict_t v;
    hrs_record_text_t t;

    t = s_text(); t.date = TODAY;
    TAP_EQ_INT(s_status(t, s_facts()), PAY__STATUS__OK, "check 12: today passes");
    t = s_text(); t.date = "2026-11-26";
    TAP_OK(s_check(t, s_facts(), &v) == PAY__STATUS__DATE_IN_FUTURE,
           "check 12: tomorrow is DATE_IN_FUTURE (%s)", v.message);
    f = s_facts(); f.role = ROLE_FINANCE;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__DATE_IN_FUTURE, "check 12: finance cannot record the future either");
    t = s_text(); t.date = "2026-11-18";
    TAP_EQ_INT(s_status(t, s_facts()), PAY__STATUS__OK, "check 12: exactly 7 days back passes");
    t = s_text(); t.date = "2026-11-17";
    TAP_OK(s_check(t, s_facts(), &v) == PAY__STATUS__BACKDATE_LIMIT,
           "check 12: 8 days back is BACKDATE_LIMIT (%s)", v.message);
    f = s_facts(); f.role = ROLE_FINANCE; f.scope = "";
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__OK, "check 12: finance may go past the backdate limit");
    t = s_text(); t.date = "2026-01-05";
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__OK, "check 12: finance, far back");
    f = s_facts(); f.policy_today.backdate_days = 2;
    t = s_text(); t.date = "2026-11-23";
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__OK, "check 12: the prison's own limit, at it");
    t = s_text(); t.date = "2026-11-22";
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__BACKDATE_LIMIT, "check 12: the prison's own limit, past it");

    f = s_facts(); f.week_closed = true;
    TAP_OK(s_check(s_text(), f, &v) == PAY__STATUS__PAY_WEEK_CLOSED && strstr(v.message, "2026-W48"),
           "check 13: a closed pay week is PAY_WEEK_CLOSED (%s)", v.message);
    f = s_facts(); f.week_closed = true; f.role = ROLE_FINANCE;
    TAP_EQ_INT(s_status(s_text(), f), PAY__STATUS__PAY_WEEK_CLOSED, "check 13: closed for finance too");
}

/* Every check from 3 to 13 fails at once; mending them one at a time in
 * the spec's order moves the answer to the next check each time. */
static void test_order(void)
{
    hrs_record_text_t t = s_text();
    t.date = "2026-11-26";   /* check 12: future */
    hrs_capture_facts_t f = s_facts();
    f.prisoner.exists = false;
    f.contract.exists = false;
    f.contract.start = D("2027-01-01");
    f.contract.attested = false;
    f.scope = "LEI";
    strcpy(f.prisoner.custody, "LEI");
    f.allocated = false;
    f.contract.public_contact = true;
    f.clash = true;
    f.day_minutes = 500;
    f.week_minutes = 2300;
    f.week_closed = true;

    hrs_record_text_t bad = t;
    bad.minutes = "601";
    TAP_EQ_INT(s_status(bad, f), PAY__STATUS__INVALID_ARGUMENT, "order: check 1 decides first");
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__UNKNOWN_PRISONER, "order: then check 3");
    f.prisoner.exists = true;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__UNKNOWN_CONTRACT, "order: then check 4 (exists)");
    f.contract.exists = true;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__CONTRACT_INACTIVE, "order: then check 4 (active)");
    f.contract.start = D("2026-01-01");
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__CONTRACT_NOT_ATTESTED, "order: then check 4 (attested)");
    f.contract.attested = true;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__PERMISSION_DENIED, "order: then check 5");
    f.scope = "MDI";
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__NOT_IN_CUSTODY, "order: then check 6");
    strcpy(f.prisoner.custody, "MDI");
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__NOT_ALLOCATED, "order: then check 7");
    f.allocated = true;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__CLEARANCE_REQUIRED, "order: then check 8");
    f.prisoner.cleared_on = D("2020-01-01");
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__SESSION_CLASH, "order: then check 9");
    f.clash = false;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__DAILY_CAP_EXCEEDED, "order: then check 10");
    f.day_minutes = 0;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__WEEKLY_CAP_EXCEEDED, "order: then check 11");
    f.week_minutes = 0;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__DATE_IN_FUTURE, "order: then check 12");
    t.date = DATE;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__PAY_WEEK_CLOSED, "order: then check 13");
    f.week_closed = false;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__OK, "order: and with everything mended, accepted");

    /* A backdated record in a closed week: check 12 before 13. */
    t.date = "2026-11-10";
    f.week_closed = true;
    TAP_EQ_INT(s_status(t, f), PAY__STATUS__BACKDATE_LIMIT, "order: check 12 (backdate) before 13");
}

static void test_amend_void_close(void)
{
    hrs_record_text_t t = s_text();
    hrs_record_t old, neu;
    hrs_verdict_t v;
    hrs_rules_parse_record(&t, &old, &v);

    hrs_amend_text_t a = {"300", "", "SICK", "yes"};
    TAP_OK(hrs_rules_parse_amend(&a, &old, &neu, &v) == 0 && neu.minutes == 300 &&
               neu.outcome == PAY__OUTCOME__SICK && neu.paid_absence && neu.units == 0 &&
               strcmp(neu.prisoner, old.prisoner) == 0 && neu.date == old.date,
           "amend: new minutes, units, outcome and flag; the rest kept");
    hrs_amend_text_t bad = {"601", "", "SICK", "yes"};
    TAP_OK(hrs_rules_parse_amend(&bad, &old, &neu, &v) != 0 &&
               v.status == PAY__STATUS__INVALID_ARGUMENT && s_starts(v.message, "minutes"),
           "amend: 601 minutes is INVALID_ARGUMENT");
    hrs_amend_text_t bad2 = {"60", "", "sick", ""};
    TAP_OK(hrs_rules_parse_amend(&bad2, &old, &neu, &v) != 0 && s_starts(v.message, "outcome"),
           "amend: a misspelt outcome is INVALID_ARGUMENT");

    hrs_rules_parse_amend(&a, &old, &neu, &v);
    hrs_capture_facts_t f = s_facts();
    f.rec = &neu;
    f.day_minutes = 300;  /* other records that day, the old one excluded */
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__OK, "amend: to exactly the daily cap");
    f.day_minutes = 301;
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__DAILY_CAP_EXCEEDED, "amend: check 10 on the new minutes");
    f.day_minutes = 0; f.week_minutes = 2101;
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__WEEKLY_CAP_EXCEEDED, "amend: check 11 on the new minutes");
    f.week_minutes = 2100;
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__OK, "amend: to exactly the weekly cap");
    f.week_closed = true;
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__PAY_WEEK_CLOSED, "amend: not once the week is closed");
    f.week_closed = false; f.scope = "LEI";
    TAP_EQ_INT(hrs_rules_check_amend(&f, &v), PAY__STATUS__PERMISSION_DENIED, "amend: only the prison's instructor");

    f = s_facts(); f.rec = &old;
    TAP_EQ_INT(hrs_rules_check_void(&f, &v), PAY__STATUS__OK, "void: in an open week");
    f.week_closed = true;
    TAP_EQ_INT(hrs_rules_check_void(&f, &v), PAY__STATUS__PAY_WEEK_CLOSED, "void: not once the week is closed");
    f.week_closed = false; f.role = ROLE_EMPLOYER;
    TAP_EQ_INT(hrs_rules_check_void(&f, &v), PAY__STATUS__PERMISSION_DENIED, "void: an employer may not");

    TAP_EQ_INT(hrs_rules_check_close_week(ROLE_FINANCE, "MDI", true, &v), PAY__STATUS__OK,
               "close week: finance");
    TAP_EQ_INT(hrs_rules_check_close_week(ROLE_INSTRUCTOR, "MDI", true, &v), PAY__STATUS__PERMISSION_DENIED,
               "close week: not an instructor");
    TAP_EQ_INT(hrs_rules_check_close_week(ROLE_GOVERNOR, "MDI", true, &v), PAY__STATUS__PERMISSION_DENIED,
               "close week: not a governor");
    TAP_EQ_INT(hrs_rules_check_close_week(ROLE_FINANCE, "XYZ", false, &v), PAY__STATUS__UNKNOWN_PRISON,
               "close week: an unknown prison");
}

static void test_policy(void)
{
    hrs_policy_t p = hrs_rules_policy_on(NULL, 0, D(DATE));
    TAP_OK(p.weekly_cap == 2400 && p.daily_cap == 600 && p.backdate_days == 7,
           "policy: the defaults are 2400, 600 and 7");
    hrs_policy_row_t rows[2] = {{INT32_MIN, {2400, 600, 7}}, {D(DATE), {1800, 480, 3}}};
    p = hrs_rules_policy_on(rows, 2, D(DATE) - 1);
    TAP_EQ_INT(p.daily_cap, 600, "policy: before a change, the base policy");
    p = hrs_rules_policy_on(rows, 2, D(DATE));
    TAP_OK(p.daily_cap == 480 && p.weekly_cap == 1800 && p.backdate_days == 3,
           "policy: a change is in force from its date");
}

static hrs_caller_t s_industries = {ROLE_INDUSTRIES, ""};

static void test_ref_prison(void)
{
    hrs_prison_text_t in = {"MDI", "Moorland", "CLOSED", false, false, false, 0, 0, 0};
    hrs_prison_t p;
    hrs_verdict_t v;
    TAP_OK(hrs_rules_parse_prison(&in, &p, &v) == 0 && p.regime == HRS_REGIME_CLOSED &&
               p.policy.weekly_cap == 2400 && p.policy.daily_cap == 600,
           "prison: well formed, default policy");
    TAP_EQ_INT(hrs_rules_check_prison(&p, false, &s_industries, &v), PAY__STATUS__OK, "prison: industries stores it");
    TAP_OK(hrs_rules_check_prison(&p, true, &s_industries, &v) == PAY__STATUS__REGIME_MISMATCH,
           "prison: CLOSED while it has OUTSIDE contracts is REGIME_MISMATCH (%s)", v.message);
    in.regime = "OPEN";
    hrs_rules_parse_prison(&in, &p, &v);
    TAP_EQ_INT(hrs_rules_check_prison(&p, true, &s_industries, &v), PAY__STATUS__OK, "prison: OPEN with OUTSIDE contracts");
    hrs_caller_t gov = {ROLE_GOVERNOR, "MDI"};
    TAP_EQ_INT(hrs_rules_check_prison(&p, false, &gov, &v), PAY__STATUS__PERMISSION_DENIED,
               "prison: a governor may not register prisons");
    hrs_caller_t emp = {ROLE_EMPLOYER, "dhl"};
    TAP_EQ_INT(hrs_rules_check_prison(&p, false, &emp, &v), PAY__STATUS__PERMISSION_DENIED,
               "prison: an employer may not");

    const char *codes[] = {"mdi", "MD", "MDIX", "M1I", " MDI", ""};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        hrs_prison_text_t b = in; b.code = codes[i];
        TAP_OK(hrs_rules_parse_prison(&b, &p, &v) != 0 && v.status == PAY__STATUS__INVALID_ARGUMENT &&
                   s_starts(v.message, "code"), "prison: code '%s' is INVALID_ARGUMENT", codes[i]);
    }
    hrs_prison_text_t b = in; b.regime = "closed";
    TAP_OK(hrs_rules_parse_prison(&b, &p, &v) != 0 && s_starts(v.message, "regime"), "prison: regime 'closed'");
    b = in; b.name = "";
    TAP_OK(hrs_rules_parse_prison(&b, &p, &v) != 0 && s_starts(v.message, "name"), "prison: an empty name");
    b = in; b.has_daily_cap = true; b.daily_cap = 0;
    TAP_OK(hrs_rules_parse_prison(&b, &p, &v) != 0 && s_starts(v.message, "daily_cap"), "prison: a daily cap of 0");
    b = in; b.has_weekly_cap = true; b.weekly_cap = 1800; b.has_backdate_days = true; b.backdate_days = 0;
    TAP_OK(hrs_rules_parse_prison(&b, &p, &v) == 0 && p.policy.weekly_cap == 1800 && p.policy.backdate_days == 0,
           "prison: its own caps");

    hrs_policy_text_t pt = {"MDI", "2026-12-01", true, false, false, 1800, 0, 0};
    hrs_policy_change_t pc;
    TAP_OK(hrs_rules_parse_policy(&pt, &pc, &v) == 0 && pc.policy.weekly_cap == 1800 &&
               pc.policy.daily_cap == 600 && pc.from == D("2026-12-01"),
           "policy row: well formed, unset values default");
    hrs_caller_t gov_lei = {ROLE_GOVERNOR, "LEI"};
    TAP_EQ_INT(hrs_rules_check_policy(&pc, true, &gov, &v), PAY__STATUS__OK, "policy row: the prison's governor");
    TAP_EQ_INT(hrs_rules_check_policy(&pc, true, &gov_lei, &v), PAY__STATUS__PERMISSION_DENIED,
               "policy row: another prison's governor is PERMISSION_DENIED");
    TAP_EQ_INT(hrs_rules_check_policy(&pc, true, &s_industries, &v), PAY__STATUS__OK, "policy row: industries");
    TAP_EQ_INT(hrs_rules_check_policy(&pc, false, &gov, &v), PAY__STATUS__UNKNOWN_PRISON, "policy row: unknown prison");
    hrs_caller_t ins = {ROLE_INSTRUCTOR, "MDI"};
    TAP_EQ_INT(hrs_rules_check_policy(&pc, true, &ins, &v), PAY__STATUS__PERMISSION_DENIED, "policy row: not an instructor");
    pt.effective_from = "2026-12-1";
    TAP_OK(hrs_rules_parse_policy(&pt, &pc, &v) != 0 && s_starts(v.message, "effective_from"),
           "policy row: a bad effective_from");
}

static void test_ref_prisoner(void)
{
    hrs_prisoner_text_t in = {"A1234BC", "MDI", "STD", "", ""};
    hrs_prisoner_t p;
    hrs_verdict_t v;
    TAP_OK(hrs_rules_parse_prisoner(&in, &p, &v) == 0 && p.level == PAY__INCENTIVE_LEVEL__STD &&
               p.cleared_on == HRS_NO_DATE && p.released_on == HRS_NO_DATE,
           "prisoner: well formed, no clearance, in custody");
    TAP_EQ_INT(hrs_rules_check_prisoner(&p, true, &s_industries, &v), PAY__STATUS__OK, "prisoner: stored");
    TAP_EQ_INT(hrs_rules_check_prisoner(&p, false, &s_industries, &v), PAY__STATUS__UNKNOWN_PRISON,
               "prisoner: at an unknown prison is UNKNOWN_PRISON");
    hrs_caller_t lei = {ROLE_INDUSTRIES, "LEI"};
    TAP_EQ_INT(hrs_rules_check_prisoner(&p, true, &lei, &v), PAY__STATUS__PERMISSION_DENIED,
               "prisoner: industries scoped to LEI may not register at MDI");
    hrs_caller_t fin = {ROLE_FINANCE, ""};
    TAP_EQ_INT(hrs_rules_check_prisoner(&p, true, &fin, &v), PAY__STATUS__PERMISSION_DENIED,
               "prisoner: finance may not register prisoners");

    const char *levels[] = {"BAS", "ENT", "STD", "ENH", "EN2"};
    for (int i = 0; i < 5; i++) {
        hrs_prisoner_text_t b = in; b.incentive_level = levels[i];
        TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) == 0 && (int)p.level == i + 1 &&
                   strcmp(hrs_level_name(p.level), levels[i]) == 0,
               "prisoner: level %s is spelled right", levels[i]);
    }
    const char *bad_levels[] = {"std", "STANDARD", "EN3", ""};
    for (size_t i = 0; i < sizeof bad_levels / sizeof *bad_levels; i++) {
        hrs_prisoner_text_t b = in; b.incentive_level = bad_levels[i];
        TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) != 0 && s_starts(v.message, "incentive_level"),
               "prisoner: level '%s' is INVALID_ARGUMENT", bad_levels[i]);
    }
    hrs_prisoner_text_t b = in; b.number = "A1234bc";
    TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) != 0 && s_starts(v.message, "number"), "prisoner: a bad number");
    b = in; b.public_contact_cleared_on = "2026-11-24"; b.released_on = "2027-01-31";
    TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) == 0 && p.cleared_on == D("2026-11-24") &&
               p.released_on == D("2027-01-31"),
           "prisoner: clearance and release dates");
    b = in; b.released_on = "yes";
    TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) != 0 && s_starts(v.message, "released_on"),
           "prisoner: a bad release date");
    b = in; b.public_contact_cleared_on = "2026-02-30";
    TAP_OK(hrs_rules_parse_prisoner(&b, &p, &v) != 0 && s_starts(v.message, "public_contact_cleared_on"),
           "prisoner: a bad clearance date");
}

static void test_ref_contract(void)
{
    hrs_contract_text_t in = {"C-0042", "dhl", "MDI", "Laundry", "WORKSHOP", "2026-01-01", "",
                              "no", "J Smith", "2025-12-15", "COP-17"};
    hrs_contract_t k;
    hrs_verdict_t v;
    TAP_OK(hrs_rules_parse_contract(&in, &k, &v) == 0 && k.attested && k.end == HRS_NO_DATE &&
               k.work_type == PAY__WORK_TYPE__WORKSHOP && !k.public_contact,
           "contract: well formed and attested");
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_CLOSED, true, &s_industries, &v), PAY__STATUS__OK,
               "contract: WORKSHOP at a CLOSED prison");
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_NONE, true, &s_industries, &v), PAY__STATUS__UNKNOWN_PRISON,
               "contract: at an unknown prison is UNKNOWN_PRISON");
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_CLOSED, false, &s_industries, &v),
               PAY__STATUS__UNKNOWN_EMPLOYER,
               "contract: for an employer the invoice feed never published is UNKNOWN_EMPLOYER");
    TAP_OK(strstr(v.message, "employer") != NULL, "naming the employer: %s", v.message);
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_NONE, false, &s_industries, &v),
               PAY__STATUS__UNKNOWN_PRISON, "contract: the unknown prison is named first");
    hrs_contract_text_t b = in; b.work_type = "OUTSIDE";
    hrs_rules_parse_contract(&b, &k, &v);
    TAP_OK(hrs_rules_check_contract(&k, HRS_REGIME_CLOSED, true, &s_industries, &v) == PAY__STATUS__REGIME_MISMATCH,
           "contract: OUTSIDE at a CLOSED prison is REGIME_MISMATCH (%s)", v.message);
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_OPEN, true, &s_industries, &v), PAY__STATUS__OK,
               "contract: OUTSIDE at an OPEN prison");
    hrs_caller_t gov = {ROLE_GOVERNOR, "MDI"};
    TAP_EQ_INT(hrs_rules_check_contract(&k, HRS_REGIME_OPEN, true, &gov, &v), PAY__STATUS__PERMISSION_DENIED,
               "contract: a governor may not register contracts");

    b = in; b.attested_by = ""; b.attested_on = ""; b.attestation_ref = "";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) == 0 && !k.attested, "contract: without an attestation");
    b = in; b.attestation_ref = "";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "attestation_ref"),
           "contract: half an attestation is INVALID_ARGUMENT");
    b = in; b.attested_on = "15/12/2025";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "attested_on"),
           "contract: a bad attestation date");
    b = in; b.end = "2026-01-01";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) == 0 && k.end == k.start, "contract: a one-day contract");
    b = in; b.end = "2025-12-31";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "end"), "contract: end before start");
    b = in; b.start = "";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "start"), "contract: no start");
    b = in; b.work_type = "workshop";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "work_type"), "contract: work_type 'workshop'");
    b = in; b.public_contact = "yes";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) == 0 && k.public_contact, "contract: public contact yes");
    b = in; b.public_contact = "Y";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "public_contact"), "contract: public contact 'Y'");
    b = in; b.activity = "";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "activity"), "contract: no activity");
    const char *employers[] = {"DHL", "d", "-dhl", "dhl_uk", "abcdefghijklmnopqrstuvwxyz0123456", ""};
    for (size_t i = 0; i < sizeof employers / sizeof *employers; i++) {
        b = in; b.employer = employers[i];
        TAP_OK(hrs_rules_parse_contract(&b, &k, &v) != 0 && s_starts(v.message, "employer"),
               "contract: employer '%s' is INVALID_ARGUMENT", employers[i]);
    }
    b = in; b.employer = "abcdefghijklmnopqrstuvwxyz012345";   /* 32 */
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) == 0, "contract: a 32-character employer id");
    b = in; b.employer = "3m";
    TAP_OK(hrs_rules_parse_contract(&b, &k, &v) == 0, "contract: employer '3m'");
}

static void test_ref_allocation_transfer_level(void)
{
    hrs_allocation_text_t in = {"A1234BC", "C-0042", "2026-11-01", "", "3"};
    hrs_allocation_row_t a;
    hrs_verdict_t v;
    TAP_OK(hrs_rules_parse_allocation(&in, &a, &v) == 0 && a.pay_band == 3 && a.to == HRS_NO_DATE,
           "allocation: well formed, open-ended");
    TAP_EQ_INT(hrs_rules_check_allocation(&a, true, true, "MDI", &s_industries, &v), PAY__STATUS__OK, "allocation: stored");
    TAP_EQ_INT(hrs_rules_check_allocation(&a, false, true, "MDI", &s_industries, &v), PAY__STATUS__UNKNOWN_PRISONER,
               "allocation: unknown prisoner");
    TAP_EQ_INT(hrs_rules_check_allocation(&a, true, false, "", &s_industries, &v), PAY__STATUS__UNKNOWN_CONTRACT,
               "allocation: unknown contract");
    hrs_caller_t ins = {ROLE_INSTRUCTOR, "MDI"};
    TAP_EQ_INT(hrs_rules_check_allocation(&a, true, true, "MDI", &ins, &v), PAY__STATUS__PERMISSION_DENIED,
               "allocation: an instructor may not allocate");
    const char *bands_ok[] = {"1", "10"};
    for (int i = 0; i < 2; i++) {
        hrs_allocation_text_t b = in; b.pay_band = bands_ok[i];
        TAP_OK(hrs_rules_parse_allocation(&b, &a, &v) == 0, "allocation: pay band %s", bands_ok[i]);
    }
    const char *bands_bad[] = {"0", "11", "", "-1", "3.0", " 3"};
    for (size_t i = 0; i < sizeof bands_bad / sizeof *bands_bad; i++) {
        hrs_allocation_text_t b = in; b.pay_band = bands_bad[i];
        TAP_OK(hrs_rules_parse_allocation(&b, &a, &v) != 0 && s_starts(v.message, "pay_band"),
               "allocation: pay band '%s' is INVALID_ARGUMENT", bands_bad[i]);
    }
    hrs_allocation_text_t b = in; b.to = "2026-11-01";
    TAP_OK(hrs_rules_parse_allocation(&b, &a, &v) == 0 && a.to == a.from, "allocation: a one-day allocation");
    b = in; b.to = "2026-10-31";
    TAP_OK(hrs_rules_parse_allocation(&b, &a, &v) != 0 && s_starts(v.message, "to"), "allocation: to before from");

    hrs_transfer_text_t tin = {"A1234BC", "LEI", "2026-11-20"};
    hrs_transfer_row_t t;
    TAP_OK(hrs_rules_parse_transfer(&tin, &t, &v) == 0 && t.from == D("2026-11-20"), "transfer: well formed");
    TAP_EQ_INT(hrs_rules_check_transfer(&t, true, true, &s_industries, &v), PAY__STATUS__OK, "transfer: stored");
    TAP_EQ_INT(hrs_rules_check_transfer(&t, false, true, &s_industries, &v), PAY__STATUS__UNKNOWN_PRISONER,
               "transfer: unknown prisoner");
    TAP_EQ_INT(hrs_rules_check_transfer(&t, true, false, &s_industries, &v), PAY__STATUS__UNKNOWN_PRISON,
               "transfer: unknown prison");
    hrs_transfer_text_t tb = tin; tb.prison = "lei";
    TAP_OK(hrs_rules_parse_transfer(&tb, &t, &v) != 0 && s_starts(v.message, "prison"), "transfer: prison 'lei'");

    hrs_level_text_t lin = {"A1234BC", "ENH", "2026-11-20"};
    hrs_level_row_t l;
    TAP_OK(hrs_rules_parse_level(&lin, &l, &v) == 0 && l.level == PAY__INCENTIVE_LEVEL__ENH, "level: well formed");
    TAP_EQ_INT(hrs_rules_check_level(&l, true, "MDI", &s_industries, &v), PAY__STATUS__OK, "level: stored");
    TAP_EQ_INT(hrs_rules_check_level(&l, false, "", &s_industries, &v), PAY__STATUS__UNKNOWN_PRISONER,
               "level: unknown prisoner");
    hrs_caller_t emp = {ROLE_EMPLOYER, "dhl"};
    TAP_EQ_INT(hrs_rules_check_level(&l, true, "MDI", &emp, &v), PAY__STATUS__PERMISSION_DENIED,
               "level: an employer is PERMISSION_DENIED");
    hrs_level_text_t lb = lin; lb.incentive_level = "Enh";
    TAP_OK(hrs_rules_parse_level(&lb, &l, &v) != 0 && s_starts(v.message, "incentive_level"), "level: 'Enh'");
    lb = lin; lb.effective_from = "";
    TAP_OK(hrs_rules_parse_level(&lb, &l, &v) != 0 && s_starts(v.message, "effective_from"), "level: no date");
}

int main(void)
{
    test_baseline();
    test_check1_identifiers();
    test_check1_values();
    test_check2_idempotency();
    test_check3_4();
    test_check5_roles();
    test_check6_custody();
    test_check7_allocation();
    test_check8_clearance();
    test_check9_11();
    test_check12_13();
    test_order();
    test_amend_void_close();
    test_policy();
    test_ref_prison();
    test_ref_prisoner();
    test_ref_contract();
    test_ref_allocation_transfer_level();
    return tap_done();
}
