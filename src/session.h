/*
 * session: one WebSocket connection's state, independent of the transport.
 *
 * A session has a 64-bit id (async callbacks look sessions up by id, never by
 * pointer, because the connection may be gone), a protocol state, the
 * pseudonymous identity it said hello with, a token bucket for requests, a
 * count of bad frames and a bounded queue of outbound frames.  The transport
 * (ws.c) installs hooks to be told when a session has something to write or
 * wants to be closed; it writes in its writable callback.  A session is never
 * freed while something may still use it: session_release() only marks it and
 * session_reap() frees the marked ones from a loop check handle.
 */
#ifndef HAVEN_SESSION_H
#define HAVEN_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct frame;
struct lroom;

enum session_state {
    SESSION_NEW,       /* connected, no hello yet */
    SESSION_HELLO_WAIT, /* hello being checked against the database */
    SESSION_HELLO,     /* identified, not in the room */
    SESSION_JOINED,    /* in the room, receiving events */
};

struct session {
    uint64_t id;
    enum session_state state;
    void *transport;        /* the transport's handle; NULL once it is gone */
    char slug[64];
    struct lroom *lroom;    /* the meeting this connection is for (live.c) */

    char attendee_id[33];
    char name[129];
    char role[16];
    int member_no;
    bool account;           /* said hello with an account's login token */

    /* Joined but still catching up from the database: live events wait in
     * the room's ring and are sent when the catch-up reaches them. */
    bool catching_up;
    int64_t catch_seq;       /* last seq sent during catch-up */

    double tokens;
    uint64_t refill_ms;
    int bad_frames;

    struct frame **q;        /* ring of queued frames */
    int qhead, qlen, qcap, qmax;

    bool closing;
    bool close_after_flush; /* send what is queued before the close frame */
    bool join_waiting;      /* a join waits for the room to load */
    int close_code;
    char close_reason[64];
    bool released;
    struct session *next_reap;

    struct buf rx;           /* reassembly of a fragmented message */
};

struct session_hooks {
    void (*want_write)(struct session *s);
};

void session_set_hooks(const struct session_hooks *hooks);

/* A new session with a fresh id, registered for session_find(). */
struct session *session_new(int send_queue_max);
struct session *session_find(uint64_t id);
size_t session_count(void);

/* Queue a frame (takes a new reference).  A full queue closes the session
 * with 1013 instead: a client that does not read cannot grow our memory.
 * Safe inside fan-out: nothing is freed here. */
void session_send(struct session *s, struct frame *f);
/* Queue an error frame. */
void session_send_error(struct session *s, json_t *id, const char *code, const char *message,
                        const char *field, int64_t retry_after_ms);
/* Ask the transport to close with this code; queued frames are dropped
 * (a client that does not read must not hold memory). */
void session_close(struct session *s, int code, const char *reason);
/* Close after the frames already queued (an error explaining the close, the
 * last events before a shutdown) have been written. */
void session_close_gently(struct session *s, int code, const char *reason);
/* Take the next queued frame (the caller owns the reference), or NULL. */
struct frame *session_pop(struct session *s);
static inline struct frame *session_peek(const struct session *s)
{
    return s->qlen ? s->q[s->qhead] : NULL;
}

/* Token bucket: true when a request may go ahead now; otherwise fills
 * *retry_after_ms. */
bool session_rate_take(struct session *s, uint64_t now_ms, double rate, int burst,
                       int64_t *retry_after_ms);

/* The transport is gone: unregister and free at the next session_reap(). */
void session_release(struct session *s);
void session_reap(void);
/* Call fn for every live session (used at shutdown). */
void session_foreach(void (*fn)(struct session *s, void *arg), void *arg);
/* Free the registry at exit, after every session was released and reaped. */
void session_cleanup_all(void);

#endif
