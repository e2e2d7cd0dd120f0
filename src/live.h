/*
 * live: the live meetings.  Joins the protocol (codec), the people and their
 * connections (session), each meeting's session state (room) and the database
 * (store).
 *
 * A connection for /ws/{slug} attaches to that meeting's live room, which is
 * loaded from the database on first use (the meeting, its open session or a
 * new one, the participants, the recent events and the client ids already
 * used).  A say or react becomes a numbered event, is written by the store's
 * batching writer, and only when its transaction committed is it delivered to
 * the room and acknowledged to its sender.  Presence is live state and never
 * waits for the database.  Loop thread only.
 */
#ifndef HAVEN_LIVE_H
#define HAVEN_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct config;
struct session;
struct live;

struct live_stats {
    size_t rooms;
    size_t joined;
    uint64_t events_committed;
    uint64_t frames_in;
};

/* Registers the statements it needs with st (before store_start()). cfg is
 * borrowed and must outlive the live state. */
struct live *live_new(uv_loop_t *loop, struct store *st, const struct config *cfg);
void live_free(struct live *lv);

/* The slug of a /ws/ path is well formed (lower-case letters, digits and
 * dashes, 1 to 64).  Cheap; used before the upgrade. */
int live_slug_valid(const char *slug);

void live_attach(struct live *lv, struct session *s, const char *slug);
void live_on_frame(struct live *lv, struct session *s, const char *data, size_t len,
                   uint64_t now_ms);
void live_detach(struct live *lv, struct session *s);
void live_on_store_state(struct live *lv, enum store_state state);
void live_close_all(struct live *lv, int code, const char *reason);
/* The meeting was deleted: its room takes no more events and every
 * connection to it gets meeting_not_found and close 4404. */
void live_meeting_gone(struct live *lv, const char *slug);
/* Free every room (their timers are closed on the loop): after the store has
 * stopped, before the loop ends. */
void live_stop(struct live *lv);
void live_get_stats(const struct live *lv, struct live_stats *out);

#endif
