/* wages_feed_producer: a stand-in for the hours service's feed, for the
 * wage service's process tests and benchmark.
 *
 * It reads HoursEvents from a plain text file (one per line, below), appends
 * them to the outbox of its own LMDB store (continuing from the durable
 * head after a restart, --rate events per write transaction) and serves
 * them as the hours feed with feed.h, exactly as pay-hours does.
 *
 *   wages_feed_producer --data DIR --endpoint EP --keys KEYDIR --events FILE
 *                       [--rate N] [--pause-ms MS]
 *
 * KEYDIR holds hours.key (the producer's key pair; invoicing.key with
 * --feed invoices) and allow.txt (the consumers' keys with role service).
 * Event lines, comma-separated ("-" is an empty field):
 *   R,id,prisoner,prison,contract,W|O,band,level,date,session,minutes,units,outcome,0|1
 *   A,<the same fields: the record's new state>
 *   V,<the same fields: the record's old state>
 *   C,prison,week[,records,minutes]
 *   P,code,name,regime                          PrisonFacts
 *   N,number,prison,released_on[,from:prison]*  PrisonerFacts (custody history)
 *   K,id,employer,prison,W|O,activity,start,end ContractFacts
 *   E,id,name                                   EmployerFacts (--feed invoices)
 *   X,hex                                       raw payload bytes, as they are
 * Lines starting with '#' are ignored. With --feed invoices every event is
 * an InvoiceEvent (E and X lines only), as the invoicing service's feed. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "auth.h"
#include "civil.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "hours_feed.pb-c.h"
#include "invoice_feed.pb-c.h"
#include "log.h"
#include "store.h"

#define S_OUTBOX "outbox"
#define S_MAX_FIELDS 64

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct {
    char **lines;
    size_t n;
} s_events_t;

static int s_read_events(const char *path, s_events_t *ev)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    size_t cap = 0;
    if (!f)
        return -1;
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strcspn(buf, "\r\n");
        buf[len] = '\0';
        if (len == 0 || buf[0] == '#')
            continue;
        if (ev->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **p = realloc(ev->lines, cap * sizeof *p);
            if (!p)
                goto fail;
            ev->lines = p;
        }
        if (!(ev->lines[ev->n] = strdup(buf)))
            goto fail;
        ev->n++;
    }
    fclose(f);
    return 0;
fail:
    fclose(f);
    return -1;
}

static int s_enum(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return 0;
}

static char *s_dash(char *f)
{
    return strcmp(f, "-") == 0 ? NULL : f;
}

static int s_unhex(const char *hex, uint8_t **out, size_t *len)
{
    size_t n = strlen(hex) / 2;
    *out = malloc(n ? n : 1);
    if (!*out)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            free(*out);
            return -1;
        }
        (*out)[i] = (uint8_t)v;
    }
    *len = n;
    return 0;
}

static int s_feed_invoices;   /* --feed invoices */

/* An invoice-feed line: E (employer facts) or X (raw). */
static int s_pack_invoice_line(char **f, int nf, uint8_t **out, size_t *len)
{
    Pay__InvoiceEvent ev = PAY__INVOICE_EVENT__INIT;
    Pay__EmployerFacts e = PAY__EMPLOYER_FACTS__INIT;
    if (nf < 2 || f[0][0] != 'E')
        return -1;
    e.id = f[1];
    e.name = nf >= 3 ? s_dash(f[2]) : NULL;
    ev.has_at = 1;
    ev.at = (uint64_t)clock_unix_now();
    ev.kind_case = PAY__INVOICE_EVENT__KIND_EMPLOYER;
    ev.employer = &e;
    *len = pay__invoice_event__get_packed_size(&ev);
    *out = malloc(*len ? *len : 1);
    if (!*out)
        return -1;
    pay__invoice_event__pack(&ev, *out);
    return 0;
}

/* Packs one event line into `out` (a malloc'd buffer). */
static int s_pack_line(const char *line, uint8_t **out, size_t *len)
{
    static const char *const levels[] = { "", "BAS", "ENT", "STD", "ENH", "EN2" };
    static const char *const sessions[] = { "", "AM", "PM", "ED" };
    static const char *const outcomes[] = {
        "", "ATTENDED", "SICK", "REST", "OTHER", "NOT_REQUIRED", "CLASH", "CANCELLED",
        "REFUSED", "SUSPENDED",
    };
    char copy[1024];
    char *f[S_MAX_FIELDS];
    int nf = 0;
    snprintf(copy, sizeof copy, "%s", line);
    for (char *p = copy, *save = NULL; nf < S_MAX_FIELDS; p = NULL) {
        char *tok = strtok_r(p, ",", &save);
        if (!tok)
            break;
        f[nf++] = tok;
    }
    if (nf == 2 && f[0][0] == 'X')
        return s_unhex(f[1], out, len);
    if (s_feed_invoices)
        return s_pack_invoice_line(f, nf, out, len);
    Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
    Pay__PrisonFacts pf = PAY__PRISON_FACTS__INIT;
    Pay__PrisonerFacts nfacts = PAY__PRISONER_FACTS__INIT;
    Pay__ContractFacts kf = PAY__CONTRACT_FACTS__INIT;
    Pay__CustodyTransfer tr[S_MAX_FIELDS], *trp[S_MAX_FIELDS];
    Pay__RecordState st = PAY__RECORD_STATE__INIT;
    Pay__HoursRecorded rec = PAY__HOURS_RECORDED__INIT;
    Pay__HoursAmended am = PAY__HOURS_AMENDED__INIT;
    Pay__HoursVoided vo = PAY__HOURS_VOIDED__INIT;
    Pay__PayWeekClosed cl = PAY__PAY_WEEK_CLOSED__INIT;
    char week[CIVIL_WEEK_LEN] = "";
    ev.has_at = 1;
    ev.at = (uint64_t)clock_unix_now();
    if (nf == 4 && f[0][0] == 'P') {
        pf.code = f[1];
        pf.name = f[2];
        pf.regime = f[3];
        ev.kind_case = PAY__HOURS_EVENT__KIND_PRISON;
        ev.prison = &pf;
    } else if (nf >= 4 && f[0][0] == 'N') {
        nfacts.number = f[1];
        nfacts.prison = f[2];
        nfacts.released_on = s_dash(f[3]);
        for (int i = 4; i < nf; i++) {
            char *colon = strchr(f[i], ':');
            if (!colon)
                return -1;
            *colon = '\0';
            pay__custody_transfer__init(&tr[i - 4]);
            tr[i - 4].effective_from = f[i];
            tr[i - 4].prison = colon + 1;
            trp[i - 4] = &tr[i - 4];
        }
        nfacts.n_transfers = (size_t)(nf - 4);
        nfacts.transfers = trp;
        ev.kind_case = PAY__HOURS_EVENT__KIND_PRISONER;
        ev.prisoner = &nfacts;
    } else if (nf == 8 && f[0][0] == 'K') {
        kf.id = f[1];
        kf.employer = f[2];
        kf.prison = f[3];
        kf.has_work_type = 1;
        kf.work_type = f[4][0] == 'O' ? PAY__WORK_TYPE__OUTSIDE : PAY__WORK_TYPE__WORKSHOP;
        kf.activity = f[5];
        kf.start = f[6];
        kf.end = s_dash(f[7]);
        ev.kind_case = PAY__HOURS_EVENT__KIND_CONTRACT;
        ev.contract = &kf;
    } else if (nf >= 3 && f[0][0] == 'C') {
        cl.prison = f[1];
        cl.week = f[2];
        cl.closed_by = "test";
        cl.has_closed_at = 1;
        cl.closed_at = (int64_t)ev.at;
        if (nf >= 5) {
            cl.has_records = cl.has_minutes = 1;
            cl.records = strtoull(f[3], NULL, 10);
            cl.minutes = strtoull(f[4], NULL, 10);
        }
        ev.kind_case = PAY__HOURS_EVENT__KIND_WEEK_CLOSED;
        ev.week_closed = &cl;
    } else if (nf == 14) {
        int32_t day;
        st.record_id = f[1];
        st.prisoner = f[2];
        st.prison = f[3];
        st.employer = "acme";
        st.contract = f[4];
        st.has_work_type = 1;
        st.work_type = f[5][0] == 'O' ? PAY__WORK_TYPE__OUTSIDE : PAY__WORK_TYPE__WORKSHOP;
        st.has_pay_band = 1;
        st.pay_band = (uint32_t)atoi(f[6]);
        st.has_incentive_level = 1;
        st.incentive_level = (Pay__IncentiveLevel)s_enum(f[7], levels, 6);
        st.date = f[8];
        if (civil_parse_date(f[8], &day) == 0)
            civil_format_week(civil_iso_week(day), week);
        st.week = week;
        st.has_session = 1;
        st.session = (Pay__Session)s_enum(f[9], sessions, 4);
        st.has_minutes = 1;
        st.minutes = (uint32_t)atoi(f[10]);
        st.has_units = 1;
        st.units = strtoull(f[11], NULL, 10);
        st.has_outcome = 1;
        st.outcome = (Pay__Outcome)s_enum(f[12], outcomes, 10);
        st.has_paid_absence = 1;
        st.paid_absence = f[13][0] == '1';
        if (f[0][0] == 'R') {
            rec.record = &st;
            ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
            ev.recorded = &rec;
        } else if (f[0][0] == 'A') {
            am.old = &st;
            am.new_ = &st;
            ev.kind_case = PAY__HOURS_EVENT__KIND_AMENDED;
            ev.amended = &am;
        } else if (f[0][0] == 'V') {
            vo.old = &st;
            ev.kind_case = PAY__HOURS_EVENT__KIND_VOIDED;
            ev.voided = &vo;
        } else {
            return -1;
        }
    } else {
        return -1;
    }
    *len = pay__hours_event__get_packed_size(&ev);
    *out = malloc(*len ? *len : 1);
    if (!*out)
        return -1;
    pay__hours_event__pack(&ev, *out);
    return 0;
}

typedef struct {
    MDB_dbi outbox;
    const s_events_t *ev;
    uint64_t rate;
    uint64_t head;
} s_append_t;

static int s_append(MDB_txn *txn, void *arg)
{
    s_append_t *a = arg;
    uint64_t head = 0, seq = 0;
    int rc = feed_outbox_head(txn, a->outbox, &head);
    if (rc != 0)
        return rc;
    for (uint64_t i = 0; i < a->rate && head < a->ev->n; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (s_pack_line(a->ev->lines[head], &buf, &len) != 0) {
            log_error("producer.bad_line", "event line %" PRIu64 " is malformed", head + 1);
            return EINVAL;
        }
        rc = feed_outbox_append(txn, a->outbox, buf, len, &seq);
        free(buf);
        if (rc != 0)
            return rc;
        head = seq;
    }
    a->head = head;
    return 0;
}

int main(int argc, char **argv)
{
    config_opt_t opts[] = {
        {"data", NULL, NULL, "LMDB directory", NULL},
        {"endpoint", NULL, "tcp://127.0.0.1:5551", "feed endpoint to bind", NULL},
        {"keys", NULL, NULL, "directory with hours.key and allow.txt", NULL},
        {"events", NULL, NULL, "event file", NULL},
        {"rate", NULL, "5000", "events per write transaction", NULL},
        {"pause-ms", NULL, "0", "pause between append transactions", NULL},
        {"feed", NULL, "hours", "hours (HoursEvent lines) or invoices (InvoiceEvent lines)",
         NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    const char *names[] = { S_OUTBOX, FEED_META_DB, NULL };
    s_events_t events = { 0 };
    store_t *store = NULL;
    void *ctx = NULL;
    auth_t *auth = NULL;
    feed_producer_t *feed = NULL;
    auth_keypair_t keys;
    char path[1024], allow[1024];
    long rate = 0, pause_ms = 0;
    int status = 1, rc;

    log_set_service("wages-feed-producer");
    log_init_from_env();
    rc = config_parse(opts, argc, argv, "wages_feed_producer --data DIR --endpoint EP "
                      "--keys KEYDIR --events FILE [--rate N] [--pause-ms MS]");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!config_get(opts, "data") || !config_get(opts, "keys") || !config_get(opts, "events")
        || config_get_long(opts, "rate", 1, 1000000L, &rate) != 0
        || config_get_long(opts, "pause-ms", 0, 60000L, &pause_ms) != 0) {
        fprintf(stderr, "wages_feed_producer: bad or missing option (try --help)\n");
        return 2;
    }
    s_feed_invoices = strcmp(config_get(opts, "feed"), "invoices") == 0;
    if (s_read_events(config_get(opts, "events"), &events) != 0) {
        fprintf(stderr, "wages_feed_producer: cannot read %s\n", config_get(opts, "events"));
        return 1;
    }
    if (!(store = store_open(config_get(opts, "data"), names, (size_t)256 << 20)))
        goto done;
    snprintf(path, sizeof path, "%s/%s.key", config_get(opts, "keys"),
             s_feed_invoices ? "invoicing" : "hours");
    snprintf(allow, sizeof allow, "%s/allow.txt", config_get(opts, "keys"));
    if (auth_keypair_load(path, &keys) != 0) {
        log_error("producer.keys", "cannot load %s", path);
        goto done;
    }
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    if (!(ctx = zmq_ctx_new()) || !(auth = auth_new(ctx, allow)))
        goto done;
    for (int i = 0; i < 50 && !feed && !s_stop; i++) {
        feed = feed_producer_new(ctx, store, auth, S_OUTBOX, config_get(opts, "endpoint"), &keys,
                                 NULL);
        if (!feed)
            nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
    }
    if (!feed)
        goto done;
    s_append_t app = { store_dbi(store, S_OUTBOX), &events, (uint64_t)rate, 0 };
    MDB_txn *txn = NULL;
    if (store_read_begin(store, &txn) != 0 || feed_outbox_head(txn, app.outbox, &app.head) != 0) {
        if (txn)
            mdb_txn_abort(txn);
        goto done;
    }
    mdb_txn_abort(txn);
    log_info("producer.start", "outbox holds %" PRIu64 " of %zu events", app.head, events.n);
    int64_t next_append = clock_mono_ms(), next_tick = next_append;
    while (!s_stop) {
        int64_t now = clock_mono_ms();
        if (app.head < events.n && now >= next_append) {
            if ((rc = store_write(store, s_append, &app)) != 0) {
                log_error("producer.append", "append failed: %s",
                          rc > 0 ? mdb_strerror(rc) : "error");
                goto done;
            }
            feed_producer_pump(feed);
            next_append = now + pause_ms;
            if (app.head == events.n)
                log_info("producer.appended", "outbox holds all %zu events", events.n);
        }
        zmq_pollitem_t item = { feed_producer_socket(feed), 0, ZMQ_POLLIN, 0 };
        long wait = app.head < events.n ? (pause_ms ? pause_ms : 0) : FEED_TICK_MS;
        if (zmq_poll(&item, 1, wait) < 0 && errno != EINTR)
            goto done;
        if (item.revents & ZMQ_POLLIN)
            feed_producer_on_readable(feed);
        if (clock_mono_ms() >= next_tick) {
            feed_producer_tick(feed);
            next_tick = clock_mono_ms() + FEED_TICK_MS;
        }
    }
    status = 0;
done:
    feed_producer_destroy(&feed);
    auth_destroy(&auth);
    if (ctx)
        zmq_ctx_term(ctx);
    store_destroy(&store);
    for (size_t i = 0; i < events.n; i++)
        free(events.lines[i]);
    free(events.lines);
    return status;
}
