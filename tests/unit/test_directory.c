/* Unit tests of the directory's pure parts: validation, statement
 * parameters, instants, iCalendar text and Meeting Guide items. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "directory.h"
#include "directory_int.h"
#include "meeting_types.h"
#include "util.h"

static char field[96], msg[256];

/* Validate JSON text; returns the field of the error, or "ok". */
static const char *verdict(const char *text, bool create)
{
    static char out[96];
    json_t *in = json_loads(text, JSON_DECODE_ANY, NULL), *valid = NULL;
    int rc = directory_validate(in, create, &valid, field, sizeof(field), msg, sizeof(msg));
    snprintf(out, sizeof(out), "%s", rc ? field : "ok");
    if (rc && valid)
        snprintf(out, sizeof(out), "error with output");
    json_decref(in);
    json_decref(valid);
    return out;
}

static json_t *valid_of(const char *text, bool create)
{
    json_t *in = json_loads(text, 0, NULL), *valid = NULL;
    directory_validate(in, create, &valid, field, sizeof(field), msg, sizeof(msg));
    json_decref(in);
    return valid;
}

#define BASE "\"slug\": \"tuesday-hope\", \"name\": \"Tuesday Hope\", " \
             "\"time_zone\": \"America/Chicago\", \"days\": [4, 2], \"start_time\": \"19:00\""

static void test_validate(void)
{
    json_t *v = valid_of("{" BASE "}", true);
    CHECK(v != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "language")), "en");
    CHECK_EQ_INT(json_integer_value(json_object_get(v, "duration_minutes")), 60);
    CHECK_EQ_INT(json_integer_value(json_array_get(json_object_get(v, "days"), 0)), 2);
    CHECK_EQ_INT(json_integer_value(json_array_get(json_object_get(v, "days"), 1)), 4);
    CHECK(json_is_true(json_object_get(v, "record_transcripts")));
    CHECK_EQ_STR(json_string_value(json_object_get(v, "transcript_readers")), "chairs");
    CHECK_EQ_INT(json_array_size(json_object_get(v, "format")), 0);
    json_decref(v);

    /* A closed meeting is not recorded unless it says so. */
    v = valid_of("{" BASE ", \"types\": [\"c\", \"D\"]}", true);
    CHECK(json_is_false(json_object_get(v, "record_transcripts")));
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(v, "types"), 0)), "C");
    json_decref(v);
    v = valid_of("{" BASE ", \"types\": [\"C\"], \"record_transcripts\": true}", true);
    CHECK(json_is_true(json_object_get(v, "record_transcripts")));
    json_decref(v);

    /* Edits check only what is given and add no defaults. */
    v = valid_of("{\"name\": \"  Renamed  \"}", false);
    CHECK_EQ_INT(json_object_size(v), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "name")), "Renamed");
    json_decref(v);
    CHECK_EQ_STR(verdict("{}", false), "ok");
    CHECK_EQ_STR(verdict("{}", true), "slug");

    CHECK_EQ_STR(verdict("[]", true), "");
    CHECK_EQ_STR(verdict("{" BASE ", \"colour\": 1}", true), "colour");
    CHECK_EQ_STR(verdict("{" BASE ", \"join_url\": \"x\", \"next_occurrence\": null}", true), "ok");
    CHECK_EQ_STR(verdict("{\"slug\": \"Bad Slug\"}", false), "slug");
    CHECK_EQ_STR(verdict("{\"slug\": \"-x\"}", false), "slug");
    CHECK_EQ_STR(verdict("{\"name\": \"   \"}", false), "name");
    CHECK_EQ_STR(verdict("{\"name\": \"two\\nlines\"}", false), "name");
    CHECK_EQ_STR(verdict("{\"description\": \"two\\nlines\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"description\": \"bell\\u0007\"}", false), "description");
    CHECK_EQ_STR(verdict("{\"name\": \"a\\u202eb\"}", false), "name");
    CHECK_EQ_STR(verdict("{\"language\": \"pt-BR\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"language\": \"english\"}", false), "language");
    CHECK_EQ_STR(verdict("{\"language\": \"e\"}", false), "language");
    v = valid_of("{\"language\": \"ES\"}", false);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "language")), "es");
    json_decref(v);
    CHECK_EQ_STR(verdict("{\"time_zone\": \"Australia/Sydney\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"time_zone\": \"America/Argentina/Buenos_Aires\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"time_zone\": \"../etc/passwd\"}", false), "time_zone");
    CHECK_EQ_STR(verdict("{\"time_zone\": \"posix/Europe/Berlin\"}", false), "time_zone");
    CHECK_EQ_STR(verdict("{\"time_zone\": 5}", false), "time_zone");
    CHECK_EQ_STR(verdict("{\"days\": []}", false), "days");
    CHECK_EQ_STR(verdict("{\"days\": [7]}", false), "days[0]");
    CHECK_EQ_STR(verdict("{\"days\": [1, 1]}", false), "days[1]");
    CHECK_EQ_STR(verdict("{\"days\": [1, \"2\"]}", false), "days[1]");
    v = valid_of("{\"days\": 0}", false);
    CHECK_EQ_INT(json_array_size(json_object_get(v, "days")), 1);
    json_decref(v);
    CHECK_EQ_STR(verdict("{\"start_time\": \"24:00\"}", false), "start_time");
    CHECK_EQ_STR(verdict("{\"start_time\": \"7:00\"}", false), "start_time");
    CHECK_EQ_STR(verdict("{\"start_time\": \"07:60\"}", false), "start_time");
    CHECK_EQ_STR(verdict("{\"start_time\": \"23:59\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"duration_minutes\": 4}", false), "duration_minutes");
    CHECK_EQ_STR(verdict("{\"duration_minutes\": 1441}", false), "duration_minutes");
    CHECK_EQ_STR(verdict("{\"duration_minutes\": 90.5}", false), "duration_minutes");
    CHECK_EQ_STR(verdict("{\"types\": [\"O\", \"C\"]}", false), "types");
    CHECK_EQ_STR(verdict("{\"types\": [\"O\", \"ONL\"]}", false), "types[1]");
    CHECK_EQ_STR(verdict("{\"types\": [\"O\", \"o\"]}", false), "types[1]");
    CHECK_EQ_STR(verdict("{\"types\": \"O\"}", false), "types");
    CHECK_EQ_STR(verdict("{\"record_transcripts\": \"yes\"}", false), "record_transcripts");
    CHECK_EQ_STR(verdict("{\"transcript_readers\": \"everyone\"}", false), "transcript_readers");
    CHECK_EQ_STR(verdict("{\"retention_days\": -1}", false), "retention_days");
    CHECK_EQ_STR(verdict("{\"share_time_limit_secs\": 29}", false), "share_time_limit_secs");
    CHECK_EQ_STR(verdict("{\"format\": [{\"title\": \"Welcome\", \"text\": \"Hello.\"}]}", false),
                 "ok");
    CHECK_EQ_STR(verdict("{\"format\": [{\"title\": \"Welcome\"}]}", false), "format[0].text");
    CHECK_EQ_STR(verdict("{\"format\": [{\"title\": \"\", \"text\": \"x\"}]}", false),
                 "format[0].title");
    CHECK_EQ_STR(verdict("{\"format\": [{\"title\": \"a\", \"text\": \"b\", \"c\": 1}]}", false),
                 "format[0].c");
    CHECK_EQ_STR(verdict("{\"format\": [1]}", false), "format[0]");
    CHECK_EQ_STR(verdict("{\"resources\": [{\"title\": \"Help\", \"url\": \"https://ex.org/a\"}]}",
                         false),
                 "ok");
    CHECK_EQ_STR(verdict("{\"resources\": [{\"title\": \"x\", \"url\": \"javascript:alert(1)\"}]}",
                         false),
                 "resources[0].url");
    CHECK_EQ_STR(verdict("{\"resources\": [{\"title\": \"x\", \"url\": \"https://\"}]}", false),
                 "resources[0].url");
    CHECK_EQ_STR(verdict("{\"contribution_url\": \"\"}", false), "ok");
    CHECK_EQ_STR(verdict("{\"contribution_url\": \"ftp://x\"}", false), "contribution_url");
    CHECK_EQ_STR(verdict("{\"contribution_url\": \"https://a b\"}", false), "contribution_url");
    CHECK(strstr(msg, "contribution_url") != NULL);
}

static void test_params(void)
{
    struct directory__params p;
    json_t *v = valid_of("{" BASE ", \"types\": [\"O\", \"D\"], \"format\": [{\"title\": \"A\","
                         " \"text\": \"B\"}]}",
                         true);
    directory__params_fill(&p, v);
    CHECK_EQ_STR(p.v[0], "tuesday-hope");
    CHECK_EQ_STR(p.v[2], "");
    CHECK_EQ_STR(p.v[5], "{2,4}");
    CHECK_EQ_STR(p.v[8], "{O,D}");
    CHECK_EQ_STR(p.v[12], "t");
    CHECK_EQ_STR(p.v[16], "[{\"title\":\"A\",\"text\":\"B\"}]");
    CHECK_EQ_STR(p.v[18], "");
    directory__params_set(&p, DIRECTORY_NFIELDS, "123");
    CHECK_EQ_INT(p.n, DIRECTORY_NFIELDS + 1);
    directory__params_cleanup(&p);
    json_decref(v);

    v = valid_of("{\"notes\": \"n\"}", false);
    directory__params_fill(&p, v);
    CHECK(p.v[0] == NULL);
    CHECK_EQ_STR(p.v[11], "n");
    directory__params_cleanup(&p);
    json_decref(v);
}

static void test_instant(void)
{
    int64_t t = 0;
    CHECK_EQ_INT(directory__parse_instant("1970-01-01T00:00:00Z", &t), 0);
    CHECK_EQ_INT(t, 0);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08T08:00:00Z", &t), 0);
    CHECK_EQ_INT(t, 1772956800);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08T02:00-06:00", &t), 0);
    CHECK_EQ_INT(t, 1772956800);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08T08:00:00.250Z", &t), 0);
    CHECK_EQ_INT(directory__parse_instant("2024-02-29T00:00:00Z", &t), 0);
    CHECK_EQ_INT(directory__parse_instant("2026-02-29T00:00:00Z", &t), HV_EINVAL);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08T08:00:00", &t), HV_EINVAL);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08", &t), HV_EINVAL);
    CHECK_EQ_INT(directory__parse_instant("2026-13-08T08:00:00Z", &t), HV_EINVAL);
    CHECK_EQ_INT(directory__parse_instant("2026-03-08T08:00:00+5", &t), HV_EINVAL);
    CHECK_EQ_INT(directory__parse_instant("tomorrow", &t), HV_EINVAL);
}

/* Every line of b ends in CRLF and has at most 75 octets. */
static bool well_folded(const char *s)
{
    while (*s) {
        const char *end = strstr(s, "\r\n");
        if (!end || end - s > 75)
            return false;
        s = end + 2;
    }
    return true;
}

static void test_ics_text(void)
{
    struct buf b;
    buf_init(&b);
    directory__ics_escape(&b, "a,b;c\\d\ne\r\n");
    CHECK_EQ_STR(directory__cstr(&b), "a\\,b\\;c\\\\d\\ne\\n");
    buf_cleanup(&b);

    buf_init(&b);
    directory__ics_escape(&b, "");
    CHECK_EQ_STR(directory__cstr(&b), "");
    buf_cleanup(&b);

    buf_init(&b);
    directory__ics_line(&b, "SUMMARY", "short");
    CHECK(strcmp(b.data, "SUMMARY:short\r\n") == 0);
    buf_cleanup(&b);

    /* 200 octets of two-byte characters: folded, never inside a character. */
    char value[401];
    for (int i = 0; i < 200; i++)
        memcpy(value + 2 * i, "\xc3\xa9", 2);
    value[400] = '\0';
    buf_init(&b);
    directory__ics_line(&b, "DESCRIPTION", value);
    CHECK(well_folded(b.data));
    bool split = false;
    for (const char *p = b.data; (p = strstr(p, "\r\n ")); p += 3)
        split |= ((unsigned char)p[3] & 0xC0) == 0x80;
    CHECK(!split);
    /* Unfolding gives the line back. */
    struct buf u;
    buf_init(&u);
    for (const char *p = b.data; *p; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
            p += 2;
            continue;
        }
        buf_add(&u, p, 1);
    }
    CHECK(strncmp(u.data, "DESCRIPTION:", 12) == 0);
    CHECK(strncmp(u.data + 12, value, 400) == 0);
    buf_cleanup(&u);
    buf_cleanup(&b);
}

/* America/Chicago-like changes on the second Sunday of March and the first
 * of November, 02:00 local. */
static void test_vtimezone(void)
{
    struct directory__transition tr[] = {
        {1772956800, -360, -300}, /* 2026-03-08 08:00Z */
        {1793516400, -300, -360}, /* 2026-11-01 07:00Z */
        {1805011200, -360, -300}, /* 2027-03-14 08:00Z */
        {1825570800, -300, -360}, /* 2027-11-07 07:00Z */
        {1836460800, -360, -300}, /* 2028-03-12 08:00Z */
        {1857020400, -300, -360}, /* 2028-11-05 07:00Z */
    };
    struct buf b;
    buf_init(&b);
    directory__vtimezone(&b, "America/Chicago", 1767225600 /* 2026-01-01 */, -360,
                         1861920000 /* 2029-01-01 */, tr, 6);
    CHECK(well_folded(b.data));
    CHECK(strstr(b.data, "TZID:America/Chicago\r\n") != NULL);
    CHECK(strstr(b.data, "BEGIN:STANDARD\r\nDTSTART:20251231T180000\r\nTZOFFSETFROM:-0600\r\n"
                         "TZOFFSETTO:-0600\r\n") != NULL);
    CHECK(strstr(b.data, "BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0600\r\n"
                         "TZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\n") != NULL);
    CHECK(strstr(b.data, "DTSTART:20261101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\n"
                         "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\n") != NULL);
    buf_cleanup(&b);

    /* Changes that follow no weekday rule are listed. */
    struct directory__transition odd[] = {
        {1772956800, 0, 60},
        {1805011200 + 86400 * 3, 0, 60},
    };
    buf_init(&b);
    directory__vtimezone(&b, "Test/Odd", 1767225600, 0, 1830000000, odd, 2);
    CHECK(strstr(b.data, "RRULE") == NULL);
    CHECK(strstr(b.data, "RDATE:20270317T080000\r\n") != NULL);
    buf_cleanup(&b);

    /* No changes at all: one observance. */
    buf_init(&b);
    directory__vtimezone(&b, "Asia/Tokyo", 1767225600, 540, 1861920000, NULL, 0);
    CHECK(strstr(b.data, "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\n"
                         "END:VTIMEZONE\r\n") != NULL);
    buf_cleanup(&b);

    /* Europe: the last Sunday of March and of October. */
    struct directory__transition eu[] = {
        {1774746000, 60, 120},  /* 2026-03-29 01:00Z */
        {1792890000, 120, 60},  /* 2026-10-25 01:00Z */
        {1806195600, 60, 120},  /* 2027-03-28 01:00Z */
        {1824944400, 120, 60},  /* 2027-10-31 01:00Z */
    };
    buf_init(&b);
    directory__vtimezone(&b, "Europe/Berlin", 1767225600, 60, 1830000000, eu, 4);
    CHECK(strstr(b.data, "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n") != NULL);
    CHECK(strstr(b.data, "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n") != NULL);
    buf_cleanup(&b);
}

static void test_guide(void)
{
    json_t *m = directory__meeting(
        "{\"slug\": \"s\", \"name\": \"N\", \"days\": [3], \"start_time\": \"19:00\","
        " \"end_time\": \"20:00\", \"time_zone\": \"Europe/Berlin\", \"types\": [\"O\"],"
        " \"description\": \"D\", \"notes\": \"Bring tea.\", \"group\": \"\", \"region\": \"\","
        " \"contribution_url\": \"https://venmo.com/u/Quiet-Group\","
        " \"updated_at\": \"2026-03-08T12:34:56Z\"}",
        "https://meet.example.org");
    CHECK_EQ_STR(json_string_value(json_object_get(m, "join_url")),
                 "https://meet.example.org/m/s");
    CHECK_EQ_STR(json_string_value(json_object_get(m, "ics_url")),
                 "https://meet.example.org/api/meetings/s.ics");
    json_t *g = directory__guide_item(m, "https://meet.example.org");
    CHECK(json_is_integer(json_object_get(g, "day")));
    CHECK_EQ_STR(json_string_value(json_object_get(g, "time")), "19:00");
    CHECK_EQ_STR(json_string_value(json_object_get(g, "timezone")), "Europe/Berlin");
    CHECK_EQ_STR(json_string_value(json_object_get(g, "updated")), "2026-03-08 12:34:56");
    CHECK_EQ_STR(json_string_value(json_object_get(g, "conference_url")),
                 "https://meet.example.org/m/s");
    CHECK_EQ_STR(json_string_value(json_object_get(g, "attendance_option")), "online");
    /* (Not CHECK_EQ_STR: a line break would break the TAP output.) */
    CHECK(strcmp(json_string_value(json_object_get(g, "notes")), "D\n\nBring tea.") == 0);
    CHECK_EQ_STR(json_string_value(json_object_get(g, "venmo")), "@Quiet-Group");
    CHECK(json_object_get(g, "group") == NULL);
    CHECK(json_object_get(g, "formatted_address") == NULL);
    json_decref(g);

    json_object_set_new(m, "days", json_pack("[i, i]", 1, 4));
    json_object_set_new(m, "region", json_string("Berlin, Germany"));
    json_object_set_new(m, "contribution_url", json_string("https://example.org/give"));
    g = directory__guide_item(m, "https://meet.example.org");
    CHECK(json_is_array(json_object_get(g, "day")));
    CHECK_EQ_STR(json_string_value(json_object_get(g, "formatted_address")), "Berlin, Germany");
    CHECK(json_object_get(g, "venmo") == NULL && json_object_get(g, "paypal") == NULL);
    json_decref(g);

    json_object_set_new(m, "days", json_array());
    g = directory__guide_item(m, "https://meet.example.org");
    CHECK(json_object_get(g, "day") == NULL && json_object_get(g, "time") == NULL);
    json_decref(g);
    json_decref(m);
    CHECK(directory__meeting("[1]", "x") == NULL);
}

static void test_public_url(void)
{
    struct config cfg;
    char url[128];
    config_init(&cfg);
    directory__public_url(&cfg, url, sizeof(url));
    CHECK_EQ_STR(url, "http://127.0.0.1:8080");
    free(cfg.listen_address);
    cfg.listen_address = xstrdup("::");
    cfg.listen_port = 9000;
    directory__public_url(&cfg, url, sizeof(url));
    CHECK_EQ_STR(url, "http://127.0.0.1:9000");
    free(cfg.listen_address);
    cfg.listen_address = xstrdup("::1");
    directory__public_url(&cfg, url, sizeof(url));
    CHECK_EQ_STR(url, "http://[::1]:9000");
    free(cfg.http_public_url);
    cfg.http_public_url = xstrdup("https://meet.example.org/haven/");
    directory__public_url(&cfg, url, sizeof(url));
    CHECK_EQ_STR(url, "https://meet.example.org/haven");
    config_cleanup(&cfg);
}

static void test_types(void)
{
    size_t n;
    const struct meeting_type *all = meeting_types_all(&n);
    CHECK(n > 30);
    CHECK_EQ_STR(meeting_types_name("O"), "Open");
    CHECK_EQ_STR(meeting_types_name("C"), "Closed");
    CHECK_EQ_STR(meeting_types_name("XT"), "Cross Talk Permitted");
    CHECK(meeting_types_name("ONL") == NULL);
    CHECK(meeting_types_name("o") == NULL);
    /* Codes are unique and fit the validator's limits. */
    bool unique = true, short_codes = true;
    for (size_t i = 0; i < n; i++) {
        short_codes &= strlen(all[i].code) < 16;
        for (size_t j = i + 1; j < n; j++)
            unique &= strcmp(all[i].code, all[j].code) != 0;
    }
    CHECK(unique);
    CHECK(short_codes);
}

int main(void)
{
    test_validate();
    test_params();
    test_instant();
    test_ics_text();
    test_vtimezone();
    test_guide();
    test_public_url();
    test_types();
    return check_done();
}
