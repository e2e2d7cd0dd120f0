/*
 * loadgen: a WebSocket load generator for havend and for the baselines (see BENCHMARKS.md).
 *
 *   loadgen --port P [--mode haven|json|plain] [--path /ws/bench-%d] [--subprotocol NAME]
 *           [--conns N] [--rooms R] [--senders S] [--rates X|max[:W][,...]] [--window W]
 *           [--duration T] [--drain D] [--size B] [--procs P] [--connect-concurrency C]
 *           [--connect-timeout SECS] [--max-outstanding M] [--pid NAME=PID[,PID...]]...
 *           [--label TEXT] [--run-id ID]
 *
 * Opens N WebSocket connections to 127.0.0.1:P (loopback only) spread over R rooms:
 * connection i is in room i % R (its path is --path with %d replaced by the room number) and
 * is member i / R of that room; members 0 .. S-1 of each room are its senders.
 *
 *   haven  the protocol haven.v1: hello, wait for welcome, join, wait for joined; messages are
 *          {"type":"say","client_msg_id":..,"text":..}; error frames are counted by code.
 *   json   no handshake beyond the upgrade; messages are {"type":"say","text":..} (the Node.js
 *          `ws` peer in tests/bench/peers/ parses them and broadcasts an event).
 *   plain  the message is the bare text (libwebsockets-test-server's lws-mirror-protocol
 *          broadcasts every text frame to every connection of its mirror instance).
 *
 * Once every connection is ready, the senders send for T seconds per step, one step per value
 * of --rates (messages per second per room, spread over the room's senders, each at its own
 * random phase; 0 or "max" means as fast as possible: each sender keeps W (--window, or
 * "max:W" for that step) messages outstanding and sends the next when its own copy comes
 * back).  In a paced step a sender with --max-outstanding messages not yet back skips its
 * turn (counted as "skipped": the server is not keeping up).  D seconds of drain follow each step.  The
 * text of every message holds "~RUN:STEP:ROOM:SENDER:SEQ:MICROSECONDS~", padded to B bytes;
 * receivers find these markers in whatever frame carries them (one event, an "events" batch,
 * a bare text) and measure the latency from the send time (CLOCK_MONOTONIC, one clock for
 * every process on the machine).  Every receiver checks that it gets every message of every
 * sender of its room exactly once and in order (per sender sequence numbers), and nothing of
 * other rooms.
 *
 * Several processes (--procs) split the connections between them; the parent starts them,
 * starts the steps at the same moment in all of them once all are connected, samples the
 * CPU time (utime+stime from /proc/PID/stat) and RSS (VmRSS from /proc/PID/status) of the
 * processes named with --pid at each step's start and end, and merges the workers' results:
 * deliveries per second, latency percentiles (log-linear histogram, about 3 % resolution),
 * missing/duplicate/out-of-order counts and each worker's own CPU use.  Lines starting with
 * "RESULT" are for scripts.
 *
 * Every loop is bounded in count, and the whole run in time (a hard deadline kills the
 * workers).  Exit status: 0 when every message reached every receiver once and in order and
 * no connection failed; 3 when something was missing, duplicated or reordered or a connection
 * failed or closed; 2 on usage errors or when the deadline passed.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define MAX_STEPS 32
#define MAX_PROCS 16
#define MAX_PIDGROUPS 4
#define MAX_PIDS 16
#define NBUCKET 1600
#define MAX_CODES 8
#define MAX_FRAME (16u << 20)
#define RBUF_SIZE (256 * 1024)

/* ---- options ---- */

struct pidgroup {
    char name[32];
    int n;
    int pid[MAX_PIDS];
};

static struct {
    const char *host;
    int port;
    enum { MODE_HAVEN, MODE_JSON, MODE_PLAIN } mode;
    const char *path;
    const char *subprotocol;
    int conns, rooms, senders;
    double rates[MAX_STEPS]; /* messages/s per room; 0: as fast as possible */
    int windows[MAX_STEPS];  /* for rate 0: messages outstanding per sender */
    int nsteps;
    int window;
    double duration, drain;
    int size;
    int procs;
    int connect_concurrency;
    double connect_timeout;
    int max_outstanding;
    struct pidgroup pids[MAX_PIDGROUPS];
    int npids;
    const char *label;
    char run[16];
} opt = {
    .host = "127.0.0.1",
    .mode = MODE_HAVEN,
    .path = "/ws/bench-%d",
    .conns = 20,
    .rooms = 1,
    .senders = 1,
    .window = 4,
    .duration = 10,
    .drain = 3,
    .size = 80,
    .procs = 1,
    .connect_concurrency = 100,
    .connect_timeout = 180,
    .max_outstanding = 2000,
    .label = "",
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_self_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* ---- latency histogram: exact below 64 us, then 32 sub-buckets per power of two ---- */

static int hidx(uint64_t v)
{
    if (v < 64)
        return (int)v;
    int b = 63 - __builtin_clzll(v); /* b >= 6 */
    int i = 64 + (b - 6) * 32 + (int)((v >> (b - 5)) - 32);
    return i < NBUCKET ? i : NBUCKET - 1;
}

static double hval(int i)
{
    if (i < 64)
        return i;
    int b = (i - 64) / 32 + 6;
    int sub = (i - 64) % 32 + 32;
    double lo = (double)((uint64_t)sub << (b - 5));
    return lo + (double)(1ull << (b - 5)) / 2.0;
}

static double hist_pct(const uint64_t *h, uint64_t total, double p, uint64_t max)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)total + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t acc = 0;
    for (int i = 0; i < NBUCKET; i++) {
        acc += h[i];
        if (acc >= want) {
            double v = hval(i);
            return v > (double)max ? (double)max : v;
        }
    }
    return (double)max;
}

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *m = xcalloc(1, total);
    memcpy(m, msg, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
                   (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* =====================================================================================
 * worker
 * ===================================================================================== */

enum cstate { C_IDLE, C_CONNECTING, C_UPGRADING, C_HELLO, C_JOIN, C_READY, C_CLOSED };

struct conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int idx, room, member;
    enum cstate state;
    bool failed;
    char key[32];
    char *rbuf; /* bytes not yet parsed */
    size_t rlen, rcap;
    char *msg; /* a fragmented message being reassembled */
    size_t mlen, mcap;
    bool in_msg;
    /* sender */
    int sender; /* index in W.senders, or -1 */
    /* receiver: per sender of the room, last seq and count */
    uint32_t *last, *cnt;
};

struct sender {
    struct conn *c;
    uint32_t seq; /* last seq sent */
    uint32_t outstanding;
    uint64_t next_us;
    uint64_t interval_us;
    int step; /* step whose schedule next_us belongs to, -1 none */
    uint64_t sent_total;
};

struct step_stats {
    uint64_t sent, delivered, inwin, skipped;
    uint64_t maxlat;
    uint64_t *hist;
    uint64_t *room_sent; /* [rooms] */
    uint64_t cpu0, cpu1;
    bool started, ended, reported;
};

static struct {
    uv_loop_t *loop;
    int proc;
    int first, count; /* global connection indices [first, first + count) */
    struct conn *conns;
    struct sender *senders;
    int nsenders;
    int next_connect, inflight, ready, failed_connect, closed_run;
    bool ready_sent;
    uint64_t t0; /* start of step 0, us; 0 until GO */
    struct step_stats st[MAX_STEPS];
    uint64_t foreign, cross_room, bad_marker, dup_or_reorder, gaps, proto_errors;
    uint64_t errors;
    char codes[MAX_CODES][32];
    uint64_t code_n[MAX_CODES];
    char rshared[RBUF_SIZE];
    char *wbuf;
    size_t wcap;
    FILE *out;
    uv_timer_t tick, deadline;
    uv_pipe_t ctl;
    char ctlbuf[256];
    size_t ctllen;
    bool finishing;
} W;

static void start_connects(void);
static void conn_fail(struct conn *c, const char *why);

static uint64_t step_len_us(void)
{
    return (uint64_t)((opt.duration + opt.drain) * 1e6);
}

static uint64_t step_start(int k)
{
    return W.t0 + (uint64_t)k * step_len_us();
}

static void note_code(const char *p, size_t len)
{
    char code[32] = "?";
    const char *c = memmem(p, len, "\"code\":\"", 8);
    if (c) {
        c += 8;
        size_t n = 0;
        while (c + n < p + len && c[n] != '"' && n < sizeof(code) - 1)
            n++;
        memcpy(code, c, n);
        code[n] = 0;
    }
    W.errors++;
    for (int i = 0; i < MAX_CODES; i++) {
        if (!W.codes[i][0])
            snprintf(W.codes[i], sizeof(W.codes[i]), "%s", code);
        if (strcmp(W.codes[i], code) == 0) {
            W.code_n[i]++;
            return;
        }
    }
}

/* The value of the first "type" member, which havend writes first. */
static bool frame_is(const char *p, size_t len, const char *type)
{
    size_t lim = len < 64 ? len : 64;
    const char *t = memmem(p, lim, "\"type\":\"", 8);
    if (!t)
        return false;
    t += 8;
    size_t tl = strlen(type);
    return (size_t)(p + len - t) > tl && memcmp(t, type, tl) == 0 && t[tl] == '"';
}

static void on_write(uv_write_t *req, int status)
{
    free(req);
}

static void conn_write_raw(struct conn *c, const char *data, size_t len)
{
    if (c->state == C_CLOSED || c->state == C_IDLE)
        return;
    uv_buf_t b = uv_buf_init((char *)(uintptr_t)data, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (r == (int)len)
        return;
    if (r < 0 && r != UV_EAGAIN) {
        conn_fail(c, uv_strerror(r));
        return;
    }
    size_t done = r > 0 ? (size_t)r : 0;
    uv_write_t *req = xmalloc(sizeof(*req) + len - done);
    char *copy = (char *)(req + 1);
    memcpy(copy, data + done, len - done);
    b = uv_buf_init(copy, (unsigned)(len - done));
    r = uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r) {
        free(req);
        conn_fail(c, uv_strerror(r));
    }
}

/* One masked client frame. */
static void ws_send(struct conn *c, int op, const char *payload, size_t len)
{
    size_t need = len + 14;
    if (need > W.wcap) {
        W.wcap = need * 2;
        free(W.wbuf);
        W.wbuf = xmalloc(W.wcap);
    }
    unsigned char *b = (unsigned char *)W.wbuf;
    size_t h = 0;
    b[h++] = (unsigned char)(0x80 | op);
    if (len < 126) {
        b[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        b[h++] = 0x80 | 126;
        b[h++] = (unsigned char)(len >> 8);
        b[h++] = (unsigned char)len;
    } else {
        b[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            b[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    uint32_t mk = (uint32_t)rnd();
    unsigned char mask[4] = {(unsigned char)mk, (unsigned char)(mk >> 8),
                             (unsigned char)(mk >> 16), (unsigned char)(mk >> 24)};
    memcpy(b + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        b[h + i] = (unsigned char)payload[i] ^ mask[i & 3];
    conn_write_raw(c, W.wbuf, h + len);
}

static void ws_text(struct conn *c, const char *s, size_t len)
{
    ws_send(c, 1, s, len);
}

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->rbuf);
    free(c->msg);
    c->rbuf = c->msg = NULL;
    c->rlen = c->rcap = c->mlen = c->mcap = 0;
}

static void conn_close(struct conn *c)
{
    if (c->state == C_CLOSED || c->state == C_IDLE)
        return;
    c->state = C_CLOSED;
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
        /* A reset leaves no TIME_WAIT behind on either side. */
        if (uv_tcp_close_reset(&c->tcp, on_closed))
            uv_close((uv_handle_t *)&c->tcp, on_closed);
    }
}

static bool connecting(const struct conn *c)
{
    return c->state == C_CONNECTING || c->state == C_UPGRADING || c->state == C_HELLO ||
           c->state == C_JOIN;
}

static void conn_ready(struct conn *c)
{
    c->state = C_READY;
    W.inflight--;
    W.ready++;
    start_connects();
}

static void conn_fail(struct conn *c, const char *why)
{
    if (c->state == C_CLOSED || c->state == C_IDLE || c->failed)
        return;
    c->failed = true;
    if (connecting(c)) {
        W.inflight--;
        W.failed_connect++;
        if (W.failed_connect <= 5)
            fprintf(stderr, "loadgen[%d]: connection %d failed while connecting: %s\n", W.proc,
                    c->idx, why);
    } else if (!W.finishing) {
        W.closed_run++;
        if (W.closed_run <= 5)
            fprintf(stderr, "loadgen[%d]: connection %d lost: %s\n", W.proc, c->idx, why);
    }
    conn_close(c);
    start_connects();
}

static void send_message(struct sender *sd, int step, uint64_t now)
{
    struct conn *c = sd->c;
    char text[8192], frame[8400];
    sd->seq++;
    int n = snprintf(text, sizeof(text), "~%s:%d:%d:%d:%" PRIu32 ":%" PRIu64 "~", opt.run, step,
                     c->room, c->member, sd->seq, now);
    static const char pad[] = " thank you all for sharing tonight, keep coming back";
    while (n < opt.size && n < (int)sizeof(text) - 1) {
        int k = (int)(sizeof(pad) - 1);
        if (k > opt.size - n)
            k = opt.size - n;
        memcpy(text + n, pad, (size_t)k);
        n += k;
    }
    text[n] = 0;
    int fl;
    if (opt.mode == MODE_HAVEN)
        fl = snprintf(frame, sizeof(frame),
                      "{\"type\":\"say\",\"client_msg_id\":\"g%d-%" PRIu32 "\",\"text\":\"%s\"}",
                      c->idx, sd->seq, text);
    else if (opt.mode == MODE_JSON)
        fl = snprintf(frame, sizeof(frame), "{\"type\":\"say\",\"text\":\"%s\"}", text);
    else
        fl = snprintf(frame, sizeof(frame), "%s", text);
    ws_text(c, frame, (size_t)fl);
    sd->outstanding++;
    sd->sent_total++;
    struct step_stats *s = &W.st[step];
    s->sent++;
    s->room_sent[c->room]++;
}

static int current_step(uint64_t now, bool *in_window)
{
    *in_window = false;
    if (!W.t0 || now < W.t0)
        return -1;
    uint64_t k = (now - W.t0) / step_len_us();
    if (k >= (uint64_t)opt.nsteps)
        return -1;
    *in_window = now - step_start((int)k) < (uint64_t)(opt.duration * 1e6);
    return (int)k;
}

/* A marker "~RUN:STEP:ROOM:SENDER:SEQ:US~" arrived at receiver c. */
static void on_marker(struct conn *c, const char *p, const char *end, uint64_t now)
{
    size_t rl = strlen(opt.run);
    if ((size_t)(end - p) < rl + 2 || memcmp(p, opt.run, rl) != 0 || p[rl] != ':') {
        W.foreign++;
        return;
    }
    p += rl + 1;
    uint64_t v[5];
    for (int i = 0; i < 5; i++) {
        uint64_t x = 0;
        int digits = 0;
        while (p < end && *p >= '0' && *p <= '9' && digits < 20) {
            x = x * 10 + (uint64_t)(*p - '0');
            p++;
            digits++;
        }
        if (!digits || p >= end || *p != (i < 4 ? ':' : '~')) {
            W.bad_marker++;
            return;
        }
        p++;
        v[i] = x;
    }
    int step = (int)v[0], room = (int)v[1], k = (int)v[2];
    uint32_t seq = (uint32_t)v[3];
    uint64_t t = v[4];
    if (step >= opt.nsteps || k >= opt.senders || room >= opt.rooms) {
        W.bad_marker++;
        return;
    }
    if (room != c->room) {
        W.cross_room++;
        return;
    }
    struct step_stats *s = &W.st[step];
    uint64_t lat = now > t ? now - t : 0;
    s->delivered++;
    s->hist[hidx(lat)]++;
    if (lat > s->maxlat)
        s->maxlat = lat;
    uint64_t ss = step_start(step);
    if (now >= ss && now < ss + (uint64_t)(opt.duration * 1e6))
        s->inwin++;
    if (seq != c->last[k] + 1) {
        if (seq <= c->last[k])
            W.dup_or_reorder++;
        else
            W.gaps++;
    }
    if (seq > c->last[k])
        c->last[k] = seq;
    c->cnt[k]++;
    /* The sender's own copy: one fewer outstanding. */
    if (c->sender >= 0 && c->member == k) {
        struct sender *sd = &W.senders[c->sender];
        if (sd->outstanding)
            sd->outstanding--;
        bool inw;
        int cur = current_step(now, &inw);
        if (cur >= 0 && inw && opt.rates[cur] == 0) {
            int w = opt.windows[cur];
            for (int i = 0; sd->outstanding < (uint32_t)w && i < w; i++)
                send_message(sd, cur, now);
        }
    }
}

static void on_message(struct conn *c, const char *p, size_t len, uint64_t now)
{
    if (c->state == C_HELLO) {
        if (frame_is(p, len, "welcome")) {
            static const char join[] = "{\"type\":\"join\",\"id\":2}";
            c->state = C_JOIN;
            ws_text(c, join, sizeof(join) - 1);
        } else if (frame_is(p, len, "error")) {
            note_code(p, len);
            conn_fail(c, "hello refused");
        }
        return;
    }
    if (c->state == C_JOIN) {
        if (frame_is(p, len, "joined")) {
            conn_ready(c);
        } else if (frame_is(p, len, "waiting")) {
            conn_fail(c, "put in the waiting room");
        } else if (frame_is(p, len, "error")) {
            note_code(p, len);
            conn_fail(c, "join refused");
        }
        return;
    }
    if (c->state != C_READY)
        return;
    if (opt.mode == MODE_HAVEN && frame_is(p, len, "error")) {
        note_code(p, len);
        return;
    }
    const char *end = p + len;
    /* Bounded: each pass moves past one '~'. */
    while (p < end) {
        const char *m = memchr(p, '~', (size_t)(end - p));
        if (!m)
            break;
        const char *e = memchr(m + 1, '~', (size_t)(end - m - 1));
        if (!e)
            break;
        on_marker(c, m + 1, e + 1, now);
        p = e + 1;
    }
}

static bool handshake_done(struct conn *c, const char *p, size_t len, size_t *used)
{
    const char *e = memmem(p, len, "\r\n\r\n", 4);
    if (!e) {
        if (len > 8192)
            conn_fail(c, "upgrade response too long");
        return false;
    }
    *used = (size_t)(e - p) + 4;
    char head[8192];
    size_t hl = *used < sizeof(head) - 1 ? *used : sizeof(head) - 1;
    memcpy(head, p, hl);
    head[hl] = 0;
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        char line[80];
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(head, "\r\n"), head);
        conn_fail(c, line);
        return false;
    }
    char orig[8192];
    memcpy(orig, head, hl + 1);
    for (char *q = head; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    char want[64], src[80];
    unsigned char dg[20];
    snprintf(src, sizeof(src), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
    sha1((const unsigned char *)src, strlen(src), dg);
    base64(dg, 20, want);
    const char *a = strstr(head, "\r\nsec-websocket-accept:");
    bool ok = false;
    if (a) {
        /* The value as sent (base64 is case-sensitive), not the lowered copy. */
        const char *v = orig + (a - head) + 23;
        while (*v == ' ')
            v++;
        ok = strncmp(v, want, strlen(want)) == 0;
    }
    if (!ok) {
        conn_fail(c, "bad Sec-WebSocket-Accept");
        return false;
    }
    if (opt.subprotocol && *opt.subprotocol) {
        const char *sp = strstr(head, "\r\nsec-websocket-protocol:");
        char lw[64];
        snprintf(lw, sizeof(lw), "%s", opt.subprotocol);
        for (char *q = lw; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        if (!sp || !strstr(sp, lw)) {
            conn_fail(c, "subprotocol not selected");
            return false;
        }
    }
    if (opt.mode == MODE_HAVEN) {
        char hello[96];
        int n = snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"id\":1,\"name\":\"lg%d\"}",
                         c->idx);
        c->state = C_HELLO;
        ws_text(c, hello, (size_t)n);
    } else {
        conn_ready(c);
    }
    return true;
}

static void msg_append(struct conn *c, const char *p, size_t n)
{
    if (c->mlen + n > c->mcap) {
        c->mcap = (c->mlen + n) * 2;
        c->msg = realloc(c->msg, c->mcap);
        if (!c->msg)
            die("out of memory");
    }
    memcpy(c->msg + c->mlen, p, n);
    c->mlen += n;
}

/* Parse frames in p[0..n); returns the bytes consumed. */
static size_t parse(struct conn *c, const char *p, size_t n, uint64_t now)
{
    size_t off = 0;
    if (c->state == C_UPGRADING) {
        size_t used = 0;
        if (!handshake_done(c, p, n, &used))
            return c->state == C_CLOSED ? n : 0;
        off = used;
    }
    /* Bounded: each pass consumes one whole frame. */
    while (c->state != C_CLOSED && n - off >= 2) {
        const unsigned char *b = (const unsigned char *)p + off;
        size_t avail = n - off, hdr = 2;
        uint64_t plen = b[1] & 0x7f;
        if (b[1] & 0x80) {
            W.proto_errors++;
            conn_fail(c, "masked server frame");
            return n;
        }
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)b[2] << 8 | b[3];
            hdr = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | b[2 + i];
            hdr = 10;
        }
        if (plen > MAX_FRAME) {
            W.proto_errors++;
            conn_fail(c, "frame too large");
            return n;
        }
        if (avail < hdr + plen)
            break;
        const char *pl = p + off + hdr;
        int op = b[0] & 0x0f;
        bool fin = b[0] & 0x80;
        off += hdr + (size_t)plen;
        switch (op) {
        case 0x0:
            if (!c->in_msg) {
                W.proto_errors++;
                break;
            }
            msg_append(c, pl, (size_t)plen);
            if (fin) {
                c->in_msg = false;
                on_message(c, c->msg, c->mlen, now);
                c->mlen = 0;
            }
            break;
        case 0x1:
        case 0x2:
            if (fin) {
                on_message(c, pl, (size_t)plen, now);
            } else {
                c->in_msg = true;
                c->mlen = 0;
                msg_append(c, pl, (size_t)plen);
            }
            break;
        case 0x8: {
            int code = plen >= 2 ? ((unsigned char)pl[0] << 8 | (unsigned char)pl[1]) : 1005;
            char why[160];
            snprintf(why, sizeof(why), "closed by the server: %d %.*s", code,
                     plen > 2 ? (int)(plen - 2 < 100 ? plen - 2 : 100) : 0, pl + 2);
            ws_send(c, 0x8, pl, plen >= 2 ? 2 : 0);
            conn_fail(c, why);
            return n;
        }
        case 0x9:
            ws_send(c, 0xA, pl, (size_t)plen);
            break;
        case 0xA:
            break;
        default:
            W.proto_errors++;
            conn_fail(c, "unknown opcode");
            return n;
        }
    }
    return off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    *buf = uv_buf_init(W.rshared, sizeof(W.rshared));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread < 0) {
        conn_fail(c, nread == UV_EOF ? "EOF" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0 || c->state == C_CLOSED)
        return;
    uint64_t now = now_us();
    const char *p = buf->base;
    size_t n = (size_t)nread;
    if (c->rlen) {
        if (c->rlen + n > c->rcap) {
            c->rcap = (c->rlen + n) * 2;
            c->rbuf = realloc(c->rbuf, c->rcap);
            if (!c->rbuf)
                die("out of memory");
        }
        memcpy(c->rbuf + c->rlen, p, n);
        c->rlen += n;
        size_t used = parse(c, c->rbuf, c->rlen, now);
        if (c->state == C_CLOSED)
            return;
        memmove(c->rbuf, c->rbuf + used, c->rlen - used);
        c->rlen -= used;
        if (!c->rlen && c->rcap > 65536) {
            free(c->rbuf);
            c->rbuf = NULL;
            c->rcap = 0;
        }
        return;
    }
    size_t used = parse(c, p, n, now);
    if (c->state == C_CLOSED || used == n)
        return;
    size_t rest = n - used;
    if (rest > c->rcap) {
        c->rcap = rest * 2 > 4096 ? rest * 2 : 4096;
        free(c->rbuf);
        c->rbuf = xmalloc(c->rcap);
    }
    memcpy(c->rbuf, p + used, rest);
    c->rlen = rest;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->state != C_CONNECTING)
        return;
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    unsigned char raw[16];
    for (int i = 0; i < 16; i++)
        raw[i] = (unsigned char)rnd();
    base64(raw, 16, c->key);
    char path[256], req_text[1024];
    snprintf(path, sizeof(path), opt.path, c->room);
    int n = snprintf(req_text, sizeof(req_text),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, opt.host, opt.port, c->key,
                     opt.subprotocol && *opt.subprotocol ? "Sec-WebSocket-Protocol: " : "",
                     opt.subprotocol && *opt.subprotocol ? opt.subprotocol : "",
                     opt.subprotocol && *opt.subprotocol ? "\r\n" : "");
    c->state = C_UPGRADING;
    int r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r) {
        conn_fail(c, uv_strerror(r));
        return;
    }
    conn_write_raw(c, req_text, (size_t)n);
}

static void ctl_write(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(W.out, fmt, ap);
    va_end(ap);
}

static void maybe_ready(void)
{
    if (W.ready_sent || W.next_connect < W.count || W.inflight > 0)
        return;
    W.ready_sent = true;
    ctl_write("READY %d %d\n", W.ready, W.failed_connect);
    fflush(W.out);
}

static void start_connects(void)
{
    struct sockaddr_in addr;
    uv_ip4_addr(opt.host, opt.port, &addr);
    /* Bounded by the connection count. */
    while (W.next_connect < W.count && W.inflight < opt.connect_concurrency) {
        struct conn *c = &W.conns[W.next_connect++];
        uv_tcp_init(W.loop, &c->tcp);
        c->tcp.data = c;
        c->creq.data = c;
        uv_tcp_nodelay(&c->tcp, 1);
        c->state = C_CONNECTING;
        W.inflight++;
        int r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&addr, on_connect);
        if (r)
            conn_fail(c, uv_strerror(r));
    }
    maybe_ready();
}

static void report_step(int k)
{
    struct step_stats *s = &W.st[k];
    ctl_write("STEP %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
              "\n",
              k, s->sent, s->delivered, s->inwin, s->skipped, s->maxlat, s->cpu1 - s->cpu0);
    ctl_write("HIST %d", k);
    for (int i = 0; i < NBUCKET; i++)
        if (s->hist[i])
            ctl_write(" %d:%" PRIu64, i, s->hist[i]);
    ctl_write("\n");
    for (int r = 0; r < opt.rooms; r++)
        if (s->room_sent[r])
            ctl_write("RSENT %d %d %" PRIu64 "\n", k, r, s->room_sent[r]);
    fflush(W.out);
}

static void on_any_closed(uv_handle_t *h)
{
}

static void finish(void)
{
    W.finishing = true;
    /* Per room: receivers here; per room and sender: sent here, and min/max/sum received. */
    int R = opt.rooms, S = opt.senders;
    int *nrecv = xcalloc((size_t)R, sizeof(int));
    uint32_t *mn = xmalloc((size_t)R * (size_t)(S ? S : 1) * sizeof(uint32_t));
    uint32_t *mx = xcalloc((size_t)R * (size_t)(S ? S : 1), sizeof(uint32_t));
    uint64_t *sum = xcalloc((size_t)R * (size_t)(S ? S : 1), sizeof(uint64_t));
    for (size_t i = 0; i < (size_t)R * (size_t)(S ? S : 1); i++)
        mn[i] = UINT32_MAX;
    for (int i = 0; i < W.count; i++) {
        struct conn *c = &W.conns[i];
        if (c->state != C_READY)
            continue; /* failed connections are reported as such */
        nrecv[c->room]++;
        for (int k = 0; k < S; k++) {
            size_t j = (size_t)c->room * (size_t)S + (size_t)k;
            if (c->cnt[k] < mn[j])
                mn[j] = c->cnt[k];
            if (c->cnt[k] > mx[j])
                mx[j] = c->cnt[k];
            sum[j] += c->cnt[k];
        }
    }
    for (int r = 0; r < R; r++)
        if (nrecv[r])
            ctl_write("RRECV %d %d\n", r, nrecv[r]);
    for (int i = 0; i < W.nsenders; i++) {
        struct sender *sd = &W.senders[i];
        ctl_write("SENT %d %d %" PRIu64 " %d\n", sd->c->room, sd->c->member, sd->sent_total,
                  sd->c->state == C_READY);
    }
    for (int r = 0; r < R; r++)
        for (int k = 0; nrecv[r] && k < S; k++) {
            size_t j = (size_t)r * (size_t)S + (size_t)k;
            ctl_write("RCNT %d %d %" PRIu32 " %" PRIu32 " %" PRIu64 "\n", r, k, mn[j], mx[j],
                      sum[j]);
        }
    for (int i = 0; i < MAX_CODES && W.codes[i][0]; i++)
        ctl_write("CODE %s %" PRIu64 "\n", W.codes[i], W.code_n[i]);
    ctl_write("DONE %d %d %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
              " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
              W.ready, W.failed_connect, W.closed_run, W.foreign, W.cross_room, W.bad_marker,
              W.dup_or_reorder, W.gaps, W.proto_errors, W.errors, cpu_self_us());
    fflush(W.out);
    free(nrecv);
    free(mn);
    free(mx);
    free(sum);
    for (int i = 0; i < W.count; i++)
        conn_close(&W.conns[i]);
    uv_timer_stop(&W.tick);
    uv_timer_stop(&W.deadline);
    uv_close((uv_handle_t *)&W.tick, on_any_closed);
    uv_close((uv_handle_t *)&W.deadline, on_any_closed);
    uv_close((uv_handle_t *)&W.ctl, on_any_closed);
}

static void on_tick(uv_timer_t *t)
{
    if (!W.t0 || W.finishing)
        return;
    uint64_t now = now_us();
    for (int k = 0; k < opt.nsteps; k++) {
        struct step_stats *s = &W.st[k];
        uint64_t ss = step_start(k), se = ss + (uint64_t)(opt.duration * 1e6);
        if (!s->started && now >= ss) {
            s->started = true;
            s->cpu0 = cpu_self_us();
        }
        if (s->started && !s->ended && now >= se) {
            s->ended = true;
            s->cpu1 = cpu_self_us();
        }
        if (!s->reported && now >= ss + step_len_us()) {
            s->reported = true;
            if (!s->ended) {
                s->ended = true;
                s->cpu1 = cpu_self_us();
            }
            report_step(k);
            if (k == opt.nsteps - 1) {
                finish();
                return;
            }
        }
    }
    bool inw;
    int k = current_step(now, &inw);
    if (k < 0 || !inw)
        return;
    double rate = opt.rates[k];
    /* Bounded: every sender, and at most 1000 catch-up sends each per tick. */
    for (int i = 0; i < W.nsenders; i++) {
        struct sender *sd = &W.senders[i];
        if (sd->c->state != C_READY)
            continue;
        if (rate == 0) {
            int w = opt.windows[k];
            for (int j = 0; sd->outstanding < (uint32_t)w && j < w; j++)
                send_message(sd, k, now);
            continue;
        }
        if (sd->step != k) {
            sd->step = k;
            double per_sender = rate / opt.senders;
            sd->interval_us = (uint64_t)(1e6 / per_sender);
            if (!sd->interval_us)
                sd->interval_us = 1;
            sd->next_us = step_start(k) + rnd() % sd->interval_us;
        }
        uint64_t se = step_start(k) + (uint64_t)(opt.duration * 1e6);
        for (int j = 0; j < 1000 && sd->next_us <= now && sd->next_us < se; j++) {
            if (sd->outstanding >= (uint32_t)opt.max_outstanding)
                W.st[k].skipped++;
            else
                send_message(sd, k, now);
            sd->next_us += sd->interval_us;
        }
    }
}

static void on_deadline(uv_timer_t *t)
{
    fprintf(stderr, "loadgen[%d]: deadline passed, giving up\n", W.proc);
    exit(2);
}

static void on_ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    *buf = uv_buf_init(W.ctlbuf + W.ctllen, (unsigned)(sizeof(W.ctlbuf) - 1 - W.ctllen));
}

static void on_ctl(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    if (nread < 0) {
        if (!W.finishing) {
            fprintf(stderr, "loadgen[%d]: the parent went away\n", W.proc);
            exit(2);
        }
        return;
    }
    W.ctllen += (size_t)nread;
    W.ctlbuf[W.ctllen] = 0;
    char *nl = strchr(W.ctlbuf, '\n');
    if (!nl) {
        if (W.ctllen >= sizeof(W.ctlbuf) - 1)
            W.ctllen = 0;
        return;
    }
    unsigned long long t0;
    if (sscanf(W.ctlbuf, "GO %llu", &t0) == 1 && !W.t0) {
        W.t0 = t0;
        /* Connections still connecting at GO are failures. */
        for (int i = 0; i < W.count; i++)
            if (connecting(&W.conns[i]))
                conn_fail(&W.conns[i], "not ready at the start");
    }
    W.ctllen = 0;
}

static void on_connect_deadline(uv_timer_t *t)
{
    if (W.ready_sent)
        return;
    /* Stop starting new ones and report what is there. */
    for (int i = W.next_connect; i < W.count; i++) {
        W.conns[i].failed = true;
        W.failed_connect++;
    }
    W.next_connect = W.count;
    for (int i = 0; i < W.count; i++)
        if (connecting(&W.conns[i]))
            conn_fail(&W.conns[i], "connect timeout");
    maybe_ready();
}

static int worker_main(int proc, int ctl_fd, int out_fd)
{
    W.proc = proc;
    W.first = (int)((long long)opt.conns * proc / opt.procs);
    W.count = (int)((long long)opt.conns * (proc + 1) / opt.procs) - W.first;
    rng_state ^= (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
    rnd();
    W.out = fdopen(out_fd, "w");
    if (!W.out)
        die("fdopen");
    W.loop = uv_default_loop();
    W.conns = xcalloc((size_t)W.count, sizeof(struct conn));
    int S = opt.senders;
    uint32_t *recv_state = xcalloc((size_t)W.count * (size_t)(S ? S : 1) * 2, sizeof(uint32_t));
    W.senders = xcalloc((size_t)W.count, sizeof(struct sender));
    for (int i = 0; i < W.count; i++) {
        struct conn *c = &W.conns[i];
        c->idx = W.first + i;
        c->room = c->idx % opt.rooms;
        c->member = c->idx / opt.rooms;
        c->last = recv_state + (size_t)i * (size_t)(S ? S : 1) * 2;
        c->cnt = c->last + (S ? S : 1);
        c->sender = -1;
        if (c->member < S) {
            c->sender = W.nsenders;
            W.senders[W.nsenders].c = c;
            W.senders[W.nsenders].step = -1;
            W.nsenders++;
        }
    }
    for (int k = 0; k < opt.nsteps; k++) {
        W.st[k].hist = xcalloc(NBUCKET, sizeof(uint64_t));
        W.st[k].room_sent = xcalloc((size_t)opt.rooms, sizeof(uint64_t));
    }
    uv_pipe_init(W.loop, &W.ctl, 0);
    if (uv_pipe_open(&W.ctl, ctl_fd))
        die("uv_pipe_open");
    uv_read_start((uv_stream_t *)&W.ctl, on_ctl_alloc, on_ctl);
    uv_timer_init(W.loop, &W.tick);
    uv_timer_start(&W.tick, on_tick, 1, 1);
    uv_timer_init(W.loop, &W.deadline);
    uint64_t limit_ms = (uint64_t)((opt.connect_timeout + 120 +
                                    opt.nsteps * (opt.duration + opt.drain) + 60) * 1000);
    uv_timer_start(&W.deadline, on_deadline, limit_ms, 0);
    static uv_timer_t cdl;
    uv_timer_init(W.loop, &cdl);
    uv_timer_start(&cdl, on_connect_deadline, (uint64_t)(opt.connect_timeout * 1000), 0);
    uv_unref((uv_handle_t *)&cdl);
    start_connects();
    uv_run(W.loop, UV_RUN_DEFAULT);
    fclose(W.out);
    return 0;
}

/* =====================================================================================
 * parent: start the workers, sample the server, merge
 * ===================================================================================== */

struct pidsample {
    uint64_t cpu_ticks;
    uint64_t rss_kb;
    bool ok;
};

static struct pidsample sample_group(const struct pidgroup *g)
{
    struct pidsample s = {0, 0, true};
    for (int i = 0; i < g->n; i++) {
        char path[64], buf[2048];
        snprintf(path, sizeof(path), "/proc/%d/stat", g->pid[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            s.ok = false;
            continue;
        }
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        /* Fields after the ")" of the command name: state is field 3; utime 14, stime 15. */
        char *q = strrchr(buf, ')');
        if (!q) {
            s.ok = false;
            continue;
        }
        unsigned long long ut = 0, st = 0;
        if (sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) ==
            2)
            s.cpu_ticks += ut + st;
        snprintf(path, sizeof(path), "/proc/%d/status", g->pid[i]);
        f = fopen(path, "r");
        if (!f)
            continue;
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            unsigned long long kb;
            if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
                s.rss_kb += kb;
        }
        fclose(f);
    }
    return s;
}

struct child {
    pid_t pid;
    int ctl, out;
    char buf[1 << 16];
    size_t len;
    bool ready, done;
    int nready, nfailed;
};

struct merged_step {
    uint64_t sent, delivered, inwin, skipped, maxlat;
    uint64_t *hist;
    uint64_t *room_sent;
    uint64_t lg_cpu[MAX_PROCS];
    int nreported;
    struct pidsample s0[MAX_PIDGROUPS], s1[MAX_PIDGROUPS];
    bool sampled0, sampled1;
};

static struct {
    struct child ch[MAX_PROCS];
    struct merged_step st[MAX_STEPS];
    int *nrecv;          /* [rooms] */
    uint64_t *sent;      /* [rooms * senders] */
    uint32_t *rmin;      /* [rooms * senders] */
    uint32_t *rmax;
    uint64_t *rsum;
    int ready, failed, closed_run;
    uint64_t foreign, cross, bad, dup, gaps, proto, errors, lg_cpu_total[MAX_PROCS];
    char codes[MAX_CODES][32];
    uint64_t code_n[MAX_CODES];
    int dead_senders;
} P;

static void handle_line(int ci, char *line)
{
    struct child *ch = &P.ch[ci];
    int S = opt.senders ? opt.senders : 1;
    if (strncmp(line, "READY ", 6) == 0) {
        sscanf(line + 6, "%d %d", &ch->nready, &ch->nfailed);
        ch->ready = true;
    } else if (strncmp(line, "STEP ", 5) == 0) {
        int k;
        unsigned long long sent, del, inwin, skip, maxl, cpu;
        if (sscanf(line + 5, "%d %llu %llu %llu %llu %llu %llu", &k, &sent, &del, &inwin, &skip,
                   &maxl, &cpu) == 7 &&
            k >= 0 && k < opt.nsteps) {
            struct merged_step *m = &P.st[k];
            m->sent += sent;
            m->delivered += del;
            m->inwin += inwin;
            m->skipped += skip;
            if (maxl > m->maxlat)
                m->maxlat = maxl;
            m->lg_cpu[ci] = cpu;
            m->nreported++;
        }
    } else if (strncmp(line, "HIST ", 5) == 0) {
        char *p = line + 5;
        int k = (int)strtol(p, &p, 10);
        if (k < 0 || k >= opt.nsteps)
            return;
        /* Bounded by the line length. */
        while (*p == ' ') {
            int i = (int)strtol(p + 1, &p, 10);
            if (*p != ':')
                break;
            unsigned long long n = strtoull(p + 1, &p, 10);
            if (i >= 0 && i < NBUCKET)
                P.st[k].hist[i] += n;
        }
    } else if (strncmp(line, "RSENT ", 6) == 0) {
        int k, r;
        unsigned long long n;
        if (sscanf(line + 6, "%d %d %llu", &k, &r, &n) == 3 && k >= 0 && k < opt.nsteps &&
            r >= 0 && r < opt.rooms)
            P.st[k].room_sent[r] += n;
    } else if (strncmp(line, "RRECV ", 6) == 0) {
        int r, n;
        if (sscanf(line + 6, "%d %d", &r, &n) == 2 && r >= 0 && r < opt.rooms)
            P.nrecv[r] += n;
    } else if (strncmp(line, "SENT ", 5) == 0) {
        int r, k, alive;
        unsigned long long n;
        if (sscanf(line + 5, "%d %d %llu %d", &r, &k, &n, &alive) == 4 && r >= 0 &&
            r < opt.rooms && k >= 0 && k < opt.senders) {
            P.sent[(size_t)r * (size_t)S + (size_t)k] = n;
            if (!alive)
                P.dead_senders++;
        }
    } else if (strncmp(line, "RCNT ", 5) == 0) {
        int r, k;
        unsigned long long mn, mx, sum;
        if (sscanf(line + 5, "%d %d %llu %llu %llu", &r, &k, &mn, &mx, &sum) == 5 && r >= 0 &&
            r < opt.rooms && k >= 0 && k < opt.senders) {
            size_t j = (size_t)r * (size_t)S + (size_t)k;
            if (mn < P.rmin[j])
                P.rmin[j] = (uint32_t)mn;
            if (mx > P.rmax[j])
                P.rmax[j] = (uint32_t)mx;
            P.rsum[j] += sum;
        }
    } else if (strncmp(line, "CODE ", 5) == 0) {
        char code[32];
        unsigned long long n;
        if (sscanf(line + 5, "%31s %llu", code, &n) == 2)
            for (int i = 0; i < MAX_CODES; i++) {
                if (!P.codes[i][0])
                    snprintf(P.codes[i], sizeof(P.codes[i]), "%s", code);
                if (strcmp(P.codes[i], code) == 0) {
                    P.code_n[i] += n;
                    break;
                }
            }
    } else if (strncmp(line, "DONE ", 5) == 0) {
        int ready, failed, closed;
        unsigned long long f, c, b, d, g, pr, e, cpu;
        if (sscanf(line + 5, "%d %d %d %llu %llu %llu %llu %llu %llu %llu %llu", &ready, &failed,
                   &closed, &f, &c, &b, &d, &g, &pr, &e, &cpu) == 11) {
            P.ready += ready;
            P.failed += failed;
            P.closed_run += closed;
            P.foreign += f;
            P.cross += c;
            P.bad += b;
            P.dup += d;
            P.gaps += g;
            P.proto += pr;
            P.errors += e;
            P.lg_cpu_total[ci] = cpu;
        }
        ch->done = true;
    }
}

static void read_child(int ci)
{
    struct child *ch = &P.ch[ci];
    ssize_t n = read(ch->out, ch->buf + ch->len, sizeof(ch->buf) - 1 - ch->len);
    if (n <= 0) {
        if (!ch->done) {
            fprintf(stderr, "loadgen: worker %d ended early\n", ci);
            ch->done = true;
        }
        close(ch->out);
        ch->out = -1;
        return;
    }
    ch->len += (size_t)n;
    ch->buf[ch->len] = 0;
    char *start = ch->buf;
    /* Bounded by the buffer. */
    for (;;) {
        char *nl = strchr(start, '\n');
        if (!nl)
            break;
        *nl = 0;
        handle_line(ci, start);
        start = nl + 1;
    }
    size_t rest = ch->len - (size_t)(start - ch->buf);
    memmove(ch->buf, start, rest);
    ch->len = rest;
    if (ch->len >= sizeof(ch->buf) - 1) {
        fprintf(stderr, "loadgen: line from worker %d too long\n", ci);
        ch->len = 0;
    }
}

static void kill_children(void)
{
    for (int i = 0; i < opt.procs; i++)
        if (P.ch[i].pid > 0)
            kill(P.ch[i].pid, SIGKILL);
}

static double ticks_per_sec(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? (double)t : 100.0;
}

static const char *mode_name(void)
{
    return opt.mode == MODE_HAVEN ? "haven" : opt.mode == MODE_JSON ? "json" : "plain";
}

static int parent_main(void)
{
    int S = opt.senders ? opt.senders : 1;
    size_t RS = (size_t)opt.rooms * (size_t)S;
    P.nrecv = xcalloc((size_t)opt.rooms, sizeof(int));
    P.sent = xcalloc(RS, sizeof(uint64_t));
    P.rmin = xmalloc(RS * sizeof(uint32_t));
    P.rmax = xcalloc(RS, sizeof(uint32_t));
    P.rsum = xcalloc(RS, sizeof(uint64_t));
    for (size_t i = 0; i < RS; i++)
        P.rmin[i] = UINT32_MAX;
    for (int k = 0; k < opt.nsteps; k++) {
        P.st[k].hist = xcalloc(NBUCKET, sizeof(uint64_t));
        P.st[k].room_sent = xcalloc((size_t)opt.rooms, sizeof(uint64_t));
    }
    struct pidsample before[MAX_PIDGROUPS], after[MAX_PIDGROUPS];
    for (int g = 0; g < opt.npids; g++)
        before[g] = sample_group(&opt.pids[g]);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("loadgen %s%s%s: mode %s, %d connections over %d rooms, %d senders per room, "
           "%d process(es), open-file limit %llu per process\n",
           opt.label, *opt.label ? " " : "", opt.run, mode_name(), opt.conns, opt.rooms,
           opt.senders, opt.procs, (unsigned long long)rl.rlim_cur);
    fflush(stdout);

    uint64_t t_begin = now_us();
    for (int i = 0; i < opt.procs; i++) {
        int to_child[2], from_child[2];
        if (pipe(to_child) || pipe(from_child))
            die("pipe: %s", strerror(errno));
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(to_child[1]);
            close(from_child[0]);
            for (int j = 0; j < i; j++) {
                close(P.ch[j].ctl);
                close(P.ch[j].out);
            }
            exit(worker_main(i, to_child[0], from_child[1]));
        }
        close(to_child[0]);
        close(from_child[1]);
        P.ch[i].pid = pid;
        P.ch[i].ctl = to_child[1];
        P.ch[i].out = from_child[0];
    }
    uint64_t deadline =
        t_begin + (uint64_t)((opt.connect_timeout + 90 +
                              opt.nsteps * (opt.duration + opt.drain) + 60) * 1e6);
    uint64_t t0 = 0, t_ready = 0;
    int status = 0;
    /* Bounded by the deadline. */
    for (;;) {
        uint64_t now = now_us();
        if (now > deadline) {
            fprintf(stderr, "loadgen: deadline passed; stopping the workers\n");
            kill_children();
            status = 2;
            break;
        }
        bool all_ready = true, all_done = true;
        for (int i = 0; i < opt.procs; i++) {
            all_ready &= P.ch[i].ready;
            all_done &= P.ch[i].done;
        }
        if (all_done)
            break;
        if (all_ready && !t0) {
            t_ready = now;
            int ready = 0, failed = 0;
            for (int i = 0; i < opt.procs; i++) {
                ready += P.ch[i].nready;
                failed += P.ch[i].nfailed;
            }
            for (int g = 0; g < opt.npids; g++)
                after[g] = sample_group(&opt.pids[g]);
            printf("connected: %d ready, %d failed, in %.1f s\n", ready, failed,
                   (double)(t_ready - t_begin) / 1e6);
            for (int g = 0; g < opt.npids; g++)
                if (before[g].ok && after[g].ok) {
                    double per = ready ? ((double)after[g].rss_kb - (double)before[g].rss_kb) *
                                             1024.0 / ready
                                       : 0;
                    printf("  %s RSS: %.1f MiB before connecting, %.1f MiB with %d connections: "
                           "%.0f bytes (%.2f KiB) per connection\n",
                           opt.pids[g].name, (double)before[g].rss_kb / 1024.0,
                           (double)after[g].rss_kb / 1024.0, ready, per, per / 1024.0);
                    printf("RESULT kind=memory label=%s group=%s conns=%d rss_before_kb=%llu "
                           "rss_after_kb=%llu bytes_per_conn=%.0f connect_s=%.1f\n",
                           *opt.label ? opt.label : "-", opt.pids[g].name, ready,
                           (unsigned long long)before[g].rss_kb,
                           (unsigned long long)after[g].rss_kb, per,
                           (double)(t_ready - t_begin) / 1e6);
                }
            fflush(stdout);
            t0 = now + 1000000;
            char go[64];
            int gl = snprintf(go, sizeof(go), "GO %llu\n", (unsigned long long)t0);
            for (int i = 0; i < opt.procs; i++)
                if (write(P.ch[i].ctl, go, (size_t)gl) != gl)
                    fprintf(stderr, "loadgen: cannot start worker %d\n", i);
        }
        /* Sample the server at step boundaries. */
        int timeout = 100;
        if (t0) {
            for (int k = 0; k < opt.nsteps; k++) {
                uint64_t ss = t0 + (uint64_t)k * step_len_us();
                uint64_t se = ss + (uint64_t)(opt.duration * 1e6);
                struct merged_step *m = &P.st[k];
                if (!m->sampled0 && now >= ss) {
                    for (int g = 0; g < opt.npids; g++)
                        m->s0[g] = sample_group(&opt.pids[g]);
                    m->sampled0 = true;
                }
                if (!m->sampled1 && now >= se) {
                    for (int g = 0; g < opt.npids; g++)
                        m->s1[g] = sample_group(&opt.pids[g]);
                    m->sampled1 = true;
                }
                if (!m->sampled0 && ss - now < (uint64_t)timeout * 1000)
                    timeout = (int)((ss - now) / 1000) + 1;
                if (m->sampled0 && !m->sampled1 && se - now < (uint64_t)timeout * 1000)
                    timeout = (int)((se - now) / 1000) + 1;
            }
        }
        struct pollfd pf[MAX_PROCS];
        int map[MAX_PROCS], n = 0;
        for (int i = 0; i < opt.procs; i++)
            if (P.ch[i].out >= 0) {
                pf[n].fd = P.ch[i].out;
                pf[n].events = POLLIN;
                map[n++] = i;
            }
        if (!n)
            break;
        int r = poll(pf, (nfds_t)n, timeout);
        if (r < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        for (int i = 0; r > 0 && i < n; i++)
            if (pf[i].revents)
                read_child(map[i]);
    }
    for (int i = 0; i < opt.procs; i++) {
        close(P.ch[i].ctl);
        int ws;
        if (P.ch[i].pid > 0 && waitpid(P.ch[i].pid, &ws, 0) > 0 &&
            !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) && !status)
            status = 2;
    }
    if (!t0) {
        fprintf(stderr, "loadgen: the workers never became ready\n");
        return 2;
    }

    /* ---- merge and print ---- */
    double tps = ticks_per_sec();
    bool lost = false;
    for (int k = 0; k < opt.nsteps; k++) {
        struct merged_step *m = &P.st[k];
        uint64_t expected = 0;
        for (int r = 0; r < opt.rooms; r++)
            expected += m->room_sent[r] * (uint64_t)P.nrecv[r];
        uint64_t total = 0;
        for (int i = 0; i < NBUCKET; i++)
            total += m->hist[i];
        double p50 = hist_pct(m->hist, total, 50, m->maxlat) / 1000.0;
        double p90 = hist_pct(m->hist, total, 90, m->maxlat) / 1000.0;
        double p99 = hist_pct(m->hist, total, 99, m->maxlat) / 1000.0;
        double mx = (double)m->maxlat / 1000.0;
        double dps = (double)m->inwin / opt.duration;
        double mps = (double)m->sent / opt.duration;
        uint64_t lgsum = 0, lgmax = 0;
        for (int i = 0; i < opt.procs; i++) {
            lgsum += m->lg_cpu[i];
            if (m->lg_cpu[i] > lgmax)
                lgmax = m->lg_cpu[i];
        }
        double lg_pct = (double)lgsum / (opt.duration * 1e6) * 100.0;
        double lg_max_pct = (double)lgmax / (opt.duration * 1e6) * 100.0;
        int64_t missing = (int64_t)expected - (int64_t)m->delivered;
        if (missing)
            lost = true;
        char rate[32];
        if (opt.rates[k] == 0)
            snprintf(rate, sizeof(rate), "max(w=%d)", opt.windows[k]);
        else
            snprintf(rate, sizeof(rate), "%g/s/room", opt.rates[k]);
        printf("step %d: rate %s: sent %" PRIu64 " msgs (%.0f msg/s), delivered %" PRIu64
               " of %" PRIu64 " expected, %.0f deliveries/s in the window; latency ms p50 %.2f "
               "p90 %.2f p99 %.2f max %.2f; skipped %" PRIu64 "; loadgen CPU %.0f%% "
               "(busiest process %.0f%% of a core)\n",
               k, rate, m->sent, mps, m->delivered, expected, dps, p50, p90, p99, mx,
               m->skipped, lg_pct, lg_max_pct);
        char srv[512] = "";
        size_t sl = 0;
        for (int g = 0; g < opt.npids; g++) {
            if (!m->s0[g].ok || !m->s1[g].ok)
                continue;
            double cpu = (double)(m->s1[g].cpu_ticks - m->s0[g].cpu_ticks) / tps /
                         opt.duration * 100.0;
            printf("  %s: CPU %.0f%% of a core, RSS %.1f MiB\n", opt.pids[g].name, cpu,
                   (double)m->s1[g].rss_kb / 1024.0);
            sl += (size_t)snprintf(srv + sl, sizeof(srv) - sl, " cpu_%s=%.1f rss_kb_%s=%llu",
                                   opt.pids[g].name, cpu, opt.pids[g].name,
                                   (unsigned long long)m->s1[g].rss_kb);
            if (sl >= sizeof(srv))
                sl = sizeof(srv) - 1;
        }
        printf("RESULT kind=step label=%s mode=%s step=%d rate=%g window=%d conns=%d rooms=%d "
               "senders=%d sent=%" PRIu64 " msgs_per_s=%.1f delivered=%" PRIu64
               " expected=%" PRIu64 " missing=%" PRId64 " deliveries_per_s=%.1f p50_ms=%.3f "
               "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f skipped=%" PRIu64
               " loadgen_cpu=%.1f loadgen_cpu_max=%.1f%s\n",
               *opt.label ? opt.label : "-", mode_name(), k, opt.rates[k], opt.windows[k],
               opt.conns, opt.rooms, opt.senders, m->sent, mps, m->delivered, expected, missing,
               dps, p50, p90, p99, mx, m->skipped, lg_pct, lg_max_pct, srv);
    }
    /* Every receiver got every message of every sender of its room, once, in order. */
    uint64_t short_pairs = 0, missing_total = 0;
    for (int r = 0; r < opt.rooms; r++)
        for (int k = 0; k < opt.senders && P.nrecv[r]; k++) {
            size_t j = (size_t)r * (size_t)S + (size_t)k;
            uint64_t want = P.sent[j];
            if (P.rmin[j] != want || P.rmax[j] != want)
                short_pairs++;
            uint64_t exp = want * (uint64_t)P.nrecv[r];
            if (exp > P.rsum[j])
                missing_total += exp - P.rsum[j];
        }
    bool complete = !short_pairs && !P.dup && !P.gaps && !P.cross && !P.bad;
    uint64_t lgall = 0;
    for (int i = 0; i < opt.procs; i++)
        lgall += P.lg_cpu_total[i];
    printf("check: %d connections ready, %d failed to connect, %d lost during the run; "
           "%s: %" PRIu64 " (room, sender) pairs short, %" PRIu64 " deliveries missing, %" PRIu64
           " duplicated or out of order, %" PRIu64 " gaps, %" PRIu64 " from other rooms, "
           "%" PRIu64 " bad markers, %" PRIu64 " protocol errors; %" PRIu64 " error frames",
           P.ready, P.failed, P.closed_run,
           complete ? "every message reached every receiver once and in order"
                    : "NOT every message reached every receiver once and in order",
           short_pairs, missing_total, P.dup, P.gaps, P.cross, P.bad, P.proto, P.errors);
    for (int i = 0; i < MAX_CODES && P.codes[i][0]; i++)
        printf("%s %s x%" PRIu64, i ? "," : ":", P.codes[i], P.code_n[i]);
    printf("; loadgen CPU total %.1f s\n", (double)lgall / 1e6);
    printf("RESULT kind=check label=%s ready=%d failed=%d lost_conns=%d complete=%d "
           "short_pairs=%" PRIu64 " missing=%" PRIu64 " dup=%" PRIu64 " gaps=%" PRIu64
           " errors=%" PRIu64 "\n",
           *opt.label ? opt.label : "-", P.ready, P.failed, P.closed_run, complete ? 1 : 0,
           short_pairs, missing_total, P.dup, P.gaps, P.errors);
    fflush(stdout);
    if (status)
        return status;
    if (!complete || lost || P.failed || P.closed_run || P.dead_senders)
        return 3;
    return 0;
}

/* ---- command line ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P [--mode haven|json|plain] [--path PATTERN] "
            "[--subprotocol NAME]\n"
            "               [--conns N] [--rooms R] [--senders S] [--rates X[,Y...]] "
            "[--window W]\n"
            "               [--duration T] [--drain D] [--size B] [--procs P]\n"
            "               [--connect-concurrency C] [--connect-timeout SECS] "
            "[--max-outstanding M]\n"
            "               [--pid NAME=PID[,PID...]]... [--label TEXT] [--run-id ID]\n"
            "See the comment at the top of tests/bench/loadgen.c.\n");
    exit(2);
}

static double num(const char *name, const char *v, double lo, double hi)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == 0 || *end || d < lo || d > hi)
        die("%s: expected a number from %g to %g, got '%s'", name, lo, hi, v);
    return d;
}

static bool loopback(const char *h)
{
    return strncmp(h, "127.", 4) == 0;
}

int main(int argc, char **argv)
{
    bool sp_set = false;
    /* Bounded by argc. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            usage();
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--host") == 0)
            opt.host = v;
        else if (strcmp(a, "--port") == 0)
            opt.port = (int)num(a, v, 1, 65535);
        else if (strcmp(a, "--mode") == 0) {
            if (strcmp(v, "haven") == 0)
                opt.mode = MODE_HAVEN;
            else if (strcmp(v, "json") == 0)
                opt.mode = MODE_JSON;
            else if (strcmp(v, "plain") == 0)
                opt.mode = MODE_PLAIN;
            else
                die("--mode: haven, json or plain");
        } else if (strcmp(a, "--path") == 0)
            opt.path = v;
        else if (strcmp(a, "--subprotocol") == 0) {
            opt.subprotocol = v;
            sp_set = true;
        } else if (strcmp(a, "--conns") == 0)
            opt.conns = (int)num(a, v, 1, 1000000);
        else if (strcmp(a, "--rooms") == 0)
            opt.rooms = (int)num(a, v, 1, 100000);
        else if (strcmp(a, "--senders") == 0)
            opt.senders = (int)num(a, v, 0, 10000);
        else if (strcmp(a, "--rates") == 0 || strcmp(a, "--rate") == 0) {
            char tmp[512];
            snprintf(tmp, sizeof(tmp), "%s", v);
            opt.nsteps = 0;
            for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ",")) {
                if (opt.nsteps == MAX_STEPS)
                    die("at most %d rates", MAX_STEPS);
                /* "max" or "max:W": as fast as possible with W outstanding per sender. */
                opt.windows[opt.nsteps] = 0;
                if (strncmp(t, "max", 3) == 0) {
                    opt.rates[opt.nsteps] = 0;
                    if (t[3] == ':')
                        opt.windows[opt.nsteps] = (int)num(a, t + 4, 1, 100000);
                    else if (t[3])
                        die("--rates: 'max' or 'max:W', got '%s'", t);
                } else {
                    opt.rates[opt.nsteps] = num(a, t, 0, 1e6);
                }
                opt.nsteps++;
            }
        } else if (strcmp(a, "--window") == 0)
            opt.window = (int)num(a, v, 1, 100000);
        else if (strcmp(a, "--duration") == 0)
            opt.duration = num(a, v, 0.5, 3600);
        else if (strcmp(a, "--drain") == 0)
            opt.drain = num(a, v, 0.1, 600);
        else if (strcmp(a, "--size") == 0)
            opt.size = (int)num(a, v, 48, 4000);
        else if (strcmp(a, "--procs") == 0)
            opt.procs = (int)num(a, v, 1, MAX_PROCS);
        else if (strcmp(a, "--connect-concurrency") == 0)
            opt.connect_concurrency = (int)num(a, v, 1, 100000);
        else if (strcmp(a, "--connect-timeout") == 0)
            opt.connect_timeout = num(a, v, 1, 3600);
        else if (strcmp(a, "--max-outstanding") == 0)
            opt.max_outstanding = (int)num(a, v, 1, 10000000);
        else if (strcmp(a, "--label") == 0)
            opt.label = v;
        else if (strcmp(a, "--run-id") == 0) {
            if (strlen(v) >= sizeof(opt.run) || strpbrk(v, ":~\"\\ "))
                die("--run-id: at most 15 characters, none of : ~ \" \\ or space");
            snprintf(opt.run, sizeof(opt.run), "%s", v);
        } else if (strcmp(a, "--pid") == 0) {
            if (opt.npids == MAX_PIDGROUPS)
                die("at most %d --pid groups", MAX_PIDGROUPS);
            struct pidgroup *g = &opt.pids[opt.npids++];
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || (size_t)(eq - v) >= sizeof(g->name))
                die("--pid NAME=PID[,PID...]");
            snprintf(g->name, sizeof(g->name), "%.*s", (int)(eq - v), v);
            char tmp[512];
            snprintf(tmp, sizeof(tmp), "%s", eq + 1);
            for (char *t = strtok(tmp, ","); t && g->n < MAX_PIDS; t = strtok(NULL, ","))
                g->pid[g->n++] = (int)num("--pid", t, 1, 1e9);
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", a);
            usage();
        }
    }
    if (!opt.port)
        usage();
    if (!loopback(opt.host))
        die("--host must be a loopback address (127.x.y.z): this tool only targets loopback");
    if (!opt.nsteps)
        opt.rates[opt.nsteps++] = 0;
    for (int k = 0; k < opt.nsteps; k++)
        if (!opt.windows[k])
            opt.windows[k] = opt.window;
    if (!sp_set)
        opt.subprotocol = opt.mode == MODE_HAVEN   ? "haven.v1"
                          : opt.mode == MODE_PLAIN ? "lws-mirror-protocol"
                                                   : "";
    if (opt.senders > opt.conns / opt.rooms)
        die("--senders %d: rooms have only %d members", opt.senders, opt.conns / opt.rooms);
    if (!opt.run[0])
        snprintf(opt.run, sizeof(opt.run), "r%llx",
                 (unsigned long long)((now_us() ^ (uint64_t)getpid() << 20) & 0xffffffffull));
    if (opt.procs > opt.conns)
        opt.procs = opt.conns;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* a write to a socket the server reset must not kill us */
    return parent_main();
}
