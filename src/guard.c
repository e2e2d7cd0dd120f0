#include "guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* One client address (an IPv6 one cut to its /64) and its open connections. */
struct peer {
    struct peer *next;
    int count;
    bool logged; /* a refusal was logged since the count was last below the cap */
    char addr[INET6_ADDRSTRLEN];
};

/* One counted connection: the wsi it belongs to (a key only) and its peer. */
struct conn {
    struct conn *next;
    const void *wsi;
    struct peer *peer;
};

static const struct config *cfg;
static struct peer **peers;
static struct conn **conns;
static size_t npeers_slots, nconns_slots, nconns;
/* The peer of the socket accepted last, until lws makes its wsi. */
static struct peer *pending;

static size_t hash_str(const char *s)
{
    size_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static size_t hash_ptr(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (size_t)(v ^ (v >> 29));
}

/* Double the connection table's slots (it grows when it holds as many entries). */
static void conns_grow(void)
{
    size_t slots = nconns_slots ? nconns_slots * 2 : 256;
    struct conn **t = xcalloc(slots, sizeof(*t));
    for (size_t i = 0; i < nconns_slots; i++) {
        for (struct conn *c = conns[i], *next; c; c = next) {
            next = c->next;
            size_t h = hash_ptr(c->wsi) & (slots - 1);
            c->next = t[h];
            t[h] = c;
        }
    }
    free(conns);
    conns = t;
    nconns_slots = slots;
}

static void peers_init(void)
{
    if (!peers) {
        npeers_slots = 1024;
        peers = xcalloc(npeers_slots, sizeof(*peers));
    }
}

/* The peer record for addr, made with a count of 0 if there is none. */
static struct peer *peer_get(const char *addr)
{
    peers_init();
    size_t h = hash_str(addr) & (npeers_slots - 1);
    for (struct peer *p = peers[h]; p; p = p->next)
        if (strcmp(p->addr, addr) == 0)
            return p;
    struct peer *p = xcalloc(1, sizeof(*p));
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->next = peers[h];
    peers[h] = p;
    return p;
}

/* Forget a peer whose last connection closed, so that the table holds only
 * addresses that are connected now. */
static void peer_drop(struct peer *gone)
{
    size_t h = hash_str(gone->addr) & (npeers_slots - 1);
    for (struct peer **pp = &peers[h]; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}

/* The counting key of the socket's peer: the IPv4 address (also when it comes
 * mapped into IPv6, as lws listens dual-stack), or the IPv6 /64.  Returns
 * false for anything else (a Unix socket): such connections are not counted. */
static bool peer_key(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        return inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
    if (ss.ss_family != AF_INET6)
        return false;
    struct in6_addr a = ((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a))
        return inet_ntop(AF_INET, &a.s6_addr[12], out, (socklen_t)len);
    memset(&a.s6_addr[8], 0, 8);
    return inet_ntop(AF_INET6, &a, out, (socklen_t)len);
}

void guard_init(const struct config *c)
{
    cfg = c;
}

int guard_on_accept(int fd)
{
    char addr[INET6_ADDRSTRLEN];
    if (pending && pending->count == 0)
        peer_drop(pending); /* lws never made a wsi for the one before */
    pending = NULL;
    if (!peer_key(fd, addr, sizeof(addr)))
        return 0;
    struct peer *p = peer_get(addr);
    int cap = cfg ? cfg->limits_connections_per_address : 0;
    if (cap > 0 && p->count >= cap) {
        metrics_inc(METRICS_CONNECTIONS_REFUSED);
        if (!p->logged) {
            /* Once per episode: a flood of refusals must not become a flood of log lines. */
            log_warnx("guard", "refusing connections beyond %d from one address%s", cap,
                      log_client(addr));
            p->logged = true;
        }
        return 1;
    }
    pending = p;
    return 0;
}

void guard_on_wsi_create(const void *wsi)
{
    struct peer *p = pending;
    if (!p)
        return;
    pending = NULL;
    p->count++;
    if (nconns >= nconns_slots)
        conns_grow();
    struct conn *c = xmalloc(sizeof(*c));
    size_t h = hash_ptr(wsi) & (nconns_slots - 1);
    c->wsi = wsi;
    c->peer = p;
    c->next = conns[h];
    conns[h] = c;
    nconns++;
}

void guard_on_wsi_destroy(const void *wsi)
{
    if (!nconns)
        return;
    size_t h = hash_ptr(wsi) & (nconns_slots - 1);
    for (struct conn **cp = &conns[h]; *cp; cp = &(*cp)->next) {
        struct conn *c = *cp;
        if (c->wsi != wsi)
            continue;
        *cp = c->next;
        nconns--;
        struct peer *p = c->peer;
        free(c);
        if (--p->count <= 0)
            peer_drop(p);
        else if (cfg && p->count < cfg->limits_connections_per_address)
            p->logged = false;
        return;
    }
}

size_t guard_open_connections(void)
{
    return nconns;
}

void guard_cleanup(void)
{
    for (size_t i = 0; i < nconns_slots; i++)
        for (struct conn *c = conns[i], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    for (size_t i = 0; i < npeers_slots; i++)
        for (struct peer *p = peers[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    free(conns);
    free(peers);
    conns = NULL;
    peers = NULL;
    nconns_slots = npeers_slots = nconns = 0;
    pending = NULL;
}
