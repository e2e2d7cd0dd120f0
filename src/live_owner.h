/*
 * live_owner: which node serves a meeting when several run behind a proxy
 * (cluster.enabled).  Part of the live module (live.c calls the live__owner_
 * hooks; http.c and server.c the public functions).
 *
 * A node serves a meeting's room only while its store connection holds the
 * meeting's advisory lock (haven_claim(), migration 0011).  The claim is
 * queued before the reads that recover the session's seq, so those see
 * everything the previous owner committed.  A room whose claim fails is not
 * served: its connections get error `moved` (retry_after_ms) and close 4503,
 * and the client comes back through the proxy.  After the store reconnects,
 * the locks are claimed again (ahead of the writes queued meanwhile); a room
 * someone else took over in between is closed the same way, its queued writes
 * are refused by the database (the guard trigger) and nothing of it is acked.
 * When a claim fails because this node holds the meeting, the claimant's
 * NOTIFY makes this node hand it over (after OWNER_HANDOVER_MIN_MS), so a
 * meeting follows the proxy's routing back to a node that rejoined.
 *
 * Without cluster.enabled every hook is a no-op and no statement is added.
 * Loop thread only.
 */
#ifndef HAVEN_LIVE_OWNER_H
#define HAVEN_LIVE_OWNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct config;
struct live;
struct lroom;
struct session;

/* Close code and error code of the retry hint. */
#define OWNER_CLOSE_CODE 4503
#define OWNER_RETRY_MS 1000

/* This node's name: cluster.node_id, or host:port.  Static storage. */
const char *live_owner_node_id(const struct config *cfg);
/* The libpq "options" the store connects with (the node id, which arms the
 * write guard), written into buf; NULL when not clustered. */
const char *live_owner_store_options(const struct config *cfg, char *buf, size_t len);
/* For /healthz: {"node", "sessions": [{"slug", "session"}]} (a new
 * reference), or NULL when not clustered. */
json_t *live_owner_health(const struct live *lv);

/* ---- hooks for live.c ---- */
/* From live_new(): register the statements (before store_start). */
void live__owner_init(struct live *lv);
void live__owner_free(struct live *lv);
/* From on_room_row(), before the reads that recover the session: queue the
 * claim as one more load read; done (load_finished) runs with its answer. */
void live__owner_claim(struct lroom *lr, void (*done)(struct lroom *lr));
/* The store is back: claim every owned room again, ahead of queued writes. */
void live__owner_reconnected(struct live *lv);
/* The room is being freed: let its meeting go. */
void live__owner_release(struct lroom *lr);
/* Tell one connection (or every connection of the room) to retry later. */
void live__owner_refuse(struct session *s);
void live__owner_moved(struct lroom *lr);

#endif
