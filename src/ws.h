/*
 * ws: the libwebsockets adapter for protocol haven.v1 at /ws/{slug}.
 *
 * Checks the path and the Origin before the upgrade, turns each connection
 * into a session attached to its meeting, reassembles fragmented messages up
 * to ws.max_frame_bytes, hands complete text messages to live, and writes the
 * session's queue one frame per write (joining queued events into one
 * "events" frame), at once when the socket takes it, else from the writable
 * callback.  Closes are written by hand (see TECH-NOTES §0.1).  Keeps
 * connections alive with its own pings (ws.ping_interval_secs,
 * ws.ping_timeout_secs).
 * Loop thread only.
 */
#ifndef HAVEN_WS_H
#define HAVEN_WS_H

#include <uv.h>
#include <libwebsockets.h>

struct live;
struct config;

/* Set up the transport; starts the keepalive timer on loop (unreferenced). */
void ws_init(uv_loop_t *loop, struct live *lv, const struct config *cfg);
/* Close the keepalive timer (shutdown). */
void ws_stop(void);
/* The protocol table entry for haven.v1. */
const struct lws_protocols *ws_protocol(void);
/* Called for every wsi destroyed (from protocols[0]): counts connections. */
void ws_on_wsi_destroy(struct lws *wsi);
int ws_connection_count(void);

#endif
