#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "live.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "util.h"
#include "version.h"
#include "ws.h"

struct pss {
    int status;
    char *body; /* LWS_PRE headroom first */
    size_t len;
    int step;   /* 0 headers, 1 body */
};

static struct http_ctx *ctx;

static struct lws_http_mount mount_files, mount_health;

const struct lws_http_mount *http_mounts(struct http_ctx *c, char *err, size_t errlen)
{
    ctx = c;
    if (!realpath(c->cfg->http_web_root, c->web_root)) {
        util_err(err, errlen, "http.web_root: %s: %s", c->cfg->http_web_root, strerror(errno));
        return NULL;
    }
    memset(&mount_health, 0, sizeof(mount_health));
    mount_health.mountpoint = "/healthz";
    mount_health.mountpoint_len = 8;
    mount_health.origin = "haven-api";
    mount_health.protocol = "haven-api";
    mount_health.origin_protocol = LWSMPRO_CALLBACK;

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

static void respond(struct lws *wsi, struct pss *pss, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    size_t n = strlen(text);
    json_decref(obj);
    pss->status = status;
    pss->len = n;
    pss->body = xmalloc(LWS_PRE + n);
    memcpy(pss->body + LWS_PRE, text, n);
    free(text);
    pss->step = 0;
    lws_callback_on_writable(wsi);
}

static void health(struct lws *wsi, struct pss *pss)
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
    respond(wsi, pss, ok ? 200 : 503, o);
}

static int write_response(struct lws *wsi, struct pss *pss)
{
    unsigned char hdr[LWS_PRE + 512], *p = hdr + LWS_PRE, *end = hdr + sizeof(hdr) - 1;
    if (!pss->body)
        return 0;
    if (pss->step == 0) {
        if (lws_add_http_common_headers(wsi, (unsigned int)pss->status, "application/json",
                                        pss->len, &p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)"no-store", 8, &p, end) ||
            lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end))
            return 1;
        pss->step = 1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (lws_write(wsi, (unsigned char *)pss->body + LWS_PRE, pss->len, LWS_WRITE_HTTP_FINAL) !=
        (int)pss->len)
        return 1;
    free(pss->body);
    pss->body = NULL;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        const char *sub = in ? (const char *)in : "";
        memset(pss, 0, sizeof(*pss));
        /* With both origin and protocol set, `in` is the path below the
         * mount point: "" or "/" for /healthz itself. */
        if (strcmp(sub, "") == 0 || strcmp(sub, "/") == 0)
            health(wsi, pss);
        else
            respond(wsi, pss, 404, json_pack("{s:s, s:s}", "error", "not_found", "message",
                                             "no such resource"));
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_response(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            free(pss->body);
            pss->body = NULL;
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
