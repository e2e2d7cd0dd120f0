/*
 * bench_store: committed events per second through the real store (src/store.c).
 *
 *   bench_store --url CONNINFO [-n EVENTS] [--runs R] [--batch B[p][:N],...] [--max-seconds S]
 *
 * For each store.batch_max value B (default "1,500": one transaction per event, then the
 * default batching writer) and each of R runs (default 3), on its own libuv loop (a B
 * written "500p" sends one INSERT statement per event in the batch's transaction, pipelined,
 * instead of havend's merged multi-row INSERT of store_prepare_bulk):
 *   1. a store is opened on CONNINFO; it applies the embedded migrations like havend does;
 *   2. a meeting, a live session and one participant are created with the store itself;
 *   3. the clock starts, N events (default 20000; B:N overrides N for that B) are queued at
 *      once with havend's own INSERT (the one in src/live.c), and the clock stops when the
 *      last one's transaction has committed (its callback ran);
 *   4. the events table is read back: exactly N rows with seq 1..N, or the run fails.
 * Prints one table row per B with every run's events/s and their median, and for B = 1 the
 * distribution of the time one transaction takes (the interval between successive commits:
 * with one event per segment and one segment in flight, the next is sent as soon as the
 * previous one's result is in).
 *
 * Every run uses a new meeting, so all runs may share one database. Nothing is printed of
 * CONNINFO.  Exit status 0 when every run completed and verified, 1 otherwise, 2 on usage.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "migrate.h"
#include "live_sql.h"
#include "store.h"

#define MAX_BATCHES 8
#define MAX_RUNS 20

struct run {
    uv_loop_t loop;
    uv_timer_t deadline;
    struct store *st;
    struct migration_set mig;
    int s_meeting, s_session, s_participant, s_event, s_verify;

    int batch_max;
    bool bulk; /* merged statements, as havend: store_prepare_bulk */
    int n;
    int index;
    long long meeting_id, session_id;

    bool started;   /* setup began (the store was ready once) */
    bool stopping;
    int committed, failed;
    uint64_t t0, t1; /* ns */
    uint64_t last_cb; /* ns, the previous commit callback */
    double *intervals; /* batch_max 1: ms between successive commits, or NULL */
    int nintervals;
    bool verified;
    char error[512];
};

static void fail(struct run *r, const char *fmt, const char *detail);

static void on_stopped(void *arg)
{
    struct run *r = arg;
    uv_close((uv_handle_t *)&r->deadline, NULL);
}

static void stop(struct run *r)
{
    if (r->stopping)
        return;
    r->stopping = true;
    uv_timer_stop(&r->deadline);
    store_stop(r->st, 10000, on_stopped, r);
}

static void fail(struct run *r, const char *fmt, const char *detail)
{
    if (!r->error[0])
        snprintf(r->error, sizeof(r->error), fmt, detail ? detail : "");
    stop(r);
}

static void on_deadline(uv_timer_t *t)
{
    struct run *r = t->data;
    fail(r, "run did not finish in time%s", "");
}

static void on_verified(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct run *r = arg;
    if (status) {
        fail(r, "verification query failed: %s", errmsg);
        return;
    }
    long long rows = store_result_int(res, 0, 0);
    long long max_seq = store_result_int(res, 0, 1);
    long long min_seq = store_result_int(res, 0, 2);
    if (rows != r->n || max_seq != r->n || (r->n > 0 && min_seq != 1)) {
        char d[160];
        snprintf(d, sizeof(d), "%lld rows, seq %lld..%lld, expected %d rows 1..%d", rows,
                 min_seq, max_seq, r->n, r->n);
        fail(r, "events table does not hold what was committed: %s", d);
        return;
    }
    r->verified = true;
    stop(r);
}

static void on_event(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct run *r = arg;
    (void)res;
    if (status) {
        r->failed++;
        if (r->failed == 1)
            snprintf(r->error, sizeof(r->error), "an insert failed: %s", errmsg);
    } else {
        r->committed++;
    }
    uint64_t now = uv_hrtime();
    if (r->intervals)
        r->intervals[r->nintervals++] = (double)(now - (r->last_cb ? r->last_cb : r->t0)) / 1e6;
    r->last_cb = now;
    if (r->committed + r->failed < r->n)
        return;
    r->t1 = uv_hrtime();
    if (r->failed) {
        stop(r);
        return;
    }
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", r->session_id);
    const char *p[] = {sid};
    if (store_exec(r->st, r->s_verify, STORE_READ, 1, p, on_verified, r))
        fail(r, "could not queue the verification query%s", "");
}

static void queue_events(struct run *r)
{
    char sid[24], seq[24], cmid[40], body[160], ts[24];
    snprintf(sid, sizeof(sid), "%lld", r->session_id);
    r->t0 = uv_hrtime();
    for (int i = 1; i <= r->n; i++) {
        snprintf(seq, sizeof(seq), "%d", i);
        snprintf(cmid, sizeof(cmid), "bench-%08d", i);
        /* A typical short chat line: about 80 characters of text. */
        snprintf(body, sizeof(body),
                 "{\"text\":\"benchmark message %08d: thanks everyone, just for today, keep "
                 "coming back\"}",
                 i);
        snprintf(ts, sizeof(ts), "%lld", (long long)(1795381200000LL + i));
        const char *p[] = {sid, seq, "1", "message", cmid, body, ts, "english"};
        int rc = store_exec(r->st, r->s_event, STORE_WRITE, 8, p, on_event, r);
        if (rc) {
            fail(r, "store_exec refused an event (%s)", rc == -1003 ? "queue full" : "error");
            return;
        }
    }
}

static void on_participant(void *arg, const struct store_result *res, int status,
                           const char *errmsg)
{
    struct run *r = arg;
    (void)res;
    if (status) {
        fail(r, "creating the participant failed: %s", errmsg);
        return;
    }
    queue_events(r);
}

static void on_session(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct run *r = arg;
    if (status || store_result_rows(res) != 1) {
        fail(r, "creating the session failed: %s", errmsg ? errmsg : "no row");
        return;
    }
    r->session_id = store_result_int(res, 0, 0);
    char sid[24];
    snprintf(sid, sizeof(sid), "%lld", r->session_id);
    const char *p[] = {sid};
    if (store_exec(r->st, r->s_participant, STORE_WRITE, 1, p, on_participant, r))
        fail(r, "could not queue the participant%s", "");
}

static void on_meeting(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct run *r = arg;
    if (status || store_result_rows(res) != 1) {
        fail(r, "creating the meeting failed: %s", errmsg ? errmsg : "no row");
        return;
    }
    r->meeting_id = store_result_int(res, 0, 0);
    char mid[24];
    snprintf(mid, sizeof(mid), "%lld", r->meeting_id);
    const char *p[] = {mid};
    if (store_exec(r->st, r->s_session, STORE_WRITE, 1, p, on_session, r))
        fail(r, "could not queue the session%s", "");
}

static void on_state(void *arg, enum store_state state)
{
    struct run *r = arg;
    if (state != STORE_OK || r->started || r->stopping)
        return;
    r->started = true;
    /* Unique per process run and per (batch, run). */
    char slug[64];
    snprintf(slug, sizeof(slug), "bench-%d-%d-b%d-r%d", (int)getpid(),
             (int)(uv_hrtime() / 1000000u % 1000000u), r->batch_max, r->index);
    const char *p[] = {slug};
    if (store_exec(r->st, r->s_meeting, STORE_WRITE, 1, p, on_meeting, r))
        fail(r, "could not queue the meeting%s", "");
}

static void on_fatal(void *arg, const char *why)
{
    fail(arg, "store gave up: %s", why);
}

/* One run; returns events/s, or a negative value on failure (message printed).  When
 * intervals is not NULL (room for n), the time of each commit since the previous one is
 * stored there and *nintervals set. */
static double one_run(const char *url, int batch_max, bool bulk, int n, int index,
                      int max_seconds, double *intervals, int *nintervals)
{
    struct run *r = calloc(1, sizeof(*r));
    double rate = -1;
    if (!r)
        return -1;
    r->batch_max = batch_max;
    r->bulk = bulk;
    r->n = n;
    r->index = index;
    r->intervals = intervals;
    uv_loop_init(&r->loop);
    uv_timer_init(&r->loop, &r->deadline);
    r->deadline.data = r;

    migrate_load_embedded(&r->mig);
    struct store_opts opts = {
        .url = url,
        .connect_timeout_ms = 5000,
        .reconnect_max_ms = 1000,
        .batch_max = batch_max,
        .queue_max = n + 16,
        .migrate_only = false,
    };
    r->st = store_new(&r->loop, &opts, &r->mig);
    store_set_callbacks(r->st, on_state, on_fatal, NULL, r);
    r->s_meeting = store_prepare(
        r->st, "INSERT INTO meetings (slug, name) VALUES ($1, $1) RETURNING id", 1);
    r->s_session = store_prepare(
        r->st, "INSERT INTO sessions (meeting_id) VALUES ($1) RETURNING id", 1);
    r->s_participant = store_prepare(
        r->st,
        "INSERT INTO participants (session_id, member_no, display_name, role, first_joined_at)"
        " VALUES ($1, 1, 'Bench', 'attendee', now())",
        1);
    r->s_event = store_prepare(r->st, LIVE_SQL_INSERT_EVENT, 8);
    if (bulk)
        store_prepare_bulk(r->st, r->s_event, LIVE_SQL_INSERT_EVENTS);
    r->s_verify = store_prepare(
        r->st,
        "SELECT count(*), coalesce(max(seq), 0), coalesce(min(seq), 0) FROM events"
        " WHERE session_id = $1",
        1);
    uv_timer_start(&r->deadline, on_deadline, (uint64_t)max_seconds * 1000u, 0);
    store_start(r->st);
    uv_run(&r->loop, UV_RUN_DEFAULT);

    if (r->verified && r->t1 > r->t0)
        rate = (double)r->n / ((double)(r->t1 - r->t0) / 1e9);
    else
        fprintf(stderr, "bench_store: batch_max %d run %d failed: %s\n", batch_max, index + 1,
                r->error[0] ? r->error : "unknown error");

    if (nintervals)
        *nintervals = r->nintervals;
    store_free(r->st);
    migrate_set_cleanup(&r->mig);
    if (uv_loop_close(&r->loop))
        fprintf(stderr, "bench_store: loop still had open handles\n");
    free(r);
    return rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
    int k = (int)(p / 100.0 * n + 0.999999) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_store --url CONNINFO [-n EVENTS] [--runs R] "
                 "[--batch B[p][:N],...] [--max-seconds S]\n");
}

static bool parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int n_default = 20000, runs = 3, max_seconds = 300;
    const char *batch_spec = "1,500";
    int batches[MAX_BATCHES], counts[MAX_BATCHES], nb = 0;
    bool pipelined[MAX_BATCHES];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--url") == 0) {
            url = v;
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "--events") == 0) {
            if (!parse_int(v, 1, 10000000, &n_default)) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--runs") == 0) {
            if (!parse_int(v, 1, MAX_RUNS, &runs)) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--max-seconds") == 0) {
            if (!parse_int(v, 1, 86400, &max_seconds)) {
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--batch") == 0) {
            batch_spec = v;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!url) {
        usage(stderr);
        return 2;
    }

    /* "1:5000,500" -> batch 1 with 5000 events, batch 500 with the default count. */
    char spec[256];
    snprintf(spec, sizeof(spec), "%s", batch_spec);
    for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        int b, c = n_default;
        if (colon)
            *colon = '\0';
        size_t len = strlen(tok);
        bool p = len > 1 && tok[len - 1] == 'p';
        if (p)
            tok[len - 1] = '\0';
        if (nb == MAX_BATCHES || !parse_int(tok, 1, 10000, &b) ||
            (colon && !parse_int(colon + 1, 1, 10000000, &c))) {
            usage(stderr);
            return 2;
        }
        batches[nb] = b;
        counts[nb] = c;
        pipelined[nb] = p;
        nb++;
    }
    if (nb == 0) {
        usage(stderr);
        return 2;
    }

    log_set_level(LOG_WARN);
    printf("%-10s %-8s", "batch_max", "events");
    for (int k = 0; k < runs; k++)
        printf(" %11s", "run ev/s");
    printf(" %13s\n", "median ev/s");

    int failures = 0;
    double *tx = NULL; /* batch_max 1: every transaction's time, all runs */
    int ntx = 0;
    for (int b = 0; b < nb; b++) {
        double rates[MAX_RUNS];
        int ok = 0;
        bool single = batches[b] == 1 && !tx;
        char label[16];
        snprintf(label, sizeof(label), "%d%s", batches[b], pipelined[b] ? "p" : "");
        if (single && !(tx = malloc((size_t)counts[b] * (size_t)runs * sizeof(double)))) {
            fprintf(stderr, "bench_store: out of memory\n");
            return 1;
        }
        printf("%-10s %-8d", label, counts[b]);
        fflush(stdout);
        for (int k = 0; k < runs; k++) {
            int got = 0;
            double rate = one_run(url, batches[b], !pipelined[b], counts[b], k, max_seconds,
                                  single ? tx + ntx : NULL, single ? &got : NULL);
            ntx += got;
            if (rate < 0) {
                failures++;
                printf(" %11s", "FAILED");
            } else {
                rates[ok++] = rate;
                printf(" %11.0f", rate);
            }
            fflush(stdout);
        }
        if (ok) {
            qsort(rates, (size_t)ok, sizeof(double), cmp_double);
            double median =
                ok % 2 ? rates[ok / 2] : (rates[ok / 2 - 1] + rates[ok / 2]) / 2.0;
            printf(" %13.0f\n", median);
        } else {
            printf(" %13s\n", "-");
        }
    }
    if (ntx > 0) {
        qsort(tx, (size_t)ntx, sizeof(double), cmp_double);
        printf("batch_max 1, time per one-event transaction over %d commits: p50 %.3f ms, "
               "p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               ntx, pct(tx, ntx, 50), pct(tx, ntx, 90), pct(tx, ntx, 99), tx[ntx - 1]);
    }
    free(tx);
    return failures ? 1 : 0;
}
