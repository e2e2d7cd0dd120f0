/*
 * server: the process's one libuv loop and its life.
 *
 * Owns the loop, the signals, the libwebsockets context (on the loop as a
 * foreign loop), the store and the live meetings; starts them in the order
 * TECH-NOTES §2 found safe and stops them in reverse: close every WebSocket
 * with 1001, wait for them to go (2 s at most), destroy the lws context and
 * flush the store, then leave the loop.
 */
#ifndef HAVEN_SERVER_H
#define HAVEN_SERVER_H

struct config;
struct config_sources;

/* Serve until SIGINT/SIGTERM; SIGHUP reads src again and applies what may
 * change live to cfg (both borrowed for the whole run).  Returns the process
 * exit status. */
int server_run(struct config *cfg, const struct config_sources *src);
/* Apply the migrations and return (0, or 1 when they failed). */
int server_migrate(const struct config *cfg);

#endif
