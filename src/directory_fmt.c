/*
 * The directory's output formats: meeting objects for the API, Meeting Guide
 * feed items and iCalendar text.  Pure: no I/O, no global state; the clock
 * and the zone data come from the caller (PostgreSQL computes them).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "directory_int.h"
#include "meeting_types.h"
#include "util.h"

void directory__public_url(const struct config *cfg, char *out, size_t len)
{
    const char *u = cfg->http_public_url;
    if (u && *u) {
        size_t n = strlen(u);
        while (n && u[n - 1] == '/')
            n--;
        snprintf(out, len, "%.*s", (int)n, u);
        return;
    }
    const char *a = cfg->listen_address;
    if (!a || !*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0)
        a = "127.0.0.1";
    if (strchr(a, ':'))
        snprintf(out, len, "http://[%s]:%d", a, cfg->listen_port);
    else
        snprintf(out, len, "http://%s:%d", a, cfg->listen_port);
}

json_t *directory__meeting(const char *row_json, const char *public_url)
{
    json_t *m = json_loads(row_json, 0, NULL);
    char url[2400];
    if (!json_is_object(m)) {
        json_decref(m);
        return NULL;
    }
    /* jsonb keeps keys in its own order: put each item's title first again. */
    static const char *const lists[][2] = {{"format", "text"}, {"resources", "url"}};
    for (size_t l = 0; l < HV_ARRAY_LEN(lists); l++) {
        json_t *items = json_object_get(m, lists[l][0]), *item;
        size_t i;
        json_array_foreach(items, i, item) {
            json_t *fresh = json_pack("{s:O, s:O}", "title", json_object_get(item, "title"),
                                      lists[l][1], json_object_get(item, lists[l][1]));
            if (fresh)
                json_array_set_new(items, i, fresh);
        }
    }
    const char *slug = json_string_value(json_object_get(m, "slug"));
    /* The web client serves each meeting at /m/{slug}. */
    snprintf(url, sizeof(url), "%s/m/%s", public_url, slug ? slug : "");
    json_object_set_new(m, "join_url", json_string(url));
    snprintf(url, sizeof(url), "%s/api/meetings/%s.ics", public_url, slug ? slug : "");
    json_object_set_new(m, "ics_url", json_string(url));
    return m;
}

/* The handle after prefix in url ("https://paypal.me/NAME/5" -> "NAME"), or
 * false.  Handles are letters, digits, '_', '-' and '.'. */
static bool handle_after(const char *url, const char *prefix, char *out, size_t len)
{
    size_t pl = strlen(prefix), n = 0;
    if (strncasecmp(url, prefix, pl) != 0)
        return false;
    const char *h = url + pl;
    while (h[n] && (isalnum((unsigned char)h[n]) || h[n] == '_' || h[n] == '-' || h[n] == '.'))
        n++;
    if (n == 0 || n >= len || (h[n] && h[n] != '/' && h[n] != '?'))
        return false;
    snprintf(out, len, "%.*s", (int)n, h);
    return true;
}

/* Meeting Guide knows contribution handles, not links: map the links of the
 * services it names, leave the rest out. */
static void guide_contribution(json_t *item, const char *url)
{
    static const struct {
        const char *prefix, *key, *sigil;
    } map[] = {
        {"https://paypal.me/", "paypal", ""},
        {"https://www.paypal.me/", "paypal", ""},
        {"https://venmo.com/u/", "venmo", "@"},
        {"https://account.venmo.com/u/", "venmo", "@"},
        {"https://venmo.com/", "venmo", "@"},
        {"https://cash.app/$", "square", "$"},
    };
    char h[80], v[96];
    if (!url || !*url)
        return;
    for (size_t i = 0; i < HV_ARRAY_LEN(map); i++)
        if (handle_after(url, map[i].prefix, h, sizeof(h))) {
            snprintf(v, sizeof(v), "%s%s", map[i].sigil, h);
            json_object_set_new(item, map[i].key, json_string(v));
            return;
        }
}

json_t *directory__guide_item(json_t *m, const char *public_url)
{
    json_t *item = json_object();
    json_t *days = json_object_get(m, "days");
    const char *s;
    struct buf notes;

    json_object_set(item, "name", json_object_get(m, "name"));
    json_object_set(item, "slug", json_object_get(m, "slug"));
    /* Without days a meeting is "by appointment": no day or time. */
    if (json_array_size(days) == 1)
        json_object_set(item, "day", json_array_get(days, 0));
    else if (json_array_size(days) > 1)
        json_object_set_new(item, "day", json_deep_copy(days));
    if (json_array_size(days) > 0) {
        json_object_set(item, "time", json_object_get(m, "start_time"));
        json_object_set(item, "end_time", json_object_get(m, "end_time"));
    }
    json_object_set(item, "timezone", json_object_get(m, "time_zone"));
    json_object_set_new(item, "types", json_deep_copy(json_object_get(m, "types")));

    buf_init(&notes);
    s = json_string_value(json_object_get(m, "description"));
    if (s && *s)
        buf_adds(&notes, s);
    s = json_string_value(json_object_get(m, "notes"));
    if (s && *s) {
        if (notes.len)
            buf_adds(&notes, "\n\n");
        buf_adds(&notes, s);
    }
    if (notes.len)
        json_object_set_new(item, "notes", json_string(directory__cstr(&notes)));
    buf_cleanup(&notes);

    s = json_string_value(json_object_get(m, "group"));
    if (s && *s)
        json_object_set_new(item, "group", json_string(s));
    /* An online meeting is one with a conference_url (the spec has no
     * "online" type); the 12 Step Meeting List plugin also reads
     * attendance_option. */
    json_object_set(item, "conference_url", json_object_get(m, "join_url"));
    json_object_set_new(item, "attendance_option", json_string("online"));
    json_object_set(item, "url", json_object_get(m, "join_url"));
    s = json_string_value(json_object_get(m, "region"));
    if (s && *s) {
        json_object_set_new(item, "formatted_address", json_string(s));
        json_object_set_new(item, "approximate", json_string("yes"));
    }
    guide_contribution(item, json_string_value(json_object_get(m, "contribution_url")));
    /* "2026-03-08T12:00:00Z" -> "2026-03-08 12:00:00" (UTC). */
    s = json_string_value(json_object_get(m, "updated_at"));
    if (s && strlen(s) == 20) {
        char u[20];
        snprintf(u, sizeof(u), "%.10s %.8s", s, s + 11);
        json_object_set_new(item, "updated", json_string(u));
    }
    (void)public_url;
    return item;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int directory__parse_instant(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec = 0, off = 0;
    const char *p;
    if (!s || strlen(s) < 17 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':')
        return HV_EINVAL;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    p = s + 16;
    if (*p == ':') {
        sec = digits(p + 1, 2);
        p += 3;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                return HV_EINVAL;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return HV_EINVAL;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return HV_EINVAL;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    } else {
        return HV_EINVAL;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
    return 0;
}

/* ---- iCalendar ---- */

void directory__ics_escape(struct buf *b, const char *v)
{
    for (; v && *v; v++) {
        switch (*v) {
        case '\\':
            buf_adds(b, "\\\\");
            break;
        case ';':
            buf_adds(b, "\\;");
            break;
        case ',':
            buf_adds(b, "\\,");
            break;
        case '\n':
            buf_adds(b, "\\n");
            break;
        case '\r':
            break;
        default:
            buf_add(b, v, 1);
        }
    }
}

void directory__ics_line(struct buf *b, const char *name, const char *value)
{
    struct buf line;
    buf_init(&line);
    buf_adds(&line, name);
    buf_adds(&line, ":");
    buf_adds(&line, value);
    /* RFC 5545 3.1: lines of at most 75 octets; a continuation starts with
     * one space.  Cut only before the first byte of a UTF-8 sequence. */
    size_t pos = 0, limit = 75;
    while (line.len - pos > limit) {
        size_t cut = pos + limit;
        while (cut > pos + 1 && ((unsigned char)line.data[cut] & 0xC0) == 0x80)
            cut--;
        buf_add(b, line.data + pos, cut - pos);
        buf_adds(b, "\r\n ");
        pos = cut;
        limit = 74;
    }
    buf_add(b, line.data + pos, line.len - pos);
    buf_adds(b, "\r\n");
    buf_cleanup(&line);
}

static void local_stamp(char out[16], int64_t at, int off_min)
{
    time_t t = (time_t)(at + (int64_t)off_min * 60);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%dT%H%M%S", &tm);
}

static void offset_text(char out[16], int off)
{
    int a = off < 0 ? -off : off;
    snprintf(out, 16, "%c%02d%02d", off < 0 ? '-' : '+', a / 60, a % 60);
}

static void observance(struct buf *b, bool summer, const char *dtstart, int from, int to)
{
    char f[16], t[16];
    offset_text(f, from);
    offset_text(t, to);
    directory__ics_line(b, "BEGIN", summer ? "DAYLIGHT" : "STANDARD");
    directory__ics_line(b, "DTSTART", dtstart);
    directory__ics_line(b, "TZOFFSETFROM", f);
    directory__ics_line(b, "TZOFFSETTO", t);
}

static const char *const weekday_codes[] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};

/* A yearly rule ("BYMONTH=3;BYDAY=2SU") that gives exactly the transitions
 * idx[0..n) and keeps going to the end of the window, or false. */
static bool yearly_rule(const struct directory__transition *tr, const int *idx, int n,
                        int64_t t1, char *rule, size_t len)
{
    int month = 0, wday = 0, hm = 0, year = 0, nth = 0;
    bool all_nth = true, all_last = true;
    if (n < 2 || tr[idx[n - 1]].at < t1 - 366 * 86400)
        return false;
    for (int i = 0; i < n; i++) {
        const struct directory__transition *x = &tr[idx[i]];
        time_t t = (time_t)(x->at + (int64_t)x->from * 60);
        struct tm tm;
        gmtime_r(&t, &tm);
        int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
        int this_nth = (tm.tm_mday - 1) / 7 + 1;
        bool last = tm.tm_mday + 7 > days_in_month(y, m);
        if (i == 0) {
            month = m;
            wday = tm.tm_wday;
            hm = tm.tm_hour * 60 + tm.tm_min;
            nth = this_nth;
        } else if (m != month || tm.tm_wday != wday || tm.tm_hour * 60 + tm.tm_min != hm ||
                   y != year + 1) {
            return false;
        }
        year = y;
        all_nth &= this_nth == nth && nth <= 4;
        all_last &= last;
    }
    if (!all_nth && !all_last)
        return false;
    snprintf(rule, len, "FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", month, all_nth ? nth : -1,
             weekday_codes[wday]);
    return true;
}

void directory__vtimezone(struct buf *b, const char *tz, int64_t t0, int off0, int64_t t1,
                          const struct directory__transition *tr, int n)
{
    char stamp[16], rule[64];
    int *idx = xcalloc((size_t)(n > 0 ? n : 1), sizeof(int));
    bool *done = xcalloc((size_t)(n > 0 ? n : 1), sizeof(bool));
    bool off0_daylight = false;

    for (int i = 0; i < n; i++)
        off0_daylight |= tr[i].from == off0 && tr[i].to < off0;

    directory__ics_line(b, "BEGIN", "VTIMEZONE");
    directory__ics_line(b, "TZID", tz);
    /* The offset in force when the window opens. */
    local_stamp(stamp, t0, off0);
    observance(b, off0_daylight, stamp, off0, off0);
    directory__ics_line(b, "END", off0_daylight ? "DAYLIGHT" : "STANDARD");

    /* One observance per kind of change (same offsets before and after). */
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        int k = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && tr[j].from == tr[i].from && tr[j].to == tr[i].to) {
                idx[k++] = j;
                done[j] = true;
            }
        bool summer = tr[i].to > tr[i].from;
        local_stamp(stamp, tr[i].at, tr[i].from);
        observance(b, summer, stamp, tr[i].from, tr[i].to);
        if (yearly_rule(tr, idx, k, t1, rule, sizeof(rule))) {
            directory__ics_line(b, "RRULE", rule);
        } else {
            for (int j = 1; j < k; j++) {
                local_stamp(stamp, tr[idx[j]].at, tr[idx[j]].from);
                directory__ics_line(b, "RDATE", stamp);
            }
        }
        directory__ics_line(b, "END", summer ? "DAYLIGHT" : "STANDARD");
    }
    directory__ics_line(b, "END", "VTIMEZONE");
    free(idx);
    free(done);
}
