#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum dtype { T_STRING, T_INT, T_NUMBER, T_LEVEL, T_STRLIST, T_BOOL, T_CHOICE };

struct directive {
    const char *key;      /* dotted JSON path */
    enum dtype type;
    size_t offset;
    double min, max;      /* numeric range, inclusive */
    const char *def;      /* default, in the same text form as env and flags */
    bool secret;          /* never echo the value */
    const char *doc;
    /* Every entry says `.live = true` or `.live = false` (the compiler asks for
     * it).  true: SIGHUP may change it in the running server, because every
     * reader reads it through the config pointer when it needs it (or is told,
     * see config_apply_live).  false: read once at start; a change is logged
     * as needing a restart.  When unsure, false. */
    bool live;
    /* T_CHOICE: the allowed words, NULL-terminated; the field holds the index. */
    const char *const *choices;
};

#define F(field) offsetof(struct config, field)

/* Same order as enum log_format and enum log_addresses. */
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const log_address_modes[] = {"none", "truncated", "full", NULL};

static const struct directive directives[] = {
    {"listen.address", T_STRING, F(listen_address), 0, 0, "127.0.0.1", false,
     "Address to listen on for HTTP and WebSocket. Use `::` for every address.", .live = false},
    {"listen.port", T_INT, F(listen_port), 1, 65535, "8080", false,
     "TCP port for HTTP and WebSocket.", .live = false},
    {"http.web_root", T_STRING, F(http_web_root), 0, 0, "web-client", false,
     "Directory of the browser client, served at `/`.", .live = false},
    {"http.allowed_origins", T_STRLIST, F(http_allowed_origins), 0, 0, "", false,
     "Origins allowed to open WebSockets (for example `https://meet.example.org`). "
     "Empty: only the same origin as the request's Host. Requests without Origin "
     "(non-browser clients) are allowed.", .live = true},
    {"http.trusted_proxies", T_STRLIST, F(http_trusted_proxies), 0, 0, "", false,
     "Addresses or prefixes of the reverse proxies in front of havend (for example "
     "`127.0.0.1` for nginx on the same host). An HTTP request from one of them that carries "
     "`X-Forwarded-For` counts as coming from the last address in that header (the one the "
     "proxy saw): login limits and logs then see each client. Empty: the connection's own "
     "address, always.",
     .live = true},
    {"http.public_url", T_STRING, F(http_public_url), 0, 0, "", false,
     "Base URL people use to reach this server (for example `https://meet.example.org`), "
     "used for join links in the directory, calendars and the Meeting Guide feed. Empty: "
     "`http://{listen.address}:{listen.port}` (127.0.0.1 for a wildcard address).", .live = false},
    {"http.crisis_file", T_STRING, F(http_crisis_file), 0, 0, "", false,
     "JSON file of the crisis-help entries the web client shows (see config/crisis-help.example.json). "
     "Empty: the built-in United States list (988 Suicide & Crisis Lifeline, SAMHSA's National "
     "Helpline). SIGHUP reads the file again; a broken one refuses the reload.", .live = true},
    {"tls.cert", T_STRING, F(tls_cert), 0, 0, "", false,
     "PEM certificate chain for TLS. With `tls.key` set too, the port serves only `https://` "
     "and `wss://` (OpenSSL, HTTP/1.1) and every HTTP response carries "
     "`Strict-Transport-Security`; plain HTTP to it is refused. Both empty: plain HTTP (for "
     "a TLS-terminating reverse proxy in front). An unreadable file stops the start.",
     .live = false},
    {"tls.key", T_STRING, F(tls_key), 0, 0, "", false,
     "PEM private key of `tls.cert` (keep it mode 0600; its contents are never logged).",
     .live = false},
    {"limits.connections_per_address", T_INT, F(limits_connections_per_address), 0, 1000000,
     "64", false,
     "Open TCP connections (HTTP and WebSocket) one client address may hold; further ones are "
     "closed at once and counted in `/metrics`. IPv6 addresses count by their /64. 0: no "
     "limit. Behind a reverse proxy every connection comes from the proxy's address: raise it "
     "or use 0 there and limit at the proxy.", .live = true},
    {"limits.handshake_timeout_secs", T_INT, F(limits_handshake_timeout_secs), 1, 300, "10",
     false,
     "A connection must finish its TLS handshake and send a complete HTTP request (or "
     "WebSocket upgrade) within this time, or it is closed: a slow or stalled client cannot "
     "hold a connection slot.", .live = false},
    {"limits.max_header_bytes", T_INT, F(limits_max_header_bytes), 1024, 32768, "4096", false,
     "Most bytes of request line and headers kept for one HTTP request; a request with more "
     "is refused by closing the connection.", .live = false},
    {"database.url", T_STRING, F(database_url), 0, 0, "postgresql:///haven", true,
     "libpq connection string or URI. Use a socket directory or `hostaddr=`: host names "
     "would be resolved by a blocking call.", .live = false},
    {"database.migrations_dir", T_STRING, F(database_migrations_dir), 0, 0, "", false,
     "Directory of `NNNN_name.sql` migrations. Empty: the migrations built into havend.",
     .live = false},
    {"database.connect_timeout_ms", T_INT, F(database_connect_timeout_ms), 100, 600000, "5000",
     false, "Give up on one connection attempt after this long.", .live = false},
    {"database.reconnect_max_ms", T_INT, F(database_reconnect_max_ms), 100, 600000, "5000",
     false, "Longest pause between reconnection attempts (backoff starts at 100 ms and doubles).",
     .live = false},
    {"store.batch_max", T_INT, F(store_batch_max), 1, 10000, "500", false,
     "Most writes committed in one transaction by the batching writer.", .live = true},
    {"store.queue_max", T_INT, F(store_queue_max), 1, 10000000, "10000", false,
     "Most writes waiting for the database; beyond it new messages are refused with "
     "`store_unavailable`.", .live = true},
    {"log.level", T_LEVEL, F(log_level), 0, 0, "info", false,
     "One of `debug`, `info`, `warn`, `error`.", .live = true},
    {"log.format", T_CHOICE, F(log_format), 0, 0, "text", false,
     "`text` (one line per event: time, level, subsystem, message) or `json` (one JSON object "
     "per line with `ts`, `level`, `sub` and `msg`, for log shippers).",
     .live = true, .choices = log_formats},
    {"log.client_addresses", T_CHOICE, F(log_client_addresses), 0, 0, "none", false,
     "Client addresses in log lines (failed logins, refused connections): `none`, `truncated` "
     "(the network only: /24 for IPv4, /48 for IPv6) or `full`.",
     .live = true, .choices = log_address_modes},
    {"metrics.enabled", T_BOOL, F(metrics_enabled), 0, 0, "true", false,
     "Serve `GET /metrics` (Prometheus text format) on the main port; `false` answers 404.",
     .live = true},
    {"metrics.allow", T_STRLIST, F(metrics_allow), 0, 0, "127.0.0.0/8, ::1", false,
     "Addresses or prefixes (`192.0.2.0/24`, `fd00::/8`) allowed to read `/metrics`; others get "
     "403, and so does a request that came through a proxy (it carries `X-Forwarded-For` or "
     "`X-Real-IP`), so a reverse proxy on the same host cannot expose it.",
     .live = true},
    {"ws.max_frame_bytes", T_INT, F(ws_max_frame_bytes), 256, 1048576, "16384", false,
     "Largest WebSocket message accepted; larger ones close the connection with 1009.",
     .live = true},
    {"ws.max_text_chars", T_INT, F(ws_max_text_chars), 1, 65536, "4000", false,
     "Longest message text, in characters.", .live = true},
    {"ws.ping_interval_secs", T_INT, F(ws_ping_interval_secs), 1, 3600, "30", false,
     "Send a WebSocket ping after this long without a pong.", .live = false},
    {"ws.ping_timeout_secs", T_INT, F(ws_ping_timeout_secs), 2, 7200, "40", false,
     "Drop a connection that has not answered a ping for this long.", .live = false},
    {"ws.send_queue_max", T_INT, F(ws_send_queue_max), 8, 65536, "1024", false,
     "Frames queued for one connection; a client that does not read is closed with 1013. "
     "Each committed batch reaches a room as one frame, but a sender's acks are one frame "
     "each: keep this above what ws.rate_per_sec lets one client send during an outage.",
     .live = true},
    {"ws.rate_per_sec", T_NUMBER, F(ws_rate_per_sec), 0.01, 10000, "5", false,
     "Requests per second a connection may sustain (token bucket refill rate).", .live = true},
    {"ws.rate_burst", T_INT, F(ws_rate_burst), 1, 100000, "20", false,
     "Requests a connection may send in a burst (token bucket size).", .live = true},
    {"ws.max_bad_frames", T_INT, F(ws_max_bad_frames), 1, 100000, "10", false,
     "Invalid frames tolerated per connection before it is closed with 1008.", .live = true},
    {"rooms.history_on_join", T_INT, F(rooms_history_on_join), 0, 10000, "200", false,
     "Recent events sent with the join snapshot.", .live = true},
    {"rooms.recent_events", T_INT, F(rooms_recent_events), 16, 1000000, "1000", false,
     "Recent events of each live session kept in memory for joins and resumes.", .live = false},
    {"rooms.reconnect_grace_secs", T_INT, F(rooms_reconnect_grace_secs), 0, 3600, "120", false,
     "Someone whose connection drops and who is back within this time skips the waiting room "
     "and keeps their place in the share queue.", .live = true},
    {"rooms.waiting_opens_minutes", T_INT, F(rooms_waiting_opens_minutes), 0, 1440, "15", false,
     "Minutes before a scheduled meeting's start when its waiting room opens. Earlier arrivals "
     "are told when it opens (`not_open_yet`); the meeting's chairs, co-chairs and admins may "
     "open it at any time by arriving. Meetings without a schedule, or without anyone named to "
     "chair them, are open at any time.", .live = true},
    {"rooms.auto_end_minutes", T_INT, F(rooms_auto_end_minutes), 0, 1440, "30", false,
     "A scheduled meeting's session ends by itself (`session_ended` with reason `auto`) once "
     "this many minutes have passed since its scheduled end and nobody is left in the meeting "
     "(the waiting room does not count; someone who dropped counts for the reconnect grace "
     "period).", .live = true},
    {"identity.token_ttl_days", T_INT, F(identity_token_ttl_days), 1, 3650, "30", false,
     "Days an attendee token stays valid.", .live = true},
    {"identity.account_token_ttl_days", T_INT, F(identity_account_token_ttl_days), 1, 365, "7",
     false, "Days a chair's or admin's login token stays valid.", .live = true},
    {"identity.login_failures_per_account", T_INT, F(identity_login_failures_per_account), 1,
     1000, "5", false,
     "Failed logins for one user name within the window before further attempts are refused.",
     .live = true},
    {"identity.login_failures_per_address", T_INT, F(identity_login_failures_per_address), 1,
     10000, "20", false,
     "Failed logins from one client address within the window before further attempts are "
     "refused.", .live = true},
    {"identity.login_window_secs", T_INT, F(identity_login_window_secs), 10, 86400, "900", false,
     "Length of the window for counting failed logins.", .live = true},
    {"transcripts.purge_interval_secs", T_INT, F(transcripts_purge_interval_secs), 10, 604800,
     "3600", false,
     "How often the retention purge looks for transcripts older than their meeting's "
     "`retention_days` (the first time a minute after the start, or sooner). An admin can run "
     "it at once with `POST /api/admin/purge`.", .live = false},
    {"transcripts.purge_batch", T_INT, F(transcripts_purge_batch), 1, 100000, "1000", false,
     "Most rows one statement of the retention purge deletes; it goes on, batch after batch "
     "in the ordered write queue, until nothing is due.", .live = false},
    {"cluster.enabled", T_BOOL, F(cluster_enabled), 0, 0, "false", false,
     "Run as one node of several behind a proxy that routes each meeting by slug (see "
     "docs/OPERATIONS.md, Scale-out). Each live session is then owned by one node through a "
     "PostgreSQL advisory lock; a connection for a session another node owns is closed with "
     "4503 and a retry hint. false: a single node, no locks.", .live = false},
    {"cluster.node_id", T_STRING, F(cluster_node_id), 0, 0, "", false,
     "This node's name in the cluster (letters, digits, `.`, `_`, `:`, `-`; at most 63), shown in "
     "`/healthz` and stored with the sessions it owns. Empty: the host name and `listen.port`, "
     "as `host:port`.", .live = false},
    {"slips.key_file", T_STRING, F(slips_key_file), 0, 0, "var/haven-attendance.key", false,
     "The Ed25519 key that signs attendance slips (relative paths start in the working "
     "directory). Made with mode 0600 on the first start, with its directory if that is "
     "missing; a key file others may read stops the start. Never logged. Back it up: slips "
     "signed with a lost key no longer verify against a new one.", .live = false},
};

#undef F

static const struct directive *find_key(const char *key)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++)
        if (strcmp(directives[i].key, key) == 0)
            return &directives[i];
    return NULL;
}

/* "listen-port", "listen_port" and "listen.port" all name listen.port. */
static const struct directive *find_flag(const char *flag)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        const char *k = directives[i].key;
        size_t j = 0;
        for (; k[j] && flag[j]; j++) {
            char a = k[j] == '.' || k[j] == '_' ? '-' : k[j];
            char b = flag[j] == '.' || flag[j] == '_' ? '-' : flag[j];
            if (a != b)
                break;
        }
        if (!k[j] && !flag[j])
            return &directives[i];
    }
    return NULL;
}

bool config_is_flag(const char *flag)
{
    return find_flag(flag) != NULL;
}

static void env_name(const struct directive *d, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "HAVEN_");
    for (const char *k = d->key; *k && n + 1 < len; k++)
        out[n++] = *k == '.' ? '_' : (char)toupper((unsigned char)*k);
    out[n] = '\0';
}

static void expected(const struct directive *d, char *out, size_t len)
{
    switch (d->type) {
    case T_STRING:
        snprintf(out, len, "a string");
        break;
    case T_INT:
        snprintf(out, len, "an integer from %.0f to %.0f", d->min, d->max);
        break;
    case T_NUMBER:
        snprintf(out, len, "a number from %g to %g", d->min, d->max);
        break;
    case T_LEVEL:
        snprintf(out, len, "one of debug, info, warn, error");
        break;
    case T_STRLIST:
        snprintf(out, len, "a list of strings (comma-separated outside JSON)");
        break;
    case T_BOOL:
        snprintf(out, len, "true or false");
        break;
    case T_CHOICE: {
        size_t n = (size_t)snprintf(out, len, "one of");
        for (int i = 0; d->choices[i] && n < len; i++)
            n += (size_t)snprintf(out + n, len - n, "%s %s", i ? "," : "", d->choices[i]);
        break;
    }
    }
}

static int fail(const struct directive *d, const char *shown, const char *source, char *err,
                size_t errlen)
{
    char exp[96];
    expected(d, exp, sizeof(exp));
    if (d->secret || !shown)
        util_err(err, errlen, "%s: expected %s (from %s)", d->key, exp, source);
    else
        util_err(err, errlen, "%s: expected %s, got \"%.60s\" (from %s)", d->key, exp, shown,
                 source);
    return HV_EINVAL;
}

static void strlist_clear(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void strlist_push(struct strlist *l, const char *s, size_t n)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = xstrndup(s, n);
}

/* Set a directive from text (defaults, environment, flags). */
static int set_text(struct config *cfg, const struct directive *d, const char *value,
                    const char *source, char *err, size_t errlen)
{
    void *field = (char *)cfg + d->offset;
    char *end;

    switch (d->type) {
    case T_STRING:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case T_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < d->min || v > d->max)
            return fail(d, value, source, err, errlen);
        *(int *)field = (int)v;
        return 0;
    }
    case T_NUMBER: {
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < d->min || v > d->max)
            return fail(d, value, source, err, errlen);
        *(double *)field = v;
        return 0;
    }
    case T_LEVEL: {
        int v = log_level_parse(value);
        if (v < 0)
            return fail(d, value, source, err, errlen);
        *(int *)field = v;
        return 0;
    }
    case T_STRLIST: {
        struct strlist *l = field;
        strlist_clear(l);
        for (const char *p = value; *p;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && isspace((unsigned char)*p)) {
                p++;
                n--;
            }
            while (n && isspace((unsigned char)p[n - 1]))
                n--;
            if (n)
                strlist_push(l, p, n);
            if (!comma)
                break;
            p = comma + 1;
        }
        return 0;
    }
    case T_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcmp(value, "yes") == 0)
            *(bool *)field = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
                 strcmp(value, "no") == 0)
            *(bool *)field = false;
        else
            return fail(d, value, source, err, errlen);
        return 0;
    case T_CHOICE:
        for (int i = 0; d->choices[i]; i++)
            if (strcmp(value, d->choices[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        return fail(d, value, source, err, errlen);
    }
    return HV_EINVAL;
}

/* Set a directive from a JSON value (config file). */
static int set_json(struct config *cfg, const struct directive *d, json_t *v, const char *source,
                    char *err, size_t errlen)
{
    void *field = (char *)cfg + d->offset;
    char shown[64];

    switch (d->type) {
    case T_STRING:
        if (!json_is_string(v))
            return fail(d, NULL, source, err, errlen);
        return set_text(cfg, d, json_string_value(v), source, err, errlen);
    case T_INT:
        if (!json_is_integer(v))
            return fail(d, NULL, source, err, errlen);
        if (json_integer_value(v) < d->min || json_integer_value(v) > d->max) {
            snprintf(shown, sizeof(shown), "%lld", (long long)json_integer_value(v));
            return fail(d, shown, source, err, errlen);
        }
        *(int *)field = (int)json_integer_value(v);
        return 0;
    case T_NUMBER:
        if (!json_is_number(v))
            return fail(d, NULL, source, err, errlen);
        if (json_number_value(v) < d->min || json_number_value(v) > d->max) {
            snprintf(shown, sizeof(shown), "%g", json_number_value(v));
            return fail(d, shown, source, err, errlen);
        }
        *(double *)field = json_number_value(v);
        return 0;
    case T_LEVEL:
        if (!json_is_string(v))
            return fail(d, NULL, source, err, errlen);
        return set_text(cfg, d, json_string_value(v), source, err, errlen);
    case T_STRLIST: {
        struct strlist fresh = {0};
        size_t i;
        json_t *item;
        if (!json_is_array(v))
            return fail(d, NULL, source, err, errlen);
        json_array_foreach(v, i, item) {
            if (!json_is_string(item)) {
                strlist_clear(&fresh);
                return fail(d, NULL, source, err, errlen);
            }
            strlist_push(&fresh, json_string_value(item), json_string_length(item));
        }
        strlist_clear((struct strlist *)field);
        *(struct strlist *)field = fresh;
        return 0;
    }
    case T_BOOL:
        if (!json_is_boolean(v))
            return fail(d, NULL, source, err, errlen);
        *(bool *)field = json_is_true(v);
        return 0;
    case T_CHOICE:
        if (!json_is_string(v))
            return fail(d, NULL, source, err, errlen);
        return set_text(cfg, d, json_string_value(v), source, err, errlen);
    }
    return HV_EINVAL;
}

void config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++)
        if (set_text(cfg, &directives[i], directives[i].def, "defaults", NULL, 0) != 0)
            log_fatalx("config", "bad built-in default for %s", directives[i].key);
}

void config_cleanup(struct config *cfg)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        void *field = (char *)cfg + directives[i].offset;
        if (directives[i].type == T_STRING)
            free(*(char **)field);
        else if (directives[i].type == T_STRLIST)
            strlist_clear(field);
    }
    memset(cfg, 0, sizeof(*cfg));
}

/* Walk an object of the file; prefix is the dotted path so far. */
static int load_object(struct config *cfg, json_t *obj, const char *prefix, const char *source,
                       char *err, size_t errlen)
{
    const char *name;
    json_t *v;

    json_object_foreach(obj, name, v) {
        char key[128];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", name);
        const struct directive *d = find_key(key);
        if (d) {
            int rc = set_json(cfg, d, v, source, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        /* A section: some directive starts with "key." */
        bool section = false;
        size_t kl = strlen(key);
        for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++)
            if (strncmp(directives[i].key, key, kl) == 0 && directives[i].key[kl] == '.')
                section = true;
        if (section && json_is_object(v)) {
            int rc = load_object(cfg, v, key, source, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (section)
            util_err(err, errlen, "%s: expected an object (from %s)", key, source);
        else
            util_err(err, errlen, "%s: unknown key (from %s)", key, source);
        return HV_EINVAL;
    }
    return 0;
}

static int load_root(struct config *cfg, json_t *root, json_error_t *jerr, const char *path,
                     char *err, size_t errlen)
{
    int rc = HV_EINVAL;
    if (!root) {
        util_err(err, errlen, "%s: line %d, column %d: %s", path, jerr->line, jerr->column,
                 jerr->text);
        goto out;
    }
    if (!json_is_object(root)) {
        util_err(err, errlen, "%s: expected a JSON object at the top level", path);
        goto out;
    }
    rc = load_object(cfg, root, "", path, err, errlen);
out:
    json_decref(root);
    return rc;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    return load_root(cfg, root, &jerr, path, err, errlen);
}

int config_load_buffer(struct config *cfg, const char *text, size_t len, const char *source,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    return load_root(cfg, root, &jerr, source, err, errlen);
}

int config_load_env(struct config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        char name[96];
        env_name(&directives[i], name, sizeof(name));
        const char *v = getenv(name);
        if (!v)
            continue;
        int rc = set_text(cfg, &directives[i], v, name, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

int config_set_flag(struct config *cfg, const char *flag, const char *value, const char *source,
                    char *err, size_t errlen)
{
    const struct directive *d = find_flag(flag);
    if (!d) {
        util_err(err, errlen, "unknown option --%s", flag);
        return HV_EINVAL;
    }
    return set_text(cfg, d, value, source, err, errlen);
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->ws_ping_timeout_secs <= cfg->ws_ping_interval_secs) {
        util_err(err, errlen, "ws.ping_timeout_secs: expected more than ws.ping_interval_secs (%d)",
                 cfg->ws_ping_interval_secs);
        return HV_EINVAL;
    }
    if (!*cfg->listen_address) {
        util_err(err, errlen, "listen.address: expected a non-empty address");
        return HV_EINVAL;
    }
    if (!*cfg->database_url) {
        util_err(err, errlen, "database.url: expected a non-empty connection string");
        return HV_EINVAL;
    }
    if (*cfg->http_public_url) {
        const char *u = cfg->http_public_url;
        const char *host = strncmp(u, "https://", 8) == 0  ? u + 8
                           : strncmp(u, "http://", 7) == 0 ? u + 7
                                                           : NULL;
        bool ok = host && *host && *host != '/' && !strpbrk(u, " \t\r\n?#\"<>\\");
        if (!ok) {
            util_err(err, errlen,
                     "http.public_url: expected a URL like https://host[:port][/path], got "
                     "\"%.60s\"",
                     u);
            return HV_EINVAL;
        }
    }
    if (strlen(cfg->cluster_node_id) > 63 ||
        strspn(cfg->cluster_node_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789._:-") != strlen(cfg->cluster_node_id)) {
        util_err(err, errlen,
                 "cluster.node_id: expected at most 63 letters, digits, '.', '_', ':' or '-', "
                 "got \"%.60s\"",
                 cfg->cluster_node_id);
        return HV_EINVAL;
    }
    if (!*cfg->tls_cert != !*cfg->tls_key) {
        util_err(err, errlen, "%s: expected a file when %s is set (TLS needs both)",
                 *cfg->tls_cert ? "tls.key" : "tls.cert", *cfg->tls_cert ? "tls.cert" : "tls.key");
        return HV_EINVAL;
    }
    /* Checked here so that a typo stops the start with the key's name instead of a failed
     * listener later (only readability: what OpenSSL thinks of the contents shows then). */
    const char *const tls[][2] = {{"tls.cert", cfg->tls_cert}, {"tls.key", cfg->tls_key}};
    for (size_t i = 0; i < HV_ARRAY_LEN(tls); i++) {
        FILE *f = *tls[i][1] ? fopen(tls[i][1], "r") : NULL;
        if (*tls[i][1] && !f) {
            util_err(err, errlen, "%s: cannot read \"%.200s\": %s", tls[i][0], tls[i][1],
                     strerror(errno));
            return HV_EINVAL;
        }
        if (f)
            fclose(f);
    }
    for (size_t i = 0; i < cfg->metrics_allow.n; i++) {
        if (util_addr_match(cfg->metrics_allow.v[i], "::1") < 0) {
            util_err(err, errlen,
                     "metrics.allow: expected addresses or prefixes like 127.0.0.0/8, got "
                     "\"%.60s\"",
                     cfg->metrics_allow.v[i]);
            return HV_EINVAL;
        }
    }
    for (size_t i = 0; i < cfg->http_trusted_proxies.n; i++) {
        if (util_addr_match(cfg->http_trusted_proxies.v[i], "::1") < 0) {
            util_err(err, errlen,
                     "http.trusted_proxies: expected addresses or prefixes like 127.0.0.1 or "
                     "10.0.0.0/8, got \"%.60s\"",
                     cfg->http_trusted_proxies.v[i]);
            return HV_EINVAL;
        }
    }
    for (size_t i = 0; i < cfg->http_allowed_origins.n; i++) {
        const char *o = cfg->http_allowed_origins.v[i];
        if (strncmp(o, "http://", 7) != 0 && strncmp(o, "https://", 8) != 0) {
            util_err(err, errlen,
                     "http.allowed_origins: expected origins like https://host[:port], got \"%.60s\"",
                     o);
            return HV_EINVAL;
        }
    }
    return 0;
}

int config_load_sources(struct config *cfg, const struct config_sources *src, char *err,
                        size_t errlen)
{
    config_init(cfg);
    if (src->path && config_load_file(cfg, src->path, err, errlen))
        return HV_EINVAL;
    if (config_load_env(cfg, err, errlen))
        return HV_EINVAL;
    for (int i = 0; i < src->nflags; i++) {
        char source[160];
        snprintf(source, sizeof(source), "--%s", src->flags[i]);
        if (config_set_flag(cfg, src->flags[i], src->values[i], source, err, errlen))
            return HV_EINVAL;
    }
    return config_validate(cfg, err, errlen);
}

static bool same_value(const struct directive *d, const void *a, const void *b)
{
    switch (d->type) {
    case T_STRING:
        return strcmp(*(char *const *)a, *(char *const *)b) == 0;
    case T_INT:
    case T_LEVEL:
    case T_CHOICE:
        return *(const int *)a == *(const int *)b;
    case T_NUMBER:
        return *(const double *)a == *(const double *)b;
    case T_BOOL:
        return *(const bool *)a == *(const bool *)b;
    case T_STRLIST: {
        const struct strlist *x = a, *y = b;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0)
                return false;
        return true;
    }
    }
    return false;
}

/* The value as people write it, for the log; secrets and lists are not shown. */
static void show_value(const struct directive *d, const void *field, char *out, size_t len)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    if (d->secret) {
        snprintf(out, len, "(secret)");
        return;
    }
    switch (d->type) {
    case T_STRING:
        snprintf(out, len, "\"%.60s\"", *(char *const *)field);
        break;
    case T_INT:
        snprintf(out, len, "%d", *(const int *)field);
        break;
    case T_NUMBER:
        snprintf(out, len, "%g", *(const double *)field);
        break;
    case T_LEVEL:
        snprintf(out, len, "%s", levels[*(const int *)field]);
        break;
    case T_CHOICE:
        snprintf(out, len, "%s", d->choices[*(const int *)field]);
        break;
    case T_BOOL:
        snprintf(out, len, "%s", *(const bool *)field ? "true" : "false");
        break;
    case T_STRLIST:
        snprintf(out, len, "%zu entries", ((const struct strlist *)field)->n);
        break;
    }
}

void config_apply_live(struct config *cfg, struct config *fresh, int *applied, int *restart)
{
    int nlive = 0, nrestart = 0;
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        char *cur = (char *)cfg + d->offset, *next = (char *)fresh + d->offset;
        char was[80], now[80];
        if (same_value(d, cur, next))
            continue;
        show_value(d, cur, was, sizeof(was));
        show_value(d, next, now, sizeof(now));
        if (!d->live) {
            log_warnx("config", "%s changed (%s -> %s): it needs a restart to take effect",
                      d->key, was, now);
            nrestart++;
            continue;
        }
        /* Swap rather than copy: fresh takes the old strings and lists and
         * frees them with itself. */
        size_t size = d->type == T_STRING    ? sizeof(char *)
                      : d->type == T_STRLIST ? sizeof(struct strlist)
                      : d->type == T_NUMBER  ? sizeof(double)
                      : d->type == T_BOOL    ? sizeof(bool)
                                             : sizeof(int);
        char tmp[sizeof(struct strlist) > sizeof(double) ? sizeof(struct strlist) : 8];
        memcpy(tmp, cur, size);
        memcpy(cur, next, size);
        memcpy(next, tmp, size);
        log_info("config", "%s changed (%s -> %s)", d->key, was, now);
        nlive++;
    }
    if (applied)
        *applied = nlive;
    if (restart)
        *restart = nrestart;
}

void config_apply_logging(const struct config *cfg)
{
    log_set_level((enum log_level)cfg->log_level);
    log_set_format((enum log_format)cfg->log_format);
    log_set_addresses((enum log_addresses)cfg->log_client_addresses);
}

/* Put value at the dotted path key inside root, creating sections. */
static void dump_put(json_t *root, const char *key, json_t *value)
{
    char path[128];
    snprintf(path, sizeof(path), "%s", key);
    json_t *obj = root;
    char *seg = path;
    for (char *dot; (dot = strchr(seg, '.')); seg = dot + 1) {
        *dot = '\0';
        json_t *next = json_object_get(obj, seg);
        if (!next) {
            next = json_object();
            json_object_set_new(obj, seg, next);
        }
        obj = next;
    }
    json_object_set_new(obj, seg, value);
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

char *config_dump(const struct config *cfg)
{
    json_t *root = json_object();
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        const void *field = (const char *)cfg + d->offset;
        json_t *v = NULL;
        switch (d->type) {
        case T_STRING:
            v = json_string(d->secret ? "(secret)" : *(char *const *)field);
            break;
        case T_INT:
            v = json_integer(*(const int *)field);
            break;
        case T_NUMBER:
            v = json_real(*(const double *)field);
            break;
        case T_LEVEL:
            v = json_string(level_names[*(const int *)field]);
            break;
        case T_STRLIST: {
            const struct strlist *l = field;
            v = json_array();
            for (size_t j = 0; j < l->n; j++)
                json_array_append_new(v, json_string(l->v[j]));
            break;
        }
        case T_BOOL:
            v = json_boolean(*(const bool *)field);
            break;
        case T_CHOICE:
            v = json_string(d->choices[*(const int *)field]);
            break;
        }
        dump_put(root, d->key, v);
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

void config_write_doc(FILE *out)
{
    fprintf(out, "# havend configuration\n\n"
                 "Generated by `havend --config-doc` from the directive table in `src/config.c`; "
                 "do not edit by hand.\n\n"
                 "Every key can be set in the JSON file given with `--config PATH` (nesting "
                 "follows the dots), in the environment as `HAVEN_<KEY>` (dots become "
                 "underscores, upper case; lists are comma-separated) or as a flag "
                 "`--<key>` (dots and underscores become dashes). Precedence: built-in "
                 "defaults < file < environment < flags. An invalid value stops havend with "
                 "exit status 2 and a message naming the key. `havend --check-config` "
                 "validates and exits.\n\n"
                 "`kill -HUP` (or `systemctl reload havend`) reads the same file, environment "
                 "and flags again. Keys marked *live* take effect at once (limits apply to the "
                 "next request they govern); a changed *restart* key is logged as needing a "
                 "restart and keeps its running value; an invalid file is refused with a log "
                 "line and the running settings stay.\n\n"
                 "| key | environment | flag | type | default | on SIGHUP | meaning |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < HV_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        char env[96], exp[96], flag[96];
        env_name(d, env, sizeof(env));
        expected(d, exp, sizeof(exp));
        snprintf(flag, sizeof(flag), "--%s", d->key);
        for (char *p = flag + 2; *p; p++)
            if (*p == '.' || *p == '_')
                *p = '-';
        fprintf(out, "| `%s` | `%s` | `%s` | %s | `%s` | %s | %s |\n", d->key, env, flag, exp,
                d->def, d->live ? "live" : "restart", d->doc);
    }
}
