/* web_allow: see web_allow.h. */
#include "web_allow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int web_allow_lookup(const char *allow_file, const char *public_z85, auth_identity_t *out,
                     char err[AUTH_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (auth_allow_file_check(allow_file, err) != 0)
        return -1;
    FILE *f = fopen(allow_file, "re");
    if (!f) {
        snprintf(err, AUTH_ERR_LEN, "%s: %s", allow_file, strerror(errno));
        return -1;
    }
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL;
        char *key = strtok_r(line, " \t\r\n", &save);
        if (!key || strcmp(key, public_z85) != 0)
            continue;   /* a comment line never equals a key */
        char *role = strtok_r(NULL, " \t\r\n", &save);
        char *scope = strtok_r(NULL, " \t\r\n", &save);
        char *name = strtok_r(NULL, " \t\r\n", &save);
        auth_identity_t id;
        memset(&id, 0, sizeof id);
        if (!role || !scope || !name || auth_role_parse(role, &id.role) != 0)
            continue;   /* cannot happen in a file that passed the check */
        snprintf(id.scope, sizeof id.scope, "%s", strcmp(scope, "-") == 0 ? "" : scope);
        snprintf(id.name, sizeof id.name, "%s", name);
        *out = id;
        found = 1;
    }
    fclose(f);
    return found ? 0 : 1;
}
