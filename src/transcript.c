/*
 * Transcripts over HTTP and the retention purge, on the loop thread.  Each
 * request that needs the database carries a struct op from callback to
 * callback and finds its request again by id (api_req_find), since the client
 * may have gone.  See transcript.h.
 */
#include "transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "transcript_int.h"
#include "util.h"

#define PAGE_DEFAULT 200
#define PAGE_MAX 1000
#define EXPORT_PAGE 2000
#define SESSIONS_DEFAULT 20
#define SESSIONS_MAX 100
#define SEARCH_DEFAULT 20
#define SEARCH_MAX 50
#define SEARCH_OFFSET_MAX 1000
#define QUERY_MAX_CHARS 200
/* The first purge runs this soon after the start (or after the interval, if
 * shorter), so that restarts do not keep postponing it. */
#define FIRST_PURGE_MS 60000

/* ---- SQL ---- */

#define ISO_UTC(ts) "to_char((" ts ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define LOCAL_HM(ts) "to_char((" ts ") AT TIME ZONE m.time_zone, 'HH24:MI')"
#define EPOCH_MS(ts) "(extract(epoch FROM " ts ") * 1000)::bigint"

/* May the caller ($admin, $account id or 0, $attendee id or '') read session
 * s of meeting m?  Admins, the meeting's chairs and co-chairs, then the
 * meeting's setting: anyone, or the attendees of that very session (an
 * account counts by its own attendee id). */
#define MAY_READ(s, m, admin, acc, att)                                                        \
    "(" admin "::boolean OR " m ".transcript_readers = 'anyone'"                               \
    " OR EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = " m ".id"                  \
    "   AND r.account_id = " acc "::bigint AND r.role IN ('chair', 'co-chair'))"               \
    " OR (" m ".transcript_readers = 'attendees' AND " att "::text <> ''"                      \
    "   AND EXISTS (SELECT 1 FROM participants p WHERE p.session_id = " s ".id"                \
    "   AND p.attendee_id = " att "::text)))"

#define MEETING_JSON                                                                           \
    "json_build_object('slug', m.slug, 'name', m.name, 'language', m.language,"                \
    " 'time_zone', m.time_zone, 'record_transcripts', m.record_transcripts,"                   \
    " 'transcript_readers', m.transcript_readers, 'retention_days', m.retention_days)"

#define SESSION_JSON                                                                           \
    "json_build_object('id', s.id,"                                                            \
    " 'date', to_char(s.started_at AT TIME ZONE m.time_zone, 'YYYY-MM-DD'),"                   \
    " 'time_zone', m.time_zone,"                                                               \
    " 'started_at', " ISO_UTC("s.started_at") ", 'ended_at', " ISO_UTC("s.ended_at") ","       \
    " 'started_local', directory_local_iso(s.started_at, m.time_zone),"                        \
    " 'ended_local', directory_local_iso(s.ended_at, m.time_zone),"                            \
    " 'duration_secs', extract(epoch FROM s.ended_at - s.started_at)::bigint,"                 \
    " 'in_progress', s.ended_at IS NULL, 'recorded', s.record,"                                \
    " 'purged', s.purged_at IS NOT NULL,"                                                      \
    " 'attendee_count', coalesce(s.attendee_count,"                                            \
    "   (SELECT count(*) FROM participants p WHERE p.session_id = s.id)),"                     \
    " 'message_count', coalesce(s.message_count,"                                              \
    "   (SELECT count(*) FROM events e WHERE e.session_id = s.id AND e.kind = 'message')),"    \
    " 'links', json_build_object("                                                             \
    "   'transcript', '/api/sessions/' || s.id || '/transcript',"                              \
    "   'text', '/api/sessions/' || s.id || '/export.txt',"                                    \
    "   'markdown', '/api/sessions/' || s.id || '/export.md',"                                 \
    "   'json', '/api/sessions/' || s.id || '/export.json'))"

/* $1 slug, $2 admin, $3 account, $4 attendee, $5 before (session id or
 * NULL), $6 how many: the meeting, and a JSON array of the sessions the caller
 * may read, newest first.  No row: no such meeting. */
static const char sql_sessions[] =
    "SELECT " MEETING_JSON "::text, coalesce((SELECT json_agg(x.j ORDER BY x.id DESC) FROM ("
    "   SELECT s.id, " SESSION_JSON " AS j FROM sessions s WHERE s.meeting_id = m.id"
    "   AND ($5::bigint IS NULL OR s.id < $5::bigint)"
    "   AND " MAY_READ("s", "m", "$2", "$3", "$4") " ORDER BY s.id DESC LIMIT $6::integer) x),"
    " '[]')::text FROM meetings m WHERE m.slug = $1";

/* $1 session, $2 admin, $3 account, $4 attendee: the meeting and the session,
 * or no row when there is none or the caller may not read it. */
static const char sql_header[] =
    "SELECT " MEETING_JSON "::text, " SESSION_JSON "::text"
    " FROM sessions s JOIN meetings m ON m.id = s.meeting_id"
    " WHERE s.id = $1::bigint AND " MAY_READ("s", "m", "$2", "$3", "$4");

/* $1 session, $2 after_seq, $3 how many: the events after $2 in seq order,
 * preceded by the share_started of a share still open at $2.  Columns: seq,
 * member_no (0 for the server), kind, body, author's pseudonym, at, local
 * HH:MM, ms; for share_started, the event that ended the share (the next
 * share_started, share_ended or session_ended): seq, kind, at, HH:MM, ms,
 * body; whether the session kept text. */
static const char sql_page[] =
    "WITH ctx AS (SELECT c.seq, c.kind FROM events c WHERE c.session_id = $1::bigint"
    "   AND c.seq <= $2::bigint AND c.kind IN ('share_started', 'share_ended', 'session_ended')"
    "   ORDER BY c.seq DESC LIMIT 1),"
    " ev AS ((SELECT e.* FROM events e WHERE e.session_id = $1::bigint"
    "   AND e.seq = (SELECT seq FROM ctx WHERE kind = 'share_started'))"
    "   UNION ALL (SELECT e.* FROM events e WHERE e.session_id = $1::bigint"
    "   AND e.seq > $2::bigint ORDER BY e.seq LIMIT $3::integer))"
    " SELECT e.seq, coalesce(e.member_no, 0), e.kind, e.body::text, coalesce(p.display_name, ''),"
    " " ISO_UTC("e.created_at") ", " LOCAL_HM("e.created_at") ", " EPOCH_MS("e.created_at") ","
    " x.seq, x.kind, " ISO_UTC("x.created_at") ", " LOCAL_HM("x.created_at") ","
    " " EPOCH_MS("x.created_at") ", x.body::text, s.record"
    " FROM ev e JOIN sessions s ON s.id = e.session_id JOIN meetings m ON m.id = s.meeting_id"
    " LEFT JOIN participants p ON p.session_id = e.session_id AND p.member_no = e.member_no"
    " LEFT JOIN LATERAL (SELECT y.seq, y.kind, y.created_at, y.body FROM events y"
    "   WHERE e.kind = 'share_started' AND y.session_id = e.session_id AND y.seq > e.seq"
    "   AND y.kind IN ('share_started', 'share_ended', 'session_ended')"
    "   ORDER BY y.seq LIMIT 1) x ON true"
    " ORDER BY e.seq";

/* $1 query, $2 meeting slug or NULL, $3 admin, $4 account, $5 attendee, $6
 * limit, $7 offset.  The index is an expression over each message's own
 * configuration, so the query is made once per configuration and each one
 * probes the index (the LATERAL keeps them apart).  Columns: slug, name,
 * session, seq, at, local time, member_no, pseudonym, headline. */
static const char sql_search[] =
    "WITH q AS MATERIALIZED (SELECT c.oid::regconfig AS cfg,"
    "   websearch_to_tsquery(c.oid::regconfig, $1::text) AS tq FROM pg_ts_config c"
    "   WHERE c.cfgnamespace = 'pg_catalog'::regnamespace),"
    " hits AS (SELECT h.* FROM q, LATERAL (SELECT e.session_id, e.seq, e.created_at,"
    "   e.member_no, e.body ->> 'text' AS text, q.cfg, q.tq,"
    "   ts_rank(to_tsvector(e.ts_config, e.body ->> 'text'), q.tq) AS rank"
    "   FROM events e WHERE e.ts_config = q.cfg AND e.ts_config IS NOT NULL"
    "   AND e.kind = 'message' AND to_tsvector(e.ts_config, e.body ->> 'text') @@ q.tq"
    "   OFFSET 0) h),"
    " page AS (SELECT h.*, m.slug, m.name, m.time_zone FROM hits h"
    "   JOIN sessions s ON s.id = h.session_id JOIN meetings m ON m.id = s.meeting_id"
    "   WHERE ($2::text IS NULL OR m.slug = $2::text)"
    "   AND " MAY_READ("s", "m", "$3", "$4", "$5")
    "   ORDER BY h.rank DESC, h.created_at DESC, h.session_id DESC, h.seq"
    "   LIMIT $6::integer OFFSET $7::integer)"
    " SELECT g.slug, g.name, g.session_id, g.seq, " ISO_UTC("g.created_at") ","
    " directory_local_iso(g.created_at, g.time_zone), coalesce(g.member_no, 0),"
    " coalesce(p.display_name, ''),"
    " ts_headline(g.cfg, replace(replace(g.text, chr(57344), ''), chr(57345), ''), g.tq,"
    "   'StartSel=' || chr(57344) || ', StopSel=' || chr(57345)"
    "   || ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" ... \"')"
    " FROM page g LEFT JOIN participants p"
    "   ON p.session_id = g.session_id AND p.member_no = g.member_no"
    " ORDER BY g.rank DESC, g.created_at DESC, g.session_id DESC, g.seq";

/* $1 session, $2 seq, $3 caller's attendee id, $4 admin, $5 account.  Takes
 * the text of a message of an ended session away when the caller wrote it
 * (author) or chairs the meeting (chair).  One row when the message exists:
 * mine, chair, ended, removed-by (after the update), or none. */
static const char sql_delete[] =
    "WITH t AS (SELECT e.session_id, e.seq, e.body, s.ended_at IS NOT NULL AS ended,"
    "   coalesce($3::text <> '' AND p.attendee_id = $3::text, false) AS mine,"
    "   ($4::boolean OR EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = s.meeting_id"
    "   AND r.account_id = $5::bigint AND r.role IN ('chair', 'co-chair'))) AS chair"
    "   FROM events e JOIN sessions s ON s.id = e.session_id"
    "   LEFT JOIN participants p ON p.session_id = e.session_id AND p.member_no = e.member_no"
    "   WHERE e.session_id = $1::bigint AND e.seq = $2::bigint AND e.kind = 'message'),"
    " u AS (UPDATE events e SET body = jsonb_build_object('removed',"
    "   CASE WHEN t.mine THEN 'author' ELSE 'chair' END)"
    "   FROM t WHERE e.session_id = t.session_id AND e.seq = t.seq AND t.ended"
    "   AND (t.mine OR t.chair) AND NOT t.body ? 'removed' RETURNING e.body ->> 'removed' AS by)"
    " SELECT t.mine, t.chair, t.ended, coalesce((SELECT by FROM u), t.body ->> 'removed') FROM t";

/* ---- the purge: each statement does at most $1 rows ---- */

#define DUE(s)                                                                                 \
    s ".ended_at IS NOT NULL AND " s ".purged_at IS NULL"                                      \
      " AND " s ".ended_at <= now() - make_interval(days => m.retention_days)"

/* 1. Count people and messages of sessions that are due (kept for good). */
static const char sql_purge_count[] =
    "UPDATE sessions s SET"
    " attendee_count = (SELECT count(*) FROM participants p WHERE p.session_id = s.id),"
    " message_count = (SELECT count(*) FROM events e WHERE e.session_id = s.id"
    "   AND e.kind = 'message')"
    " WHERE s.id IN (SELECT d.id FROM sessions d JOIN meetings m ON m.id = d.meeting_id"
    "   WHERE " DUE("d") " AND d.attendee_count IS NULL ORDER BY d.ended_at LIMIT $1::integer)"
    " RETURNING s.id";

/* 2. Delete their events. */
static const char sql_purge_events[] =
    "WITH d AS (DELETE FROM events WHERE ctid = ANY (ARRAY("
    "   SELECT e.ctid FROM sessions s JOIN meetings m ON m.id = s.meeting_id"
    "   JOIN events e ON e.session_id = s.id"
    "   WHERE " DUE("s") " AND s.attendee_count IS NOT NULL LIMIT $1::integer))"
    "   RETURNING 1)"
    " SELECT count(*) FROM d";

/* 3. Then their participants (events refer to them). */
static const char sql_purge_participants[] =
    "WITH d AS (DELETE FROM participants WHERE ctid = ANY (ARRAY("
    "   SELECT p.ctid FROM sessions s JOIN meetings m ON m.id = s.meeting_id"
    "   JOIN participants p ON p.session_id = s.id"
    "   WHERE " DUE("s") " AND s.attendee_count IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id) LIMIT $1::integer))"
    "   RETURNING 1)"
    " SELECT count(*) FROM d";

/* 4. Mark them purged; the topic was words of the session too. */
static const char sql_purge_finish[] =
    "UPDATE sessions s SET purged_at = now(), topic = NULL"
    " WHERE s.id IN (SELECT d.id FROM sessions d JOIN meetings m ON m.id = d.meeting_id"
    "   WHERE " DUE("d") " AND d.attendee_count IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = d.id)"
    "   AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.session_id = d.id)"
    "   LIMIT $1::integer)"
    " RETURNING s.id";

/* ---- state ---- */

enum export_fmt { FMT_NONE, FMT_TEXT, FMT_MARKDOWN, FMT_JSON };

struct op {
    uint64_t req;
    int64_t session_id;
    int64_t after_seq;
    int limit;
    enum export_fmt fmt;
    json_t *meeting; /* from the header */
    json_t *session;
    json_t *rows;    /* an export's rows so far */
};

struct export_work {
    uv_work_t w;
    uint64_t req;
    enum export_fmt fmt;
    json_t *doc;     /* owned by the worker while it runs */
    char filename[160];
    struct buf out;
};

enum purge_step { PURGE_COUNT, PURGE_EVENTS, PURGE_PARTICIPANTS, PURGE_FINISH, PURGE_STEPS };

struct purge_counts {
    long long sessions, events, participants;
};

static struct {
    uv_loop_t *loop;
    struct store *st;
    const struct config *cfg;
    int s_sessions, s_header, s_page, s_search, s_delete;
    int s_purge[PURGE_STEPS];
    uv_timer_t timer;
    bool timer_init, stopping;
    /* The pass under way, and the admin requests waiting for it. */
    bool running;
    enum purge_step step;
    struct purge_counts counts;
    json_t *waiting; /* request ids answered when the pass ends */
    json_t *next;    /* request ids that came during a pass: they get a new one */
} T;

static struct op *op_new(struct api_req *r)
{
    struct op *o = xcalloc(1, sizeof(*o));
    o->req = api_req_id(r);
    return o;
}

static void op_free(struct op *o)
{
    if (!o)
        return;
    json_decref(o->meeting);
    json_decref(o->session);
    json_decref(o->rows);
    free(o);
}

static void no_session(struct api_req *r)
{
    /* The same answer whether it does not exist or the caller may not read
     * it: a forbidden read must not tell that the session exists. */
    api_reply_error(r, 404, "not_found", "there is no such session", NULL);
}

static void bad_param(struct api_req *r, const char *field, const char *msg)
{
    api_reply_error(r, 400, "invalid_parameter", msg, field);
}

/* The request of an op, or NULL (and the op freed) when its client is gone
 * or the statement failed (then answered with 503). */
static struct api_req *resume(struct op *o, int status)
{
    struct api_req *r = api_resume(o->req, status);
    if (!r)
        op_free(o);
    return r;
}

/* A decimal integer in [min, max], nothing else. */
static bool parse_int(const char *s, long long min, long long max, long long *out)
{
    long long v = 0;
    if (!s || !*s || strlen(s) > 18)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool is_slug(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* The caller as statement parameters: admin, account id, attendee id. */
struct who {
    char admin[2], account[24], attendee[40];
};

static void who_of(struct api_req *r, struct who *w)
{
    const struct caller *c = api_req_caller(r);
    snprintf(w->admin, sizeof(w->admin), "%s", c->kind == CALLER_ACCOUNT && c->admin ? "t" : "f");
    snprintf(w->account, sizeof(w->account), "%lld",
             c->kind == CALLER_ACCOUNT ? (long long)c->account_id : 0LL);
    snprintf(w->attendee, sizeof(w->attendee), "%s", c->kind == CALLER_ANON ? "" : c->attendee_id);
}

static json_t *load(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    return v ? v : json_null();
}

/* ---- sessions of a meeting ---- */

static void on_sessions(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 404, "not_found", "there is no meeting with that slug", NULL);
        op_free(o);
        return;
    }
    json_t *list = load(store_result_value(res, 0, 1));
    json_t *next = json_null();
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    if ((int)json_array_size(list) > o->limit) {
        json_array_remove(list, (size_t)o->limit);
        next = json_object_get(json_array_get(list, (size_t)o->limit - 1), "id");
        json_incref(next);
    }
    api_reply_json(r, 200,
                   json_pack("{s:o, s:o, s:o}", "meeting", load(store_result_value(res, 0, 0)),
                             "sessions", list, "next_before", next));
    op_free(o);
}

static void sessions(struct api_req *r, const char *const *params, int nparams)
{
    long long before = 0, limit = SESSIONS_DEFAULT;
    const char *v;
    char b[24], l[24];
    struct who w;
    if (!is_slug(params[0])) {
        api_reply_error(r, 404, "not_found", "there is no meeting with that slug", NULL);
        return;
    }
    if ((v = api_req_arg(r, "before")) && !parse_int(v, 1, INT64_MAX, &before)) {
        bad_param(r, "before", "before must be a session id");
        return;
    }
    if ((v = api_req_arg(r, "limit")) && !parse_int(v, 1, SESSIONS_MAX, &limit)) {
        bad_param(r, "limit", "limit must be an integer from 1 to 100");
        return;
    }
    struct op *o = op_new(r);
    o->limit = (int)limit;
    who_of(r, &w);
    snprintf(b, sizeof(b), "%lld", before);
    snprintf(l, sizeof(l), "%lld", limit + 1);
    const char *qp[] = {params[0], w.admin, w.account, w.attendee, before ? b : NULL, l};
    if (store_exec(T.st, T.s_sessions, STORE_READ, 6, qp, on_sessions, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

/* ---- one session: header, then pages of events ---- */

static json_t *row_of(const struct store_result *res, int i)
{
    json_t *row = json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:s, s:I, s:n}", "seq",
                            (json_int_t)store_result_int(res, i, 0), "member",
                            (json_int_t)store_result_int(res, i, 1), "kind",
                            store_result_value(res, i, 2), "body",
                            load(store_result_value(res, i, 3)), "name",
                            store_result_value(res, i, 4), "at", store_result_value(res, i, 5),
                            "time", store_result_value(res, i, 6), "ts",
                            (json_int_t)store_result_int(res, i, 7), "end");
    if (strcmp(store_result_value(res, i, 14), "f") == 0)
        json_object_set_new(row, "recorded", json_false());
    if (store_result_value(res, i, 8))
        json_object_set_new(
            row, "end",
            json_pack("{s:I, s:s, s:s, s:s, s:I, s:o}", "seq",
                      (json_int_t)store_result_int(res, i, 8), "kind",
                      store_result_value(res, i, 9), "at", store_result_value(res, i, 10),
                      "time", store_result_value(res, i, 11), "ts",
                      (json_int_t)store_result_int(res, i, 12), "body",
                      load(store_result_value(res, i, 13))));
    return row;
}

static void on_page(void *arg, const struct store_result *res, int status, const char *errmsg);

static int exec_page(struct op *o, int limit)
{
    char sid[24], after[24], l[16];
    snprintf(sid, sizeof(sid), "%lld", (long long)o->session_id);
    snprintf(after, sizeof(after), "%lld", (long long)o->after_seq);
    snprintf(l, sizeof(l), "%d", limit);
    const char *qp[] = {sid, after, l};
    return store_exec(T.st, T.s_page, STORE_READ, 3, qp, on_page, o);
}

static void export_start(struct op *o, struct api_req *r);

static void page_reply(struct op *o, struct api_req *r, const struct store_result *res)
{
    json_t *rows = json_array();
    int n = store_result_rows(res), taken = 0;
    bool more = false;
    int64_t last = o->after_seq;
    for (int i = 0; i < n; i++) {
        int64_t seq = store_result_int(res, i, 0);
        if (seq > o->after_seq && taken == o->limit) {
            more = true;
            break;
        }
        if (seq > o->after_seq) {
            taken++;
            last = seq;
        }
        json_array_append_new(rows, row_of(res, i));
    }
    json_t *blocks = transcript__blocks(rows, o->after_seq);
    json_decref(rows);
    json_t *body = json_pack("{s:O, s:O, s:o, s:I, s:I, s:b}", "meeting", o->meeting, "session",
                             o->session, "blocks", blocks, "after_seq", (json_int_t)o->after_seq,
                             "next_after_seq", (json_int_t)last, "has_more", more);
    api_reply_json(r, 200, body);
}

static void on_page(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (o->fmt == FMT_NONE) {
        page_reply(o, r, res);
        op_free(o);
        return;
    }
    /* An export: gather every row, a page at a time. */
    int n = store_result_rows(res), added = 0;
    for (int i = 0; i < n; i++) {
        int64_t seq = store_result_int(res, i, 0);
        if (seq <= o->after_seq)
            continue; /* the open share's start, already there */
        json_array_append_new(o->rows, row_of(res, i));
        o->after_seq = seq;
        added++;
    }
    if (added == EXPORT_PAGE) {
        if (exec_page(o, EXPORT_PAGE)) {
            op_free(o);
            api_reply_unavailable(r);
        }
        return;
    }
    export_start(o, r);
}

static void on_header(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        no_session(r);
        op_free(o);
        return;
    }
    o->meeting = load(store_result_value(res, 0, 0));
    o->session = load(store_result_value(res, 0, 1));
    if (o->fmt != FMT_NONE) {
        o->rows = json_array();
        o->after_seq = 0;
    }
    /* One more than asked for tells whether there is more (and the start of
     * an open share may come first). */
    if (exec_page(o, o->fmt != FMT_NONE ? EXPORT_PAGE : o->limit + 1)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

/* Start reading session params[0] for o (header first). */
static void read_session(struct api_req *r, const char *id, struct op *o)
{
    long long sid;
    struct who w;
    char s[24];
    if (!parse_int(id, 1, INT64_MAX, &sid)) {
        no_session(r);
        op_free(o);
        return;
    }
    o->session_id = sid;
    who_of(r, &w);
    snprintf(s, sizeof(s), "%lld", sid);
    const char *qp[] = {s, w.admin, w.account, w.attendee};
    if (store_exec(T.st, T.s_header, STORE_READ, 4, qp, on_header, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void transcript_page(struct api_req *r, const char *const *params, int nparams)
{
    long long after = 0, limit = PAGE_DEFAULT;
    const char *v;
    if ((v = api_req_arg(r, "after_seq")) && !parse_int(v, 0, INT64_MAX, &after)) {
        bad_param(r, "after_seq", "after_seq must be an integer from 0");
        return;
    }
    if ((v = api_req_arg(r, "limit")) && !parse_int(v, 1, PAGE_MAX, &limit)) {
        bad_param(r, "limit", "limit must be an integer from 1 to 1000");
        return;
    }
    struct op *o = op_new(r);
    o->after_seq = after;
    o->limit = (int)limit;
    read_session(r, params[0], o);
}

/* ---- exports ---- */

static void export_work(uv_work_t *w)
{
    struct export_work *x = w->data;
    json_t *rows = json_object_get(x->doc, "rows");
    json_object_set_new(x->doc, "blocks", transcript__blocks(rows, 0));
    json_object_del(x->doc, "rows");
    json_object_set_new(x->doc, "notice", json_string(transcript__notice));
    buf_init(&x->out);
    if (x->fmt == FMT_TEXT) {
        transcript__text(&x->out, x->doc);
    } else if (x->fmt == FMT_MARKDOWN) {
        transcript__markdown(&x->out, x->doc);
    } else {
        char *text = json_dumps(x->doc, JSON_INDENT(2));
        buf_adds(&x->out, text);
        buf_adds(&x->out, "\n");
        free(text);
    }
}

static void export_done(uv_work_t *w, int status)
{
    struct export_work *x = w->data;
    struct api_req *r = api_req_find(x->req);
    if (r && status) {
        api_reply_error(r, 500, "internal", "the export failed", NULL);
    } else if (r) {
        static const char *const types[] = {"", "text/plain; charset=utf-8",
                                            "text/markdown; charset=utf-8",
                                            "application/json"};
        char disp[256];
        snprintf(disp, sizeof(disp), "Content-Disposition: attachment; filename=\"%s\"",
                 x->filename);
        api_reply_header(r, disp);
        api_reply_text(r, 200, types[x->fmt], x->out.data ? x->out.data : "", x->out.len);
    }
    json_decref(x->doc);
    buf_cleanup(&x->out);
    free(x);
}

static void export_start(struct op *o, struct api_req *r)
{
    static const char *const ext[] = {"", "txt", "md", "json"};
    struct export_work *x = xcalloc(1, sizeof(*x));
    x->req = o->req;
    x->fmt = o->fmt;
    snprintf(x->filename, sizeof(x->filename), "%s-%s-session-%lld.%s",
             json_string_value(json_object_get(o->meeting, "slug")),
             json_string_value(json_object_get(o->session, "date")), (long long)o->session_id,
             ext[o->fmt]);
    /* The worker owns the whole document: nothing in it is shared. */
    x->doc = json_pack("{s:i, s:o, s:o, s:o}", "transcript", 1, "meeting", o->meeting, "session",
                       o->session, "rows", o->rows);
    o->meeting = o->session = o->rows = NULL;
    op_free(o);
    x->w.data = x;
    if (uv_queue_work(T.loop, &x->w, export_work, export_done)) {
        api_reply_error(r, 500, "internal", "the export failed", NULL);
        json_decref(x->doc);
        free(x);
    }
}

static void export_session(struct api_req *r, const char *id, enum export_fmt fmt)
{
    struct op *o = op_new(r);
    o->fmt = fmt;
    read_session(r, id, o);
}

static void export_txt(struct api_req *r, const char *const *params, int nparams)
{
    export_session(r, params[0], FMT_TEXT);
}

static void export_md(struct api_req *r, const char *const *params, int nparams)
{
    export_session(r, params[0], FMT_MARKDOWN);
}

static void export_json(struct api_req *r, const char *const *params, int nparams)
{
    export_session(r, params[0], FMT_JSON);
}

/* ---- search ---- */

static void on_search(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    json_t *results = json_array();
    int n = store_result_rows(res);
    for (int i = 0; i < n && i < o->limit; i++) {
        json_t *snippet, *parts;
        long long sid = store_result_int(res, i, 2), seq = store_result_int(res, i, 3);
        char url[96];
        transcript__snippet(store_result_value(res, i, 8), &snippet, &parts);
        snprintf(url, sizeof(url), "/api/sessions/%lld/transcript?after_seq=%lld", sid, seq - 1);
        json_t *hit = json_pack(
            "{s:{s:s, s:s}, s:I, s:I, s:s, s:s, s:n, s:o, s:o, s:s}", "meeting", "slug",
            store_result_value(res, i, 0), "name", store_result_value(res, i, 1), "session",
            (json_int_t)sid, "seq", (json_int_t)seq, "at", store_result_value(res, i, 4),
            "at_local", store_result_value(res, i, 5), "from", "snippet", snippet, "parts", parts,
            "url", url);
        if (store_result_int(res, i, 6) > 0)
            json_object_set_new(hit, "from",
                                json_pack("{s:I, s:s}", "member",
                                          (json_int_t)store_result_int(res, i, 6), "name",
                                          store_result_value(res, i, 7)));
        json_array_append_new(results, hit);
    }
    api_reply_json(r, 200,
                   json_pack("{s:o, s:i, s:I, s:b}", "results", results, "limit", o->limit,
                             "offset", (json_int_t)o->after_seq, "has_more", n > o->limit));
    op_free(o);
}

static void search(struct api_req *r, const char *const *params, int nparams)
{
    const char *q = api_req_arg(r, "q"), *meeting = api_req_arg(r, "meeting"), *v;
    long long limit = SEARCH_DEFAULT, offset = 0;
    size_t chars = 0;
    bool ok = q && *q;
    struct who w;
    char l[24], off[24];

    for (const unsigned char *p = (const unsigned char *)(q ? q : ""); *p && ok; p++) {
        ok = *p >= 0x20 && *p != 0x7f;
        chars += (*p & 0xC0) != 0x80;
    }
    if (!ok || chars > QUERY_MAX_CHARS) {
        bad_param(r, "q", "q must be 1 to 200 characters of text");
        return;
    }
    if ((v = api_req_arg(r, "limit")) && !parse_int(v, 1, SEARCH_MAX, &limit)) {
        bad_param(r, "limit", "limit must be an integer from 1 to 50");
        return;
    }
    if ((v = api_req_arg(r, "offset")) && !parse_int(v, 0, SEARCH_OFFSET_MAX, &offset)) {
        bad_param(r, "offset", "offset must be an integer from 0 to 1000");
        return;
    }
    if (meeting && !is_slug(meeting)) {
        /* No meeting has that slug: nothing to find. */
        api_reply_json(r, 200,
                       json_pack("{s:[], s:I, s:I, s:b}", "results", "limit", (json_int_t)limit,
                                 "offset", (json_int_t)offset, "has_more", 0));
        return;
    }
    struct op *o = op_new(r);
    o->limit = (int)limit;
    o->after_seq = offset;
    who_of(r, &w);
    snprintf(l, sizeof(l), "%lld", limit + 1);
    snprintf(off, sizeof(off), "%lld", offset);
    const char *qp[] = {q, meeting, w.admin, w.account, w.attendee, l, off};
    if (store_exec(T.st, T.s_search, STORE_READ, 7, qp, on_search, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

/* ---- taking a message back ---- */

static void on_deleted(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    bool mine = store_result_rows(res) && strcmp(store_result_value(res, 0, 0), "t") == 0;
    bool chair = store_result_rows(res) && strcmp(store_result_value(res, 0, 1), "t") == 0;
    if (!mine && !chair) {
        /* Neither there nor the caller's: the same answer. */
        api_reply_error(r, 404, "not_found", "there is no such message", NULL);
    } else if (strcmp(store_result_value(res, 0, 2), "t") != 0) {
        api_reply_error(r, 409, "session_live",
                        "the meeting is still going: take the message back from the meeting "
                        "(delete)",
                        NULL);
    } else {
        const char *by = store_result_value(res, 0, 3);
        log_info("transcript", "session %lld: message %lld removed (%s)",
                 (long long)o->session_id, (long long)o->after_seq, by ? by : "?");
        api_reply_json(r, 200,
                       json_pack("{s:I, s:I, s:s}", "session", (json_int_t)o->session_id, "seq",
                                 (json_int_t)o->after_seq, "removed", by ? by : "chair"));
    }
    op_free(o);
}

static void delete_event(struct api_req *r, const char *const *params, int nparams)
{
    const struct caller *c = api_req_caller(r);
    long long sid, seq;
    struct who w;
    char s[24], q[24];
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated",
                        "send the token you had in the meeting to take your words back", NULL);
        return;
    }
    if (!parse_int(params[0], 1, INT64_MAX, &sid) || !parse_int(params[1], 1, INT64_MAX, &seq)) {
        api_reply_error(r, 404, "not_found", "there is no such message", NULL);
        return;
    }
    struct op *o = op_new(r);
    o->session_id = sid;
    o->after_seq = seq;
    who_of(r, &w);
    snprintf(s, sizeof(s), "%lld", sid);
    snprintf(q, sizeof(q), "%lld", seq);
    const char *qp[] = {s, q, w.attendee, w.admin, w.account};
    if (store_exec(T.st, T.s_delete, STORE_WRITE, 5, qp, on_deleted, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

/* ---- retention ---- */

static void purge_run(void);

static void purge_answer(json_t *ids, int status)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        struct api_req *r = api_req_find((uint64_t)json_integer_value(v));
        if (!r)
            continue;
        if (status)
            api_reply_unavailable(r);
        else
            api_reply_json(r, 200,
                           json_pack("{s:I, s:I, s:I}", "sessions",
                                     (json_int_t)T.counts.sessions, "events",
                                     (json_int_t)T.counts.events, "participants",
                                     (json_int_t)T.counts.participants));
    }
    json_array_clear(ids);
}

static void purge_end(int status)
{
    T.running = false;
    if (status)
        log_warnx("transcript", "retention purge stopped; it runs again later");
    else if (T.counts.sessions || T.counts.events)
        log_info("transcript", "retention purge: %lld sessions, %lld events, %lld participants",
                 T.counts.sessions, T.counts.events, T.counts.participants);
    purge_answer(T.waiting, status);
    if (json_array_size(T.next) && !T.stopping) {
        json_array_extend(T.waiting, T.next);
        json_array_clear(T.next);
        purge_run();
    } else {
        purge_answer(T.next, HV_EIO);
    }
}

static void purge_exec(void);

static void on_purge(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    if (status || T.stopping) {
        purge_end(status ? status : HV_EIO);
        return;
    }
    /* Counts come as one count(*) row or as one row per session. */
    long long n = T.step == PURGE_EVENTS || T.step == PURGE_PARTICIPANTS
                      ? (store_result_rows(res) ? store_result_int(res, 0, 0) : 0)
                      : store_result_rows(res);
    if (T.step == PURGE_EVENTS)
        T.counts.events += n;
    else if (T.step == PURGE_PARTICIPANTS)
        T.counts.participants += n;
    else if (T.step == PURGE_FINISH)
        T.counts.sessions += n;
    /* A full batch may have left more: the same step again, else the next. */
    if (n < T.cfg->transcripts_purge_batch) {
        if (T.step == PURGE_FINISH) {
            purge_end(0);
            return;
        }
        T.step++;
    }
    purge_exec();
}

static void purge_exec(void)
{
    char batch[16];
    snprintf(batch, sizeof(batch), "%d", T.cfg->transcripts_purge_batch);
    const char *qp[] = {batch};
    if (store_exec(T.st, T.s_purge[T.step], STORE_WRITE, 1, qp, on_purge, NULL))
        purge_end(HV_EIO);
}

static void purge_run(void)
{
    if (T.running || T.stopping)
        return;
    T.running = true;
    T.step = PURGE_COUNT;
    memset(&T.counts, 0, sizeof(T.counts));
    purge_exec();
}

static void on_timer(uv_timer_t *t)
{
    /* Only while the database is there; otherwise the next tick. */
    if (store_get_state(T.st) == STORE_OK)
        purge_run();
}

static void admin_purge(struct api_req *r, const char *const *params, int nparams)
{
    const struct caller *c = api_req_caller(r);
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated", "log in as an admin", NULL);
        return;
    }
    if (c->kind != CALLER_ACCOUNT || !c->admin) {
        api_reply_error(r, 403, "forbidden", "only admins may do this", NULL);
        return;
    }
    if (T.stopping) {
        api_reply_unavailable(r);
        return;
    }
    /* A pass under way may have passed some sessions already: the request
     * gets a pass of its own after it. */
    json_array_append_new(T.running ? T.next : T.waiting, json_integer((json_int_t)api_req_id(r)));
    purge_run();
}

/* ---- set-up ---- */

static const struct api_route routes[] = {
    {API_GET, "/api/meetings/{}/sessions", sessions},
    {API_GET, "/api/sessions/{}/transcript", transcript_page},
    {API_GET, "/api/sessions/{}/export.txt", export_txt},
    {API_GET, "/api/sessions/{}/export.md", export_md},
    {API_GET, "/api/sessions/{}/export.json", export_json},
    {API_DELETE, "/api/sessions/{}/events/{}", delete_event},
    {API_GET, "/api/search", search},
    {API_POST, "/api/admin/purge", admin_purge},
    {0, NULL, NULL},
};

int transcript_init(uv_loop_t *loop, struct store *st, const struct config *cfg)
{
    memset(&T, 0, sizeof(T));
    T.loop = loop;
    T.st = st;
    T.cfg = cfg;
    T.waiting = json_array();
    T.next = json_array();
    T.s_sessions = store_prepare(st, sql_sessions, 6);
    T.s_header = store_prepare(st, sql_header, 4);
    T.s_page = store_prepare(st, sql_page, 3);
    T.s_search = store_prepare(st, sql_search, 7);
    T.s_delete = store_prepare(st, sql_delete, 5);
    T.s_purge[PURGE_COUNT] = store_prepare(st, sql_purge_count, 1);
    T.s_purge[PURGE_EVENTS] = store_prepare(st, sql_purge_events, 1);
    T.s_purge[PURGE_PARTICIPANTS] = store_prepare(st, sql_purge_participants, 1);
    T.s_purge[PURGE_FINISH] = store_prepare(st, sql_purge_finish, 1);
    api_add_routes(routes);

    uint64_t every = (uint64_t)cfg->transcripts_purge_interval_secs * 1000;
    uv_timer_init(loop, &T.timer);
    /* The timer alone never keeps the server running. */
    uv_unref((uv_handle_t *)&T.timer);
    T.timer_init = true;
    uv_timer_start(&T.timer, on_timer, every < FIRST_PURGE_MS ? every : FIRST_PURGE_MS, every);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    json_decref(T.waiting);
    json_decref(T.next);
    T.waiting = T.next = NULL;
}

void transcript_stop(void)
{
    if (!T.timer_init || T.stopping)
        return;
    T.stopping = true;
    /* Requests waiting for a purge get 503 now; a statement in flight ends
     * the pass when it comes back. */
    if (!T.running)
        purge_answer(T.waiting, HV_EIO);
    purge_answer(T.next, HV_EIO);
    uv_close((uv_handle_t *)&T.timer, on_timer_closed);
}
