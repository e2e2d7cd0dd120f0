/*
 * transcript: what sessions kept, read back after the meeting (issue 9).
 *
 *   GET    /api/meetings/{slug}/sessions       the sessions the caller may read, newest first
 *   GET    /api/sessions/{id}/transcript       events in seq order, paged, grouped by share
 *   GET    /api/sessions/{id}/export.txt|.md|.json   the whole session
 *   GET    /api/search?q=&meeting=             full-text search, highlighted snippets
 *   DELETE /api/sessions/{id}/events/{seq}     take back (author) or remove (chair) a message
 *   POST   /api/admin/purge                    run one retention pass now (admins)
 * proto/API.md ("Transcripts") is the reference.
 *
 * Who may read is the meeting's transcript_readers (chairs, attendees of that
 * session, anyone); the meeting's chairs and co-chairs and admins always may.
 * Every check is made by PostgreSQL in the statement that reads, and a session
 * the caller may not read is answered exactly like one that does not exist
 * (404; no search results), so nothing tells that it exists.  Only
 * pseudonyms leave this module: never attendee ids or tokens.
 *
 * Retention: a timer on the loop (transcripts.purge_interval_secs) deletes
 * the events of ended sessions older than their meeting's retention_days,
 * transcripts.purge_batch rows per statement, through the store's ordered
 * write queue, until nothing is due; then only the counts of people and
 * messages stay on the session row.  Exports are rendered in uv_queue_work.
 * Loop thread only; nothing here blocks and nothing logs text or tokens.
 */
#ifndef HAVEN_TRANSCRIPT_H
#define HAVEN_TRANSCRIPT_H

#include <uv.h>

struct store;
struct config;

/* Prepare the statements, register the routes and start the purge timer;
 * before store_start().  cfg is borrowed for the life of the server. */
int transcript_init(uv_loop_t *loop, struct store *st, const struct config *cfg);
/* Close the purge timer (shutdown); a pass under way stops after its current
 * statement.  Safe to call twice. */
void transcript_stop(void);

#endif
