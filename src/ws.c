#include "ws.h"

#include <string.h>

#include "config.h"
#include "frame.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "util.h"

_Static_assert(LWS_PRE <= FRAME_PRE, "FRAME_PRE must cover LWS_PRE");

/* Events joined into one frame at most, and their bytes. */
#define COALESCE_MAX 64
#define COALESCE_BYTES (64 * 1024)

/* Keepalive (instead of lws's retry_and_idle_policy, whose idle check costs
 * time quadratic in the number of connections: BENCHMARKS.md).  Every
 * connection is on one of two lists, each with one fixed delay, so appending
 * at the tail keeps a list sorted by deadline and every step is O(1):
 * "quiet" (deadline: last sign of life + ws.ping_interval_secs) and "pinged"
 * (deadline: ping sent + ws.ping_timeout_secs - ws.ping_interval_secs).  A
 * timer moves due quiet connections to "pinged" with a ping to write, and drops
 * due pinged ones.  A pong, or any frame received, puts a connection back at
 * the tail of "quiet".  Pings carry 8 ASCII bytes (the session id in hex):
 * lws 4.1.6 hands only pongs with a payload to LWS_CALLBACK_RECEIVE_PONG. */
struct pss {
    struct session *s;
    struct lws *wsi;
    struct pss *ka_prev, *ka_next;
    struct ka_list *ka_on; /* the list it is on, or NULL */
    uint64_t ka_due;       /* ms, monotonic */
    bool ping_due;
};

struct ka_list {
    struct pss *head, *tail;
};

static struct live *live;
static const struct config *cfg;
static int ws_count;
static char ws_marker;
static struct buf out; /* coalescing buffer, LWS_PRE headroom first */
static struct ka_list ka_quiet, ka_pinged;
static uv_timer_t ka_timer;
static bool ka_started;
static bool in_direct_write;

static int writable(struct lws *wsi, struct pss *pss);

static void ka_unlink(struct pss *p)
{
    struct ka_list *l = p->ka_on;
    if (!l)
        return;
    if (p->ka_prev)
        p->ka_prev->ka_next = p->ka_next;
    else
        l->head = p->ka_next;
    if (p->ka_next)
        p->ka_next->ka_prev = p->ka_prev;
    else
        l->tail = p->ka_prev;
    p->ka_prev = p->ka_next = NULL;
    p->ka_on = NULL;
}

static void ka_append(struct ka_list *l, struct pss *p, uint64_t due)
{
    ka_unlink(p);
    p->ka_due = due;
    p->ka_prev = l->tail;
    p->ka_next = NULL;
    if (l->tail)
        l->tail->ka_next = p;
    else
        l->head = p;
    l->tail = p;
    p->ka_on = l;
}

/* A sign of life from the peer: the next ping is an interval away. */
static void ka_alive(struct pss *p)
{
    ka_append(&ka_quiet, p, util_mono_ms() + (uint64_t)cfg->ws_ping_interval_secs * 1000u);
}

static void on_ka_tick(uv_timer_t *t)
{
    uint64_t now = util_mono_ms();
    struct pss *p;
    (void)t;
    while ((p = ka_pinged.head) && p->ka_due <= now) {
        ka_unlink(p);
        log_debug("ws", "session %llu did not answer a ping: dropped",
                  p->s ? (unsigned long long)p->s->id : 0ull);
        /* No close frame: the peer is not listening (it sees 1006). */
        lws_set_timeout(p->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
    }
    uint64_t wait = (uint64_t)(cfg->ws_ping_timeout_secs - cfg->ws_ping_interval_secs) * 1000u;
    while ((p = ka_quiet.head) && p->ka_due <= now) {
        ka_append(&ka_pinged, p, now + wait);
        p->ping_due = true;
        lws_callback_on_writable(p->wsi);
    }
}

/* Write now, from outside lws's writable callback, when nothing is buffered
 * for the socket (lws_send_pipe_choked: lws holds no partial write and the
 * socket accepts more): one system call per delivery instead of asking for
 * POLLOUT first (two epoll_ctl and a wakeup each).  A session that is closing,
 * a ping due, or a write already in progress here go the usual way. */
static void want_write(struct session *s)
{
    struct lws *wsi = s->transport;
    if (!wsi)
        return;
    struct pss *pss = lws_wsi_user(wsi);
    if (in_direct_write || s->closing || !pss || pss->s != s || pss->ping_due ||
        lws_send_pipe_choked(wsi)) {
        lws_callback_on_writable(wsi);
        return;
    }
    in_direct_write = true;
    int rc = writable(wsi, pss);
    in_direct_write = false;
    if (rc) {
        /* A failed write: returning -1 closes only from a callback. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
}

void ws_init(uv_loop_t *loop, struct live *lv, const struct config *c)
{
    static const struct session_hooks hooks = {.want_write = want_write};
    live = lv;
    cfg = c;
    session_set_hooks(&hooks);
    uint64_t tick = (uint64_t)cfg->ws_ping_interval_secs * 250u;
    tick = tick < 100 ? 100 : tick > 1000 ? 1000 : tick;
    uv_timer_init(loop, &ka_timer);
    uv_timer_start(&ka_timer, on_ka_tick, tick, tick);
    uv_unref((uv_handle_t *)&ka_timer);
    ka_started = true;
}

void ws_stop(void)
{
    if (!ka_started)
        return;
    ka_started = false;
    uv_timer_stop(&ka_timer);
    uv_close((uv_handle_t *)&ka_timer, NULL);
}

int ws_connection_count(void)
{
    return ws_count;
}

void ws_on_wsi_destroy(struct lws *wsi)
{
    if (lws_get_opaque_user_data(wsi) == &ws_marker) {
        lws_set_opaque_user_data(wsi, NULL);
        ws_count--;
    }
}

/* The slug of "/ws/{slug}", or NULL. */
static const char *path_slug(struct lws *wsi, char *buf, size_t len)
{
    if (lws_hdr_copy(wsi, buf, (int)len, WSI_TOKEN_GET_URI) <= 0)
        return NULL;
    if (strncmp(buf, "/ws/", 4) != 0 || !live_slug_valid(buf + 4))
        return NULL;
    return buf + 4;
}

static bool offers_haven(struct lws *wsi)
{
    char list[256];
    if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) <= 0)
        return false;
    for (char *tok = strtok(list, ", "); tok; tok = strtok(NULL, ", "))
        if (strcmp(tok, "haven.v1") == 0)
            return true;
    return false;
}

static bool origin_allowed(struct lws *wsi)
{
    char origin[256], host[256], same[300];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        return true; /* not a browser: Origin protects browsers' users only */
    if (cfg->http_allowed_origins.n) {
        for (size_t i = 0; i < cfg->http_allowed_origins.n; i++)
            if (strcmp(origin, cfg->http_allowed_origins.v[i]) == 0)
                return true;
        return false;
    }
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
        return false;
    snprintf(same, sizeof(same), "http://%s", host);
    if (strcmp(origin, same) == 0)
        return true;
    snprintf(same, sizeof(same), "https://%s", host);
    return strcmp(origin, same) == 0;
}

/* The client's address, for log_client(). */
static const char *peer_addr(struct lws *wsi, char *buf, size_t len)
{
    buf[0] = '\0';
    lws_get_peer_simple(wsi, buf, len);
    /* lws listens dual-stack: present IPv4 peers plainly. */
    return strncmp(buf, "::ffff:", 7) == 0 ? buf + 7 : buf;
}

/* Answer the upgrade request with a plain status instead of switching. */
static int refuse(struct lws *wsi, unsigned int status)
{
    lws_return_http_status(wsi, status, NULL);
    metrics_http_response((int)status);
    return -1;
}

static int write_close(struct lws *wsi, struct session *s)
{
    unsigned char buf[LWS_PRE + 2 + sizeof(s->close_reason)];
    size_t rl = strlen(s->close_reason);
    buf[LWS_PRE] = (unsigned char)(s->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(s->close_code & 0xFF);
    memcpy(buf + LWS_PRE + 2, s->close_reason, rl);
    /* 4 is LWS_WRITE_CLOSE, private in the 4.1 headers: a close started by
     * returning -1 alone never reaches the peer with Debian's lws. */
    lws_write(wsi, buf + LWS_PRE, 2 + rl, (enum lws_write_protocol)4);
    return -1;
}

static int writable(struct lws *wsi, struct pss *pss)
{
    struct session *s = pss->s;
    if (s->closing && (!s->close_after_flush || !s->qlen))
        return write_close(wsi, s);
    if (pss->ping_due) {
        /* Eight hex digits of the session id: ASCII, so that no UTF-8
         * check can refuse the echo (a 10,000-connection run saw closes
         * with 1007 "bad utf8" while pings carried raw id bytes). */
        static const char hex[] = "0123456789abcdef";
        unsigned char ping[LWS_PRE + 8];
        pss->ping_due = false;
        for (int i = 0; i < 8; i++)
            ping[LWS_PRE + i] = (unsigned char)hex[(s->id >> (4 * (7 - i))) & 0xF];
        if (lws_write(wsi, ping + LWS_PRE, 8, LWS_WRITE_PING) < 8)
            return -1;
        if (session_peek(s) || s->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    struct frame *f = session_pop(s);
    if (!f)
        return 0;
    const char *payload = frame_payload(f);
    size_t len = f->len;
    uint64_t events = (uint64_t)f->events;
    struct frame *next = session_peek(s);
    if (f->inner_len && next && next->inner_len) {
        /* Several events wait: send them as one "events" frame. */
        static const char head[] = "{\"type\":\"events\",\"events\":[";
        out.len = 0;
        buf_reserve(&out, LWS_PRE + sizeof(head));
        out.len = LWS_PRE;
        buf_add(&out, head, sizeof(head) - 1);
        buf_add(&out, frame_payload(f) + f->inner_off, f->inner_len);
        frame_unref(f);
        for (int n = 1; n < COALESCE_MAX && (next = session_peek(s)) && next->inner_len &&
                        out.len < COALESCE_BYTES;
             n++) {
            f = session_pop(s);
            events += (uint64_t)f->events;
            buf_add(&out, ",", 1);
            buf_add(&out, frame_payload(f) + f->inner_off, f->inner_len);
            frame_unref(f);
        }
        buf_add(&out, "]}", 2);
        f = NULL;
        payload = out.data + LWS_PRE;
        len = out.len - LWS_PRE;
    }
    /* lws writes the frame header into the headroom before payload. */
    int n = lws_write(wsi, (unsigned char *)(uintptr_t)payload, len, LWS_WRITE_TEXT);
    frame_unref(f);
    if (n < (int)len)
        return -1;
    metrics_add(METRICS_EVENTS_DELIVERED, events);
    if (session_peek(s) || s->closing)
        lws_callback_on_writable(wsi);
    return 0;
}

static int receive(struct lws *wsi, struct session *s, const char *in, size_t len)
{
    if (s->closing)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        session_close(s, 1003, "text frames only");
        return 0;
    }
    size_t max = (size_t)cfg->ws_max_frame_bytes;
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (s->rx.len + len + remaining > max) {
        buf_cleanup(&s->rx);
        session_close(s, 1009, "message too big");
        return 0;
    }
    if (s->rx.len == 0 && lws_is_final_fragment(wsi) && !remaining) {
        live_on_frame(live, s, in, len, util_mono_ms());
        return 0;
    }
    buf_add(&s->rx, in, len);
    if (lws_is_final_fragment(wsi) && !remaining) {
        live_on_frame(live, s, s->rx.data, s->rx.len, util_mono_ms());
        s->rx.len = 0;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pss *pss = user;
    char path[128];

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* haven.v1 is the vhost's default protocol, so upgrades that offer no
         * subprotocol or only others arrive here too: refuse them plainly. */
        if (!offers_haven(wsi))
            return refuse(wsi, HTTP_STATUS_BAD_REQUEST);
        if (!path_slug(wsi, path, sizeof(path)))
            return refuse(wsi, HTTP_STATUS_NOT_FOUND);
        if (!origin_allowed(wsi)) {
            log_info("ws", "refused a connection from a foreign origin%s",
                     log_client(peer_addr(wsi, path, sizeof(path))));
            return refuse(wsi, HTTP_STATUS_FORBIDDEN);
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        const char *slug = path_slug(wsi, path, sizeof(path));
        if (!slug)
            return -1;
        pss->s = session_new(cfg->ws_send_queue_max);
        pss->s->transport = wsi;
        pss->wsi = wsi;
        ka_alive(pss);
        lws_set_opaque_user_data(wsi, &ws_marker);
        ws_count++;
        log_debug("ws", "session %llu connected to %s", (unsigned long long)pss->s->id, slug);
        live_attach(live, pss->s, slug);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!pss->s)
            return 0;
        ka_alive(pss);
        return receive(wsi, pss->s, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->s)
            ka_alive(pss);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->s ? writable(wsi, pss) : 0;
    case LWS_CALLBACK_CLOSED:
        ka_unlink(pss);
        if (pss->s) {
            log_debug("ws", "session %llu closed", (unsigned long long)pss->s->id);
            live_detach(live, pss->s);
            session_release(pss->s);
            pss->s = NULL;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols *ws_protocol(void)
{
    static const struct lws_protocols p = {
        .name = "haven.v1",
        .callback = callback,
        .per_session_data_size = sizeof(struct pss),
        .rx_buffer_size = 4096,
    };
    return &p;
}
