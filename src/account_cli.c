/*
 * The account command line:
 *   havend user add NAME [--admin] [--no-password]
 *   havend user passwd NAME
 *   havend user del NAME
 *   havend user list
 *   havend role grant NAME MEETING chair|co-chair|greeter
 *   havend role revoke NAME MEETING
 * Passwords come from standard input (one line) or, on a terminal, from a
 * prompt without echo; never from the command line.  This runs outside the
 * server loop, so it uses blocking libpq.
 */
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "account.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "util.h"

static int usage(void)
{
    fprintf(stderr, "usage: havend user add NAME [--admin] [--no-password]\n"
                    "       havend user passwd NAME\n"
                    "       havend user del NAME\n"
                    "       havend user list\n"
                    "       havend role grant NAME MEETING chair|co-chair|greeter\n"
                    "       havend role revoke NAME MEETING\n");
    return 2;
}

static bool read_line(const char *prompt, char *out, size_t len)
{
    bool tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    bool ok = fgets(out, (int)len, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok;
}

static int ask_password(const char *username, char *hash)
{
    char pw[1100], again[1100];
    int rc = 1;
    if (!read_line("New password: ", pw, sizeof(pw))) {
        fprintf(stderr, "havend: no password given on standard input\n");
        goto out;
    }
    if (isatty(STDIN_FILENO)) {
        if (!read_line("Again: ", again, sizeof(again)) || strcmp(pw, again) != 0) {
            fprintf(stderr, "havend: the passwords differ\n");
            goto out;
        }
    }
    const char *problem = auth_password_problem(pw, username);
    if (problem) {
        fprintf(stderr, "havend: %s\n", problem);
        goto out;
    }
    if (auth_hash_password(pw, hash)) {
        fprintf(stderr, "havend: hashing the password failed (out of memory?)\n");
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(pw, sizeof(pw));
    sodium_memzero(again, sizeof(again));
    return rc;
}

static PGresult *exec(PGconn *db, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23505") == 0)
            fprintf(stderr, "havend: that already exists\n");
        else if (state && strcmp(state, "23514") == 0)
            fprintf(stderr, "havend: user names are 2 to 32 lower-case letters, digits, '.', "
                            "'_' or '-', starting with a letter or digit\n");
        else
            fprintf(stderr, "havend: database error: %s",
                    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                        : "unknown\n");
        PQclear(res);
        return NULL;
    }
    return res;
}

static int user_add(PGconn *db, const char *name, bool admin, bool no_password)
{
    char hash[crypto_pwhash_STRBYTES] = "";
    char token[AUTH_TOKEN_HEX], id[AUTH_ID_HEX], th[AUTH_HASH_HEX];
    if (!no_password && ask_password(name, hash))
        return 1;
    auth_new_token(token, id);
    auth_token_hash(token, th);
    const char *params[] = {id, th, name, no_password ? NULL : hash, admin ? "t" : "f"};
    PGresult *res = exec(db,
                         "WITH a AS (INSERT INTO attendees (id, token_hash, display_name,"
                         "  expires_at) VALUES ($1, decode($2, 'hex'), $3, 'infinity')"
                         "  RETURNING id)"
                         " INSERT INTO accounts (username, password_hash, is_admin, attendee_id)"
                         " SELECT $3, $4, $5::boolean, id FROM a",
                         5, params);
    if (!res)
        return 1;
    PQclear(res);
    printf("user %s added%s%s\n", name, admin ? " (admin)" : "",
           no_password ? "; it cannot log in until a password is set with `havend user passwd`"
                       : "");
    return 0;
}

static int affected(PGresult *res, const char *what)
{
    if (!res)
        return 1;
    int n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n == 0) {
        fprintf(stderr, "havend: %s\n", what);
        return 1;
    }
    return 0;
}

static int user_passwd(PGconn *db, const char *name)
{
    char hash[crypto_pwhash_STRBYTES];
    if (ask_password(name, hash))
        return 1;
    const char *params[] = {name, hash};
    /* A new password ends every session of the old one. */
    int rc = affected(exec(db,
                           "WITH u AS (UPDATE accounts SET password_hash = $2 WHERE username = $1"
                           "  RETURNING id),"
                           " t AS (UPDATE account_tokens SET revoked_at = now()"
                           "  WHERE account_id IN (SELECT id FROM u) AND revoked_at IS NULL)"
                           " SELECT 1 FROM u",
                           2, params),
                      "no such user");
    if (!rc)
        printf("password of %s changed\n", name);
    return rc;
}

static int user_del(PGconn *db, const char *name)
{
    const char *params[] = {name};
    int rc = affected(exec(db, "DELETE FROM accounts WHERE username = $1", 1, params),
                      "no such user");
    if (!rc)
        printf("user %s deleted\n", name);
    return rc;
}

static int user_list(PGconn *db)
{
    PGresult *res = exec(db,
                         "SELECT a.username, a.is_admin, a.password_hash IS NOT NULL,"
                         " coalesce(string_agg(m.slug || ':' || r.role, ' ' ORDER BY m.slug), '')"
                         " FROM accounts a LEFT JOIN meeting_roles r ON r.account_id = a.id"
                         " LEFT JOIN meetings m ON m.id = r.meeting_id"
                         " GROUP BY a.id ORDER BY a.username",
                         0, NULL);
    if (!res)
        return 1;
    for (int i = 0; i < PQntuples(res); i++)
        printf("%s%s%s%s%s\n", PQgetvalue(res, i, 0),
               strcmp(PQgetvalue(res, i, 1), "t") == 0 ? " admin" : "",
               strcmp(PQgetvalue(res, i, 2), "t") == 0 ? "" : " (no password)",
               *PQgetvalue(res, i, 3) ? " " : "", PQgetvalue(res, i, 3));
    PQclear(res);
    return 0;
}

static int role_change(PGconn *db, bool grant, const char *name, const char *meeting,
                       const char *role)
{
    if (grant) {
        if (strcmp(role, "chair") && strcmp(role, "co-chair") && strcmp(role, "greeter")) {
            fprintf(stderr, "havend: the role must be chair, co-chair or greeter\n");
            return 2;
        }
        const char *params[] = {name, meeting, role};
        int rc = affected(exec(db,
                               "INSERT INTO meeting_roles (meeting_id, account_id, role)"
                               " SELECT m.id, a.id, $3 FROM meetings m, accounts a"
                               " WHERE m.slug = $2 AND a.username = $1"
                               " ON CONFLICT (meeting_id, account_id) DO UPDATE SET role = $3,"
                               " granted_at = now()",
                               3, params),
                          "no such user or meeting");
        if (!rc)
            printf("%s is %s of %s\n", name, role, meeting);
        return rc;
    }
    const char *params[] = {name, meeting};
    int rc = affected(exec(db,
                           "DELETE FROM meeting_roles r USING meetings m, accounts a"
                           " WHERE r.meeting_id = m.id AND r.account_id = a.id"
                           " AND m.slug = $2 AND a.username = $1",
                           2, params),
                      "that user has no role in that meeting");
    if (!rc)
        printf("%s has no role in %s any more\n", name, meeting);
    return rc;
}

int account_cli(const struct config *cfg, int argc, char **argv)
{
    PGconn *db = NULL;
    int rc = 2;
    bool admin = false, no_password = false;
    const char *pos[4] = {NULL};
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--admin") == 0)
            admin = true;
        else if (strcmp(argv[i], "--no-password") == 0)
            no_password = true;
        else if (npos < 4)
            pos[npos++] = argv[i];
        else
            return usage();
    }
    bool user = strcmp(argv[0], "user") == 0;
    if (!npos)
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
    rc = 2;
    if (user && strcmp(pos[0], "add") == 0 && npos == 2)
        rc = user_add(db, pos[1], admin, no_password);
    else if (user && strcmp(pos[0], "passwd") == 0 && npos == 2)
        rc = user_passwd(db, pos[1]);
    else if (user && strcmp(pos[0], "del") == 0 && npos == 2)
        rc = user_del(db, pos[1]);
    else if (user && strcmp(pos[0], "list") == 0 && npos == 1)
        rc = user_list(db);
    else if (!user && strcmp(pos[0], "grant") == 0 && npos == 4)
        rc = role_change(db, true, pos[1], pos[2], pos[3]);
    else if (!user && strcmp(pos[0], "revoke") == 0 && npos == 3)
        rc = role_change(db, false, pos[1], pos[2], NULL);
    else
        rc = usage();
out:
    PQfinish(db);
    return rc;
}
