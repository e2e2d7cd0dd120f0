/*
 * havend: command line, configuration, then the server.
 *
 *   havend [migrate] [--config PATH] [--check-config] [--print-config]
 *          [--config-doc] [--<key> VALUE]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "auth.h"
#include "config.h"
#include "directory.h"
#include "log.h"
#include "server.h"
#include "slip.h"
#include "util.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: havend [migrate] [options]\n"
            "\n"
            "  (no command)     serve HTTP and WebSocket meetings\n"
            "  migrate          apply the database migrations and exit\n"
            "  user add NAME [--admin] [--no-password] | user passwd NAME | user del NAME\n"
            "  user list | role grant NAME MEETING ROLE | role revoke NAME MEETING\n"
            "                   manage chair and admin accounts (passwords from stdin)\n"
            "  meeting add | meeting edit SLUG | meeting show SLUG | meeting del SLUG\n"
            "  meeting list     manage the meeting directory; add and edit read a meeting\n"
            "                   as JSON on stdin, e.g. {\"slug\": \"tuesday-hope\",\n"
            "                   \"name\": \"Tuesday Hope\", \"time_zone\": \"America/Chicago\",\n"
            "                   \"days\": [2], \"start_time\": \"19:00\", \"types\": [\"O\"]}\n"
            "                   (fields: proto/API.md; edit changes only the fields given)\n"
            "  slip verify FILE [--key KEY] | slip key [--key KEY]\n"
            "                   check an attendance slip offline; print the signing key's\n"
            "                   public half (KEY: the server's published key or key file)\n"
            "\n"
            "  --config PATH    read settings from a JSON file\n"
            "  --check-config   validate the settings and exit\n"
            "  --print-config   print the effective settings as JSON and exit\n"
            "  --config-doc     print the documentation of every setting and exit\n"
            "  --<key> VALUE    set one setting, e.g. --listen-port 8081 (see config/README.md)\n"
            "  --help, --version\n");
}

static int config_error(const char *msg)
{
    fprintf(stderr, "havend: config: %s\n", msg);
    return 2;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[512];
    const char *config_path = NULL;
    bool check = false, print = false, migrate = false, accounts = false;
    int first = 1, rc = 2;
    char **cli = xcalloc((size_t)argc + 1, sizeof(char *));
    int ncli = 0;
    /* Kept until exit: SIGHUP reads the same sources again. */
    struct config_sources src = {
        .flags = xcalloc((size_t)argc + 1, sizeof(char *)),
        .values = xcalloc((size_t)argc + 1, sizeof(char *)),
    };
    char (*flag_names)[128] = xcalloc((size_t)argc + 1, sizeof(*flag_names));

    if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
        migrate = true;
        first = 2;
    } else if (argc > 1 && (strcmp(argv[1], "user") == 0 || strcmp(argv[1], "role") == 0 ||
                            strcmp(argv[1], "meeting") == 0 || strcmp(argv[1], "slip") == 0)) {
        accounts = true;
        cli[ncli++] = argv[1];
        first = 2;
    }
    /* First pass: the file must be read before the flags apply. */
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return config_error("--config needs a path");
            config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config_path = argv[i] + 9;
        }
    }

    config_init(&cfg);
    src.path = config_path;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--version") == 0) {
            printf("havend %s\n", HAVEN_VERSION);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--config-doc") == 0) {
            config_write_doc(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(a, "--check-config") == 0) {
            check = true;
            continue;
        }
        if (strcmp(a, "--print-config") == 0) {
            print = true;
            continue;
        }
        if (accounts && (strncmp(a, "--", 2) != 0 || strcmp(a, "--admin") == 0 ||
                         strcmp(a, "--no-password") == 0 || strcmp(a, "--key") == 0 ||
                         strncmp(a, "--key=", 6) == 0)) {
            cli[ncli++] = argv[i];
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "havend: unexpected argument \"%s\"\n", a);
            usage(stderr);
            goto out;
        }
        char *flag = flag_names[src.nflags];
        const char *value;
        const char *eq = strchr(a + 2, '=');
        if (eq) {
            snprintf(flag, sizeof(flag_names[0]), "%.*s", (int)(eq - a - 2), a + 2);
            value = eq + 1;
            if (!config_is_flag(flag)) {
                snprintf(err, sizeof(err), "unknown option --%s", flag);
                rc = config_error(err);
                goto out;
            }
        } else {
            snprintf(flag, sizeof(flag_names[0]), "%s", a + 2);
            if (!config_is_flag(flag)) {
                snprintf(err, sizeof(err), "unknown option --%s", flag);
                rc = config_error(err);
                goto out;
            }
            if (i + 1 >= argc) {
                snprintf(err, sizeof(err), "--%s needs a value", flag);
                rc = config_error(err);
                goto out;
            }
            value = argv[++i];
        }
        src.flags[src.nflags] = flag;
        src.values[src.nflags++] = value;
    }
    config_cleanup(&cfg);
    if (config_load_sources(&cfg, &src, err, sizeof(err))) {
        rc = config_error(err);
        goto out;
    }
    if (print) {
        char *text = config_dump(&cfg);
        printf("%s\n", text);
        free(text);
        rc = 0;
        goto out;
    }
    if (check) {
        printf("havend: config is valid\n");
        rc = 0;
        goto out;
    }

    config_apply_logging(&cfg);
    if (auth_init()) {
        fprintf(stderr, "havend: libsodium could not be initialised\n");
        rc = 1;
        goto out;
    }
    if (accounts && strcmp(cli[0], "meeting") == 0)
        rc = directory_cli(&cfg, ncli, cli);
    else if (accounts && strcmp(cli[0], "slip") == 0)
        rc = slip_cli(&cfg, ncli, cli);
    else if (accounts)
        rc = account_cli(&cfg, ncli, cli);
    else
        rc = migrate ? server_migrate(&cfg) : server_run(&cfg, &src);
out:
    free(cli);
    free(src.flags);
    free(src.values);
    free(flag_names);
    config_cleanup(&cfg);
    return rc;
}
