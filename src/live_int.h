/*
 * live_int.h: the types and helpers shared by live.c (rooms, joins,
 * messages, history) and live_chair.c (running a session).  Not for other
 * modules.
 */
#ifndef HAVEN_LIVE_INT_H
#define HAVEN_LIVE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "chair.h"
#include "codec.h"
#include "live.h"
#include "room.h"
#include "session.h"
#include "store.h"

#include <uv.h>

#define CATCHUP_PAGE 500
#define TOKEN_CACHE_MAX 100000

enum lroom_state { LR_LOADING, LR_READY, LR_NOT_FOUND, LR_FAILED };

/* An event given a seq and waiting for its commit. */
struct pending {
    struct pending *next;
    struct lroom *lr;
    int64_t seq;
    struct frame *frame;
    uint64_t sender;  /* session to acknowledge */
    json_t *req_id;   /* the request's id, or NULL */
    int member_no;
    bool message;     /* a message: its author is remembered for deletes */
    char cmid[65];
};

/* An ack to send once the batch holding its event has been delivered. */
struct ack_out {
    uint64_t sid;
    json_t *id;
    int64_t seq;
    char cmid[65];
};

struct waiter {
    uint64_t sid;
    json_t *id;
    bool has_after;
    int64_t after;
};

struct lroom {
    struct lroom *next;
    struct chair chair;
    uv_timer_t timer;      /* the chair's next deadline; closed before the room is freed */
    bool timer_on;
    /* The meeting's settings, loaded with the room. */
    bool closed_meeting;   /* type C: for people with a drug problem who want to stop */
    bool record;           /* transcripts kept */
    char ts_config[64];    /* text search configuration of its messages */
    int retention_days;
    char readers[16];      /* who may read transcripts */
    json_t *format;        /* [{title, text}] */
    json_t *resources;     /* [{title, url}] */
    char *contribution_url;
    json_t *banned;        /* attendee id -> true: kept out of this session */
    int64_t ending_seq;    /* the session_ended event: close everyone once delivered */
    /* The session's lifecycle (live_chair.c): the occurrence of the
     * meeting's schedule it belongs to (0: unscheduled), whether anyone is
     * named to chair the meeting, whether its waiting room has opened. */
    int64_t sched_start_ms, sched_end_ms;
    bool self_run;
    bool waiting_open;
    int64_t stale_ended;   /* session ended at load as stale: not twice */
    char wsig[96];         /* what the waiting room was last told */
    json_t *saved_roles;   /* chair, co-chairs, mutes, grants stored: applied after load */
    char *saved_state;     /* the session state last written (live__save_state) */
    /* The open vote, if any.  Who voted is known only here, in memory, to
     * refuse a second vote: the database never links a vote to a person. */
    struct {
        int64_t id;        /* seq of its vote_opened event; 0: no vote open */
        char *question;
        json_t *options;
        int counts[6];
        json_t *voted;     /* member number -> true */
    } vote;
    struct live *lv;
    struct room *room;
    enum lroom_state state;
    int loads; /* reads outstanding while loading */
    bool load_failed;
    struct session **conns; /* attached sessions */
    int nconns, cap;
    struct pending *pend_head, *pend_tail;
    int npend;
    struct waiter *waiters;
    int nwait;
    /* Committed in the current store segment, delivered at its end. */
    struct frame **outbox;
    int nout, outcap;
    struct ack_out *acks;
    int nacks, ackcap;
    struct lroom *next_dirty;
    bool dirty;
    /* Cluster (live_owner.c): the database backend holding the meeting's
     * lock for this node (0: none), since when, and whether the room was
     * lost to another node (its connections are told to retry). */
    int owner_pid;
    uint64_t owned_ms;
    bool moved;
};

struct live {
    uv_loop_t *loop;
    struct store *st;
    const struct config *cfg;
    struct lroom *rooms;
    struct lroom *dirty; /* rooms with committed events to deliver */
    json_t *token_cache; /* token hash -> attendee id */
    struct live_stats stats;
    bool store_ok;
    bool store_lost; /* the connection went down since the store was last ok */
    struct live_owner *own; /* NULL unless cluster.enabled */
    int s_load_room, s_participants, s_recent, s_client_ids, s_after, s_before, s_insert_event,
        s_insert_participant, s_participant_left, s_insert_attendee, s_find_attendee,
        s_session_state, s_redact, s_ban, s_bans, s_end_session, s_attend_in, s_attend_out,
        s_schedule, s_end_stale, s_session_opened;
};


/* ---- shared helpers (live.c) ---- */
void live__send(struct session *s, json_t *obj);
json_t *live__with_id(json_t *obj, json_t *id);
void live__error(struct session *s, json_t *id, const char *code, const char *message);
void live__unavailable(struct session *s, json_t *id);
json_t *live__member_json(const struct lroom *lr, const struct room_member *m);
/* Queue an event: numbered now, stored, then delivered to the room.  actor 0
 * is the server itself.  body is stolen.  The requester (sid, id) gets an
 * ack (with cmid) or a "done" (without) after the commit.  Returns the seq,
 * or 0 when the store refused it (the requester got store_unavailable). */
int64_t live__event(struct lroom *lr, int actor, const char *kind, json_t *body, uint64_t sid,
                    json_t *id, const char *cmid);
void live__fanout(struct lroom *lr, struct frame *f, int except_member);
/* The member's effective rank and shown role in this session. */
enum chair_rank live__rank(const struct lroom *lr, const struct room_member *m);
const char *live__role(const struct lroom *lr, const struct room_member *m);
/* Send the live state (phase, settings, queue, share) to every admitted
 * connection, and the waiting room to those who may see it. */
void live__broadcast_state(struct lroom *lr);
json_t *live__state_json(const struct lroom *lr);
/* Let a waiting member in: their connections get the joined snapshot. */
void live__admit(struct lroom *lr, struct room_member *m);
/* No longer in the room for others (presence leave, out of the queue and
 * the share), without telling the member anything. */
void live__unadmit(struct lroom *lr, struct room_member *m);
/* Put a member back in the waiting room. */
void live__to_waiting(struct lroom *lr, struct room_member *m);
/* Persist the session's phase, settings, topic, reading, chair, co-chairs,
 * mutes and session roles.  live__save_state_changed writes only when they
 * changed since the last write. */
void live__save_state(struct lroom *lr);
void live__save_state_changed(struct lroom *lr);
/* Tell the waiting room what changed (phase, count, chair present,
 * auto-admit); force: to every waiting connection even when nothing did. */
void live__waiting_update(struct lroom *lr, bool force);
/* Re-arm the room's timer for the chair's next deadline. */
void live__arm_timer(struct lroom *lr);
/* End the session: event (reason "chair" or "auto"), database, every
 * connection closed (the waiting room is told first). */
void live__end_session(struct lroom *lr, int actor, uint64_t sid, json_t *id, const char *reason);
/* A member's connections, closed with code and reason. */
void live__close_member(struct lroom *lr, int member, int code, const char *reason);

/* ---- live_chair.c ---- */
/* Apply the settings present in obj (a chair's change or the stored ones). */
void live__apply_settings(struct lroom *lr, json_t *obj);
/* Handle a chairing frame (start, admit, settings, hand, call, ...). */
void live__chair_command(struct live *lv, struct session *s, struct msg *m);
/* A timer fired: warnings and time events of the current share. */
void live__chair_tick(struct lroom *lr);
/* "!" alone raises a hand; "[done]" at the end of the sharer's text ends the
 * share after the message.  Returns true when the text was "!" (not posted). */
bool live__chair_say_hook(struct lroom *lr, struct session *s, const char *text, bool *ends_share);
/* End the current share (reason done|chair|next|time) and call the next hand
 * when the settings say so. */
void live__chair_end_share(struct lroom *lr, int actor, const char *reason);
/* The member's last connection went: keep the chair held (succession). */
void live__chair_member_left(struct lroom *lr, struct room_member *m);
/* When the waiting room opens for the session (0: it is open at any time). */
int64_t live__opens_at(const struct lroom *lr);
/* When the session ends by itself if nobody comes back (-1: not now). */
int64_t live__auto_end_at(const struct lroom *lr);
/* Apply the chair, co-chairs, mutes and grants stored with the session, once
 * its members are loaded (after a restart). */
void live__restore_roles(struct lroom *lr);
/* The stored chair state, merged into the session's settings object. */
void live__roles_json(const struct lroom *lr, json_t *into);

#endif
