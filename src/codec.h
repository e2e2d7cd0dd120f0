/*
 * codec: client frames in, server frames out, for protocol haven.v1.
 *
 * codec_decode() parses one client text frame with jansson and validates it
 * completely (types, ranges, lengths, characters) before anything acts on it;
 * a failure fills a codec_error with a stable code from proto/PROTOCOL.md, a
 * human message, the offending field and the request id when one was given.
 * The encoders build server frames as refcounted struct frame.  No I/O.
 */
#ifndef HAVEN_CODEC_H
#define HAVEN_CODEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame;

enum msg_type {
    MSG_HELLO, MSG_JOIN, MSG_LEAVE, MSG_SAY, MSG_REACT, MSG_HISTORY, MSG_PING,
    /* running a session */
    MSG_START, MSG_END, MSG_ADMIT, MSG_SEND_TO_WAITING, MSG_SETTINGS, MSG_HAND, MSG_CALL,
    MSG_END_SHARE, MSG_READING, MSG_TOPIC, MSG_MUTE, MSG_REMOVE, MSG_DELETE, MSG_GRANT,
    MSG_HAND_OVER, MSG_PRIVATE, MSG_REPORT, MSG_HELP,
    /* group conscience */
    MSG_VOTE_OPEN, MSG_VOTE, MSG_VOTE_CLOSE,
};

struct codec_limits {
    int max_text_chars;
};

struct msg {
    enum msg_type type;
    json_t *root;      /* owned; strings below are borrowed from it */
    json_t *id;        /* borrowed; NULL when absent */
    const char *name;  /* hello */
    const char *token; /* hello, may be NULL */
    bool visitor;      /* hello */
    bool has_after, has_before;
    int64_t after_seq, before_seq; /* join, history */
    int limit;                     /* history */
    const char *client_msg_id;     /* say, react */
    const char *text;              /* say */
    bool off_record;               /* say: delivered live, its text never stored */
    int64_t target_seq;            /* react */
    const char *reaction;          /* react */
    int member;                    /* admit, mute, remove, grant, call, ... (0: none) */
    bool flag;                     /* hand: raised; mute: muted; admit: all */
    const char *word;              /* reading action, remove ban, grant role */
    json_t *settings;              /* settings: the validated object (borrowed) */
    bool to_chairs;                /* private: to the chairs, not a member */
    json_t *options;               /* vote_open: 2 to 6 strings (borrowed) */
    int option;                    /* vote: index into the options */
};

struct codec_error {
    const char *code;  /* static string */
    const char *field; /* static string or NULL */
    char message[200];
    json_t *id;        /* new reference or NULL */
};

/* Decode and validate.  0 with *m filled (msg_cleanup() it), or HV_EINVAL
 * with *err filled (codec_error_cleanup() it). */
int codec_decode(const char *data, size_t len, const struct codec_limits *lim, struct msg *m,
                 struct codec_error *err);
void msg_cleanup(struct msg *m);
void codec_error_cleanup(struct codec_error *err);

/* Number of Unicode code points in valid UTF-8. */
size_t codec_utf8_chars(const char *s, size_t len);
bool codec_reaction_valid(const char *r);

/* A new frame from a JSON object (steals obj). */
struct frame *codec_frame(json_t *obj);
/* An error frame; id is borrowed and may be NULL; retry_after_ms < 0 omits it. */
struct frame *codec_error_frame(json_t *id, const char *code, const char *message,
                                const char *field, int64_t retry_after_ms);
/* An "event" frame around an Event object (steals event); the frame records
 * where the Event object lies so it can be reused in other frames. */
struct frame *codec_event_frame(json_t *event);
/* A frame made of obj (steals it) plus a member `key` that is the array of the
 * Event objects of the given event frames (borrowed). */
struct frame *codec_frame_with_events(json_t *obj, const char *key, struct frame *const *events,
                                      int n);

#endif
