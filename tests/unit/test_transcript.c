/* Unit tests of the transcript's pure parts: entries, share blocks, the
 * plain-text and Markdown exports, durations, dates and search snippets. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "transcript_int.h"
#include "util.h"

/* A row as transcript.c makes it; body is JSON text. */
static json_t *row(long long seq, const char *kind, int member, const char *name,
                   const char *body, long long ts)
{
    json_t *r = json_pack("{s:I, s:s, s:i, s:s, s:o, s:s, s:s, s:I, s:n}", "seq",
                          (json_int_t)seq, "kind", kind, "member", member, "name", name, "body",
                          json_loads(body, 0, NULL), "at", "2026-11-24T01:04:00Z", "time",
                          "19:04", "ts", (json_int_t)ts, "end");
    return r;
}

/* The entry of a row; the row is consumed. */
static json_t *entry(json_t *r)
{
    json_t *e = transcript__entry(r);
    json_decref(r);
    return e;
}

static const char *display(json_t *r)
{
    static char out[512];
    json_t *e = transcript__entry(r);
    snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(e, "display")));
    json_decref(e);
    json_decref(r);
    return out;
}

static void test_entries(void)
{
    json_t *e = entry(row(3, "message", 2, "Sam", "{\"text\": \"hello\"}", 0));
    CHECK_EQ_STR(json_string_value(json_object_get(e, "status")), "kept");
    CHECK_EQ_STR(json_string_value(json_object_get(e, "text")), "hello");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(e, "from"), "name")), "Sam");
    json_decref(e);

    /* Off the record: never the text, even if a body had it. */
    e = entry(
        row(4, "message", 2, "Sam", "{\"text\": \"secret\", \"off_record\": true}", 0));
    CHECK_EQ_STR(json_string_value(json_object_get(e, "status")), "off_record");
    CHECK(json_object_get(e, "text") == NULL);
    char *dump = json_dumps(e, 0);
    CHECK(strstr(dump, "secret") == NULL);
    free(dump);
    json_decref(e);

    CHECK_EQ_STR(display(row(5, "message", 2, "Sam", "{\"removed\": \"author\"}", 0)),
                 "(taken back by the author)");
    CHECK_EQ_STR(display(row(5, "message", 2, "Sam", "{\"removed\": \"chair\"}", 0)),
                 "(removed by a chair)");
    CHECK_EQ_STR(display(row(5, "message", 2, "Sam", "{}", 0)), "(not recorded)");
    json_t *r = row(5, "message", 2, "Sam", "{\"off_record\": true}", 0);
    json_object_set_new(r, "recorded", json_false());
    CHECK_EQ_STR(display(r), "(not recorded)");

    CHECK_EQ_STR(display(row(6, "muted", 1, "Jo", "{\"target\": {\"member\": 2, \"name\": "
                                                  "\"Sam\"}}", 0)),
                 "Jo muted Sam");
    CHECK_EQ_STR(display(row(7, "removed", 1, "Jo",
                             "{\"target\": {\"member\": 9, \"name\": \"Troll\"}, \"ban\": "
                             "\"forever\"}", 0)),
                 "Jo removed Troll for good");
    CHECK_EQ_STR(display(row(8, "share_time_up", 0, "", "{\"target\": {\"member\": 2, "
                                                        "\"name\": \"Sam\"}}", 0)),
                 "Time is up for Sam");
    CHECK_EQ_STR(display(row(9, "topic", 1, "Jo", "{\"text\": \"Gratitude\"}", 0)),
                 "Topic: Gratitude");
    CHECK_EQ_STR(display(row(9, "topic", 1, "Jo", "{}", 0)), "Jo set the topic (not recorded)");
    CHECK_EQ_STR(display(row(10, "admitted_all", 1, "Jo", "{\"count\": 1}", 0)),
                 "Jo let 1 person in");
    CHECK_EQ_STR(display(row(11, "share_ended", 2, "Sam", "{\"reason\": \"time\", "
                                                          "\"duration_ms\": 300400}", 0)),
                 "The share ended (time was up) after 5 min");
    CHECK_EQ_STR(display(row(12, "some_future_kind", 1, "Jo", "{\"x\": 1}", 0)),
                 "some_future_kind");
    CHECK_EQ_STR(display(row(14, "vote_closed", 1, "Jo",
                             "{\"vote\": 13, \"question\": \"Keep it?\", \"options\": "
                             "[\"yes\", \"no\"], \"counts\": [3, 1], \"votes\": 4}",
                             0)),
                 "Vote closed: Keep it? (yes 3, no 1)");

    /* Only the fields of the kind; a target is only {member, name}. */
    e = entry(row(13, "muted", 1, "Jo",
                              "{\"target\": {\"member\": 2, \"name\": \"Sam\", \"attendee_id\": "
                              "\"abc\"}, \"token\": \"t\"}",
                              0));
    char *text = json_dumps(e, 0);
    CHECK(strstr(text, "abc") == NULL && strstr(text, "token") == NULL);
    free(text);
    json_decref(e);
}

static json_t *session_rows(void)
{
    json_t *rows = json_array();
    json_t *start = row(2, "share_started", 1, "Jo",
                        "{\"target\": {\"member\": 2, \"name\": \"Sam\"}, \"limit_secs\": 300}",
                        1000);
    json_object_set_new(start, "end",
                        json_pack("{s:i, s:s, s:s, s:s, s:I, s:{s:s, s:i}}", "seq", 5, "kind",
                                  "share_ended", "at", "2026-11-24T01:07:00Z", "time", "19:07",
                                  "ts", (json_int_t)181000, "body", "reason", "done",
                                  "duration_ms", 180000));
    json_array_append_new(rows, row(1, "message", 1, "Jo", "{\"text\": \"Welcome\"}", 0));
    json_array_append_new(rows, start);
    json_array_append_new(rows, row(3, "message", 2, "Sam", "{\"text\": \"line one\"}", 2000));
    json_array_append_new(rows, row(4, "message", 2, "Sam", "{\"off_record\": true}", 3000));
    json_array_append_new(rows, row(5, "share_ended", 2, "Sam",
                                    "{\"target\": {\"member\": 2, \"name\": \"Sam\"}, "
                                    "\"reason\": \"done\", \"duration_ms\": 180000}",
                                    181000));
    json_array_append_new(rows, row(6, "message", 3, "Ri", "{\"text\": \"thanks\"}", 182000));
    return rows;
}

static void test_blocks(void)
{
    json_t *rows = session_rows();
    json_t *blocks = transcript__blocks(rows, 0);
    CHECK_EQ_INT(json_array_size(blocks), 3);
    json_t *share = json_array_get(blocks, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(share, "type")), "share");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(share, "sharer"), "name")),
                 "Sam");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(share, "called_by"), "name")),
                 "Jo");
    CHECK_EQ_INT(json_integer_value(json_object_get(share, "duration_secs")), 180);
    CHECK_EQ_STR(json_string_value(json_object_get(share, "end_reason")), "done");
    CHECK_EQ_STR(json_string_value(json_object_get(share, "ended_time")), "19:07");
    CHECK_EQ_INT(json_array_size(json_object_get(share, "entries")), 4);
    CHECK(json_is_false(json_object_get(share, "continued")));
    json_decref(blocks);

    /* A page that starts inside the share: the share_started row is context. */
    json_t *page = json_array();
    for (size_t i = 1; i < json_array_size(rows); i++)
        if (i != 2)
            json_array_append(page, json_array_get(rows, i));
    blocks = transcript__blocks(page, 3);
    CHECK_EQ_INT(json_array_size(blocks), 2);
    share = json_array_get(blocks, 0);
    CHECK(json_is_true(json_object_get(share, "continued")));
    CHECK_EQ_INT(json_array_size(json_object_get(share, "entries")), 2); /* seq 4 and 5 */
    CHECK_EQ_INT(json_integer_value(json_object_get(
                     json_array_get(json_object_get(share, "entries"), 0), "seq")),
                 4);
    json_decref(blocks);
    json_decref(page);

    /* A share cut short by the end of the session. */
    json_t *cut = json_array();
    json_array_append(cut, json_array_get(rows, 1));
    json_array_append(cut, json_array_get(rows, 2));
    json_array_append_new(cut, row(7, "session_ended", 1, "Jo", "{}", 9000));
    blocks = transcript__blocks(cut, 0);
    CHECK_EQ_INT(json_array_size(blocks), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(blocks, 1), "type")), "chat");
    json_decref(blocks);
    json_decref(cut);
    json_decref(rows);
}

static json_t *doc_of(json_t *rows)
{
    json_t *doc = json_pack(
        "{s:i, s:{s:s, s:s, s:s}, s:{s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:b}, s:o}",
        "transcript", 1, "meeting", "slug", "hope", "name", "Tuesday *Hope*", "time_zone",
        "America/Chicago", "session", "id", 7, "date", "2026-11-24", "started_local",
        "2026-11-24T19:00:00-06:00", "ended_local", "2026-11-24T20:03:10-06:00", "duration_secs",
        3790, "attendee_count", 3, "message_count", 4, "recorded", 1, "purged", 0, "blocks",
        transcript__blocks(rows, 0));
    return doc;
}

static void test_text(void)
{
    json_t *rows = session_rows();
    json_t *doc = doc_of(rows);
    struct buf b;
    buf_init(&b);
    transcript__text(&b, doc);
    CHECK(strncmp(b.data, "Tuesday *Hope*\nTranscript of the meeting on Tuesday, 24 November "
                          "2026\n19:00 to 20:03 (America/Chicago), 1 h 3 min\n3 people, 4 "
                          "messages\n",
                  b.len > 120 ? 120 : b.len) == 0);
    CHECK(strstr(b.data, "\nSam shares, 19:04 to 19:07 (3 min)\n") != NULL);
    CHECK(strstr(b.data, "  19:04  Sam: (off the record)\n") != NULL);
    CHECK(strstr(b.data, "What was shared here stays here.") != NULL);
    buf_cleanup(&b);
    json_decref(doc);
    json_decref(rows);
}

static const char *md(const char *s)
{
    static char out[512];
    struct buf b;
    buf_init(&b);
    transcript__md_escape(&b, s, 2);
    snprintf(out, sizeof(out), "%s", b.len ? b.data : "");
    buf_cleanup(&b);
    return out;
}

static void test_markdown(void)
{
    CHECK_EQ_STR(md("plain words, and 3.5 too"), "plain words, and 3.5 too");
    CHECK_EQ_STR(md("# no heading"), "\\# no heading");
    /* (CHECK, not CHECK_EQ_STR: TAP output must stay on one line) */
    CHECK(strcmp(md("a\n- b\n+ c\n> d\n12. e\n3) f\n==="),
                 "a\\\n  \\- b\\\n  \\+ c\\\n  \\> d\\\n  12\\. e\\\n  3\\) f\\\n  \\===") == 0);
    CHECK_EQ_STR(md("<script>x</script>"), "\\<script\\>x\\</script\\>");
    CHECK_EQ_STR(md("[l](http://x) `c` *s* _u_ |t| ~x~ &amp; \\"),
                 "\\[l\\](http://x) \\`c\\` \\*s\\* \\_u\\_ \\|t\\| \\~x\\~ \\&amp; \\\\");
    CHECK_EQ_STR(md("    indented"), "indented");

    json_t *rows = session_rows();
    json_t *doc = doc_of(rows);
    struct buf b;
    buf_init(&b);
    transcript__markdown(&b, doc);
    CHECK(strncmp(b.data, "# Tuesday \\*Hope\\*\n", 19) == 0);
    CHECK(strstr(b.data, "\n## Share: Sam, 19:04 to 19:07 (3 min)\n\n") != NULL);
    CHECK(strstr(b.data, "- **19:04 Sam:** line one\n") != NULL);
    CHECK(strstr(b.data, "- **19:04 Sam:** *(off the record)*\n") != NULL);
    CHECK(strstr(b.data, "\n## After the share of Sam\n") != NULL);
    buf_cleanup(&b);
    json_decref(doc);
    json_decref(rows);
}

static void test_small_formats(void)
{
    char out[64];
    transcript__duration(out, sizeof(out), 0);
    CHECK_EQ_STR(out, "0 s");
    transcript__duration(out, sizeof(out), 59);
    CHECK_EQ_STR(out, "59 s");
    transcript__duration(out, sizeof(out), 60);
    CHECK_EQ_STR(out, "1 min");
    transcript__duration(out, sizeof(out), 192);
    CHECK_EQ_STR(out, "3 min 12 s");
    transcript__duration(out, sizeof(out), 3600);
    CHECK_EQ_STR(out, "1 h");
    transcript__duration(out, sizeof(out), 3790);
    CHECK_EQ_STR(out, "1 h 3 min");
    CHECK_EQ_INT(transcript__long_date("2026-11-24T19:00:00-06:00", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "Tuesday, 24 November 2026");
    CHECK_EQ_INT(transcript__long_date("2024-02-29", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "Thursday, 29 February 2024");
    CHECK_EQ_INT(transcript__long_date("2000-01-01", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "Saturday, 1 January 2000");
    CHECK_EQ_INT(transcript__long_date("24-11-2026", out, sizeof(out)), HV_EINVAL);
    CHECK_EQ_INT(transcript__long_date("2026-13-01", out, sizeof(out)), HV_EINVAL);
}

static void test_snippet(void)
{
    json_t *snippet, *parts;
    transcript__snippet("we " TRANSCRIPT_MARK_START "carry" TRANSCRIPT_MARK_STOP " [[on]]",
                        &snippet, &parts);
    CHECK_EQ_STR(json_string_value(snippet), "we [[carry]] [[on]]");
    CHECK_EQ_INT(json_array_size(parts), 3);
    CHECK(json_is_true(json_object_get(json_array_get(parts, 1), "match")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(parts, 2), "text")),
                 " [[on]]");
    json_decref(snippet);
    json_decref(parts);
    transcript__snippet(TRANSCRIPT_MARK_START "open", &snippet, &parts);
    CHECK_EQ_STR(json_string_value(snippet), "[[open]]");
    json_decref(snippet);
    json_decref(parts);
    transcript__snippet(NULL, &snippet, &parts);
    CHECK_EQ_STR(json_string_value(snippet), "");
    CHECK_EQ_INT(json_array_size(parts), 0);
    json_decref(snippet);
    json_decref(parts);
}

int main(void)
{
    test_entries();
    test_blocks();
    test_text();
    test_markdown();
    test_small_formats();
    test_snippet();
    return check_done();
}
