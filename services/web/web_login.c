/* web_login: the login and logout pages and the static files. See
 * web_pages.h.
 *
 * Logging in: the login form carries a token that must equal the
 * pw_login cookie set with it (a double-submit token: another site can
 * neither read the cookie nor set it). The login name and the client's
 * address are each checked against the throttle first, so a locked name
 * or address costs no Argon2 work and even the right password waits. The
 * key store unlocks the login's key pair with the password; the
 * allow-list must still list its public key with role finance or
 * employer; then a session is opened and its id set as the pw_session
 * cookie (HttpOnly, SameSite=Strict, and Secure unless pay-web was
 * started with --insecure-http --no-secure-cookie). The key pair is copied into the session table and wiped here. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "web_allow.h"
#include "web_pages.h"

static int s_next_ok(const char *next)
{
    return next && next[0] == '/' && next[1] != '/' && !strchr(next, '\\') &&
           web_text_ok(next, 200);
}

static void s_login_form(web_req_t *r, web_view_t *v, const char *token, const char *name,
                         const char *next)
{
    web_buf_t b;
    web_buf_init(&b, 0);
    web_buf_str(&b, "<form class=\"login\" method=\"post\" action=\"/login\">");
    web_form_hidden(&b, "csrf", token);
    if (s_next_ok(next))
        web_form_hidden(&b, "next", next);
    web_form_input(&b, "text", "login", "Login", name, NULL);
    web_form_input(&b, "password", "password", "Password", NULL, NULL);
    web_form_submit(&b, "Log in", NULL);
    web_form_end(&b);
    web_view_form(v, b.data);
    web_buf_release(&b);
    (void)r;
}

int web_page_login(web_req_t *r)
{
    if (!r->is_post) {
        if (r->has_session) {
            web_redirect(r, "/");
            return 0;
        }
        const char *expired = web_arg(r, "expired"), *next = web_arg(r, "next");
        if (web_failed(r))
            return 0;
        char token[WEB_TOKEN_LEN + 1];
        web_token_new(token);
        web_set_cookie(r, "pw_login", token, "/login", -1);
        web_view_t *v = web_page(r, "Log in");
        if (!v)
            return 0;
        if (expired)
            web_view_note(v, "warn", "your session ended after a time without use; log in again");
        s_login_form(r, v, token, NULL, next);
        return 0;
    }
    web_app_t *app = r->app;
    const char *name = web_form_get(&r->form, "login");
    const char *password = web_form_get(&r->form, "password");
    const char *next = web_form_get(&r->form, "next");
    const char *token = web_form_get(&r->form, "csrf");
    char shown[WEB_LOGIN_LEN] = "";
    if (name && web_text_ok(name, WEB_LOGIN_LEN - 1))
        snprintf(shown, sizeof shown, "%s", name);
    char akey[96], nkey[96];
    snprintf(akey, sizeof akey, "addr:%s", r->client_addr);
    snprintf(nkey, sizeof nkey, "login:%s", shown);
    int64_t now = clock_mono_ms();
    int64_t wait = web_throttle_wait_ms(app->throttle_addr, akey, now);
    int64_t wait2 = web_throttle_wait_ms(app->throttle, nkey, now);
    if (wait2 > wait)
        wait = wait2;
    int status = 0;
    const char *why = NULL;
    auth_keypair_t kp;
    memset(&kp, 0, sizeof kp);
    if (wait > 0) {
        status = 429;
        snprintf(r->retry_after, sizeof r->retry_after, "%lld", (long long)((wait + 999) / 1000));
        web_metrics_count_login("throttled");
        log_warn("web.login", "throttled login for \"%s\" from %s (%lld ms to wait)", shown,
                 r->client_addr, (long long)wait);
    } else if (!web_login_name_ok(name) || !password || strlen(password) > WEB_PASSWORD_MAX) {
        status = 401;
        web_throttle_fail(app->throttle_addr, akey, now);
        web_metrics_count_login("failed");
    } else {
        sem_wait(&app->unlock_slots);
        int rc = web_keystore_unlock(app->keystore, name, password, &kp);
        sem_post(&app->unlock_slots);
        if (rc != 0) {
            status = rc < 0 ? 500 : 401;
            if (rc > 0) {
                web_throttle_fail(app->throttle_addr, akey, now);
                web_throttle_fail(app->throttle, nkey, now);
            }
            web_metrics_count_login("failed");
            log_warn("web.login", "failed login for \"%s\" from %s", shown, r->client_addr);
        }
    }
    auth_identity_t who;
    memset(&who, 0, sizeof who);
    if (!status) {
        char err[AUTH_ERR_LEN];
        int rc = web_allow_lookup(app->allow_file, kp.public_z85, &who, err);
        if (rc < 0) {
            status = 500;
            log_error("web.login", "cannot read the allow-list: %s", err);
            why = "the allow-list cannot be read";
        } else if (rc > 0) {
            status = 403;
            why = "this login's key is not on the services' allow-list";
        } else if (who.role != ROLE_FINANCE && who.role != ROLE_EMPLOYER) {
            status = 403;
            why = "pay-web serves finance and employer logins only";
        } else if (who.role == ROLE_EMPLOYER && !who.scope[0]) {
            status = 403;
            why = "this employer key has no employer scope";
        }
        if (status)
            web_metrics_count_login("refused");
    }
    if (!status) {
        web_session_t s;
        if (web_sessions_open(app->sessions, name, &who, &kp, now, &s) != 0) {
            status = 500;
        } else {
            web_throttle_clear(app->throttle, nkey);
            web_set_cookie(r, "pw_session", s.sid, "/", -1);
            web_set_cookie(r, "pw_login", "", "/login", 0);
            log_info("web.login", "%s logged in from %s (%s %s)", name, r->client_addr,
                     auth_role_name(who.role), who.scope[0] ? who.scope : "-");
            web_metrics_count_login("ok");
            web_redirect(r, s_next_ok(next) ? next : "/");
            web_session_wipe(&s);
        }
    }
    sodium_memzero(&kp, sizeof kp);
    if (!status)
        return 0;
    web_view_t *v = web_page(r, "Log in");
    if (!v)
        return 0;
    r->status = status;
    if (status == 429)
        web_view_note(v, "error", "too many failed logins; wait %s seconds and try again",
                      r->retry_after);
    else if (status == 401)
        web_view_note(v, "error", "wrong login name or password");
    else
        web_view_note(v, "error", "%s", why ? why : "the login could not be completed");
    s_login_form(r, v, token ? token : "", shown, next);
    return 0;
}

int web_page_logout(web_req_t *r)
{
    const char *sid = web_cookie(r, "pw_session");
    if (sid)
        web_sessions_close(r->app->sessions, sid);
    log_info("web.logout", "%s logged out", r->session.login);
    web_set_cookie(r, "pw_session", "", "/", 0);
    web_redirect(r, "/login");
    return 0;
}

int web_page_static(web_req_t *r)
{
    const char *type = NULL;
    const char *body = web_static_file(r->match.param, &type);
    if (!body)
        return web_fail(r, 404, "there is no file %s", r->match.param);
    char *copy = strdup(body);
    if (!copy)
        return web_fail(r, 500, "out of memory");
    web_download(r, type, NULL, copy, strlen(copy));
    return 0;
}
