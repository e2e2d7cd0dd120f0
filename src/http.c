#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "guard.h"
#include "live.h"
#include "live_owner.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "store.h"
#include "util.h"
#include "version.h"
#include "ws.h"

struct pss {
    struct api_req *req;
    int step; /* 0 headers, 1 body, 2 done */
};

static struct http_ctx *ctx;

static struct lws_http_mount mount_files, mount_health, mount_metrics, mount_api, mount_key,
    mount_verify, mount_app;

/* Read at start (never on the loop): the page served for a meeting's join
 * link /m/{slug}, and the crisis-help entries. */
static char *app_page;
static size_t app_page_len;
static char *crisis_json;

static const char default_crisis[] =
    "{\"region\":\"United States\",\"entries\":["
    "{\"name\":\"988 Suicide & Crisis Lifeline\",\"description\":\"For anyone in emotional "
    "distress, a suicidal crisis or a substance use crisis. Free and confidential, 24 hours a "
    "day, in English and Spanish.\",\"actions\":["
    "{\"label\":\"Call 988\",\"href\":\"tel:988\"},{\"label\":\"Text 988\",\"href\":\"sms:988\"},"
    "{\"label\":\"Chat online\",\"href\":\"https://988lifeline.org/chat/\"}]},"
    "{\"name\":\"SAMHSA National Helpline\",\"description\":\"Treatment referral and "
    "information about substance use and mental health. Free and confidential, 24 hours a day, "
    "every day of the year, in English and Spanish.\",\"actions\":["
    "{\"label\":\"Call 1-800-662-4357\",\"href\":\"tel:+18006624357\"}]}]}";

static void app(struct api_req *r, const char *const *params, int n)
{
    api_reply_text(r, 200, "text/html", app_page, app_page_len);
}

static void crisis(struct api_req *r, const char *const *params, int n)
{
    api_reply_json(r, 200, json_loads(crisis_json, 0, NULL));
}

/* Entries: [{name, description, actions: [{label, href}]}], hrefs tel:, sms:
 * or https: only (the page makes them links). */
static int check_crisis(json_t *doc, char *err, size_t errlen)
{
    json_t *entries = json_object_get(doc, "entries"), *e, *a;
    size_t i, j;
    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "region")) ||
        !json_is_array(entries) || !json_array_size(entries))
        goto bad;
    json_array_foreach(entries, i, e) {
        json_t *actions = json_object_get(e, "actions");
        if (!json_is_string(json_object_get(e, "name")) ||
            !json_is_string(json_object_get(e, "description")) || !json_is_array(actions))
            goto bad;
        json_array_foreach(actions, j, a) {
            const char *href = json_string_value(json_object_get(a, "href"));
            if (!json_is_string(json_object_get(a, "label")) || !href ||
                (strncmp(href, "tel:", 4) && strncmp(href, "sms:", 4) &&
                 strncmp(href, "https://", 8)))
                goto bad;
        }
    }
    return 0;
bad:
    util_err(err, errlen,
             "http.crisis_file: expected {\"region\", \"entries\": [{\"name\", \"description\", "
             "\"actions\": [{\"label\", \"href\": tel:, sms: or https:}]}]}");
    return HV_EINVAL;
}

static int load_static(const struct config *cfg, const char *web_root, char *err, size_t errlen)
{
    char path[4200];
    FILE *f;
    snprintf(path, sizeof(path), "%s/index.html", web_root);
    if ((f = fopen(path, "rb"))) {
        struct buf b;
        char chunk[4096];
        size_t n;
        buf_init(&b);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_add(&b, chunk, n);
        fclose(f);
        free(app_page);
        app_page = b.data ? b.data : xstrdup("");
        app_page_len = b.len;
    } else {
        free(app_page);
        app_page = xstrdup("");
        app_page_len = 0;
    }
    char *json = http_crisis_read(cfg, err, errlen);
    if (!json)
        return HV_EINVAL;
    http_crisis_set(json);
    return 0;
}

char *http_crisis_read(const struct config *cfg, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = *cfg->http_crisis_file ? json_load_file(cfg->http_crisis_file, 0, &jerr)
                                         : json_loads(default_crisis, 0, &jerr);
    if (!doc) {
        util_err(err, errlen, "http.crisis_file: %s: line %d: %s", cfg->http_crisis_file,
                 jerr.line, jerr.text);
        return NULL;
    }
    /* Tell the client whether this is the operator's list or Haven's own. */
    json_object_set_new(doc, "default", json_boolean(!*cfg->http_crisis_file));
    char *json = check_crisis(doc, err, errlen) ? NULL : json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return json;
}

bool http_crisis_set(char *json)
{
    bool changed = !crisis_json || strcmp(crisis_json, json) != 0;
    free(crisis_json);
    crisis_json = json;
    return changed;
}

void http_cleanup(void)
{
    free(app_page);
    free(crisis_json);
    app_page = crisis_json = NULL;
}

static void reply_ready(void *conn)
{
    lws_callback_on_writable(conn);
}

static void health(struct api_req *r, const char *const *params, int n)
{
    struct live_stats ls;
    enum store_state st = store_get_state(ctx->store);
    live_get_stats(ctx->live, &ls);
    bool ok = st == STORE_OK;
    json_t *o = json_pack(
        "{s:s, s:{s:s, s:I, s:I}, s:s, s:I, s:i, s:I, s:I}", "status", ok ? "ok" : "degraded",
        "database", "state", store_state_name(st), "queue_depth",
        (json_int_t)store_queue_depth(ctx->store), "rtt_us",
        (json_int_t)store_last_rtt_us(ctx->store), "version", HAVEN_VERSION, "uptime_s",
        (json_int_t)((util_mono_ms() - ctx->started_ms) / 1000), "connections",
        ws_connection_count(), "rooms", (json_int_t)ls.rooms, "joined", (json_int_t)ls.joined);
    json_t *cluster = live_owner_health(ctx->live); /* NULL unless clustered */
    if (cluster)
        json_object_set_new(o, "cluster", cluster);
    api_reply_json(r, ok ? 200 : 503, o);
}

/* A request that came through a proxy: the peer is the proxy, which says
 * nothing about who asked (a reverse proxy on this host is 127.0.0.1). */
static bool proxied(struct lws *wsi)
{
    return lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0;
}

static bool metrics_allowed(const char *peer)
{
    const struct strlist *allow = &ctx->cfg->metrics_allow;
    for (size_t i = 0; i < allow->n; i++)
        if (util_addr_match(allow->v[i], peer) == 1)
            return true;
    return false;
}

/* GET /metrics, answered here rather than through the API's routes: it needs
 * no caller (a bearer token would be looked up in the database, which may be
 * the thing that is down) and looks at the request's headers. */
static void metrics_page(struct lws *wsi, struct api_req *r)
{
    const char *states[STORE_STOPPED + 1];
    struct live_stats ls;
    struct buf b;

    if (!ctx->cfg->metrics_enabled) {
        api_reply_error(r, 404, "not_found", "no such resource", NULL);
        return;
    }
    if (proxied(wsi) || !metrics_allowed(api_req_peer(r))) {
        api_reply_error(r, 403, "forbidden", "metrics are not served to this address", NULL);
        return;
    }
    for (int i = 0; i <= STORE_STOPPED; i++)
        states[i] = store_state_name((enum store_state)i);
    live_get_stats(ctx->live, &ls);
    struct metrics_snapshot snap = {
        .version = HAVEN_VERSION,
        .connections = ws_connection_count(),
        .rooms = ls.rooms,
        .joined = ls.joined,
        .events_committed = ls.events_committed,
        .frames_in = ls.frames_in,
        .queue_depth = store_queue_depth(ctx->store),
        .queue_max = (size_t)ctx->cfg->store_queue_max,
        .db_state = (int)store_get_state(ctx->store),
        .db_states = states,
        .ndb_states = STORE_STOPPED + 1,
        .uptime_ms = util_mono_ms() - ctx->started_ms,
    };
    buf_init(&b);
    metrics_render(&b, &snap);
    api_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_cleanup(&b);
}

static const struct api_route app_routes[] = {
    {API_GET, "/m/{}", app},
    {API_GET, "/api/crisis-help", crisis},
    {0, NULL, NULL},
};

static const struct api_route health_routes[] = {
    {API_GET, "/healthz", health},
    {API_GET, "/healthz/", health},
    {0, NULL, NULL},
};

static void callback_mount(struct lws_http_mount *m, const char *point, struct lws_http_mount *next)
{
    memset(m, 0, sizeof(*m));
    m->mount_next = next;
    m->mountpoint = point;
    m->mountpoint_len = (unsigned char)strlen(point);
    m->origin = "haven-api";
    m->protocol = "haven-api";
    m->origin_protocol = LWSMPRO_CALLBACK;
}

const struct lws_http_mount *http_mounts(struct http_ctx *c, char *err, size_t errlen)
{
    static const struct api_transport t = {.reply_ready = reply_ready};
    ctx = c;
    if (!realpath(c->cfg->http_web_root, c->web_root)) {
        util_err(err, errlen, "http.web_root: %s: %s", c->cfg->http_web_root, strerror(errno));
        return NULL;
    }
    if (load_static(c->cfg, c->web_root, err, errlen))
        return NULL;
    api_init(c->store, c->cfg, &t);
    api_add_routes(health_routes);
    api_add_routes(app_routes);

    /* Attendance slips (slip.c): only the key's own path under /.well-known. */
    callback_mount(&mount_app, "/m", NULL);
    callback_mount(&mount_verify, "/verify", &mount_app);
    callback_mount(&mount_key, "/.well-known/haven-attendance-key", &mount_verify);
    callback_mount(&mount_api, "/api", &mount_key);
    callback_mount(&mount_metrics, "/metrics", &mount_api);
    callback_mount(&mount_health, "/healthz", &mount_metrics);
    memset(&mount_files, 0, sizeof(mount_files));
    mount_files.mount_next = &mount_health;
    mount_files.mountpoint = "/";
    mount_files.mountpoint_len = 1;
    mount_files.origin = c->web_root;
    mount_files.def = "index.html";
    mount_files.origin_protocol = LWSMPRO_FILE;
    /* Revalidate every time (ETag, 304): after an upgrade no browser mixes
     * old and new modules. */
    mount_files.cache_max_age = 1;
    mount_files.cache_reusable = 1;
    mount_files.cache_revalidate = 1;
    return &mount_files;
}

static enum api_method method_of(int m)
{
    switch (m) {
    case LWSHUMETH_GET:
        return API_GET;
    case LWSHUMETH_POST:
        return API_POST;
    case LWSHUMETH_PUT:
        return API_PUT;
    case LWSHUMETH_DELETE:
        return API_DELETE;
    default:
        return API_OTHER;
    }
}

static void collect(struct lws *wsi, struct api_req *r)
{
    char frag[1024], auth[256], *eq;
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
         i++) {
        if ((eq = strchr(frag, '='))) {
            *eq = '\0';
            api_req_set_arg(r, frag, eq + 1);
        } else {
            api_req_set_arg(r, frag, "");
        }
    }
    if (lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
        if (strncmp(auth, "Bearer ", 7) == 0)
            api_req_set_bearer(r, auth + 7);
        else
            api_req_set_bearer(r, "");
    }
}

/* The address a request came from: the TCP peer, or, when that peer is one
 * of http.trusted_proxies and the request carries X-Forwarded-For, the last
 * address in that header (the one the proxy saw; those before it are only
 * what the client claimed). */
static void peer_of(struct lws *wsi, char *out, size_t len)
{
    char peer[64] = "", xff[512], last[64];
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    /* lws listens dual-stack: present IPv4 peers plainly. */
    snprintf(out, len, "%s", strncmp(peer, "::ffff:", 7) == 0 ? peer + 7 : peer);
    const struct strlist *trusted = &ctx->cfg->http_trusted_proxies;
    bool from_proxy = false;
    for (size_t i = 0; i < trusted->n && !from_proxy; i++)
        from_proxy = util_addr_match(trusted->v[i], out) == 1;
    if (!from_proxy || lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    const char *p = strrchr(xff, ',');
    p = p ? p + 1 : xff;
    p += strspn(p, " \t");
    size_t n = strcspn(p, " \t");
    if (n == 0 || n >= sizeof(last))
        return;
    memcpy(last, p, n);
    last[n] = '\0';
    unsigned char bin[16];
    if (inet_pton(AF_INET, last, bin) == 1 || inet_pton(AF_INET6, last, bin) == 1)
        snprintf(out, len, "%s", last);
}

static int write_reply(struct lws *wsi, struct pss *pss)
{
    unsigned char hdr[LWS_PRE + 1024], *p = hdr + LWS_PRE, *end = hdr + sizeof(hdr) - 1;
    int status;
    size_t len;
    const char *ctype, *extra;
    const char *body = pss->req ? api_reply(pss->req, &status, &ctype, &len, &extra) : NULL;
    if (!body)
        return 0;
    if (pss->step == 0) {
        metrics_http_response(status);
        if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, len, &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)"no-store", 8, &p, end))
            return 1;
        for (const char *line = extra; line && *line;) {
            const char *nl = strchr(line, '\n');
            const char *colon = strchr(line, ':');
            char name[64];
            if (!nl || !colon || colon > nl || (size_t)(colon - line) >= sizeof(name) - 1)
                break;
            snprintf(name, sizeof(name), "%.*s:", (int)(colon - line), line);
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                            (const unsigned char *)v, (int)(nl - v), &p, end))
                return 1;
            line = nl + 1;
        }
        if (lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
            return 1;
        pss->step = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (pss->step == 1) {
        /* Bodies are small (JSON pages, calendars): one write with headroom. */
        unsigned char *out = xmalloc(LWS_PRE + len + 1);
        memcpy(out + LWS_PRE, body, len);
        int n = lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(out);
        if (n != (int)len)
            return 1;
        pss->step = 2;
        api_req_detach(pss->req);
        pss->req = NULL;
        if (lws_http_transaction_completed(wsi))
            return -1;
    }
    return 0;
}

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        char *uri = NULL, peer[64], path[512];
        int ulen = 0;
        int m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
        if (pss->req)
            api_req_detach(pss->req);
        memset(pss, 0, sizeof(*pss));
        snprintf(path, sizeof(path), "%.*s", uri ? ulen : 0, uri ? uri : "");
        peer_of(wsi, peer, sizeof(peer));
        pss->req = api_req_new(wsi, method_of(m), path, peer);
        if (strcmp(path, "/metrics") == 0 && m == LWSHUMETH_GET) {
            metrics_page(wsi, pss->req);
            return 0;
        }
        collect(wsi, pss->req);
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
            (m == LWSHUMETH_POST || m == LWSHUMETH_PUT || m == LWSHUMETH_DELETE))
            return 0; /* wait for the body */
        api_req_run(pss->req);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->req && !api_req_body(pss->req, in, len)) {
            api_reply_error(pss->req, 413, "too_large", "the request body is too large", NULL);
            return 0;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* Never fall through to the dummy here (TECH-NOTES §0.9). */
        if (pss->req) {
            int status;
            size_t l;
            const char *ct, *ex;
            if (!api_reply(pss->req, &status, &ct, &l, &ex))
                api_req_run(pss->req);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_reply(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss && pss->req) {
            api_req_detach(pss->req);
            pss->req = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int default_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                            void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        if (guard_on_accept((int)(intptr_t)in))
            return 1; /* lws closes the socket */
        break;
    case LWS_CALLBACK_WSI_CREATE:
        guard_on_wsi_create(wsi);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        guard_on_wsi_destroy(wsi);
        ws_on_wsi_destroy(wsi);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols *http_protocol_default(void)
{
    static const struct lws_protocols p = {.name = "http", .callback = default_callback};
    return &p;
}

const struct lws_protocols *http_protocol_api(void)
{
    static const struct lws_protocols p = {
        .name = "haven-api",
        .callback = api_callback,
        .per_session_data_size = sizeof(struct pss),
    };
    return &p;
}
