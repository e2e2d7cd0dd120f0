#include "codec.h"

#include <string.h>

#include "frame.h"
#include "util.h"

static const char *const reactions[] = {"thanks", "heart", "hug", "strength", "clap"};

bool codec_reaction_valid(const char *r)
{
    for (size_t i = 0; i < HV_ARRAY_LEN(reactions); i++)
        if (strcmp(r, reactions[i]) == 0)
            return true;
    return false;
}

size_t codec_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static int bad(struct codec_error *err, const char *code, const char *field, const char *fmt,
               const char *arg)
{
    err->code = code;
    err->field = field;
    snprintf(err->message, sizeof(err->message), fmt, arg);
    return HV_EINVAL;
}

/* Fetch an optional member of the given JSON type. */
static json_t *member(json_t *root, const char *key, json_type type, bool required,
                      struct codec_error *err, int *rc)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        if (required)
            *rc = bad(err, "missing_field", key, "the field \"%s\" is required", key);
        return NULL;
    }
    if (json_typeof(v) != type && !(type == JSON_TRUE && json_is_boolean(v))) {
        *rc = bad(err, "bad_field", key, "the field \"%s\" has the wrong type", key);
        return NULL;
    }
    return v;
}

static int get_seq(json_t *root, const char *key, int64_t min, bool *has, int64_t *out,
                   struct codec_error *err)
{
    int rc = 0;
    json_t *v = member(root, key, JSON_INTEGER, false, err, &rc);
    if (rc)
        return rc;
    *has = v != NULL;
    if (!v)
        return 0;
    if (json_integer_value(v) < min)
        return bad(err, "bad_field", key, "the field \"%s\" is out of range", key);
    *out = json_integer_value(v);
    return 0;
}

static bool only_space(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s))
            return false;
    return true;
}

static int get_client_msg_id(json_t *root, struct msg *m, struct codec_error *err)
{
    int rc = 0;
    json_t *v = member(root, "client_msg_id", JSON_STRING, true, err, &rc);
    if (rc)
        return rc;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 1 || n > 64)
        return bad(err, "bad_field", "client_msg_id",
                   "client_msg_id must be 1 to 64 characters%s", "");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return bad(err, "bad_field", "client_msg_id",
                       "client_msg_id may hold only letters, digits, _ and -%s", "");
    }
    m->client_msg_id = s;
    return 0;
}

/* Every key a frame type may carry; anything else is refused, so a client
 * learns at once about a misspelt field instead of it being ignored. */
static int check_keys(json_t *root, const char *const *allowed, struct codec_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        bool ok = strcmp(key, "type") == 0 || strcmp(key, "id") == 0;
        for (int i = 0; !ok && allowed[i]; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            err->code = "bad_field";
            err->field = NULL;
            snprintf(err->message, sizeof(err->message), "unknown field \"%.40s\"", key);
            return HV_EINVAL;
        }
    }
    return 0;
}

int codec_decode(const char *data, size_t len, const struct codec_limits *lim, struct msg *m,
                 struct codec_error *err)
{
    json_error_t jerr;
    json_t *root;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    memset(err, 0, sizeof(*err));
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        /* The position only: jansson's text quotes the input back. */
        err->code = "bad_json";
        snprintf(err->message, sizeof(err->message), "not valid JSON (line %d, column %d)",
                 jerr.line, jerr.column);
        return HV_EINVAL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return bad(err, "bad_frame", NULL, "a frame must be a JSON object%s", "");
    }
    m->root = root;

    json_t *id = json_object_get(root, "id");
    if (id) {
        bool ok = (json_is_string(id) && json_string_length(id) >= 1 &&
                   json_string_length(id) <= 64) ||
                  json_is_integer(id);
        if (!ok) {
            rc = bad(err, "bad_field", "id", "id must be an integer or a string of 1 to 64 "
                                             "characters%s", "");
            goto out;
        }
        m->id = id;
        err->id = json_incref(id);
    }

    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type)) {
        rc = bad(err, "bad_frame", "type", "a frame needs a string \"type\"%s", "");
        goto out;
    }
    const char *t = json_string_value(type);

    if (strcmp(t, "hello") == 0) {
        static const char *const keys[] = {"name", "token", "visitor", NULL};
        m->type = MSG_HELLO;
        if ((rc = check_keys(root, keys, err)))
            goto out;
        json_t *v = member(root, "name", JSON_STRING, true, err, &rc);
        if (rc)
            goto out;
        m->name = json_string_value(v);
        v = member(root, "token", JSON_STRING, false, err, &rc);
        if (rc)
            goto out;
        if (v) {
            const char *tok = json_string_value(v);
            bool ok = json_string_length(v) == 64;
            for (size_t i = 0; ok && i < 64; i++)
                ok = (tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f');
            if (!ok) {
                rc = bad(err, "bad_field", "token", "token must be 64 lower-case hex digits%s",
                         "");
                goto out;
            }
            m->token = tok;
        }
        v = member(root, "visitor", JSON_TRUE, false, err, &rc);
        if (rc)
            goto out;
        m->visitor = v && json_is_true(v);
    } else if (strcmp(t, "join") == 0) {
        static const char *const keys[] = {"after_seq", NULL};
        m->type = MSG_JOIN;
        if ((rc = check_keys(root, keys, err)) ||
            (rc = get_seq(root, "after_seq", 0, &m->has_after, &m->after_seq, err)))
            goto out;
    } else if (strcmp(t, "leave") == 0) {
        static const char *const keys[] = {NULL};
        m->type = MSG_LEAVE;
        rc = check_keys(root, keys, err);
    } else if (strcmp(t, "ping") == 0) {
        static const char *const keys[] = {NULL};
        m->type = MSG_PING;
        rc = check_keys(root, keys, err);
    } else if (strcmp(t, "say") == 0) {
        static const char *const keys[] = {"client_msg_id", "text", NULL};
        m->type = MSG_SAY;
        if ((rc = check_keys(root, keys, err)) || (rc = get_client_msg_id(root, m, err)))
            goto out;
        json_t *v = member(root, "text", JSON_STRING, true, err, &rc);
        if (rc)
            goto out;
        m->text = json_string_value(v);
        size_t chars = codec_utf8_chars(m->text, json_string_length(v));
        if (chars == 0 || only_space(m->text)) {
            rc = bad(err, "bad_field", "text", "the text is empty%s", "");
            goto out;
        }
        if (chars > (size_t)lim->max_text_chars) {
            err->code = "too_long";
            err->field = "text";
            snprintf(err->message, sizeof(err->message),
                     "the text has %zu characters; the limit is %d", chars, lim->max_text_chars);
            rc = HV_EINVAL;
            goto out;
        }
    } else if (strcmp(t, "react") == 0) {
        static const char *const keys[] = {"client_msg_id", "seq", "reaction", NULL};
        bool has = false;
        m->type = MSG_REACT;
        if ((rc = check_keys(root, keys, err)) || (rc = get_client_msg_id(root, m, err)) ||
            (rc = get_seq(root, "seq", 1, &has, &m->target_seq, err)))
            goto out;
        if (!has) {
            rc = bad(err, "missing_field", "seq", "the field \"%s\" is required", "seq");
            goto out;
        }
        json_t *v = member(root, "reaction", JSON_STRING, true, err, &rc);
        if (rc)
            goto out;
        m->reaction = json_string_value(v);
        if (!codec_reaction_valid(m->reaction)) {
            rc = bad(err, "bad_field", "reaction",
                     "reaction must be one of thanks, heart, hug, strength, clap%s", "");
            goto out;
        }
    } else if (strcmp(t, "history") == 0) {
        static const char *const keys[] = {"before_seq", "after_seq", "limit", NULL};
        bool has_limit = false;
        int64_t limit = 50;
        m->type = MSG_HISTORY;
        if ((rc = check_keys(root, keys, err)) ||
            (rc = get_seq(root, "before_seq", 1, &m->has_before, &m->before_seq, err)) ||
            (rc = get_seq(root, "after_seq", 0, &m->has_after, &m->after_seq, err)) ||
            (rc = get_seq(root, "limit", 1, &has_limit, &limit, err)))
            goto out;
        if (m->has_before == m->has_after) {
            rc = bad(err, "bad_field", "before_seq",
                     "give exactly one of before_seq and after_seq%s", "");
            goto out;
        }
        if (limit > 200) {
            rc = bad(err, "bad_field", "limit", "limit must be from 1 to 200%s", "");
            goto out;
        }
        m->limit = (int)limit;
    } else {
        err->code = "unknown_type";
        err->field = "type";
        snprintf(err->message, sizeof(err->message), "unknown frame type \"%.40s\"", t);
        rc = HV_EINVAL;
    }
out:
    if (rc) {
        msg_cleanup(m);
        return rc;
    }
    json_decref(err->id);
    err->id = NULL;
    return 0;
}

void msg_cleanup(struct msg *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}

void codec_error_cleanup(struct codec_error *err)
{
    json_decref(err->id);
    err->id = NULL;
}

struct frame *codec_frame(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    struct frame *f = frame_new(text, strlen(text));
    free(text);
    json_decref(obj);
    return f;
}

struct frame *codec_error_frame(json_t *id, const char *code, const char *message,
                                const char *field, int64_t retry_after_ms)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message);
    if (id)
        json_object_set(o, "id", id);
    if (field)
        json_object_set_new(o, "field", json_string(field));
    if (retry_after_ms >= 0)
        json_object_set_new(o, "retry_after_ms", json_integer(retry_after_ms));
    return codec_frame(o);
}

struct frame *codec_event_frame(json_t *event)
{
    static const char prefix[] = "{\"type\":\"event\",\"event\":";
    char *inner = json_dumps(event, JSON_COMPACT);
    size_t n = strlen(inner);
    struct buf b;
    buf_init(&b);
    buf_add(&b, prefix, sizeof(prefix) - 1);
    buf_add(&b, inner, n);
    buf_add(&b, "}", 1);
    struct frame *f = frame_new(b.data, b.len);
    f->inner_off = sizeof(prefix) - 1;
    f->inner_len = n;
    f->events = 1;
    buf_cleanup(&b);
    free(inner);
    json_decref(event);
    return f;
}

struct frame *codec_frame_with_events(json_t *obj, const char *key, struct frame *const *events,
                                      int n)
{
    char *head = json_dumps(obj, JSON_COMPACT);
    size_t hl = strlen(head);
    struct buf b;
    buf_init(&b);
    /* head is a non-empty object "{...}": replace its closing brace. */
    buf_add(&b, head, hl - 1);
    buf_printf(&b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_add(&b, ",", 1);
        buf_add(&b, frame_payload(events[i]) + events[i]->inner_off, events[i]->inner_len);
    }
    buf_add(&b, "]}", 2);
    struct frame *f = frame_new(b.data, b.len);
    f->events = n;
    buf_cleanup(&b);
    free(head);
    json_decref(obj);
    return f;
}
