/*
 * metrics: the counters and histograms behind GET /metrics, and their
 * rendering in the Prometheus text exposition format (version 0.0.4).
 *
 * Other modules count what happens through the tiny functions below (a plain
 * increment of a process-wide counter: cheap enough for any path, safe inside
 * fan-out and lws callbacks).  Values that already live elsewhere (connections,
 * rooms, queue depth, database state) are not copied here: the caller of
 * metrics_render() gathers them into a struct metrics_snapshot at scrape time.
 *
 * No label ever carries a name, a token, an address or a meeting: a scrape
 * says how the server is doing, never who is in which meeting.
 *
 * Loop thread only (no locking).  Does no I/O except metrics_render(), which
 * reads /proc/self (fast kernel reads, at most once a second).
 */
#ifndef HAVEN_METRICS_H
#define HAVEN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum metrics_counter {
    METRICS_EVENTS_DELIVERED,     /* events written to connections (one per recipient) */
    METRICS_WS_DROPPED_FRAMES,    /* outbound frames discarded unsent */
    METRICS_WS_SLOW_CLOSES,       /* connections closed 1013 for not reading */
    METRICS_WS_RATE_LIMITED,      /* WebSocket requests refused with rate_limited */
    METRICS_HTTP_RATE_LIMITED,    /* HTTP requests answered 429 */
    METRICS_RELOADS_APPLIED,      /* SIGHUP reloads that were applied */
    METRICS_RELOADS_REFUSED,      /* SIGHUP reloads refused (invalid config) */
    METRICS_CONNECTIONS_REFUSED,  /* TCP connections refused by limits.connections_per_address */
    METRICS__COUNTERS
};

/* Add to a counter. */
void metrics_add(enum metrics_counter c, uint64_t n);
static inline void metrics_inc(enum metrics_counter c)
{
    metrics_add(c, 1);
}
uint64_t metrics_get(enum metrics_counter c);

/* An HTTP response was sent (counted by class; 429 also as a refusal). */
void metrics_http_response(int status);
/* A store pipeline segment completed after this many microseconds. */
void metrics_observe_db_rtt_us(uint64_t us);
/* The loop-lag probe ran this many microseconds late. */
void metrics_observe_loop_lag_us(uint64_t us);
/* Record a reload's outcome (also the last-reload-successful gauge). */
void metrics_reload_result(int ok);

/* What the scrape gathers from the other modules. */
struct metrics_snapshot {
    const char *version;
    int connections;           /* open WebSocket connections */
    size_t rooms;              /* live rooms */
    size_t joined;             /* connections joined to a room */
    uint64_t events_committed; /* events whose transaction committed */
    uint64_t frames_in;        /* WebSocket messages received */
    size_t queue_depth;        /* writes queued or in flight */
    size_t queue_max;
    int db_state;              /* index into db_states */
    const char *const *db_states;
    int ndb_states;
    uint64_t uptime_ms;
};

/* Append the whole exposition to out. */
void metrics_render(struct buf *out, const struct metrics_snapshot *snap);

/* Process figures, read from /proc/self and getrusage/getrlimit.  Returns 0,
 * or -1 when /proc is not there (the fields it could not fill are -1). */
struct metrics_process {
    double rss_bytes, vsize_bytes, cpu_seconds, open_fds, max_fds, start_time;
};
int metrics_read_process(struct metrics_process *p);

/* Forget every value (unit tests). */
void metrics_reset(void);

#endif
