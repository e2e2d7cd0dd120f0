#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "live.h"
#include "log.h"
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

static struct lws_http_mount mount_files, mount_health, mount_api;

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
    api_reply_json(r, ok ? 200 : 503, o);
}

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
    api_init(c->store, c->cfg, &t);
    api_add_routes(health_routes);

    callback_mount(&mount_api, "/api", NULL);
    callback_mount(&mount_health, "/healthz", &mount_api);
    memset(&mount_files, 0, sizeof(mount_files));
    mount_files.mount_next = &mount_health;
    mount_files.mountpoint = "/";
    mount_files.mountpoint_len = 1;
    mount_files.origin = c->web_root;
    mount_files.def = "index.html";
    mount_files.origin_protocol = LWSMPRO_FILE;
    mount_files.cache_max_age = 300;
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

static void peer_of(struct lws *wsi, char *out, size_t len)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    /* lws listens dual-stack: present IPv4 peers plainly. */
    snprintf(out, len, "%s", strncmp(peer, "::ffff:", 7) == 0 ? peer + 7 : peer);
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
    if (reason == LWS_CALLBACK_WSI_DESTROY)
        ws_on_wsi_destroy(wsi);
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
