/* pay-keygen: makes CURVE key files and allow-list entries.
 *
 *   pay-keygen BASE
 *       writes BASE.key (public and secret, mode 0600) and BASE.pub
 *   pay-keygen --allow FILE --role ROLE --scope SCOPE --name NAME BASE.pub
 *       appends "<public> ROLE SCOPE NAME" to the allow-list FILE
 *       (SCOPE "-" means none)
 *
 * Exit status: 0 on success, 1 on failure, 2 on a usage error. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"

static int s_usage(void)
{
    fprintf(stderr,
            "usage: pay-keygen BASE\n"
            "       pay-keygen --allow FILE --role ROLE --scope SCOPE|- --name NAME BASE.pub\n"
            "roles: instructor governor industries finance employer service\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *allow = NULL, *role_name = NULL, *scope = NULL, *name = NULL, *arg = NULL;
    log_set_service("keygen");
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--allow") == 0)
            slot = &allow;
        else if (strcmp(argv[i], "--role") == 0)
            slot = &role_name;
        else if (strcmp(argv[i], "--scope") == 0)
            slot = &scope;
        else if (strcmp(argv[i], "--name") == 0)
            slot = &name;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage();
            return 0;
        } else if (argv[i][0] == '-' || arg)
            return s_usage();
        else
            arg = argv[i];
        if (slot) {
            if (i + 1 >= argc)
                return s_usage();
            *slot = argv[++i];
        }
    }
    if (!arg)
        return s_usage();

    if (!allow) {
        if (role_name || scope || name)
            return s_usage();
        auth_keypair_t kp;
        if (auth_keypair_new(&kp) != 0 || auth_keypair_save(&kp, arg) != 0)
            return 1;
        printf("%s\n", kp.public_z85);
        return 0;
    }

    auth_role_t role;
    auth_keypair_t kp;
    if (!role_name || !name)
        return s_usage();
    if (auth_role_parse(role_name, &role) != 0) {
        fprintf(stderr, "pay-keygen: unknown role \"%s\"\n", role_name);
        return 2;
    }
    if (auth_keypair_load(arg, &kp) != 0)
        return 1;
    if (auth_allow_file_append(allow, kp.public_z85, role, scope ? scope : "-", name) != 0)
        return 1;
    return 0;
}
