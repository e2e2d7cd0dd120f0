/*
 * ws: the libwebsockets adapter for protocol haven.v1 at /ws/{slug}.
 *
 * Checks the path and the Origin before the upgrade, turns each connection
 * into a session attached to its meeting, reassembles fragmented messages up
 * to ws.max_frame_bytes, hands complete text messages to live, and writes the
 * session's queue one frame per writable callback (joining queued events into
 * one "events" frame).  Closes are written by hand (see TECH-NOTES §0.1).
 * Loop thread only.
 */
#ifndef HAVEN_WS_H
#define HAVEN_WS_H

#include <uv.h>
#include <libwebsockets.h>

struct live;
struct config;

void ws_init(struct live *lv, const struct config *cfg);
/* The protocol table entry for haven.v1. */
const struct lws_protocols *ws_protocol(void);
/* Called for every wsi destroyed (from protocols[0]): counts connections. */
void ws_on_wsi_destroy(struct lws *wsi);
int ws_connection_count(void);

#endif
