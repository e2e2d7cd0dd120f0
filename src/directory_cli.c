/*
 * The meeting command line:
 *   havend meeting add < meeting.json       create (the JSON of POST /api/meetings)
 *   havend meeting edit SLUG < change.json  change the fields given (as PUT)
 *   havend meeting show SLUG                print the meeting as the API shows it
 *   havend meeting del SLUG                 delete it with everything stored about it
 *   havend meeting list                     one line per meeting
 * The input is validated by directory_validate(), exactly as the API does,
 * and written with the same statements.  This runs outside the server loop,
 * so it uses blocking libpq.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "directory.h"
#include "directory_int.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define INPUT_MAX (1024 * 1024)

static int usage(void)
{
    fprintf(stderr,
            "usage: havend meeting add < MEETING.json\n"
            "       havend meeting edit SLUG < CHANGES.json\n"
            "       havend meeting show SLUG\n"
            "       havend meeting del SLUG\n"
            "       havend meeting list\n"
            "The JSON is a meeting object as in proto/API.md, for example\n"
            "  {\"slug\": \"tuesday-hope\", \"name\": \"Tuesday Hope\", \"time_zone\": "
            "\"America/Chicago\",\n"
            "   \"days\": [2], \"start_time\": \"19:00\", \"types\": [\"O\", \"D\"]}\n");
    return 2;
}

static PGresult *exec(PGconn *db, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        fprintf(stderr, "havend: database error: %s\n", primary ? primary : "unknown");
        PQclear(res);
        return NULL;
    }
    return res;
}

/* The JSON document on standard input (a new reference), or NULL. */
static json_t *read_input(void)
{
    json_error_t jerr;
    struct buf b;
    char chunk[4096];
    size_t n;
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (b.len + n > INPUT_MAX) {
            fprintf(stderr, "havend: the input is larger than %d bytes\n", INPUT_MAX);
            buf_cleanup(&b);
            return NULL;
        }
        buf_add(&b, chunk, n);
    }
    json_t *v = b.len ? json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!v)
        fprintf(stderr, "havend: expected a JSON object on standard input%s%s\n",
                b.len ? ": " : "", b.len ? jerr.text : "");
    buf_cleanup(&b);
    return v;
}

static int validate(json_t *in, bool create, json_t **out)
{
    char field[96], msg[256];
    if (directory_validate(in, create, out, field, sizeof(field), msg, sizeof(msg))) {
        fprintf(stderr, "havend: invalid %s: %s\n", *field ? field : "input", msg);
        return 2;
    }
    return 0;
}

static int check_zone(PGconn *db, json_t *valid)
{
    const char *tz = json_string_value(json_object_get(valid, "time_zone"));
    if (!tz)
        return 0;
    const char *qp[] = {tz};
    PGresult *res = exec(db, directory__sql_zone_known, 1, qp);
    if (!res)
        return 1;
    int rows = PQntuples(res);
    PQclear(res);
    if (rows == 0) {
        fprintf(stderr, "havend: invalid time_zone: \"%s\" is not a time zone PostgreSQL knows; "
                        "use an IANA name such as America/Chicago\n", tz);
        return 2;
    }
    return 0;
}

/* The meeting as the API shows it, or NULL (message printed). */
static json_t *fetch(PGconn *db, const struct config *cfg, const char *slug)
{
    char base[512];
    const char *qp[] = {slug};
    PGresult *res = exec(db, directory__sql_one, 1, qp);
    json_t *m = NULL;
    if (!res)
        return NULL;
    directory__public_url(cfg, base, sizeof(base));
    if (PQntuples(res) == 1)
        m = directory__meeting(PQgetvalue(res, 0, 0), base);
    else
        fprintf(stderr, "havend: no meeting has the slug \"%s\"\n", slug);
    PQclear(res);
    return m;
}

static void print_next(json_t *m)
{
    json_t *next = json_object_get(m, "next_occurrence");
    if (json_is_object(next))
        printf("next: %s (%s, %s)\n", json_string_value(json_object_get(next, "start_local")),
               json_string_value(json_object_get(next, "time_zone")),
               json_string_value(json_object_get(next, "start_utc")));
}

static int meeting_add(PGconn *db, const struct config *cfg)
{
    json_t *in = NULL, *valid = NULL, *m = NULL;
    struct directory__params p = {0};
    PGresult *res = NULL;
    int rc = 2;
    char ms[24];

    if (!(in = read_input()))
        goto out;
    if ((rc = validate(in, true, &valid)) || (rc = check_zone(db, valid)))
        goto out;
    directory__params_fill(&p, valid);
    snprintf(ms, sizeof(ms), "%lld", (long long)util_wall_ms());
    directory__params_set(&p, DIRECTORY_NFIELDS, ms);
    rc = 1;
    if (!(res = exec(db, directory__sql_insert, DIRECTORY_INSERT_NPARAMS,
                     (const char *const *)p.v)))
        goto out;
    const char *slug = json_string_value(json_object_get(valid, "slug"));
    if (PQntuples(res) == 0) {
        fprintf(stderr, "havend: invalid slug: another meeting already has the slug \"%s\"\n",
                slug);
        goto out;
    }
    printf("meeting %s added\n", slug);
    if ((m = fetch(db, cfg, slug)))
        print_next(m);
    rc = 0;
out:
    PQclear(res);
    directory__params_cleanup(&p);
    json_decref(in);
    json_decref(valid);
    json_decref(m);
    return rc;
}

static int meeting_edit(PGconn *db, const struct config *cfg, const char *slug)
{
    json_t *in = NULL, *valid = NULL, *m = NULL;
    struct directory__params p = {0};
    PGresult *res = NULL, *found = NULL;
    int rc = 2;
    const char *qp[] = {slug, "0"};

    if (!(in = read_input()))
        goto out;
    if ((rc = validate(in, false, &valid)))
        goto out;
    const char *given = json_string_value(json_object_get(valid, "slug"));
    if (given && strcmp(given, slug) != 0) {
        fprintf(stderr, "havend: invalid slug: the slug cannot be changed\n");
        rc = 2;
        goto out;
    }
    rc = 1;
    if (!(found = exec(db, directory__sql_role, 2, qp)))
        goto out;
    if (PQntuples(found) == 0) {
        fprintf(stderr, "havend: no meeting has the slug \"%s\"\n", slug);
        goto out;
    }
    if ((rc = check_zone(db, valid)))
        goto out;
    rc = 1;
    directory__params_fill(&p, valid);
    /* The command line acts as an admin: whoever can run it owns the database. */
    directory__params_set(&p, 19, PQgetvalue(found, 0, 0));
    directory__params_set(&p, 20, "t");
    directory__params_set(&p, 21, "0");
    if (!(res = exec(db, directory__sql_update, DIRECTORY_UPDATE_NPARAMS,
                     (const char *const *)p.v)))
        goto out;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "havend: the meeting \"%s\" is gone\n", slug);
        goto out;
    }
    printf("meeting %s changed\n", slug);
    if ((m = fetch(db, cfg, slug)))
        print_next(m);
    rc = 0;
out:
    PQclear(res);
    PQclear(found);
    directory__params_cleanup(&p);
    json_decref(in);
    json_decref(valid);
    json_decref(m);
    return rc;
}

static int meeting_show(PGconn *db, const struct config *cfg, const char *slug)
{
    json_t *m = fetch(db, cfg, slug);
    if (!m)
        return 1;
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(m);
    return 0;
}

static int meeting_del(PGconn *db, const char *slug)
{
    const char *qp[] = {slug, "0"};
    PGresult *found = exec(db, directory__sql_role, 2, qp);
    PGresult *res = NULL;
    int rc = 1;
    if (!found)
        goto out;
    if (PQntuples(found) == 0) {
        fprintf(stderr, "havend: no meeting has the slug \"%s\"\n", slug);
        goto out;
    }
    const char *dp[] = {PQgetvalue(found, 0, 0), "t", "0"};
    if (!(res = exec(db, directory__sql_delete, 3, dp)))
        goto out;
    printf("meeting %s deleted\n", slug);
    rc = 0;
out:
    PQclear(found);
    PQclear(res);
    return rc;
}

static int meeting_list(PGconn *db, const struct config *cfg)
{
    char base[512];
    const char *qp[DIRECTORY_LIST_NPARAMS] = {NULL, NULL, NULL, NULL, NULL, "100000", "0"};
    PGresult *res = exec(db, directory__sql_list, DIRECTORY_LIST_NPARAMS, qp);
    static const char *const names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    if (!res)
        return 1;
    directory__public_url(cfg, base, sizeof(base));
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *m = directory__meeting(PQgetvalue(res, i, 0), base), *v;
        size_t k;
        struct buf days, types;
        if (!m)
            continue;
        buf_init(&days);
        buf_init(&types);
        json_array_foreach(json_object_get(m, "days"), k, v)
            buf_printf(&days, "%s%s", k ? "," : "", names[json_integer_value(v) % 7]);
        json_array_foreach(json_object_get(m, "types"), k, v)
            buf_printf(&types, "%s%s", k ? "," : "", json_string_value(v));
        printf("%s\t%s\t%s %s %s\t%s\n", json_string_value(json_object_get(m, "slug")),
               json_string_value(json_object_get(m, "name")), days.len ? days.data : "-",
               json_string_value(json_object_get(m, "start_time")),
               json_string_value(json_object_get(m, "time_zone")),
               types.len ? types.data : "-");
        buf_cleanup(&days);
        buf_cleanup(&types);
        json_decref(m);
    }
    PQclear(res);
    return 0;
}

int directory_cli(const struct config *cfg, int argc, char **argv)
{
    PGconn *db = NULL;
    int rc;
    const char *cmd = argc > 1 ? argv[1] : "";

    bool one = strcmp(cmd, "edit") == 0 || strcmp(cmd, "show") == 0 || strcmp(cmd, "del") == 0;
    bool none = strcmp(cmd, "add") == 0 || strcmp(cmd, "list") == 0;
    if (!((one && argc == 3) || (none && argc == 2)))
        return usage();
    /* The schema first, through the server's own migration path. */
    enum log_level saved = log_get_level();
    log_set_level(LOG_WARN);
    rc = server_migrate(cfg);
    log_set_level(saved);
    if (rc)
        return rc;
    db = PQconnectdb(cfg->database_url);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "havend: cannot connect to the database: %s", PQerrorMessage(db));
        rc = 1;
        goto out;
    }
    if (strcmp(cmd, "add") == 0)
        rc = meeting_add(db, cfg);
    else if (strcmp(cmd, "edit") == 0)
        rc = meeting_edit(db, cfg, argv[2]);
    else if (strcmp(cmd, "show") == 0)
        rc = meeting_show(db, cfg, argv[2]);
    else if (strcmp(cmd, "del") == 0)
        rc = meeting_del(db, argv[2]);
    else
        rc = meeting_list(db, cfg);
out:
    PQfinish(db);
    return rc;
}
