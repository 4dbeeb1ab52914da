/* inv_process_test: the real pay-invoicing process over real CURVE sockets
 * and a real LMDB store, fed by a stand-in hours feed producer that runs in
 * this test process (feed.h, its own store and outbox).
 *
 *   1. 200 weekly invoices issued one request at a time while the service
 *      is SIGKILLed every 20 issues, each kill racing a request in flight
 *      and restarted: the numbers are INV-000001..INV-000200, gapless, each
 *      week invoiced exactly once (the client's resend after the restart
 *      gets the stored first answer or a first run, never a second doc).
 *   2. A late record and a void after issue show up on the next document,
 *      each naming the invoice that billed the original period.
 *   3. Employer B cannot list, fetch or learn of employer A's documents;
 *      instructors and governors are refused.
 *   4. SIGTERM stops the service cleanly (exit 0).
 *
 * usage: inv_process_test PATH/TO/pay-invoicing */
#define _GNU_SOURCE   /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "civil.h"
#include "client.h"
#include "feed.h"
#include "hours_feed.pb-c.h"
#include "invoicing.pb-c.h"
#include "log.h"
#include "store.h"
#include "tap.h"

#define WEEKS 200
#define KILL_EVERY 20

static char s_dir[] = "/tmp/inv_process_test.XXXXXX";
static const char *s_exe;
static char s_api_ep[64], s_feed_ep[64], s_hours_ep[64];
static pid_t s_pid;
static void *s_ctx;
static store_t *s_hours_store;
static feed_producer_t *s_producer;
static volatile int s_stop;
static auth_keypair_t s_inv_keys, s_finance, s_industries, s_dhl, s_tesco, s_instructor,
    s_governor;

/* ---- the stand-in hours producer ------------------------------------------ */

static void *s_producer_loop(void *arg)
{
    (void)arg;
    while (!s_stop) {
        zmq_pollitem_t it = { feed_producer_socket(s_producer), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 20) > 0)
            feed_producer_on_readable(s_producer);
        feed_producer_tick(s_producer);
    }
    return NULL;
}

typedef struct {
    uint8_t *buf;
    size_t len;
} s_ev_t;

static int s_append_fn(MDB_txn *txn, void *arg)
{
    s_ev_t *e = arg;
    return feed_outbox_append(txn, store_dbi(s_hours_store, "outbox"), e->buf, e->len, NULL);
}

static uint64_t s_events;

/* kind 0 recorded, 2 voided */
static void s_hours(int kind, const char *id, const char *employer, const char *contract,
                    const char *date, uint32_t minutes)
{
    Pay__RecordState st = PAY__RECORD_STATE__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    Pay__HoursRecorded rec = PAY__HOURS_RECORDED__INIT;
    Pay__HoursVoided vo = PAY__HOURS_VOIDED__INIT;
    st.record_id = (char *)id;
    st.prisoner = "A1234BC";
    st.employer = (char *)employer;
    st.contract = (char *)contract;
    st.prison = "MDI";
    st.date = (char *)date;
    st.activity = "Laundry";
    st.has_minutes = st.has_outcome = 1;
    st.minutes = minutes;
    st.outcome = PAY__OUTCOME__ATTENDED;
    if (kind == 0) {
        rec.record = &st;
        ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
        ev.recorded = &rec;
    } else {
        vo.old = &st;
        ev.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
        ev.voided = &vo;
    }
    s_ev_t e;
    e.len = pay__hours_event__get_packed_size(&ev);
    e.buf = malloc(e.len);
    pay__hours_event__pack(&ev, e.buf);
    if (store_write(s_hours_store, s_append_fn, &e) != 0)
        TAP_OK(0, "hours event appended");
    s_events++;
    free(e.buf);
}

/* The hours service publishes each contract before any record names it. */
static void s_contract(const char *id, const char *employer)
{
    Pay__ContractFacts f = PAY__CONTRACT_FACTS__INIT;
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    f.id = (char *)id;
    f.employer = (char *)employer;
    f.prison = "MDI";
    f.has_work_type = 1;
    f.work_type = PAY__WORK_TYPE__WORKSHOP;
    f.activity = "Laundry";
    f.start = "2020-01-01";
    ev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
    ev.contract = &f;
    s_ev_t e;
    e.len = pay__hours_event__get_packed_size(&ev);
    e.buf = malloc(e.len);
    pay__hours_event__pack(&ev, e.buf);
    if (store_write(s_hours_store, s_append_fn, &e) != 0)
        TAP_OK(0, "contract facts appended");
    s_events++;
    free(e.buf);
}

/* ---- the service process ----------------------------------------------------- */

static void s_start(void)
{
    char data[512], keys[512];
    snprintf(data, sizeof data, "%s/inv-data", s_dir);
    snprintf(keys, sizeof keys, "%s/keys", s_dir);
    s_pid = fork();
    if (s_pid == 0) {
        char logp[600];
        snprintf(logp, sizeof logp, "%s/service.log", s_dir);
        if (!freopen(logp, "a", stderr))
            _exit(126);
        setenv("PAY_TODAY", "2027-06-01", 1);
        execl(s_exe, s_exe, "--data-dir", data, "--endpoint", s_api_ep, "--feed-endpoint",
              s_feed_ep, "--hours-feed", s_hours_ep, "--keys-dir", keys, "--auto-issue", "no",
              "--supplier-name", "Prison Industries Trading Unit",
              "--supplier-address", "102 Petty France, London", "--supplier-postcode", "SW1H 9AJ",
              "--supplier-vat", "GB123456782", "--supplier-email", "billing@industries.example",
              "--supplier-bank-account-name", "Prison Industries Trading Unit",
              "--supplier-sort-code", "20-00-00", "--supplier-account-number", "31926819",
              (char *)NULL);
        _exit(127);
    }
}

static int s_kill(int sig)
{
    int st = 0;
    kill(s_pid, sig);
    waitpid(s_pid, &st, 0);
    return st;
}

static client_t *s_client(const auth_keypair_t *kp)
{
    return client_new(s_ctx, s_api_ep, kp, s_inv_keys.public_z85, 3000, 10);
}

static Pay__InvoicingReply *s_call(client_t *c, Pay__InvoicingRequest *req)
{
    ProtobufCMessage *rep = NULL;
    if (client_call(c, &req->base, &pay__invoicing_reply__descriptor, &rep) != 0)
        return NULL;
    return (Pay__InvoicingReply *)rep;
}

static void s_free(Pay__InvoicingReply **r)
{
    codec_free((ProtobufCMessage **)r);
}

static Pay__InvoicingReply *s_health(client_t *c)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__Health h = PAY__HEALTH__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_HEALTH;
    req.health = &h;
    return s_call(c, &req);
}

/* Waits until the service has applied every hours event so far. */
static int s_wait_applied(client_t *c)
{
    for (int i = 0; i < 600; i++) {
        Pay__InvoicingReply *r = s_health(c);
        uint64_t cur = r && r->health ? r->health->feed_cursor : 0;
        s_free(&r);
        if (cur >= s_events)
            return 0;
        usleep(50000);
    }
    return -1;
}

static void s_issue_req(Pay__InvoicingRequest *req, Pay__Issue *is, char *rid,
                        const char *employer, const char *period)
{
    pay__invoicing_request__init(req);
    pay__issue__init(is);
    is->employer = (char *)employer;
    is->period = (char *)period;
    is->issue_date = "2027-06-01";
    req->request_id = rid;
    req->body_case = PAY__INVOICING_REQUEST__BODY_ISSUE;
    req->issue = is;
}

static Pay__InvoicingReply *s_get(client_t *c, const char *number, Pay__DocumentFormat fmt)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__GetDocument g = PAY__GET_DOCUMENT__INIT;
    g.number = (char *)number;
    g.has_format = 1;
    g.format = fmt;
    req.body_case = PAY__INVOICING_REQUEST__BODY_GET;
    req.get = &g;
    return s_call(c, &req);
}

static Pay__InvoicingReply *s_list(client_t *c, const char *employer)
{
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    Pay__ListDocuments l = PAY__LIST_DOCUMENTS__INIT;
    l.employer = (char *)employer;
    req.body_case = PAY__INVOICING_REQUEST__BODY_LIST;
    req.list = &l;
    return s_call(c, &req);
}

static int s_keys(const char *base, auth_keypair_t *kp)
{
    char path[600];
    snprintf(path, sizeof path, "%s/keys/%s", s_dir, base);
    return auth_keypair_new(kp) == 0 && auth_keypair_save(kp, path) == 0 ? 0 : -1;
}

/* 1 if nothing listens on 127.0.0.1:port now (the machine is shared: a
 * port taken by another test's socket must not fail this one). */
static int s_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !mkdtemp(s_dir)) {
        printf("Bail out! usage: inv_process_test PATH/TO/pay-invoicing\n");
        return 1;
    }
    s_exe = argv[1];
    log_set_level(LOG_WARN);
    srand((unsigned)getpid());
    int base = 20000 + (int)(getpid() % 12000);
    for (int i = 0; i < 200 && !(s_port_free(base) && s_port_free(base + 1)
                                 && s_port_free(base + 2)); i++)
        base = 20000 + rand() % 12000;   /* below the ephemeral range */
    snprintf(s_api_ep, sizeof s_api_ep, "tcp://127.0.0.1:%d", base);
    snprintf(s_feed_ep, sizeof s_feed_ep, "tcp://127.0.0.1:%d", base + 1);
    snprintf(s_hours_ep, sizeof s_hours_ep, "tcp://127.0.0.1:%d", base + 2);

    /* Keys and allow-lists. */
    char path[600], allow[600], hours_allow[600];
    snprintf(path, sizeof path, "%s/keys", s_dir);
    mkdir(path, 0700);
    snprintf(allow, sizeof allow, "%s/keys/allow.txt", s_dir);
    snprintf(hours_allow, sizeof hours_allow, "%s/hours-allow", s_dir);
    auth_keypair_t hours;
    int ok = s_keys("invoicing", &s_inv_keys) == 0 && s_keys("hours", &hours) == 0
             && s_keys("finance", &s_finance) == 0 && s_keys("industries", &s_industries) == 0
             && s_keys("dhl", &s_dhl) == 0 && s_keys("tesco", &s_tesco) == 0
             && s_keys("instructor", &s_instructor) == 0 && s_keys("governor", &s_governor) == 0;
    ok = ok && auth_allow_file_append(allow, s_finance.public_z85, ROLE_FINANCE, "-", "finance") == 0
         && auth_allow_file_append(allow, s_industries.public_z85, ROLE_INDUSTRIES, "-", "industries") == 0
         && auth_allow_file_append(allow, s_dhl.public_z85, ROLE_EMPLOYER, "dhl", "dhl-ap") == 0
         && auth_allow_file_append(allow, s_tesco.public_z85, ROLE_EMPLOYER, "tesco", "tesco-ap") == 0
         && auth_allow_file_append(allow, s_instructor.public_z85, ROLE_INSTRUCTOR, "MDI", "instr") == 0
         && auth_allow_file_append(allow, s_governor.public_z85, ROLE_GOVERNOR, "MDI", "gov") == 0
         && auth_allow_file_append(hours_allow, s_inv_keys.public_z85, ROLE_SERVICE, "-", "invoicing") == 0;
    TAP_OK(ok, "keys and allow-lists written");

    /* The stand-in hours producer. */
    s_ctx = zmq_ctx_new();
    auth_t *auth = auth_new(s_ctx, hours_allow);
    const char *dbs[] = { "outbox", FEED_META_DB, NULL };
    snprintf(path, sizeof path, "%s/hours-data", s_dir);
    s_hours_store = store_open(path, dbs, 0);
    s_producer = auth && s_hours_store
                     ? feed_producer_new(s_ctx, s_hours_store, auth, "outbox", s_hours_ep, &hours, NULL) : NULL;
    TAP_OK(s_producer != NULL, "stand-in hours feed producer on %s", s_hours_ep);
    if (!s_producer)
        return tap_done();
    pthread_t th;
    pthread_create(&th, NULL, s_producer_loop, NULL);

    s_start();
    client_t *fin = s_client(&s_finance), *ind = s_client(&s_industries),
             *dhl = s_client(&s_dhl), *tesco = s_client(&s_tesco),
             *instr = s_client(&s_instructor), *gov = s_client(&s_governor);
    Pay__InvoicingReply *r = s_health(fin);
    TAP_OK(r && r->status == PAY__STATUS__OK, "service answers health over CURVE");
    s_free(&r);

    /* Reference data. */
    Pay__EmployerRow e1 = PAY__EMPLOYER_ROW__INIT, e2;
    e1.id = "dhl"; e1.name = "DHL Supply Chain Ltd"; e1.address = "Ocean House, Bracknell";
    e1.postcode = "RG12 1AW"; e1.vat_number = "GB987654321"; e1.email = "ap@dhl.example";
    e1.billing_period = "WEEKLY";
    e2 = e1;
    e2.id = "tesco"; e2.name = "Tesco Stores Ltd"; e2.vat_number = "GB111222333";
    Pay__EmployerRow *erows[] = { &e1, &e2 };
    Pay__UpsertEmployers ue = PAY__UPSERT_EMPLOYERS__INIT;
    ue.n_rows = 2;
    ue.rows = erows;
    Pay__InvoicingRequest req = PAY__INVOICING_REQUEST__INIT;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_EMPLOYERS;
    req.upsert_employers = &ue;
    r = s_call(ind, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->n_items == 2, "industries registers employers");
    s_free(&r);
    /* The contracts come on the hours feed before the terms naming them. */
    s_contract("C-0042", "dhl");
    s_contract("C-0043", "dhl");
    s_contract("C-0070", "tesco");
    int learnt = 0;
    for (int i = 0; i < 300 && !learnt; i++) {
        r = s_health(fin);
        learnt = r && r->health && r->health->feed_cursor >= s_events;
        s_free(&r);
        if (!learnt)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    TAP_OK(learnt, "invoicing learns the contracts from the hours feed");
    Pay__BillingTermsRow t1 = PAY__BILLING_TERMS_ROW__INIT, t2, t3;
    t1.contract = "C-0042"; t1.effective_from = "2020-01-01"; t1.basis = "HOURLY";
    t1.charge = "1.01"; t1.vat_rate_bp = "2000";
    t2 = t1;
    t2.contract = "C-0043"; t2.charge = "12.00";
    t3 = t1;
    t3.contract = "C-0070"; t3.charge = "9.00";
    Pay__BillingTermsRow *trows[] = { &t1, &t2, &t3 };
    Pay__UpsertBillingTerms ut = PAY__UPSERT_BILLING_TERMS__INIT;
    ut.n_rows = 3;
    ut.rows = trows;
    req.body_case = PAY__INVOICING_REQUEST__BODY_UPSERT_TERMS;
    req.upsert_terms = &ut;
    r = s_call(ind, &req);
    TAP_OK(r && r->status == PAY__STATUS__OK, "industries sets billing terms");
    s_free(&r);

    /* 1. 200 weeks of work, one invoice per week, with SIGKILLs. */
    int32_t monday = civil_from_ymd(2023, 1, 2);
    char weeks[WEEKS][CIVIL_WEEK_LEN];
    for (int i = 0; i < WEEKS; i++) {
        char id[32], date[CIVIL_DATE_LEN];
        civil_format_date(monday + 7 * i, date);
        civil_format_week(civil_iso_week(monday + 7 * i), weeks[i]);
        snprintf(id, sizeof id, "w%d", i);
        s_hours(0, id, "dhl", "C-0042", date, 20 + (uint32_t)(i % 7) * 10);
    }
    s_hours(0, "t1", "tesco", "C-0070", "2024-03-05", 120);
    TAP_EQ_INT(s_wait_applied(fin), 0, "service applied all %llu hours events", (unsigned long long)s_events);

    int kills = 0, answered = 0;
    for (int i = 0; i < WEEKS; i++) {
        char rid[32];
        Pay__Issue is;
        snprintf(rid, sizeof rid, "issue-%d", i);
        s_issue_req(&req, &is, rid, "dhl", weeks[i]);
        if (i % KILL_EVERY == KILL_EVERY - 1) {
            /* Send, then kill at a random moment: before, during or after
             * the commit. The resend after the restart must not make a
             * second document or skip a number. */
            client_send(fin, &req.base, NULL);
            usleep((useconds_t)(rand() % 3000));
            s_kill(SIGKILL);
            kills++;
            s_start();
            client_destroy(&fin);
            fin = s_client(&s_finance);
        }
        r = s_call(fin, &req);
        if (r && r->status == PAY__STATUS__OK && r->issued && r->issued->n_documents == 1)
            answered++;
        else
            TAP_NOTE("issue %d: %s", i, r && r->message ? r->message : "no reply");
        s_free(&r);
    }
    TAP_EQ_INT(kills, WEEKS / KILL_EVERY, "service SIGKILLed %d times", kills);
    TAP_EQ_INT(answered, WEEKS, "every issue request answered with one document");
    Pay__Issue isa;
    s_issue_req(&req, &isa, "issue-tesco", "tesco", "");
    r = s_call(fin, &req);
    TAP_OK(r && r->issued && r->issued->n_documents == 1, "tesco's invoice issued");
    char tesco_num[32] = "";
    if (r && r->issued && r->issued->n_documents == 1)
        snprintf(tesco_num, sizeof tesco_num, "%s", r->issued->documents[0]->number);
    s_free(&r);

    r = s_list(fin, "dhl");
    int gapless = r && r->documents && r->documents->n_documents == WEEKS;
    int seen[WEEKS] = { 0 };
    for (size_t i = 0; gapless && i < r->documents->n_documents; i++) {
        char want[32];
        const Pay__DocumentSummary *s = r->documents->documents[i]->summary;
        snprintf(want, sizeof want, "INV-%06zu", i + 1);
        if (strcmp(s->number, want) != 0)
            gapless = 0;
        for (int w = 0; w < WEEKS; w++)
            if (strcmp(s->period, weeks[w]) == 0)
                seen[w]++;
    }
    TAP_OK(gapless, "dhl holds INV-000001..INV-%06d in order, no gap", WEEKS);
    int once = 1;
    for (int w = 0; w < WEEKS; w++)
        once = once && seen[w] == 1;
    TAP_OK(once, "each of the %d weeks invoiced exactly once", WEEKS);
    TAP_EQ_STR(tesco_num, "INV-000201", "the next number after the kills is INV-000201");
    s_free(&r);

    /* 2. A late record for week 0 (a new contract line) and a void of
     *    week 1's record, after both were invoiced. */
    char d0[CIVIL_DATE_LEN], d1[CIVIL_DATE_LEN];
    civil_format_date(monday + 1, d0);
    civil_format_date(monday + 7, d1);
    s_hours(0, "late-1", "dhl", "C-0043", d0, 90);
    s_hours(2, "w1", "dhl", "C-0042", d1, 20 + 10);
    TAP_EQ_INT(s_wait_applied(fin), 0, "late record and void applied");
    Pay__Issue isl;
    s_issue_req(&req, &isl, "issue-late", "dhl", "");
    r = s_call(fin, &req);
    char next[32] = "";
    if (r && r->issued && r->issued->n_documents == 1)
        snprintf(next, sizeof next, "%s", r->issued->documents[0]->number);
    TAP_EQ_STR(next, "INV-000202", "the next document carries the late line and the void");
    s_free(&r);
    r = s_get(fin, next, PAY__DOCUMENT_FORMAT__CSV);
    const char *csv = r && r->document && r->document->has_content
                          ? (const char *)r->document->content.data : "";
    char want_late[96], want_void[96];
    snprintf(want_late, sizeof want_late, "%s - late records after INV-000001", weeks[0]);
    snprintf(want_void, sizeof want_void, "%s - adjustment to INV-000002", weeks[1]);
    TAP_OK(strstr(csv, want_late) != NULL, "late record line names INV-000001 (%s)", want_late);
    TAP_OK(strstr(csv, want_void) != NULL, "void line names INV-000002 (%s)", want_void);
    TAP_OK(strstr(csv, ",1800,") || strstr(csv, ",18.00,"), "late line net 90 min at £12 = 18.00");
    TAP_OK(strstr(csv, ",-0.51,") != NULL, "void line takes back week 1's 30 min at 101p: -0.51");
    s_free(&r);
    r = s_get(fin, next, PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r && r->document && r->document->has_content
           && memmem(r->document->content.data, r->document->content.len,
                     "<cbc:ID>INV-000001</cbc:ID>", 27)
           && memmem(r->document->content.data, r->document->content.len,
                     "<cbc:ID>INV-000002</cbc:ID>", 27),
           "UBL BillingReference names both original invoices");
    s_free(&r);

    /* 3. Employer isolation and roles. */
    r = s_list(tesco, "dhl");
    int own = r && r->status == PAY__STATUS__OK && r->documents;
    for (size_t i = 0; own && i < r->documents->n_documents; i++)
        own = strcmp(r->documents->documents[i]->summary->employer, "tesco") == 0;
    TAP_OK(own && r->documents->n_documents == 1, "tesco's list holds only its own document");
    s_free(&r);
    r = s_get(tesco, "INV-000001", PAY__DOCUMENT_FORMAT__PDF);
    Pay__Status st_other = r ? r->status : PAY__STATUS__INTERNAL;
    int leaks = r && r->document != NULL;
    s_free(&r);
    r = s_get(tesco, "INV-999999", PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(st_other == PAY__STATUS__NOT_FOUND && !leaks && r && r->status == st_other,
           "tesco fetching dhl's INV-000001 gets NOT_FOUND, as for a number that does not exist");
    s_free(&r);
    r = s_get(tesco, tesco_num, PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(r && r->status == PAY__STATUS__OK && r->document && r->document->content.len > 1000
           && memcmp(r->document->content.data, "%PDF", 4) == 0, "tesco downloads its own PDF");
    s_free(&r);
    r = s_get(dhl, tesco_num, PAY__DOCUMENT_FORMAT__UBL);
    TAP_OK(r && r->status == PAY__STATUS__NOT_FOUND, "and dhl cannot fetch tesco's");
    s_free(&r);
    r = s_list(instr, "");
    TAP_OK(r && r->status == PAY__STATUS__PERMISSION_DENIED, "instructor: PERMISSION_DENIED");
    s_free(&r);
    r = s_get(gov, "INV-000001", PAY__DOCUMENT_FORMAT__PDF);
    TAP_OK(r && r->status == PAY__STATUS__PERMISSION_DENIED, "governor: PERMISSION_DENIED");
    s_free(&r);

    /* 4. Clean stop. */
    int st = s_kill(SIGTERM);
    TAP_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM: clean exit 0");

    client_destroy(&fin);
    client_destroy(&ind);
    client_destroy(&dhl);
    client_destroy(&tesco);
    client_destroy(&instr);
    client_destroy(&gov);
    s_stop = 1;
    pthread_join(th, NULL);
    feed_producer_destroy(&s_producer);
    auth_destroy(&auth);
    zmq_ctx_term(s_ctx);
    store_destroy(&s_hours_store);
    char cmd[700];
    if (tap_failed_ == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
        if (system(cmd) != 0)
            TAP_NOTE("could not remove %s", s_dir);
    } else {
        TAP_NOTE("kept %s for inspection", s_dir);
    }
    return tap_done();
}
