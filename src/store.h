/*
 * store: PostgreSQL through asynchronous libpq, on the server's libuv loop.
 *
 * One connection.  It is opened without blocking (PQconnectStart and a
 * uv_poll on its socket), migrated, switched to pipeline mode, and every
 * statement registered with store_prepare() is prepared on it.  Requests then
 * queue in order:
 *  - writes (STORE_WRITE) are batched: as soon as the previous segment has
 *    completed, every queued write up to store.batch_max is sent as one
 *    pipeline segment ending in one sync, which the server runs as one
 *    transaction.  Their callbacks run after that transaction committed.
 *    A lost connection puts them back at the head of the queue, in order, and
 *    they are sent again after reconnecting, so writes must be idempotent
 *    (ON CONFLICT DO NOTHING on a natural key).
 *  - reads (STORE_READ) are sent alone with their own sync, so a failing
 *    write cannot abort them.  While the database is down they fail at once.
 * Only one segment is in flight, so callbacks run in submission order.
 *
 * The loop never blocks here.  Callbacks run on the loop thread and receive a
 * borrowed result valid only during the call.  Pass ids, not pointers to
 * objects that may be gone, as callback arguments.
 */
#ifndef HAVEN_STORE_H
#define HAVEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct store;
struct store_result; /* a borrowed query result */
struct migration_set;

enum store_state {
    STORE_CONNECTING, /* never connected yet, or reconnecting after a loss */
    STORE_OK,         /* connected, migrated and ready */
    STORE_DOWN,       /* the last attempt failed; retrying with backoff */
    STORE_REFUSING,   /* connected, but the database refuses writes for now (its disk is
                       * full, it is shutting down): they wait, retried with backoff */
    STORE_STOPPED,
};

enum { STORE_READ = 0, STORE_WRITE = 1 };

struct store_opts {
    const char *url;
    int connect_timeout_ms;
    int reconnect_max_ms;
    int batch_max;
    int queue_max;
    bool migrate_only; /* stop once the migrations are applied */
    const char *options; /* libpq "options" (e.g. "-c haven.node_id=a"), or NULL */
};

/* status is 0 with a result, or HV_EIO (res NULL, message in errmsg) when the
 * statement failed or, for reads, when the database is unavailable. */
typedef void (*store_cb)(void *arg, const struct store_result *res, int status,
                         const char *errmsg);
typedef void (*store_state_cb)(void *arg, enum store_state state);
/* The store gave up for good (a migration failed): the caller should stop. */
typedef void (*store_fatal_cb)(void *arg, const char *why);

/* Create a store; it owns a copy of the migrations' borrowed pointers for its
 * life.  Nothing happens until store_start(). */
struct store *store_new(uv_loop_t *loop, const struct store_opts *opts,
                        const struct migration_set *migrations);
void store_set_callbacks(struct store *st, store_state_cb on_state, store_fatal_cb on_fatal,
                         void (*on_migrated)(void *arg), void *arg);
/* Called after the callbacks of each segment of writes have all run: lets a
 * caller deliver a whole committed batch at once. */
void store_set_segment_cb(struct store *st, void (*fn)(void *arg), void *arg);
/* Register a statement before store_start(); returns its handle. */
int store_prepare(struct store *st, const char *sql, int nparams);
/* Give write statement stmt a bulk form: sql takes, for each of stmt's
 * parameters, a PostgreSQL array of the values of several writes (in queue
 * order).  Consecutive writes of stmt in one segment are then sent as one
 * execution of sql; each keeps its own callback, called with a NULL result.
 * A failing segment is retried one write at a time with stmt itself. */
int store_prepare_bulk(struct store *st, int stmt, const char *sql);
int store_start(struct store *st);

/* Queue a statement.  params are copied (NULL entries are SQL NULL).  cb may
 * be NULL.  Returns 0, HV_ELIMIT when the write queue is full, or HV_EIO for a
 * read while the database is down (cb is then not called). */
int store_exec(struct store *st, int stmt, int flags, int nparams, const char *const *params,
               store_cb cb, void *arg);

/* store_exec(), but queued ahead of everything not yet sent, writes kept for
 * a reconnect included: what must run first on a new connection (the cluster
 * takes its locks back before any of its queued writes goes out). */
int store_exec_first(struct store *st, int stmt, int flags, int nparams,
                     const char *const *params, store_cb cb, void *arg);
/* Called with each NOTIFY the connection receives (channel, payload); LISTEN
 * must be issued again after each reconnect (state STORE_OK). */
void store_set_notify_cb(struct store *st, void (*fn)(void *arg, const char *channel,
                                                      const char *payload),
                         void *arg);

/* Change store.batch_max and store.queue_max of a running store (a reload):
 * the next segment and the next write see them; writes already queued stay. */
void store_set_limits(struct store *st, int batch_max, int queue_max);
/* Writes queued or in flight. */
size_t store_queue_depth(const struct store *st);
/* True when n more writes fit in the queue. */
bool store_has_room(const struct store *st, size_t n);
enum store_state store_get_state(const struct store *st);
const char *store_state_name(enum store_state s);
/* Time of the last completed segment's round trip, in microseconds. */
uint64_t store_last_rtt_us(const struct store *st);

/* Stop: flush the queued writes if connected (waiting up to grace_ms for
 * their commit), close the connection and every handle, then call done.
 * Opens no new file descriptors. */
void store_stop(struct store *st, int grace_ms, void (*done)(void *arg), void *arg);
/* Free a stopped store (after its done callback ran). */
void store_free(struct store *st);

int store_result_rows(const struct store_result *r);
/* Text value, or NULL for SQL NULL. */
const char *store_result_value(const struct store_result *r, int row, int col);
long long store_result_int(const struct store_result *r, int row, int col);

#endif
