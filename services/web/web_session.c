/* web_session: see web_session.h. */
#include "web_session.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A slot is free, live, or an expired tombstone that keeps only the id
 * and the time of last use (everything secret wiped), so that the next
 * lookup can say "expired" rather than "unknown". */
enum { S_FREE = 0, S_LIVE = 1, S_EXPIRED = 2 };
#define S_TOMBSTONE_MS ((int64_t)3600 * 1000)

typedef struct {
    int used;
    web_session_t s;
} s_slot_t;

struct web_sessions_t {
    pthread_mutex_t lock;
    size_t max;
    int64_t idle_ms;
    s_slot_t *slots;            /* sodium_malloc'd: locked, guarded, wiped on free */
};

void web_token_new(char out[WEB_TOKEN_LEN + 1])
{
    unsigned char raw[WEB_TOKEN_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, WEB_TOKEN_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

web_sessions_t *web_sessions_new(size_t max, int64_t idle_ms)
{
    if (max == 0 || max > 65536 || idle_ms <= 0 || sodium_init() < 0)
        return NULL;
    web_sessions_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = sodium_allocarray(max, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    sodium_memzero(self->slots, max * sizeof *self->slots);
    self->max = max;
    self->idle_ms = idle_ms;
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void web_sessions_destroy(web_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    web_sessions_t *self = *self_p;
    sodium_memzero(self->slots, self->max * sizeof *self->slots);
    sodium_free(self->slots);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void web_session_wipe(web_session_t *s)
{
    sodium_memzero(s, sizeof *s);
}

static void s_wipe_slot(s_slot_t *slot)
{
    sodium_memzero(slot, sizeof *slot);
}

/* Wipes a live session's secrets, keeping its id as a tombstone. */
static void s_expire_slot(s_slot_t *slot)
{
    char sid[WEB_TOKEN_LEN + 1];
    int64_t last = slot->s.last_ms;
    memcpy(sid, slot->s.sid, sizeof sid);
    sodium_memzero(slot, sizeof *slot);
    memcpy(slot->s.sid, sid, sizeof sid);
    slot->s.last_ms = last;
    slot->used = S_EXPIRED;
}

static int s_token_shape(const char *t)
{
    if (!t || strlen(t) != WEB_TOKEN_LEN)
        return 0;
    for (const char *p = t; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int web_sessions_open(web_sessions_t *self, const char *login, const auth_identity_t *who,
                      const auth_keypair_t *keys, int64_t now_ms, web_session_t *out)
{
    if (!login || strlen(login) >= WEB_LOGIN_LEN)
        return -1;
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = NULL, *tomb = NULL, *oldest = NULL;
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *x = &self->slots[i];
        if (x->used == S_LIVE && now_ms - x->s.last_ms >= self->idle_ms)
            s_expire_slot(x);
        if (x->used == S_FREE && !slot)
            slot = x;
        if (x->used == S_EXPIRED && (!tomb || x->s.last_ms < tomb->s.last_ms))
            tomb = x;
        if (x->used == S_LIVE && (!oldest || x->s.last_ms < oldest->s.last_ms))
            oldest = x;
    }
    if (!slot)
        slot = tomb ? tomb : oldest;
    s_wipe_slot(slot);
    slot->used = S_LIVE;
    web_session_t *s = &slot->s;
    /* An id that collides with a live one is as likely as guessing it;
     * still, never hand out the same id twice. */
    for (int tries = 0;; tries++) {
        web_token_new(s->sid);
        int clash = 0;
        for (size_t i = 0; i < self->max; i++)
            if (&self->slots[i] != slot && self->slots[i].used != S_FREE &&
                sodium_memcmp(self->slots[i].s.sid, s->sid, WEB_TOKEN_LEN) == 0)
                clash = 1;
        if (!clash || tries > 8)
            break;
    }
    web_token_new(s->csrf);
    snprintf(s->login, sizeof s->login, "%s", login);
    s->who = *who;
    s->keys = *keys;
    s->created_ms = s->last_ms = now_ms;
    *out = *s;
    pthread_mutex_unlock(&self->lock);
    return 0;
}

int web_sessions_get(web_sessions_t *self, const char *sid, int64_t now_ms, web_session_t *out)
{
    sodium_memzero(out, sizeof *out);
    if (!s_token_shape(sid))
        return WEB_SESSION_UNKNOWN;
    int rc = WEB_SESSION_UNKNOWN;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *x = &self->slots[i];
        if (x->used == S_FREE || sodium_memcmp(x->s.sid, sid, WEB_TOKEN_LEN) != 0)
            continue;
        if (x->used == S_EXPIRED || now_ms - x->s.last_ms >= self->idle_ms) {
            s_wipe_slot(x);
            rc = WEB_SESSION_EXPIRED;
        } else {
            x->s.last_ms = now_ms;
            *out = x->s;
            rc = WEB_SESSION_OK;
        }
        break;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int web_sessions_close(web_sessions_t *self, const char *sid)
{
    if (!s_token_shape(sid))
        return -1;
    int rc = -1;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *x = &self->slots[i];
        if (x->used != S_FREE && sodium_memcmp(x->s.sid, sid, WEB_TOKEN_LEN) == 0) {
            rc = x->used == S_LIVE ? 0 : -1;
            s_wipe_slot(x);
            break;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

size_t web_sessions_sweep(web_sessions_t *self, int64_t now_ms, const char *login)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++) {
        s_slot_t *x = &self->slots[i];
        if (x->used == S_LIVE && login && strcmp(x->s.login, login) == 0) {
            s_wipe_slot(x);
            n++;
        } else if (x->used == S_LIVE && now_ms - x->s.last_ms >= self->idle_ms) {
            s_expire_slot(x);
            n++;
        } else if (x->used == S_EXPIRED && now_ms - x->s.last_ms >= self->idle_ms + S_TOMBSTONE_MS) {
            s_wipe_slot(x);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

size_t web_sessions_count(web_sessions_t *self)
{
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->max; i++)
        n += self->slots[i].used == S_LIVE;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int web_csrf_ok(const web_session_t *s, const char *token)
{
    if (!s_token_shape(s->csrf) || !s_token_shape(token))
        return 0;
    return sodium_memcmp(s->csrf, token, WEB_TOKEN_LEN) == 0;
}
