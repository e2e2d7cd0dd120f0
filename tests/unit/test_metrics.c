/* Unit tests of metrics: counters, histograms and the text exposition format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "util.h"

/* The value of the sample line that starts with "name " (or "name{...} "), or -1. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static char *render(void)
{
    static const char *const states[] = {"connecting", "ok", "down", "stopped"};
    struct metrics_snapshot snap = {
        .version = "9.9.9",
        .connections = 3,
        .rooms = 1,
        .joined = 2,
        .events_committed = 42,
        .frames_in = 7,
        .queue_depth = 5,
        .queue_max = 100,
        .db_state = 1,
        .db_states = states,
        .ndb_states = 4,
        .uptime_ms = 2500,
    };
    struct buf b;
    buf_init(&b);
    metrics_render(&b, &snap);
    return b.data;
}

int main(void)
{
    metrics_reset();
    metrics_inc(METRICS_EVENTS_DELIVERED);
    metrics_add(METRICS_EVENTS_DELIVERED, 9);
    metrics_inc(METRICS_WS_RATE_LIMITED);
    metrics_http_response(200);
    metrics_http_response(204);
    metrics_http_response(429);
    metrics_http_response(503);
    metrics_http_response(42); /* not a status: ignored */
    metrics_observe_loop_lag_us(500);     /* 0.0005 s: first bucket */
    metrics_observe_loop_lag_us(30000);   /* 0.03 s */
    metrics_observe_loop_lag_us(9000000); /* 9 s: only +Inf */
    metrics_observe_db_rtt_us(1000);      /* exactly on the 0.001 bound: le is inclusive */
    metrics_reload_result(0);

    char *t = render();
    CHECK_EQ_INT((int)sample(t, "haven_events_delivered_total"), 10);
    CHECK_EQ_INT((int)sample(t, "haven_events_committed_total"), 42);
    CHECK_EQ_INT((int)sample(t, "haven_ws_connections"), 3);
    CHECK_EQ_INT((int)sample(t, "haven_room_members"), 2);
    CHECK_EQ_INT((int)sample(t, "haven_store_queue_depth"), 5);
    CHECK_EQ_INT((int)sample(t, "haven_rate_limited_total{scope=\"ws\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_rate_limited_total{scope=\"http\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_http_responses_total{class=\"2xx\"}"), 2);
    CHECK_EQ_INT((int)sample(t, "haven_http_responses_total{class=\"4xx\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_http_responses_total{class=\"5xx\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_database_state{state=\"ok\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_database_state{state=\"down\"}"), 0);
    CHECK(strstr(t, "haven_build_info{version=\"9.9.9\"} 1\n") != NULL);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_bucket{le=\"0.001\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_bucket{le=\"0.025\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_bucket{le=\"0.05\"}"), 2);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_bucket{le=\"5\"}"), 2);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_bucket{le=\"+Inf\"}"), 3);
    CHECK_EQ_INT((int)sample(t, "haven_event_loop_lag_seconds_count"), 3);
    CHECK(sample(t, "haven_event_loop_lag_seconds_sum") > 9.03 &&
          sample(t, "haven_event_loop_lag_seconds_sum") < 9.031);
    CHECK_EQ_INT((int)sample(t, "haven_database_round_trip_seconds_bucket{le=\"0.0005\"}"), 0);
    CHECK_EQ_INT((int)sample(t, "haven_database_round_trip_seconds_bucket{le=\"0.001\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_config_reloads_total{result=\"refused\"}"), 1);
    CHECK_EQ_INT((int)sample(t, "haven_config_last_reload_successful"), 0);
    CHECK(sample(t, "process_resident_memory_bytes") > 0);
    CHECK(sample(t, "process_open_fds") >= 3);
    /* Every family has HELP and TYPE once, before its samples. */
    CHECK(strstr(t, "# TYPE haven_event_loop_lag_seconds histogram\n") != NULL);
    CHECK(strstr(t, "# TYPE haven_events_delivered_total counter\n") != NULL);
    int types = 0;
    for (const char *p = t; (p = strstr(p, "# TYPE ")); p++)
        types++;
    int helps = 0;
    for (const char *p = t; (p = strstr(p, "# HELP ")); p++)
        helps++;
    CHECK_EQ_INT(types, helps);
    CHECK(t[strlen(t) - 1] == '\n');
    free(t);

    metrics_reload_result(1);
    t = render();
    CHECK_EQ_INT((int)sample(t, "haven_config_last_reload_successful"), 1);
    free(t);

    struct metrics_process p;
    CHECK_EQ_INT(metrics_read_process(&p), 0);
    CHECK(p.rss_bytes > 0 && p.vsize_bytes >= p.rss_bytes);
    CHECK(p.open_fds >= 3 && p.cpu_seconds >= 0);
    return check_done();
}
