/* mail_rules_test: the delivery rules as pure functions: document numbers,
 * domains and addresses, Message-IDs, the back-off schedule, the state
 * machine (claim, every outcome, resend), the SMTP outcome classes and the
 * relay policy (plain SMTP on loopback only). */
#include <stdio.h>
#include <string.h>

#include "mail_rules.h"
#include "tap.h"

static mail_policy_t s_policy(uint64_t base, uint64_t max, uint32_t tries)
{
    mail_policy_t p;
    memset(&p, 0, sizeof p);
    p.base_ms = base;
    p.max_ms = max;
    p.max_tries = tries;
    snprintf(p.domain, sizeof p.domain, "%s", "payroll.example.org");
    return p;
}

static void test_numbers(void)
{
    TAP_OK(mail_number_valid("INV-000001"), "INV-000001 is a number");
    TAP_OK(mail_number_valid("CRN-000123"), "CRN-000123 is a number");
    TAP_OK(mail_number_valid("INV-1234567"), "seven digits without padding");
    TAP_OK(!mail_number_valid("INV-0123456"), "no padding beyond six digits");
    TAP_OK(!mail_number_valid("INV-000000"), "zero is not a number");
    TAP_OK(!mail_number_valid("INV-00001"), "five digits are too few");
    TAP_OK(!mail_number_valid("INV-1234567890"), "ten digits are too many");
    TAP_OK(!mail_number_valid("inv-000001"), "the prefix is upper case");
    TAP_OK(!mail_number_valid("PAY-000001"), "only INV and CRN");
    TAP_OK(!mail_number_valid("INV-00000a"), "digits only");
    TAP_OK(!mail_number_valid(""), "empty");
    TAP_OK(!mail_number_valid(NULL), "NULL");
}

static void test_addresses(void)
{
    TAP_OK(mail_domain_valid("payroll.example.org"), "a domain");
    TAP_OK(mail_domain_valid("localhost"), "a single label");
    TAP_OK(mail_domain_valid("a-b.c1"), "hyphens inside labels");
    TAP_OK(!mail_domain_valid("-a.org"), "no leading hyphen");
    TAP_OK(!mail_domain_valid("a-.org"), "no trailing hyphen in a label");
    TAP_OK(!mail_domain_valid("a..org"), "no empty label");
    TAP_OK(!mail_domain_valid(".org"), "no leading dot");
    TAP_OK(!mail_domain_valid("a.org."), "no trailing dot");
    TAP_OK(!mail_domain_valid("a_b.org"), "no underscore");
    TAP_OK(!mail_domain_valid(""), "empty domain");
    char label[80];
    memset(label, 'a', 64);
    label[64] = '\0';
    TAP_OK(!mail_domain_valid(label), "a label of 64 characters is too long");
    label[63] = '\0';
    TAP_OK(mail_domain_valid(label), "a label of 63 characters is fine");

    TAP_OK(mail_address_valid("ap@dhl.example"), "a plain address");
    TAP_OK(mail_address_valid("accounts.payable+inv@x.co.uk"), "dots and plus in the local part");
    TAP_OK(!mail_address_valid("ap@"), "no domain");
    TAP_OK(!mail_address_valid("@dhl.example"), "no local part");
    TAP_OK(!mail_address_valid("ap"), "no '@'");
    TAP_OK(!mail_address_valid("a@b@c.org"), "two '@'");
    TAP_OK(!mail_address_valid("a b@c.org"), "a space");
    TAP_OK(!mail_address_valid("ap@dhl.example\r\nRCPT TO:<x@y.z>"), "CRLF injection is refused");
    TAP_OK(!mail_address_valid("ap@dhl.example>"), "an angle bracket");
    TAP_OK(!mail_address_valid("\"a\"@c.org"), "quoted local parts");
    TAP_OK(!mail_address_valid("Name <a@c.org>"), "display names");
    TAP_OK(!mail_address_valid(".a@c.org"), "a leading dot");
    TAP_OK(!mail_address_valid("a.@c.org"), "a trailing dot");
    TAP_OK(!mail_address_valid("a..b@c.org"), "a double dot");
    TAP_OK(!mail_address_valid("a@[127.0.0.1]"), "address literals");
    TAP_OK(!mail_address_valid("\xc3\xa9@c.org"), "non-ASCII");
    TAP_OK(!mail_address_valid(""), "empty address");
    char local[80];
    memset(local, 'x', 65);
    snprintf(local + 65, sizeof local - 65, "@c.org");
    TAP_OK(!mail_address_valid(local), "a local part of 65 characters");
    TAP_EQ_STR(mail_address_domain("invoices@payroll.example.org"), "payroll.example.org",
               "the domain of an address");
    TAP_OK(mail_address_domain("bad") == NULL, "no domain of a bad address");
}

static void test_message_id(void)
{
    char id[MAIL_MSGID_LEN], again[MAIL_MSGID_LEN];
    TAP_EQ_INT(mail_message_id("INV-000001", 0, "payroll.example.org", id, sizeof id), 0,
               "a Message-ID is made");
    TAP_EQ_STR(id, "INV-000001@payroll.example.org", "number@domain");
    mail_message_id("INV-000001", 0, "payroll.example.org", again, sizeof again);
    TAP_EQ_STR(again, id, "the same document gives the same Message-ID");
    mail_message_id("INV-000002", 0, "payroll.example.org", again, sizeof again);
    TAP_OK(strcmp(again, id) != 0, "another document, another Message-ID");
    mail_message_id("INV-000001", 0, "other.example.org", again, sizeof again);
    TAP_OK(strcmp(again, id) != 0, "another deployment, another Message-ID");
    mail_message_id("INV-000001", 2, "payroll.example.org", again, sizeof again);
    TAP_EQ_STR(again, "INV-000001.r2@payroll.example.org", "a resend is number.rN@domain");
    mail_message_id("CRN-000004", 0, "payroll.example.org", again, sizeof again);
    TAP_EQ_STR(again, "CRN-000004@payroll.example.org", "credit notes too");
    TAP_EQ_INT(mail_message_id("INV-1", 0, "payroll.example.org", id, sizeof id), -1,
               "a bad number gives none");
    TAP_EQ_INT(mail_message_id("INV-000001", 0, "bad domain", id, sizeof id), -1,
               "a bad domain gives none");
    TAP_EQ_INT(mail_message_id("INV-000001", 0, "payroll.example.org", id, 10), -1,
               "a short buffer is refused");
    TAP_EQ_STR(id, "", "and left empty");
}

static void test_backoff(void)
{
    mail_policy_t p = s_policy(30000, 3600000, 20);
    TAP_EQ_INT(mail_backoff_ms(&p, 0), 0, "no wait before any failure");
    TAP_EQ_INT(mail_backoff_ms(&p, 1), 30000, "base after the first failure");
    TAP_EQ_INT(mail_backoff_ms(&p, 2), 60000, "doubled after the second");
    TAP_EQ_INT(mail_backoff_ms(&p, 3), 120000, "and again");
    TAP_EQ_INT(mail_backoff_ms(&p, 7), 1920000, "30 s * 2^6 after the seventh");
    TAP_EQ_INT(mail_backoff_ms(&p, 8), 3600000, "capped at the maximum");
    TAP_EQ_INT(mail_backoff_ms(&p, 1000000), 3600000, "capped for any n, without overflow");
    uint64_t prev = 0;
    int monotone = 1;
    for (uint32_t n = 1; n < 100; n++) {
        uint64_t d = mail_backoff_ms(&p, n);
        monotone &= d >= prev && d <= p.max_ms;
        prev = d;
    }
    TAP_OK(monotone, "the schedule never shrinks and never passes the cap");
    mail_policy_t huge = s_policy(UINT64_MAX / 3, UINT64_MAX, 5);
    TAP_OK(mail_backoff_ms(&huge, 70) == UINT64_MAX, "saturates instead of wrapping");
}

static void test_state_machine(void)
{
    mail_policy_t p = s_policy(1000, 8000, 3);
    mail_delivery_t d;
    TAP_EQ_INT(mail_delivery_new(&d, 7, "INV-000001", "dhl", "ap@dhl.example", "2026-W46", 0,
                                 100000),
               0, "a delivery for a new document");
    TAP_EQ_INT(d.state, MAIL_PENDING, "starts PENDING");
    TAP_OK(mail_delivery_due(&d, 100000), "due at once");
    TAP_EQ_INT(d.feed_seq, 7, "remembers its feed event");
    TAP_EQ_INT(mail_delivery_new(&d, 8, "bogus", "dhl", NULL, NULL, 0, 1), -1,
               "no delivery for a bad number");

    mail_delivery_new(&d, 7, "INV-000001", "dhl", "ap@dhl.example", "2026-W46", 0, 100000);
    TAP_EQ_INT(mail_delivery_claim(&d, &p, 100000), 0, "claimed");
    TAP_EQ_STR(d.message_id, "INV-000001@payroll.example.org", "the claim sets the Message-ID");
    TAP_EQ_INT(d.attempts, 1, "one attempt started");
    TAP_EQ_INT(d.next_try_at, 101000, "a crash now would retry after base");
    TAP_OK(!mail_delivery_due(&d, 100500), "not due again before that");
    TAP_OK(mail_delivery_due(&d, 101000), "due again after it");

    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_TRANSIENT, "connection refused", NULL, 100200),
               MAIL_PENDING, "a transient failure keeps it PENDING");
    TAP_EQ_INT(d.tries, 1, "one failed try");
    TAP_EQ_INT(d.next_try_at, 101200, "next try after base");
    TAP_EQ_STR(d.last_error, "connection refused", "the reason is kept");

    mail_delivery_claim(&d, &p, 101200);
    TAP_EQ_INT(d.next_try_at, 103200, "the second claim waits 2 * base");
    TAP_EQ_STR(d.message_id, "INV-000001@payroll.example.org", "a retry keeps the Message-ID");
    mail_delivery_result(&d, &p, MAIL_DEFERRED, "invoicing did not answer", NULL, 101300);
    TAP_EQ_INT(d.tries, 1, "a try not made is not counted");
    TAP_EQ_INT(d.state, MAIL_PENDING, "and leaves it PENDING");
    TAP_EQ_INT(d.next_try_at, 102300, "retried after base");

    mail_delivery_claim(&d, &p, 102300);
    mail_delivery_result(&d, &p, MAIL_TRANSIENT, "421 busy", NULL, 102400);
    TAP_EQ_INT(d.tries, 2, "two failed tries");
    TAP_EQ_INT(d.next_try_at, 104400, "next after 2 * base");
    mail_delivery_claim(&d, &p, 104400);
    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_TRANSIENT, "421 busy again", NULL, 104500),
               MAIL_FAILED, "FAILED after max_tries");
    TAP_EQ_INT(d.tries, 3, "three failed tries");
    TAP_EQ_STR(d.last_error, "421 busy again", "with the last reason");
    TAP_OK(!mail_delivery_due(&d, UINT64_MAX), "a FAILED delivery is never due");
    TAP_EQ_INT(mail_delivery_claim(&d, &p, 104600), -1, "and cannot be claimed");
    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_ACCEPTED, "250 late", NULL, 104700), MAIL_FAILED,
               "a stray result does not change a FAILED delivery");

    TAP_EQ_INT(mail_delivery_resend(&d, NULL, 200000), MAIL_RESEND_QUEUED,
               "a FAILED delivery can be resent");
    TAP_EQ_INT(d.state, MAIL_PENDING, "PENDING again");
    TAP_EQ_INT(d.tries, 0, "with a fresh round of tries");
    TAP_EQ_INT(d.resends, 0, "it was never sent: no new Message-ID");
    TAP_EQ_STR(d.last_error, "", "the old reason is cleared");
    TAP_OK(mail_delivery_due(&d, 200000), "due at once");

    mail_delivery_claim(&d, &p, 200000);
    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_ACCEPTED, "250 2.0.0 Ok: queued as X1",
                                    "ap@dhl.example", 200100),
               MAIL_SENT, "accepted: SENT");
    TAP_EQ_STR(d.server_answer, "250 2.0.0 Ok: queued as X1", "with the relay's answer");
    TAP_EQ_INT(d.sent_at, 200100, "and when");
    TAP_OK(!mail_delivery_due(&d, UINT64_MAX), "a SENT delivery is never due");
    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_TRANSIENT, "late failure", NULL, 200200),
               MAIL_SENT, "a stray result does not undo SENT");
    TAP_EQ_INT(d.attempts, 5, "five attempts in all");

    TAP_EQ_INT(mail_delivery_resend(&d, "bad address", 300000), MAIL_RESEND_BAD_ADDRESS,
               "a resend to a bad address is refused");
    TAP_EQ_INT(d.state, MAIL_SENT, "and changes nothing");
    TAP_EQ_INT(mail_delivery_resend(&d, "finance@dhl.example", 300000), MAIL_RESEND_QUEUED,
               "a SENT delivery is resent");
    TAP_EQ_STR(d.email, "finance@dhl.example", "to the new recipient");
    TAP_EQ_INT(d.resends, 1, "counted as a resend");
    TAP_EQ_STR(d.server_answer, "", "the old answer is cleared");
    mail_delivery_claim(&d, &p, 300000);
    TAP_EQ_STR(d.message_id, "INV-000001.r1@payroll.example.org",
               "a deliberate resend has its own Message-ID");
    TAP_EQ_INT(mail_delivery_resend(&d, NULL, 300500), MAIL_RESEND_HURRIED,
               "resending a PENDING delivery hurries it");
    TAP_EQ_INT(d.next_try_at, 300500, "due at once");
    TAP_EQ_INT(d.resends, 1, "without a new Message-ID");

    mail_delivery_claim(&d, &p, 300500);
    TAP_EQ_INT(mail_delivery_result(&d, &p, MAIL_PERMANENT, "550 5.1.1 no such user", NULL,
                                    300600),
               MAIL_FAILED, "a permanent refusal fails at once");
    TAP_EQ_INT(d.tries, 1, "after one try");
    TAP_EQ_STR(d.last_error, "550 5.1.1 no such user", "with the relay's words");

    mail_delivery_t e;
    mail_delivery_new(&e, 9, "CRN-000002", "tesco", "", NULL, 1, 5);
    mail_delivery_claim(&e, &p, 5);
    mail_delivery_result(&e, &p, MAIL_ACCEPTED, NULL, "ap@tesco.example", 6);
    TAP_EQ_STR(e.email, "ap@tesco.example", "the recipient learnt from the document is kept");
    TAP_EQ_INT(e.credit_note, 1, "a credit note");
    mail_policy_t bad = s_policy(1, 1, 1);
    bad.domain[0] = '\0';
    mail_delivery_new(&e, 10, "CRN-000003", "tesco", "", NULL, 1, 5);
    TAP_EQ_INT(mail_delivery_claim(&e, &bad, 5), -1, "no claim without a domain");
    TAP_EQ_INT(e.attempts, 0, "and nothing changed");
}

static void test_classify(void)
{
    TAP_EQ_INT(mail_classify(1, 0, 250), MAIL_ACCEPTED, "250: accepted");
    TAP_EQ_INT(mail_classify(1, 0, 0), MAIL_TRANSIENT, "no answer code: not proof of delivery");
    TAP_EQ_INT(mail_classify(0, 0, 0), MAIL_TRANSIENT, "no connection: try later");
    TAP_EQ_INT(mail_classify(0, 0, 421), MAIL_TRANSIENT, "421: try later");
    TAP_EQ_INT(mail_classify(0, 0, 452), MAIL_TRANSIENT, "452: try later");
    TAP_EQ_INT(mail_classify(0, 0, 550), MAIL_PERMANENT, "550: refused for good");
    TAP_EQ_INT(mail_classify(0, 0, 554), MAIL_PERMANENT, "554: refused for good");
    TAP_EQ_INT(mail_classify(0, 1, 535), MAIL_TRANSIENT,
               "a refused login is configuration: try later");
    TAP_EQ_INT(mail_classify(0, 1, 0), MAIL_TRANSIENT, "TLS trouble: try later");
}

static void test_relay(void)
{
    mail_relay_t r;
    char err[300];
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org", NULL, &r, err, sizeof err), 0,
               "smtp:// with the default TLS");
    TAP_EQ_INT(r.tls, MAIL_TLS_STARTTLS, "is STARTTLS");
    TAP_EQ_INT(r.port, 587, "on the submission port");
    TAP_EQ_STR(r.host, "mail.example.org", "host");
    TAP_EQ_INT(r.loopback, 0, "not loopback");
    TAP_EQ_INT(mail_relay_parse("smtps://mail.example.org:2465/", "", &r, err, sizeof err), 0,
               "smtps:// with a port");
    TAP_EQ_INT(r.tls, MAIL_TLS_IMPLICIT, "is implicit TLS");
    TAP_EQ_INT(r.port, 2465, "on that port");
    TAP_EQ_INT(mail_relay_parse("smtp://127.0.0.1:2525", "none", &r, err, sizeof err), 0,
               "plain SMTP on 127.0.0.1");
    TAP_EQ_INT(r.tls, MAIL_TLS_NONE, "is plain");
    TAP_EQ_INT(r.loopback, 1, "and loopback");
    TAP_EQ_INT(mail_relay_parse("smtp://127.1.2.3:25", "none", &r, err, sizeof err), 0,
               "127.0.0.0/8 is loopback");
    TAP_EQ_INT(mail_relay_parse("smtp://localhost:25", "none", &r, err, sizeof err), 0,
               "localhost is loopback");
    TAP_EQ_INT(mail_relay_parse("smtp://[::1]:25", "none", &r, err, sizeof err), 0,
               "[::1] is loopback");
    TAP_EQ_STR(r.host, "::1", "the v6 host without brackets");
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org:25", "none", &r, err, sizeof err), -1,
               "plain SMTP to another host is refused");
    TAP_OK(strstr(err, "loopback only") && strstr(err, "mail.example.org"),
           "with a message that says why and names the host: %s", err);
    TAP_EQ_INT(mail_relay_parse("smtp://128.0.0.1:25", "none", &r, err, sizeof err), -1,
               "128.0.0.1 is not loopback");
    TAP_EQ_INT(mail_relay_parse("smtp://127.0.0.1.evil.example:25", "none", &r, err, sizeof err),
               -1, "a name that starts like 127.0.0.1 is not loopback");
    TAP_EQ_INT(mail_relay_parse("smtps://127.0.0.1:465", "none", &r, err, sizeof err), -1,
               "smtps:// with none is a contradiction");
    TAP_EQ_INT(mail_relay_parse("smtps://mail.example.org", "starttls", &r, err, sizeof err), -1,
               "smtps:// with starttls is refused");
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org", "maybe", &r, err, sizeof err), -1,
               "an unknown TLS mode is refused");
    TAP_EQ_INT(mail_relay_parse("http://mail.example.org", NULL, &r, err, sizeof err), -1,
               "only smtp:// and smtps://");
    TAP_EQ_INT(mail_relay_parse("smtp://user:pw@mail.example.org", NULL, &r, err, sizeof err), -1,
               "no credentials in the URL");
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org:0", NULL, &r, err, sizeof err), -1,
               "port 0");
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org:70000", NULL, &r, err, sizeof err), -1,
               "port 70000");
    TAP_EQ_INT(mail_relay_parse("smtp://mail.example.org:25/x", NULL, &r, err, sizeof err), -1,
               "a path");
    TAP_EQ_INT(mail_relay_parse("smtp://", NULL, &r, err, sizeof err), -1, "no host");
    TAP_EQ_INT(mail_relay_parse(NULL, NULL, &r, err, sizeof err), -1, "no relay at all");
    TAP_OK(strstr(err, "--relay") != NULL, "says which flag to set: %s", err);
}

static void test_names(void)
{
    mail_state_t s;
    TAP_EQ_STR(mail_state_name(MAIL_PENDING), "PENDING", "PENDING");
    TAP_EQ_STR(mail_state_name(MAIL_SENT), "SENT", "SENT");
    TAP_EQ_STR(mail_state_name(MAIL_FAILED), "FAILED", "FAILED");
    TAP_OK(mail_state_parse("sent", &s) == 0 && s == MAIL_SENT, "parses any case");
    TAP_EQ_INT(mail_state_parse("LOST", &s), -1, "refuses other words");
}

int main(void)
{
    test_numbers();
    test_addresses();
    test_message_id();
    test_backoff();
    test_state_machine();
    test_classify();
    test_relay();
    test_names();
    return tap_done();
}
