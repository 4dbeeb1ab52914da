/* web_route: see web_route.h. */
#include "web_route.h"

#include <stdio.h>
#include <string.h>

int web_param_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= WEB_PARAM_LEN || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void web_route_match(const web_route_t *table, const char *method, const char *path,
                     web_match_t *m)
{
    memset(m, 0, sizeof *m);
    m->status = 404;
    unsigned want = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? WEB_M_GET
                    : strcmp(method, "POST") == 0                            ? WEB_M_POST
                                                                             : 0;
    int api = 0;
    if (strncmp(path, "/api/", 5) == 0) {
        api = 1;
        path += 4;
    } else if (strcmp(path, "/api") == 0) {
        api = 1;
        path = "/";
    }
    for (const web_route_t *r = table; r->path; r++) {
        if (api && !r->api)
            continue;
        size_t len = strlen(r->path);
        const char *param = NULL;
        if (len > 1 && r->path[len - 1] == '/') {
            if (strncmp(path, r->path, len) != 0 || !web_param_ok(path + len))
                continue;
            param = path + len;
        } else if (strcmp(path, r->path) != 0) {
            continue;
        }
        if (!(r->methods & want)) {
            m->status = 405;
            continue;
        }
        m->route = r;
        m->api = api;
        m->status = 200;
        if (param)
            snprintf(m->param, sizeof m->param, "%s", param);
        return;
    }
}
