/*
 * The transcript's formats: entries and share blocks for pages and exports,
 * the plain-text and Markdown exports, search snippets.  Pure: no I/O, no
 * global state; safe on a worker thread with objects the caller owns.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript_int.h"

const char transcript__notice[] =
    "What was shared here stays here. These are the words of people in recovery, kept because "
    "the group chose to keep them. Please keep them private: do not pass them on, quote them "
    "or say who was there. Names are the pseudonyms people chose for this meeting.";

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
    const char *s = str(o, key);
    return s ? s : dflt;
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static bool is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* ---- small formats ---- */

void transcript__duration(char *out, size_t len, int64_t secs)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60)
        snprintf(out, len, "%lld s", (long long)secs);
    else if (secs < 3600 && secs % 60)
        snprintf(out, len, "%lld min %lld s", (long long)(secs / 60), (long long)(secs % 60));
    else if (secs < 3600)
        snprintf(out, len, "%lld min", (long long)(secs / 60));
    else if ((secs % 3600) / 60)
        snprintf(out, len, "%lld h %lld min", (long long)(secs / 3600),
                 (long long)((secs % 3600) / 60));
    else
        snprintf(out, len, "%lld h", (long long)(secs / 3600));
}

int transcript__long_date(const char *iso, char *out, size_t len)
{
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    static const char *const months[] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    int y, m, d;
    if (!iso || strlen(iso) < 10 || iso[4] != '-' || iso[7] != '-')
        return HV_EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (iso[i] < '0' || iso[i] > '9'))
            return HV_EINVAL;
    y = atoi(iso);
    m = atoi(iso + 5);
    d = atoi(iso + 8);
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return HV_EINVAL;
    /* Sakamoto's weekday of a Gregorian date. */
    int yy = m < 3 ? y - 1 : y;
    int wd = (yy + yy / 4 - yy / 100 + yy / 400 + t[m - 1] + d) % 7;
    snprintf(out, len, "%s, %d %s %d", days[wd], d, months[m - 1], y);
    return 0;
}

/* ---- entries ---- */

static json_t *member_ref(json_t *v)
{
    if (!json_is_object(v))
        return NULL;
    return json_pack("{s:I, s:s}", "member", num(v, "member"), "name", str_or(v, "name", "?"));
}

static void add_display(json_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_display(json_t *e, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    buf_init(&b);
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    buf_reserve(&b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b.len = (size_t)n;
    json_object_set_new(e, "display", json_stringn(b.data, b.len));
    buf_cleanup(&b);
}

static const char *share_end_words(const char *reason)
{
    if (is(reason, "done"))
        return "done";
    if (is(reason, "chair"))
        return "ended by a chair";
    if (is(reason, "next"))
        return "the next share was called";
    if (is(reason, "time"))
        return "time was up";
    return "ended";
}

static void settings_words(struct buf *b, json_t *settings)
{
    const char *k;
    json_t *v;
    json_object_foreach(settings, k, v) {
        if (b->len)
            buf_adds(b, ", ");
        for (const char *p = k; *p; p++)
            buf_add(b, *p == '_' ? " " : p, 1);
        if (json_is_boolean(v))
            buf_adds(b, json_is_true(v) ? " on" : " off");
        else if (json_is_integer(v))
            buf_printf(b, " %lld", (long long)json_integer_value(v));
    }
}

/* The display line of an event that is not a message. */
static void display_action(json_t *e, const char *kind, const char *who, json_t *body)
{
    const char *actor = who ? who : "Haven";
    const char *target = str(json_object_get(e, "target"), "name");
    const char *tn = target ? target : "someone";
    char d[64];

    if (is(kind, "reaction")) {
        add_display(e, "%s reacted with %s to #%lld", actor, str_or(e, "reaction", "?"),
                    (long long)num(e, "target_seq"));
    } else if (is(kind, "chair_taken")) {
        if (str(e, "reason"))
            add_display(e, "%s took the chair (%s)", tn, str(e, "reason"));
        else
            add_display(e, "%s took the chair", tn);
    } else if (is(kind, "session_started")) {
        add_display(e, "%s opened the meeting", actor);
    } else if (is(kind, "session_ended")) {
        if (who)
            add_display(e, "%s closed the meeting", who);
        else
            add_display(e, "The meeting ended");
    } else if (is(kind, "admitted")) {
        add_display(e, "%s let %s in", actor, tn);
    } else if (is(kind, "admitted_all")) {
        json_int_t n = num(e, "count");
        add_display(e, "%s let %lld %s in", actor, (long long)n, n == 1 ? "person" : "people");
    } else if (is(kind, "sent_to_waiting")) {
        add_display(e, "%s sent %s to the waiting room", actor, tn);
    } else if (is(kind, "settings_changed")) {
        struct buf b;
        buf_init(&b);
        settings_words(&b, json_object_get(e, "settings"));
        add_display(e, "%s changed the settings%s%s", actor, b.len ? ": " : "",
                    b.len ? b.data : "");
        buf_cleanup(&b);
    } else if (is(kind, "share_started")) {
        if (who)
            add_display(e, "%s began to share (called by %s)", tn, who);
        else
            add_display(e, "%s began to share", tn);
    } else if (is(kind, "share_ended")) {
        transcript__duration(d, sizeof(d), (num(e, "duration_ms") + 500) / 1000);
        if (target)
            add_display(e, "%s's share ended (%s) after %s", target,
                        share_end_words(str(e, "reason")), d);
        else
            add_display(e, "The share ended (%s) after %s", share_end_words(str(e, "reason")), d);
    } else if (is(kind, "share_time_warning")) {
        transcript__duration(d, sizeof(d), num(e, "remaining_secs"));
        add_display(e, "%s left for %s", d, tn);
    } else if (is(kind, "share_time_up")) {
        add_display(e, "Time is up for %s", tn);
    } else if (is(kind, "reading")) {
        add_display(e, "Reading: %s", str_or(e, "title", ""));
    } else if (is(kind, "reading_skipped")) {
        add_display(e, "Reading skipped: %s", str_or(e, "title", ""));
    } else if (is(kind, "topic")) {
        const char *t = str(body, "text");
        if (!t)
            add_display(e, "%s set the topic (not recorded)", actor);
        else if (!*t)
            add_display(e, "%s cleared the topic", actor);
        else
            add_display(e, "Topic: %s", t);
    } else if (is(kind, "muted") || is(kind, "unmuted")) {
        add_display(e, "%s %s %s", actor, kind, tn);
    } else if (is(kind, "removed")) {
        const char *ban = str(e, "ban");
        add_display(e, "%s removed %s%s", actor, tn,
                    is(ban, "forever")   ? " for good"
                    : is(ban, "session") ? " for this session"
                                         : "");
    } else if (is(kind, "message_deleted")) {
        /* target_seq says which; the words here are for a reader. */
        add_display(e, "%s %s a message", actor,
                    is(str(e, "by"), "author") ? "took back" : "removed");
    } else if (is(kind, "role_granted")) {
        const char *role = str_or(e, "role", "attendee");
        add_display(e, "%s made %s %s %s", actor, tn, is(role, "attendee") ? "an" : "a", role);
    } else if (is(kind, "chair_handed_over")) {
        add_display(e, "%s handed the chair to %s", actor, tn);
    } else if (is(kind, "vote_opened") || is(kind, "vote_closed")) {
        json_t *options = json_object_get(e, "options"), *counts = json_object_get(e, "counts");
        struct buf b;
        size_t i;
        json_t *o;
        buf_init(&b);
        json_array_foreach(options, i, o) {
            buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(o));
            if (json_array_get(counts, i))
                buf_printf(&b, " %lld", (long long)json_integer_value(json_array_get(counts, i)));
        }
        if (is(kind, "vote_opened"))
            add_display(e, "%s asked the group: %s (%s)", actor, str_or(e, "question", ""),
                        b.len ? b.data : "");
        else
            add_display(e, "Vote closed: %s (%s)", str_or(e, "question", ""), b.len ? b.data : "");
        buf_cleanup(&b);
    } else {
        add_display(e, "%s", kind);
    }
}

json_t *transcript__entry(json_t *row)
{
    const char *kind = str_or(row, "kind", "");
    json_t *body = json_object_get(row, "body");
    json_int_t member = num(row, "member");
    const char *who = NULL;
    json_t *e = json_pack("{s:I, s:s, s:s, s:s}", "seq", num(row, "seq"), "kind", kind, "at",
                          str_or(row, "at", ""), "time", str_or(row, "time", ""));
    if (member > 0) {
        who = str(row, "name");
        if (!who || !*who)
            who = "?";
        json_object_set_new(e, "from", json_pack("{s:I, s:s}", "member", member, "name", who));
    }
    if (!json_is_object(body))
        body = NULL;

    if (is(kind, "message")) {
        const char *removed = str(body, "removed");
        const char *text = str(body, "text");
        if (removed) {
            bool author = is(removed, "author");
            json_object_set_new(e, "status", json_string("removed"));
            json_object_set_new(e, "removed", json_string(author ? "author" : "chair"));
            add_display(e, "%s", author ? "(taken back by the author)" : "(removed by a chair)");
        } else if (json_is_false(json_object_get(row, "recorded"))) {
            /* The session kept no text at all (its messages are stored
             * like those off the record). */
            json_object_set_new(e, "status", json_string("not_recorded"));
            add_display(e, "(not recorded)");
        } else if (json_is_true(json_object_get(body, "off_record"))) {
            /* Never the text, even if some bug had stored it. */
            json_object_set_new(e, "status", json_string("off_record"));
            add_display(e, "(off the record)");
        } else if (text) {
            json_object_set_new(e, "status", json_string("kept"));
            json_object_set_new(e, "text", json_string(text));
            add_display(e, "%s", text);
        } else {
            json_object_set_new(e, "status", json_string("not_recorded"));
            add_display(e, "(not recorded)");
        }
        return e;
    }

    /* Only the fields the event kinds have (proto/PROTOCOL.md section 5). */
    static const char *const keys[] = {"reaction", "target_seq",     "reason",   "duration_ms",
                                       "limit_secs", "remaining_secs", "index",    "title",
                                       "count",    "ban",            "role",     "by",
                                       "question", "vote",           "votes"};
    json_t *t = member_ref(json_object_get(body, "target"));
    if (t)
        json_object_set_new(e, "target", t);
    for (size_t i = 0; i < HV_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v && (json_is_string(v) || json_is_integer(v)))
            json_object_set(e, keys[i], v);
    }
    json_t *settings = json_object_get(body, "settings");
    if (json_is_object(settings))
        json_object_set(e, "settings", settings);
    /* A vote's options (strings) and counts (integers): how many, never who. */
    static const char *const lists[] = {"options", "counts"};
    for (size_t i = 0; i < HV_ARRAY_LEN(lists); i++) {
        json_t *v = json_object_get(body, lists[i]), *item;
        size_t j;
        bool ok = json_is_array(v);
        json_array_foreach(v, j, item)
            ok = ok && (i == 0 ? json_is_string(item) : json_is_integer(item));
        if (ok)
            json_object_set(e, lists[i], v);
    }
    if ((is(kind, "reading") || is(kind, "topic")) && str(body, "text"))
        json_object_set_new(e, "text", json_string(str(body, "text")));
    display_action(e, kind, who, body);
    return e;
}

/* ---- blocks ---- */

static json_t *share_block(json_t *row, bool continued)
{
    json_t *body = json_object_get(row, "body");
    json_t *sharer = member_ref(json_object_get(body, "target"));
    json_t *b = json_pack("{s:s, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:[]}", "type",
                          "share", "sharer", sharer ? sharer : json_null(), "called_by",
                          json_null(), "started_at", str_or(row, "at", ""), "started_time",
                          str_or(row, "time", ""), "ended_at", json_null(), "ended_time",
                          json_null(), "duration_secs", json_null(), "end_reason", json_null(),
                          "limit_secs", json_null(), "continued", continued, "entries");
    if (num(row, "member") > 0)
        json_object_set_new(b, "called_by",
                            json_pack("{s:I, s:s}", "member", num(row, "member"), "name",
                                      str_or(row, "name", "?")));
    if (json_is_integer(json_object_get(body, "limit_secs")))
        json_object_set(b, "limit_secs", json_object_get(body, "limit_secs"));
    json_t *end = json_object_get(row, "end");
    if (json_is_object(end)) {
        json_t *eb = json_object_get(end, "body");
        json_int_t secs = (num(end, "ts") - num(row, "ts") + 500) / 1000;
        json_object_set_new(b, "ended_at", json_string(str_or(end, "at", "")));
        json_object_set_new(b, "ended_time", json_string(str_or(end, "time", "")));
        if (is(str(end, "kind"), "share_ended")) {
            if (json_is_integer(json_object_get(eb, "duration_ms")))
                secs = (num(eb, "duration_ms") + 500) / 1000;
            if (str(eb, "reason"))
                json_object_set_new(b, "end_reason", json_string(str(eb, "reason")));
        }
        json_object_set_new(b, "duration_secs", json_integer(secs < 0 ? 0 : secs));
    }
    return b;
}

json_t *transcript__blocks(json_t *rows, int64_t after_seq)
{
    json_t *blocks = json_array();
    json_t *cur = NULL; /* borrowed from blocks */
    bool in_share = false;
    size_t i;
    json_t *row;

    json_array_foreach(rows, i, row) {
        const char *kind = str_or(row, "kind", "");
        if (num(row, "seq") <= after_seq) {
            if (is(kind, "share_started")) {
                cur = share_block(row, true);
                json_array_append_new(blocks, cur);
                in_share = true;
            }
            continue;
        }
        if (is(kind, "share_started")) {
            cur = share_block(row, false);
            json_array_append_new(blocks, cur);
            in_share = true;
        } else if (in_share && is(kind, "session_ended")) {
            /* The session ended during the share: the share ends with it. */
            in_share = false;
            cur = NULL;
        }
        if (!cur) {
            cur = json_pack("{s:s, s:[]}", "type", "chat", "entries");
            json_array_append_new(blocks, cur);
        }
        json_array_append_new(json_object_get(cur, "entries"), transcript__entry(row));
        if (in_share && is(kind, "share_ended")) {
            in_share = false;
            cur = NULL;
        }
    }
    return blocks;
}

/* ---- text ---- */

/* Text with each line after the first indented. */
static void indented(struct buf *b, const char *s, int indent)
{
    for (; *s; s++) {
        if (*s == '\r')
            continue;
        buf_add(b, s, 1);
        if (*s == '\n')
            buf_printf(b, "%*s", indent, "");
    }
}

static void header_lines(json_t *doc, char *date, size_t dlen, char *span, size_t slen,
                         char *dur, size_t durlen)
{
    json_t *s = json_object_get(doc, "session");
    const char *start = str_or(s, "started_local", "");
    const char *end = str(s, "ended_local");
    if (transcript__long_date(start, date, dlen))
        snprintf(date, dlen, "%s", str_or(s, "date", ""));
    if (end)
        snprintf(span, slen, "%.5s to %.5s", start + (strlen(start) > 11 ? 11 : 0),
                 end + (strlen(end) > 11 ? 11 : 0));
    else
        snprintf(span, slen, "from %.5s, still going", start + (strlen(start) > 11 ? 11 : 0));
    if (json_is_integer(json_object_get(s, "duration_secs")))
        transcript__duration(dur, durlen, num(s, "duration_secs"));
    else
        snprintf(dur, durlen, "in progress");
}

/* Notes about what the transcript cannot show, or NULL. */
static const char *missing_note(json_t *doc)
{
    json_t *s = json_object_get(doc, "session");
    if (json_is_true(json_object_get(s, "purged")))
        return "The words of this session were deleted when the time the group keeps them ran "
               "out; only the counts are left.";
    if (json_is_false(json_object_get(s, "recorded")))
        return "This meeting keeps no record of what is said: only the outline of the "
               "session is here.";
    return NULL;
}

static void counts_line(struct buf *b, json_t *s)
{
    json_int_t people = num(s, "attendee_count"), msgs = num(s, "message_count");
    buf_printf(b, "%lld %s, %lld %s", (long long)people, people == 1 ? "person" : "people",
               (long long)msgs, msgs == 1 ? "message" : "messages");
}

static void text_entry(struct buf *b, json_t *e, bool in_share)
{
    const char *kind = str_or(e, "kind", "");
    const char *pad = in_share ? "  " : "";
    int indent = (int)strlen(pad) + 7;
    if (is(kind, "reaction"))
        return; /* kept in the JSON; noise in a text to read */
    buf_printf(b, "%s%s  ", pad, str_or(e, "time", ""));
    if (is(kind, "message")) {
        indented(b, str_or(json_object_get(e, "from"), "name", "?"), indent);
        buf_adds(b, ": ");
        indented(b, str_or(e, "display", ""), indent);
    } else {
        buf_adds(b, "* ");
        indented(b, str_or(e, "display", ""), indent + 2);
        if (is(kind, "reading") && str(e, "text")) {
            buf_printf(b, "\n%*s", indent + 2, "");
            indented(b, str(e, "text"), indent + 2);
        }
    }
    buf_adds(b, "\n");
}

static void share_header(json_t *blk, char *out, size_t len)
{
    char dur[48] = "";
    const char *ended = str(blk, "ended_time");
    if (json_is_integer(json_object_get(blk, "duration_secs")))
        transcript__duration(dur, sizeof(dur), num(blk, "duration_secs"));
    snprintf(out, len, "%s to %s%s%s%s", str_or(blk, "started_time", ""),
             ended ? ended : "the end", dur[0] ? " (" : "", dur, dur[0] ? ")" : "");
}

void transcript__text(struct buf *b, json_t *doc)
{
    json_t *m = json_object_get(doc, "meeting"), *s = json_object_get(doc, "session");
    char date[96], span[64], dur[48], when[128];
    size_t i;
    json_t *blk;

    header_lines(doc, date, sizeof(date), span, sizeof(span), dur, sizeof(dur));
    buf_printf(b, "%s\n", str_or(m, "name", ""));
    buf_printf(b, "Transcript of the meeting on %s\n", date);
    buf_printf(b, "%s (%s), %s\n", span, str_or(m, "time_zone", ""), dur);
    counts_line(b, s);
    buf_adds(b, "\n");
    if (missing_note(doc))
        buf_printf(b, "\n%s\n", missing_note(doc));

    json_array_foreach(json_object_get(doc, "blocks"), i, blk) {
        json_t *entries = json_object_get(blk, "entries"), *e;
        size_t j;
        bool share = is(str(blk, "type"), "share");
        buf_adds(b, "\n");
        if (share) {
            share_header(blk, when, sizeof(when));
            indented(b, str_or(json_object_get(blk, "sharer"), "name", "?"), 0);
            buf_printf(b, " shares, %s\n", when);
        }
        json_array_foreach(entries, j, e) {
            const char *kind = str(e, "kind");
            if (share && (is(kind, "share_started") || is(kind, "share_ended")))
                continue; /* said by the share's header */
            text_entry(b, e, share);
        }
    }
    buf_printf(b, "\n-- \n%s\n", transcript__notice);
}

/* ---- Markdown ---- */

void transcript__md_escape(struct buf *b, const char *s, int indent)
{
    bool line_start = true;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '\r')
            continue;
        if (c == '\n') {
            /* A hard line break that stays inside the list item. */
            buf_printf(b, "\\\n%*s", indent, "");
            line_start = true;
            continue;
        }
        if (line_start && (c == ' ' || c == '\t'))
            continue; /* leading blanks would only be dropped or make code */
        if (line_start) {
            line_start = false;
            /* What starts a block at the start of a line: headings, lists,
             * setext underlines, ordered lists ("1." / "1)"); quotes (">")
             * and "*" lists are escaped everywhere, below. */
            if (c == '#' || c == '-' || c == '+' || c == '=') {
                buf_add(b, "\\", 1);
            } else if (c >= '0' && c <= '9') {
                const char *q = p;
                while (*q >= '0' && *q <= '9')
                    q++;
                if (*q == '.' || *q == ')') {
                    buf_add(b, p, (size_t)(q - p));
                    buf_add(b, "\\", 1);
                    buf_add(b, q, 1);
                    p = q;
                    continue;
                }
            }
        }
        /* Emphasis, code, links, HTML, entities, tables, strikethrough. */
        if (strchr("\\`*_[]<>&|~", c))
            buf_add(b, "\\", 1);
        buf_add(b, &c, 1);
    }
}

static void md_entry(struct buf *b, json_t *e)
{
    const char *kind = str_or(e, "kind", "");
    if (is(kind, "reaction"))
        return;
    buf_printf(b, "- **%s", str_or(e, "time", ""));
    if (is(kind, "message")) {
        const char *status = str(e, "status");
        buf_adds(b, " ");
        transcript__md_escape(b, str_or(json_object_get(e, "from"), "name", "?"), 2);
        buf_adds(b, ":** ");
        if (is(status, "kept")) {
            transcript__md_escape(b, str_or(e, "text", ""), 2);
        } else {
            buf_adds(b, "*");
            transcript__md_escape(b, str_or(e, "display", ""), 2);
            buf_adds(b, "*");
        }
    } else if (is(kind, "reading")) {
        buf_adds(b, "** Reading: **");
        transcript__md_escape(b, str_or(e, "title", ""), 2);
        buf_adds(b, "**");
        if (str(e, "text")) {
            buf_adds(b, "\\\n  ");
            transcript__md_escape(b, str(e, "text"), 2);
        }
    } else {
        buf_adds(b, "** *");
        transcript__md_escape(b, str_or(e, "display", ""), 2);
        buf_adds(b, "*");
    }
    buf_adds(b, "\n");
}

void transcript__markdown(struct buf *b, json_t *doc)
{
    json_t *m = json_object_get(doc, "meeting"), *s = json_object_get(doc, "session");
    char date[96], span[64], dur[48], when[128];
    size_t i;
    json_t *blk;

    header_lines(doc, date, sizeof(date), span, sizeof(span), dur, sizeof(dur));
    buf_adds(b, "# ");
    transcript__md_escape(b, str_or(m, "name", ""), 0);
    buf_printf(b, "\n\nTranscript of the meeting on **%s**, %s (", date, span);
    transcript__md_escape(b, str_or(m, "time_zone", ""), 0);
    buf_printf(b, "), %s.\\\n", dur);
    counts_line(b, s);
    buf_adds(b, ".\n");
    if (missing_note(doc))
        buf_printf(b, "\n*%s*\n", missing_note(doc));

    json_t *blocks = json_object_get(doc, "blocks");
    json_array_foreach(blocks, i, blk) {
        json_t *entries = json_object_get(blk, "entries"), *e;
        size_t j;
        bool share = is(str(blk, "type"), "share");
        if (share) {
            share_header(blk, when, sizeof(when));
            buf_adds(b, "\n## Share: ");
            transcript__md_escape(b, str_or(json_object_get(blk, "sharer"), "name", "?"), 0);
            buf_printf(b, ", %s\n\n", when);
        } else if (i > 0) {
            /* Chat blocks follow shares: a heading of their own, so that
             * what comes after a share does not read as part of it. */
            json_t *prev = json_object_get(json_array_get(blocks, i - 1), "sharer");
            buf_adds(b, "\n## After the share of ");
            transcript__md_escape(b, str_or(prev, "name", "?"), 0);
            buf_adds(b, "\n\n");
        } else {
            buf_adds(b, "\n");
        }
        json_array_foreach(entries, j, e) {
            const char *kind = str(e, "kind");
            if (share && (is(kind, "share_started") || is(kind, "share_ended")))
                continue;
            md_entry(b, e);
        }
    }
    buf_printf(b, "\n---\n\n*%s*\n", transcript__notice);
}

/* ---- search ---- */

void transcript__snippet(const char *headline, json_t **snippet, json_t **parts)
{
    struct buf sn, piece;
    bool match = false;
    const size_t ml = strlen(TRANSCRIPT_MARK_START);
    *parts = json_array();
    buf_init(&sn);
    buf_init(&piece);
    for (const char *p = headline ? headline : ""; ; ) {
        bool start = strncmp(p, TRANSCRIPT_MARK_START, ml) == 0;
        bool stop = strncmp(p, TRANSCRIPT_MARK_STOP, ml) == 0;
        if (start || stop || !*p) {
            if (piece.len)
                json_array_append_new(*parts, json_pack("{s:s%, s:b}", "text", piece.data,
                                                        piece.len, "match", match));
            piece.len = 0;
            if (!*p)
                break;
            if (start != match)
                buf_adds(&sn, start ? "[[" : "]]");
            match = start;
            p += ml;
            continue;
        }
        buf_add(&piece, p, 1);
        buf_add(&sn, p, 1);
        p++;
    }
    if (match)
        buf_adds(&sn, "]]");
    *snippet = json_stringn(sn.len ? sn.data : "", sn.len);
    buf_cleanup(&sn);
    buf_cleanup(&piece);
}
