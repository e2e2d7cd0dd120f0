/*
 * api: the JSON API under /api, independent of the transport.
 *
 * http.c feeds requests in (method, path below /api, query arguments, body,
 * bearer token, peer address); api.c identifies the caller (an attendee or
 * account token, looked up asynchronously), routes by method and path pattern
 * and runs a handler.  Handlers answer at once or later from a database
 * callback: they keep the request's id (api_req_id) and find it again with
 * api_req_find(), because the client may have gone meanwhile.  Loop thread.
 */
#ifndef HAVEN_API_H
#define HAVEN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_req;
struct store;
struct config;

enum api_method { API_GET, API_POST, API_PUT, API_DELETE, API_OTHER };

enum caller_kind { CALLER_ANON, CALLER_ATTENDEE, CALLER_ACCOUNT };

struct caller {
    enum caller_kind kind;
    char attendee_id[33]; /* the pseudonymous identity (accounts have one too) */
    int64_t account_id;
    bool admin;
    char username[64];
    char token_hash[65];  /* hash of the bearer token used, or "" */
};

typedef void (*api_handler)(struct api_req *r, const char *const *params, int nparams);

struct api_route {
    enum api_method method;
    const char *pattern; /* "/meetings/{}/sessions": {} matches one path segment */
    api_handler fn;
};

/* Transport side: the writer is told when a reply is ready. */
struct api_transport {
    void (*reply_ready)(void *conn);
};

int api_init(struct store *st, const struct config *cfg, const struct api_transport *t);
void api_cleanup(void);
/* Register routes (a static table, terminated by fn == NULL). */
void api_add_routes(const struct api_route *routes);

/* A new request; conn is the transport's handle (NULL once it is gone). */
struct api_req *api_req_new(void *conn, enum api_method method, const char *path,
                            const char *peer);
void api_req_set_arg(struct api_req *r, const char *name, const char *value);
void api_req_set_bearer(struct api_req *r, const char *token);
/* Append body bytes; false when the body is over the limit (reply 413). */
bool api_req_body(struct api_req *r, const char *data, size_t len);
/* The request is complete: identify the caller and route it. */
void api_req_run(struct api_req *r);
/* The transport is gone: the request is freed once nothing uses it. */
void api_req_detach(struct api_req *r);

/* The reply, for the transport (borrowed; NULL while not ready). */
const char *api_reply(const struct api_req *r, int *status, const char **content_type,
                      size_t *len, const char **extra_header);

uint64_t api_req_id(const struct api_req *r);
struct api_req *api_req_find(uint64_t id);
enum api_method api_req_method(const struct api_req *r);
const char *api_req_arg(const struct api_req *r, const char *name);
/* The parsed JSON body, or NULL (a borrowed reference). */
json_t *api_req_json(const struct api_req *r);
const struct caller *api_req_caller(const struct api_req *r);
const char *api_req_peer(const struct api_req *r);
struct store *api_store(void);
const struct config *api_config(void);

/* Does path match pattern ("/api/meetings/{}")?  Fills up to 4 parameters of
 * at most 127 bytes each.  Pure; exposed for tests and fuzzing. */
bool api_match(const char *pattern, const char *path, char params[][128], int *n);

/* Replies; each may be called once per request. */
void api_reply_json(struct api_req *r, int status, json_t *body /* stolen */);
void api_reply_error(struct api_req *r, int status, const char *code, const char *message,
                     const char *field);
/* For a database callback: the request with that id, or NULL when its client
 * is gone or status is a failure (the request is then answered with 503). */
struct api_req *api_resume(uint64_t id, int status);
/* 503 store_unavailable: the database is needed and away. */
void api_reply_unavailable(struct api_req *r);
void api_reply_text(struct api_req *r, int status, const char *content_type, const char *text,
                    size_t len);
/* Add one response header line ("Name: value"), before replying. */
void api_reply_header(struct api_req *r, const char *line);

#endif
