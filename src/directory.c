/*
 * The directory's HTTP handlers, on the loop thread.  Each request that needs
 * the database carries a struct op from callback to callback; the request
 * itself is found again by id (api_req_find), since its client may be gone.
 */
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "directory_int.h"
#include "live.h"
#include "log.h"
#include "meeting_types.h"
#include "store.h"
#include "util.h"
#include "version.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 500
#define FEED_MAX 5000
#define OCCURRENCES_DEFAULT 10
#define OCCURRENCES_MAX 100
#define QUERY_MAX_CHARS 100
/* Calendars describe zone changes from the first event up to this far ahead;
 * a zone's yearly rule carries on beyond. */
#define ICS_AHEAD_S (3LL * 366 * 86400)
#define ZONE_CACHE_MS (6LL * 3600 * 1000)

enum op_kind { OP_LIST, OP_FEED, OP_CREATE, OP_UPDATE, OP_DELETE, OP_ICS };

struct op {
    uint64_t req;
    enum op_kind kind;
    json_t *valid; /* validated fields of a write */
    int64_t meeting_id;
    char slug[72]; /* "" for the whole directory's calendar */
    int64_t created_ms;
    json_t *events; /* calendar rows */
    int64_t t0;     /* calendar window start */
    void (*after_zone)(struct op *o, struct api_req *r);
};

static struct {
    struct store *st;
    const struct config *cfg;
    char public_url[512];
    char host[256];
    struct live *live;
    int s_insert, s_update, s_delete, s_role, s_exists, s_zones, s_list, s_one, s_occurrences,
        s_ics_events, s_ics_zones;
    json_t *zones; /* accepted zone names, loaded once from pg_timezone_names */
    json_t *vtz;   /* zone -> {"t0", "at" (monotonic ms), "text"} */
} D;

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
    json_decref(o->valid);
    json_decref(o->events);
    free(o);
}

static void not_found(struct api_req *r)
{
    api_reply_error(r, 404, "not_found", "there is no meeting with that slug", NULL);
}

static void public_read(struct api_req *r)
{
    /* Public, credential-free data: any site may read it from a browser. */
    api_reply_header(r, "Access-Control-Allow-Origin: *");
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
static bool parse_int(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!s || !*s || strlen(s) > 9)
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

static void bad_param(struct api_req *r, const char *field, const char *msg)
{
    api_reply_error(r, 400, "invalid_parameter", msg, field);
}

/* ---- reading ---- */

static json_t *meetings_of(const struct store_result *res)
{
    json_t *list = json_array();
    for (int i = 0; i < store_result_rows(res); i++) {
        json_t *m = directory__meeting(store_result_value(res, i, 0), D.public_url);
        if (m)
            json_array_append_new(list, m);
    }
    return list;
}

static void on_list(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    json_t *list = meetings_of(res);
    public_read(r);
    if (o->kind == OP_FEED) {
        json_t *feed = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
            json_array_append_new(feed, directory__guide_item(m, D.public_url));
        json_decref(list);
        api_reply_json(r, 200, feed);
    } else {
        api_reply_json(r, 200, json_pack("{s:o}", "meetings", list));
    }
    op_free(o);
}

static void run_list(struct api_req *r, enum op_kind kind, const char *const *qp)
{
    struct op *o = op_new(r, kind);
    if (store_exec(D.st, D.s_list, STORE_READ, DIRECTORY_LIST_NPARAMS, qp, on_list, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void list(struct api_req *r, const char *const *params, int nparams)
{
    const char *qp[DIRECTORY_LIST_NPARAMS] = {NULL};
    char day[4], within[8], limit[8], offset[12], types[400], lang[40];
    const char *v;
    long n;
    char field[64], msg[200];
    json_t *probe, *out = NULL;

    if ((v = api_req_arg(r, "day"))) {
        if (!parse_int(v, 0, 6, &n)) {
            bad_param(r, "day", "day must be a weekday from 0 (Sunday) to 6 (Saturday)");
            return;
        }
        snprintf(day, sizeof(day), "%ld", n);
        qp[0] = day;
    }
    if ((v = api_req_arg(r, "type"))) {
        /* Comma-separated codes; a meeting must have all of them.  The
         * meeting validator checks them, so the rules are the same. */
        json_t *codes = json_array();
        char *copy = xstrdup(v), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(codes, json_string(t));
        free(copy);
        probe = json_pack("{s:o}", "types", codes);
        int rc =
            json_array_size(codes) == 0 || json_array_size(codes) > 10
                ? HV_EINVAL
                : directory_validate(probe, false, &out, field, sizeof(field), msg, sizeof(msg));
        json_decref(probe);
        if (rc) {
            json_decref(out);
            bad_param(r, "type",
                      "type must be 1 to 10 comma-separated meeting type codes (see "
                      "/api/meeting-types), not both O and C");
            return;
        }
        struct directory__params p;
        directory__params_fill(&p, out);
        snprintf(types, sizeof(types), "%s", p.v[8]);
        directory__params_cleanup(&p);
        json_decref(out);
        out = NULL;
        qp[1] = types;
    }
    if ((v = api_req_arg(r, "language"))) {
        probe = json_pack("{s:s}", "language", v);
        int rc = directory_validate(probe, false, &out, field, sizeof(field), msg, sizeof(msg));
        json_decref(probe);
        if (rc) {
            bad_param(r, "language", "language must be a language tag such as en or pt-BR");
            return;
        }
        snprintf(lang, sizeof(lang), "%s", json_string_value(json_object_get(out, "language")));
        json_decref(out);
        qp[2] = lang;
    }
    if ((v = api_req_arg(r, "within_hours"))) {
        if (!parse_int(v, 1, 168, &n)) {
            bad_param(r, "within_hours", "within_hours must be an integer from 1 to 168");
            return;
        }
        snprintf(within, sizeof(within), "%ld", n);
        qp[3] = within;
    }
    if ((v = api_req_arg(r, "q"))) {
        size_t chars = 0;
        bool ok = *v != '\0';
        for (const unsigned char *p = (const unsigned char *)v; *p && ok; p++) {
            ok = *p >= 0x20 && *p != 0x7f;
            chars += (*p & 0xC0) != 0x80;
        }
        if (!ok || chars > QUERY_MAX_CHARS) {
            bad_param(r, "q", "q must be 1 to 100 characters of text");
            return;
        }
        qp[4] = v;
    }
    n = LIST_LIMIT_DEFAULT;
    if ((v = api_req_arg(r, "limit")) && !parse_int(v, 1, LIST_LIMIT_MAX, &n)) {
        bad_param(r, "limit", "limit must be an integer from 1 to 500");
        return;
    }
    snprintf(limit, sizeof(limit), "%ld", n);
    qp[5] = limit;
    n = 0;
    if ((v = api_req_arg(r, "offset")) && !parse_int(v, 0, 100000000, &n)) {
        bad_param(r, "offset", "offset must be an integer from 0");
        return;
    }
    snprintf(offset, sizeof(offset), "%ld", n);
    qp[6] = offset;
    run_list(r, OP_LIST, qp);
}

static void feed(struct api_req *r, const char *const *params, int nparams)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", FEED_MAX);
    const char *qp[DIRECTORY_LIST_NPARAMS] = {NULL, NULL, NULL, NULL, NULL, limit, "0"};
    run_list(r, OP_FEED, qp);
}

static void on_one(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    json_t *m = store_result_rows(res)
                    ? directory__meeting(store_result_value(res, 0, 0), D.public_url)
                    : NULL;
    if (!m) {
        not_found(r);
    } else {
        if (o->kind == OP_LIST)
            public_read(r);
        api_reply_json(r, o->kind == OP_CREATE ? 201 : 200, m);
    }
    op_free(o);
}

/* Answer with the meeting o->slug as it is now (after a write, or for GET). */
static void reply_meeting(struct op *o, struct api_req *r)
{
    const char *qp[] = {o->slug};
    if (store_exec(D.st, D.s_one, STORE_READ, 1, qp, on_one, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void get_one(struct api_req *r, const char *const *params, int nparams)
{
    if (!directory__is_slug(params[0])) {
        not_found(r);
        return;
    }
    struct op *o = op_new(r, OP_LIST);
    snprintf(o->slug, sizeof(o->slug), "%s", params[0]);
    reply_meeting(o, r);
}

static void on_occurrences(void *arg, const struct store_result *res, int status,
                           const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (!store_result_rows(res)) {
        not_found(r);
    } else {
        json_t *occ = json_loads(store_result_value(res, 0, 1), 0, NULL);
        public_read(r);
        api_reply_json(r, 200,
                       json_pack("{s:s, s:s, s:o}", "slug", o->slug, "time_zone",
                                 store_result_value(res, 0, 0), "occurrences",
                                 occ ? occ : json_array()));
    }
    op_free(o);
}

static void occurrences(struct api_req *r, const char *const *params, int nparams)
{
    char from[24], count[8];
    const char *v;
    int64_t t = util_wall_ms() / 1000;
    long n = OCCURRENCES_DEFAULT;
    if (!directory__is_slug(params[0])) {
        not_found(r);
        return;
    }
    if ((v = api_req_arg(r, "from")) && directory__parse_instant(v, &t)) {
        bad_param(r, "from", "from must be an ISO 8601 instant such as 2026-03-08T12:00:00Z");
        return;
    }
    if ((v = api_req_arg(r, "count")) && !parse_int(v, 1, OCCURRENCES_MAX, &n)) {
        bad_param(r, "count", "count must be an integer from 1 to 100");
        return;
    }
    snprintf(from, sizeof(from), "%lld", (long long)t);
    snprintf(count, sizeof(count), "%ld", n);
    struct op *o = op_new(r, OP_LIST);
    snprintf(o->slug, sizeof(o->slug), "%s", params[0]);
    const char *qp[] = {o->slug, from, count};
    if (store_exec(D.st, D.s_occurrences, STORE_READ, 3, qp, on_occurrences, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void types(struct api_req *r, const char *const *params, int nparams)
{
    size_t n;
    const struct meeting_type *all = meeting_types_all(&n);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:s}", "code", all[i].code, "name", all[i].name));
    public_read(r);
    api_reply_json(r, 200, json_pack("{s:o}", "types", list));
}

/* ---- writing ---- */

static void invalid(struct api_req *r, const char *field, const char *msg)
{
    api_reply_error(r, 400, "invalid_field", msg, field);
}

/* The zone of a write must be one PostgreSQL knows.  The list is read once
 * (the view scans the zone files) and kept. */
static void check_zone(struct op *o, struct api_req *r);

static void on_zones(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (!D.zones && store_result_rows(res) > 0) {
        D.zones = json_object();
        for (int i = 0; i < store_result_rows(res); i++)
            json_object_set_new(D.zones, store_result_value(res, i, 0), json_true());
    }
    if (!D.zones) {
        api_reply_unavailable(r);
        op_free(o);
        return;
    }
    check_zone(o, r);
}

static void check_zone(struct op *o, struct api_req *r)
{
    const char *tz = json_string_value(json_object_get(o->valid, "time_zone"));
    if (!tz) {
        o->after_zone(o, r);
        return;
    }
    if (!D.zones) {
        if (store_exec(D.st, D.s_zones, STORE_READ, 0, NULL, on_zones, o)) {
            op_free(o);
            api_reply_unavailable(r);
        }
        return;
    }
    if (!json_object_get(D.zones, tz)) {
        invalid(r, "time_zone",
                "time_zone is not a time zone PostgreSQL knows; use an IANA name such as "
                "America/Chicago");
        op_free(o);
        return;
    }
    o->after_zone(o, r);
}

static void on_inserted(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 409, "slug_taken", "slug: another meeting already has this slug",
                        "slug");
        op_free(o);
        return;
    }
    log_info("directory", "meeting %s created by account %lld", o->slug,
             (long long)api_req_caller(r)->account_id);
    reply_meeting(o, r);
}

static void do_insert(struct op *o, struct api_req *r)
{
    struct directory__params p;
    char ms[24];
    directory__params_fill(&p, o->valid);
    snprintf(ms, sizeof(ms), "%lld", (long long)o->created_ms);
    directory__params_set(&p, DIRECTORY_NFIELDS, ms);
    int rc = store_exec(D.st, D.s_insert, STORE_WRITE, DIRECTORY_INSERT_NPARAMS,
                        (const char *const *)p.v, on_inserted, o);
    directory__params_cleanup(&p);
    if (rc) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

/* Only accounts change the directory: 401 without a token, 403 for attendees. */
static bool account_caller(struct api_req *r)
{
    const struct caller *c = api_req_caller(r);
    if (c->kind == CALLER_ANON) {
        api_reply_error(r, 401, "unauthenticated", "log in to change the directory", NULL);
        return false;
    }
    if (c->kind != CALLER_ACCOUNT) {
        api_reply_error(r, 403, "forbidden", "only admins and the meeting's chairs may do this",
                        NULL);
        return false;
    }
    return true;
}

static void create(struct api_req *r, const char *const *params, int nparams)
{
    char field[96], msg[256];
    json_t *valid = NULL;
    if (!account_caller(r))
        return;
    if (!api_req_caller(r)->admin) {
        api_reply_error(r, 403, "forbidden", "only admins may create meetings", NULL);
        return;
    }
    if (directory_validate(api_req_json(r), true, &valid, field, sizeof(field), msg, sizeof(msg))) {
        invalid(r, field, msg);
        return;
    }
    struct op *o = op_new(r, OP_CREATE);
    o->valid = valid;
    o->created_ms = util_wall_ms();
    snprintf(o->slug, sizeof(o->slug), "%s", json_string_value(json_object_get(valid, "slug")));
    o->after_zone = do_insert;
    check_zone(o, r);
}

static void on_updated(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        api_reply_error(r, 409, "conflict",
                        "the meeting or your role in it changed meanwhile; reload and try again",
                        NULL);
        op_free(o);
        return;
    }
    log_info("directory", "meeting %s changed by account %lld", o->slug,
             (long long)api_req_caller(r)->account_id);
    reply_meeting(o, r);
}

static void do_update(struct op *o, struct api_req *r)
{
    const struct caller *c = api_req_caller(r);
    struct directory__params p;
    char id[24], aid[24];
    snprintf(id, sizeof(id), "%lld", (long long)o->meeting_id);
    snprintf(aid, sizeof(aid), "%lld", (long long)c->account_id);
    directory__params_fill(&p, o->valid);
    directory__params_set(&p, 19, id);
    directory__params_set(&p, 20, c->admin ? "t" : "f");
    directory__params_set(&p, 21, aid);
    int rc = store_exec(D.st, D.s_update, STORE_WRITE, DIRECTORY_UPDATE_NPARAMS,
                        (const char *const *)p.v, on_updated, o);
    directory__params_cleanup(&p);
    if (rc) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void on_gone_check(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    /* The delete removed nothing: either it already happened (a retried
     * write, or someone else), or the caller lost the right meanwhile. */
    if (store_result_rows(res) == 0)
        api_reply_json(r, 200, json_pack("{s:s}", "deleted", o->slug));
    else
        api_reply_error(r, 403, "forbidden", "only admins and the meeting's chairs may do this",
                        NULL);
    op_free(o);
}

static void on_deleted(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)o->meeting_id);
        const char *qp[] = {id};
        if (store_exec(D.st, D.s_exists, STORE_READ, 1, qp, on_gone_check, o)) {
            op_free(o);
            api_reply_unavailable(r);
        }
        return;
    }
    log_info("directory", "meeting %s deleted by account %lld", o->slug,
             (long long)api_req_caller(r)->account_id);
    api_reply_json(r, 200, json_pack("{s:s}", "deleted", o->slug));
    op_free(o);
}

static void do_delete(struct op *o, struct api_req *r)
{
    const struct caller *c = api_req_caller(r);
    char id[24], aid[24];
    snprintf(id, sizeof(id), "%lld", (long long)o->meeting_id);
    snprintf(aid, sizeof(aid), "%lld", (long long)c->account_id);
    const char *qp[] = {id, c->admin ? "t" : "f", aid};
    /* A live room of the meeting ends first: its queued events commit before
     * the delete (one ordered queue), and no new ones follow it. */
    if (D.live)
        live_meeting_gone(D.live, o->slug);
    if (store_exec(D.st, D.s_delete, STORE_WRITE, 3, qp, on_deleted, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void on_role(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    char field[96], msg[256];
    if (!r)
        return;
    if (store_result_rows(res) == 0) {
        not_found(r);
        goto done;
    }
    o->meeting_id = store_result_int(res, 0, 0);
    if (!api_req_caller(r)->admin && strcmp(store_result_value(res, 0, 1), "chair") != 0) {
        api_reply_error(r, 403, "forbidden", "only admins and the meeting's chairs may do this",
                        NULL);
        goto done;
    }
    if (o->kind == OP_DELETE) {
        do_delete(o, r);
        return;
    }
    if (directory_validate(api_req_json(r), false, &o->valid, field, sizeof(field), msg,
                           sizeof(msg))) {
        invalid(r, field, msg);
        goto done;
    }
    const char *slug = json_string_value(json_object_get(o->valid, "slug"));
    if (slug && strcmp(slug, o->slug) != 0) {
        invalid(r, "slug", "slug cannot be changed: links and calendars use it");
        goto done;
    }
    o->after_zone = do_update;
    check_zone(o, r);
    return;
done:
    op_free(o);
}

static void change(struct api_req *r, const char *slug, enum op_kind kind)
{
    if (!account_caller(r))
        return;
    if (!directory__is_slug(slug)) {
        not_found(r);
        return;
    }
    struct op *o = op_new(r, kind);
    char aid[24];
    snprintf(o->slug, sizeof(o->slug), "%s", slug);
    snprintf(aid, sizeof(aid), "%lld", (long long)api_req_caller(r)->account_id);
    const char *qp[] = {o->slug, aid};
    if (store_exec(D.st, D.s_role, STORE_READ, 2, qp, on_role, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void update(struct api_req *r, const char *const *params, int nparams)
{
    change(r, params[0], OP_UPDATE);
}

static void remove_meeting(struct api_req *r, const char *const *params, int nparams)
{
    change(r, params[0], OP_DELETE);
}

/* ---- calendars ---- */

static void ics_event(struct buf *b, json_t *e)
{
    struct buf v;
    char line[512];
    const char *join;
    char url[700];
    snprintf(url, sizeof(url), "%s/m/%s", D.public_url,
             json_string_value(json_object_get(e, "slug")));
    join = url;

    directory__ics_line(b, "BEGIN", "VEVENT");
    snprintf(line, sizeof(line), "meeting-%s@%s", json_string_value(json_object_get(e, "id")),
             D.host);
    directory__ics_line(b, "UID", line);
    /* Without METHOD, DTSTAMP is when the information last changed. */
    directory__ics_line(b, "DTSTAMP", json_string_value(json_object_get(e, "updated")));
    directory__ics_line(b, "CREATED", json_string_value(json_object_get(e, "created")));
    directory__ics_line(b, "LAST-MODIFIED", json_string_value(json_object_get(e, "updated")));
    snprintf(line, sizeof(line), "DTSTART;TZID=%s", json_string_value(json_object_get(e, "tz")));
    char start[32];
    snprintf(start, sizeof(start), "%sT%s", json_string_value(json_object_get(e, "first")),
             json_string_value(json_object_get(e, "start")));
    directory__ics_line(b, line, start);
    snprintf(line, sizeof(line), "PT%lldM",
             (long long)json_integer_value(json_object_get(e, "duration")));
    directory__ics_line(b, "DURATION", line);

    static const char *const codes[] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};
    buf_init(&v);
    buf_adds(&v, "FREQ=WEEKLY;BYDAY=");
    const char *days = json_string_value(json_object_get(e, "days"));
    for (const char *p = days; *p; p++)
        if (*p >= '0' && *p <= '6') {
            if (v.data[v.len - 1] != '=')
                buf_adds(&v, ",");
            buf_adds(&v, codes[*p - '0']);
        }
    directory__ics_line(b, "RRULE", directory__cstr(&v));
    buf_cleanup(&v);

    buf_init(&v);
    directory__ics_escape(&v, json_string_value(json_object_get(e, "name")));
    directory__ics_line(b, "SUMMARY", directory__cstr(&v));
    buf_cleanup(&v);

    /* DESCRIPTION: the meeting's words, its types and how to join. */
    struct buf text, names;
    buf_init(&text);
    buf_init(&names);
    const char *s = json_string_value(json_object_get(e, "description"));
    if (s && *s)
        buf_printf(&text, "%s\n\n", s);
    s = json_string_value(json_object_get(e, "notes"));
    if (s && *s)
        buf_printf(&text, "%s\n\n", s);
    char *types = xstrdup(json_string_value(json_object_get(e, "types")));
    char *save = NULL;
    buf_init(&v);
    for (char *t = strtok_r(types, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *name = meeting_types_name(t);
        if (!name)
            continue;
        buf_printf(&names, "%s%s", names.len ? ", " : "", name);
        if (v.len)
            buf_adds(&v, ",");
        directory__ics_escape(&v, name);
    }
    free(types);
    if (names.len)
        buf_printf(&text, "%s\n", directory__cstr(&names));
    buf_printf(&text, "Join: %s", join);
    buf_cleanup(&names);
    struct buf esc;
    buf_init(&esc);
    directory__ics_escape(&esc, directory__cstr(&text));
    directory__ics_line(b, "DESCRIPTION", directory__cstr(&esc));
    buf_cleanup(&esc);
    buf_cleanup(&text);
    if (v.len)
        directory__ics_line(b, "CATEGORIES", directory__cstr(&v));
    buf_cleanup(&v);

    buf_init(&v);
    directory__ics_escape(&v, join);
    directory__ics_line(b, "LOCATION", directory__cstr(&v));
    buf_cleanup(&v);
    directory__ics_line(b, "URL", join);
    directory__ics_line(b, "END", "VEVENT");
}

static void ics_render(struct op *o, struct api_req *r)
{
    struct buf b;
    size_t i;
    json_t *e;
    const char *zone;
    json_t *zones = json_object();

    buf_init(&b);
    directory__ics_line(&b, "BEGIN", "VCALENDAR");
    directory__ics_line(&b, "VERSION", "2.0");
    directory__ics_line(&b, "PRODID", "-//Haven//havend " HAVEN_VERSION "//EN");
    directory__ics_line(&b, "CALSCALE", "GREGORIAN");
    struct buf name;
    buf_init(&name);
    if (*o->slug && json_array_size(o->events) == 1)
        directory__ics_escape(
            &name, json_string_value(json_object_get(json_array_get(o->events, 0), "name")));
    else
        buf_adds(&name, "Haven meetings");
    directory__ics_line(&b, "NAME", directory__cstr(&name));
    directory__ics_line(&b, "X-WR-CALNAME", directory__cstr(&name));
    buf_cleanup(&name);
    directory__ics_line(&b, "REFRESH-INTERVAL;VALUE=DURATION", "PT12H");
    directory__ics_line(&b, "X-PUBLISHED-TTL", "PT12H");
    json_array_foreach(o->events, i, e)
        json_object_set(zones, json_string_value(json_object_get(e, "tz")), json_true());
    /* Zones in name order, so the same directory gives the same text. */
    const char **names = xcalloc(json_object_size(zones) + 1, sizeof(char *));
    size_t nz = 0;
    json_t *unused;
    json_object_foreach(zones, zone, unused)
        names[nz++] = zone;
    for (size_t a = 1; a < nz; a++)
        for (size_t k = a; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            const char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    for (size_t k = 0; k < nz; k++)
        buf_adds(&b, json_string_value(json_object_get(json_object_get(D.vtz, names[k]), "text")));
    free(names);
    json_decref(zones);
    json_array_foreach(o->events, i, e)
        ics_event(&b, e);
    directory__ics_line(&b, "END", "VCALENDAR");
    public_read(r);
    api_reply_text(r, 200, "text/calendar; charset=utf-8", b.data, b.len);
    buf_cleanup(&b);
    op_free(o);
}

static void on_ics_zones(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    int rows = store_result_rows(res);
    int64_t t1 = util_wall_ms() / 1000 + ICS_AHEAD_S;
    struct directory__transition *tr = xcalloc((size_t)(rows > 0 ? rows : 1), sizeof(*tr));
    for (int i = 0; i < rows;) {
        const char *tz = store_result_value(res, i, 0);
        int off0 = (int)store_result_int(res, i, 1), n = 0, j = i;
        for (; j < rows && strcmp(store_result_value(res, j, 0), tz) == 0; j++) {
            if (!store_result_value(res, j, 2))
                continue;
            tr[n].at = store_result_int(res, j, 2);
            tr[n].from = (int)store_result_int(res, j, 3);
            tr[n].to = (int)store_result_int(res, j, 4);
            n++;
        }
        struct buf b;
        buf_init(&b);
        directory__vtimezone(&b, tz, o->t0, off0, t1, tr, n);
        json_object_set_new(D.vtz, tz,
                            json_pack("{s:I, s:I, s:s}", "t0", (json_int_t)o->t0, "at",
                                      (json_int_t)util_mono_ms(), "text", directory__cstr(&b)));
        buf_cleanup(&b);
        i = j;
    }
    free(tr);
    ics_render(o, r);
}

static void on_ics_events(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct op *o = arg;
    struct api_req *r = resume(o, status);
    if (!r)
        return;
    if (*o->slug && store_result_rows(res) == 0) {
        not_found(r);
        op_free(o);
        return;
    }
    o->events = json_array();
    o->t0 = 0;
    for (int i = 0; i < store_result_rows(res); i++) {
        if (!store_result_value(res, i, 10))
            continue; /* not scheduled: nothing to put in a calendar */
        static const char *const cols[] = {"id",    "slug", "name", "description",
                                           "notes", "tz",   "days", "start"};
        json_t *e = json_object();
        for (int c = 0; c < 8; c++)
            json_object_set_new(e, cols[c], json_string(store_result_value(res, i, c)));
        json_object_set_new(e, "duration", json_integer(store_result_int(res, i, 8)));
        json_object_set_new(e, "types", json_string(store_result_value(res, i, 9)));
        json_object_set_new(e, "first", json_string(store_result_value(res, i, 10)));
        json_object_set_new(e, "created", json_string(store_result_value(res, i, 12)));
        json_object_set_new(e, "updated", json_string(store_result_value(res, i, 13)));
        json_array_append_new(o->events, e);
        int64_t first = store_result_int(res, i, 11);
        if (!o->t0 || first < o->t0)
            o->t0 = first;
    }
    /* The zone window opens a day before the first event, on a whole day,
     * so a cached zone serves every calendar that starts later. */
    o->t0 = (o->t0 / 86400 - 1) * 86400;

    struct buf missing;
    buf_init(&missing);
    size_t i;
    json_t *e;
    json_t *seen = json_object();
    json_array_foreach(o->events, i, e) {
        const char *tz = json_string_value(json_object_get(e, "tz"));
        json_t *c = json_object_get(D.vtz, tz);
        if (json_object_get(seen, tz))
            continue;
        json_object_set(seen, tz, json_true());
        if (c && json_integer_value(json_object_get(c, "t0")) <= o->t0 &&
            (int64_t)util_mono_ms() - json_integer_value(json_object_get(c, "at")) < ZONE_CACHE_MS)
            continue;
        /* Zone names are [A-Za-z0-9_+-/]: safe in an array literal. */
        buf_adds(&missing, missing.len ? "," : "{");
        buf_adds(&missing, tz);
    }
    json_decref(seen);
    if (!missing.len) {
        buf_cleanup(&missing);
        ics_render(o, r);
        return;
    }
    buf_adds(&missing, "}");
    char from[24], to[24];
    snprintf(from, sizeof(from), "%lld", (long long)o->t0);
    snprintf(to, sizeof(to), "%lld", (long long)(util_wall_ms() / 1000 + ICS_AHEAD_S));
    const char *qp[] = {directory__cstr(&missing), from, to};
    int rc = store_exec(D.st, D.s_ics_zones, STORE_READ, 3, qp, on_ics_zones, o);
    buf_cleanup(&missing);
    if (rc) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void run_ics(struct api_req *r, const char *slug)
{
    struct op *o = op_new(r, OP_ICS);
    snprintf(o->slug, sizeof(o->slug), "%s", slug ? slug : "");
    const char *qp[] = {slug};
    if (store_exec(D.st, D.s_ics_events, STORE_READ, 1, qp, on_ics_events, o)) {
        op_free(o);
        api_reply_unavailable(r);
    }
}

static void ics_all(struct api_req *r, const char *const *params, int nparams)
{
    run_ics(r, NULL);
}

static void ics_one(struct api_req *r, const char *const *params, int nparams)
{
    if (!directory__is_slug(params[0])) {
        not_found(r);
        return;
    }
    run_ics(r, params[0]);
}

/* Specific patterns first: "/api/meetings/{}" would also match "x.ics". */
static const struct api_route routes[] = {
    {API_GET, "/api/meetings.ics", ics_all},
    {API_GET, "/api/meeting-guide.json", feed},
    {API_GET, "/api/meeting-types", types},
    {API_GET, "/api/meetings", list},
    {API_POST, "/api/meetings", create},
    {API_GET, "/api/meetings/{}.ics", ics_one},
    {API_GET, "/api/meetings/{}/occurrences", occurrences},
    {API_GET, "/api/meetings/{}", get_one},
    {API_PUT, "/api/meetings/{}", update},
    {API_DELETE, "/api/meetings/{}", remove_meeting},
    {0, NULL, NULL},
};

int directory_init(struct store *st, const struct config *cfg, struct live *lv)
{
    D.live = lv;
    D.st = st;
    D.cfg = cfg;
    D.vtz = json_object();
    directory__public_url(cfg, D.public_url, sizeof(D.public_url));
    /* The host part, for calendar UIDs. */
    const char *h = strstr(D.public_url, "://");
    h = h ? h + 3 : D.public_url;
    snprintf(D.host, sizeof(D.host), "%.*s", (int)strcspn(h, "/:"), h);
    if (*h == '[')
        snprintf(D.host, sizeof(D.host), "%.*s", (int)strcspn(h, "/]") + 1, h);
    D.s_insert = store_prepare(st, directory__sql_insert, DIRECTORY_INSERT_NPARAMS);
    D.s_update = store_prepare(st, directory__sql_update, DIRECTORY_UPDATE_NPARAMS);
    D.s_delete = store_prepare(st, directory__sql_delete, 3);
    D.s_role = store_prepare(st, directory__sql_role, 2);
    D.s_exists = store_prepare(st, directory__sql_exists, 1);
    D.s_zones = store_prepare(st, directory__sql_zones, 0);
    D.s_list = store_prepare(st, directory__sql_list, DIRECTORY_LIST_NPARAMS);
    D.s_one = store_prepare(st, directory__sql_one, 1);
    D.s_occurrences = store_prepare(st, directory__sql_occurrences, 3);
    D.s_ics_events = store_prepare(st, directory__sql_ics_events, 1);
    D.s_ics_zones = store_prepare(st, directory__sql_ics_zones, 3);
    api_add_routes(routes);
    return 0;
}
