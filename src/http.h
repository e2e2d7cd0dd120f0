/*
 * http: HTTP on the same port as the WebSockets.
 *
 * Static files of http.web_root at / (lws file mount: content types, ETags,
 * no listing) and JSON endpoints under callback mounts: /healthz now, the API
 * later.  Responses are staged in the request's state and written in the
 * writable callback, headers and body in two steps.  Loop thread only.
 */
#ifndef HAVEN_HTTP_H
#define HAVEN_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>
#include <libwebsockets.h>

struct config;
struct live;
struct store;

struct http_ctx {
    const struct config *cfg;
    struct live *live;
    struct store *store;
    uint64_t started_ms;
    char web_root[4096]; /* resolved absolute path */
};

/* Prepare mounts for ctx (borrowed, must outlive the lws context).  Returns
 * the first mount, or NULL with err filled when web_root is unusable. */
const struct lws_http_mount *http_mounts(struct http_ctx *ctx, char *err, size_t errlen);
/* The crisis-help entries of cfg (http.crisis_file, or the built-in list),
 * checked, as a new compact JSON string; NULL with err filled when the file is
 * unreadable or wrong.  A blocking read that touches nothing shared: at start,
 * or in a reload's worker thread. */
char *http_crisis_read(const struct config *cfg, char *err, size_t errlen);
/* Serve json (stolen) at /api/crisis-help from now on; true when it differs
 * from what was served.  Loop thread. */
bool http_crisis_set(char *json);
/* Free what http_mounts() read, after the loop ended. */
void http_cleanup(void);
/* protocols[0]: plain HTTP, and wsi accounting. */
const struct lws_protocols *http_protocol_default(void);
/* The protocol of the callback mounts. */
const struct lws_protocols *http_protocol_api(void);

#endif
