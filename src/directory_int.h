/*
 * directory_int: what the parts of the directory module share (directory.c
 * on the loop, directory_cli.c on the command line, directory_valid.c and
 * directory_fmt.c, which are pure).  Not for other modules.
 *
 * The SQL lives here once, so the API and `havend meeting` read and write
 * meetings with the same statements.
 */
#ifndef HAVEN_DIRECTORY_INT_H
#define HAVEN_DIRECTORY_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct config;

/* ---- SQL ---- */

/* Parameters $1..$19 of the insert and the update, in this order (see
 * directory__params): slug, name, description, language, time_zone, days,
 * start_time, duration_minutes, types, group, region, notes,
 * record_transcripts, transcript_readers, retention_days,
 * share_time_limit_secs, format, resources, contribution_url. */
#define DIRECTORY_NFIELDS 19

/* $20: the creation time in ms, which makes a retried insert recognise its
 * own row.  Returns the id, or no row when the slug is someone else's. */
extern const char directory__sql_insert[];
#define DIRECTORY_INSERT_NPARAMS 20
/* $1..$19 as above, NULL = unchanged ($1, the slug, must match when given);
 * $20 meeting id, $21 caller is admin, $22 caller's account id (a chair of
 * this meeting may edit).  Returns the slug, or no row when the meeting is
 * gone or the caller may not edit it. */
extern const char directory__sql_update[];
#define DIRECTORY_UPDATE_NPARAMS 22
/* $1 id, $2 admin, $3 account id.  Returns the id when deleted. */
extern const char directory__sql_delete[];
/* $1 slug, $2 account id: the meeting's id and that account's role ('' for none). */
extern const char directory__sql_role[];
/* $1 id: a row when the meeting exists. */
extern const char directory__sql_exists[];
/* Every zone name accepted (one column). */
extern const char directory__sql_zones[];
/* $1 zone: a row when it is accepted. */
extern const char directory__sql_zone_known[];
/* Filters $1 day, $2 types (all of them), $3 language, $4 within hours,
 * $5 text query, $6 limit, $7 offset: one row per meeting, a JSON object
 * (without format and resources), soonest first. */
extern const char directory__sql_list[];
#define DIRECTORY_LIST_NPARAMS 7
/* $1 slug: the full JSON object, or no row. */
extern const char directory__sql_one[];
/* $1 slug, $2 from (epoch seconds), $3 count: one row (time zone, JSON array
 * of occurrences) or none. */
extern const char directory__sql_occurrences[];
/* $1 slug or NULL for all: per meeting id, slug, name, description, notes,
 * time_zone, days "0,2", start "HHMMSS", duration, types "O,D", first local
 * date "YYYYMMDD" (NULL when unscheduled), first start (epoch s), created and
 * updated "YYYYMMDDTHHMMSSZ". */
extern const char directory__sql_ics_events[];
/* $1 zones (text[]), $2 from, $3 to (epoch s): per zone, its offset at $2
 * (minutes) and each change of offset (epoch s, from, to), ordered. */
extern const char directory__sql_ics_zones[];

/* The text of a buffer as a C string, even when nothing was added. */
static inline const char *directory__cstr(struct buf *b)
{
    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}

/* ---- parameters ---- */

struct directory__params {
    char *v[DIRECTORY_UPDATE_NPARAMS];
    int n;
};

/* Fill p->v[0..18] from a validated object (missing fields are NULL). */
void directory__params_fill(struct directory__params *p, json_t *valid);
void directory__params_cleanup(struct directory__params *p);
/* Set p->v[i] to a copy of s (NULL allowed). */
void directory__params_set(struct directory__params *p, int i, const char *s);

/* ---- formats (pure) ---- */

/* A slug as the database accepts it: 1-64 of a-z, 0-9 and inner '-'. */
bool directory__is_slug(const char *s);

/* The public base URL without a trailing slash: http.public_url, or one made
 * from listen.address and listen.port. */
void directory__public_url(const struct config *cfg, char *out, size_t len);

/* A meeting object from the database (JSON text) completed for the API:
 * join_url and ics_url added.  A new reference, or NULL when the text is not
 * an object. */
json_t *directory__meeting(const char *row_json, const char *public_url);
/* A Meeting Guide feed item for a meeting object (a new reference). */
json_t *directory__guide_item(json_t *meeting, const char *public_url);

/* Parse an ISO 8601 instant ("2026-03-08T12:00:00Z", seconds optional,
 * "Z" or "+hh:mm"/"-hh:mm") into seconds since the epoch.  0 or HV_EINVAL. */
int directory__parse_instant(const char *s, int64_t *out);

/* iCalendar (RFC 5545) text. */
/* Append one content line "name:value", folded at 75 octets (never inside
 * a UTF-8 sequence), ending in CRLF. */
void directory__ics_line(struct buf *b, const char *name, const char *value);
/* Append value escaped as a TEXT value (backslash, semicolon, comma, newline). */
void directory__ics_escape(struct buf *b, const char *value);

struct directory__transition {
    int64_t at;      /* epoch seconds */
    int from, to;    /* UTC offsets in minutes */
};
/* Append a VTIMEZONE for zone tz: the offset off0 in force from t0, then the
 * transitions tr[0..n) up to t1.  A kind of change that recurs on the same
 * weekday rule every year up to the end becomes one observance with a yearly
 * RRULE; anything else is listed with RDATEs. */
void directory__vtimezone(struct buf *b, const char *tz, int64_t t0, int off0, int64_t t1,
                          const struct directory__transition *tr, int n);

#endif
