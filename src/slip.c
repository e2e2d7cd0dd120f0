/*
 * Attendance slips over HTTP, on the loop thread.  Each request that needs
 * the database carries a struct op from callback to callback and finds its
 * request again by id (api_req_find), since the client may have gone.  See
 * slip.h; proto/API.md ("Attendance slips") is the reference.
 */
#include "slip.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "slip_int.h"
#include "store.h"
#include "util.h"

/* Whether the member's slips are withheld: a chair's decision, else a
 * removal from the session withholds them until a chair confirms. */
#define REMOVED(s, no)                                                                         \
    "EXISTS (SELECT 1 FROM events e WHERE e.session_id = " s " AND e.kind = 'removed'"         \
    " AND e.body -> 'target' ->> 'member' = (" no ")::text)"

/* $1 session id, $2 the caller's attendee id.  No row: no such session, or
 * the caller was not in it.  The session runs from its session_started event
 * (or, without one, from when its row was made) to its end; the minutes
 * present are the caller's attendance intervals merged (range_agg) and
 * clipped to that span.  The chair is who held the chair longest within it,
 * by the chair_taken and chair_handed_over events, else the first member
 * with the meeting's chair role. */
static const char sql_issue[] =
    "WITH s AS (SELECT s.id, s.ended_at IS NOT NULL OR s.phase = 'closed' AS ended,"
    "   'POA' = ANY (m.types) AS poa, m.name, m.slug, m.group_name, m.time_zone,"
    "   least(coalesce((SELECT min(e.created_at) FROM events e WHERE e.session_id = s.id"
    "     AND e.kind = 'session_started'), s.started_at), coalesce(s.ended_at, now())) AS t0,"
    "   coalesce(s.ended_at, now()) AS t1"
    "   FROM sessions s JOIN meetings m ON m.id = s.meeting_id WHERE s.id = $1::bigint),"
    " p AS (SELECT p.member_no, p.display_name FROM participants p JOIN s ON p.session_id = s.id"
    "   WHERE p.attendee_id = $2::text)"
    " SELECT s.poa, s.ended,"
    " (SELECT d.decision FROM slip_decisions d WHERE d.session_id = s.id"
    "   AND d.member_no = p.member_no),"
    " " REMOVED("s.id", "p.member_no") ","
    " (SELECT coalesce(floor(sum(extract(epoch FROM upper(x) - lower(x))) / 60), 0)::integer"
    "   FROM unnest((SELECT range_agg(tstzrange(a.joined_at, coalesce(a.left_at, s.t1)))"
    "     FROM attendance a WHERE a.session_id = s.id AND a.member_no = p.member_no"
    "     AND a.joined_at < coalesce(a.left_at, s.t1))"
    "   * tstzmultirange(tstzrange(s.t0, s.t1))) x),"
    " p.display_name,"
    " coalesce((SELECT c.display_name FROM"
    "   (SELECT (e.body -> 'target' ->> 'member')::integer AS no,"
    "     extract(epoch FROM least(coalesce(lead(e.created_at) OVER (ORDER BY e.seq), s.t1), s.t1)"
    "       - greatest(e.created_at, s.t0)) AS secs"
    "     FROM events e WHERE e.session_id = s.id"
    "     AND e.kind IN ('chair_taken', 'chair_handed_over')) h"
    "   JOIN participants c ON c.session_id = s.id AND c.member_no = h.no"
    "   GROUP BY c.member_no, c.display_name"
    "   ORDER BY sum(greatest(h.secs, 0)) DESC, c.member_no LIMIT 1),"
    "  (SELECT c.display_name FROM participants c WHERE c.session_id = s.id AND c.role = 'chair'"
    "   ORDER BY c.member_no LIMIT 1)),"
    " s.name, s.slug, s.group_name, s.time_zone,"
    " to_char(s.t0 AT TIME ZONE s.time_zone, 'YYYY-MM-DD'),"
    " directory_local_iso(s.t0, s.time_zone), directory_local_iso(s.t1, s.time_zone),"
    " floor(extract(epoch FROM s.t1 - s.t0) / 60)::integer,"
    " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM s JOIN p ON true";

/* $1 lookup hash, $2 sealed slip (hex).  The hash is random-derived: no
 * conflict, but a resent batch must not fail. */
static const char sql_insert[] =
    "INSERT INTO slips (id_hash, sealed, issued_on)"
    " VALUES (decode($1, 'hex'), decode($2, 'hex'), (now() AT TIME ZONE 'UTC')::date)"
    " ON CONFLICT DO NOTHING";

/* $1 lookup hash: the sealed slip (hex), or no row. */
static const char sql_find[] =
    "SELECT encode(sealed, 'hex') FROM slips WHERE id_hash = decode($1, 'hex')";

/* $1 session id, $2 account id, $3 member: is the account a chair or
 * co-chair of the session's meeting, and the member's name (NULL when there
 * is no such member).  No row: no such session. */
static const char sql_role[] =
    "SELECT EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = s.meeting_id"
    "   AND r.account_id = $2::bigint AND r.role IN ('chair', 'co-chair')),"
    " p.display_name"
    " FROM sessions s LEFT JOIN participants p ON p.session_id = s.id"
    "   AND p.member_no = $3::integer"
    " WHERE s.id = $1::bigint";

/* $1 session id, $2 member, $3 decision, $4 account id.  Cannot fail when
 * the member or the account went meanwhile: then no row, or no decider. */
static const char sql_decide[] =
    "INSERT INTO slip_decisions (session_id, member_no, decision, decided_by)"
    " SELECT p.session_id, p.member_no, $3::text, (SELECT a.id FROM accounts a"
    "   WHERE a.id = $4::bigint)"
    " FROM participants p WHERE p.session_id = $1::bigint AND p.member_no = $2::integer"
    " ON CONFLICT (session_id, member_no) DO UPDATE SET decision = EXCLUDED.decision,"
    "   decided_by = EXCLUDED.decided_by, decided_at = now()"
    " RETURNING decision";

/* $1 session id, $2 account id: may the account see it (chair or co-chair),
 * does the meeting offer slips, has the session ended, and its members with
 * their slip status (JSON).  No row: no such session. */
static const char sql_list[] =
    "SELECT EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = s.meeting_id"
    "   AND r.account_id = $2::bigint AND r.role IN ('chair', 'co-chair')),"
    " 'POA' = ANY (m.types), s.ended_at IS NOT NULL OR s.phase = 'closed',"
    " coalesce((SELECT json_agg(json_build_object('member', p.member_no, 'name', p.display_name,"
    "   'role', p.role, 'removed', x.removed, 'decision', d.decision, 'slips',"
    "   CASE WHEN d.decision = 'withheld' OR (x.removed AND d.decision IS NULL)"
    "   THEN 'withheld' ELSE 'offered' END) ORDER BY p.member_no)"
    "   FROM participants p LEFT JOIN slip_decisions d ON d.session_id = p.session_id"
    "   AND d.member_no = p.member_no,"
    "   LATERAL (SELECT " REMOVED("p.session_id", "p.member_no") " AS removed) x"
    "   WHERE p.session_id = s.id), '[]')::text"
    " FROM sessions s JOIN meetings m ON m.id = s.meeting_id WHERE s.id = $1::bigint";

enum op_kind { OP_ISSUE, OP_DECIDE, OP_LIST, OP_VERIFY, OP_VERIFY_PAGE, OP_VERIFY_POST };

struct op {
    uint64_t req;
    enum op_kind kind;
    bool html;
    char sid[24];
    char member[16];
    const char *decision; /* static text */
    char id[SLIP_ID_HEX];
    char sha256[65]; /* the hash given to GET /verify, or "" */
    json_t *doc;     /* the slip issued, or the one given to POST /verify */
};

static struct {
    struct store *st;
    struct slip__key key;
    char issuer[512];
    int s_issue, s_insert, s_find, s_role, s_decide, s_list;
} S;

static struct op *op_new(struct api_req *r, enum op_kind kind)
{
    struct op *o = xcalloc(1, sizeof(*o));
    o->req = api_req_id(r);
    o->kind = kind;
    return o;
}

static void op_free(struct op *o)
{
    if (!o)
        return;
    json_decref(o->doc);
    free(o);
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

static void run(struct api_req *r, struct op *o, int stmt, int flags, int n,
                const char *const *params, store_cb cb)
{
    if (store_exec(S.st, stmt, flags, n, params, cb, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static bool is_session_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_true(const char *v)
{
    return v && strcmp(v, "t") == 0;
}

static void no_session(struct api_req *r)
{
    /* The same answer whether the session does not exist or the caller was
     * not in it: nothing tells a stranger which sessions exist. */
    api_reply_error(r, 404, "not_found", "you took part in no session with that id", NULL);
}

static void reply_slip(struct api_req *r, int status, json_t *doc, enum slip__page page,
                       bool html)
{
    if (!html) {
        api_reply_json(r, status, json_incref(doc));
        return;
    }
    char *text = slip__html(doc, page);
    api_reply_text(r, status, "text/html; charset=utf-8", text, strlen(text));
    free(text);
}

/* ---- issuing ---- */

static void on_inserted(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    /* No session, meeting or person in the log: only that one was issued. */
    log_info("slip", "issued an attendance slip");
    reply_slip(r, 201, o->doc, SLIP_PAGE_HOLDER, o->html);
    op_free(o);
}

/* Seal the signed slip under the key its id gives and store it. */
static void store_slip(struct op *o, struct api_req *r)
{
    unsigned char lookup[32], key[32];
    char lookup_hex[65];
    char *plain = json_dumps(o->doc, JSON_COMPACT | JSON_SORT_KEYS);
    size_t plen = strlen(plain);
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
    unsigned char *box = xmalloc(blen);
    char *box_hex = xmalloc(2 * blen + 1);

    slip__id_keys(o->id, lookup, key);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, plen,
                          box, key);
    util_hex(lookup_hex, lookup, sizeof(lookup));
    util_hex(box_hex, box, blen);
    const char *qp[] = {lookup_hex, box_hex};
    run(r, o, S.s_insert, STORE_WRITE, 2, qp, on_inserted);
    sodium_memzero(key, sizeof(key));
    free(plain);
    free(box);
    free(box_hex);
}

static void on_issue_read(void *arg, const struct store_result *res, int status,
                          const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        no_session(r);
        goto done;
    }
#define V(c) store_result_value(res, 0, (c))
    const char *decision = V(2);
    bool withheld = (decision && strcmp(decision, "withheld") == 0) ||
                    (is_true(V(3)) && !decision);
    if (!is_true(V(0))) {
        api_reply_error(r, 403, "not_offered",
                        "this meeting does not offer proof of attendance (type POA)", NULL);
        goto done;
    }
    if (!is_true(V(1))) {
        api_reply_error(r, 409, "session_in_progress",
                        "slips are issued once the session has ended", NULL);
        goto done;
    }
    if (withheld) {
        api_reply_error(r, 403, "withheld", "a chair withheld the slips for you in this session",
                        NULL);
        goto done;
    }
    if (store_result_int(res, 0, 4) < 1) {
        api_reply_error(r, 403, "not_present",
                        "you were not present for a whole minute of this session", NULL);
        goto done;
    }
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    util_hex(o->id, raw, sizeof(raw));
    const char *chair = V(6);
    o->doc = json_pack(
        "{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:s}",
        "type", SLIP_TYPE, "version", SLIP_VERSION, "slip_id", o->id, "issuer", S.issuer,
        "key_id", S.key.id, "meeting_name", V(7), "meeting_slug", V(8), "group", V(9),
        "time_zone", V(10), "date", V(11), "started_at", V(12), "ended_at", V(13),
        "session_minutes", (json_int_t)store_result_int(res, 0, 14), "name", V(5),
        "minutes_present", (json_int_t)store_result_int(res, 0, 4), "chair",
        chair ? json_string(chair) : json_null(), "issued_at", V(15));
#undef V
    if (!o->doc || slip__sign(o->doc, &S.key)) {
        api_reply_error(r, 500, "internal", "the slip could not be made", NULL);
        goto done;
    }
    store_slip(o, r);
    return;
done:
    op_free(o);
}

static void issue(struct api_req *r, const char *const *params, int nparams)
{
    const struct caller *c = api_req_caller(r);
    const char *fmt = api_req_arg(r, "format");
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated",
                        "send the token you attended with to ask for your slip", NULL);
        return;
    }
    if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "html") != 0) {
        api_reply_error(r, 400, "invalid_parameter", "format must be json or html", "format");
        return;
    }
    if (!is_session_id(params[0])) {
        no_session(r);
        return;
    }
    struct op *o = op_new(r, OP_ISSUE);
    o->html = fmt && strcmp(fmt, "html") == 0;
    snprintf(o->sid, sizeof(o->sid), "%s", params[0]);
    const char *qp[] = {o->sid, c->attendee_id};
    run(r, o, S.s_issue, STORE_READ, 2, qp, on_issue_read);
}

/* ---- chairs: withhold, confirm, list ---- */

/* Only accounts decide: 401 without a token, 403 for attendees. */
static bool account_caller(struct api_req *r)
{
    const struct caller *c = api_req_caller(r);
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated", "log in as a chair of this meeting", NULL);
        return false;
    }
    if (c->kind != CALLER_ACCOUNT) {
        api_reply_error(r, 403, "forbidden",
                        "only the meeting's chairs and co-chairs and admins may do this", NULL);
        return false;
    }
    return true;
}

static void on_decided(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 404, "not_found", "there is no such member in this session", "member");
    } else {
        api_reply_json(r, 200,
                       json_pack("{s:I, s:I, s:s, s:s}", "session",
                                 (json_int_t)strtoll(o->sid, NULL, 10), "member",
                                 (json_int_t)strtoll(o->member, NULL, 10), "decision",
                                 o->decision, "slips",
                                 strcmp(o->decision, "withheld") == 0 ? "withheld" : "offered"));
    }
    op_free(o);
}

static void on_role(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    const struct caller *c = api_req_caller(r);
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 404, "not_found", "there is no session with that id", NULL);
        goto done;
    }
    if (!c->admin && !is_true(store_result_value(res, 0, 0))) {
        api_reply_error(r, 403, "forbidden",
                        "only the meeting's chairs and co-chairs and admins may do this", NULL);
        goto done;
    }
    if (!store_result_value(res, 0, 1)) {
        api_reply_error(r, 404, "not_found", "there is no such member in this session", "member");
        goto done;
    }
    char aid[24];
    snprintf(aid, sizeof(aid), "%lld", (long long)c->account_id);
    log_info("slip", "session %s: account %lld %s a member's slips", o->sid,
             (long long)c->account_id, o->decision);
    const char *qp[] = {o->sid, o->member, o->decision, aid};
    run(r, o, S.s_decide, STORE_WRITE, 4, qp, on_decided);
    return;
done:
    op_free(o);
}

static void decide(struct api_req *r, const char *sid, const char *decision)
{
    json_t *body = api_req_json(r);
    json_t *m = json_object_get(body, "member");
    if (!account_caller(r))
        return;
    if (!is_session_id(sid)) {
        api_reply_error(r, 404, "not_found", "there is no session with that id", NULL);
        return;
    }
    if (!json_is_object(body) || !json_is_integer(m) || json_integer_value(m) < 1 ||
        json_integer_value(m) > 1000000000) {
        api_reply_error(r, 400, "invalid_field", "member must be a member number of the session",
                        "member");
        return;
    }
    struct op *o = op_new(r, OP_DECIDE);
    char aid[24];
    snprintf(o->sid, sizeof(o->sid), "%s", sid);
    snprintf(o->member, sizeof(o->member), "%lld", (long long)json_integer_value(m));
    snprintf(aid, sizeof(aid), "%lld", (long long)api_req_caller(r)->account_id);
    o->decision = decision;
    const char *qp[] = {o->sid, aid, o->member};
    run(r, o, S.s_role, STORE_READ, 3, qp, on_role);
}

static void withhold(struct api_req *r, const char *const *params, int nparams)
{
    decide(r, params[0], "withheld");
}

static void confirm(struct api_req *r, const char *const *params, int nparams)
{
    decide(r, params[0], "confirmed");
}

static void on_list(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 404, "not_found", "there is no session with that id", NULL);
    } else if (!api_req_caller(r)->admin && !is_true(store_result_value(res, 0, 0))) {
        api_reply_error(r, 403, "forbidden",
                        "only the meeting's chairs and co-chairs and admins may do this", NULL);
    } else {
        json_t *members = json_loads(store_result_value(res, 0, 3), 0, NULL);
        api_reply_json(r, 200,
                       json_pack("{s:I, s:b, s:b, s:o}", "session",
                                 (json_int_t)strtoll(o->sid, NULL, 10), "offered",
                                 is_true(store_result_value(res, 0, 1)), "ended",
                                 is_true(store_result_value(res, 0, 2)), "members",
                                 members ? members : json_array()));
    }
    op_free(o);
}

static void list(struct api_req *r, const char *const *params, int nparams)
{
    if (!account_caller(r))
        return;
    if (!is_session_id(params[0])) {
        api_reply_error(r, 404, "not_found", "there is no session with that id", NULL);
        return;
    }
    struct op *o = op_new(r, OP_LIST);
    char aid[24];
    snprintf(o->sid, sizeof(o->sid), "%s", params[0]);
    snprintf(aid, sizeof(aid), "%lld", (long long)api_req_caller(r)->account_id);
    const char *qp[] = {o->sid, aid};
    run(r, o, S.s_list, STORE_READ, 2, qp, on_list);
}

/* ---- verifying ---- */

static void public_read(struct api_req *r)
{
    api_reply_header(r, "Access-Control-Allow-Origin: *");
}

static void public_key(struct api_req *r, const char *const *params, int nparams)
{
    public_read(r);
    api_reply_json(r, 200, slip__key_json(&S.key));
}

/* The stored slip of o->id from its sealed record (hex), or NULL when the
 * record does not open (it was damaged or replaced). */
static json_t *unseal(const struct op *o, const char *hex)
{
    unsigned char lookup[32], key[32];
    size_t len = hex ? strlen(hex) / 2 : 0, got = 0;
    json_t *doc = NULL;
    if (len <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES || len > 2 * SLIP_DOC_MAX)
        return NULL;
    unsigned char *box = xmalloc(len);
    unsigned char *plain = xmalloc(len);
    slip__id_keys(o->id, lookup, key);
    if (sodium_hex2bin(box, len, hex, 2 * len, NULL, &got, NULL) == 0 && got == len &&
        crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, box, key) == 0) {
        doc = json_loadb((const char *)plain,
                         len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, 0, NULL);
        const char *id = json_string_value(json_object_get(doc, "slip_id"));
        if (!id || strcmp(id, o->id) != 0) {
            json_decref(doc);
            doc = NULL;
        }
    }
    sodium_memzero(key, sizeof(key));
    free(box);
    free(plain);
    return doc;
}

static void not_issued(struct api_req *r, bool html)
{
    if (html) {
        static const char page[] =
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>No such slip</title>\n<link rel=\"stylesheet\" href=\"/slip.css\">\n"
            "</head>\n<body>\n<main class=\"slip\">\n<h1>No such slip</h1>\n"
            "<p class=\"slip-refused\" role=\"status\">This server has issued no attendance slip "
            "with this number. Check the number, or the address of the server.</p>\n"
            "</main>\n</body>\n</html>\n";
        api_reply_text(r, 404, "text/html; charset=utf-8", page, sizeof(page) - 1);
        return;
    }
    api_reply_json(r, 404,
                   json_pack("{s:s, s:s, s:b, s:b}", "error", "not_found", "message",
                             "this server has issued no slip with that id", "issued", 0,
                             "valid", 0));
}

static bool same_slip(json_t *a, json_t *b)
{
    size_t la, lb;
    char *ca = slip__canonical(a, &la), *cb = slip__canonical(b, &lb);
    const char *sa = json_string_value(json_object_get(a, "signature"));
    const char *sb = json_string_value(json_object_get(b, "signature"));
    bool same = ca && cb && la == lb && memcmp(ca, cb, la) == 0 && sa && sb && !strcmp(sa, sb);
    free(ca);
    free(cb);
    return same;
}

static void on_found(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    bool issued = store_result_rows(res) > 0;
    json_t *stored = issued ? unseal(o, store_result_value(res, 0, 0)) : NULL;
    if (issued && !stored) {
        log_warnx("slip", "a slip record does not open: the database was changed");
        api_reply_error(r, 500, "damaged", "the server's record of this slip is damaged", NULL);
        goto done;
    }
    if (o->kind == OP_VERIFY_POST) {
        /* Is the slip given the one issued, unchanged and signed by us? */
        const char *why = slip__check(o->doc, &S.key);
        bool matches = issued && same_slip(o->doc, stored);
        const char *problem = !issued ? "not_issued" : why ? why : !matches ? "altered" : NULL;
        api_reply_json(r, 200,
                       json_pack("{s:b, s:s, s:b, s:b, s:b, s:o}", "valid", problem == NULL,
                                 "slip_id", o->id, "issued", issued, "signature_valid",
                                 why == NULL, "matches", matches, "problem",
                                 problem ? json_string(problem) : json_null()));
        goto done;
    }
    if (!issued) {
        not_issued(r, o->kind == OP_VERIFY_PAGE);
        goto done;
    }
    const char *why = slip__check(stored, &S.key);
    if (o->kind == OP_VERIFY_PAGE) {
        if (why)
            api_reply_error(r, 500, "damaged", "the server's record of this slip is damaged",
                            NULL);
        else
            reply_slip(r, 200, stored, SLIP_PAGE_VERIFIED, true);
        goto done;
    }
    char digest[65] = "";
    slip__digest(stored, digest);
    json_t *out = json_pack("{s:b, s:s, s:b, s:s, s:O}", "issued", 1, "slip_id", o->id,
                            "signature_valid", why == NULL, "sha256", digest, "slip", stored);
    bool valid = why == NULL;
    if (*o->sha256) {
        bool matches = strcmp(o->sha256, digest) == 0;
        json_object_set_new(out, "matches", json_boolean(matches));
        valid = valid && matches;
    }
    json_object_set_new(out, "valid", json_boolean(valid));
    public_read(r);
    api_reply_json(r, 200, out);
done:
    json_decref(stored);
    op_free(o);
}

static void find(struct api_req *r, struct op *o)
{
    unsigned char lookup[32], key[32];
    char lookup_hex[65];
    slip__id_keys(o->id, lookup, key);
    sodium_memzero(key, sizeof(key));
    util_hex(lookup_hex, lookup, sizeof(lookup));
    const char *qp[] = {lookup_hex};
    run(r, o, S.s_find, STORE_READ, 1, qp, on_found);
}

static void verify_id(struct api_req *r, const char *id, enum op_kind kind)
{
    const char *sha = api_req_arg(r, "sha256");
    char lower[65];
    if (!slip__is_id(id)) {
        not_issued(r, kind == OP_VERIFY_PAGE);
        return;
    }
    if (sha) {
        size_t n = strlen(sha);
        bool ok = n == 64;
        for (size_t i = 0; ok && i < n; i++) {
            char ch = sha[i] >= 'A' && sha[i] <= 'F' ? (char)(sha[i] - 'A' + 'a') : sha[i];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
            lower[i] = ch;
        }
        if (!ok) {
            api_reply_error(r, 400, "invalid_parameter",
                            "sha256 must be 64 hex digits: the SHA-256 of the slip's canonical "
                            "form", "sha256");
            return;
        }
        lower[64] = '\0';
    }
    struct op *o = op_new(r, kind);
    snprintf(o->id, sizeof(o->id), "%s", id);
    if (sha && kind == OP_VERIFY)
        snprintf(o->sha256, sizeof(o->sha256), "%s", lower);
    find(r, o);
}

static void verify_get(struct api_req *r, const char *const *params, int nparams)
{
    verify_id(r, params[0], OP_VERIFY);
}

static void verify_page(struct api_req *r, const char *const *params, int nparams)
{
    verify_id(r, params[0], OP_VERIFY_PAGE);
}

static void verify_post(struct api_req *r, const char *const *params, int nparams)
{
    json_t *doc = api_req_json(r);
    const char *id = json_string_value(json_object_get(doc, "slip_id"));
    if (!json_is_object(doc)) {
        api_reply_error(r, 400, "invalid_field", "the body must be a slip (a JSON object)", "");
        return;
    }
    if (!slip__is_id(id)) {
        api_reply_json(r, 200,
                       json_pack("{s:b, s:n, s:b, s:b, s:b, s:s}", "valid", 0, "slip_id",
                                 "issued", 0, "signature_valid", 0, "matches", 0, "problem",
                                 "malformed"));
        return;
    }
    struct op *o = op_new(r, OP_VERIFY_POST);
    snprintf(o->id, sizeof(o->id), "%s", id);
    o->doc = json_incref(doc);
    find(r, o);
}

/* Specific patterns first: "/verify/{}" would also match "x.html". */
static const struct api_route routes[] = {
    {API_POST, "/api/sessions/{}/slip", issue},
    {API_GET, "/api/sessions/{}/slips", list},
    {API_POST, "/api/sessions/{}/slips/withhold", withhold},
    {API_POST, "/api/sessions/{}/slips/confirm", confirm},
    {API_GET, "/.well-known/haven-attendance-key", public_key},
    {API_GET, "/verify/{}.html", verify_page},
    {API_GET, "/verify/{}", verify_get},
    {API_POST, "/verify", verify_post},
    {0, NULL, NULL},
};

/* The issuer: http.public_url, or the address a local client would use. */
static void issuer_of(const struct config *cfg, char *out, size_t len)
{
    const char *a = cfg->listen_address;
    if (cfg->http_public_url && *cfg->http_public_url) {
        snprintf(out, len, "%s", cfg->http_public_url);
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '/')
            out[--n] = '\0';
        return;
    }
    if (!*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
        a = "127.0.0.1";
    if (strchr(a, ':'))
        snprintf(out, len, "http://[%s]:%d", a, cfg->listen_port);
    else
        snprintf(out, len, "http://%s:%d", a, cfg->listen_port);
}

int slip_init(struct store *st, const struct config *cfg)
{
    char err[PATH_MAX + 256];
    bool created = false;
    int rc = slip__key_file(cfg->slips_key_file, true, &S.key, &created, err, sizeof(err));
    if (rc) {
        log_error("slip", "slips.key_file: %s", err);
        return rc;
    }
    if (created)
        log_info("slip", "made a new attendance-slip signing key in %s (key id %s); back it up",
                 cfg->slips_key_file, S.key.id);
    S.st = st;
    issuer_of(cfg, S.issuer, sizeof(S.issuer));
    S.s_issue = store_prepare(st, sql_issue, 2);
    S.s_insert = store_prepare(st, sql_insert, 2);
    S.s_find = store_prepare(st, sql_find, 1);
    S.s_role = store_prepare(st, sql_role, 3);
    S.s_decide = store_prepare(st, sql_decide, 4);
    S.s_list = store_prepare(st, sql_list, 2);
    api_add_routes(routes);
    return 0;
}
