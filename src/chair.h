/*
 * chair: how a session is run, as plain data and rules.
 *
 * The session's phase (waiting room, open, closed), its settings (auto-admit,
 * lock, hidden member list, crosstalk, chat lock, slow mode, share time limit,
 * queue mode, direct messages, visitors posting), the share queue in the order
 * hands were raised, the current share and its deadlines, the position in the
 * meeting's format, who holds the chair and the co-chairs in the order they
 * were named.  And who may do what.  No I/O: time comes in as now_ms, and
 * live.c arms one timer per room at chair_next_deadline().
 */
#ifndef HAVEN_CHAIR_H
#define HAVEN_CHAIR_H

#include <stdbool.h>
#include <stdint.h>

#define CHAIR_MAX_QUEUE 256
#define CHAIR_MAX_COCHAIRS 32

enum chair_phase { PHASE_WAITING, PHASE_OPEN, PHASE_CLOSED };

/* Commands, for the permission table. */
enum chair_cmd {
    CMD_START, CMD_END, CMD_ADMIT, CMD_SEND_TO_WAITING, CMD_SETTINGS, CMD_CALL, CMD_END_SHARE,
    CMD_READING, CMD_TOPIC, CMD_MUTE, CMD_REMOVE, CMD_DELETE_ANY, CMD_GRANT, CMD_HAND_OVER,
    CMD_SEE_WAITING, CMD_SEE_PRIVATE, CMD_DM_ANYONE, CMD_COUNT
};

/* Effective standing of a member in this session. */
enum chair_rank {
    RANK_VISITOR,
    RANK_ATTENDEE,
    RANK_GREETER,
    RANK_COCHAIR, /* co-chair / host */
    RANK_CHAIR,   /* holds the chair now, or an admin */
};

struct chair_settings {
    bool auto_admit;
    bool locked;
    bool hide_members;
    bool crosstalk;         /* false: while someone shares only they and chairs post */
    bool chat_locked;       /* only chairs post */
    bool dms;               /* direct messages between attendees */
    bool visitors_may_post;
    bool end_share_at_limit;
    bool auto_call;         /* call the next hand when a share ends */
    int slow_mode_secs;     /* 0: off */
    int share_limit_secs;
};

struct chair {
    enum chair_phase phase;
    struct chair_settings set;
    int chair_member;       /* who holds the chair; 0: nobody */
    int cochairs[CHAIR_MAX_COCHAIRS]; /* in the order they were named */
    int ncochairs;
    int queue[CHAIR_MAX_QUEUE];       /* raised hands, first raised first */
    int nqueue;
    int sharer;             /* 0: nobody shares */
    int64_t share_started_ms;
    bool warned;            /* the one-minute warning went out */
    bool time_up;           /* the time event went out */
    int reading;            /* index of the last reading posted; -1: none */
};

void chair_init(struct chair *c, int share_limit_secs, bool crosstalk);

/* May someone of this rank run cmd? */
bool chair_allowed(enum chair_rank rank, enum chair_cmd cmd);
const char *chair_rank_name(enum chair_rank rank);

/* Hands. Raise returns false when already queued, sharing or the queue is
 * full; lower returns false when the hand was not raised. */
bool chair_hand_raise(struct chair *c, int member);
bool chair_hand_lower(struct chair *c, int member);
int chair_queue_position(const struct chair *c, int member); /* 1-based, 0 none */

/* Start a share by member (0: the first hand in the queue).  Its hand drops.
 * Returns the sharer, or 0 when there is nobody to call. */
int chair_share_start(struct chair *c, int member, int64_t now_ms);
/* End the current share; returns who was sharing (0: nobody). */
int chair_share_end(struct chair *c);

enum chair_tick { TICK_NONE, TICK_WARNING, TICK_TIME_UP };
/* What is due at now_ms: at most one thing per call (call again). */
enum chair_tick chair_tick(struct chair *c, int64_t now_ms);
/* The next instant something is due, or -1. */
int64_t chair_next_deadline(const struct chair *c);

/* Co-chairs in naming order. */
void chair_cochair_add(struct chair *c, int member);
void chair_cochair_remove(struct chair *c, int member);
bool chair_is_cochair(const struct chair *c, int member);
/* The chair left: the first present co-chair takes it (present[m] tells
 * whether member m is here, for 1 <= m < npresent).  Returns the new chair,
 * or 0 when nobody can. */
int chair_succession(struct chair *c, const bool *present, int npresent);

/* A member left for good or was removed: out of the queue, the share and the
 * co-chairs. */
void chair_forget(struct chair *c, int member);

#endif
