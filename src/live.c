#include "live.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "codec.h"
#include "config.h"
#include "frame.h"
#include "log.h"
#include "room.h"
#include "session.h"
#include "util.h"
#include "version.h"
#include "live_int.h"
#include "live_owner.h"
#include "live_sql.h"

static void on_segment(void *arg);

#define EVENT_COLS                                                                             \
    "seq, member_no, kind, client_msg_id, body::text, "                                        \
    "(extract(epoch FROM created_at) * 1000)::bigint"

struct live *live_new(uv_loop_t *loop, struct store *st, const struct config *cfg)
{
    struct live *lv = xcalloc(1, sizeof(*lv));
    lv->loop = loop;
    lv->st = st;
    lv->cfg = cfg;
    lv->token_cache = json_object();
    store_set_segment_cb(st, on_segment, lv);
    /* Find the meeting and its live session, opening one if none is. */
    lv->s_load_room = store_prepare(
        st,
        "WITH m AS (SELECT id, name, types, record_transcripts, retention_days,"
        "   transcript_readers, share_time_limit_secs, format, resources, contribution_url,"
        "   language"
        "   FROM meetings WHERE slug = $1),"
        " ins AS (INSERT INTO sessions (meeting_id, record)"
        "   SELECT id, record_transcripts FROM m"
        "   ON CONFLICT (meeting_id) WHERE ended_at IS NULL DO NOTHING"
        "   RETURNING id, started_at, phase, settings, topic, record)"
        " SELECT m.id, m.name, s.id, (extract(epoch FROM s.started_at) * 1000)::bigint,"
        "   'C' = ANY (m.types), 'XT' = ANY (m.types), m.record_transcripts, m.retention_days,"
        "   m.transcript_readers, m.share_time_limit_secs, m.format::text, m.resources::text,"
        "   m.contribution_url, s.phase, s.settings::text, s.topic,"
        "   EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = m.id"
        "     AND r.role IN ('chair', 'co-chair')), s.record,"
        "   transcript_search_config(m.language)::text"
        " FROM m, (SELECT id, started_at, phase, settings, topic, record FROM ins UNION ALL"
        "   SELECT id, started_at, phase, settings, topic, record FROM sessions"
        "   WHERE meeting_id = (SELECT id FROM m) AND ended_at IS NULL) s LIMIT 1",
        1);
    lv->s_session_state = store_prepare(
        st, "UPDATE sessions SET phase = $2, settings = $3::jsonb, topic = $4 WHERE id = $1", 4);
    lv->s_redact = store_prepare(
        st,
        "UPDATE events SET body = $3::jsonb WHERE session_id = $1 AND seq = $2"
        " AND kind = 'message'",
        3);
    lv->s_ban = store_prepare(st,
                              "INSERT INTO bans (meeting_id, attendee_id, session_id)"
                              " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                              3);
    lv->s_bans = store_prepare(st,
                               "SELECT attendee_id FROM bans WHERE meeting_id = $1"
                               " AND (session_id IS NULL OR session_id = $2)",
                               2);
    lv->s_attend_in = store_prepare(st,
                                    "INSERT INTO attendance (session_id, member_no, joined_at)"
                                    " VALUES ($1, $2, to_timestamp($3::double precision / 1000))"
                                    " ON CONFLICT DO NOTHING",
                                    3);
    lv->s_attend_out = store_prepare(
        st,
        "UPDATE attendance SET left_at = to_timestamp($3::double precision / 1000)"
        " WHERE session_id = $1 AND member_no = $2 AND left_at IS NULL",
        3);
    lv->s_end_session = store_prepare(
        st, "UPDATE sessions SET ended_at = now(), phase = 'closed' WHERE id = $1", 1);
    /* The occurrence of the meeting's schedule a session belongs to: the
     * first one not over when the session began (none: unscheduled). */
    lv->s_schedule = store_prepare(
        st,
        "SELECT (extract(epoch FROM o.starts_at) * 1000)::bigint,"
        " (extract(epoch FROM o.starts_at + make_interval(mins => m.duration_minutes))"
        "   * 1000)::bigint"
        " FROM sessions s JOIN meetings m ON m.id = s.meeting_id,"
        " LATERAL directory_occurrences(m.days, m.start_time, m.duration_minutes, m.time_zone,"
        "   s.started_at, 1) o WHERE s.id = $1",
        1);
    /* A session found open at load long after its scheduled end: it ends
     * (session_ended, reason auto) when it would have, or after its last
     * event, and the room loads a new one. */
    lv->s_end_stale = store_prepare(
        st,
        "WITH e AS (INSERT INTO events (session_id, seq, kind, body, created_at)"
        "   SELECT $1, coalesce(max(seq), 0) + 1, 'session_ended', '{\"reason\": \"auto\"}',"
        "     greatest(to_timestamp($2::double precision / 1000), max(created_at))"
        "   FROM events WHERE session_id = $1 ON CONFLICT DO NOTHING RETURNING created_at)"
        " UPDATE sessions SET phase = 'closed',"
        "   ended_at = coalesce((SELECT created_at FROM e), now())"
        " WHERE id = $1 AND ended_at IS NULL",
        2);
    /* A session made before its waiting room opened starts when it opens. */
    lv->s_session_opened = store_prepare(
        st, "UPDATE sessions SET started_at = to_timestamp($2::double precision / 1000)"
            " WHERE id = $1",
        2);
    lv->s_participants = store_prepare(
        st,
        "SELECT member_no, coalesce(attendee_id, ''), display_name, role FROM participants"
        " WHERE session_id = $1 ORDER BY member_no",
        1);
    lv->s_recent = store_prepare(st,
                                 "SELECT " EVENT_COLS " FROM events WHERE session_id = $1"
                                 " ORDER BY seq DESC LIMIT $2",
                                 2);
    lv->s_client_ids = store_prepare(st,
                                     "SELECT member_no, client_msg_id, seq,"
                                     " kind = 'message', body ? 'removed' FROM events"
                                     " WHERE session_id = $1 AND client_msg_id IS NOT NULL",
                                     1);
    lv->s_after = store_prepare(st,
                                "SELECT " EVENT_COLS " FROM events WHERE session_id = $1"
                                " AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
                                4);
    lv->s_before = store_prepare(st,
                                 "SELECT " EVENT_COLS " FROM events WHERE session_id = $1"
                                 " AND seq < $2 ORDER BY seq DESC LIMIT $3",
                                 3);
    lv->s_insert_event = store_prepare(st, LIVE_SQL_INSERT_EVENT, 8);
    store_prepare_bulk(st, lv->s_insert_event, LIVE_SQL_INSERT_EVENTS);
    lv->s_insert_participant = store_prepare(
        st,
        "INSERT INTO participants (session_id, member_no, attendee_id, display_name, role,"
        " first_joined_at) VALUES ($1, $2, nullif($3, ''), $4, $5,"
        " to_timestamp($6::double precision / 1000))"
        " ON CONFLICT (session_id, member_no) DO NOTHING",
        6);
    lv->s_participant_left = store_prepare(
        st,
        "UPDATE participants SET last_left_at = to_timestamp($3::double precision / 1000)"
        " WHERE session_id = $1 AND member_no = $2",
        3);
    lv->s_insert_attendee = store_prepare(
        st,
        "INSERT INTO attendees (id, token_hash, display_name, expires_at)"
        " VALUES ($1, decode($2, 'hex'), $3, now() + make_interval(days => $4::int))"
        " ON CONFLICT DO NOTHING",
        4);
    /* Who a token belongs to, and for an account its role in this meeting:
     * the meeting's role when it has one, else admin, else attendee. */
    lv->s_find_attendee = store_prepare(
        st,
        "SELECT a.id, 'attendee', false FROM attendees a WHERE a.token_hash = decode($1, 'hex')"
        " AND a.expires_at > now() AND a.revoked_at IS NULL"
        " UNION ALL"
        " SELECT acc.attendee_id, coalesce((SELECT r.role FROM meeting_roles r"
        "   JOIN meetings m ON m.id = r.meeting_id"
        "   WHERE m.slug = $2 AND r.account_id = acc.id),"
        "   CASE WHEN acc.is_admin THEN 'admin' ELSE 'attendee' END), true"
        " FROM account_tokens t JOIN accounts acc ON acc.id = t.account_id"
        " WHERE t.token_hash = decode($1, 'hex') AND t.expires_at > now()"
        " AND t.revoked_at IS NULL AND acc.disabled_at IS NULL",
        2);
    live__owner_init(lv);
    lv->store_lost = true; /* no connection yet: the first one is a new one too */
    return lv;
}

static void lroom_release(struct lroom *lr)
{
    for (int i = 0; i < lr->nout; i++)
        frame_unref(lr->outbox[i]);
    for (int i = 0; i < lr->nacks; i++)
        json_decref(lr->acks[i].id);
    free(lr->outbox);
    free(lr->acks);
    for (int i = 0; i < lr->nwait; i++)
        json_decref(lr->waiters[i].id);
    free(lr->waiters);
    free(lr->conns);
    room_free(lr->room);
    json_decref(lr->format);
    json_decref(lr->resources);
    json_decref(lr->banned);
    free(lr->vote.question);
    json_decref(lr->vote.options);
    json_decref(lr->vote.voted);
    free(lr->contribution_url);
    json_decref(lr->saved_roles);
    free(lr->saved_state);
    free(lr);
}

static void on_timer_closed(uv_handle_t *h)
{
    lroom_release(h->data);
}

/* The room's timer is a libuv handle: it is freed in its close callback. */
static void lroom_free(struct lroom *lr)
{
    uv_close((uv_handle_t *)&lr->timer, on_timer_closed);
}

static void pending_free(struct pending *p)
{
    frame_unref(p->frame);
    json_decref(p->req_id);
    free(p);
}

void live_free(struct live *lv)
{
    if (!lv)
        return;
    while (lv->rooms) {
        struct lroom *lr = lv->rooms;
        lv->rooms = lr->next;
        while (lr->pend_head) {
            struct pending *p = lr->pend_head;
            lr->pend_head = p->next;
            pending_free(p);
        }
        lroom_release(lr);
    }
    json_decref(lv->token_cache);
    live__owner_free(lv);
    free(lv);
}

void live_stop(struct live *lv)
{
    while (lv->rooms) {
        struct lroom *lr = lv->rooms;
        lv->rooms = lr->next;
        while (lr->pend_head) {
            struct pending *p = lr->pend_head;
            lr->pend_head = p->next;
            pending_free(p);
        }
        lroom_free(lr);
    }
}

int live_slug_valid(const char *slug)
{
    size_t n = strlen(slug);
    if (n < 1 || n > 64 || slug[0] == '-' || slug[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = slug[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

void live_get_stats(const struct live *lv, struct live_stats *out)
{
    *out = lv->stats;
    out->rooms = 0;
    out->joined = 0;
    for (const struct lroom *lr = lv->rooms; lr; lr = lr->next) {
        out->rooms++;
        for (int i = 0; i < lr->nconns; i++)
            if (lr->conns[i]->state == SESSION_JOINED)
                out->joined++;
    }
}

/* ---- small helpers ---- */

void live__send(struct session *s, json_t *obj)
{
    struct frame *f = codec_frame(obj);
    session_send(s, f);
    frame_unref(f);
}

json_t *live__with_id(json_t *obj, json_t *id)
{
    if (id)
        json_object_set(obj, "id", id);
    return obj;
}

void live__error(struct session *s, json_t *id, const char *code, const char *message)
{
    session_send_error(s, id, code, message, NULL, -1);
}

void live__unavailable(struct session *s, json_t *id)
{
    session_send_error(s, id, "store_unavailable",
                       "the meeting's history is unavailable right now; try again shortly",
                       NULL, 1000);
}

enum chair_rank live__rank(const struct lroom *lr, const struct room_member *m)
{
    const struct chair *c = &lr->chair;
    if (m->no == c->chair_member || strcmp(m->role, "admin") == 0)
        return RANK_CHAIR;
    if (strcmp(m->granted, "attendee") == 0)
        return strcmp(m->role, "visitor") == 0 ? RANK_VISITOR : RANK_ATTENDEE;
    if (strcmp(m->granted, "greeter") == 0 && !chair_is_cochair(c, m->no))
        return RANK_GREETER;
    if (chair_is_cochair(c, m->no) || strcmp(m->role, "co-chair") == 0 ||
        strcmp(m->role, "chair") == 0 || strcmp(m->granted, "co-chair") == 0)
        return RANK_COCHAIR;
    if (strcmp(m->role, "greeter") == 0 || strcmp(m->granted, "greeter") == 0)
        return RANK_GREETER;
    return strcmp(m->role, "visitor") == 0 ? RANK_VISITOR : RANK_ATTENDEE;
}

const char *live__role(const struct lroom *lr, const struct room_member *m)
{
    if (m->no == lr->chair.chair_member)
        return "chair";
    if (strcmp(m->role, "admin") == 0)
        return "admin";
    return chair_rank_name(live__rank(lr, m));
}

json_t *live__member_json(const struct lroom *lr, const struct room_member *m)
{
    return json_pack("{s:i, s:s, s:s}", "member", m->no, "name", m->name, "role",
                     live__role(lr, m));
}

/* The Event object for stored or new fields; body is borrowed. */
static json_t *event_json(struct room *r, int64_t seq, int64_t ts, const char *kind, int member_no,
                          const char *cmid, json_t *body)
{
    struct room_member *m = room_member_by_no(r, member_no);
    json_t *e = json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)seq, "ts", (json_int_t)ts, "kind",
                          kind);
    /* Events of the server itself (a share's time) have no author. */
    if (member_no > 0)
        json_object_set_new(e, "from", json_pack("{s:i, s:s}", "member", member_no, "name",
                                                 m && *m->name ? m->name : "?"));
    if (cmid)
        json_object_set_new(e, "client_msg_id", json_string(cmid));
    if (json_is_object(body))
        json_object_update(e, body);
    return e;
}

/* An event frame from a row of EVENT_COLS. */
static struct frame *row_frame(struct room *r, const struct store_result *res, int row)
{
    json_t *body = NULL;
    const char *text = store_result_value(res, row, 4);
    if (text)
        body = json_loads(text, 0, NULL);
    json_t *e = event_json(r, store_result_int(res, row, 0), store_result_int(res, row, 5),
                           store_result_value(res, row, 2), (int)store_result_int(res, row, 1),
                           store_result_value(res, row, 3), body);
    json_decref(body);
    return codec_event_frame(e);
}

void live__fanout(struct lroom *lr, struct frame *f, int except_member)
{
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        struct room_member *m = room_member_by_no(lr->room, s->member_no);
        if (!m || !m->admitted)
            continue; /* the waiting room sees nothing of the meeting */
        /* Events wait for a catch-up to reach them (they are in the ring);
         * presence and status are live and go at once. */
        if (s->state == SESSION_JOINED && !(s->catching_up && f->events) &&
            s->member_no != except_member)
            session_send(s, f);
    }
}

static void presence(struct lroom *lr, const char *action, const struct room_member *m)
{
    json_t *o = json_pack("{s:s, s:s, s:o}", "type", "presence", "action", action, "member",
                          live__member_json(lr, m));
    struct frame *f = codec_frame(o);
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        struct room_member *to = room_member_by_no(lr->room, s->member_no);
        if (s->state != SESSION_JOINED || !to || !to->admitted || to->no == m->no)
            continue;
        /* A hidden member list hides comings and goings too, except from
         * those who run the room. */
        if (lr->chair.set.hide_members && live__rank(lr, to) < RANK_GREETER)
            continue;
        session_send(s, f);
    }
    frame_unref(f);
}

static void maybe_free(struct live *lv, struct lroom *lr)
{
    if (lr->nconns || lr->npend || lr->dirty || lr->state == LR_LOADING)
        return;
    for (struct lroom **pp = &lv->rooms; *pp; pp = &(*pp)->next)
        if (*pp == lr) {
            *pp = lr->next;
            break;
        }
    live__owner_release(lr);
    lroom_free(lr);
}

/* ---- loading a room ---- */

static void do_join(struct live *lv, struct session *s, json_t *id, bool has_after, int64_t after);

static void load(struct live *lv, struct lroom *lr);
static void load_finished(struct lroom *lr);

static void on_stale_ended(void *arg, const struct store_result *res, int status,
                           const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
        load_finished(lr);
        return;
    }
    log_info("live", "meeting %s: session %lld ended by itself after its scheduled end",
             lr->room->slug, (long long)lr->room->session_id);
    load(lr->lv, lr); /* a new session */
}

/* A session still open long after its scheduled end, with nobody in it (the
 * room was not in memory when it would have ended): end it now, and load a
 * new one for the joins waiting.  Returns true when it does. */
static bool end_if_stale(struct lroom *lr)
{
    struct live *lv = lr->lv;
    int64_t at = live__auto_end_at(lr);
    if (at < 0 || util_wall_ms() < at || lr->stale_ended == lr->room->session_id)
        return false;
    lr->stale_ended = lr->room->session_id;
    char sid[24], ts[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
    snprintf(ts, sizeof(ts), "%lld", (long long)at);
    const char *params[] = {sid, ts};
    lr->loads++;
    if (store_exec(lv->st, lv->s_end_stale, STORE_WRITE, 2, params, on_stale_ended, lr)) {
        lr->loads--;
        return false;
    }
    return true;
}

static void load_finished(struct lroom *lr)
{
    struct live *lv = lr->lv;
    if (lr->loads > 0)
        return;
    if (lr->state == LR_LOADING && !lr->load_failed && end_if_stale(lr))
        return;
    if (lr->state == LR_LOADING)
        lr->state = lr->load_failed ? LR_FAILED : LR_READY;
    if (lr->state == LR_READY)
        log_info("live", "meeting %s: session %lld ready at seq %lld", lr->room->slug,
                 (long long)lr->room->session_id, (long long)lr->room->last_delivered);
    /* Answer the joins that waited for the load. */
    struct waiter *w = lr->waiters;
    int n = lr->nwait;
    lr->waiters = NULL;
    lr->nwait = 0;
    for (int i = 0; i < n; i++) {
        struct session *s = session_find(w[i].sid);
        if (s)
            s->join_waiting = false;
        if (s && s->lroom == lr) {
            if (lr->state == LR_READY)
                do_join(lv, s, w[i].id, w[i].has_after, w[i].after);
            else if (lr->state == LR_FAILED && !lr->moved)
                live__unavailable(s, w[i].id);
        }
        json_decref(w[i].id);
    }
    free(w);
    if (lr->state == LR_FAILED && lr->moved)
        live__owner_moved(lr); /* another node serves it: come back later */
    if (lr->state == LR_NOT_FOUND)
        for (int i = 0; i < lr->nconns; i++) {
            session_send_error(lr->conns[i], NULL, "meeting_not_found",
                               "there is no meeting at this address", NULL, -1);
            session_close_gently(lr->conns[i], 4404, "no such meeting");
        }
    maybe_free(lv, lr);
}

static void on_participants(void *arg, const struct store_result *res, int status,
                            const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else {
        for (int i = 0; i < store_result_rows(res); i++)
            room_member_add(lr->room, (int)store_result_int(res, i, 0),
                            store_result_value(res, i, 1), store_result_value(res, i, 2),
                            store_result_value(res, i, 3));
        live__restore_roles(lr);
    }
    load_finished(lr);
}

static void on_recent(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else {
        int n = store_result_rows(res);
        struct room *r = lr->room;
        if (n > 0) {
            r->last_delivered = store_result_int(res, 0, 0);
            r->next_seq = r->last_delivered + 1;
        }
        /* Rows come newest first; the ring wants oldest first. */
        for (int i = n - 1; i >= 0; i--) {
            struct frame *f = row_frame(r, res, i);
            room_ring_push(r, store_result_int(res, i, 0), f);
            frame_unref(f);
        }
    }
    load_finished(lr);
}

/* A boolean column as text. */
static bool tf(const char *v)
{
    return v && strcmp(v, "t") == 0;
}

static void on_client_ids(void *arg, const struct store_result *res, int status,
                          const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else {
        for (int i = 0; i < store_result_rows(res); i++) {
            int member = (int)store_result_int(res, i, 0);
            room_dedupe_put(lr->room, member, store_result_value(res, i, 1),
                            store_result_int(res, i, 2));
            if (tf(store_result_value(res, i, 3)))
                room_author_set(lr->room, store_result_int(res, i, 2),
                                tf(store_result_value(res, i, 4)) ? -member : member);
        }
    }
    load_finished(lr);
}

static void load_read(struct lroom *lr, int stmt, int n, const char *const *params, store_cb cb)
{
    lr->loads++;
    if (store_exec(lr->lv->st, stmt, STORE_READ, n, params, cb, lr)) {
        lr->loads--;
        lr->load_failed = true;
    }
}

static void on_bans(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status)
        lr->load_failed = true;
    else
        for (int i = 0; i < store_result_rows(res); i++)
            json_object_set_new(lr->banned, store_result_value(res, i, 0), json_true());
    load_finished(lr);
}

static void load_settings(struct lroom *lr, const char *text)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    json_t *v;
    live__apply_settings(lr, o);
    if ((v = json_object_get(o, "reading")) && json_is_integer(v))
        lr->chair.reading = (int)json_integer_value(v);
    /* The chair and the session's roles wait for the members (participants). */
    json_decref(lr->saved_roles);
    lr->saved_roles = o;
}

static void on_schedule(void *arg, const struct store_result *res, int status,
                        const char *errmsg)
{
    struct lroom *lr = arg;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else if (store_result_rows(res) > 0) {
        lr->sched_start_ms = store_result_int(res, 0, 0);
        lr->sched_end_ms = store_result_int(res, 0, 1);
    }
    load_finished(lr);
}

static void on_room_row(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct lroom *lr = arg;
    struct live *lv = lr->lv;
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else if (store_result_rows(res) == 0) {
        lr->state = LR_NOT_FOUND;
    } else {
        struct room *r = lr->room;
        r->meeting_id = store_result_int(res, 0, 0);
        r->meeting_name = xstrdup(store_result_value(res, 0, 1));
        r->session_id = store_result_int(res, 0, 2);
        r->started_at_ms = store_result_int(res, 0, 3);
        lr->closed_meeting = tf(store_result_value(res, 0, 4));
        bool crosstalk = tf(store_result_value(res, 0, 5)); /* XT: crosstalk permitted */
        /* The session's own setting, fixed when it started. */
        lr->record = tf(store_result_value(res, 0, 17));
        snprintf(lr->ts_config, sizeof(lr->ts_config), "%s", store_result_value(res, 0, 18));
        lr->retention_days = (int)store_result_int(res, 0, 7);
        snprintf(lr->readers, sizeof(lr->readers), "%s", store_result_value(res, 0, 8));
        chair_init(&lr->chair, (int)store_result_int(res, 0, 9), crosstalk);
        json_decref(lr->format);
        json_decref(lr->resources);
        lr->format = json_loads(store_result_value(res, 0, 10), 0, NULL);
        lr->resources = json_loads(store_result_value(res, 0, 11), 0, NULL);
        free(lr->contribution_url);
        lr->contribution_url = xstrdup(store_result_value(res, 0, 12));
        const char *phase = store_result_value(res, 0, 13);
        lr->chair.phase = strcmp(phase, "open") == 0 ? PHASE_OPEN : PHASE_WAITING;
        lr->sched_start_ms = lr->sched_end_ms = 0;
        lr->waiting_open = false;
        lr->wsig[0] = '\0';
        free(lr->saved_state);
        lr->saved_state = NULL;
        lr->self_run = !tf(store_result_value(res, 0, 16));
        if (lr->self_run) {
            /* Nobody is named to chair this meeting: it runs itself, open
             * from the start and letting everyone in. */
            lr->chair.phase = PHASE_OPEN;
            lr->chair.set.auto_admit = true;
        }
        load_settings(lr, store_result_value(res, 0, 14));
        free(r->topic);
        r->topic = store_result_value(res, 0, 15) ? xstrdup(store_result_value(res, 0, 15)) : NULL;

        char sid[24], mid[24], limit[24];
        snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
        snprintf(mid, sizeof(mid), "%lld", (long long)r->meeting_id);
        snprintf(limit, sizeof(limit), "%d", lv->cfg->rooms_recent_events);
        const char *p1[] = {sid};
        const char *p2[] = {sid, limit};
        const char *pb[] = {mid, sid};
        /* Cluster: the meeting's lock first, so that what follows sees all
         * that its previous owner committed. */
        live__owner_claim(lr, load_finished);
        /* Participants first: the events' "from" names come from them. */
        load_read(lr, lv->s_participants, 1, p1, on_participants);
        load_read(lr, lv->s_recent, 2, p2, on_recent);
        load_read(lr, lv->s_client_ids, 1, p1, on_client_ids);
        load_read(lr, lv->s_bans, 2, pb, on_bans);
        load_read(lr, lv->s_schedule, 1, p1, on_schedule);
    }
    load_finished(lr);
}

static struct lroom *find_room(struct live *lv, const char *slug)
{
    for (struct lroom *lr = lv->rooms; lr; lr = lr->next)
        if (strcmp(lr->room->slug, slug) == 0)
            return lr;
    return NULL;
}

static void load(struct live *lv, struct lroom *lr)
{
    char *slug = xstrdup(lr->room->slug);
    room_free(lr->room);
    lr->room = room_new(slug, lv->cfg->rooms_recent_events);
    lr->state = LR_LOADING;
    lr->load_failed = false;
    json_decref(lr->banned);
    lr->banned = json_object();
    const char *params[] = {slug};
    load_read(lr, lv->s_load_room, 1, params, on_room_row);
    free(slug);
    load_finished(lr);
}

void live_attach(struct live *lv, struct session *s, const char *slug)
{
    struct lroom *lr = find_room(lv, slug);
    if (!lr) {
        lr = xcalloc(1, sizeof(*lr));
        lr->lv = lv;
        lr->banned = json_object();
        uv_timer_init(lv->loop, &lr->timer);
        lr->timer.data = lr;
        lr->room = room_new(slug, 1);
        lr->state = LR_FAILED;
        lr->next = lv->rooms;
        lv->rooms = lr;
    }
    if (lr->nconns == lr->cap) {
        lr->cap = lr->cap ? lr->cap * 2 : 8;
        lr->conns = xrealloc(lr->conns, (size_t)lr->cap * sizeof(*lr->conns));
    }
    lr->conns[lr->nconns++] = s;
    s->lroom = lr;
    snprintf(s->slug, sizeof(s->slug), "%s", slug);
    if (lr->state == LR_NOT_FOUND) {
        session_send_error(s, NULL, "meeting_not_found", "there is no meeting at this address",
                           NULL, -1);
        session_close_gently(s, 4404, "no such meeting");
    } else if (lr->moved && lr->npend) {
        live__owner_refuse(s); /* lost to another node, still settling its writes */
    } else if (lr->state == LR_FAILED) {
        load(lv, lr);
    }
}

/* ---- leaving ---- */

/* Attendance (proof of attendance): an interval runs while a member is in
 * the room itself, let in and connected; the waiting room does not count. */
static void attend(struct lroom *lr, struct room_member *m, bool in)
{
    struct live *lv = lr->lv;
    char sid[24], no[16], ts[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
    snprintf(no, sizeof(no), "%d", m->no);
    snprintf(ts, sizeof(ts), "%lld", (long long)util_wall_ms());
    const char *params[] = {sid, no, ts};
    store_exec(lv->st, in ? lv->s_attend_in : lv->s_attend_out, STORE_WRITE, 3, params, NULL,
               NULL);
}

static void member_left(struct live *lv, struct lroom *lr, struct session *s)
{
    struct room_member *m = room_member_by_no(lr->room, s->member_no);
    s->state = SESSION_HELLO;
    s->catching_up = false;
    if (!m)
        return;
    if (--m->conns > 0)
        return;
    m->left_ms = util_wall_ms();
    if (m->admitted) {
        presence(lr, "leave", m);
        /* A server shutting down (1001) keeps the chair where it is: it is
         * stored, and the holder gets it back after the restart. */
        if (!(s->closing && s->close_code == 1001))
            live__chair_member_left(lr, m);
    } else {
        live__broadcast_state(lr); /* the waiting room changed */
    }
    char sid[24], no[16], ts[24];
    snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
    snprintf(no, sizeof(no), "%d", m->no);
    snprintf(ts, sizeof(ts), "%lld", (long long)m->left_ms);
    const char *params[] = {sid, no, ts};
    /* Attendance is a record kept on a best-effort basis: when the queue is
     * full it is skipped rather than refusing the person's leave. */
    store_exec(lv->st, lv->s_participant_left, STORE_WRITE, 3, params, NULL, NULL);
    if (m->admitted)
        attend(lr, m, false);
}

void live_detach(struct live *lv, struct session *s)
{
    struct lroom *lr = s->lroom;
    if (!lr)
        return;
    if (s->state == SESSION_JOINED)
        member_left(lv, lr, s);
    for (int i = 0; i < lr->nconns; i++)
        if (lr->conns[i] == s) {
            lr->conns[i] = lr->conns[--lr->nconns];
            break;
        }
    s->lroom = NULL;
    maybe_free(lv, lr);
}

/* ---- hello ---- */

struct hello_req {
    uint64_t sid;
    json_t *id;
    bool full_name;
    char hash[AUTH_HASH_HEX];
    char token[AUTH_TOKEN_HEX]; /* echoed in welcome: it is the client's own */
};

static void welcome(struct live *lv, struct session *s, json_t *id, const char *token,
                    bool full_name)
{
    json_t *warnings = json_array();
    if (full_name)
        json_array_append_new(
            warnings,
            json_pack("{s:s, s:s}", "code", "full_name", "message",
                      "This looks like a full name. Meetings are anonymous: a first name or a "
                      "nickname is enough. You can reconnect with another name."));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i, s:f, s:i}, s:o}", "type",
                          "welcome", "protocol", "haven.v1", "server", HAVEN_VERSION, "token",
                          token, "name", s->name, "limits", "max_frame_bytes",
                          lv->cfg->ws_max_frame_bytes, "max_text_chars",
                          lv->cfg->ws_max_text_chars, "rate_per_sec", lv->cfg->ws_rate_per_sec,
                          "rate_burst", lv->cfg->ws_rate_burst, "warnings", warnings);
    /* An account's login token: the client keeps it apart from attendee ones. */
    json_object_set_new(o, "account", json_boolean(s->account));
    s->state = SESSION_HELLO;
    live__send(s, live__with_id(o, id));
}

static void remember_token(struct live *lv, const char *hash, const char *attendee_id)
{
    if (json_object_size(lv->token_cache) >= TOKEN_CACHE_MAX)
        json_object_clear(lv->token_cache);
    json_object_set_new(lv->token_cache, hash, json_string(attendee_id));
}

static void on_find_attendee(void *arg, const struct store_result *res, int status,
                             const char *errmsg)
{
    struct hello_req *h = arg;
    struct session *s = session_find(h->sid);
    struct live *lv = s && s->lroom ? s->lroom->lv : NULL;
    if (!s || !lv || s->state != SESSION_HELLO_WAIT)
        goto out;
    if (status) {
        s->state = SESSION_NEW;
        live__unavailable(s, h->id);
        goto out;
    }
    if (store_result_rows(res) == 0) {
        s->state = SESSION_NEW;
        session_send_error(s, h->id, "invalid_token",
                           "this token is unknown or expired; say hello without it to get a "
                           "new one",
                           "token", -1);
        goto out;
    }
    snprintf(s->attendee_id, sizeof(s->attendee_id), "%s", store_result_value(res, 0, 0));
    const char *role = store_result_value(res, 0, 1);
    s->account = strcmp(store_result_value(res, 0, 2), "t") == 0;
    if (strcmp(role, "attendee") != 0)
        snprintf(s->role, sizeof(s->role), "%s", role); /* an account's role */
    /* Only attendee tokens are remembered for outages: an account's token is
     * always checked by the database (it may have been revoked). */
    if (!s->account)
        remember_token(lv, h->hash, s->attendee_id);
    welcome(lv, s, h->id, h->token, h->full_name);
out:
    json_decref(h->id);
    free(h);
}


static void on_attendee_stored(void *arg, const struct store_result *res, int status,
                               const char *errmsg)
{
    struct hello_req *h = arg;
    struct session *s = session_find(h->sid);
    struct live *lv = s && s->lroom ? s->lroom->lv : NULL;
    if (!s || !lv || s->state != SESSION_HELLO_WAIT)
        goto out;
    if (status) {
        s->state = SESSION_NEW;
        s->attendee_id[0] = '\0';
        session_send_error(s, h->id, "internal", "the pseudonym could not be stored", NULL, -1);
        goto out;
    }
    remember_token(lv, h->hash, s->attendee_id);
    welcome(lv, s, h->id, h->token, h->full_name);
out:
    json_decref(h->id);
    free(h);
}

static void on_hello(struct live *lv, struct session *s, struct msg *m)
{
    char name[4 * 32 + 1];
    bool full_name = false;
    const char *code = NULL;

    if (s->state != SESSION_NEW) {
        session_send_error(s, m->id, "already_hello", "hello was already said on this connection",
                           NULL, -1);
        return;
    }
    if (auth_check_name(m->name, name, sizeof(name), &full_name, &code)) {
        const char *text =
            strcmp(code, "name_empty") == 0      ? "the name is empty"
            : strcmp(code, "name_too_long") == 0 ? "the name is longer than 32 characters"
            : strcmp(code, "name_invalid_chars") == 0
                ? "the name has control or invisible characters"
                : "that name is kept for the meeting's roles and the system; choose another";
        session_send_error(s, m->id, code, text, "name", -1);
        return;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->role, sizeof(s->role), "%s", m->visitor ? "visitor" : "attendee");

    if (m->token) {
        struct hello_req *h = xcalloc(1, sizeof(*h));
        auth_token_hash(m->token, h->hash);
        /* Attendee tokens are remembered so that people can come back
         * while the database is away; when it is there, it decides (a token
         * may have been revoked). */
        json_t *cached = lv->store_ok ? NULL : json_object_get(lv->token_cache, h->hash);
        if (cached) {
            snprintf(s->attendee_id, sizeof(s->attendee_id), "%s", json_string_value(cached));
            free(h);
            welcome(lv, s, m->id, m->token, full_name);
            return;
        }
        h->sid = s->id;
        h->id = m->id ? json_incref(m->id) : NULL;
        h->full_name = full_name;
        snprintf(h->token, sizeof(h->token), "%s", m->token);
        const char *params[] = {h->hash, s->slug};
        s->state = SESSION_HELLO_WAIT;
        if (store_exec(lv->st, lv->s_find_attendee, STORE_READ, 2, params, on_find_attendee, h)) {
            s->state = SESSION_NEW;
            json_decref(h->id);
            free(h);
            live__unavailable(s, m->id);
        }
        return;
    }

    /* A new pseudonym.  Its welcome waits for the row's commit, like every
     * other write, so a token a client holds is always known after a crash. */
    char ttl[16];
    struct hello_req *h = xcalloc(1, sizeof(*h));
    auth_new_token(h->token, s->attendee_id);
    auth_token_hash(h->token, h->hash);
    h->sid = s->id;
    h->id = m->id ? json_incref(m->id) : NULL;
    h->full_name = full_name;
    snprintf(ttl, sizeof(ttl), "%d", lv->cfg->identity_token_ttl_days);
    const char *params[] = {s->attendee_id, h->hash, s->name, ttl};
    s->state = SESSION_HELLO_WAIT;
    if (store_exec(lv->st, lv->s_insert_attendee, STORE_WRITE, 4, params, on_attendee_stored,
                   h)) {
        s->state = SESSION_NEW;
        s->attendee_id[0] = '\0';
        json_decref(h->id);
        free(h);
        live__unavailable(s, m->id);
    }
}

/* ---- join ---- */

static void catchup_step(struct live *lv, struct session *s);

struct catchup_req {
    uint64_t sid;
};

static void send_events(struct session *s, struct frame **fs, int n, bool done)
{
    json_t *o = json_pack("{s:s}", "type", "events");
    if (done)
        json_object_set_new(o, "catchup_done", json_true());
    struct frame *f = codec_frame_with_events(o, "events", fs, n);
    session_send(s, f);
    frame_unref(f);
}

static void on_catchup_rows(void *arg, const struct store_result *res, int status,
                            const char *errmsg)
{
    struct catchup_req *c = arg;
    struct session *s = session_find(c->sid);
    free(c);
    if (!s || !s->lroom || s->state != SESSION_JOINED || !s->catching_up)
        return;
    struct lroom *lr = s->lroom;
    if (status) {
        /* The database went away mid-resume: the client cannot be given a
         * gapless stream now, so it is sent back to resume again later. */
        live__unavailable(s, NULL);
        session_close_gently(s, 1013, "history unavailable, resume later");
        return;
    }
    int n = store_result_rows(res);
    struct frame **fs = xcalloc((size_t)(n ? n : 1), sizeof(*fs));
    for (int i = 0; i < n; i++)
        fs[i] = row_frame(lr->room, res, i);
    if (n) {
        send_events(s, fs, n, false);
        s->catch_seq = store_result_int(res, n - 1, 0);
    } else {
        /* Nothing stored between here and the ring: continue from the ring. */
        log_warnx("live", "meeting %s: no stored events after seq %lld", lr->room->slug,
                  (long long)s->catch_seq);
        s->catch_seq = room_ring_first_seq(lr->room) - 1;
    }
    for (int i = 0; i < n; i++)
        frame_unref(fs[i]);
    free(fs);
    catchup_step(lr->lv, s);
}

/* Send what the session missed after s->catch_seq: from the ring when it
 * reaches back far enough, otherwise a page from the database first. */
static void catchup_step(struct live *lv, struct session *s)
{
    struct room *r = s->lroom->room;
    if (s->catch_seq >= room_ring_first_seq(r) - 1) {
        int cap = r->ring_len ? r->ring_len : 1;
        struct frame **fs = xcalloc((size_t)cap, sizeof(*fs));
        int n = room_ring_range(r, s->catch_seq, 0, cap, false, fs);
        s->catching_up = false;
        send_events(s, fs, n, true);
        free(fs);
        return;
    }
    struct catchup_req *c = xcalloc(1, sizeof(*c));
    c->sid = s->id;
    char sid[24], after[24], upto[24], limit[16];
    snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
    snprintf(after, sizeof(after), "%lld", (long long)s->catch_seq);
    snprintf(upto, sizeof(upto), "%lld", (long long)(room_ring_first_seq(r) - 1));
    snprintf(limit, sizeof(limit), "%d", CATCHUP_PAGE);
    const char *params[] = {sid, after, upto, limit};
    if (store_exec(lv->st, lv->s_after, STORE_READ, 4, params, on_catchup_rows, c)) {
        free(c);
        live__unavailable(s, NULL);
        session_close_gently(s, 1013, "history unavailable, resume later");
    }
}

static json_t *meeting_json(const struct lroom *lr)
{
    const struct room *r = lr->room;
    json_t *titles = json_array();
    size_t k;
    json_t *reading;
    json_array_foreach(lr->format, k, reading)
        json_array_append(titles, json_object_get(reading, "title"));
    /* What is kept, and who may read it, told to everyone on joining. */
    return json_pack("{s:s, s:s, s:b, s:O, s:o, s:s, s:{s:b, s:i, s:s}}", "slug", r->slug, "name",
                     r->meeting_name ? r->meeting_name : "", "closed", lr->closed_meeting,
                     "resources", lr->resources ? lr->resources : json_array(), "format_titles",
                     titles, "contribution_url",
                     lr->contribution_url ? lr->contribution_url : "", "records", "kept",
                     lr->record, "retention_days", lr->retention_days, "readers", lr->readers);
}

/* The joined snapshot, for an admitted member's connection. */
static void send_snapshot(struct live *lv, struct session *s, json_t *id, bool has_after,
                          int64_t after)
{
    struct lroom *lr = s->lroom;
    struct room *r = lr->room;
    struct room_member *m = room_member_by_no(r, s->member_no);
    bool sees_members = !lr->chair.set.hide_members || live__rank(lr, m) >= RANK_GREETER;
    json_t *members = json_array();
    for (int i = 0; i < r->nmembers; i++)
        if (r->members[i].conns > 0 && r->members[i].admitted &&
            (sees_members || r->members[i].no == m->no))
            json_array_append_new(members, live__member_json(lr, &r->members[i]));
    json_t *o = json_pack(
        "{s:s, s:o, s:{s:I, s:I, s:I}, s:o, s:o, s:n, s:s, s:o}", "type", "joined", "meeting",
        meeting_json(lr), "session", "id", (json_int_t)r->session_id, "started_at",
        (json_int_t)r->started_at_ms, "last_seq", (json_int_t)r->last_delivered, "you",
        live__member_json(lr, m), "members", members, "topic", "store",
        lv->store_ok ? "ok" : "paused", "state", live__state_json(lr));
    if (r->topic)
        json_object_set_new(o, "topic", json_string(r->topic));
    live__with_id(o, id);

    int cap = r->ring_len ? r->ring_len : 1;
    struct frame **fs = xcalloc((size_t)cap, sizeof(*fs));
    int n;
    bool more = false;
    if (!has_after) {
        n = room_ring_range(r, 0, 0, lv->cfg->rooms_history_on_join, true, fs);
    } else if (after >= room_ring_first_seq(r) - 1) {
        n = room_ring_range(r, after, 0, cap, false, fs);
    } else {
        n = 0;
        more = true;
    }
    json_object_set_new(o, "more", json_boolean(more));
    struct frame *f = codec_frame_with_events(o, "events", fs, n);
    session_send(s, f);
    frame_unref(f);
    free(fs);
    if (more) {
        s->catching_up = true;
        s->catch_seq = after;
        catchup_step(lv, s);
    }
    if (live__rank(lr, m) >= RANK_GREETER)
        live__broadcast_state(lr); /* for the waiting room list */
}

/* The waiting room as its members see it: how many wait, and whether
 * someone who can let them in (a co-chair or above) is in the meeting. */
static int waiting_count(const struct lroom *lr, bool *chair_present)
{
    int n = 0;
    *chair_present = false;
    for (int i = 0; i < lr->room->nmembers; i++) {
        const struct room_member *m = &lr->room->members[i];
        if (m->conns > 0 && !m->admitted)
            n++;
        else if (m->conns > 0 && live__rank(lr, m) >= RANK_COCHAIR)
            *chair_present = true;
    }
    return n;
}

static const char *phase_name(enum chair_phase p)
{
    return p == PHASE_OPEN ? "open" : p == PHASE_CLOSED ? "closed" : "waiting";
}

static void send_waiting(struct lroom *lr, struct session *s, json_t *id)
{
    struct room_member *m = room_member_by_no(lr->room, s->member_no);
    bool chair_present;
    int count = waiting_count(lr, &chair_present), position = 0;
    for (int i = 0; i < lr->room->nmembers; i++) {
        const struct room_member *w = &lr->room->members[i];
        if (w->conns > 0 && !w->admitted) {
            position++;
            if (w == m)
                break;
        }
    }
    json_t *o = json_pack("{s:s, s:o, s:o, s:s, s:i, s:i, s:b, s:b, s:o}", "type", "waiting",
                          "meeting", meeting_json(lr), "you", live__member_json(lr, m), "phase",
                          phase_name(lr->chair.phase), "position", position, "waiting", count,
                          "chair_present", chair_present, "auto_admit",
                          lr->chair.set.auto_admit, "starts_at",
                          lr->sched_start_ms ? json_integer(lr->sched_start_ms) : json_null());
    live__send(s, live__with_id(o, id));
}

void live__waiting_update(struct lroom *lr, bool force)
{
    bool chair_present;
    char sig[sizeof(lr->wsig)];
    int count = waiting_count(lr, &chair_present);
    snprintf(sig, sizeof(sig), "%d/%d/%d/%d", (int)lr->chair.phase, count, chair_present,
             lr->chair.set.auto_admit);
    if (!force && strcmp(sig, lr->wsig) == 0)
        return;
    snprintf(lr->wsig, sizeof(lr->wsig), "%s", sig);
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        struct room_member *m = room_member_by_no(lr->room, s->member_no);
        if (s->state == SESSION_JOINED && m && !m->admitted)
            send_waiting(lr, s, NULL);
    }
}

void live__admit(struct lroom *lr, struct room_member *m)
{
    if (m->admitted)
        return;
    m->admitted = true;
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        if (s->state == SESSION_JOINED && s->member_no == m->no)
            send_snapshot(lr->lv, s, NULL, false, 0);
    }
    if (m->conns > 0) {
        attend(lr, m, true);
        presence(lr, "join", m);
    }
}

void live__unadmit(struct lroom *lr, struct room_member *m)
{
    if (m->admitted && m->conns > 0) {
        attend(lr, m, false);
        presence(lr, "leave", m);
    }
    m->admitted = false;
    chair_forget(&lr->chair, m->no);
}

void live__to_waiting(struct lroom *lr, struct room_member *m)
{
    if (!m->admitted)
        return;
    live__unadmit(lr, m);
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        if (s->state == SESSION_JOINED && s->member_no == m->no) {
            s->catching_up = false;
            send_waiting(lr, s, NULL);
        }
    }
}

void live__close_member(struct lroom *lr, int member, int code, const char *reason)
{
    for (int i = 0; i < lr->nconns; i++)
        if (lr->conns[i]->member_no == member && lr->conns[i]->state == SESSION_JOINED)
            session_close_gently(lr->conns[i], code, reason);
}

static void do_join(struct live *lv, struct session *s, json_t *id, bool has_after, int64_t after)
{
    struct lroom *lr = s->lroom;
    struct room *r = lr->room;
    struct room_member *m = room_member_by_attendee(r, s->attendee_id);
    bool is_new = !m;
    int64_t now = util_wall_ms();

    if (lr->chair.phase == PHASE_CLOSED) {
        session_send_error(s, id, "session_closed", "this meeting has just ended", NULL, -1);
        session_close_gently(s, 1000, "the meeting has ended");
        return;
    }
    if (json_object_get(lr->banned, s->attendee_id) || (m && m->removed)) {
        session_send_error(s, id, "banned", "a chair removed you from this meeting", NULL, -1);
        session_close_gently(s, 4403, "removed by a chair");
        return;
    }
    if (lr->closed_meeting && strcmp(s->role, "visitor") == 0) {
        session_send_error(s, id, "closed_meeting",
                           "this meeting is closed: it is for people who have, or think they "
                           "may have, a drug problem; visitors are welcome at open meetings",
                           NULL, -1);
        return;
    }
    /* Before its waiting room opens, a scheduled meeting lets in only those
     * who may open it; everyone else is told when it opens. */
    int64_t opens = live__opens_at(lr);
    if (opens && now < opens && strcmp(s->role, "chair") != 0 &&
        strcmp(s->role, "co-chair") != 0 && strcmp(s->role, "admin") != 0) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "type", "error", "code",
                              "not_open_yet", "message",
                              "the waiting room of this meeting is not open yet; come back when "
                              "it opens",
                              "retry_after_ms", (json_int_t)(opens - now), "opens_at",
                              (json_int_t)opens, "starts_at", (json_int_t)lr->sched_start_ms);
        live__send(s, live__with_id(o, id));
        return;
    }
    if (!lr->waiting_open) {
        lr->waiting_open = true;
        /* The session row was made when someone first came, maybe hours
         * early: it starts when its waiting room opens. */
        int64_t window = lr->sched_start_ms - lv->cfg->rooms_waiting_opens_minutes * 60000LL;
        if (lr->sched_start_ms && r->next_seq == 1 && r->started_at_ms < window) {
            char sid[24], ts[24];
            r->started_at_ms = now;
            snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
            snprintf(ts, sizeof(ts), "%lld", (long long)now);
            const char *params[] = {sid, ts};
            store_exec(lv->st, lv->s_session_opened, STORE_WRITE, 2, params, NULL, NULL);
        }
    }
    if (is_new) {
        char sid[24], no[16], ts[24];
        if (!store_has_room(lv->st, 1)) {
            live__unavailable(s, id);
            return;
        }
        m = room_member_add(r, 0, s->attendee_id, s->name, s->role);
        snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
        snprintf(no, sizeof(no), "%d", m->no);
        snprintf(ts, sizeof(ts), "%lld", (long long)now);
        const char *params[] = {sid, no, s->attendee_id, s->name, s->role, ts};
        store_exec(lv->st, lv->s_insert_participant, STORE_WRITE, 6, params, NULL, NULL);
    } else {
        snprintf(m->role, sizeof(m->role), "%s", s->role); /* roles may change between visits */
        /* A co-chair whose meeting role was taken away since (and who was
         * not made co-chair for this session) leaves the line, even if the
         * line came back from before a restart. */
        if (strcmp(m->role, "chair") != 0 && strcmp(m->role, "co-chair") != 0 &&
            strcmp(m->granted, "co-chair") != 0 && chair_is_cochair(&lr->chair, m->no))
            chair_cochair_remove(&lr->chair, m->no);
    }
    /* Back within the grace period: as if never gone.  Later: through the
     * waiting room again, and the raised hand is gone. */
    if (m->conns == 0 && m->left_ms && now - m->left_ms > lv->cfg->rooms_reconnect_grace_secs * 1000LL &&
        live__rank(lr, m) < RANK_GREETER) {
        m->admitted = false;
        chair_hand_lower(&lr->chair, m->no);
    }
    /* A chair held since before a restart whose holder is not back within
     * the grace period passes on as if they had just left. */
    struct room_member *holder = room_member_by_no(r, lr->chair.chair_member);
    if (holder && holder != m && holder->conns == 0 &&
        now - holder->left_ms > lv->cfg->rooms_reconnect_grace_secs * 1000LL)
        live__chair_member_left(lr, holder);
    bool takes_chair = false;
    if (strcmp(m->role, "chair") == 0 || strcmp(m->role, "admin") == 0) {
        if (!lr->chair.chair_member) {
            lr->chair.chair_member = m->no;
            takes_chair = true;
        }
    }
    if ((strcmp(m->role, "chair") == 0 || strcmp(m->role, "co-chair") == 0) &&
        lr->chair.chair_member != m->no)
        chair_cochair_add(&lr->chair, m->no); /* named in the order they arrive */
    if (!m->admitted) {
        bool runs_room = live__rank(lr, m) >= RANK_GREETER;
        if (!runs_room && lr->chair.set.locked) {
            session_send_error(s, id, "meeting_locked",
                               "the chair has locked this meeting against new arrivals", NULL, -1);
            return;
        }
        m->admitted = runs_room || (lr->chair.phase == PHASE_OPEN && lr->chair.set.auto_admit);
    }
    s->member_no = m->no;
    s->state = SESSION_JOINED;
    if (m->conns++ == 0) {
        if (m->admitted) {
            attend(lr, m, true);
            presence(lr, "join", m);
        }
        if (!is_new) {
            char sid[24], no[16];
            snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
            snprintf(no, sizeof(no), "%d", m->no);
            const char *params[] = {sid, no, NULL};
            store_exec(lv->st, lv->s_participant_left, STORE_WRITE, 3, params, NULL, NULL);
        }
    }
    if (!m->admitted) {
        send_waiting(lr, s, id);
        live__broadcast_state(lr);
        return;
    }
    send_snapshot(lv, s, id, has_after, after);
    live__save_state_changed(lr); /* who is let in, for a restart */
    if (takes_chair) {
        live__event(lr, 0, "chair_taken",
                    json_pack("{s:{s:i, s:s}}", "target", "member", m->no, "name", m->name), 0,
                    NULL, NULL);
        live__broadcast_state(lr);
    }
}

static void on_join(struct live *lv, struct session *s, struct msg *m)
{
    if (s->state == SESSION_NEW || s->state == SESSION_HELLO_WAIT) {
        session_send_error(s, m->id, "hello_first", "say hello before joining", NULL, -1);
        return;
    }
    if (s->state == SESSION_JOINED || s->join_waiting) {
        session_send_error(s, m->id, "already_joined", "this connection is already in the room",
                           NULL, -1);
        return;
    }
    struct lroom *lr = s->lroom;
    switch (lr->state) {
    case LR_READY:
        do_join(lv, s, m->id, m->has_after, m->after_seq);
        return;
    case LR_NOT_FOUND:
        session_send_error(s, m->id, "meeting_not_found", "there is no meeting at this address",
                           NULL, -1);
        return;
    case LR_FAILED:
        load(lv, lr);
        if (lr->state != LR_LOADING) {
            live__unavailable(s, m->id);
            return;
        }
        break;
    case LR_LOADING:
        break;
    }
    s->join_waiting = true;
    lr->waiters = xrealloc(lr->waiters, (size_t)(lr->nwait + 1) * sizeof(*lr->waiters));
    lr->waiters[lr->nwait++] = (struct waiter){
        .sid = s->id,
        .id = m->id ? json_incref(m->id) : NULL,
        .has_after = m->has_after,
        .after = m->after_seq,
    };
}

static void on_leave(struct live *lv, struct session *s, struct msg *m)
{
    if (s->state != SESSION_JOINED) {
        session_send_error(s, m->id, "join_first", "this connection is not in the room", NULL, -1);
        return;
    }
    member_left(lv, s->lroom, s);
    live__send(s, live__with_id(json_pack("{s:s}", "type", "left"), m->id));
}

/* ---- say and react: store, then deliver ---- */

static void ack(struct session *s, json_t *id, const char *cmid, int64_t seq, bool duplicate)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "type", "ack", "client_msg_id", cmid, "seq",
                          (json_int_t)seq, "duplicate", duplicate);
    live__send(s, live__with_id(o, id));
}

static void on_committed(void *arg, const struct store_result *res, int status,
                         const char *errmsg)
{
    struct pending *p = arg;
    struct lroom *lr = p->lr;
    struct live *lv = lr->lv;
    struct session *sender = session_find(p->sender);

    /* Commits complete in submission order, so p is the head. */
    lr->pend_head = p->next;
    if (!lr->pend_head)
        lr->pend_tail = NULL;
    lr->npend--;

    if (lr->moved) {
        /* Another node serves the meeting now: it delivers and acks what
         * committed (a resent request gets its duplicate ack there). */
        pending_free(p);
        maybe_free(lv, lr);
        return;
    }
    if (status) {
        log_error("live", "meeting %s: event %lld could not be stored", lr->room->slug,
                  (long long)p->seq);
        /* A retry of this client id must get a new seq, not a false ack. */
        if (p->cmid[0])
            room_dedupe_forget(lr->room, p->member_no, p->cmid);
        if (sender)
            session_send_error(sender, p->req_id, "internal",
                               "the message could not be stored", NULL, -1);
    } else {
        lv->stats.events_committed++;
        room_ring_push(lr->room, p->seq, p->frame);
        if (p->message)
            room_author_set(lr->room, p->seq, p->member_no);
        if (lr->nout == lr->outcap) {
            lr->outcap = lr->outcap ? lr->outcap * 2 : 16;
            lr->outbox = xrealloc(lr->outbox, (size_t)lr->outcap * sizeof(*lr->outbox));
        }
        lr->outbox[lr->nout++] = frame_ref(p->frame);
        if (lr->nacks == lr->ackcap) {
            lr->ackcap = lr->ackcap ? lr->ackcap * 2 : 16;
            lr->acks = xrealloc(lr->acks, (size_t)lr->ackcap * sizeof(*lr->acks));
        }
        struct ack_out *a = &lr->acks[lr->nacks++];
        a->sid = p->sender;
        a->id = p->req_id ? json_incref(p->req_id) : NULL;
        a->seq = p->seq;
        snprintf(a->cmid, sizeof(a->cmid), "%s", p->cmid);
        if (!lr->dirty) {
            lr->dirty = true;
            lr->next_dirty = lv->dirty;
            lv->dirty = lr;
        }
    }
    if (p->seq > lr->room->last_delivered)
        lr->room->last_delivered = p->seq;
    pending_free(p);
    maybe_free(lv, lr);
}

/* The end of a store segment: every room gets what committed in it as one
 * frame (one write per connection however large the batch), then the acks. */
static void on_segment(void *arg)
{
    struct live *lv = arg;
    while (lv->dirty) {
        struct lroom *lr = lv->dirty;
        lv->dirty = lr->next_dirty;
        lr->dirty = false;
        if (lr->nout == 1) {
            live__fanout(lr, lr->outbox[0], -1);
        } else if (lr->nout > 1) {
            struct frame *f = codec_frame_with_events(json_pack("{s:s}", "type", "events"),
                                                      "events", lr->outbox, lr->nout);
            live__fanout(lr, f, -1);
            frame_unref(f);
        }
        for (int i = 0; i < lr->nout; i++)
            frame_unref(lr->outbox[i]);
        lr->nout = 0;
        for (int i = 0; i < lr->nacks; i++) {
            struct ack_out *a = &lr->acks[i];
            struct session *s = a->sid ? session_find(a->sid) : NULL;
            if (s && s->lroom == lr && a->cmid[0])
                ack(s, a->id, a->cmid, a->seq, false);
            else if (s && s->lroom == lr)
                live__send(s, live__with_id(json_pack("{s:s, s:I}", "type", "done", "seq",
                                                      (json_int_t)a->seq),
                                            a->id));
            json_decref(a->id);
        }
        lr->nacks = 0;
        if (lr->ending_seq && lr->room->last_delivered >= lr->ending_seq) {
            lr->ending_seq = 0;
            for (int i = 0; i < lr->nconns; i++)
                session_close_gently(lr->conns[i], 1000, "the meeting has ended");
        }
        maybe_free(lv, lr);
    }
}

/* ---- the session's live state ---- */

static json_t *settings_json(const struct lroom *lr)
{
    const struct chair_settings *st = &lr->chair.set;
    return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:i}", "auto_admit",
                     st->auto_admit, "locked", st->locked, "hide_members", st->hide_members,
                     "crosstalk", st->crosstalk, "chat_locked", st->chat_locked, "dms", st->dms,
                     "visitors_may_post", st->visitors_may_post, "end_share_at_limit",
                     st->end_share_at_limit, "auto_call", st->auto_call, "slow_mode_secs",
                     st->slow_mode_secs, "share_limit_secs", st->share_limit_secs);
}

static json_t *who(const struct lroom *lr, int no)
{
    struct room_member *m = room_member_by_no(lr->room, no);
    return json_pack("{s:i, s:s}", "member", no, "name", m && *m->name ? m->name : "?");
}

json_t *live__state_json(const struct lroom *lr)
{
    const struct chair *c = &lr->chair;
    json_t *queue = json_array(), *cochairs = json_array(), *muted = json_array();
    for (int i = 0; i < c->nqueue; i++)
        json_array_append_new(queue, who(lr, c->queue[i]));
    for (int i = 0; i < c->ncochairs; i++)
        json_array_append_new(cochairs, json_integer(c->cochairs[i]));
    for (int i = 0; i < lr->room->nmembers; i++)
        if (lr->room->members[i].muted)
            json_array_append_new(muted, json_integer(lr->room->members[i].no));
    json_t *sharing = json_null();
    if (c->sharer)
        sharing = json_pack("{s:o, s:I, s:i}", "member", who(lr, c->sharer), "started_at",
                            (json_int_t)c->share_started_ms, "limit_secs",
                            c->set.share_limit_secs);
    json_t *vote = json_null();
    if (lr->vote.id)
        vote = json_pack("{s:I, s:s, s:O, s:i}", "id", (json_int_t)lr->vote.id, "question",
                         lr->vote.question, "options", lr->vote.options, "votes_cast",
                         (int)json_object_size(lr->vote.voted));
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:o}", "phase",
                     c->phase == PHASE_OPEN ? "open" : c->phase == PHASE_CLOSED ? "closed"
                                                                                : "waiting",
                     "chair", c->chair_member ? json_integer(c->chair_member) : json_null(),
                     "cochairs", cochairs, "queue", queue, "sharing", sharing, "muted", muted,
                     "settings", settings_json(lr), "reading", c->reading, "readings",
                     (int)json_array_size(lr->format), "vote", vote);
}

void live__broadcast_state(struct lroom *lr)
{
    struct frame *state =
        codec_frame(json_pack("{s:s, s:o}", "type", "state", "state", live__state_json(lr)));
    json_t *waiting = json_array();
    for (int i = 0; i < lr->room->nmembers; i++) {
        struct room_member *m = &lr->room->members[i];
        if (m->conns > 0 && !m->admitted)
            json_array_append_new(waiting, live__member_json(lr, m));
    }
    struct frame *wr =
        codec_frame(json_pack("{s:s, s:o}", "type", "waiting_room", "members", waiting));
    for (int i = 0; i < lr->nconns; i++) {
        struct session *s = lr->conns[i];
        struct room_member *m = room_member_by_no(lr->room, s->member_no);
        if (s->state != SESSION_JOINED || !m || !m->admitted)
            continue;
        session_send(s, state);
        if (chair_allowed(live__rank(lr, m), CMD_SEE_WAITING))
            session_send(s, wr);
    }
    frame_unref(state);
    frame_unref(wr);
    live__waiting_update(lr, false);
    /* The chair, the co-chairs, mutes and grants change with the state: kept
     * for a restart. */
    live__save_state_changed(lr);
}

static void save_state(struct lroom *lr, bool only_changed)
{
    json_t *set = settings_json(lr);
    json_object_set_new(set, "reading", json_integer(lr->chair.reading));
    live__roles_json(lr, set);
    char *text = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
    const char *phase = phase_name(lr->chair.phase);
    /* A session that keeps no text keeps no topic either. */
    const char *topic = lr->record ? lr->room->topic : NULL;
    size_t n = strlen(text) + strlen(phase) + (topic ? strlen(topic) : 0) + 4;
    char *whole = xmalloc(n);
    snprintf(whole, n, "%s\n%s\n%s%s", phase, text, topic ? "t" : "n", topic ? topic : "");
    if (!only_changed || !lr->saved_state || strcmp(whole, lr->saved_state) != 0) {
        char sid[24];
        snprintf(sid, sizeof(sid), "%lld", (long long)lr->room->session_id);
        const char *params[] = {sid, phase, text, topic};
        /* Not written (the queue is full): tried again at the next change. */
        if (store_exec(lr->lv->st, lr->lv->s_session_state, STORE_WRITE, 4, params, NULL,
                       NULL) == 0) {
            free(lr->saved_state);
            lr->saved_state = whole;
            whole = NULL;
        }
    }
    free(whole);
    free(text);
    json_decref(set);
}

void live__save_state(struct lroom *lr)
{
    save_state(lr, false);
}

void live__save_state_changed(struct lroom *lr)
{
    save_state(lr, true);
}

static void on_timer(uv_timer_t *t)
{
    live__chair_tick(t->data);
}

void live__arm_timer(struct lroom *lr)
{
    int64_t at = chair_next_deadline(&lr->chair);
    int64_t end = live__auto_end_at(lr);
    if (end >= 0 && (at < 0 || end < at))
        at = end;
    if (at < 0) {
        uv_timer_stop(&lr->timer);
        return;
    }
    int64_t in = at - util_wall_ms();
    uv_timer_start(&lr->timer, on_timer, (uint64_t)(in > 0 ? in : 0), 0);
}

void live__end_session(struct lroom *lr, int actor, uint64_t sid, json_t *id, const char *reason)
{
    struct live *lv = lr->lv;
    int64_t seq = live__event(lr, actor, "session_ended", json_pack("{s:s}", "reason", reason),
                              sid, id, NULL);
    if (!seq)
        return;
    char sess[24];
    snprintf(sess, sizeof(sess), "%lld", (long long)lr->room->session_id);
    const char *params[] = {sess};
    store_exec(lv->st, lv->s_end_session, STORE_WRITE, 1, params, NULL, NULL);
    lr->chair.phase = PHASE_CLOSED;
    chair_share_end(&lr->chair);
    uv_timer_stop(&lr->timer);
    lr->ending_seq = seq;
    live__waiting_update(lr, true); /* those waiting learn it has ended */
}

static bool retarget_pending(struct lroom *lr, struct session *s, struct msg *m, int64_t seq)
{
    for (struct pending *p = lr->pend_head; p; p = p->next)
        if (p->seq == seq) {
            /* A retry of a message still being stored: whoever asked last
             * (maybe after a reconnect) gets the ack. */
            p->sender = s->id;
            json_decref(p->req_id);
            p->req_id = m->id ? json_incref(m->id) : NULL;
            return true;
        }
    return false;
}

int64_t live__event(struct lroom *lr, int actor, const char *kind, json_t *body, uint64_t sid,
                    json_t *id, const char *cmid)
{
    struct live *lv = lr->lv;
    struct room *r = lr->room;
    struct session *s = sid ? session_find(sid) : NULL;

    if (!store_has_room(lv->st, 1)) {
        if (s)
            session_send_error(s, id, "store_unavailable",
                               "messages are waiting to be stored; try again shortly", NULL, 2000);
        json_decref(body);
        return 0;
    }
    int64_t seq = r->next_seq++;
    int64_t ts = util_wall_ms();
    /* What is stored: no text of a message marked off the record, and no
     * text at all for a session that keeps none (only the skeleton). */
    json_t *stored = json_deep_copy(body);
    if (!lr->record && strcmp(kind, "message") == 0)
        json_object_set_new(stored, "off_record", json_true());
    if (!lr->record || json_is_true(json_object_get(body, "off_record")))
        json_object_del(stored, "text");
    char *body_text = json_dumps(stored, JSON_COMPACT);
    json_decref(stored);
    struct pending *p = xcalloc(1, sizeof(*p));
    p->lr = lr;
    p->seq = seq;
    p->sender = sid;
    p->req_id = id ? json_incref(id) : NULL;
    p->member_no = actor;
    p->message = strcmp(kind, "message") == 0;
    snprintf(p->cmid, sizeof(p->cmid), "%s", cmid ? cmid : "");
    p->frame = codec_event_frame(event_json(r, seq, ts, kind, actor, cmid, body));

    char sess[24], sq[24], no[16], tss[24];
    snprintf(sess, sizeof(sess), "%lld", (long long)r->session_id);
    snprintf(sq, sizeof(sq), "%lld", (long long)seq);
    snprintf(no, sizeof(no), "%d", actor);
    snprintf(tss, sizeof(tss), "%lld", (long long)ts);
    const char *params[] = {sess, sq,        actor > 0 ? no : NULL, kind,
                            cmid, body_text, tss, p->message ? lr->ts_config : NULL};
    int rc = store_exec(lv->st, lv->s_insert_event, STORE_WRITE, 8, params, on_committed, p);
    free(body_text);
    json_decref(body);
    if (rc) {
        r->next_seq--;
        pending_free(p);
        if (s)
            session_send_error(s, id, "store_unavailable",
                               "messages are waiting to be stored; try again shortly", NULL, 2000);
        return 0;
    }
    if (cmid)
        room_dedupe_put(r, actor, cmid, seq);
    if (lr->pend_tail)
        lr->pend_tail->next = p;
    else
        lr->pend_head = p;
    lr->pend_tail = p;
    lr->npend++;
    return seq;
}

static int64_t new_event(struct live *lv, struct session *s, struct msg *m, const char *kind,
                         json_t *body)
{
    struct lroom *lr = s->lroom;
    int64_t seq = room_dedupe_get(lr->room, s->member_no, m->client_msg_id);
    if (seq) {
        if (!retarget_pending(lr, s, m, seq))
            ack(s, m->id, m->client_msg_id, seq, true);
        json_decref(body);
        return 0;
    }
    return live__event(lr, s->member_no, kind, body, s->id, m->id, m->client_msg_id);
}

static bool require_joined(struct session *s, struct msg *m)
{
    if (s->state == SESSION_JOINED) {
        struct room_member *me = room_member_by_no(s->lroom->room, s->member_no);
        /* In the waiting room only help, a word to the chairs and a reply
         * to a greeter go out; live_chair.c decides those. */
        bool waiting_ok = m->type == MSG_HELP || m->type == MSG_PRIVATE;
        if (me && !me->admitted && !waiting_ok) {
            session_send_error(s, m->id, "waiting_room",
                               "you are in the waiting room until a chair lets you in", NULL, -1);
            return false;
        }
        return true;
    }
    if (s->state == SESSION_NEW || s->state == SESSION_HELLO_WAIT)
        session_send_error(s, m->id, "hello_first", "say hello and join first", NULL, -1);
    else
        session_send_error(s, m->id, "join_first", "join the room first", NULL, -1);
    return false;
}

/* A retry of a client id already used is answered as such before any rule
 * is checked: a message stored before a mute or a lock was still stored. */
static bool answered_as_retry(struct session *s, struct msg *m)
{
    struct lroom *lr = s->lroom;
    int64_t seq = room_dedupe_get(lr->room, s->member_no, m->client_msg_id);
    if (!seq)
        return false;
    if (!retarget_pending(lr, s, m, seq))
        ack(s, m->id, m->client_msg_id, seq, true);
    return true;
}

static void on_say(struct live *lv, struct session *s, struct msg *m)
{
    if (!require_joined(s, m) || answered_as_retry(s, m))
        return;
    struct lroom *lr = s->lroom;
    struct room_member *me = room_member_by_no(lr->room, s->member_no);
    enum chair_rank rank = live__rank(lr, me);
    const struct chair_settings *set = &lr->chair.set;
    int64_t now = util_wall_ms();
    bool ends_share = false;

    if (rank == RANK_VISITOR && !set->visitors_may_post) {
        session_send_error(s, m->id, "forbidden", "visitors listen; they do not post", NULL, -1);
        return;
    }
    if (me->muted) {
        session_send_error(s, m->id, "muted", "a chair has muted you for now", NULL, -1);
        return;
    }
    if (live__chair_say_hook(lr, s, m->text, &ends_share)) {
        /* "!" alone raised a hand: it is not posted. */
        live__send(s, live__with_id(json_pack("{s:s}", "type", "done"), m->id));
        return;
    }
    if (rank < RANK_COCHAIR) {
        if (set->chat_locked) {
            session_send_error(s, m->id, "chat_locked", "the chair has paused the chat", NULL,
                               -1);
            return;
        }
        if (!set->crosstalk && lr->chair.sharer && lr->chair.sharer != me->no) {
            session_send_error(s, m->id, "no_crosstalk",
                               "someone is sharing: this meeting has no crosstalk", NULL, -1);
            return;
        }
        int64_t wait = set->slow_mode_secs * 1000LL - (now - me->last_post_ms);
        if (set->slow_mode_secs && me->last_post_ms && wait > 0) {
            session_send_error(s, m->id, "slow_mode", "slow mode: wait a little before posting",
                               NULL, wait);
            return;
        }
    }
    json_t *body = json_pack("{s:s}", "text", m->text);
    if (m->off_record)
        json_object_set_new(body, "off_record", json_true());
    if (new_event(lv, s, m, "message", body) > 0) {
        me->last_post_ms = now;
        if (ends_share)
            live__chair_end_share(lr, me->no, "done");
    }
}

static void on_react(struct live *lv, struct session *s, struct msg *m)
{
    if (!require_joined(s, m) || answered_as_retry(s, m))
        return;
    struct room_member *me = room_member_by_no(s->lroom->room, s->member_no);
    if (me->muted) {
        session_send_error(s, m->id, "muted", "a chair has muted you for now", NULL, -1);
        return;
    }
    if (m->target_seq >= s->lroom->room->next_seq) {
        session_send_error(s, m->id, "not_found", "there is no event with that seq", "seq", -1);
        return;
    }
    new_event(lv, s, m, "reaction",
              json_pack("{s:s, s:I}", "reaction", m->reaction, "target_seq",
                        (json_int_t)m->target_seq));
}

/* ---- history ---- */

struct history_req {
    uint64_t sid;
    json_t *id;
    bool before;
    int limit;
};

static void send_history(struct session *s, json_t *id, struct frame **fs, int n, bool has_more)
{
    json_t *o = live__with_id(json_pack("{s:s, s:b}", "type", "history", "has_more", has_more), id);
    struct frame *f = codec_frame_with_events(o, "events", fs, n);
    session_send(s, f);
    frame_unref(f);
}

static void on_history_rows(void *arg, const struct store_result *res, int status,
                            const char *errmsg)
{
    struct history_req *h = arg;
    struct session *s = session_find(h->sid);
    if (!s || !s->lroom || s->state != SESSION_JOINED)
        goto out;
    if (status) {
        live__unavailable(s, h->id);
        goto out;
    }
    int n = store_result_rows(res);
    struct frame **fs = xcalloc((size_t)(n ? n : 1), sizeof(*fs));
    for (int i = 0; i < n; i++)
        /* "before" pages come newest first: put them back in order. */
        fs[h->before ? n - 1 - i : i] = row_frame(s->lroom->room, res, i);
    bool more;
    if (h->before)
        more = n == h->limit && n > 0 && store_result_int(res, n - 1, 0) > 1;
    else
        more = n == h->limit && store_result_int(res, n - 1, 0) < s->lroom->room->last_delivered;
    send_history(s, h->id, fs, n, more);
    for (int i = 0; i < n; i++)
        frame_unref(fs[i]);
    free(fs);
out:
    json_decref(h->id);
    free(h);
}

static void on_history(struct live *lv, struct session *s, struct msg *m)
{
    if (!require_joined(s, m))
        return;
    struct room *r = s->lroom->room;
    int limit = m->limit;
    int64_t first = room_ring_first_seq(r);
    struct frame **fs = xcalloc((size_t)limit, sizeof(*fs));

    if (m->has_after && m->after_seq + 1 >= first) {
        int n = room_ring_range(r, m->after_seq, 0, limit, false, fs);
        bool more = n == limit && m->after_seq + n < r->last_delivered;
        send_history(s, m->id, fs, n, more);
        free(fs);
        return;
    }
    if (m->has_before) {
        int64_t from = m->before_seq - limit;
        if (from < 1)
            from = 1;
        if (from >= first || m->before_seq <= 1) {
            int n = room_ring_range(r, from - 1, m->before_seq, limit, true, fs);
            send_history(s, m->id, fs, n, n > 0 && from > 1);
            free(fs);
            return;
        }
    }
    free(fs);
    struct history_req *h = xcalloc(1, sizeof(*h));
    h->sid = s->id;
    h->id = m->id ? json_incref(m->id) : NULL;
    h->before = m->has_before;
    h->limit = limit;
    char sid[24], a[24], b[24], l[16];
    snprintf(sid, sizeof(sid), "%lld", (long long)r->session_id);
    snprintf(l, sizeof(l), "%d", limit);
    int rc;
    if (m->has_before) {
        snprintf(b, sizeof(b), "%lld", (long long)m->before_seq);
        const char *params[] = {sid, b, l};
        rc = store_exec(lv->st, lv->s_before, STORE_READ, 3, params, on_history_rows, h);
    } else {
        snprintf(a, sizeof(a), "%lld", (long long)m->after_seq);
        snprintf(b, sizeof(b), "%lld", (long long)r->last_delivered);
        const char *params[] = {sid, a, b, l};
        rc = store_exec(lv->st, lv->s_after, STORE_READ, 4, params, on_history_rows, h);
    }
    if (rc) {
        live__unavailable(s, m->id);
        json_decref(h->id);
        free(h);
    }
}

/* ---- dispatch ---- */

void live_on_frame(struct live *lv, struct session *s, const char *data, size_t len,
                   uint64_t now_ms)
{
    struct codec_limits lim = {.max_text_chars = lv->cfg->ws_max_text_chars};
    struct codec_error err;
    struct msg m;
    int64_t retry = 0;

    if (s->closing || !s->lroom)
        return;
    lv->stats.frames_in++;
    if (codec_decode(data, len, &lim, &m, &err)) {
        if (++s->bad_frames > lv->cfg->ws_max_bad_frames) {
            codec_error_cleanup(&err);
            session_close(s, 1008, "too many invalid frames");
            return;
        }
        session_send_error(s, err.id, err.code, err.message, err.field, -1);
        codec_error_cleanup(&err);
        return;
    }
    if (!session_rate_take(s, now_ms, lv->cfg->ws_rate_per_sec, lv->cfg->ws_rate_burst, &retry)) {
        session_send_error(s, m.id, "rate_limited", "too many requests; slow down", NULL, retry);
        msg_cleanup(&m);
        return;
    }
    if (s->lroom->state == LR_NOT_FOUND) {
        session_send_error(s, m.id, "meeting_not_found", "there is no meeting at this address",
                           NULL, -1);
        msg_cleanup(&m);
        return;
    }
    switch (m.type) {
    case MSG_HELLO:
        on_hello(lv, s, &m);
        break;
    case MSG_JOIN:
        on_join(lv, s, &m);
        break;
    case MSG_LEAVE:
        on_leave(lv, s, &m);
        break;
    case MSG_SAY:
        on_say(lv, s, &m);
        break;
    case MSG_REACT:
        on_react(lv, s, &m);
        break;
    case MSG_HISTORY:
        on_history(lv, s, &m);
        break;
    case MSG_START:
    case MSG_END:
    case MSG_ADMIT:
    case MSG_SEND_TO_WAITING:
    case MSG_SETTINGS:
    case MSG_HAND:
    case MSG_CALL:
    case MSG_END_SHARE:
    case MSG_READING:
    case MSG_TOPIC:
    case MSG_MUTE:
    case MSG_REMOVE:
    case MSG_DELETE:
    case MSG_GRANT:
    case MSG_HAND_OVER:
    case MSG_PRIVATE:
    case MSG_REPORT:
    case MSG_HELP:
    case MSG_VOTE_OPEN:
    case MSG_VOTE:
    case MSG_VOTE_CLOSE:
        if (require_joined(s, &m))
            live__chair_command(lv, s, &m);
        break;
    case MSG_PING:
        live__send(s, live__with_id(json_pack("{s:s, s:I}", "type", "pong", "server_time_ms",
                                        (json_int_t)util_wall_ms()),
                              m.id));
        break;
    }
    msg_cleanup(&m);
}

/* ---- database state ---- */

void live_on_store_state(struct live *lv, enum store_state state)
{
    bool ok = state == STORE_OK;
    if (state == STORE_DOWN || state == STORE_CONNECTING)
        lv->store_lost = true;
    if (ok == lv->store_ok)
        return;
    lv->store_ok = ok;
    /* After a new connection (not after refused writes on the same one). */
    if (ok && lv->store_lost)
        live__owner_reconnected(lv); /* before the queued writes go out */
    if (ok)
        lv->store_lost = false;
    struct frame *f =
        codec_frame(json_pack("{s:s, s:s}", "type", "status", "store", ok ? "ok" : "paused"));
    for (struct lroom *lr = lv->rooms; lr; lr = lr->next)
        live__fanout(lr, f, -1);
    frame_unref(f);
}

void live_meeting_gone(struct live *lv, const char *slug)
{
    struct lroom *lr = find_room(lv, slug);
    if (!lr || lr->state == LR_LOADING)
        return;
    lr->state = LR_NOT_FOUND;
    uv_timer_stop(&lr->timer);
    for (int i = 0; i < lr->nconns; i++) {
        session_send_error(lr->conns[i], NULL, "meeting_not_found",
                           "this meeting was removed from the directory", NULL, -1);
        session_close_gently(lr->conns[i], 4404, "no such meeting");
    }
}

void live_close_all(struct live *lv, int code, const char *reason)
{
    for (struct lroom *lr = lv->rooms; lr; lr = lr->next)
        for (int i = 0; i < lr->nconns; i++)
            session_close(lr->conns[i], code, reason);
}
