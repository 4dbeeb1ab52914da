/* web_throttle: see web_throttle.h. */
#include "web_throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_LEN 96

typedef struct {
    char key[S_KEY_LEN];
    unsigned failures;
    int64_t last_fail_ms;
    int64_t locked_until_ms;
} s_entry_t;

struct web_throttle_t {
    pthread_mutex_t lock;
    web_throttle_policy_t p;
    s_entry_t *e;
    size_t n;
};

web_throttle_t *web_throttle_new(const web_throttle_policy_t *policy)
{
    if (!policy || policy->max_keys == 0 || policy->base_ms < 0 || policy->max_ms < 0)
        return NULL;
    web_throttle_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->p = *policy;
    self->e = calloc(policy->max_keys, sizeof *self->e);
    if (!self->e) {
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void web_throttle_destroy(web_throttle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    web_throttle_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    free(self->e);
    free(self);
    *self_p = NULL;
}

/* The live entry of `key`, forgetting it if stale; NULL if none. */
static s_entry_t *s_find(web_throttle_t *self, const char *key, int64_t now_ms)
{
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *x = &self->e[i];
        if (strncmp(x->key, key, S_KEY_LEN) != 0)
            continue;
        if (now_ms - x->last_fail_ms >= self->p.forget_ms && now_ms >= x->locked_until_ms) {
            self->e[i] = self->e[--self->n];
            return NULL;
        }
        return x;
    }
    return NULL;
}

int64_t web_throttle_wait_ms(web_throttle_t *self, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&self->lock);
    s_entry_t *x = s_find(self, key, now_ms);
    int64_t wait = x && x->locked_until_ms > now_ms ? x->locked_until_ms - now_ms : 0;
    pthread_mutex_unlock(&self->lock);
    return wait;
}

void web_throttle_fail(web_throttle_t *self, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&self->lock);
    s_entry_t *x = s_find(self, key, now_ms);
    if (!x) {
        if (self->n == self->p.max_keys) {
            size_t old = 0;
            for (size_t i = 1; i < self->n; i++)
                if (self->e[i].last_fail_ms < self->e[old].last_fail_ms)
                    old = i;
            self->e[old] = self->e[--self->n];
        }
        x = &self->e[self->n++];
        memset(x, 0, sizeof *x);
        strncpy(x->key, key, S_KEY_LEN - 1);
    }
    x->failures++;
    x->last_fail_ms = now_ms;
    if (x->failures > self->p.free_failures) {
        unsigned k = x->failures - self->p.free_failures;   /* 1, 2, ... */
        int64_t wait = self->p.base_ms;
        for (unsigned i = 1; i < k && wait < self->p.max_ms; i++)
            wait *= 2;
        if (wait > self->p.max_ms)
            wait = self->p.max_ms;
        x->locked_until_ms = now_ms + wait;
    }
    pthread_mutex_unlock(&self->lock);
}

void web_throttle_clear(web_throttle_t *self, const char *key)
{
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n; i++)
        if (strncmp(self->e[i].key, key, S_KEY_LEN) == 0) {
            self->e[i] = self->e[--self->n];
            break;
        }
    pthread_mutex_unlock(&self->lock);
}

unsigned web_throttle_failures(web_throttle_t *self, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&self->lock);
    s_entry_t *x = s_find(self, key, now_ms);
    unsigned n = x ? x->failures : 0;
    pthread_mutex_unlock(&self->lock);
    return n;
}
