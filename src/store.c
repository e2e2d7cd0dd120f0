#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "util.h"

/* Held for the whole migration run so two nodes never migrate at once. */
#define MIGRATION_LOCK_KEY "7434001"
#define REQ_PREPARE 2

struct req {
    struct req *next;
    int stmt;
    int flags;
    int nparams;
    char **params;
    store_cb cb;
    void *arg;
    PGresult *res;
    char *errmsg;
    char sqlstate[6];
    bool failed;
    int run; /* requests this one carries on the wire: 1, more when merged, 0 when carried */
};

struct queue {
    struct req *head, *tail;
    size_t n;
};

struct stmt {
    char *sql;
    int nparams;
    int bulk; /* the statement that takes arrays of these parameters, or -1 */
    char name[16];
};

enum phase { PH_IDLE, PH_CONNECTING, PH_MIGRATE, PH_PREPARE, PH_READY };

struct store {
    uv_loop_t *loop;
    struct store_opts opts;
    char *url;
    char *options;
    const struct migration_set *mig;
    void (*on_notify)(void *arg, const char *channel, const char *payload);
    void *notify_arg;

    PGconn *conn;
    uv_poll_t *poll;
    int poll_events;
    uv_timer_t retry_timer, connect_timer, grace_timer;
    int handles_open;

    enum store_state state;
    enum phase phase;
    int backoff_ms;
    bool refusing; /* a write segment met a passing refusal: wait for retry_timer */

    /* Migrations: -1 while the version query runs, the index of the
     * migration being applied, or mig->n while unlocking. */
    int mig_step;
    bool *mig_applied;
    char *mig_error;

    struct queue q;        /* not sent yet */
    struct queue inflight; /* the segment on the wire */
    struct req *cur;       /* the statement whose result comes next */
    bool got_result;
    size_t nwrites;        /* writes queued or in flight */
    int solo;              /* send this many writes one per segment */
    bool flush_pending;
    uint64_t seg_start;
    uint64_t last_rtt_us;

    struct stmt *stmts;
    int nstmts;

    store_state_cb on_state;
    store_fatal_cb on_fatal;
    void (*on_migrated)(void *arg);
    void *cb_arg;
    void (*on_segment)(void *arg);
    void *segment_arg;

    bool stopping, finished, fatal;
    void (*stop_done)(void *arg);
    void *stop_arg;
};

static void start_connect(struct store *st);
static void lost(struct store *st, const char *why);
static void pump(struct store *st);
static void finish_stop(struct store *st);
static void fail_reads(struct store *st, struct queue *q);
static void on_poll(uv_poll_t *h, int status, int events);

const char *store_state_name(enum store_state s)
{
    switch (s) {
    case STORE_CONNECTING:
        return "connecting";
    case STORE_OK:
        return "ok";
    case STORE_DOWN:
        return "down";
    case STORE_REFUSING:
        return "refusing";
    case STORE_STOPPED:
        return "stopped";
    }
    return "unknown";
}

/* ---- queue helpers ---- */

static void q_push(struct queue *q, struct req *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->n++;
}

static struct req *q_pop(struct queue *q)
{
    struct req *r = q->head;
    if (!r)
        return NULL;
    q->head = r->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    r->next = NULL;
    return r;
}

/* Put every request of `front` before those of q, keeping their order. */
static void q_prepend(struct queue *q, struct queue *front)
{
    if (!front->head)
        return;
    front->tail->next = q->head;
    q->head = front->head;
    if (!q->tail)
        q->tail = front->tail;
    q->n += front->n;
    front->head = front->tail = NULL;
    front->n = 0;
}

static void req_reset(struct req *r)
{
    PQclear(r->res);
    r->res = NULL;
    free(r->errmsg);
    r->errmsg = NULL;
    r->sqlstate[0] = '\0';
    r->failed = false;
}

static void req_free(struct req *r)
{
    if (!r)
        return;
    req_reset(r);
    for (int i = 0; i < r->nparams; i++)
        free(r->params[i]);
    free(r->params);
    free(r);
}

/* ---- public ---- */

struct store *store_new(uv_loop_t *loop, const struct store_opts *opts,
                        const struct migration_set *migrations)
{
    struct store *st = xcalloc(1, sizeof(*st));
    st->loop = loop;
    st->opts = *opts;
    st->url = xstrdup(opts->url);
    st->opts.url = st->url;
    st->options = opts->options ? xstrdup(opts->options) : NULL;
    st->opts.options = st->options;
    st->mig = migrations;
    st->state = STORE_CONNECTING;
    st->backoff_ms = 100;
    uv_timer_init(loop, &st->retry_timer);
    uv_timer_init(loop, &st->connect_timer);
    uv_timer_init(loop, &st->grace_timer);
    st->retry_timer.data = st->connect_timer.data = st->grace_timer.data = st;
    st->handles_open = 3;
    return st;
}

void store_set_callbacks(struct store *st, store_state_cb on_state, store_fatal_cb on_fatal,
                         void (*on_migrated)(void *arg), void *arg)
{
    st->on_state = on_state;
    st->on_fatal = on_fatal;
    st->on_migrated = on_migrated;
    st->cb_arg = arg;
}

void store_set_segment_cb(struct store *st, void (*fn)(void *arg), void *arg)
{
    st->on_segment = fn;
    st->segment_arg = arg;
}

int store_prepare(struct store *st, const char *sql, int nparams)
{
    st->stmts = xrealloc(st->stmts, (size_t)(st->nstmts + 1) * sizeof(*st->stmts));
    struct stmt *s = &st->stmts[st->nstmts];
    s->sql = xstrdup(sql);
    s->nparams = nparams;
    s->bulk = -1;
    snprintf(s->name, sizeof(s->name), "hv%d", st->nstmts);
    return st->nstmts++;
}

int store_prepare_bulk(struct store *st, int stmt, const char *sql)
{
    int nparams = st->stmts[stmt].nparams;
    int bulk = store_prepare(st, sql, nparams);
    st->stmts[stmt].bulk = bulk;
    return bulk;
}

int store_start(struct store *st)
{
    start_connect(st);
    return 0;
}

void store_set_limits(struct store *st, int batch_max, int queue_max)
{
    st->opts.batch_max = batch_max;
    st->opts.queue_max = queue_max;
}

size_t store_queue_depth(const struct store *st)
{
    return st->nwrites;
}

bool store_has_room(const struct store *st, size_t n)
{
    return st->nwrites + n <= (size_t)st->opts.queue_max;
}

enum store_state store_get_state(const struct store *st)
{
    return st->state;
}

uint64_t store_last_rtt_us(const struct store *st)
{
    return st->last_rtt_us;
}

static int exec_at(struct store *st, bool first, int stmt, int flags, int nparams,
                   const char *const *params, store_cb cb, void *arg);

int store_exec(struct store *st, int stmt, int flags, int nparams, const char *const *params,
               store_cb cb, void *arg)
{
    return exec_at(st, false, stmt, flags, nparams, params, cb, arg);
}

int store_exec_first(struct store *st, int stmt, int flags, int nparams,
                     const char *const *params, store_cb cb, void *arg)
{
    return exec_at(st, true, stmt, flags, nparams, params, cb, arg);
}

void store_set_notify_cb(struct store *st, void (*fn)(void *arg, const char *channel,
                                                      const char *payload),
                         void *arg)
{
    st->on_notify = fn;
    st->notify_arg = arg;
}

static int exec_at(struct store *st, bool first, int stmt, int flags, int nparams,
                   const char *const *params, store_cb cb, void *arg)
{
    if (st->stopping || st->fatal)
        return HV_EIO;
    if (flags == STORE_WRITE && !store_has_room(st, 1))
        return HV_ELIMIT;
    if (flags == STORE_READ && st->state != STORE_OK && st->state != STORE_CONNECTING)
        return HV_EIO;
    struct req *r = xcalloc(1, sizeof(*r));
    r->stmt = stmt;
    r->flags = flags;
    r->run = 1;
    r->nparams = nparams;
    r->params = xcalloc((size_t)(nparams ? nparams : 1), sizeof(char *));
    for (int i = 0; i < nparams; i++)
        r->params[i] = params[i] ? xstrdup(params[i]) : NULL;
    r->cb = cb;
    r->arg = arg;
    if (first) {
        struct queue one = {r, r, 1};
        q_prepend(&st->q, &one);
    } else {
        q_push(&st->q, r);
    }
    if (flags == STORE_WRITE)
        st->nwrites++;
    pump(st);
    return 0;
}

/* ---- state ---- */

static void set_state(struct store *st, enum store_state s)
{
    if (st->state == s)
        return;
    st->state = s;
    if (st->on_state)
        st->on_state(st->cb_arg, s);
}

static void go_fatal(struct store *st, const char *why)
{
    st->fatal = true;
    log_error("store", "%s", why);
    if (st->on_fatal)
        st->on_fatal(st->cb_arg, why);
}

/* ---- poll handle ---- */

static void on_poll_closed(uv_handle_t *h)
{
    free(h);
}

static void drop_poll(struct store *st)
{
    if (!st->poll)
        return;
    uv_poll_stop(st->poll);
    uv_close((uv_handle_t *)st->poll, on_poll_closed);
    st->poll = NULL;
    st->poll_events = 0;
}

/* Watch the connection's socket.  libpq may replace its socket, even under
 * the same number, so `rebuild` makes a fresh handle. */
static int watch(struct store *st, int events, bool rebuild)
{
    int fd = PQsocket(st->conn);
    if (fd < 0) {
        drop_poll(st);
        return HV_EIO;
    }
    if (rebuild)
        drop_poll(st);
    if (!st->poll) {
        st->poll = xmalloc(sizeof(*st->poll));
        int rc = uv_poll_init(st->loop, st->poll, fd);
        if (rc) {
            free(st->poll);
            st->poll = NULL;
            return rc;
        }
        st->poll->data = st;
    }
    if (st->poll_events != events) {
        uv_poll_start(st->poll, events, on_poll);
        st->poll_events = events;
    }
    return 0;
}

static void close_conn(struct store *st)
{
    drop_poll(st);
    if (st->conn)
        PQfinish(st->conn);
    st->conn = NULL;
    st->phase = PH_IDLE;
    st->flush_pending = false;
    st->got_result = false;
    st->cur = NULL;
}

/* Flush what libpq holds; watch for writability while some remains, and keep
 * reading meanwhile so neither side can stall the other. */
static int flush(struct store *st)
{
    int r = PQflush(st->conn);
    if (r < 0)
        return HV_EIO;
    st->flush_pending = r == 1;
    return watch(st, UV_READABLE | (st->flush_pending ? UV_WRITABLE : 0), false);
}

/* ---- connecting ---- */

static void notice(void *arg, const char *message)
{
    (void)arg;
    /* Server notices carry no user data; trim the trailing newline. */
    size_t n = strlen(message);
    while (n && message[n - 1] == '\n')
        n--;
    log_debug("store", "notice: %.*s", (int)n, message);
}

static void on_retry(uv_timer_t *t)
{
    struct store *st = t->data;
    if (!st->stopping)
        start_connect(st);
}

/* After a passing refusal (see segment_done): send the writes again. */
static void on_retry_writes(uv_timer_t *t)
{
    struct store *st = t->data;
    st->refusing = false;
    pump(st);
}

/* SQLSTATEs that say "not now" rather than "never": insufficient resources
 * (class 53: disk full, out of memory, too many connections), operator
 * intervention (57P: shutting down, cannot connect now), connection
 * exceptions (08), serialization failures and deadlocks, and an I/O error. */
static bool passing_refusal(const char *state)
{
    return strncmp(state, "53", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
           strncmp(state, "08", 2) == 0 || strcmp(state, "40001") == 0 ||
           strcmp(state, "40P01") == 0 || strcmp(state, "58030") == 0;
}

static void on_connect_timeout(uv_timer_t *t)
{
    struct store *st = t->data;
    if (st->phase == PH_CONNECTING)
        lost(st, "connection attempt timed out");
}

static void start_connect(struct store *st)
{
    const char *const kw[] = {"dbname", "application_name", st->options ? "options" : NULL, NULL};
    const char *const val[] = {st->url, "havend", st->options, NULL};

    st->conn = PQconnectStartParams(kw, val, 1);
    if (!st->conn || PQstatus(st->conn) == CONNECTION_BAD) {
        lost(st, st->conn ? PQerrorMessage(st->conn) : "out of memory");
        return;
    }
    PQsetnonblocking(st->conn, 1);
    PQsetNoticeProcessor(st->conn, notice, st);
    st->phase = PH_CONNECTING;
    uv_timer_start(&st->connect_timer, on_connect_timeout,
                   (uint64_t)st->opts.connect_timeout_ms, 0);
    if (watch(st, UV_WRITABLE, true))
        lost(st, "no socket");
}

static void send_simple(struct store *st, const char *sql)
{
    if (!PQsendQuery(st->conn, sql) || flush(st)) {
        lost(st, PQerrorMessage(st->conn));
    }
}

static void begin_migrate(struct store *st)
{
    st->phase = PH_MIGRATE;
    st->mig_step = -1;
    free(st->mig_error);
    st->mig_error = NULL;
    free(st->mig_applied);
    st->mig_applied = xcalloc((size_t)(st->mig->n ? st->mig->n : 1), sizeof(bool));
    send_simple(st, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ");"
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now());"
                    "SELECT version FROM schema_migrations ORDER BY version");
}

static void connect_step(struct store *st)
{
    PostgresPollingStatusType r = PQconnectPoll(st->conn);
    switch (r) {
    case PGRES_POLLING_FAILED:
        lost(st, PQerrorMessage(st->conn));
        return;
    case PGRES_POLLING_READING:
        if (watch(st, UV_READABLE, true))
            lost(st, "no socket");
        return;
    case PGRES_POLLING_WRITING:
        if (watch(st, UV_WRITABLE, true))
            lost(st, "no socket");
        return;
    case PGRES_POLLING_OK:
        uv_timer_stop(&st->connect_timer);
        if (watch(st, UV_READABLE, true)) {
            lost(st, "no socket");
            return;
        }
        log_info("store", "connected to the database (server %d)", PQserverVersion(st->conn));
        begin_migrate(st);
        return;
    default:
        return;
    }
}

/* ---- migrations (simple protocol, before pipeline mode) ---- */

static void send_migration(struct store *st)
{
    while (st->mig_step < st->mig->n && st->mig_applied[st->mig_step])
        st->mig_step++;
    if (st->mig_step >= st->mig->n) {
        send_simple(st, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")");
        return;
    }
    const struct migration *m = &st->mig->v[st->mig_step];
    struct buf q;
    buf_init(&q);
    /* One simple-protocol query string runs as one implicit transaction:
     * the migration and its bookkeeping row commit together or not at all. */
    buf_printf(&q, "%s\n;\nINSERT INTO schema_migrations (version, name) VALUES (%d, '%s')",
               m->sql, m->version, m->name);
    log_info("store", "applying migration %04d_%s", m->version, m->name);
    send_simple(st, q.data);
    buf_cleanup(&q);
}

static void enter_pipeline(struct store *st);

static void migrate_query_done(struct store *st)
{
    if (st->mig_error) {
        char why[600];
        if (st->mig_step >= 0 && st->mig_step < st->mig->n)
            snprintf(why, sizeof(why), "migration %04d_%s failed, nothing of it was applied: %s",
                     st->mig->v[st->mig_step].version, st->mig->v[st->mig_step].name,
                     st->mig_error);
        else
            snprintf(why, sizeof(why), "preparing migrations failed: %s", st->mig_error);
        close_conn(st);
        go_fatal(st, why);
        return;
    }
    if (st->mig_step < st->mig->n) {
        st->mig_step++;
        send_migration(st);
        return;
    }
    if (st->opts.migrate_only) {
        close_conn(st);
        if (st->on_migrated)
            st->on_migrated(st->cb_arg);
        return;
    }
    if (st->on_migrated)
        st->on_migrated(st->cb_arg);
    enter_pipeline(st);
}

static void migrate_result(struct store *st, PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_FATAL_ERROR || s == PGRES_BAD_RESPONSE) {
        if (!st->mig_error) {
            const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            st->mig_error = xstrdup(primary ? primary : "unknown error");
        }
    } else if (s == PGRES_TUPLES_OK && st->mig_step == -1) {
        for (int i = 0; i < PQntuples(res); i++) {
            int v = atoi(PQgetvalue(res, i, 0));
            for (int j = 0; j < st->mig->n; j++)
                if (st->mig->v[j].version == v)
                    st->mig_applied[j] = true;
        }
    }
    PQclear(res);
}

/* ---- pipeline ---- */

static void enter_pipeline(struct store *st)
{
    if (!PQenterPipelineMode(st->conn)) {
        lost(st, PQerrorMessage(st->conn));
        return;
    }
    st->phase = PH_PREPARE;
    for (int i = 0; i < st->nstmts; i++) {
        struct req *r = xcalloc(1, sizeof(*r));
        r->stmt = i;
        r->flags = REQ_PREPARE;
        r->run = 1;
        if (!PQsendPrepare(st->conn, st->stmts[i].name, st->stmts[i].sql, st->stmts[i].nparams,
                           NULL)) {
            req_free(r);
            lost(st, PQerrorMessage(st->conn));
            return;
        }
        q_push(&st->inflight, r);
    }
    if (!PQpipelineSync(st->conn) || flush(st)) {
        lost(st, PQerrorMessage(st->conn));
        return;
    }
    st->cur = st->inflight.head;
    st->got_result = false;
    st->seg_start = uv_hrtime();
}

static void ready(struct store *st)
{
    st->phase = PH_READY;
    st->backoff_ms = 100;
    log_info("store", "database ready (%d statements prepared)", st->nstmts);
    set_state(st, STORE_OK);
    pump(st);
}

/* Append the PostgreSQL array literal of parameter i of the n requests from
 * r on: every element quoted (numbers read the same quoted), NULL unquoted. */
static void array_literal(struct buf *b, const struct req *r, int n, int i)
{
    buf_add(b, "{", 1);
    for (int k = 0; k < n; k++, r = r->next) {
        if (k)
            buf_add(b, ",", 1);
        const char *v = r->params[i];
        if (!v) {
            buf_adds(b, "NULL");
            continue;
        }
        buf_add(b, "\"", 1);
        /* Copy runs up to the next quote or backslash, which get a backslash. */
        for (size_t run; *v; v += run) {
            run = strcspn(v, "\"\\");
            buf_add(b, v, run);
            if (v[run]) {
                buf_add(b, "\\", 1);
                buf_add(b, v + run, 1);
                run++;
            }
        }
        buf_add(b, "\"", 1);
    }
    buf_add(b, "}", 1);
}

/* Send the n queued writes from r (same statement, n >= 2) as one statement
 * of its bulk form: one execution on the server instead of n. */
static int send_merged(struct store *st, struct req *r, int n)
{
    const struct stmt *s = &st->stmts[r->stmt];
    const struct stmt *bs = &st->stmts[s->bulk];
    int np = s->nparams;
    struct buf *arrays = xcalloc((size_t)(np ? np : 1), sizeof(*arrays));
    const char **params = xcalloc((size_t)(np ? np : 1), sizeof(*params));
    for (int i = 0; i < np; i++) {
        buf_init(&arrays[i]);
        array_literal(&arrays[i], r, n, i);
        params[i] = arrays[i].data;
    }
    int ok = PQsendQueryPrepared(st->conn, bs->name, np, params, NULL, NULL, 0);
    for (int i = 0; i < np; i++)
        buf_cleanup(&arrays[i]);
    free(arrays);
    free(params);
    return ok ? 0 : -1;
}

static void send_segment(struct store *st)
{
    struct req *head = st->q.head;
    bool solo = head->flags == STORE_WRITE && st->solo > 0;
    int max = head->flags == STORE_READ ? 1 : (solo ? 1 : st->opts.batch_max);
    if (solo)
        st->solo--;
    for (int n = 0; n < max && st->q.head;) {
        if (n > 0 && st->q.head->flags != STORE_WRITE)
            break;
        struct req *r = st->q.head;
        int run = 1;
        if (r->flags == STORE_WRITE && st->stmts[r->stmt].bulk >= 0)
            for (struct req *x = r->next; x && n + run < max && x->flags == STORE_WRITE &&
                                          x->stmt == r->stmt;
                 x = x->next)
                run++;
        for (int k = 0; k < run; k++) {
            struct req *x = q_pop(&st->q);
            x->run = k == 0 ? run : 0;
            q_push(&st->inflight, x);
        }
        n += run;
        int rc;
        if (run > 1) {
            rc = send_merged(st, r, run);
        } else {
            const struct stmt *s = &st->stmts[r->stmt];
            rc = PQsendQueryPrepared(st->conn, s->name, r->nparams,
                                     (const char *const *)r->params, NULL, NULL, 0)
                     ? 0
                     : -1;
        }
        if (rc) {
            lost(st, PQerrorMessage(st->conn));
            return;
        }
    }
    if (!PQpipelineSync(st->conn)) {
        lost(st, PQerrorMessage(st->conn));
        return;
    }
    st->cur = st->inflight.head;
    st->got_result = false;
    st->seg_start = uv_hrtime();
    if (flush(st))
        lost(st, PQerrorMessage(st->conn));
}

static void pump(struct store *st)
{
    if (st->phase != PH_READY || st->refusing || st->inflight.head || !st->q.head)
        return;
    send_segment(st);
}

static void segment_done(struct store *st)
{
    struct queue done = st->inflight;
    struct req *r;
    int failed_at = -1, i = 0;

    st->inflight.head = st->inflight.tail = NULL;
    st->inflight.n = 0;
    st->cur = NULL;
    st->got_result = false;
    st->last_rtt_us = (uv_hrtime() - st->seg_start) / 1000u;
    metrics_observe_db_rtt_us(st->last_rtt_us);

    /* failed_at: the last write of the first failing statement (a merged
     * statement carries the writes after it). */
    for (r = done.head; r; r = r->next, i++)
        if (r->failed && failed_at < 0 && r->errmsg) {
            failed_at = i;
            for (struct req *x = r->next; x && x->run == 0; x = x->next)
                failed_at++;
        }

    if (done.head && done.head->flags == REQ_PREPARE) {
        while ((r = q_pop(&done))) {
            if (r->failed && r->errmsg && !st->fatal) {
                char why[512];
                snprintf(why, sizeof(why), "preparing statement %d failed: %s", r->stmt,
                         r->errmsg);
                close_conn(st);
                go_fatal(st, why);
            }
            req_free(r);
        }
        if (!st->fatal)
            ready(st);
        return;
    }

    struct req *failing = NULL;
    if (failed_at >= 0)
        for (r = done.head; r && !failing; r = r->next)
            if (r->failed && r->errmsg)
                failing = r;
    if (failing && done.head->flags == STORE_WRITE && passing_refusal(failing->sqlstate)) {
        /* Nothing of the segment committed, and the database will take it
         * later: keep every write, in order, and try again after a pause.
         * A write is never failed (nor its seq spent) for a full disk.
         * Reads queued behind get their error now instead of waiting. */
        if (st->state != STORE_REFUSING)
            log_warnx("store", "the database refuses writes for now: %s; %zu writes wait, "
                      "retrying in %d ms", failing->errmsg, st->nwrites, st->backoff_ms);
        for (r = done.head; r; r = r->next)
            req_reset(r);
        q_prepend(&st->q, &done);
        fail_reads(st, &st->q);
        st->solo = 0;
        st->refusing = true;
        set_state(st, STORE_REFUSING);
        uv_timer_start(&st->retry_timer, on_retry_writes, (uint64_t)st->backoff_ms, 0);
        st->backoff_ms = HV_MIN(st->backoff_ms * 2, st->opts.reconnect_max_ms);
        return;
    }

    if (failed_at >= 0 && done.head->flags == STORE_WRITE && done.n > 1) {
        /* One sync is one transaction: nothing of this segment committed.
         * Send it again, one write per transaction up to the failing one, so
         * the bad write is found alone and the others still commit in order. */
        log_warnx("store", "a batch of %zu writes failed at write %d; retrying one by one",
                  done.n, failed_at + 1);
        for (r = done.head; r; r = r->next)
            req_reset(r);
        q_prepend(&st->q, &done);
        st->solo = failed_at + 1;
        pump(st);
        return;
    }

    while ((r = q_pop(&done))) {
        if (r->flags == STORE_WRITE)
            st->nwrites--;
        if (r->failed)
            log_warnx("store", "statement %d failed: %s", r->stmt,
                      r->errmsg ? r->errmsg : "aborted");
        if (r->cb) {
            if (r->failed)
                r->cb(r->arg, NULL, HV_EIO, r->errmsg ? r->errmsg : "aborted");
            else
                r->cb(r->arg, (const struct store_result *)r->res, 0, NULL);
        }
        req_free(r);
    }
    if (st->state == STORE_REFUSING && failed_at < 0) {
        log_info("store", "the database takes writes again");
        st->backoff_ms = 100;
        set_state(st, STORE_OK);
    }
    if (st->on_segment)
        st->on_segment(st->segment_arg);
    if (st->stopping && !st->q.head) {
        finish_stop(st);
        return;
    }
    pump(st);
}

static void pipeline_results(struct store *st)
{
    while (st->conn && !PQisBusy(st->conn)) {
        PGresult *res = PQgetResult(st->conn);
        if (!res) {
            if (st->got_result) {
                st->got_result = false;
                if (st->cur) {
                    st->cur = st->cur->next;
                    while (st->cur && st->cur->run == 0)
                        st->cur = st->cur->next;
                }
                continue;
            }
            break;
        }
        ExecStatusType s = PQresultStatus(res);
        if (s == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            segment_done(st);
            continue;
        }
        struct req *r = st->cur;
        if (!r) {
            PQclear(res);
            continue;
        }
        /* The writes carried by a merged statement share its outcome. */
        for (struct req *x = r->next; x && x->run == 0; x = x->next)
            x->failed = s == PGRES_FATAL_ERROR || s == PGRES_BAD_RESPONSE ||
                        s == PGRES_PIPELINE_ABORTED;
        if (s == PGRES_FATAL_ERROR || s == PGRES_BAD_RESPONSE) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            char msg[300];
            snprintf(msg, sizeof(msg), "%s (SQLSTATE %s)", primary ? primary : "error",
                     state ? state : "?");
            r->failed = true;
            free(r->errmsg);
            r->errmsg = xstrdup(msg);
            snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", state ? state : "");
            PQclear(res);
        } else if (s == PGRES_PIPELINE_ABORTED) {
            r->failed = true;
            PQclear(res);
        } else {
            PQclear(r->res);
            r->res = res;
        }
        st->got_result = true;
    }
}

static void simple_results(struct store *st)
{
    while (st->conn && st->phase == PH_MIGRATE && !PQisBusy(st->conn)) {
        PGresult *res = PQgetResult(st->conn);
        if (!res) {
            migrate_query_done(st);
            return;
        }
        migrate_result(st, res);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct store *st = h->data;

    if (st->phase == PH_CONNECTING) {
        /* On an error status still ask libpq: that is how it moves on to the
         * next host of a multi-host conninfo. */
        connect_step(st);
        return;
    }
    if (!st->conn)
        return;
    if (status == 0 && (events & UV_WRITABLE) && st->flush_pending) {
        if (flush(st)) {
            lost(st, PQerrorMessage(st->conn));
            return;
        }
    }
    if (status < 0 || (events & UV_READABLE)) {
        if (!PQconsumeInput(st->conn) || PQstatus(st->conn) == CONNECTION_BAD) {
            lost(st, PQerrorMessage(st->conn));
            return;
        }
        if (PQsocket(st->conn) < 0) {
            lost(st, "socket closed");
            return;
        }
        if (st->phase == PH_MIGRATE)
            simple_results(st);
        else
            pipeline_results(st);
        PGnotify *nf;
        while (st->conn && (nf = PQnotifies(st->conn))) {
            if (st->on_notify)
                st->on_notify(st->notify_arg, nf->relname, nf->extra);
            PQfreemem(nf);
        }
    }
}

/* ---- losing the connection ---- */

static void fail_reads(struct store *st, struct queue *q)
{
    struct queue keep = {0};
    struct req *r;
    while ((r = q_pop(q))) {
        if (r->flags == STORE_READ) {
            if (r->cb)
                r->cb(r->arg, NULL, HV_EIO, "database unavailable");
            req_free(r);
        } else if (r->flags == REQ_PREPARE) {
            req_free(r);
        } else {
            req_reset(r);
            q_push(&keep, r);
        }
    }
    *q = keep;
}

static void lost(struct store *st, const char *why)
{
    char reason[300];
    /* libpq messages end with a newline and may span lines: keep the first. */
    snprintf(reason, sizeof(reason), "%s", why && *why ? why : "unknown error");
    reason[strcspn(reason, "\n")] = '\0';

    bool was_ok = st->state == STORE_OK;
    uv_timer_stop(&st->connect_timer);
    close_conn(st);
    /* Writes that were on the wire go back to the head of the queue, in
     * order; whether they committed is settled by their idempotent retry. */
    struct queue inflight = st->inflight;
    st->inflight.head = st->inflight.tail = NULL;
    st->inflight.n = 0;
    fail_reads(st, &inflight);
    q_prepend(&st->q, &inflight);
    fail_reads(st, &st->q);
    st->solo = 0;
    st->refusing = false;

    if (st->stopping) {
        log_warnx("store", "database connection lost while stopping: %s", reason);
        finish_stop(st);
        return;
    }
    if (was_ok || st->state == STORE_CONNECTING)
        log_warnx("store", "database unavailable: %s; retrying in %d ms", reason, st->backoff_ms);
    else
        log_debug("store", "database still unavailable: %s; retrying in %d ms", reason,
                  st->backoff_ms);
    set_state(st, STORE_DOWN);
    uv_timer_start(&st->retry_timer, on_retry, (uint64_t)st->backoff_ms, 0);
    st->backoff_ms = HV_MIN(st->backoff_ms * 2, st->opts.reconnect_max_ms);
}

/* ---- stopping ---- */

static void on_timer_closed(uv_handle_t *h)
{
    struct store *st = h->data;
    if (--st->handles_open == 0 && st->stop_done)
        st->stop_done(st->stop_arg);
}

static void finish_stop(struct store *st)
{
    struct req *r;
    size_t dropped = 0;

    if (st->finished)
        return;
    st->finished = true;
    close_conn(st);
    while ((r = q_pop(&st->inflight)) || (r = q_pop(&st->q))) {
        if (r->flags == STORE_WRITE)
            dropped++;
        req_free(r);
    }
    st->nwrites = 0;
    if (dropped)
        log_warnx("store", "stopped with %zu unacknowledged writes not stored", dropped);
    st->state = STORE_STOPPED;
    uv_close((uv_handle_t *)&st->retry_timer, on_timer_closed);
    uv_close((uv_handle_t *)&st->connect_timer, on_timer_closed);
    uv_close((uv_handle_t *)&st->grace_timer, on_timer_closed);
}

static void on_grace(uv_timer_t *t)
{
    struct store *st = t->data;
    log_warnx("store", "stop grace period over with %zu writes pending", st->nwrites);
    finish_stop(st);
}

void store_stop(struct store *st, int grace_ms, void (*done)(void *arg), void *arg)
{
    st->stopping = true;
    st->stop_done = done;
    st->stop_arg = arg;
    uv_timer_stop(&st->retry_timer);
    st->refusing = false; /* one last try within the grace period */
    if (st->phase == PH_READY && (st->q.head || st->inflight.head)) {
        log_info("store", "flushing %zu pending writes", st->nwrites);
        uv_timer_start(&st->grace_timer, on_grace, (uint64_t)grace_ms, 0);
        pump(st);
        return;
    }
    if (st->phase == PH_READY || st->phase == PH_PREPARE) {
        /* Nothing pending, or only reads: done. */
        if (!st->inflight.head || st->inflight.head->flags != STORE_WRITE) {
            finish_stop(st);
            return;
        }
        uv_timer_start(&st->grace_timer, on_grace, (uint64_t)grace_ms, 0);
        return;
    }
    finish_stop(st);
}

void store_free(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->nstmts; i++)
        free(st->stmts[i].sql);
    free(st->stmts);
    free(st->mig_applied);
    free(st->mig_error);
    free(st->url);
    free(st->options);
    free(st);
}

/* ---- results ---- */

int store_result_rows(const struct store_result *r)
{
    return PQntuples((const PGresult *)r);
}

const char *store_result_value(const struct store_result *r, int row, int col)
{
    const PGresult *res = (const PGresult *)r;
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

long long store_result_int(const struct store_result *r, int row, int col)
{
    const char *v = store_result_value(r, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}
