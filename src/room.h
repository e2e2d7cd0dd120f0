/*
 * room: the live state of one meeting's current session, as plain data.
 *
 * Members (pseudonymous people, numbered per session), the next sequence
 * number, a bounded ring of the most recent committed events (kept encoded, so
 * joins and short resumes need no database round trip) and the map from
 * (member, client_msg_id) to seq that makes retries idempotent.  No I/O and
 * no clock: live.c drives it.  Loop thread only.
 */
#ifndef HAVEN_ROOM_H
#define HAVEN_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame;

struct room_member {
    int no;               /* 1-based, session-local */
    char attendee_id[33]; /* empty when unknown (recovered without one) */
    char *name;
    char role[16];        /* from the account or hello: attendee, visitor, greeter,
                             co-chair, chair, admin */
    char granted[16];     /* a role granted for this session only, or "" */
    int conns;            /* joined connections now */
    bool admitted;        /* let in from the waiting room */
    bool muted;
    bool removed;         /* removed by a chair: may not come back this session */
    int64_t last_post_ms; /* for slow mode */
    int64_t left_ms;      /* when the last connection went, for the grace period */
};

struct room {
    char *slug;
    char *meeting_name;
    int64_t meeting_id;
    int64_t session_id;
    int64_t started_at_ms;
    int64_t next_seq;       /* the seq the next event gets */
    int64_t last_delivered; /* highest seq committed and delivered */
    char *topic;

    struct room_member *members; /* members[i].no == i + 1 */
    int nmembers;

    /* ring of recent delivered events, oldest at ring_start */
    struct room_event_slot {
        int64_t seq;
        struct frame *frame;
    } *ring;
    int ring_cap, ring_len, ring_start;

    void *dedupe; /* json_t object: "member:client_msg_id" -> seq */
    void *authors; /* json_t object: message seq -> member (negative: removed) */
};

struct room *room_new(const char *slug, int ring_cap);
void room_free(struct room *r);

struct room_member *room_member_by_no(struct room *r, int no);
struct room_member *room_member_by_attendee(struct room *r, const char *attendee_id);
/* Add a member with the next number (or the given one, when recovering:
 * no > 0).  name is copied.  Returns a borrowed pointer, valid until the next
 * add. */
struct room_member *room_member_add(struct room *r, int no, const char *attendee_id,
                                    const char *name, const char *role);

/* 0 when unknown, otherwise the seq already given to that client id. */
int64_t room_dedupe_get(struct room *r, int member_no, const char *client_msg_id);
void room_dedupe_put(struct room *r, int member_no, const char *client_msg_id, int64_t seq);
void room_dedupe_forget(struct room *r, int member_no, const char *client_msg_id);

/* Who wrote message seq: > 0 the member, < 0 minus the member of a removed
 * message, 0 unknown (not a message of this session). */
int room_author(struct room *r, int64_t seq);
void room_author_set(struct room *r, int64_t seq, int member);

/* Append a delivered event (takes a reference on frame); the oldest falls out
 * when the ring is full. */
void room_ring_push(struct room *r, int64_t seq, struct frame *frame);
/* Replace the frame of a ring event (a message whose text was removed). */
void room_ring_replace(struct room *r, int64_t seq, struct frame *frame);
/* Seq of the oldest event in the ring; last_delivered + 1 when empty. */
int64_t room_ring_first_seq(const struct room *r);
/* Borrowed frames of ring events with after < seq (< before, when before > 0),
 * oldest first, at most max (when from_end, the newest max of them). Returns
 * how many were put in out. */
int room_ring_range(const struct room *r, int64_t after, int64_t before, int max, bool from_end,
                    struct frame **out);

#endif
