#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct frame *frame_new(const char *payload, size_t len)
{
    struct frame *f = xmalloc(sizeof(*f) + FRAME_PRE + len + 1);
    f->refs = 1;
    f->len = len;
    f->inner_off = f->inner_len = 0;
    f->events = 0;
    memcpy(f->data + FRAME_PRE, payload, len);
    f->data[FRAME_PRE + len] = '\0';
    return f;
}

struct frame *frame_ref(struct frame *f)
{
    f->refs++;
    return f;
}

void frame_unref(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}
