/* Unit tests of codec: every client frame type, and the refusals. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "frame.h"

static const struct codec_limits lim = {.max_text_chars = 10};

static const char *decode_code(const char *text)
{
    static char code[64];
    struct msg m;
    struct codec_error err;
    if (codec_decode(text, strlen(text), &lim, &m, &err) == 0) {
        msg_cleanup(&m);
        return "ok";
    }
    snprintf(code, sizeof(code), "%s", err.code);
    codec_error_cleanup(&err);
    return code;
}

int main(void)
{
    struct msg m;
    struct codec_error err;

    const char *hello = "{\"type\":\"hello\",\"id\":7,\"name\":\"Sam\",\"visitor\":true}";
    CHECK_EQ_INT(codec_decode(hello, strlen(hello), &lim, &m, &err), 0);
    CHECK_EQ_INT(m.type, MSG_HELLO);
    CHECK_EQ_STR(m.name, "Sam");
    CHECK(m.visitor);
    CHECK_EQ_INT(json_integer_value(m.id), 7);
    msg_cleanup(&m);

    const char *say = "{\"type\":\"say\",\"id\":\"a\",\"client_msg_id\":\"c-1\",\"text\":\"héllo\"}";
    CHECK_EQ_INT(codec_decode(say, strlen(say), &lim, &m, &err), 0);
    CHECK_EQ_INT(m.type, MSG_SAY);
    CHECK_EQ_STR(m.text, "héllo");
    msg_cleanup(&m);

    CHECK_EQ_STR(decode_code("{\"type\":\"join\",\"after_seq\":0}"), "ok");
    CHECK_EQ_STR(decode_code("{\"type\":\"history\",\"before_seq\":5,\"limit\":200}"), "ok");
    CHECK_EQ_STR(decode_code("{\"type\":\"react\",\"client_msg_id\":\"x\",\"seq\":1,"
                             "\"reaction\":\"heart\"}"),
                 "ok");
    CHECK_EQ_STR(decode_code("{\"type\":\"ping\"}"), "ok");

    /* ten characters fit, eleven do not, counted as code points */
    CHECK_EQ_STR(decode_code("{\"type\":\"say\",\"client_msg_id\":\"c\",\"text\":\"ééééééééé é\"}"),
                 "too_long");
    CHECK_EQ_STR(decode_code("{\"type\":\"say\",\"client_msg_id\":\"c\",\"text\":\"éééééééééé\"}"),
                 "ok");
    CHECK_EQ_STR(decode_code("not json"), "bad_json");
    CHECK_EQ_STR(decode_code("[1,2]"), "bad_frame");
    CHECK_EQ_STR(decode_code("5"), "bad_frame");
    CHECK_EQ_STR(decode_code("null"), "bad_frame");
    CHECK_EQ_STR(decode_code("{\"id\":1}"), "bad_frame");
    CHECK_EQ_STR(decode_code("{\"type\":3}"), "bad_frame");
    CHECK_EQ_STR(decode_code("{\"type\":\"dance\"}"), "unknown_type");
    CHECK_EQ_STR(decode_code("{\"type\":\"hello\"}"), "missing_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"hello\",\"name\":5}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"hello\",\"name\":\"a\",\"token\":\"ABC\"}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"hello\",\"name\":\"a\",\"colour\":\"red\"}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"say\",\"client_msg_id\":\"c\",\"text\":\"  \\n \"}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"say\",\"client_msg_id\":\"a b\",\"text\":\"x\"}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"say\",\"client_msg_id\":\"\",\"text\":\"x\"}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"join\",\"after_seq\":-1}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"join\",\"after_seq\":1.5}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"history\",\"after_seq\":1,\"before_seq\":3}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"history\"}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"history\",\"after_seq\":1,\"limit\":201}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"react\",\"client_msg_id\":\"x\",\"seq\":1,"
                             "\"reaction\":\"angry\"}"),
                 "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"react\",\"client_msg_id\":\"x\",\"reaction\":\"hug\"}"),
                 "missing_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"ping\",\"id\":{}}"), "bad_field");
    CHECK_EQ_STR(decode_code("{\"type\":\"ping\",\"type\":\"ping\"}"), "bad_json");

    /* the request id comes back with the error */
    const char *bad = "{\"type\":\"say\",\"id\":\"r9\",\"client_msg_id\":\"c\"}";
    CHECK(codec_decode(bad, strlen(bad), &lim, &m, &err) != 0);
    CHECK_EQ_STR(json_string_value(err.id), "r9");
    CHECK_EQ_STR(err.field, "text");
    codec_error_cleanup(&err);

    /* event frames can be joined without re-encoding */
    struct frame *e1 = codec_event_frame(json_pack("{s:i}", "seq", 1));
    struct frame *e2 = codec_event_frame(json_pack("{s:i}", "seq", 2));
    CHECK_EQ_STR(frame_payload(e1), "{\"type\":\"event\",\"event\":{\"seq\":1}}");
    struct frame *fs[] = {e1, e2};
    struct frame *all = codec_frame_with_events(json_pack("{s:s}", "type", "events"), "events",
                                                fs, 2);
    CHECK_EQ_STR(frame_payload(all), "{\"type\":\"events\",\"events\":[{\"seq\":1},{\"seq\":2}]}");
    frame_unref(all);
    frame_unref(e1);
    frame_unref(e2);

    CHECK_EQ_INT(codec_utf8_chars("aé€😀", strlen("aé€😀")), 4);
    return check_done();
}
