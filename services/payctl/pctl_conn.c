/* pctl_conn: see pctl_conn.h. */
#include "pctl_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "client.h"
#include "money.h"

#define S_RETRIES 3

struct pctl_conn_t {
    const pctl_ctx_t *ctx;
    void *zmq_ctx;
    client_t *client;
    int timeout_ms;
    char name[PCTL_PATH_LEN + 32];
};

static int s_load_key(const pctl_ctx_t *ctx, const pctl_setting_t *file, const char *what,
                      const char *hint, auth_keypair_t *kp)
{
    if (access(file->value, R_OK) != 0) {
        pctl_fail(ctx, "cannot read %s %s (from %s): %s; %s", what, file->value,
                  pctl_source_name(file->source), strerror(errno), hint);
        return -1;
    }
    if (auth_keypair_load(file->value, kp) != 0) {
        pctl_fail(ctx, "%s %s is not a key file", what, file->value);
        return -1;
    }
    return 0;
}

pctl_conn_t *pctl_conn_new(const pctl_ctx_t *ctx, pctl_service_t svc)
{
    auth_keypair_t mine, server;
    uint64_t timeout;
    pctl_conn_t *self = calloc(1, sizeof *self);
    if (!self) {
        pctl_fail(ctx, "out of memory");
        return NULL;
    }
    self->ctx = ctx;
    snprintf(self->name, sizeof self->name, "%s at %s", pctl_service_name(svc),
             ctx->cfg.endpoint[svc].value);
    if (parse_uint64(ctx->cfg.timeout_ms.value, 3600000, &timeout) != 0 || timeout == 0) {
        pctl_fail(ctx, "timeout-ms \"%s\" (from %s) is not 1 to 3600000", ctx->cfg.timeout_ms.value,
                  pctl_source_name(ctx->cfg.timeout_ms.source));
        goto fail;
    }
    if (s_load_key(ctx, &ctx->cfg.key_file, "payctl's key file",
                   "set --key-file or PAY_KEY_FILE (make one with 'payctl keys new NAME' and "
                   "have it granted with 'payctl keys grant')",
                   &mine) != 0)
        goto fail;
    if (!mine.secret_z85[0]) {
        pctl_fail(ctx, "key file %s holds no secret key (a .pub file?); use the .key file",
                  ctx->cfg.key_file.value);
        goto fail;
    }
    char hint[128];
    snprintf(hint, sizeof hint, "set --%s-public-key or --keys-dir / PAY_KEYS_DIR",
             pctl_service_name(svc));
    if (s_load_key(ctx, &ctx->cfg.public_key_file[svc], "the server key", hint, &server) != 0)
        goto fail;
    self->timeout_ms = (int)timeout;
    self->zmq_ctx = zmq_ctx_new();
    if (!self->zmq_ctx) {
        pctl_fail(ctx, "cannot make a zmq context: %s", zmq_strerror(errno));
        goto fail;
    }
    self->client = client_new(self->zmq_ctx, ctx->cfg.endpoint[svc].value, &mine,
                              server.public_z85, (int)timeout, S_RETRIES);
    if (!self->client) {
        pctl_fail(ctx, "cannot connect to %s (is the endpoint a valid tcp://HOST:PORT?)",
                  self->name);
        goto fail;
    }
    return self;
fail:
    pctl_conn_destroy(&self);
    return NULL;
}

void pctl_conn_destroy(pctl_conn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pctl_conn_t *self = *self_p;
    client_destroy(&self->client);
    if (self->zmq_ctx)
        zmq_ctx_term(self->zmq_ctx);
    free(self);
    *self_p = NULL;
}

int pctl_conn_call(pctl_conn_t *self, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply)
{
    *reply = NULL;
    if (client_call(self->client, req, reply_desc, reply) == 0)
        return 0;
    if (errno == EINVAL)
        pctl_fail(self->ctx, "the request to %s could not be packed", self->name);
    else
        pctl_fail(self->ctx,
                  "no answer from %s after %d tries of %s ms (is it running, and is "
                  "payctl's key on its allow-list?)",
                  self->name, S_RETRIES + 1, self->ctx->cfg.timeout_ms.value);
    return -1;
}

const char *pctl_conn_name(const pctl_conn_t *self)
{
    return self->name;
}

client_t *pctl_conn_client(pctl_conn_t *self)
{
    return self->client;
}

int pctl_conn_timeout_ms(const pctl_conn_t *self)
{
    return self->timeout_ms;
}

int pctl_conn_retries(void)
{
    return S_RETRIES;
}
