#include "server.h"
#include "server_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <libwebsockets.h>

#include "account.h"
#include "api.h"
#include "config.h"
#include "directory.h"
#include "guard.h"
#include "http.h"
#include "live.h"
#include "live_owner.h"
#include "log.h"
#include "migrate.h"
#include "session.h"
#include "slip.h"
#include "store.h"
#include "transcript.h"
#include "util.h"
#include "version.h"
#include "ws.h"

#define DRAIN_MS 2000
#define STORE_GRACE_MS 5000

enum phase { RUNNING, DRAINING, STOPPING };

struct server {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_check_t reaper;
    uv_timer_t drain;
    uint64_t drain_started;
    struct lws_context *lws;
    struct store *store;
    struct live *live;
    const struct config *cfg;
    struct migration_set migs;
    struct http_ctx http;
    enum phase phase;
    int exit_code;
};

static void lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        n--;
    /* lws logs protocol details only (never message bodies). */
    log_msg(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws", "%.*s", (int)n, line);
}

static void on_reap(uv_check_t *h)
{
    (void)h;
    session_reap();
}

static void on_store_state(void *arg, enum store_state state)
{
    struct server *srv = arg;
    if (srv->live)
        live_on_store_state(srv->live, state);
}

static void begin_stop(struct server *srv);

static void on_store_fatal(void *arg, const char *why)
{
    struct server *srv = arg;
    srv->exit_code = 1;
    begin_stop(srv);
}

static void on_migrated(void *arg)
{
    struct server *srv = arg;
    if (!srv->lws) /* havend migrate */
        begin_stop(srv);
}

static void store_stopped(void *arg)
{
    (void)arg;
}

static void finish_stop(struct server *srv)
{
    srv->phase = STOPPING;
    transcript_stop();
    ws_stop();
    uv_close((uv_handle_t *)&srv->drain, NULL);
    uv_close((uv_handle_t *)&srv->reaper, NULL);
    if (srv->lws)
        lws_context_destroy(srv->lws);
    /* No new file descriptors from here on (TECH-NOTES §0.3): the store only
     * flushes on the connection it has. */
    store_stop(srv->store, STORE_GRACE_MS, store_stopped, srv);
}

static void on_drain(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (ws_connection_count() > 0 && util_mono_ms() - srv->drain_started < DRAIN_MS)
        return;
    if (ws_connection_count() > 0)
        log_warnx("server", "%d connections still open after %d ms", ws_connection_count(),
                  DRAIN_MS);
    uv_timer_stop(t);
    finish_stop(srv);
}

static void close_session(struct session *s, void *arg)
{
    (void)arg;
    session_close_gently(s, 1001, "server shutdown");
}

static void begin_stop(struct server *srv)
{
    if (srv->phase != RUNNING)
        return;
    srv->phase = DRAINING;
    server__ops_stop();
    if (!uv_is_closing((uv_handle_t *)&srv->sigint)) {
        uv_close((uv_handle_t *)&srv->sigint, NULL);
        uv_close((uv_handle_t *)&srv->sigterm, NULL);
    }
    if (!srv->lws) {
        finish_stop(srv);
        return;
    }
    log_info("server", "shutting down: closing %d connections", ws_connection_count());
    session_foreach(close_session, NULL);
    srv->drain_started = util_mono_ms();
    uv_timer_start(&srv->drain, on_drain, 0, 10);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *srv = h->data;
    log_info("server", "received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    begin_stop(srv);
}

static int load_migrations(struct server *srv)
{
    char err[512];
    if (!*srv->cfg->database_migrations_dir) {
        migrate_load_embedded(&srv->migs);
        return 0;
    }
    if (migrate_load_dir(&srv->migs, srv->cfg->database_migrations_dir, err, sizeof(err))) {
        log_error("server", "database.migrations_dir: %s", err);
        return -1;
    }
    return 0;
}

static void init_common(struct server *srv, const struct config *cfg, bool migrate_only)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    uv_loop_init(&srv->loop);
    uv_signal_init(&srv->loop, &srv->sigint);
    uv_signal_init(&srv->loop, &srv->sigterm);
    srv->sigint.data = srv->sigterm.data = srv;
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_timer_init(&srv->loop, &srv->drain);
    srv->drain.data = srv;
    uv_check_init(&srv->loop, &srv->reaper);
    uv_check_start(&srv->reaper, on_reap);
    struct store_opts so = {
        .url = cfg->database_url,
        .connect_timeout_ms = cfg->database_connect_timeout_ms,
        .reconnect_max_ms = cfg->database_reconnect_max_ms,
        .batch_max = cfg->store_batch_max,
        .queue_max = cfg->store_queue_max,
        .migrate_only = migrate_only,
    };
    char pgopts[128];
    so.options = live_owner_store_options(cfg, pgopts, sizeof(pgopts));
    srv->store = store_new(&srv->loop, &so, &srv->migs);
    store_set_callbacks(srv->store, on_store_state, on_store_fatal, on_migrated, srv);
}

static int run_loop(struct server *srv)
{
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if (srv->lws)
        lws_context_destroy(srv->lws);
    session_reap();
    session_cleanup_all();
    guard_cleanup();
    live_free(srv->live);
    api_cleanup();
    http_cleanup();
    account_cleanup();
    store_free(srv->store);
    migrate_set_cleanup(&srv->migs);
    int rc = uv_loop_close(&srv->loop);
    if (rc)
        log_warnx("server", "loop closed with handles left: %s", uv_strerror(rc));
    return srv->exit_code;
}

int server_migrate(const struct config *cfg)
{
    struct server srv;
    init_common(&srv, cfg, true);
    if (load_migrations(&srv)) {
        srv.exit_code = 1;
        begin_stop(&srv);
    } else {
        store_start(srv.store);
    }
    int rc = run_loop(&srv);
    if (rc == 0)
        log_info("server", "migrations are up to date");
    return rc;
}

int server_run(struct config *cfg, const struct config_sources *src)
{
    static struct server srv;
    char err[512];
    struct lws_context_creation_info info;
    void *foreign_loops[1];
    const struct lws_protocols *protos[4];
    static struct lws_protocols protocols[4];
    static const lws_retry_bo_t no_validity_timer = {.secs_since_valid_hangup = 0};

    init_common(&srv, cfg, false);
    srv.exit_code = 0;
    if (load_migrations(&srv))
        goto fail_early;

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    srv.live = live_new(&srv.loop, srv.store, cfg);
    ws_init(&srv.loop, srv.live, cfg);
    srv.http.cfg = cfg;
    srv.http.live = srv.live;
    srv.http.store = srv.store;
    srv.http.started_ms = util_mono_ms();
    const struct lws_http_mount *mounts = http_mounts(&srv.http, err, sizeof(err));
    if (!mounts) {
        log_error("server", "%s", err);
        goto fail_early;
    }
    account_init(&srv.loop, srv.store, cfg);
    directory_init(srv.store, cfg, srv.live);
    transcript_init(&srv.loop, srv.store, cfg);
    if (slip_init(srv.store, cfg))
        goto fail_early; /* it logged why */

    protos[0] = http_protocol_default();
    protos[1] = ws_protocol();
    protos[2] = http_protocol_api();
    for (int i = 0; i < 3; i++)
        protocols[i] = *protos[i];
    memset(&protocols[3], 0, sizeof(protocols[3]));

    /* haven.v1 is the default ws protocol, so that an upgrade offering no
     * subprotocol or another one reaches ws.c and is refused with 400 instead
     * of hanging or being dropped without an answer (TECH-NOTES §0.6: ws.c
     * hands every HTTP reason on to lws_callback_http_dummy). */
    static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
    static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "haven.v1", ""};
    memset(&info, 0, sizeof(info));
    info.pvo = &pvo;
    foreign_loops[0] = &srv.loop;
    info.foreign_loops = foreign_loops;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.pcontext = &srv.lws;
    info.protocols = protocols;
    info.mounts = mounts;
    info.port = cfg->listen_port;
    info.iface = cfg->listen_address;
    info.vhost_name = "haven";
    info.server_string = "havend";
    /* ws.c keeps connections alive itself.  A policy whose hangup time is 0
     * turns lws's own validity timer off: without one lws falls back to a
     * default policy and re-inserts every connection into its sorted timer
     * list on every frame received (O(n) each: 35-50 % of a core for a round
     * of pongs from 19,000 idle connections, BENCHMARKS.md). */
    info.retry_and_idle_policy = &no_validity_timer;
    /* A connection gets this long for its TLS handshake and request headers
     * (PENDING_TIMEOUT_ESTABLISH_WITH_SERVER, then HOLDING_AH): bytes that
     * trickle in do not extend it, so a slow client cannot keep a slot. */
    info.timeout_secs = (unsigned int)cfg->limits_handshake_timeout_secs;
    info.timeout_secs_ah_idle = (unsigned int)cfg->limits_handshake_timeout_secs;
    info.max_http_header_data = (unsigned short)cfg->limits_max_header_bytes;
    if (*cfg->tls_cert) {
        /* TLS only on this port: plain HTTP to it fails the handshake.  HTTP/1.1 only
         * (TECH-NOTES §11: no h2 ALPN on Debian's lws); STS adds
         * Strict-Transport-Security to every response lws writes headers for. */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_STS;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        info.alpn = "http/1.1";
    }
    guard_init(cfg);

    srv.lws = lws_create_context(&info);
    if (!srv.lws) {
        log_error("server", "could not create the libwebsockets context");
        goto fail_early;
    }
    if (!lws_create_vhost(srv.lws, &info)) {
        /* The context is usable only for its own teardown (TECH-NOTES §0.2):
         * open nothing else. */
        if (*cfg->tls_cert)
            log_error("server",
                      "cannot listen on %s port %d with TLS (the port is taken, or tls.cert or "
                      "tls.key is not a PEM certificate and its matching key)",
                      cfg->listen_address, cfg->listen_port);
        else
            log_error("server", "cannot listen on %s port %d", cfg->listen_address,
                      cfg->listen_port);
        srv.exit_code = 1;
        srv.phase = STOPPING;
        transcript_stop();
        ws_stop();
        uv_close((uv_handle_t *)&srv.sigint, NULL);
        uv_close((uv_handle_t *)&srv.sigterm, NULL);
        uv_close((uv_handle_t *)&srv.drain, NULL);
        uv_close((uv_handle_t *)&srv.reaper, NULL);
        lws_context_destroy(srv.lws);
        store_stop(srv.store, 0, store_stopped, &srv);
        return run_loop(&srv);
    }
    log_info("server", "havend %s listening on %s://%s:%d/", HAVEN_VERSION,
             *cfg->tls_cert ? "https" : "http", cfg->listen_address, cfg->listen_port);
    server__ops_start(&srv.loop, cfg, src, srv.store);
    store_start(srv.store);
    return run_loop(&srv);

fail_early:
    srv.exit_code = 1;
    begin_stop(&srv);
    return run_loop(&srv);
}
