/*
 * The one validator of meetings, shared by the API and the command line, and
 * the statement parameters made from what it accepts.  Pure: no I/O.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "directory_int.h"
#include "meeting_types.h"
#include "util.h"

enum kind {
    K_SLUG,
    K_LINE,      /* one line of text: trimmed, no control characters */
    K_TEXT,      /* several lines: newlines and tabs allowed */
    K_LANG,
    K_ZONE,
    K_DAYS,
    K_TIME,
    K_INT,
    K_BOOL,
    K_READERS,
    K_TYPES,
    K_READINGS,
    K_RESOURCES,
    K_URL,
};

struct fdef {
    const char *name;
    enum kind kind;
    int min, max;      /* characters, items or the value's range */
    bool required;     /* when creating */
    const char *def;   /* default when creating (JSON), NULL for none */
};

/* In the order of the statements' parameters $1..$19. */
static const struct fdef fields[DIRECTORY_NFIELDS] = {
    {"slug", K_SLUG, 1, 64, true, NULL},
    {"name", K_LINE, 1, 200, true, NULL},
    {"description", K_TEXT, 0, 4000, false, "\"\""},
    {"language", K_LANG, 2, 35, false, "\"en\""},
    {"time_zone", K_ZONE, 1, 64, true, NULL},
    {"days", K_DAYS, 1, 7, true, NULL},
    {"start_time", K_TIME, 0, 0, true, NULL},
    {"duration_minutes", K_INT, 5, 1440, false, "60"},
    {"types", K_TYPES, 0, 30, false, "[]"},
    {"group", K_LINE, 0, 200, false, "\"\""},
    {"region", K_LINE, 0, 200, false, "\"\""},
    {"notes", K_TEXT, 0, 4000, false, "\"\""},
    {"record_transcripts", K_BOOL, 0, 0, false, NULL /* depends on types */},
    {"transcript_readers", K_READERS, 0, 0, false, "\"chairs\""},
    {"retention_days", K_INT, 0, 3650, false, "30"},
    {"share_time_limit_secs", K_INT, 30, 3600, false, "300"},
    {"format", K_READINGS, 0, 30, false, "[]"},
    {"resources", K_RESOURCES, 0, 30, false, "[]"},
    {"contribution_url", K_URL, 0, 2000, false, "\"\""},
};

/* Fields of the API's meeting objects that are computed, not set. */
static const char *const read_only[] = {
    "join_url", "ics_url", "next_occurrence", "end_time", "created_at", "updated_at",
};

#define READING_TITLE_MAX 200
#define READING_TEXT_MAX 10000
#define URL_MAX 2000

struct verr {
    char *field;
    size_t fieldlen;
    char *msg;
    size_t msglen;
};

static int bad(struct verr *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct verr *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(e->field, e->fieldlen, "%s", field);
    va_start(ap, fmt);
    vsnprintf(e->msg, e->msglen, fmt, ap);
    va_end(ap);
    return HV_EINVAL;
}

/* Characters (code points) of valid UTF-8, which jansson guarantees. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* A control character other than those allowed in multi-line text?  C0, DEL
 * and C1 controls, and the bidirectional overrides that can disguise text. */
static bool has_controls(const char *s, bool multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (multiline && (*p == '\n' || *p == '\t'))
                continue;
            if (multiline && *p == '\r' && p[1] == '\n')
                continue;
            return true;
        }
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return true;
        /* U+202A..U+202E and U+2066..U+2069 */
        if (p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0xAA && p[2] <= 0xAE)
            return true;
        if (p[0] == 0xE2 && p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9)
            return true;
    }
    return false;
}

/* A new string without surrounding white space. */
static char *trimmed(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static int check_text(struct verr *e, const char *path, json_t *v, bool multiline, int min,
                      int max, json_t **out)
{
    if (!json_is_string(v))
        return bad(e, path, "%s must be a string", path);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(e, path, "%s must not contain NUL characters", path);
    char *s = multiline ? xstrdup(json_string_value(v)) : trimmed(json_string_value(v));
    int rc = 0;
    size_t n = utf8_chars(s);
    if (has_controls(s, multiline))
        rc = bad(e, path, "%s must not contain control characters%s", path,
                 multiline ? "" : " or line breaks");
    else if ((int)n < min || (int)n > max)
        rc = min > 0 ? bad(e, path, "%s must be %d to %d characters long", path, min, max)
                     : bad(e, path, "%s must be at most %d characters long", path, max);
    if (!rc)
        *out = json_string(s);
    free(s);
    return rc;
}

bool directory__is_slug(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

/* http or https with a host, no spaces or controls. */
static bool is_url(const char *s)
{
    const char *rest;
    if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else
        return false;
    if (!*rest || *rest == '/' || *rest == '?' || *rest == '#' || *rest == '@' ||
        *rest == ':')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return false;
    return strlen(s) <= URL_MAX;
}

static int check_url(struct verr *e, const char *path, json_t *v, bool allow_empty,
                     json_t **out)
{
    if (!json_is_string(v))
        return bad(e, path, "%s must be a string", path);
    const char *s = json_string_value(v);
    if (allow_empty && !*s) {
        *out = json_string("");
        return 0;
    }
    if (!is_url(s))
        return bad(e, path, "%s must be an http:// or https:// address of at most %d characters",
                   path, URL_MAX);
    *out = json_string(s);
    return 0;
}

/* BCP 47, as far as a directory needs: en, es, pt-BR, zh-Hant-TW. */
static int check_lang(struct verr *e, const char *path, json_t *v, json_t **out)
{
    if (!json_is_string(v))
        return bad(e, path, "%s must be a string", path);
    const char *s = json_string_value(v);
    char norm[40];
    size_t n = strlen(s), i = 0, part = 0, parts = 0;
    bool ok = n >= 2 && n < sizeof(norm);
    for (; ok && i <= n; i++) {
        char c = s[i];
        if (c == '-' || c == '\0') {
            if (parts == 0 ? (part < 2 || part > 3) : (part < 1 || part > 8))
                ok = false;
            parts++;
            part = 0;
            norm[i] = c;
            continue;
        }
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (parts == 0 ? !alpha : !(alpha || digit))
            ok = false;
        /* The language subtag is lower case; regions and scripts keep theirs. */
        norm[i] = parts == 0 ? (char)tolower((unsigned char)c) : c;
        part++;
    }
    if (!ok || parts > 4)
        return bad(e, path, "%s must be a language tag such as en, es or pt-BR", path);
    *out = json_string(norm);
    return 0;
}

/* The form of an IANA name; whether it exists is the database's to say. */
static int check_zone(struct verr *e, const char *path, json_t *v, json_t **out)
{
    if (!json_is_string(v))
        return bad(e, path, "%s must be a string", path);
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 64 && isalpha((unsigned char)s[0]) && s[n - 1] != '/';
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = isalnum((unsigned char)c) || c == '_' || c == '-' || c == '+' ||
             (c == '/' && s[i + 1] != '/');
    }
    if (ok && (strncmp(s, "posix/", 6) == 0 || strncmp(s, "right/", 6) == 0))
        ok = false;
    if (!ok)
        return bad(e, path, "%s must be an IANA time zone name such as America/Chicago", path);
    *out = json_string(s);
    return 0;
}

static int check_days(struct verr *e, const char *path, json_t *v, json_t **out)
{
    bool seen[7] = {false};
    size_t i;
    json_t *d;
    if (json_is_integer(v)) {
        /* Meeting Guide's "day" may be a single integer. */
        json_t *one = json_pack("[O]", v);
        int rc = check_days(e, path, one, out);
        json_decref(one);
        return rc;
    }
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 7)
        return bad(e, path, "%s must be a list of 1 to 7 weekdays (0 = Sunday ... 6 = Saturday)",
                   path);
    json_array_foreach(v, i, d) {
        char p[64];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 6)
            return bad(e, p, "%s must be a weekday from 0 (Sunday) to 6 (Saturday)", p);
        if (seen[json_integer_value(d)])
            return bad(e, p, "%s repeats a weekday", p);
        seen[json_integer_value(d)] = true;
    }
    *out = json_array();
    for (int k = 0; k < 7; k++)
        if (seen[k])
            json_array_append_new(*out, json_integer(k));
    return 0;
}

static int check_time(struct verr *e, const char *path, json_t *v, json_t **out)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]) ||
        (s[0] - '0') * 10 + (s[1] - '0') > 23 || s[3] > '5')
        return bad(e, path, "%s must be a local time \"HH:MM\" from 00:00 to 23:59", path);
    *out = json_string(s);
    return 0;
}

static int check_int(struct verr *e, const struct fdef *f, json_t *v, json_t **out)
{
    if (!json_is_integer(v) || json_integer_value(v) < f->min || json_integer_value(v) > f->max)
        return bad(e, f->name, "%s must be an integer from %d to %d", f->name, f->min, f->max);
    *out = json_integer(json_integer_value(v));
    return 0;
}

static int check_types(struct verr *e, const char *path, json_t *v, int max, json_t **out)
{
    size_t i;
    json_t *t;
    bool open = false, closed = false;
    if (!json_is_array(v) || json_array_size(v) > (size_t)max)
        return bad(e, path, "%s must be a list of at most %d meeting type codes", path, max);
    json_t *res = json_array();
    json_array_foreach(v, i, t) {
        char p[64], code[16];
        const char *s = json_string_value(t);
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        size_t n = s ? strlen(s) : 0;
        /* Codes are matched without regard to case and stored as listed. */
        if (n == 0 || n >= sizeof(code)) {
            json_decref(res);
            return bad(e, p, "%s must be a meeting type code such as O, C, D or SP", p);
        }
        for (size_t k = 0; k <= n; k++)
            code[k] = (char)toupper((unsigned char)s[k]);
        const struct meeting_type *all;
        size_t nall, k;
        all = meeting_types_all(&nall);
        for (k = 0; k < nall; k++)
            if (strcmp(all[k].code, code) == 0)
                break;
        if (k == nall) {
            json_decref(res);
            return bad(e, p, "%s: unknown meeting type code \"%.15s\" (see /api/meeting-types)",
                       p, s);
        }
        for (size_t j = 0; j < json_array_size(res); j++)
            if (strcmp(json_string_value(json_array_get(res, j)), all[k].code) == 0) {
                json_decref(res);
                return bad(e, p, "%s repeats the type %s", p, all[k].code);
            }
        open |= strcmp(all[k].code, "O") == 0;
        closed |= strcmp(all[k].code, "C") == 0;
        json_array_append_new(res, json_string(all[k].code));
    }
    if (open && closed) {
        json_decref(res);
        return bad(e, path, "%s: a meeting is either open (O) or closed (C), not both", path);
    }
    *out = res;
    return 0;
}

/* A list of {title, <second>} objects: readings (text) or resources (url). */
static int check_items(struct verr *e, const char *path, json_t *v, int max, bool readings,
                       json_t **out)
{
    const char *second = readings ? "text" : "url";
    size_t i;
    json_t *item;
    if (!json_is_array(v) || json_array_size(v) > (size_t)max)
        return bad(e, path, "%s must be a list of at most %d {\"title\", \"%s\"} objects", path,
                   max, second);
    json_t *res = json_array();
    json_array_foreach(v, i, item) {
        char p[64], fp[96];
        const char *key;
        json_t *val, *title = NULL, *other = NULL;
        int rc;
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        if (!json_is_object(item)) {
            json_decref(res);
            return bad(e, p, "%s must be an object with \"title\" and \"%s\"", p, second);
        }
        json_object_foreach(item, key, val) {
            if (strcmp(key, "title") && strcmp(key, second)) {
                snprintf(fp, sizeof(fp), "%s.%.30s", p, key);
                json_decref(res);
                return bad(e, fp, "%s: unknown field", fp);
            }
        }
        snprintf(fp, sizeof(fp), "%s.title", p);
        rc = check_text(e, fp, json_object_get(item, "title"), false, 1, READING_TITLE_MAX,
                        &title);
        if (!rc) {
            snprintf(fp, sizeof(fp), "%s.%s", p, second);
            rc = readings ? check_text(e, fp, json_object_get(item, "text"), true, 1,
                                       READING_TEXT_MAX, &other)
                          : check_url(e, fp, json_object_get(item, "url"), false, &other);
        }
        if (rc) {
            json_decref(title);
            json_decref(res);
            return rc;
        }
        json_array_append_new(res, json_pack("{s:o, s:o}", "title", title, second, other));
    }
    *out = res;
    return 0;
}

static int check_field(struct verr *e, const struct fdef *f, json_t *v, json_t **out)
{
    switch (f->kind) {
    case K_SLUG:
        if (!json_is_string(v) || !directory__is_slug(json_string_value(v)))
            return bad(e, f->name,
                       "slug must be 1 to 64 lower-case letters, digits and inner hyphens");
        *out = json_string(json_string_value(v));
        return 0;
    case K_LINE:
        return check_text(e, f->name, v, false, f->min, f->max, out);
    case K_TEXT:
        return check_text(e, f->name, v, true, f->min, f->max, out);
    case K_LANG:
        return check_lang(e, f->name, v, out);
    case K_ZONE:
        return check_zone(e, f->name, v, out);
    case K_DAYS:
        return check_days(e, f->name, v, out);
    case K_TIME:
        return check_time(e, f->name, v, out);
    case K_INT:
        return check_int(e, f, v, out);
    case K_BOOL:
        if (!json_is_boolean(v))
            return bad(e, f->name, "%s must be true or false", f->name);
        *out = json_boolean(json_is_true(v));
        return 0;
    case K_READERS: {
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "chairs") && strcmp(s, "attendees") && strcmp(s, "anyone")))
            return bad(e, f->name, "%s must be \"chairs\", \"attendees\" or \"anyone\"", f->name);
        *out = json_string(s);
        return 0;
    }
    case K_TYPES:
        return check_types(e, f->name, v, f->max, out);
    case K_READINGS:
        return check_items(e, f->name, v, f->max, true, out);
    case K_RESOURCES:
        return check_items(e, f->name, v, f->max, false, out);
    case K_URL:
        return check_url(e, f->name, v, true, out);
    }
    return bad(e, f->name, "%s: unsupported", f->name);
}

int directory_validate(json_t *in, bool create, json_t **out, char *field, size_t fieldlen,
                       char *msg, size_t msglen)
{
    struct verr e = {field, fieldlen, msg, msglen};
    json_t *res = NULL;
    const char *key;
    json_t *v;
    int rc = HV_EINVAL;

    *out = NULL;
    if (!json_is_object(in)) {
        rc = bad(&e, "", "expected a JSON object");
        goto out;
    }
    json_object_foreach(in, key, v) {
        bool known = false;
        for (size_t i = 0; i < HV_ARRAY_LEN(fields) && !known; i++)
            known = strcmp(fields[i].name, key) == 0;
        for (size_t i = 0; i < HV_ARRAY_LEN(read_only) && !known; i++)
            known = strcmp(read_only[i], key) == 0;
        if (!known) {
            char k[64];
            snprintf(k, sizeof(k), "%.60s", key);
            rc = bad(&e, k, "%s: unknown field", k);
            goto out;
        }
    }
    res = json_object();
    for (size_t i = 0; i < HV_ARRAY_LEN(fields); i++) {
        const struct fdef *f = &fields[i];
        json_t *given = json_object_get(in, f->name), *ok = NULL;
        if (!given) {
            if (create && f->required) {
                rc = bad(&e, f->name, "%s is required", f->name);
                goto out;
            }
            if (create && f->def)
                json_object_set_new(res, f->name, json_loads(f->def, JSON_DECODE_ANY, NULL));
            continue;
        }
        if ((rc = check_field(&e, f, given, &ok)))
            goto out;
        json_object_set_new(res, f->name, ok);
    }
    /* Consent about records: a closed meeting is not recorded unless the
     * group says so. */
    if (create && !json_object_get(res, "record_transcripts")) {
        bool closed = false;
        size_t i;
        json_array_foreach(json_object_get(res, "types"), i, v)
            closed |= strcmp(json_string_value(v), "C") == 0;
        json_object_set_new(res, "record_transcripts", json_boolean(!closed));
    }
    *out = res;
    res = NULL;
    rc = 0;
out:
    json_decref(res);
    return rc;
}

/* ---- statement parameters ---- */

void directory__params_set(struct directory__params *p, int i, const char *s)
{
    free(p->v[i]);
    p->v[i] = s ? xstrdup(s) : NULL;
    if (i + 1 > p->n)
        p->n = i + 1;
}

void directory__params_fill(struct directory__params *p, json_t *valid)
{
    memset(p, 0, sizeof(*p));
    p->n = DIRECTORY_NFIELDS;
    for (int i = 0; i < DIRECTORY_NFIELDS; i++) {
        json_t *v = json_object_get(valid, fields[i].name);
        struct buf b;
        size_t k;
        json_t *item;
        if (!v)
            continue;
        buf_init(&b);
        switch (fields[i].kind) {
        case K_DAYS:
        case K_TYPES:
            /* Array literals: days are digits and codes are [A-Za-z0-9],
             * so nothing needs quoting. */
            buf_adds(&b, "{");
            json_array_foreach(v, k, item) {
                if (k)
                    buf_adds(&b, ",");
                if (json_is_integer(item))
                    buf_printf(&b, "%lld", (long long)json_integer_value(item));
                else
                    buf_adds(&b, json_string_value(item));
            }
            buf_adds(&b, "}");
            break;
        case K_INT:
            buf_printf(&b, "%lld", (long long)json_integer_value(v));
            break;
        case K_BOOL:
            buf_adds(&b, json_is_true(v) ? "t" : "f");
            break;
        case K_READINGS:
        case K_RESOURCES: {
            char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
            buf_adds(&b, text);
            free(text);
            break;
        }
        default:
            buf_adds(&b, json_string_value(v));
            break;
        }
        directory__cstr(&b);
        p->v[i] = b.data;
    }
}

void directory__params_cleanup(struct directory__params *p)
{
    for (int i = 0; i < DIRECTORY_UPDATE_NPARAMS; i++) {
        free(p->v[i]);
        p->v[i] = NULL;
    }
    p->n = 0;
}
