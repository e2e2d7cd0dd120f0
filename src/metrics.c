#include "metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BUCKETS 16
/* A scrape re-reads /proc/self at most this often. */
#define PROCESS_CACHE_MS 1000
/* Counting /proc/self/fd stops here: enough to see a leak coming. */
#define FD_COUNT_CAP 1000000

struct histogram {
    const double *bounds; /* upper bounds in seconds, ascending; +Inf is implicit */
    int n;
    uint64_t buckets[MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

static const double lag_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,   0.25,   0.5,   1,    2.5,   5};
static const double rtt_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static struct {
    uint64_t counters[METRICS__COUNTERS];
    uint64_t http[5]; /* 1xx .. 5xx */
    struct histogram lag, rtt;
    int last_reload_ok;
    struct metrics_process proc;
    uint64_t proc_read_ms;
    bool proc_valid;
} M = {
    .lag = {lag_bounds, (int)HV_ARRAY_LEN(lag_bounds), {0}, 0, 0},
    .rtt = {rtt_bounds, (int)HV_ARRAY_LEN(rtt_bounds), {0}, 0, 0},
    .last_reload_ok = 1,
};

_Static_assert(HV_ARRAY_LEN(lag_bounds) <= MAX_BUCKETS, "too many lag buckets");
_Static_assert(HV_ARRAY_LEN(rtt_bounds) <= MAX_BUCKETS, "too many rtt buckets");

void metrics_add(enum metrics_counter c, uint64_t n)
{
    M.counters[c] += n;
}

uint64_t metrics_get(enum metrics_counter c)
{
    return M.counters[c];
}

void metrics_http_response(int status)
{
    if (status >= 100 && status < 600)
        M.http[status / 100 - 1]++;
    if (status == 429)
        M.counters[METRICS_HTTP_RATE_LIMITED]++;
}

static void observe(struct histogram *h, double seconds)
{
    int i = 0;
    while (i < h->n && seconds > h->bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += seconds;
}

void metrics_observe_db_rtt_us(uint64_t us)
{
    observe(&M.rtt, (double)us / 1e6);
}

void metrics_observe_loop_lag_us(uint64_t us)
{
    observe(&M.lag, (double)us / 1e6);
}

void metrics_reload_result(int ok)
{
    M.last_reload_ok = ok ? 1 : 0;
    metrics_inc(ok ? METRICS_RELOADS_APPLIED : METRICS_RELOADS_REFUSED);
}

void metrics_reset(void)
{
    memset(M.counters, 0, sizeof(M.counters));
    memset(M.http, 0, sizeof(M.http));
    memset(M.lag.buckets, 0, sizeof(M.lag.buckets));
    memset(M.rtt.buckets, 0, sizeof(M.rtt.buckets));
    M.lag.count = M.rtt.count = 0;
    M.lag.sum = M.rtt.sum = 0;
    M.last_reload_ok = 1;
    M.proc_valid = false;
}

/* ---- process ---- */

/* Read a small /proc file into buf (NUL-terminated); returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

int metrics_read_process(struct metrics_process *p)
{
    char buf[256];
    struct rusage ru;
    struct rlimit rl;
    int rc = 0;

    p->rss_bytes = p->vsize_bytes = p->open_fds = p->max_fds = p->start_time = -1;
    p->cpu_seconds = -1;
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long size, resident;
    if (read_small("/proc/self/statm", buf, sizeof(buf)) > 0 &&
        sscanf(buf, "%llu %llu", &size, &resident) == 2) {
        p->vsize_bytes = (double)size * (double)page;
        p->rss_bytes = (double)resident * (double)page;
    } else {
        rc = -1;
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        for (struct dirent *e; n < FD_COUNT_CAP && (e = readdir(d));)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        p->open_fds = (double)(n > 0 ? n - 1 : 0); /* not the directory's own */
    } else {
        rc = -1;
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        p->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        p->max_fds = (double)rl.rlim_cur;
    return rc;
}

/* ---- rendering ---- */

static void head(struct buf *out, const char *name, const char *type, const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(struct buf *out, const char *name, const char *type, const char *help,
                   double v)
{
    head(out, name, type, help);
    buf_printf(out, "%s %.15g\n", name, v);
}

static void histogram(struct buf *out, const char *name, const char *help,
                      const struct histogram *h)
{
    uint64_t cum = 0;
    head(out, name, "histogram", help);
    for (int i = 0; i < h->n; i++) {
        cum += h->buckets[i];
        buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
                   (unsigned long long)cum);
    }
    cum += h->buckets[h->n];
    buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    buf_printf(out, "%s_sum %.9f\n%s_count %llu\n", name, h->sum, name,
               (unsigned long long)h->count);
}

static void process(struct buf *out, const struct metrics_snapshot *snap)
{
    uint64_t now = util_mono_ms();
    if (!M.proc_valid || now - M.proc_read_ms >= PROCESS_CACHE_MS) {
        metrics_read_process(&M.proc);
        M.proc_read_ms = now;
        M.proc_valid = true;
    }
    const struct metrics_process *p = &M.proc;
    if (p->cpu_seconds >= 0)
        scalar(out, "process_cpu_seconds_total", "counter",
               "User and system CPU time spent, in seconds.", p->cpu_seconds);
    if (p->rss_bytes >= 0)
        scalar(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               p->rss_bytes);
    if (p->vsize_bytes >= 0)
        scalar(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               p->vsize_bytes);
    if (p->open_fds >= 0)
        scalar(out, "process_open_fds", "gauge", "Open file descriptors.", p->open_fds);
    if (p->max_fds >= 0)
        scalar(out, "process_max_fds", "gauge", "Limit on open file descriptors.", p->max_fds);
    scalar(out, "process_start_time_seconds", "gauge",
           "Start time of the server since the Unix epoch, in seconds.",
           (double)(util_wall_ms() - (int64_t)snap->uptime_ms) / 1000.0);
}

void metrics_render(struct buf *out, const struct metrics_snapshot *snap)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

    head(out, "haven_build_info", "gauge", "Always 1; the version of havend as a label.");
    buf_printf(out, "haven_build_info{version=\"%s\"} 1\n", snap->version);
    scalar(out, "haven_ws_connections", "gauge", "Open WebSocket connections.",
           snap->connections);
    scalar(out, "haven_rooms_live", "gauge", "Meetings with a live room in memory.",
           (double)snap->rooms);
    scalar(out, "haven_room_members", "gauge",
           "Connections joined to a live room (people present, counting each tab).",
           (double)snap->joined);
    scalar(out, "haven_events_committed_total", "counter",
           "Events (messages, reactions, chair actions) whose transaction committed.",
           (double)snap->events_committed);
    scalar(out, "haven_events_delivered_total", "counter",
           "Events written to WebSocket connections, one per recipient (live, catch-up and "
           "history).",
           (double)M.counters[METRICS_EVENTS_DELIVERED]);
    scalar(out, "haven_ws_frames_received_total", "counter",
           "WebSocket messages received from clients.", (double)snap->frames_in);
    scalar(out, "haven_ws_dropped_frames_total", "counter",
           "Outbound frames discarded unsent: refused by a full send queue, or still queued "
           "when their connection was closed without a flush.",
           (double)M.counters[METRICS_WS_DROPPED_FRAMES]);
    scalar(out, "haven_ws_slow_consumer_closes_total", "counter",
           "Connections closed with 1013 because their send queue was full.",
           (double)M.counters[METRICS_WS_SLOW_CLOSES]);
    head(out, "haven_rate_limited_total", "counter",
         "Requests refused by a rate limit: WebSocket requests (ws) and HTTP 429 answers, "
         "such as the login limits (http).");
    buf_printf(out, "haven_rate_limited_total{scope=\"ws\"} %llu\n",
               (unsigned long long)M.counters[METRICS_WS_RATE_LIMITED]);
    buf_printf(out, "haven_rate_limited_total{scope=\"http\"} %llu\n",
               (unsigned long long)M.counters[METRICS_HTTP_RATE_LIMITED]);
    scalar(out, "haven_connections_refused_total", "counter",
           "TCP connections closed on arrival because their address already held "
           "limits.connections_per_address connections.",
           (double)M.counters[METRICS_CONNECTIONS_REFUSED]);
    head(out, "haven_http_responses_total", "counter",
         "HTTP responses of the API, /healthz and /metrics, and refused WebSocket upgrades, "
         "by status class (static files are not counted).");
    for (int i = 0; i < 5; i++)
        buf_printf(out, "haven_http_responses_total{class=\"%s\"} %llu\n", classes[i],
                   (unsigned long long)M.http[i]);
    scalar(out, "haven_store_queue_depth", "gauge", "Database writes queued or in flight.",
           (double)snap->queue_depth);
    scalar(out, "haven_store_queue_limit", "gauge",
           "store.queue_max: beyond it new messages are refused.", (double)snap->queue_max);
    head(out, "haven_database_state", "gauge",
         "1 for the current state of the database connection, 0 for the others.");
    for (int i = 0; i < snap->ndb_states; i++)
        buf_printf(out, "haven_database_state{state=\"%s\"} %d\n", snap->db_states[i],
                   i == snap->db_state);
    histogram(out, "haven_database_round_trip_seconds",
              "Time from sending a pipeline segment (a batch of writes, or one read) to its "
              "last result.",
              &M.rtt);
    histogram(out, "haven_event_loop_lag_seconds",
              "How late a 100 ms timer on the event loop fires: time the loop spent busy "
              "instead of answering.",
              &M.lag);
    head(out, "haven_config_reloads_total", "counter", "SIGHUP reloads, by outcome.");
    buf_printf(out, "haven_config_reloads_total{result=\"applied\"} %llu\n",
               (unsigned long long)M.counters[METRICS_RELOADS_APPLIED]);
    buf_printf(out, "haven_config_reloads_total{result=\"refused\"} %llu\n",
               (unsigned long long)M.counters[METRICS_RELOADS_REFUSED]);
    scalar(out, "haven_config_last_reload_successful", "gauge",
           "0 when the last SIGHUP found an invalid config (the running one stays).",
           M.last_reload_ok);
    scalar(out, "haven_uptime_seconds", "gauge", "Seconds since havend started.",
           (double)snap->uptime_ms / 1000.0);
    process(out, snap);
}
