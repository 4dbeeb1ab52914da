/* inv_bench: the invoicing benchmark (scripts/bench-invoicing runs it; not
 * a test). Three figures, on a fresh store in a temporary folder:
 *
 *   1. feed apply: HoursRecorded events applied through feed_batch_apply,
 *      the consumer's real apply step (decode, accumulate, cursor, one
 *      durable commit per batch of 1024 events, full sync);
 *   2. issue: one month for 190 monthly employers with 600 contracts, all
 *      documents in one transaction (numbering, outbox, settling), PDF
 *      rendering excluded;
 *   3. PDF renders per second of one of those invoices.
 *
 * usage: inv_bench [records [batch]] (defaults 600000 and 1024, the feed's
 * FEED_BATCH_MAX_ENTRIES) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "civil.h"
#include "clock.h"
#include "feed.h"
#include "hours_feed.pb-c.h"
#include "inv_api.h"
#include "inv_store.h"
#include "log.h"

#define EMPLOYERS 190
#define CONTRACTS 600

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    inv_store_t *st;
    int ok;
} s_setup_t;

static int s_setup_fn(MDB_txn *txn, void *arg)
{
    s_setup_t *s = arg;
    char msg[160], id[40], contract[32];
    int rc = 0;
    s->ok = 0;
    for (int e = 0; e < EMPLOYERS; e++) {
        Pay__EmployerRow row = PAY__EMPLOYER_ROW__INIT;
        snprintf(id, sizeof id, "emp-%03d", e);
        row.id = id;
        row.name = "Bench Employer Ltd";
        row.address = "1 High Street, Leeds";
        row.postcode = "LS1 1AA";
        row.vat_number = "GB999888777";
        row.email = "ap@bench.example";
        row.billing_period = "MONTHLY";
        if (inv_store_upsert_employer(s->st, txn, &row, msg, sizeof msg, &rc) == PAY__STATUS__OK)
            s->ok++;
        if (rc)
            return rc;
    }
    for (int c = 0; c < CONTRACTS; c++) {
        Pay__BillingTermsRow t = PAY__BILLING_TERMS_ROW__INIT;
        snprintf(contract, sizeof contract, "C-%04d", c);
        t.contract = contract;
        t.effective_from = "2026-01-01";
        t.basis = c % 5 == 4 ? "UNIT" : "HOURLY";
        t.charge = c % 5 == 4 ? "0.25" : "9.50";
        t.vat_rate_bp = c % 7 == 0 ? "0" : "2000";
        if (inv_store_upsert_terms(s->st, txn, &t, msg, sizeof msg, &rc) == PAY__STATUS__OK)
            s->ok++;
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct {
    inv_store_t *st;
    inv_supplier_t sup;
    size_t n;
} s_issue_t;

static int s_issue_fn(MDB_txn *txn, void *arg)
{
    s_issue_t *s = arg;
    inv_issue_opts_t o;
    inv_issued_t *out = NULL;
    memset(&o, 0, sizeof o);
    civil_parse_date("2026-12-01", &o.issue_date);
    o.supplier = &s->sup;
    s->n = 0;
    int rc = inv_store_issue(s->st, txn, &o, &out, &s->n);
    free(out);
    return rc;
}

int main(int argc, char **argv)
{
    long records = argc > 1 ? atol(argv[1]) : 600000;
    long BATCH = argc > 2 ? atol(argv[2]) : FEED_BATCH_MAX_ENTRIES;
    char dir[] = "/tmp/inv_bench.XXXXXX";
    if (BATCH < 1 || records < BATCH || !mkdtemp(dir))
        return 2;
    log_set_level(LOG_WARN);
    inv_store_t *st = inv_store_open(dir, (size_t)1 << 30);
    if (!st)
        return 1;
    s_setup_t su = { st, 0 };
    if (store_write(inv_store_store(st), s_setup_fn, &su) != 0 || su.ok != EMPLOYERS + CONTRACTS)
        return 1;

    /* Pre-pack the events so that the timing is the consumer's work only. */
    int32_t first = civil_from_ymd(2026, 11, 1);
    Pay__FeedEntry *entries = calloc((size_t)records, sizeof *entries);
    Pay__FeedEntry **eptr = calloc((size_t)records, sizeof *eptr);
    for (long i = 0; i < records; i++) {
        char rid[32], emp[40], contract[32], date[CIVIL_DATE_LEN];
        int c = (int)(i % CONTRACTS);
        snprintf(rid, sizeof rid, "r%ld", i);
        snprintf(emp, sizeof emp, "emp-%03d", c % EMPLOYERS);
        snprintf(contract, sizeof contract, "C-%04d", c);
        civil_format_date(first + (int32_t)((i / CONTRACTS) % 30), date);
        Pay__RecordState rs = PAY__RECORD_STATE__INIT;
        rs.record_id = rid;
        rs.prisoner = "A1234BC";
        rs.prison = "MDI";
        rs.employer = emp;
        rs.contract = contract;
        rs.date = date;
        rs.activity = "Laundry";
        rs.has_minutes = rs.has_units = rs.has_outcome = 1;
        rs.minutes = 150 + (uint32_t)(i % 7) * 10;
        rs.units = (uint64_t)(i % 13);
        rs.outcome = PAY__OUTCOME__ATTENDED;
        Pay__HoursRecorded hr = PAY__HOURS_RECORDED__INIT;
        hr.record = &rs;
        Pay__HoursEvent ev = PAY__HOURS_EVENT__INIT;
        ev.kind_case = PAY__HOURS_EVENT__KIND_RECORDED;
        ev.recorded = &hr;
        pay__feed_entry__init(&entries[i]);
        entries[i].has_seq = entries[i].has_payload = 1;
        entries[i].seq = (uint64_t)i + 1;
        entries[i].payload.len = pay__hours_event__get_packed_size(&ev);
        entries[i].payload.data = malloc(entries[i].payload.len);
        pay__hours_event__pack(&ev, entries[i].payload.data);
        eptr[i] = &entries[i];
    }

    MDB_dbi cursors = inv_store_dbi(st, INV_DB_CURSORS);
    double t0 = s_now();
    long applied = 0;
    for (long i = 0; i < records; i += BATCH) {
        Pay__FeedBatch b = PAY__FEED_BATCH__INIT;
        b.n_entries = (size_t)(records - i < BATCH ? records - i : BATCH);
        b.entries = &eptr[i];
        feed_batch_result_t res;
        if (feed_batch_apply(inv_store_store(st), cursors, INV_FEED_NAME, &b,
                             inv_store_apply_event, st, &res) != 0)
            return 1;
        applied += res.applied;
    }
    double t_apply = s_now() - t0;
    printf("feed_apply_records=%ld seconds=%.3f records_per_s=%.0f batch=%ld commits=%ld\n", applied,
           t_apply, applied / t_apply, BATCH, (records + BATCH - 1) / BATCH);

    s_issue_t is;
    char why[256];
    memset(&is, 0, sizeof is);
    is.st = st;
    /* A plausible supplier for the benchmark: its documents are never sent. */
    if (inv_supplier_parse(&is.sup, "name = Bench Supplier Ltd\naddress = 1 Test Street, Leeds\n"
                           "postcode = LS1 1AA\nvat_number = GB100000001\n"
                           "email = bench@supplier.example\nbank_account_name = Bench Supplier\n"
                           "sort_code = 40-00-00\naccount_number = 12345678\n", why, sizeof why) != 0)
        return 1;
    t0 = s_now();
    if (store_write(inv_store_store(st), s_issue_fn, &is) != 0)
        return 1;
    double t_issue = s_now() - t0;
    printf("issue_month_employers=%d contracts=%d documents=%zu seconds=%.3f\n", EMPLOYERS,
           CONTRACTS, is.n, t_issue);

    /* PDF renders of INV-000001. */
    MDB_txn *txn;
    int rc;
    store_read_begin(inv_store_store(st), &txn);
    Pay__StoredDocument *sd = inv_store_get_doc(st, txn, "INV-000001", &rc);
    mdb_txn_abort(txn);
    if (!sd)
        return 1;
    inv_line_t *lines = calloc(sd->n_lines, sizeof *lines);
    inv_doc_t doc;
    inv_store_doc_view(sd, &doc, lines);
    int renders = 0;
    size_t bytes = 0;
    t0 = s_now();
    while (s_now() - t0 < 2.0) {
        inv_buf_t b = { 0 };
        if (inv_pdf_render(&doc, &b) != 0)
            return 1;
        bytes = b.len;
        inv_buf_free(&b);
        renders++;
    }
    double t_pdf = s_now() - t0;
    printf("pdf_renders=%d seconds=%.3f renders_per_s=%.1f lines=%zu bytes=%zu\n", renders, t_pdf,
           renders / t_pdf, sd->n_lines, bytes);

    free(lines);
    protobuf_c_message_free_unpacked(&sd->base, NULL);
    for (long i = 0; i < records; i++)
        free(entries[i].payload.data);
    free(entries);
    free(eptr);
    inv_store_destroy(&st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    inv_pdf_shutdown();
    return 0;
}
