/*
 * directory: the meeting directory, its HTTP API, calendars and feeds.
 *
 *   GET    /api/meetings                   list, with filters (day, type, language,
 *                                          within_hours, q, limit, offset)
 *   GET    /api/meetings/{slug}            one meeting, with its format and resources
 *   GET    /api/meetings/{slug}/occurrences  the next occurrences from a given instant
 *   POST   /api/meetings                   create (admins)
 *   PUT    /api/meetings/{slug}            change some fields (admins, the meeting's chairs)
 *   DELETE /api/meetings/{slug}            delete with everything stored (same)
 *   GET    /api/meetings.ics, /api/meetings/{slug}.ics   RFC 5545 calendars
 *   GET    /api/meeting-guide.json         Code for Recovery's Meeting Guide feed
 *   GET    /api/meeting-types              the type codes Haven knows
 * proto/API.md is the reference.  Schedules are weekly in the meeting's own
 * IANA zone; PostgreSQL turns local dates into instants (see the functions in
 * migrations/0004_directory_time.sql), so occurrences are right across daylight
 * saving changes.
 *
 * Every write is validated first by directory_validate(), the one validator
 * the API and `havend meeting` share; a rejected request changes nothing.
 * Handlers run on the loop thread and reach the database only through
 * store_exec().
 */
#ifndef HAVEN_DIRECTORY_H
#define HAVEN_DIRECTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct store;
struct config;

struct live;

/* Prepare the statements and register the routes; before store_start().  A
 * meeting deleted through the API is first closed in lv (may be NULL). */
int directory_init(struct store *st, const struct config *cfg, struct live *lv);

/* The command line: havend meeting add|edit|show|del|list (argv starts at the
 * word "meeting").  Blocking libpq: never on the server loop.  Returns the
 * exit status (0 ok, 1 failure, 2 usage or invalid input). */
int directory_cli(const struct config *cfg, int argc, char **argv);

/* Validate a meeting given as JSON.  create: every required field must be
 * there and defaults are filled in; otherwise (an edit) only the fields given
 * are checked.  On success returns 0 and sets *out to a new, normalised
 * object (sorted days, canonical type codes, trimmed names).  On failure
 * returns HV_EINVAL and fills field (the JSON path of the first bad field,
 * such as "days" or "format[2].title"; "" for the document itself) and msg.
 * Read-only fields of the API's meeting objects (join_url, next_occurrence,
 * end_time, created_at, updated_at, ics_url) are ignored, so an object read with
 * GET can be sent back.  Whether a zone exists is not checked here (that needs
 * the database): only its form.  Pure; safe anywhere. */
int directory_validate(json_t *in, bool create, json_t **out, char *field, size_t fieldlen,
                       char *msg, size_t msglen);

#endif
