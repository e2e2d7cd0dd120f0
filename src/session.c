#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "metrics.h"

static struct session_hooks hooks;
static uint64_t next_id = 1;
static struct session *reap_list;

/* id -> session, open addressing with linear probing; ids are never reused
 * and deleted slots are marked so probes continue past them. */
static struct slot {
    uint64_t id;
    struct session *s;
} *table;
static size_t table_cap, table_used, table_live;
#define TOMBSTONE ((struct session *)1)

static size_t slot_of(uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (table_cap - 1);
}

static void table_put(uint64_t id, struct session *s);

static void table_grow(void)
{
    struct slot *old = table;
    size_t old_cap = table_cap;
    /* Rehashing drops the tombstones, so the size follows the live count. */
    table_cap = 1024;
    while (table_live * 4 >= table_cap)
        table_cap *= 2;
    table = xcalloc(table_cap, sizeof(*table));
    table_used = table_live = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].s && old[i].s != TOMBSTONE)
            table_put(old[i].id, old[i].s);
    free(old);
}

static void table_put(uint64_t id, struct session *s)
{
    if ((table_used + 1) * 2 > table_cap)
        table_grow();
    size_t i = slot_of(id);
    while (table[i].s)
        i = (i + 1) & (table_cap - 1);
    table[i].id = id;
    table[i].s = s;
    table_used++;
    table_live++;
}

static struct slot *table_get(uint64_t id)
{
    if (!table_cap)
        return NULL;
    for (size_t i = slot_of(id);; i = (i + 1) & (table_cap - 1)) {
        if (!table[i].s)
            return NULL;
        if (table[i].id == id && table[i].s != TOMBSTONE)
            return &table[i];
    }
}

void session_set_hooks(const struct session_hooks *h)
{
    hooks = *h;
}

struct session *session_new(int send_queue_max)
{
    struct session *s = xcalloc(1, sizeof(*s));
    s->id = next_id++;
    s->qmax = send_queue_max;
    s->qcap = 8;
    s->q = xcalloc((size_t)s->qcap, sizeof(*s->q));
    s->tokens = -1; /* filled to the burst on first use */
    buf_init(&s->rx);
    table_put(s->id, s);
    return s;
}

struct session *session_find(uint64_t id)
{
    struct slot *sl = table_get(id);
    return sl ? sl->s : NULL;
}

size_t session_count(void)
{
    return table_live;
}

static void drop_queue(struct session *s)
{
    struct frame *f;
    while ((f = session_pop(s))) {
        metrics_inc(METRICS_WS_DROPPED_FRAMES);
        frame_unref(f);
    }
}

void session_send(struct session *s, struct frame *f)
{
    if (s->closing || s->released)
        return;
    if (s->qlen >= s->qmax) {
        /* A gentle close in progress still gives way to this one. */
        metrics_inc(METRICS_WS_SLOW_CLOSES);
        metrics_inc(METRICS_WS_DROPPED_FRAMES);
        s->closing = false;
        session_close(s, 1013, "receiving too slowly");
        return;
    }
    if (s->qlen == s->qcap) {
        struct frame **q = xcalloc((size_t)s->qcap * 2, sizeof(*q));
        for (int i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        free(s->q);
        s->q = q;
        s->qhead = 0;
        s->qcap *= 2;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = frame_ref(f);
    s->qlen++;
    if (s->qlen == 1 && hooks.want_write)
        hooks.want_write(s);
}

void session_send_error(struct session *s, json_t *id, const char *code, const char *message,
                        const char *field, int64_t retry_after_ms)
{
    struct frame *f = codec_error_frame(id, code, message, field, retry_after_ms);
    session_send(s, f);
    frame_unref(f);
}

struct frame *session_pop(struct session *s)
{
    if (!s->qlen)
        return NULL;
    struct frame *f = s->q[s->qhead];
    s->q[s->qhead] = NULL;
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    return f;
}

static void begin_close(struct session *s, int code, const char *reason, bool flush)
{
    if (s->closing || s->released)
        return;
    s->closing = true;
    s->close_after_flush = flush;
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
    if (!flush)
        drop_queue(s);
    if (hooks.want_write)
        hooks.want_write(s);
}

void session_close(struct session *s, int code, const char *reason)
{
    begin_close(s, code, reason, false);
}

void session_close_gently(struct session *s, int code, const char *reason)
{
    begin_close(s, code, reason, true);
}

bool session_rate_take(struct session *s, uint64_t now_ms, double rate, int burst,
                       int64_t *retry_after_ms)
{
    if (s->tokens < 0) {
        s->tokens = burst;
        s->refill_ms = now_ms;
    }
    s->tokens += (double)(now_ms - s->refill_ms) * rate / 1000.0;
    if (s->tokens > burst)
        s->tokens = burst;
    s->refill_ms = now_ms;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return true;
    }
    metrics_inc(METRICS_WS_RATE_LIMITED);
    *retry_after_ms = (int64_t)((1.0 - s->tokens) * 1000.0 / rate) + 1;
    return false;
}

void session_release(struct session *s)
{
    if (s->released)
        return;
    s->released = true;
    s->transport = NULL;
    struct slot *sl = table_get(s->id);
    if (sl) {
        sl->s = TOMBSTONE;
        table_live--;
    }
    s->next_reap = reap_list;
    reap_list = s;
}

void session_reap(void)
{
    while (reap_list) {
        struct session *s = reap_list;
        reap_list = s->next_reap;
        drop_queue(s);
        free(s->q);
        buf_cleanup(&s->rx);
        free(s);
    }
}

void session_foreach(void (*fn)(struct session *s, void *arg), void *arg)
{
    for (size_t i = 0; i < table_cap; i++)
        if (table[i].s && table[i].s != TOMBSTONE)
            fn(table[i].s, arg);
}

void session_cleanup_all(void)
{
    session_reap();
    free(table);
    table = NULL;
    table_cap = table_used = table_live = 0;
}
