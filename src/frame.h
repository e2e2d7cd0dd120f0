/*
 * frame: an encoded outbound WebSocket text frame, shared by every recipient.
 *
 * A frame is encoded once and refcounted; each recipient's send queue holds a
 * reference.  FRAME_PRE bytes of headroom precede the payload for the
 * transport's frame header (ws.c checks it covers LWS_PRE).  An event frame
 * also records where its inner Event object lies, so several events can be
 * joined into one "events" frame without encoding them again.
 */
#ifndef HAVEN_FRAME_H
#define HAVEN_FRAME_H

#include <stddef.h>

#define FRAME_PRE 32

struct frame {
    int refs;
    size_t len;        /* payload bytes */
    size_t inner_off;  /* Event object inside the payload, or 0/0 */
    size_t inner_len;
    int events;        /* number of Events the frame carries */
    char data[];       /* FRAME_PRE headroom, payload, NUL */
};

/* A new frame (one reference) holding a copy of payload. */
struct frame *frame_new(const char *payload, size_t len);
struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);
static inline const char *frame_payload(const struct frame *f)
{
    return f->data + FRAME_PRE;
}
static inline char *frame_payload_mut(struct frame *f)
{
    return f->data + FRAME_PRE;
}

#endif
