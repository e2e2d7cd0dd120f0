/*
 * account: chair and admin accounts over HTTP.
 *
 *   POST /api/login   {username, password} -> {token, username, admin, expires_at}
 *   POST /api/logout  revokes the bearer token (account or attendee)
 *   GET  /api/me      who the bearer token belongs to, with meeting roles
 *
 * Passwords are verified off the loop thread (uv_queue_work); failed logins
 * are limited per user name and per client address, and unknown users and
 * wrong passwords get the same answer after the same work.
 */
#ifndef HAVEN_ACCOUNT_H
#define HAVEN_ACCOUNT_H

#include <uv.h>

struct store;
struct config;

int account_init(uv_loop_t *loop, struct store *st, const struct config *cfg);
void account_cleanup(void);

/* The command line: havend user ... / havend role ...  (argv starts at the
 * command word).  Connects with blocking libpq: it is not the server loop.
 * Returns the exit status. */
int account_cli(const struct config *cfg, int argc, char **argv);

#endif
