/*
 * live_chair.c: running a session over the protocol.  Every decision is
 * checked here, on the server, against chair.c's permission table; every
 * chair action becomes a numbered event, so the transcript doubles as the
 * moderation log.  Private messages, reports and "I need help" are delivered
 * live and never stored.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "chair.h"
#include "config.h"
#include "frame.h"
#include "live_int.h"
#include "log.h"
#include "util.h"

static json_t *target(const struct room_member *m)
{
    return json_pack("{s:i, s:s}", "member", m->no, "name", m->name);
}

static void done(struct session *s, json_t *id)
{
    live__send(s, live__with_id(json_pack("{s:s}", "type", "done"), id));
}

static bool allowed(struct lroom *lr, struct session *s, struct room_member *me, enum chair_cmd cmd,
                    json_t *id)
{
    if (chair_allowed(live__rank(lr, me), cmd))
        return true;
    session_send_error(s, id, "forbidden", "your role in this meeting does not allow that", NULL,
                       -1);
    return false;
}

/* A present member who is not above the actor. */
static struct room_member *subject(struct lroom *lr, struct session *s, struct room_member *me,
                                   int no, json_t *id, bool must_outrank)
{
    struct room_member *m = room_member_by_no(lr->room, no);
    if (!m || (m->conns == 0 && !m->admitted)) {
        session_send_error(s, id, "not_found", "nobody with that member number is here",
                           "member", -1);
        return NULL;
    }
    if (must_outrank && (m == me || live__rank(lr, m) >= live__rank(lr, me))) {
        session_send_error(s, id, "forbidden", "you cannot do that to someone of your own role",
                           "member", -1);
        return NULL;
    }
    return m;
}

/* Send a private frame to every connection of members at or above a rank, or
 * to one member.  Returns how many members got it. */
static int deliver_private(struct lroom *lr, json_t *frame, enum chair_rank min_rank, int only)
{
    struct frame *f = codec_frame(frame);
    int reached = 0;
    bool *seen = xcalloc((size_t)lr->room->nmembers + 1, sizeof(bool));
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        struct room_member *m = room_member_by_no(lr->room, s->member_no);
        /* A private word to one member reaches the waiting room too (the
         * sender was checked: a greeter or above). */
        if (s->state != SESSION_JOINED || !m || (!m->admitted && !only))
            continue;
        if (only ? m->no != only : live__rank(lr, m) < min_rank)
            continue;
        session_send(s, f);
        if (!seen[m->no]) {
            seen[m->no] = true;
            reached++;
        }
    }
    free(seen);
    frame_unref(f);
    return reached;
}

static void share_end(struct lroom *lr, int actor, const char *reason)
{
    struct chair *c = &lr->chair;
    int64_t now = util_wall_ms();
    int64_t took = now - c->share_started_ms;
    int was = chair_share_end(c);
    if (!was)
        return;
    struct room_member *m = room_member_by_no(lr->room, was);
    live__event(lr, actor, "share_ended",
                json_pack("{s:o, s:s, s:I}", "target", target(m), "reason", reason,
                          "duration_ms", (json_int_t)took),
                0, NULL, NULL);
}

/* Start a share by no (0: the first hand of someone present). */
static bool share_start(struct lroom *lr, int actor, int no)
{
    struct chair *c = &lr->chair;
    if (!no) {
        /* Hands of people gone past the grace period are skipped. */
        while (c->nqueue) {
            struct room_member *m = room_member_by_no(lr->room, c->queue[0]);
            if (m && m->admitted &&
                (live__rank(lr, m) > RANK_VISITOR || c->set.visitors_may_post) &&
                (m->conns > 0 || util_wall_ms() - m->left_ms <=
                                     lr->lv->cfg->rooms_reconnect_grace_secs * 1000LL))
                break;
            chair_hand_lower(c, c->queue[0]);
        }
    }
    int who = chair_share_start(c, no, util_wall_ms());
    if (!who)
        return false;
    struct room_member *m = room_member_by_no(lr->room, who);
    live__event(lr, actor, "share_started",
                json_pack("{s:o, s:i}", "target", target(m), "limit_secs", c->set.share_limit_secs),
                0, NULL, NULL);
    live__arm_timer(lr);
    return true;
}

static void after_share(struct lroom *lr)
{
    if (lr->chair.set.auto_call && lr->chair.phase == PHASE_OPEN)
        share_start(lr, 0, 0);
    live__arm_timer(lr);
    live__broadcast_state(lr);
}

void live__chair_end_share(struct lroom *lr, int actor, const char *reason)
{
    share_end(lr, actor, reason);
    after_share(lr);
}

/* May this member share now?  Present, let in, and not a visitor unless the
 * chair lets visitors post. */
static bool can_share(struct lroom *lr, const struct room_member *m)
{
    return m->admitted && m->conns > 0 &&
           (live__rank(lr, m) > RANK_VISITOR || lr->chair.set.visitors_may_post);
}

void live__chair_tick(struct lroom *lr)
{
    struct chair *c = &lr->chair;
    enum chair_tick t;
    int64_t end = live__auto_end_at(lr);
    if (end >= 0 && util_wall_ms() >= end) {
        /* Over and empty: the session ends by itself, an event of nobody's. */
        log_info("live", "meeting %s: session %lld ends by itself after its scheduled end",
                 lr->room->slug, (long long)lr->room->session_id);
        live__end_session(lr, 0, 0, NULL, "auto");
        return;
    }
    while ((t = chair_tick(c, util_wall_ms())) != TICK_NONE) {
        struct room_member *m = room_member_by_no(lr->room, c->sharer);
        if (t == TICK_WARNING) {
            int64_t left = (c->share_started_ms + c->set.share_limit_secs * 1000LL -
                            util_wall_ms() + 999) / 1000;
            live__event(lr, 0, "share_time_warning",
                        json_pack("{s:o, s:I}", "target", target(m), "remaining_secs",
                                  (json_int_t)(left > 0 ? left : 0)),
                        0, NULL, NULL);
        } else {
            live__event(lr, 0, "share_time_up", json_pack("{s:o}", "target", target(m)), 0, NULL,
                        NULL);
            if (c->set.end_share_at_limit) {
                share_end(lr, 0, "time");
                after_share(lr);
                return;
            }
        }
    }
    live__arm_timer(lr);
}

bool live__chair_say_hook(struct lroom *lr, struct session *s, const char *text, bool *ends_share)
{
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    while (n && isspace((unsigned char)*text)) {
        text++;
        n--;
    }
    if (n == 1 && text[0] == '!') {
        /* As in text meetings of old: "!" alone raises a hand. */
        if (chair_hand_raise(&lr->chair, s->member_no))
            live__broadcast_state(lr);
        return true;
    }
    *ends_share = lr->chair.sharer == s->member_no && n >= 6 &&
                  strncasecmp(text + n - 6, "[done]", 6) == 0;
    return false;
}

void live__chair_member_left(struct lroom *lr, struct room_member *m)
{
    struct chair *c = &lr->chair;
    live__arm_timer(lr); /* the room may be empty now: its end comes closer */
    if (c->chair_member != m->no)
        return;
    int n = lr->room->nmembers + 1;
    bool *present = xcalloc((size_t)n, sizeof(bool));
    for (int i = 0; i < lr->room->nmembers; i++)
        present[i + 1] = lr->room->members[i].conns > 0 && lr->room->members[i].admitted;
    int next = chair_succession(c, present, n);
    free(present);
    if (strcmp(m->role, "chair") == 0 || strcmp(m->role, "admin") == 0)
        chair_cochair_add(c, m->no); /* may take it back later in line */
    if (next) {
        live__event(lr, 0, "chair_taken",
                    json_pack("{s:o, s:s}", "target",
                              target(room_member_by_no(lr->room, next)), "reason",
                              "the chair left"),
                    0, NULL, NULL);
    } else {
        log_info("live", "meeting %s: the chair left and no co-chair is here", lr->room->slug);
    }
    live__broadcast_state(lr);
}

void live__apply_settings(struct lroom *lr, json_t *obj)
{
    struct chair_settings *st = &lr->chair.set;
    json_t *v;
    /* Types are checked here too: stored settings come back from the
     * database, a chair's change comes validated by the codec. */
#define FLAG(name)                                                                             \
    if ((v = json_object_get(obj, #name)) && json_is_boolean(v))                               \
        st->name = json_is_true(v);
    FLAG(auto_admit)
    FLAG(locked)
    FLAG(hide_members)
    FLAG(crosstalk)
    FLAG(chat_locked)
    FLAG(dms)
    FLAG(visitors_may_post)
    FLAG(end_share_at_limit)
    FLAG(auto_call)
#undef FLAG
    if ((v = json_object_get(obj, "slow_mode_secs")) && json_is_integer(v))
        st->slow_mode_secs = (int)json_integer_value(v);
    if ((v = json_object_get(obj, "share_limit_secs")) && json_is_integer(v))
        st->share_limit_secs = (int)json_integer_value(v);
}

static void admit_all(struct lroom *lr, int actor)
{
    int count = 0;
    for (int i = 0; i < lr->room->nmembers; i++) {
        struct room_member *m = &lr->room->members[i];
        if (m->conns > 0 && !m->admitted && !m->removed) {
            live__admit(lr, m);
            count++;
        }
    }
    if (count)
        live__event(lr, actor, "admitted_all", json_pack("{s:i}", "count", count), 0, NULL, NULL);
}

static void reading(struct lroom *lr, struct session *s, struct room_member *me, struct msg *m)
{
    struct chair *c = &lr->chair;
    int n = (int)json_array_size(lr->format);
    int idx = strcmp(m->word, "previous") == 0 ? c->reading - 1 : c->reading + 1;
    if (idx < 0 || idx >= n) {
        session_send_error(s, m->id, "not_found",
                           strcmp(m->word, "previous") == 0 ? "there is no earlier reading"
                                                            : "the format has no more readings",
                           NULL, -1);
        return;
    }
    json_t *r = json_array_get(lr->format, (size_t)idx);
    const char *title = json_string_value(json_object_get(r, "title"));
    const char *text = json_string_value(json_object_get(r, "text"));
    c->reading = idx;
    if (strcmp(m->word, "skip") == 0)
        live__event(lr, me->no, "reading_skipped",
                    json_pack("{s:i, s:s}", "index", idx, "title", title ? title : ""), s->id,
                    m->id, NULL);
    else
        live__event(lr, me->no, "reading",
                    json_pack("{s:i, s:s, s:s}", "index", idx, "title", title ? title : "",
                              "text", text ? text : ""),
                    s->id, m->id, NULL);
    live__save_state(lr);
    live__broadcast_state(lr);
}

/* Parse an event frame's Event object (a new reference), or NULL. */
static json_t *ring_event(struct lroom *lr, int64_t seq)
{
    struct frame *f = NULL;
    if (room_ring_range(lr->room, seq - 1, seq + 1, 1, false, &f) != 1)
        return NULL;
    return json_loadb(frame_payload(f) + f->inner_off, f->inner_len, 0, NULL);
}

static void delete_message(struct lroom *lr, struct session *s, struct room_member *me,
                           struct msg *m)
{
    struct live *lv = lr->lv;
    int author = room_author(lr->room, m->target_seq);
    /* Rights first: whether a seq exists is not told to who may not act on it. */
    if (author != me->no && !allowed(lr, s, me, CMD_DELETE_ANY, m->id))
        return;
    if (author <= 0) {
        /* Not a message of this session, or already removed. */
        session_send_error(s, m->id, "not_found", "there is no message with that seq", "seq", -1);
        return;
    }
    bool mine = author == me->no;
    const char *by = mine ? "author" : "chair";
    json_t *body = json_pack("{s:s}", "removed", by);
    char *text = json_dumps(body, JSON_COMPACT), sid[24], sq[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
    snprintf(sq, sizeof(sq), "%lld", (long long)m->target_seq);
    const char *params[] = {sid, sq, text};
    /* The text goes from the database, in the same ordered queue as the
     * event that tells every client to drop it. */
    int64_t seq = 0;
    if (store_exec(lv->st, lv->s_redact, STORE_WRITE, 3, params, NULL, NULL) == 0)
        seq = live__event(lr, me->no, "message_deleted",
                          json_pack("{s:I, s:s}", "target_seq", (json_int_t)m->target_seq, "by",
                                    by),
                          s->id, m->id, NULL);
    else
        live__unavailable(s, m->id);
    free(text);
    json_decref(body);
    if (!seq)
        return;
    room_author_set(lr->room, m->target_seq, -author);
    json_t *e = ring_event(lr, m->target_seq);
    if (e) {
        /* Later joins and resumes get the message without its text. */
        json_object_del(e, "text");
        json_object_set_new(e, "removed", json_string(by));
        struct frame *f = codec_event_frame(json_incref(e));
        room_ring_replace(lr->room, m->target_seq, f);
        frame_unref(f);
        json_decref(e);
    }
}

static void remove_member(struct lroom *lr, struct session *s, struct room_member *me,
                          struct room_member *t, struct msg *m)
{
    struct live *lv = lr->lv;
    if (strcmp(m->word, "none") != 0 && t->attendee_id[0]) {
        char mid[24], sid[24];
        snprintf(mid, sizeof(mid), "%lld", (long long)lr->room->meeting_id);
        snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
        const char *params[] = {mid, t->attendee_id,
                                strcmp(m->word, "session") == 0 ? sid : NULL};
        store_exec(lv->st, lv->s_ban, STORE_WRITE, 3, params, NULL, NULL);
        json_object_set_new(lr->banned, t->attendee_id, json_true());
        t->removed = true;
    }
    if (lr->chair.sharer == t->no)
        share_end(lr, me->no, "chair");
    live__event(lr, me->no, "removed", json_pack("{s:o, s:s}", "target", target(t), "ban", m->word),
                s->id, m->id, NULL);
    live__unadmit(lr, t);
    live__close_member(lr, t->no, 4403, "removed by a chair");
    live__broadcast_state(lr);
}

void live__chair_command(struct live *lv, struct session *s, struct msg *m)
{
    struct lroom *lr = s->lroom;
    struct room_member *me = room_member_by_no(lr->room, s->member_no);
    struct chair *c = &lr->chair;
    struct room_member *t;

    switch (m->type) {
    case MSG_START:
        if (!allowed(lr, s, me, CMD_START, m->id))
            return;
        if (c->phase != PHASE_WAITING) {
            session_send_error(s, m->id, "already_open", "the meeting is already open", NULL, -1);
            return;
        }
        c->phase = PHASE_OPEN;
        live__event(lr, me->no, "session_started", json_object(), s->id, m->id, NULL);
        if (c->set.auto_admit)
            admit_all(lr, me->no);
        live__save_state(lr);
        live__broadcast_state(lr);
        return;
    case MSG_END:
        if (allowed(lr, s, me, CMD_END, m->id))
            live__end_session(lr, me->no, s->id, m->id, "chair");
        return;
    case MSG_ADMIT:
        if (!allowed(lr, s, me, CMD_ADMIT, m->id))
            return;
        if (m->flag) {
            admit_all(lr, me->no);
            done(s, m->id);
        } else {
            if (!(t = subject(lr, s, me, m->member, m->id, false)))
                return;
            if (t->admitted) {
                session_send_error(s, m->id, "not_found", "that member is not waiting", "member",
                                   -1);
                return;
            }
            live__admit(lr, t);
            live__event(lr, me->no, "admitted", json_pack("{s:o}", "target", target(t)), s->id,
                        m->id, NULL);
        }
        live__broadcast_state(lr);
        return;
    case MSG_SEND_TO_WAITING:
        if (!allowed(lr, s, me, CMD_SEND_TO_WAITING, m->id) ||
            !(t = subject(lr, s, me, m->member, m->id, true)))
            return;
        if (c->sharer == t->no)
            share_end(lr, me->no, "chair");
        live__to_waiting(lr, t);
        live__event(lr, me->no, "sent_to_waiting", json_pack("{s:o}", "target", target(t)),
                    s->id, m->id, NULL);
        live__broadcast_state(lr);
        return;
    case MSG_SETTINGS:
        if (!allowed(lr, s, me, CMD_SETTINGS, m->id))
            return;
        live__apply_settings(lr, m->settings);
        live__event(lr, me->no, "settings_changed",
                    json_pack("{s:O}", "settings", m->settings), s->id, m->id, NULL);
        if (c->phase == PHASE_OPEN && json_is_true(json_object_get(m->settings, "auto_admit")))
            admit_all(lr, me->no);
        live__save_state(lr);
        live__arm_timer(lr);
        live__broadcast_state(lr);
        return;
    case MSG_HAND:
        if (live__rank(lr, me) == RANK_VISITOR && !c->set.visitors_may_post) {
            session_send_error(s, m->id, "forbidden", "visitors listen; they do not share", NULL,
                               -1);
            return;
        }
        if (m->flag ? chair_hand_raise(c, me->no) : chair_hand_lower(c, me->no))
            live__broadcast_state(lr);
        done(s, m->id);
        return;
    case MSG_CALL:
        if (!allowed(lr, s, me, CMD_CALL, m->id))
            return;
        if (m->member && !(t = subject(lr, s, me, m->member, m->id, false)))
            return;
        if (m->member && (!t->admitted || t->conns == 0)) {
            session_send_error(s, m->id, "not_found", "that member is not in the room",
                               "member", -1);
            return;
        }
        if (m->member && !can_share(lr, t)) {
            session_send_error(s, m->id, "forbidden", "visitors do not share in this meeting",
                               "member", -1);
            return;
        }
        if (c->phase != PHASE_OPEN) {
            session_send_error(s, m->id, "not_open", "start the meeting first", NULL, -1);
            return;
        }
        if (!m->member && !c->nqueue) {
            session_send_error(s, m->id, "not_found", "no hand is raised", NULL, -1);
            return;
        }
        if (c->sharer)
            share_end(lr, me->no, "next");
        if (!share_start(lr, me->no, m->member)) {
            session_send_error(s, m->id, "not_found", "no hand is raised", NULL, -1);
            live__broadcast_state(lr);
            return;
        }
        done(s, m->id);
        live__broadcast_state(lr);
        return;
    case MSG_END_SHARE:
        if (!c->sharer) {
            session_send_error(s, m->id, "not_found", "nobody is sharing", NULL, -1);
            return;
        }
        if (c->sharer != me->no && !allowed(lr, s, me, CMD_END_SHARE, m->id))
            return;
        share_end(lr, me->no, c->sharer == me->no ? "done" : "chair");
        done(s, m->id);
        after_share(lr);
        return;
    case MSG_READING:
        if (allowed(lr, s, me, CMD_READING, m->id))
            reading(lr, s, me, m);
        return;
    case MSG_TOPIC:
        if (!allowed(lr, s, me, CMD_TOPIC, m->id))
            return;
        free(lr->room->topic);
        lr->room->topic = *m->text ? xstrdup(m->text) : NULL;
        live__event(lr, me->no, "topic", json_pack("{s:s}", "text", m->text), s->id, m->id, NULL);
        live__save_state(lr);
        return;
    case MSG_MUTE:
        if (!allowed(lr, s, me, CMD_MUTE, m->id) ||
            !(t = subject(lr, s, me, m->member, m->id, true)))
            return;
        t->muted = m->flag;
        live__event(lr, me->no, m->flag ? "muted" : "unmuted",
                    json_pack("{s:o}", "target", target(t)), s->id, m->id, NULL);
        live__broadcast_state(lr);
        return;
    case MSG_REMOVE:
        if (allowed(lr, s, me, CMD_REMOVE, m->id) &&
            (t = subject(lr, s, me, m->member, m->id, true)))
            remove_member(lr, s, me, t, m);
        return;
    case MSG_DELETE:
        delete_message(lr, s, me, m);
        return;
    case MSG_GRANT:
        if (!allowed(lr, s, me, CMD_GRANT, m->id) ||
            !(t = subject(lr, s, me, m->member, m->id, true)))
            return;
        snprintf(t->granted, sizeof(t->granted), "%s", m->word);
        if (strcmp(m->word, "co-chair") == 0)
            chair_cochair_add(c, t->no);
        else
            chair_cochair_remove(c, t->no);
        live__event(lr, me->no, "role_granted",
                    json_pack("{s:o, s:s}", "target", target(t), "role", m->word), s->id, m->id,
                    NULL);
        live__broadcast_state(lr);
        return;
    case MSG_HAND_OVER:
        if (!allowed(lr, s, me, CMD_HAND_OVER, m->id) ||
            !(t = subject(lr, s, me, m->member, m->id, false)))
            return;
        if (t == me || !t->admitted || t->conns == 0 || live__rank(lr, t) == RANK_VISITOR) {
            session_send_error(s, m->id, "forbidden", "the chair can go to someone present",
                               "member", -1);
            return;
        }
        chair_cochair_remove(c, t->no);
        if (c->chair_member == me->no)
            chair_cochair_add(c, me->no);
        c->chair_member = t->no;
        live__event(lr, me->no, "chair_handed_over", json_pack("{s:o}", "target", target(t)),
                    s->id, m->id, NULL);
        live__broadcast_state(lr);
        return;
    case MSG_PRIVATE: {
        json_t *f = json_pack("{s:s, s:s, s:o, s:s, s:I}", "type", "private", "kind",
                              m->to_chairs ? "to_chairs" : "direct", "from", target(me), "text",
                              m->text, "ts", (json_int_t)util_wall_ms());
        int reached;
        if (m->to_chairs) {
            reached = deliver_private(lr, f, RANK_COCHAIR, 0);
        } else {
            if (!(t = subject(lr, s, me, m->member, m->id, false))) {
                json_decref(f);
                return;
            }
            /* In the waiting room: a reply to a greeter or above who is in
             * the meeting, nothing else. */
            if (!me->admitted && (!t->admitted || t->conns == 0 ||
                                  !chair_allowed(live__rank(lr, t), CMD_DM_ANYONE))) {
                json_decref(f);
                session_send_error(s, m->id, "waiting_room",
                                   "in the waiting room you can write to the chairs and "
                                   "greeters only",
                                   NULL, -1);
                return;
            }
            /* Greeters and above welcome people in the waiting room;
             * nobody else writes there. */
            if (me->admitted && !t->admitted &&
                !chair_allowed(live__rank(lr, me), CMD_DM_ANYONE)) {
                json_decref(f);
                session_send_error(s, m->id, "forbidden",
                                   "only greeters and chairs write to the waiting room",
                                   "member", -1);
                return;
            }
            /* Unwanted private contact is a known harm: attendees write to
             * each other only when the chair allows it. */
            if (me->admitted && !chair_allowed(live__rank(lr, me), CMD_DM_ANYONE) &&
                !(c->set.dms && live__rank(lr, me) >= RANK_ATTENDEE &&
                  live__rank(lr, t) >= RANK_ATTENDEE)) {
                json_decref(f);
                session_send_error(s, m->id, "forbidden",
                                   "direct messages are off in this meeting; you can always "
                                   "write to the chairs",
                                   NULL, -1);
                return;
            }
            json_object_set_new(f, "to", json_integer(t->no));
            reached = deliver_private(lr, f, RANK_VISITOR, t->no);
        }
        live__send(s, live__with_id(json_pack("{s:s, s:i}", "type", "done", "delivered", reached),
                                    m->id));
        return;
    }
    case MSG_REPORT: {
        if (m->target_seq >= lr->room->next_seq) {
            session_send_error(s, m->id, "not_found", "there is no event with that seq", "seq",
                               -1);
            return;
        }
        json_t *f = json_pack("{s:s, s:s, s:o, s:I, s:s, s:I}", "type", "private", "kind",
                              "report", "from", target(me), "seq", (json_int_t)m->target_seq,
                              "text", m->text ? m->text : "", "ts", (json_int_t)util_wall_ms());
        int reached = deliver_private(lr, f, RANK_COCHAIR, 0);
        live__send(s, live__with_id(json_pack("{s:s, s:i}", "type", "done", "delivered", reached),
                                    m->id));
        return;
    }
    case MSG_HELP: {
        /* "I need help": to the chairs at once, to nobody else, never kept. */
        json_t *f = json_pack("{s:s, s:s, s:o, s:s, s:I}", "type", "private", "kind", "help",
                              "from", target(me), "text", m->text ? m->text : "", "ts",
                              (json_int_t)util_wall_ms());
        int reached = deliver_private(lr, f, RANK_COCHAIR, 0);
        live__send(s, live__with_id(json_pack("{s:s, s:i}", "type", "done", "delivered", reached),
                                    m->id));
        return;
    }
    case MSG_VOTE_OPEN:
        if (!allowed(lr, s, me, CMD_SETTINGS, m->id))
            return;
        if (lr->vote.id) {
            session_send_error(s, m->id, "vote_open", "close the open vote first", NULL, -1);
            return;
        }
        {
            int64_t id = live__event(lr, me->no, "vote_opened",
                                     json_pack("{s:s, s:O}", "question", m->text, "options",
                                               m->options),
                                     s->id, m->id, NULL);
            if (!id)
                return;
            lr->vote.id = id;
            lr->vote.question = xstrdup(m->text);
            lr->vote.options = json_incref(m->options);
            memset(lr->vote.counts, 0, sizeof(lr->vote.counts));
            lr->vote.voted = json_object();
        }
        live__broadcast_state(lr);
        return;
    case MSG_VOTE: {
        char key[16];
        if (!lr->vote.id || m->target_seq != lr->vote.id) {
            session_send_error(s, m->id, "not_found", "that vote is not open", "vote", -1);
            return;
        }
        /* Members present vote; visitors do not. */
        if (live__rank(lr, me) == RANK_VISITOR) {
            session_send_error(s, m->id, "forbidden", "visitors do not vote", NULL, -1);
            return;
        }
        if ((size_t)m->option >= json_array_size(lr->vote.options)) {
            session_send_error(s, m->id, "bad_field", "no such option", "option", -1);
            return;
        }
        snprintf(key, sizeof(key), "%d", me->no);
        if (json_object_get(lr->vote.voted, key)) {
            session_send_error(s, m->id, "already_voted", "you have voted in this vote", NULL,
                               -1);
            return;
        }
        json_object_set_new(lr->vote.voted, key, json_true());
        lr->vote.counts[m->option]++;
        done(s, m->id);
        live__broadcast_state(lr); /* how many voted, never who or how */
        return;
    }
    case MSG_VOTE_CLOSE: {
        if (!allowed(lr, s, me, CMD_SETTINGS, m->id))
            return;
        if (!lr->vote.id || m->target_seq != lr->vote.id) {
            session_send_error(s, m->id, "not_found", "that vote is not open", "vote", -1);
            return;
        }
        json_t *counts = json_array();
        int total = 0;
        for (size_t i = 0; i < json_array_size(lr->vote.options); i++) {
            json_array_append_new(counts, json_integer(lr->vote.counts[i]));
            total += lr->vote.counts[i];
        }
        live__event(lr, me->no, "vote_closed",
                    json_pack("{s:I, s:s, s:O, s:o, s:i}", "vote", (json_int_t)lr->vote.id,
                              "question", lr->vote.question, "options", lr->vote.options,
                              "counts", counts, "votes", total),
                    s->id, m->id, NULL);
        free(lr->vote.question);
        json_decref(lr->vote.options);
        json_decref(lr->vote.voted);
        memset(&lr->vote, 0, sizeof(lr->vote));
        live__broadcast_state(lr);
        return;
    }
    default:
        return;
    }
}

/* ---- the session's lifecycle ---- */

int64_t live__opens_at(const struct lroom *lr)
{
    /* Open: unscheduled, run by nobody in particular, or opened already (by
     * someone who may, or by the time; events mean someone came in). */
    if (!lr->sched_start_ms || lr->self_run || lr->waiting_open ||
        lr->chair.phase != PHASE_WAITING || lr->room->next_seq > 1)
        return 0;
    return lr->sched_start_ms - lr->lv->cfg->rooms_waiting_opens_minutes * 60000LL;
}

int64_t live__auto_end_at(const struct lroom *lr)
{
    if (!lr->sched_end_ms || lr->chair.phase == PHASE_CLOSED || lr->ending_seq)
        return -1;
    int64_t at = lr->sched_end_ms + lr->lv->cfg->rooms_auto_end_minutes * 60000LL;
    int64_t grace = lr->lv->cfg->rooms_reconnect_grace_secs * 1000LL;
    /* Empty: nobody let in is here, or may still come back within the grace
     * period.  The waiting room does not keep a session open. */
    for (int i = 0; i < lr->room->nmembers; i++) {
        const struct room_member *m = &lr->room->members[i];
        if (!m->admitted)
            continue;
        if (m->conns > 0)
            return -1;
        if (m->left_ms && m->left_ms + grace > at)
            at = m->left_ms + grace;
    }
    return at;
}

void live__roles_json(const struct lroom *lr, json_t *into)
{
    const struct chair *c = &lr->chair;
    json_t *cochairs = json_array(), *muted = json_array(), *granted = json_object(),
           *admitted = json_array();
    for (int i = 0; i < c->ncochairs; i++)
        json_array_append_new(cochairs, json_integer(c->cochairs[i]));
    for (int i = 0; i < lr->room->nmembers; i++) {
        const struct room_member *m = &lr->room->members[i];
        char key[16];
        if (m->muted)
            json_array_append_new(muted, json_integer(m->no));
        if (m->admitted)
            json_array_append_new(admitted, json_integer(m->no));
        if (m->granted[0]) {
            snprintf(key, sizeof(key), "%d", m->no);
            json_object_set_new(granted, key, json_string(m->granted));
        }
    }
    json_object_set_new(into, "chair", json_integer(c->chair_member));
    json_object_set_new(into, "cochairs", cochairs);
    json_object_set_new(into, "muted", muted);
    json_object_set_new(into, "granted", granted);
    json_object_set_new(into, "admitted", admitted);
}

void live__restore_roles(struct lroom *lr)
{
    struct chair *c = &lr->chair;
    json_t *o = lr->saved_roles, *v;
    size_t i;
    const char *key;
    /* Only numbers of members the session has are taken back. */
    struct room_member *m = room_member_by_no(lr->room,
                                              (int)json_integer_value(json_object_get(o, "chair")));
    if (m) {
        c->chair_member = m->no;
        /* As if the holder had just left: the chair waits for them for the
         * grace period (do_join). */
        m->left_ms = util_wall_ms();
    }
    json_array_foreach(json_object_get(o, "cochairs"), i, v)
        if (room_member_by_no(lr->room, (int)json_integer_value(v)))
            chair_cochair_add(c, (int)json_integer_value(v));
    json_array_foreach(json_object_get(o, "muted"), i, v)
        if ((m = room_member_by_no(lr->room, (int)json_integer_value(v))))
            m->muted = true;
    /* Those let in come back without the waiting room within the grace
     * period, counted from the load, as after a dropped connection. */
    json_array_foreach(json_object_get(o, "admitted"), i, v)
        if ((m = room_member_by_no(lr->room, (int)json_integer_value(v)))) {
            m->admitted = true;
            m->left_ms = util_wall_ms();
        }
    json_object_foreach(json_object_get(o, "granted"), key, v) {
        const char *role = json_string_value(v);
        m = room_member_by_no(lr->room, atoi(key));
        if (m && role && (strcmp(role, "co-chair") == 0 || strcmp(role, "greeter") == 0 ||
                          strcmp(role, "attendee") == 0))
            snprintf(m->granted, sizeof(m->granted), "%s", role);
    }
    json_decref(lr->saved_roles);
    lr->saved_roles = NULL;
}
