/*
 * server_int.h: between the parts of the server module (server.c and
 * server_ops.c).  Loop thread only.
 */
#ifndef HAVEN_SERVER_INT_H
#define HAVEN_SERVER_INT_H

#include <uv.h>

struct config;
struct config_sources;
struct store;

/* Start what operators rely on while the server runs: the event-loop lag
 * probe (a 100 ms timer that records how late it fires) and SIGHUP, which
 * reads src again off the loop and applies what may change live to cfg
 * (borrowed; both must outlive the loop).  Call once, after the listener is up. */
void server__ops_start(uv_loop_t *loop, struct config *cfg, const struct config_sources *src,
                       struct store *st);
/* Close both handles (a reload in flight is finished and discarded).  Safe to
 * call more than once, and before server__ops_start. */
void server__ops_stop(void);

#endif
