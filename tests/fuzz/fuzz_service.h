/* fuzz_service: runs a sequence of request frames (and hours-feed events)
 * against one service's real handler and store, for the service harnesses.
 *
 * Why this exists: the three API harnesses differ only in their store, their
 * handler and which requests they must not run; the loop, the transaction
 * discipline and the checks on every answer are the same. A request frame
 * goes through server_run_frame: the decode limits, the request_id checks,
 * the replay store and the handler in a nested transaction, exactly as in a
 * batch of the real loop. A feed frame goes to the service's apply step in
 * the same transaction (write-through, as the apply functions work outside a
 * feed group); an event it refuses (FEED_REFUSED) is passed over, as the
 * consumer quarantines it and goes on.
 *
 * Every answer must decode as the service's Reply; an answer that does not
 * is a bug (the client could not read it), so the harness aborts.
 *
 * Ownership: fz_service_t borrows everything it points to. */
#ifndef PAY_FUZZ_SERVICE_H
#define PAY_FUZZ_SERVICE_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>

#include "feed.h"
#include "fuzz_util.h"
#include "server.h"
#include "store.h"

typedef struct {
    store_t *store;
    server_t *server;
    const ProtobufCMessageDescriptor *request_desc;
    const ProtobufCMessageDescriptor *reply_desc;
    feed_apply_fn *feed_apply;     /* NULL: feed frames are skipped */
    void *feed_arg;
    /* 1 if the decoded request must not run here (backups: they write to a
     * folder the request names, outside the store). May be NULL. */
    int (*skip)(const ProtobufCMessage *req);
    uint64_t feed_seq;             /* last feed seq of the committed setup */
    int trace;                     /* FUZZ_TRACE=1: print every answer's status */
    /* Checks a decoded answer further (aborts on a failure). May be NULL. */
    void (*check)(const ProtobufCMessage *reply);
} fz_service_t;

/* 1 if the frame decodes to a request that `skip` refuses. */
static inline int fz_service_skipped(fz_service_t *s, const fz_frame_t *f)
{
    if (!s->skip)
        return 0;
    ProtobufCMessage *m = protobuf_c_message_unpack(s->request_desc, NULL, f->len, f->data);
    if (!m)
        return 0;
    int skip = s->skip(m);
    protobuf_c_message_free_unpacked(m, NULL);
    return skip;
}

static inline void fz_service_check_reply(fz_service_t *s, const uint8_t *reply, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(s->reply_desc, NULL, len, reply);
    if (!m) {
        fprintf(stderr, "fuzz: the service answered %zu bytes that do not decode as %s\n", len,
                s->reply_desc->name);
        abort();
    }
    if (s->check)
        s->check(m);
    if (s->trace) {
        /* Every Reply starts with ReplyHeader's fields and most carry the
         * ItemResults of a batch as field 4. */
        Pay__ReplyHeader *h = pay__reply_header__unpack(NULL, len, reply);
        fprintf(stderr, "fuzz: %s status %d %s\n", s->reply_desc->name, h ? (int)h->status : -1,
                h && h->message ? h->message : "");
        pay__reply_header__free_unpacked(h, NULL);
        const ProtobufCFieldDescriptor *items =
            protobuf_c_message_descriptor_get_field(s->reply_desc, 4);
        if (items && items->label == PROTOBUF_C_LABEL_REPEATED
            && items->descriptor == &pay__item_result__descriptor) {
            size_t n;
            Pay__ItemResult **v;
            memcpy(&n, (const char *)m + items->quantifier_offset, sizeof n);
            memcpy(&v, (const char *)m + items->offset, sizeof v);
            for (size_t i = 0; i < n; i++)
                if (v[i]->status != PAY__STATUS__OK)
                    fprintf(stderr, "fuzz:   item %zu: %d %s\n", i, (int)v[i]->status,
                            v[i]->message ? v[i]->message : "");
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Runs the frames of `data` (at most `max_frames`) in one write transaction,
 * committed if `commit`, else aborted. Returns 0, or the LMDB error that
 * stopped it (the transaction is then aborted). */
static inline int fz_service_run(fz_service_t *s, const uint8_t *data, size_t size,
                                 size_t max_frames, int commit)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store_env(s->store), NULL, 0, &txn);
    if (rc != 0)
        return rc;
    uint64_t seq = s->feed_seq;
    size_t at = 0, n = 0;
    fz_frame_t f;
    while (rc == 0 && n < max_frames && fz_next(data, size, &at, &f)) {
        n++;
        if (f.tag == FZ_TAG_FEED) {
            feed_refusal_t why;
            memset(&why, 0, sizeof why);
            if (s->feed_apply)
                rc = s->feed_apply(txn, ++seq, f.data, f.len, s->feed_arg, &why);
            if (s->trace)
                fprintf(stderr, "fuzz: feed event %llu: %s %s\n", (unsigned long long)seq,
                        rc == FEED_REFUSED ? "refused:" : rc ? mdb_strerror(rc) : "applied",
                        rc == FEED_REFUSED ? why.reason : "");
            /* The consumer quarantines a refused event and goes on. */
            if (rc == FEED_REFUSED)
                rc = 0;
            continue;
        }
        if (fz_service_skipped(s, &f))
            continue;
        const uint8_t *reply;
        size_t rlen;
        rc = server_run_frame(s->server, fz_caller(f.tag), f.data, f.len, txn, &reply, &rlen);
        if (rc == 0)
            fz_service_check_reply(s, reply, rlen);
    }
    if (rc == 0 && commit) {
        rc = mdb_txn_commit(txn);
        if (rc == 0)
            s->feed_seq = seq;
    } else {
        mdb_txn_abort(txn);
    }
    return rc;
}

/* Commits the setup frames `name` (see fz_setup_frames); aborts on failure. */
static inline void fz_service_setup(fz_service_t *s, const char *name)
{
    size_t len;
    const char *t = getenv("FUZZ_TRACE");
    s->trace = t && *t == '1';
    uint8_t *buf = fz_setup_frames(name, &len);
    int rc = fz_service_run(s, buf, len, (size_t)-1, 1);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "fuzz: the setup %s failed: %s\n", name, mdb_strerror(rc));
        abort();
    }
}

#endif
