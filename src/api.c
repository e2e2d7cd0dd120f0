#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define BODY_MAX (64 * 1024)
#define MAX_ROUTES 64
#define MAX_PARAMS 4

struct api_req {
    uint64_t id;
    void *conn;
    enum api_method method;
    char path[512];
    char peer[64];
    json_t *args;
    struct buf body;
    json_t *json;
    struct caller caller;
    bool replied;
    int status;
    char *reply;
    size_t reply_len;
    const char *ctype;
    struct buf headers;
    bool pending_auth;
};

static struct {
    struct store *st;
    const struct config *cfg;
    struct api_transport t;
    const struct api_route *routes[MAX_ROUTES];
    int nroutes;
    int s_caller;
    uint64_t next_id;
    json_t *live; /* id -> pointer, as an integer, for api_req_find */
} A;

int api_init(struct store *st, const struct config *cfg, const struct api_transport *t)
{
    A.st = st;
    A.cfg = cfg;
    A.t = *t;
    A.next_id = 1;
    A.live = json_object();
    A.s_caller = store_prepare(
        st,
        "SELECT 'attendee', a.id, 0, false, '' FROM attendees a"
        " WHERE a.token_hash = decode($1, 'hex') AND a.expires_at > now()"
        " AND a.revoked_at IS NULL"
        " UNION ALL"
        " SELECT 'account', acc.attendee_id, acc.id, acc.is_admin, acc.username"
        " FROM account_tokens t JOIN accounts acc ON acc.id = t.account_id"
        " WHERE t.token_hash = decode($1, 'hex') AND t.expires_at > now()"
        " AND t.revoked_at IS NULL AND acc.disabled_at IS NULL",
        1);
    return 0;
}

void api_cleanup(void)
{
    json_decref(A.live);
    A.live = NULL;
}

void api_add_routes(const struct api_route *routes)
{
    if (A.nroutes < MAX_ROUTES)
        A.routes[A.nroutes++] = routes;
}

struct store *api_store(void)
{
    return A.st;
}

const struct config *api_config(void)
{
    return A.cfg;
}

static void key_of(uint64_t id, char *key, size_t len)
{
    snprintf(key, len, "%llu", (unsigned long long)id);
}

struct api_req *api_req_new(void *conn, enum api_method method, const char *path,
                            const char *peer)
{
    struct api_req *r = xcalloc(1, sizeof(*r));
    char key[24];
    r->id = A.next_id++;
    r->conn = conn;
    r->method = method;
    snprintf(r->path, sizeof(r->path), "%s", path);
    snprintf(r->peer, sizeof(r->peer), "%s", peer ? peer : "");
    r->args = json_object();
    buf_init(&r->body);
    buf_init(&r->headers);
    key_of(r->id, key, sizeof(key));
    json_object_set_new(A.live, key, json_integer((json_int_t)(uintptr_t)r));
    return r;
}

static void req_free(struct api_req *r)
{
    char key[24];
    key_of(r->id, key, sizeof(key));
    json_object_del(A.live, key);
    json_decref(r->args);
    json_decref(r->json);
    buf_cleanup(&r->body);
    buf_cleanup(&r->headers);
    free(r->reply);
    free(r);
}

struct api_req *api_req_find(uint64_t id)
{
    char key[24];
    key_of(id, key, sizeof(key));
    json_t *v = json_object_get(A.live, key);
    struct api_req *r = v ? (struct api_req *)(uintptr_t)json_integer_value(v) : NULL;
    return r && r->conn ? r : NULL;
}

void api_req_detach(struct api_req *r)
{
    if (!r)
        return;
    r->conn = NULL;
    /* A request waiting on the database is freed when its answer comes. */
    if (!r->pending_auth)
        req_free(r);
}

void api_req_set_arg(struct api_req *r, const char *name, const char *value)
{
    json_object_set_new(r->args, name, json_string(value));
}

void api_req_set_bearer(struct api_req *r, const char *token)
{
    bool ok = strlen(token) == 64;
    for (int i = 0; ok && i < 64; i++)
        ok = (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f');
    if (ok)
        auth_token_hash(token, r->caller.token_hash);
    else
        snprintf(r->caller.token_hash, sizeof(r->caller.token_hash), "invalid");
}

bool api_req_body(struct api_req *r, const char *data, size_t len)
{
    if (r->body.len + len > BODY_MAX)
        return false;
    buf_add(&r->body, data, len);
    return true;
}

uint64_t api_req_id(const struct api_req *r)
{
    return r->id;
}

enum api_method api_req_method(const struct api_req *r)
{
    return r->method;
}

const char *api_req_arg(const struct api_req *r, const char *name)
{
    return json_string_value(json_object_get(r->args, name));
}

json_t *api_req_json(const struct api_req *r)
{
    return r->json;
}

const struct caller *api_req_caller(const struct api_req *r)
{
    return &r->caller;
}

const char *api_req_peer(const struct api_req *r)
{
    return r->peer;
}

/* ---- replies ---- */

static void set_reply(struct api_req *r, int status, const char *ctype, char *text, size_t len)
{
    if (r->replied) {
        free(text);
        return;
    }
    r->replied = true;
    r->status = status;
    r->ctype = ctype;
    r->reply = text;
    r->reply_len = len;
    if (r->conn && A.t.reply_ready)
        A.t.reply_ready(r->conn);
}

void api_reply_json(struct api_req *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    set_reply(r, status, "application/json", text, strlen(text));
}

void api_reply_error(struct api_req *r, int status, const char *code, const char *message,
                     const char *field)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
    if (field)
        json_object_set_new(o, "field", json_string(field));
    api_reply_json(r, status, o);
}

struct api_req *api_resume(uint64_t id, int status)
{
    struct api_req *r = api_req_find(id);
    if (r && status) {
        api_reply_unavailable(r);
        return NULL;
    }
    return r;
}

void api_reply_unavailable(struct api_req *r)
{
    api_reply_error(r, 503, "store_unavailable", "the database is unavailable; try again", NULL);
}

void api_reply_text(struct api_req *r, int status, const char *content_type, const char *text,
                    size_t len)
{
    set_reply(r, status, content_type, xstrndup(text, len), len);
}

void api_reply_header(struct api_req *r, const char *line)
{
    buf_adds(&r->headers, line);
    buf_adds(&r->headers, "\n");
}

const char *api_reply(const struct api_req *r, int *status, const char **content_type,
                      size_t *len, const char **extra_header)
{
    if (!r->replied)
        return NULL;
    *status = r->status;
    *content_type = r->ctype;
    *len = r->reply_len;
    *extra_header = r->headers.data;
    return r->reply;
}

/* ---- routing ---- */

bool api_match(const char *pattern, const char *path, char params[][128], int *n)
{
    *n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = path;
            /* A parameter runs to the next "/" or, for "{}.ics", to the suffix. */
            const char *suffix = pattern + 2;
            size_t sl = strcspn(suffix, "/");
            while (*end && *end != '/')
                end++;
            if (sl && (size_t)(end - path) > sl && strncmp(end - sl, suffix, sl) == 0)
                end -= sl;
            else if (sl)
                return false;
            if (end == path || *n >= MAX_PARAMS || (size_t)(end - path) >= 128)
                return false;
            snprintf(params[*n], 128, "%.*s", (int)(end - path), path);
            (*n)++;
            path = end;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return !*pattern && !*path;
}

static void route(struct api_req *r)
{
    char params[MAX_PARAMS][128];
    const char *pp[MAX_PARAMS];
    int n = 0;
    bool path_known = false;

    if (r->body.len) {
        json_error_t jerr;
        r->json = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!r->json) {
            api_reply_error(r, 400, "bad_json", "the request body is not valid JSON", NULL);
            return;
        }
    }
    for (int t = 0; t < A.nroutes; t++)
        for (const struct api_route *rt = A.routes[t]; rt->fn; rt++) {
            if (!api_match(rt->pattern, r->path, params, &n))
                continue;
            path_known = true;
            if (rt->method != r->method)
                continue;
            for (int i = 0; i < n; i++)
                pp[i] = params[i];
            rt->fn(r, pp, n);
            return;
        }
    if (path_known)
        api_reply_error(r, 405, "method_not_allowed", "this method is not allowed here", NULL);
    else
        api_reply_error(r, 404, "not_found", "no such resource", NULL);
}

static void on_caller(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct api_req *r = arg;
    r->pending_auth = false;
    if (!r->conn) {
        req_free(r);
        return;
    }
    if (status) {
        api_reply_unavailable(r);
        return;
    }
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 401, "invalid_token", "the token is unknown, expired or revoked",
                        NULL);
        return;
    }
    struct caller *c = &r->caller;
    c->kind = strcmp(store_result_value(res, 0, 0), "account") == 0 ? CALLER_ACCOUNT
                                                                    : CALLER_ATTENDEE;
    snprintf(c->attendee_id, sizeof(c->attendee_id), "%s", store_result_value(res, 0, 1));
    c->account_id = store_result_int(res, 0, 2);
    c->admin = strcmp(store_result_value(res, 0, 3), "t") == 0;
    snprintf(c->username, sizeof(c->username), "%s", store_result_value(res, 0, 4));
    route(r);
}

void api_req_run(struct api_req *r)
{
    if (!r->caller.token_hash[0]) {
        route(r);
        return;
    }
    if (strcmp(r->caller.token_hash, "invalid") == 0) {
        api_reply_error(r, 401, "invalid_token", "the token is malformed", NULL);
        return;
    }
    const char *params[] = {r->caller.token_hash};
    r->pending_auth = true;
    if (store_exec(A.st, A.s_caller, STORE_READ, 1, params, on_caller, r)) {
        r->pending_auth = false;
        api_reply_unavailable(r);
    }
}
