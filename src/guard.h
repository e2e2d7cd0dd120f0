/*
 * guard: abuse protection at the connection level.
 *
 * Counts the open TCP connections (HTTP and WebSocket alike) of each client
 * address and refuses a new one beyond limits.connections_per_address, so one
 * host cannot take every slot.  IPv4 addresses count one by one; IPv6 ones by
 * their /64, which one host usually owns whole.  Refused connections are closed
 * before lws reads a byte from them and counted in /metrics
 * (haven_connections_refused_total).
 *
 * The other connection-level limits are lws's own and set where the context is
 * created (server.c): limits.handshake_timeout_secs (timeout_secs: a
 * connection that has not finished its TLS handshake and request headers in
 * time is closed, however slowly it trickles bytes) and limits.max_header_bytes
 * (max_http_header_data: a longer request head closes the connection).
 *
 * Wiring (all on protocols[0], the "http" protocol of http.c):
 *   LWS_CALLBACK_FILTER_NETWORK_CONNECTION  guard_on_accept(fd)
 *   LWS_CALLBACK_WSI_CREATE                 guard_on_wsi_create(wsi)
 *   LWS_CALLBACK_WSI_DESTROY                guard_on_wsi_destroy(wsi)
 * lws calls the first two one after the other for each accepted socket, before
 * any other connection is served, which is how the address found by the first
 * reaches the wsi of the second.  The wsi is only a key here, never
 * dereferenced: this module does not include lws.
 *
 * Loop thread only.  Safe to call from inside lws callbacks (no I/O except
 * getpeername on the accepted socket).
 */
#ifndef HAVEN_GUARD_H
#define HAVEN_GUARD_H

#include <stddef.h>

struct config;

/* Keep cfg (borrowed; read at every accept, so limits.connections_per_address
 * may change live). */
void guard_init(const struct config *cfg);
/* A connection was accepted on socket fd.  Returns 0 to serve it, or nonzero
 * to refuse it (the caller has lws close it). */
int guard_on_accept(int fd);
/* lws made the wsi of the connection accepted last: start counting it. */
void guard_on_wsi_create(const void *wsi);
/* A wsi is gone: if it was counted, release its slot.  Unknown wsi are
 * ignored. */
void guard_on_wsi_destroy(const void *wsi);
/* Counted connections in all (the accepted ones whose wsi still exists). */
size_t guard_open_connections(void);
/* Free every table (after the lws context is gone). */
void guard_cleanup(void);

#endif
