#include "live_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "room.h"
#include "session.h"
#include "store.h"
#include "util.h"
#include "live_int.h"

/* A node hands a meeting over to a node whose claim failed only after owning
 * it this long: when the proxy sends a meeting's clients to two nodes for a
 * moment (one was marked down and comes back), the meeting moves at most once
 * per this period instead of bouncing. */
#define OWNER_HANDOVER_MIN_MS 10000
#define OWNER_CHANNEL "haven_owner"
#define GONE_CHANNEL "haven_gone"

/* A claim made again after a reconnect; the room is looked up by slug when
 * the answer comes, since it may have been freed meanwhile.  Kept in a list
 * so that those the store drops at shutdown (without calling back) are freed. */
struct reclaim {
    struct reclaim *next;
    struct live *lv;
    char slug[65];
    int64_t meeting;
    int64_t session;
    int prev_pid;
};

struct live_owner {
    char node[64];
    int s_claim, s_release, s_listen, s_listen_gone;
    void (*done)(struct lroom *lr);
    struct reclaim *reclaims;
};

const char *live_owner_node_id(const struct config *cfg)
{
    static char id[64];
    if (*cfg->cluster_node_id) {
        snprintf(id, sizeof(id), "%s", cfg->cluster_node_id);
        return id;
    }
    char host[256] = "";
    if (gethostname(host, sizeof(host)) != 0 || !*host)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    /* Keep what config_validate() would accept of a host name. */
    host[strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")] = '\0';
    snprintf(id, sizeof(id), "%.50s:%d", *host ? host : "localhost", cfg->listen_port);
    return id;
}

const char *live_owner_store_options(const struct config *cfg, char *buf, size_t len)
{
    if (!cfg->cluster_enabled)
        return NULL;
    /* The node id holds no spaces or backslashes (config_validate), so it
     * needs no quoting in libpq's options. */
    snprintf(buf, len, "-c haven.node_id=%s", live_owner_node_id(cfg));
    return buf;
}

json_t *live_owner_health(const struct live *lv)
{
    if (!lv || !lv->own)
        return NULL;
    json_t *list = json_array();
    for (const struct lroom *lr = lv->rooms; lr; lr = lr->next)
        if (lr->owner_pid > 0 && !lr->moved)
            json_array_append_new(list, json_pack("{s:s, s:I}", "slug", lr->room->slug, "session",
                                                  (json_int_t)lr->room->session_id));
    return json_pack("{s:s, s:o}", "node", lv->own->node, "sessions", list);
}

/* ---- telling clients to come back ---- */

void live__owner_refuse(struct session *s)
{
    session_send_error(s, NULL, "moved",
                       "this meeting is being served by another server; connect again shortly",
                       NULL, OWNER_RETRY_MS);
    session_close_gently(s, OWNER_CLOSE_CODE, "served elsewhere");
}

void live__owner_moved(struct lroom *lr)
{
    for (int i = 0; i < lr->nconns; i++)
        live__owner_refuse(lr->conns[i]);
}

/* The room is no longer ours: nothing of it is delivered or acked from now
 * on (on_committed), its clients reconnect through the proxy and resume from
 * the database wherever the meeting is served. */
static void lose(struct lroom *lr)
{
    lr->moved = true;
    lr->owner_pid = 0;
    lr->state = LR_FAILED;
    uv_timer_stop(&lr->timer);
    live__owner_moved(lr);
}

/* ---- claiming ---- */

static void on_claim(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct lroom *lr = arg;
    const char *pid = status ? NULL : store_result_value(res, 0, 0);
    lr->loads--;
    if (status) {
        lr->load_failed = true;
    } else if (!pid) {
        log_info("live", "meeting %s: served by another node", lr->room->slug);
        lr->moved = true;
        lr->load_failed = true;
    } else {
        lr->owner_pid = atoi(pid);
        lr->owned_ms = util_mono_ms();
    }
    if (!pid)
        lr->owner_pid = 0; /* not held: refused, released by the claim, or the connection lost */
    lr->lv->own->done(lr);
}

/* prev_pid 0: a fresh claim (the lock may already be ours: it is taken once
 * more, and released however many times it was taken). */
static void claim_params(const struct live *lv, const struct lroom *lr, int prev_pid, char *mid,
                         char *sid, char *prev, const char **params)
{
    snprintf(mid, 24, "%lld", (long long)lr->room->meeting_id);
    snprintf(sid, 24, "%lld", (long long)lr->room->session_id);
    snprintf(prev, 24, "%d", prev_pid);
    params[0] = mid;
    params[1] = sid;
    params[2] = lv->own->node;
    params[3] = prev_pid > 0 ? prev : NULL;
}

void live__owner_claim(struct lroom *lr, void (*done)(struct lroom *lr))
{
    struct live *lv = lr->lv;
    char mid[24], sid[24], prev[24];
    const char *params[4];
    if (!lv->own)
        return;
    lv->own->done = done;
    lr->moved = false;
    claim_params(lv, lr, 0, mid, sid, prev, params);
    lr->loads++;
    if (store_exec(lv->st, lv->own->s_claim, STORE_READ, 4, params, on_claim, lr)) {
        lr->loads--;
        lr->load_failed = true;
    }
}

static void release(struct live *lv, int64_t meeting, int64_t session)
{
    char mid[24], sid[24];
    snprintf(mid, sizeof(mid), "%lld", (long long)meeting);
    snprintf(sid, sizeof(sid), "%lld", (long long)session);
    const char *params[] = {mid, sid};
    /* A read: sent after every write queued before it (one segment at a
     * time, in order), so the room's last writes commit under the lock.  When
     * the database is away it fails at once, and the lock went with the
     * connection anyway. */
    store_exec(lv->st, lv->own->s_release, STORE_READ, 2, params, NULL, NULL);
}

void live__owner_release(struct lroom *lr)
{
    if (!lr->lv->own || lr->owner_pid <= 0)
        return;
    release(lr->lv, lr->room->meeting_id, lr->room->session_id);
    lr->owner_pid = 0;
}

static void on_reclaim(void *arg, const struct store_result *res, int status, const char *errmsg)
{
    struct reclaim *rc = arg;
    struct live *lv = rc->lv;
    struct lroom *lr = NULL;
    for (struct reclaim **pp = &lv->own->reclaims; *pp; pp = &(*pp)->next)
        if (*pp == rc) {
            *pp = rc->next;
            break;
        }
    const char *pid = status ? NULL : store_result_value(res, 0, 0);

    for (struct lroom *x = lv->rooms; x; x = x->next)
        if (strcmp(x->room->slug, rc->slug) == 0 && x->room->session_id == rc->session &&
            x->owner_pid == rc->prev_pid)
            lr = x;
    if (status) {
        /* The connection went again: the next reconnect claims again. */
    } else if (!lr) {
        if (pid)
            release(lv, rc->meeting, rc->session);
    } else if (pid) {
        lr->owner_pid = atoi(pid);
    } else {
        log_warnx("live", "meeting %s: taken over by another node while the database was away",
                  rc->slug);
        lose(lr);
    }
    free(rc);
}

void live__owner_reconnected(struct live *lv)
{
    if (!lv->own)
        return;
    /* Each goes to the head of the queue: all of them run before the writes
     * kept from the lost connection, which the guard would refuse from a
     * connection that does not own their session. */
    store_exec_first(lv->st, lv->own->s_listen, STORE_READ, 0, NULL, NULL, NULL);
    store_exec_first(lv->st, lv->own->s_listen_gone, STORE_READ, 0, NULL, NULL, NULL);
    for (struct lroom *lr = lv->rooms; lr; lr = lr->next) {
        /* A room being loaded again claims with its load (its ids are not
         * known yet, and whatever it held went with the connection). */
        if (lr->owner_pid <= 0 || lr->moved || lr->state == LR_LOADING)
            continue;
        char mid[24], sid[24], prev[24];
        const char *params[4];
        claim_params(lv, lr, lr->owner_pid, mid, sid, prev, params);
        struct reclaim *rc = xcalloc(1, sizeof(*rc));
        rc->lv = lv;
        snprintf(rc->slug, sizeof(rc->slug), "%s", lr->room->slug);
        rc->meeting = lr->room->meeting_id;
        rc->session = lr->room->session_id;
        rc->prev_pid = lr->owner_pid;
        if (store_exec_first(lv->st, lv->own->s_claim, STORE_READ, 4, params, on_reclaim, rc)) {
            free(rc);
            continue;
        }
        rc->next = lv->own->reclaims;
        lv->own->reclaims = rc;
    }
}

/* ---- handing over ---- */

static void on_notify(void *arg, const char *channel, const char *payload)
{
    struct live *lv = arg;
    long long meeting;
    char node[64];
    if (strcmp(channel, GONE_CHANNEL) == 0) {
        /* Deleted through any node (directory.c tells its own node directly):
         * a no-op unless this node serves it. */
        for (struct lroom *lr = lv->rooms; lr; lr = lr->next)
            if (strcmp(lr->room->slug, payload) == 0 && lr->state != LR_NOT_FOUND) {
                live_meeting_gone(lv, payload);
                break;
            }
        return;
    }
    if (strcmp(channel, OWNER_CHANNEL) != 0 || sscanf(payload, "%lld %63s", &meeting, node) != 2 ||
        strcmp(node, lv->own->node) == 0)
        return;
    for (struct lroom *lr = lv->rooms; lr; lr = lr->next) {
        if (lr->owner_pid <= 0 || lr->moved || lr->state != LR_READY ||
            lr->room->meeting_id != meeting)
            continue;
        if (util_mono_ms() - lr->owned_ms < OWNER_HANDOVER_MIN_MS)
            return;
        log_info("live", "meeting %s: handed over to node %s", lr->room->slug, node);
        live__owner_release(lr);
        lose(lr);
        return;
    }
}

void live__owner_init(struct live *lv)
{
    if (!lv->cfg->cluster_enabled)
        return;
    struct live_owner *o = xcalloc(1, sizeof(*o));
    snprintf(o->node, sizeof(o->node), "%s", live_owner_node_id(lv->cfg));
    o->s_claim = store_prepare(
        lv->st, "SELECT haven_claim($1::bigint, $2::bigint, $3, $4::integer)", 4);
    o->s_release = store_prepare(lv->st, "SELECT haven_release($1::bigint, $2::bigint)", 2);
    o->s_listen = store_prepare(lv->st, "LISTEN " OWNER_CHANNEL, 0);
    o->s_listen_gone = store_prepare(lv->st, "LISTEN " GONE_CHANNEL, 0);
    store_set_notify_cb(lv->st, on_notify, lv);
    lv->own = o;
    log_info("live", "cluster node %s", o->node);
}

void live__owner_free(struct live *lv)
{
    while (lv->own && lv->own->reclaims) {
        struct reclaim *rc = lv->own->reclaims;
        lv->own->reclaims = rc->next;
        free(rc);
    }
    free(lv->own);
    lv->own = NULL;
}
