/* testsvc.h: a toy service for the tests of the shared server loop and
 * client (proto/testsvc.proto). Header-only so that the in-process test
 * (services/common/server_test.c) and the process-level test service
 * (tests/testsvc_main.c) run the very same handler.
 *
 * Database "kv": key -> value for Put/Get, key -> 8-byte big-endian counter
 * for Incr. Put with fail=1 writes and then fails, to prove the rollback.
 * Sleep holds the loop, so that the requests behind it form one batch. */
#ifndef PAY_TESTSVC_H
#define PAY_TESTSVC_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "store.h"
#include "testsvc.pb-c.h"

typedef struct {
    MDB_dbi kv;
} testsvc_t;

static inline int testsvc_handle(void *svc, server_call_t *call, const auth_identity_t *caller,
                                 const ProtobufCMessage *request, const char *request_id,
                                 MDB_txn *txn)
{
    testsvc_t *self = svc;
    const Pay__TestRequest *req = (const Pay__TestRequest *)request;
    Pay__TestReply rep = PAY__TEST_REPLY__INIT;
    char caller_s[AUTH_SCOPE_LEN + AUTH_NAME_LEN + 32];
    (void)request_id;
    snprintf(caller_s, sizeof caller_s, "%s:%s:%s", auth_role_name(caller->role),
             caller->scope, caller->name);
    rep.caller = caller_s;
    rep.has_status = 1;
    rep.status = PAY__STATUS__OK;
    int rc = 0;
    MDB_val v;

    switch (req->body_case) {
    case PAY__TEST_REQUEST__BODY_PUT: {
        const char *key = req->put->key ? req->put->key : "";
        const char *val = req->put->value ? req->put->value : "";
        if (!key[0])
            return server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "no key"), 1;
        rc = store_put(txn, self->kv, key, strlen(key), val, strlen(val), 0);
        if (rc != 0)
            return rc;
        if (req->put->fail) {
            server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "asked to fail");
            return 1;
        }
        break;
    }
    case PAY__TEST_REQUEST__BODY_GET: {
        const char *key = req->get->key ? req->get->key : "";
        server_call_readonly(call);
        rc = store_get(txn, self->kv, key, strlen(key), &v);
        if (rc == MDB_NOTFOUND) {
            rep.status = PAY__STATUS__NOT_FOUND;
            rep.message = "no such key";
            break;
        }
        if (rc != 0)
            return rc;
        /* mv_data is valid until the end of the transaction; pack now. */
        char buf[256];
        size_t n = v.mv_size < sizeof buf - 1 ? v.mv_size : sizeof buf - 1;
        memcpy(buf, v.mv_data, n);
        buf[n] = '\0';
        rep.value = buf;
        return server_reply(call, &rep.base) == 0 ? 0 : 1;
    }
    case PAY__TEST_REQUEST__BODY_INCR: {
        const char *key = req->incr->key ? req->incr->key : "";
        int64_t count = 0;
        uint8_t be[8];
        rc = store_get(txn, self->kv, key, strlen(key), &v);
        if (rc == 0 && v.mv_size == 8)
            count = (int64_t)store_be64_get(v.mv_data);
        else if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        count += req->incr->has_by ? req->incr->by : 1;
        store_be64_put(be, (uint64_t)count);
        rc = store_put(txn, self->kv, key, strlen(key), be, 8, 0);
        if (rc != 0)
            return rc;
        rep.has_count = 1;
        rep.count = count;
        break;
    }
    case PAY__TEST_REQUEST__BODY_ECHO:
        server_call_readonly(call);
        if (req->echo->has_status)
            rep.status = req->echo->status;
        rep.message = req->echo->text;
        break;
    case PAY__TEST_REQUEST__BODY_SLEEP: {
        server_call_readonly(call);
        struct timespec ts = {req->sleep->ms / 1000, (long)(req->sleep->ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        break;
    }
    default:
        server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "no body");
        return 1;
    }
    return server_reply(call, &rep.base) == 0 ? 0 : 1;
}

#endif
