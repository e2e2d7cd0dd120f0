#include "account.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

struct work {
    uv_work_t req;
    uint64_t api_id;
    char hash[crypto_pwhash_STRBYTES];
    char password[1025];
    bool ok;
    bool real; /* the account exists and has a password */
    int64_t account_id;
    bool admin;
    char username[64];
};

static struct {
    uv_loop_t *loop;
    struct store *st;
    const struct config *cfg;
    json_t *fails; /* "u:name" / "a:address" -> [count, window start ms] */
    char dummy_hash[crypto_pwhash_STRBYTES];
    int s_find, s_insert_token, s_revoke, s_roles;
} A;

static void count_key(char *key, size_t len, char kind, const char *v)
{
    snprintf(key, len, "%c:%s", kind, v);
}

/* Seconds to wait before another attempt, or 0. */
static int64_t limited(char kind, const char *v, int max)
{
    char key[160];
    count_key(key, sizeof(key), kind, v);
    json_t *e = json_object_get(A.fails, key);
    if (!e)
        return 0;
    int64_t count = json_integer_value(json_array_get(e, 0));
    int64_t start = json_integer_value(json_array_get(e, 1));
    int64_t window = (int64_t)A.cfg->identity_login_window_secs * 1000;
    int64_t now = (int64_t)util_mono_ms();
    if (now - start >= window) {
        json_object_del(A.fails, key);
        return 0;
    }
    return count >= max ? (start + window - now) / 1000 + 1 : 0;
}

static void record_failure(char kind, const char *v)
{
    char key[160];
    count_key(key, sizeof(key), kind, v);
    int64_t now = (int64_t)util_mono_ms();
    json_t *e = json_object_get(A.fails, key);
    if (!e || now - json_integer_value(json_array_get(e, 1)) >=
                  (int64_t)A.cfg->identity_login_window_secs * 1000) {
        if (json_object_size(A.fails) > 100000)
            json_object_clear(A.fails);
        json_object_set_new(A.fails, key, json_pack("[i, I]", 1, (json_int_t)now));
        return;
    }
    json_array_set_new(e, 0, json_integer(json_integer_value(json_array_get(e, 0)) + 1));
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---- login ---- */

static void on_token_stored(void *arg, const struct store_result *res, int status,
                            const char *errmsg)
{
    json_t *reply = arg;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(reply, "_req"));
    struct api_req *r = api_req_find(id);
    json_object_del(reply, "_req");
    if (!r) {
        json_decref(reply);
        return;
    }
    if (status) {
        json_decref(reply);
        api_reply_unavailable(r);
        return;
    }
    api_reply_json(r, 200, reply);
}

static void verify_work(uv_work_t *req)
{
    struct work *w = req->data;
    w->ok = auth_verify_password(w->real ? w->hash : A.dummy_hash, w->password) && w->real;
}

static void verify_done(uv_work_t *req, int status)
{
    struct work *w = req->data;
    struct api_req *r = api_req_find(w->api_id);
    sodium_memzero(w->password, sizeof(w->password));
    if (!r)
        goto out;
    if (!w->ok) {
        record_failure('u', w->username);
        record_failure('a', api_req_peer(r));
        log_info("account", "failed login%s", log_client(api_req_peer(r)));
        api_reply_error(r, 401, "invalid_credentials", "unknown user name or wrong password",
                        NULL);
        goto out;
    }
    char token[AUTH_TOKEN_HEX], unused[AUTH_ID_HEX], hash[AUTH_HASH_HEX], aid[24], ttl[16];
    auth_new_token(token, unused);
    auth_token_hash(token, hash);
    snprintf(aid, sizeof(aid), "%lld", (long long)w->account_id);
    snprintf(ttl, sizeof(ttl), "%d", A.cfg->identity_account_token_ttl_days);
    json_t *reply = json_pack("{s:s, s:s, s:b, s:I, s:I}", "token", token, "username",
                              w->username, "admin", w->admin, "expires_at",
                              (json_int_t)(util_wall_ms() +
                                           (int64_t)A.cfg->identity_account_token_ttl_days *
                                               86400000),
                              "_req", (json_int_t)w->api_id);
    const char *params[] = {hash, aid, ttl};
    if (store_exec(A.st, A.s_insert_token, STORE_WRITE, 3, params, on_token_stored, reply)) {
        json_decref(reply);
        api_reply_unavailable(r);
    }
    log_info("account", "login by account %lld", (long long)w->account_id);
out:
    free(w);
}

static void on_account_row(void *arg, const struct store_result *res, int status,
                           const char *errmsg)
{
    struct work *w = arg;
    struct api_req *r = api_req_find(w->api_id);
    if (!r || status) {
        if (r)
            api_reply_unavailable(r);
        sodium_memzero(w->password, sizeof(w->password));
        free(w);
        return;
    }
    if (store_result_rows(res) == 1 && store_result_value(res, 0, 1)) {
        w->real = true;
        w->account_id = store_result_int(res, 0, 0);
        snprintf(w->hash, sizeof(w->hash), "%s", store_result_value(res, 0, 1));
        w->admin = strcmp(store_result_value(res, 0, 2), "t") == 0;
    }
    /* Unknown users and accounts without a password get the same slow
     * verification against a dummy hash: timing does not tell them apart. */
    w->req.data = w;
    uv_queue_work(A.loop, &w->req, verify_work, verify_done);
}

static void login(struct api_req *r, const char *const *params, int n)
{
    json_t *body = api_req_json(r);
    json_t *u = json_object_get(body, "username"), *p = json_object_get(body, "password");
    if (!json_is_object(body)) {
        api_reply_error(r, 400, "bad_request", "expected a JSON object", NULL);
        return;
    }
    if (!json_is_string(u) || json_string_length(u) < 1 || json_string_length(u) > 63) {
        api_reply_error(r, 400, "bad_field", "username must be a string of 1 to 63 characters",
                        "username");
        return;
    }
    if (!json_is_string(p) || json_string_length(p) < 1 || json_string_length(p) > 1024) {
        api_reply_error(r, 400, "bad_field", "password must be a string of 1 to 1024 bytes",
                        "password");
        return;
    }
    struct work *w = xcalloc(1, sizeof(*w));
    snprintf(w->username, sizeof(w->username), "%s", json_string_value(u));
    lower(w->username);
    int64_t wait = HV_MAX(limited('u', w->username, A.cfg->identity_login_failures_per_account),
                          limited('a', api_req_peer(r), A.cfg->identity_login_failures_per_address));
    if (wait > 0) {
        char hdr[64];
        free(w);
        snprintf(hdr, sizeof(hdr), "Retry-After: %lld", (long long)wait);
        api_reply_header(r, hdr);
        json_t *o = json_pack("{s:s, s:s, s:I}", "error", "rate_limited", "message",
                              "too many failed logins; wait before trying again",
                              "retry_after_s", (json_int_t)wait);
        api_reply_json(r, 429, o);
        return;
    }
    w->api_id = api_req_id(r);
    snprintf(w->password, sizeof(w->password), "%s", json_string_value(p));
    const char *qp[] = {w->username};
    if (store_exec(A.st, A.s_find, STORE_READ, 1, qp, on_account_row, w)) {
        sodium_memzero(w->password, sizeof(w->password));
        free(w);
        api_reply_unavailable(r);
    }
}

/* ---- logout, me ---- */

static void on_revoked(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct api_req *r = api_req_find((uint64_t)(uintptr_t)arg);
    if (!r)
        return;
    if (status)
        api_reply_unavailable(r);
    else
        api_reply_json(r, 200, json_pack("{s:b}", "logged_out", 1));
}

static void logout(struct api_req *r, const char *const *params, int n)
{
    const struct caller *c = api_req_caller(r);
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated", "log in first", NULL);
        return;
    }
    const char *qp[] = {c->token_hash};
    if (store_exec(A.st, A.s_revoke, STORE_WRITE, 1, qp, on_revoked,
                   (void *)(uintptr_t)api_req_id(r)))
        api_reply_unavailable(r);
}

static void on_roles(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct api_req *r = api_req_find((uint64_t)(uintptr_t)arg);
    if (!r)
        return;
    if (status) {
        api_reply_unavailable(r);
        return;
    }
    const struct caller *c = api_req_caller(r);
    json_t *roles = json_array();
    for (int i = 0; i < store_result_rows(res); i++)
        json_array_append_new(roles, json_pack("{s:s, s:s}", "meeting",
                                               store_result_value(res, i, 0), "role",
                                               store_result_value(res, i, 1)));
    api_reply_json(r, 200, json_pack("{s:s, s:s, s:b, s:o}", "kind", "account", "username",
                                     c->username, "admin", c->admin, "roles", roles));
}

static void me(struct api_req *r, const char *const *params, int n)
{
    const struct caller *c = api_req_caller(r);
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated", "no token was given", NULL);
        return;
    }
    if (c->kind == CALLER_ATTENDEE) {
        api_reply_json(r, 200, json_pack("{s:s, s:b}", "kind", "attendee", "admin", 0));
        return;
    }
    char aid[24];
    snprintf(aid, sizeof(aid), "%lld", (long long)c->account_id);
    const char *qp[] = {aid};
    if (store_exec(A.st, A.s_roles, STORE_READ, 1, qp, on_roles, (void *)(uintptr_t)api_req_id(r)))
        api_reply_unavailable(r);
}

static const struct api_route routes[] = {
    {API_POST, "/api/login", login},
    {API_POST, "/api/logout", logout},
    {API_GET, "/api/me", me},
    {0, NULL, NULL},
};

static void dummy_work(uv_work_t *req)
{
    char password[32];
    randombytes_buf(password, sizeof(password) - 1);
    password[sizeof(password) - 1] = '\0';
    if (auth_hash_password(password, A.dummy_hash))
        A.dummy_hash[0] = '\0';
}

static void dummy_done(uv_work_t *req, int status)
{
    free(req);
}

int account_init(uv_loop_t *loop, struct store *st, const struct config *cfg)
{
    A.loop = loop;
    A.st = st;
    A.cfg = cfg;
    A.fails = json_object();
    A.s_find = store_prepare(st,
                             "SELECT id, password_hash, is_admin FROM accounts"
                             " WHERE username = $1 AND disabled_at IS NULL",
                             1);
    A.s_insert_token = store_prepare(
        st,
        "INSERT INTO account_tokens (token_hash, account_id, expires_at)"
        " VALUES (decode($1, 'hex'), $2, now() + make_interval(days => $3::int))"
        " ON CONFLICT DO NOTHING",
        3);
    A.s_revoke = store_prepare(
        st,
        "WITH a AS (UPDATE account_tokens SET revoked_at = now()"
        "   WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL RETURNING 1)"
        " UPDATE attendees SET revoked_at = now()"
        " WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL",
        1);
    A.s_roles = store_prepare(st,
                              "SELECT m.slug, r.role FROM meeting_roles r"
                              " JOIN meetings m ON m.id = r.meeting_id"
                              " WHERE r.account_id = $1 ORDER BY m.slug",
                              1);
    api_add_routes(routes);
    /* The dummy hash is made on the thread pool, not on the loop. */
    uv_work_t *req = xcalloc(1, sizeof(*req));
    return uv_queue_work(loop, req, dummy_work, dummy_done);
}

void account_cleanup(void)
{
    json_decref(A.fails);
    A.fails = NULL;
}
