/*
 * server_ops: the loop-lag probe and SIGHUP reloads (see server_int.h).
 */
#include "server_int.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

#define LAG_INTERVAL_MS 100

struct reload {
    uv_work_t work;
    struct config fresh;
    char *crisis; /* the crisis-help entries, read again with the file */
    int rc;
    char err[512];
};

static struct {
    bool started, stopped;
    uv_timer_t lag;
    uint64_t last_tick_ns;
    uv_signal_t sighup;
    struct config *cfg;
    const struct config_sources *src;
    struct store *st;
    struct reload *inflight;
    bool again; /* another SIGHUP came while a reload was being read */
} O;

static void on_lag_tick(uv_timer_t *t)
{
    uint64_t now = uv_hrtime();
    uint64_t due = O.last_tick_ns + (uint64_t)LAG_INTERVAL_MS * 1000000u;
    /* The timer is re-armed from the loop's cached time, which is never later
     * than our last reading: lateness is what is over the interval. */
    metrics_observe_loop_lag_us(now > due ? (now - due) / 1000u : 0);
    O.last_tick_ns = now;
    (void)t;
}

/* Off the loop: the file read and the parse. */
static void read_config(uv_work_t *w)
{
    struct reload *r = w->data;
    r->rc = config_load_sources(&r->fresh, O.src, r->err, sizeof(r->err));
    if (!r->rc && !(r->crisis = http_crisis_read(&r->fresh, r->err, sizeof(r->err))))
        r->rc = HV_EINVAL;
}

static void start_reload(void);

static void apply_config(uv_work_t *w, int status)
{
    struct reload *r = w->data;
    O.inflight = NULL;
    if (O.stopped || status == UV_ECANCELED) {
        /* Shutting down: nothing to apply any more. */
    } else if (r->rc) {
        log_error("config", "reload refused, the running configuration stays: %s", r->err);
        metrics_reload_result(0);
    } else {
        int applied = 0, restart = 0;
        config_apply_live(O.cfg, &r->fresh, &applied, &restart);
        config_apply_logging(O.cfg);
        store_set_limits(O.st, O.cfg->store_batch_max, O.cfg->store_queue_max);
        if (http_crisis_set(r->crisis))
            log_info("config", "crisis-help entries changed");
        r->crisis = NULL;
        log_info("config", "reloaded: %d change%s applied, %d waiting for a restart", applied,
                 applied == 1 ? "" : "s", restart);
        metrics_reload_result(1);
    }
    config_cleanup(&r->fresh);
    free(r->crisis);
    free(r);
    if (O.again && !O.stopped) {
        O.again = false;
        start_reload();
    }
}

static void start_reload(void)
{
    struct reload *r = xcalloc(1, sizeof(*r));
    r->work.data = r;
    O.inflight = r;
    int rc = uv_queue_work(O.sighup.loop, &r->work, read_config, apply_config);
    if (rc) {
        O.inflight = NULL;
        free(r);
        log_error("config", "reload not started: %s", uv_strerror(rc));
    }
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    log_info("config", "received SIGHUP: reloading the configuration");
    if (O.inflight)
        O.again = true;
    else
        start_reload();
}

void server__ops_start(uv_loop_t *loop, struct config *cfg, const struct config_sources *src,
                       struct store *st)
{
    O.cfg = cfg;
    O.src = src;
    O.st = st;
    uv_timer_init(loop, &O.lag);
    O.last_tick_ns = uv_hrtime();
    uv_timer_start(&O.lag, on_lag_tick, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
    uv_signal_init(loop, &O.sighup);
    uv_signal_start(&O.sighup, on_sighup, SIGHUP);
    O.started = true;
}

void server__ops_stop(void)
{
    if (!O.started || O.stopped)
        return;
    O.stopped = true;
    uv_close((uv_handle_t *)&O.lag, NULL);
    uv_close((uv_handle_t *)&O.sighup, NULL);
    /* libuv gives SIGHUP back its default action, which would kill a server
     * that is draining its connections. */
    signal(SIGHUP, SIG_IGN);
    if (O.inflight)
        uv_cancel((uv_req_t *)&O.inflight->work);
}
