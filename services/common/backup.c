/* backup: see backup.h.
 *
 * One job at a time, in states: IDLE; PENDING (a handler asked, its batch
 * is not durable yet); RUNNING (the thread copies); DONE (the thread is
 * finished, the loop's timer has not answered yet). The loop's thread owns
 * everything but `state` (RUNNING -> DONE) and `result`, which the copying
 * thread sets under the lock. */
#include "backup.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define S_MAX_WAITERS 8
#define S_TICK_MS 100
#define S_MSG_LEN (PATH_MAX + 128)

enum { S_IDLE = 0, S_PENDING, S_RUNNING, S_DONE };

struct backup_t {
    store_t *store;
    char root[PATH_MAX];
    char service[32];
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int quit;
    int state;
    int result;
    char name[BACKUP_NAME_MAX + 1];
    char path[PATH_MAX];
    char who[AUTH_NAME_LEN];
    char rid[SERVER_REQUEST_ID_MAX + 1];
    server_later_t *waiters[S_MAX_WAITERS];
    int n_waiters;
    /* the last backup answered, for a resend that comes after */
    int have_last;
    char last_who[AUTH_NAME_LEN];
    char last_rid[SERVER_REQUEST_ID_MAX + 1];
    Pay__Status last_status;
    char last_msg[S_MSG_LEN];
    char last_path[PATH_MAX];
};

int backup_name_check(const char *name, char err[BACKUP_ERR_LEN])
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0) {
        snprintf(err, BACKUP_ERR_LEN, "name: a backup needs a name");
        return -1;
    }
    if (len > BACKUP_NAME_MAX) {
        snprintf(err, BACKUP_ERR_LEN, "name: at most %d characters", BACKUP_NAME_MAX);
        return -1;
    }
    if (name[0] == '.') {
        snprintf(err, BACKUP_ERR_LEN, "name: may not start with a dot");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-')) {
            snprintf(err, BACKUP_ERR_LEN, "name: only letters, digits, '.', '_' and '-' "
                     "(no '/': a backup is named, the folder is the service's)");
            return -1;
        }
    }
    if (strstr(name, "..")) {
        snprintf(err, BACKUP_ERR_LEN, "name: may not contain '..'");
        return -1;
    }
    return 0;
}

static void *s_worker(void *arg)
{
    backup_t *self = arg;
    char path[PATH_MAX], set[PATH_MAX + BACKUP_NAME_MAX + 2];
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->quit && self->state != S_RUNNING)
            pthread_cond_wait(&self->cond, &self->lock);
        if (self->state != S_RUNNING)
            break;   /* quit with nothing to do */
        snprintf(path, sizeof path, "%s", self->path);
        snprintf(set, sizeof set, "%s/%s", self->root, self->name);
        pthread_mutex_unlock(&self->lock);

        int rc = store_failed(self->store);
        if (rc == 0)
            rc = store_backup(self->store, path);
        if (rc != 0) {
            /* Leave no empty folders that would block the name. */
            rmdir(path);
            rmdir(set);
        }

        pthread_mutex_lock(&self->lock);
        self->result = rc;
        self->state = S_DONE;
        pthread_cond_broadcast(&self->cond);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

backup_t *backup_new(store_t *store, const char *root, const char *service)
{
    backup_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, NULL);
    if (!store || !root || !*root || !service || strlen(root) >= sizeof self->root - 128
        || strlen(service) >= sizeof self->service) {
        log_error("backup.config", "a store, a backup folder and a service name are needed");
        goto fail;
    }
    self->store = store;
    snprintf(self->root, sizeof self->root, "%s", root);
    snprintf(self->service, sizeof self->service, "%s", service);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* signals stay with the loop */
    int prc = pthread_create(&self->thread, NULL, s_worker, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0)
        goto fail;
    self->thread_started = 1;
    log_info("backup.config", "backups go to %s/<name>/%s", self->root, self->service);
    return self;
fail:
    backup_destroy(&self);
    return NULL;
}

/* The answer to the finished job, kept for a resend. */
static void s_conclude(backup_t *self)
{
    int rc = self->result;
    Pay__Status st = PAY__STATUS__OK;
    if (rc == 0) {
        snprintf(self->last_msg, sizeof self->last_msg, "backup written to %s/data.mdb",
                 self->path);
        snprintf(self->last_path, sizeof self->last_path, "%s", self->path);
        log_info("backup.done", "backup %s written to %s", self->name, self->path);
    } else {
        st = rc == ENOSPC || rc == EDQUOT ? PAY__STATUS__RESOURCE_EXHAUSTED
             : rc == EEXIST               ? PAY__STATUS__INVALID_ARGUMENT
                                          : PAY__STATUS__INTERNAL;
        snprintf(self->last_msg, sizeof self->last_msg, "backup %s failed: %s", self->name,
                 mdb_strerror(rc));
        log_error("backup.failed", "backup %s to %s failed: %s", self->name, self->path,
                  mdb_strerror(rc));
    }
    self->last_status = st;
    snprintf(self->last_who, sizeof self->last_who, "%s", self->who);
    snprintf(self->last_rid, sizeof self->last_rid, "%s", self->rid);
    self->have_last = 1;
}

static void s_answer_waiters(backup_t *self, Pay__Status st, const char *msg)
{
    for (int i = 0; i < self->n_waiters; i++)
        server_later_reply(&self->waiters[i], st, "%s", msg);
    self->n_waiters = 0;
}

static int s_tick(void *arg)
{
    backup_t *self = arg;
    pthread_mutex_lock(&self->lock);
    int done = self->state == S_DONE;
    pthread_mutex_unlock(&self->lock);
    if (!done)
        return 0;
    s_conclude(self);
    s_answer_waiters(self, self->last_status, self->last_msg);
    self->state = S_IDLE;   /* the thread waits for RUNNING: no race */
    return 0;
}

int backup_attach(backup_t *self, server_t *server)
{
    return self && server ? server_every(server, S_TICK_MS, s_tick, self) : -1;
}

void backup_destroy(backup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    backup_t *self = *self_p;
    if (self->thread_started) {
        pthread_mutex_lock(&self->lock);
        while (self->state == S_RUNNING)
            pthread_cond_wait(&self->cond, &self->lock);
        self->quit = 1;
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    if (self->state == S_DONE) {
        s_conclude(self);
        s_answer_waiters(self, self->last_status, self->last_msg);
    } else {
        s_answer_waiters(self, PAY__STATUS__UNAVAILABLE, "shutting down; retry");
    }
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->cond);
    free(self);
    *self_p = NULL;
}

const char *backup_last_path(backup_t *self)
{
    return self ? self->last_path : "";
}

/* The batch that asked for the backup is durable (later != NULL): start
 * the copy; or it was not, or is being rerun: forget the job. */
static void s_start_cb(void *arg, server_later_t *later)
{
    backup_t *self = arg;
    if (!later) {
        if (self->state == S_PENDING)
            self->state = S_IDLE;
        return;
    }
    if (self->state != S_PENDING) {
        server_later_reply(&later, PAY__STATUS__UNAVAILABLE, "backup not started; retry");
        return;
    }
    self->waiters[self->n_waiters++] = later;
    log_info("backup.start", "backup %s for %s into %s", self->name, self->who, self->path);
    pthread_mutex_lock(&self->lock);
    self->state = S_RUNNING;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

/* A resend of the request whose backup is under way: the same answer. */
static void s_join_cb(void *arg, server_later_t *later)
{
    backup_t *self = arg;
    if (!later)
        return;
    if ((self->state == S_PENDING || self->state == S_RUNNING || self->state == S_DONE)
        && self->n_waiters < S_MAX_WAITERS) {
        self->waiters[self->n_waiters++] = later;
        return;
    }
    if (self->have_last)
        server_later_reply(&later, self->last_status, "%s", self->last_msg);
    else
        server_later_reply(&later, PAY__STATUS__UNAVAILABLE, "backup not under way; retry");
}

int backup_handle(backup_t *self, server_call_t *call, const auth_identity_t *caller,
                  const char *request_id, const char *name, int dir_given)
{
    char err[BACKUP_ERR_LEN];
    struct stat st;
    server_call_readonly(call);
    if (!self)
        return server_reply_status(call, PAY__STATUS__UNAVAILABLE,
                                   "backups are not configured in this service");
    if (dir_given)
        return server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                                   "dir: no longer accepted; a backup is given a name and "
                                   "goes under the service's --backup-dir");
    if (backup_name_check(name, err) != 0)
        return server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "%s", err);
    const char *who = caller ? caller->name : "";
    if (self->have_last && strcmp(self->last_who, who) == 0
        && strcmp(self->last_rid, request_id) == 0)
        return server_reply_status(call, self->last_status, "%s", self->last_msg);
    if (self->state != S_IDLE) {
        if (strcmp(self->who, who) == 0 && strcmp(self->rid, request_id) == 0)
            return server_call_later(call, s_join_cb, self);
        return server_reply_status(call, PAY__STATUS__RESOURCE_EXHAUSTED,
                                   "one backup at a time: %s is being written; retry when "
                                   "it is done", self->name);
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s/%s", self->root, name, self->service)
        >= (int)sizeof path)
        return server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT, "name: too long");
    if (stat(path, &st) == 0)
        return server_reply_status(call, PAY__STATUS__INVALID_ARGUMENT,
                                   "name: a backup named %s already exists (%s)", name, path);
    self->state = S_PENDING;
    snprintf(self->name, sizeof self->name, "%s", name);
    snprintf(self->path, sizeof self->path, "%s", path);
    snprintf(self->who, sizeof self->who, "%s", who);
    snprintf(self->rid, sizeof self->rid, "%s", request_id);
    self->result = 0;
    if (server_call_later(call, s_start_cb, self) != 0) {
        self->state = S_IDLE;
        return -1;
    }
    return 0;
}
