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

/* Bytes of s to quote in a message: at most max, never cutting a UTF-8
 * sequence in two (a cut one would make the whole error frame invalid). */
static int quote_len(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
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
            snprintf(err->message, sizeof(err->message), "unknown field \"%.*s\"",
                     quote_len(key, 40), key);
            return HV_EINVAL;
        }
    }
    return 0;
}

static int get_member(json_t *root, bool required, struct msg *m, struct codec_error *err)
{
    bool has = false;
    int64_t v = 0;
    int rc = get_seq(root, "member", 1, &has, &v, err);
    if (rc)
        return rc;
    if (!has && required)
        return bad(err, "missing_field", "member", "the field \"%s\" is required", "member");
    if (v > 1000000)
        return bad(err, "bad_field", "member", "the field \"%s\" is out of range", "member");
    m->member = (int)v;
    return 0;
}

static int get_bool(json_t *root, const char *key, bool required, bool *out,
                    struct codec_error *err)
{
    int rc = 0;
    json_t *v = member(root, key, JSON_TRUE, required, err, &rc);
    if (!rc && v)
        *out = json_is_true(v);
    return rc;
}

static int get_word(json_t *root, const char *key, const char *const *allowed, struct msg *m,
                    struct codec_error *err)
{
    int rc = 0;
    json_t *v = member(root, key, JSON_STRING, true, err, &rc);
    if (rc)
        return rc;
    for (int i = 0; allowed[i]; i++)
        if (strcmp(json_string_value(v), allowed[i]) == 0) {
            m->word = json_string_value(v);
            return 0;
        }
    return bad(err, "bad_field", key, "the field \"%s\" has a value that is not allowed", key);
}

/* Text of a private message, topic, report reason or help note: optional or
 * required, with a length limit in characters, not only white space. */
static int get_text(json_t *root, const char *key, bool required, size_t max, struct msg *m,
                    struct codec_error *err)
{
    int rc = 0;
    json_t *v = member(root, key, JSON_STRING, required, err, &rc);
    if (rc || !v)
        return rc;
    size_t chars = codec_utf8_chars(json_string_value(v), json_string_length(v));
    if (required && (chars == 0 || only_space(json_string_value(v))))
        return bad(err, "bad_field", key, "the field \"%s\" is empty", key);
    if (chars > max) {
        err->code = "too_long";
        err->field = key;
        snprintf(err->message, sizeof(err->message), "%s has %zu characters; the limit is %zu",
                 key, chars, max);
        return HV_EINVAL;
    }
    m->text = json_string_value(v);
    return 0;
}

static int check_settings(json_t *obj, struct codec_error *err)
{
    static const char *const flags[] = {"auto_admit", "locked", "hide_members", "crosstalk",
                                        "chat_locked", "dms", "visitors_may_post",
                                        "end_share_at_limit", "auto_call", NULL};
    const char *key;
    json_t *v;
    if (!json_object_size(obj))
        return bad(err, "bad_field", "settings", "give at least one setting to change%s", "");
    json_object_foreach(obj, key, v) {
        bool known = false;
        for (int i = 0; flags[i]; i++)
            if (strcmp(key, flags[i]) == 0) {
                known = true;
                if (!json_is_boolean(v))
                    return bad(err, "bad_field", "settings", "setting \"%s\" must be true or false",
                               flags[i]);
            }
        if (strcmp(key, "slow_mode_secs") == 0) {
            known = true;
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3600)
                return bad(err, "bad_field", "settings",
                           "slow_mode_secs must be an integer from 0 to 3600%s", "");
        }
        if (strcmp(key, "share_limit_secs") == 0) {
            known = true;
            if (!json_is_integer(v) || json_integer_value(v) < 2 || json_integer_value(v) > 3600)
                return bad(err, "bad_field", "settings",
                           "share_limit_secs must be an integer from 2 to 3600%s", "");
        }
        if (!known) {
            err->code = "bad_field";
            err->field = "settings";
            snprintf(err->message, sizeof(err->message), "unknown setting \"%.*s\"",
                     quote_len(key, 40), key);
            return HV_EINVAL;
        }
    }
    return 0;
}

/* The chairing frames.  Returns 1 when t is none of them. */
static int decode_chair(json_t *root, const char *t, const struct codec_limits *lim,
                        struct msg *m, struct codec_error *err)
{
    static const char *const none[] = {NULL};
    int rc;
    bool has = false;

    if (strcmp(t, "start") == 0 || strcmp(t, "end") == 0 || strcmp(t, "end_share") == 0) {
        m->type = t[0] == 's' ? MSG_START : strcmp(t, "end") == 0 ? MSG_END : MSG_END_SHARE;
        return check_keys(root, none, err);
    }
    if (strcmp(t, "admit") == 0) {
        static const char *const keys[] = {"member", "all", NULL};
        m->type = MSG_ADMIT;
        if ((rc = check_keys(root, keys, err)) || (rc = get_member(root, false, m, err)) ||
            (rc = get_bool(root, "all", false, &m->flag, err)))
            return rc;
        if (!m->member == !m->flag)
            return bad(err, "bad_field", "member", "give either member or all: true%s", "");
        return 0;
    }
    if (strcmp(t, "send_to_waiting") == 0 || strcmp(t, "hand_over") == 0) {
        static const char *const keys[] = {"member", NULL};
        m->type = t[0] == 's' ? MSG_SEND_TO_WAITING : MSG_HAND_OVER;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        return get_member(root, true, m, err);
    }
    if (strcmp(t, "call") == 0) {
        static const char *const keys[] = {"member", NULL};
        m->type = MSG_CALL;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        return get_member(root, false, m, err);
    }
    if (strcmp(t, "settings") == 0) {
        static const char *const keys[] = {"settings", NULL};
        m->type = MSG_SETTINGS;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        json_t *v = member(root, "settings", JSON_OBJECT, true, err, &rc);
        if (rc || (rc = check_settings(v, err)))
            return rc;
        m->settings = v;
        return 0;
    }
    if (strcmp(t, "hand") == 0) {
        static const char *const keys[] = {"raised", NULL};
        m->type = MSG_HAND;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        return get_bool(root, "raised", true, &m->flag, err);
    }
    if (strcmp(t, "reading") == 0) {
        static const char *const keys[] = {"action", NULL};
        static const char *const actions[] = {"next", "previous", "skip", NULL};
        m->type = MSG_READING;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        return get_word(root, "action", actions, m, err);
    }
    if (strcmp(t, "topic") == 0) {
        static const char *const keys[] = {"text", NULL};
        m->type = MSG_TOPIC;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        json_t *v = member(root, "text", JSON_STRING, true, err, &rc);
        if (rc)
            return rc;
        if (codec_utf8_chars(json_string_value(v), json_string_length(v)) > 200) {
            err->code = "too_long";
            err->field = "text";
            snprintf(err->message, sizeof(err->message), "a topic has at most 200 characters");
            return HV_EINVAL;
        }
        m->text = json_string_value(v);
        return 0;
    }
    if (strcmp(t, "mute") == 0) {
        static const char *const keys[] = {"member", "muted", NULL};
        m->type = MSG_MUTE;
        if ((rc = check_keys(root, keys, err)) || (rc = get_member(root, true, m, err)))
            return rc;
        return get_bool(root, "muted", true, &m->flag, err);
    }
    if (strcmp(t, "remove") == 0) {
        static const char *const keys[] = {"member", "ban", NULL};
        static const char *const bans[] = {"none", "session", "forever", NULL};
        m->type = MSG_REMOVE;
        if ((rc = check_keys(root, keys, err)) || (rc = get_member(root, true, m, err)))
            return rc;
        if (!json_object_get(root, "ban")) {
            m->word = "none";
            return 0;
        }
        return get_word(root, "ban", bans, m, err);
    }
    if (strcmp(t, "delete") == 0 || strcmp(t, "report") == 0) {
        static const char *const dkeys[] = {"seq", NULL};
        static const char *const rkeys[] = {"seq", "reason", NULL};
        m->type = t[0] == 'd' ? MSG_DELETE : MSG_REPORT;
        if ((rc = check_keys(root, m->type == MSG_DELETE ? dkeys : rkeys, err)) ||
            (rc = get_seq(root, "seq", 1, &has, &m->target_seq, err)))
            return rc;
        if (!has)
            return bad(err, "missing_field", "seq", "the field \"%s\" is required", "seq");
        return m->type == MSG_REPORT ? get_text(root, "reason", false, 500, m, err) : 0;
    }
    if (strcmp(t, "grant") == 0) {
        static const char *const keys[] = {"member", "role", NULL};
        static const char *const roles[] = {"co-chair", "greeter", "attendee", NULL};
        m->type = MSG_GRANT;
        if ((rc = check_keys(root, keys, err)) || (rc = get_member(root, true, m, err)))
            return rc;
        return get_word(root, "role", roles, m, err);
    }
    if (strcmp(t, "private") == 0) {
        static const char *const keys[] = {"to", "text", NULL};
        m->type = MSG_PRIVATE;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        json_t *to = json_object_get(root, "to");
        if (!to)
            return bad(err, "missing_field", "to", "the field \"%s\" is required", "to");
        if (json_is_string(to) && strcmp(json_string_value(to), "chairs") == 0) {
            m->to_chairs = true;
        } else if (json_is_integer(to) && json_integer_value(to) >= 1 &&
                   json_integer_value(to) <= 1000000) {
            m->member = (int)json_integer_value(to);
        } else {
            return bad(err, "bad_field", "to", "to must be \"chairs\" or a member number%s", "");
        }
        return get_text(root, "text", true, (size_t)lim->max_text_chars, m, err);
    }
    if (strcmp(t, "vote_open") == 0) {
        static const char *const keys[] = {"question", "options", NULL};
        m->type = MSG_VOTE_OPEN;
        if ((rc = check_keys(root, keys, err)) ||
            (rc = get_text(root, "question", true, 300, m, err)))
            return rc;
        json_t *v = member(root, "options", JSON_ARRAY, true, err, &rc);
        if (rc)
            return rc;
        size_t n = json_array_size(v), i;
        json_t *o;
        if (n < 2 || n > 6)
            return bad(err, "bad_field", "options", "a vote has 2 to 6 options%s", "");
        json_array_foreach(v, i, o) {
            size_t chars = json_is_string(o) ? codec_utf8_chars(json_string_value(o),
                                                                json_string_length(o))
                                             : 0;
            if (!json_is_string(o) || chars == 0 || chars > 80 || only_space(json_string_value(o)))
                return bad(err, "bad_field", "options",
                           "each option is a text of 1 to 80 characters%s", "");
        }
        m->options = v;
        return 0;
    }
    if (strcmp(t, "vote") == 0 || strcmp(t, "vote_close") == 0) {
        static const char *const vkeys[] = {"vote", "option", NULL};
        static const char *const ckeys[] = {"vote", NULL};
        m->type = t[4] ? MSG_VOTE_CLOSE : MSG_VOTE;
        int64_t opt = 0;
        bool has_opt = false;
        if ((rc = check_keys(root, m->type == MSG_VOTE ? vkeys : ckeys, err)) ||
            (rc = get_seq(root, "vote", 1, &has, &m->target_seq, err)))
            return rc;
        if (!has)
            return bad(err, "missing_field", "vote", "the field \"%s\" is required", "vote");
        if (m->type == MSG_VOTE) {
            if ((rc = get_seq(root, "option", 0, &has_opt, &opt, err)))
                return rc;
            if (!has_opt)
                return bad(err, "missing_field", "option", "the field \"%s\" is required",
                           "option");
            if (opt > 5)
                return bad(err, "bad_field", "option", "no such option%s", "");
            m->option = (int)opt;
        }
        return 0;
    }
    if (strcmp(t, "help") == 0) {
        static const char *const keys[] = {"text", NULL};
        m->type = MSG_HELP;
        if ((rc = check_keys(root, keys, err)))
            return rc;
        return get_text(root, "text", false, 500, m, err);
    }
    return 1;
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
        static const char *const keys[] = {"client_msg_id", "text", "off_record", NULL};
        m->type = MSG_SAY;
        if ((rc = check_keys(root, keys, err)) || (rc = get_client_msg_id(root, m, err)) ||
            (rc = get_bool(root, "off_record", false, &m->off_record, err)))
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
    } else if ((rc = decode_chair(root, t, lim, m, err)) != 1) {
        goto out;
    } else {
        rc = 0;
        err->code = "unknown_type";
        err->field = "type";
        snprintf(err->message, sizeof(err->message), "unknown frame type \"%.*s\"",
                 quote_len(t, 40), t);
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
    static const char fallback[] =
        "{\"type\":\"error\",\"code\":\"internal\",\"message\":\"the server could not encode "
        "its answer\"}";
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (!text) /* a value jansson refused (never expected): say so, never crash */
        return frame_new(fallback, sizeof(fallback) - 1);
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
