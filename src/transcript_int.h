/*
 * transcript_int: what the parts of the transcript module share: transcript.c
 * (handlers and the retention purge, on the loop) and transcript_fmt.c (the
 * page, export and search formats, pure).  Not for other modules; exposed for
 * tests/unit/test_transcript.c.
 *
 * A *row* is one stored event as transcript.c reads it, a JSON object:
 *   {"seq", "kind", "member" (0: the server), "name" (the author's pseudonym,
 *    "" for none), "body" (the stored body object), "at" (ISO 8601 UTC),
 *    "time" ("HH:MM" in the meeting's zone), "ts" (ms since the epoch),
 *    "end": null, or for a share_started row the event that ended the share:
 *    {"seq", "kind", "at", "time", "ts", "body"},
 *    "recorded": false only when the session kept no text}
 * Nothing of a row identifies a person beyond the pseudonym and the member
 * number of that session.
 *
 * Every function here is pure and safe on any thread, on objects the caller
 * owns (the exports run in uv_queue_work).
 */
#ifndef HAVEN_TRANSCRIPT_INT_H
#define HAVEN_TRANSCRIPT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The reminder every export ends with (and the JSON carries as "notice"). */
extern const char transcript__notice[];

/* The Entry of a row (a new reference): the event as a reader sees it, with
 * only the fields its kind has and a plain-text "display" line.  The text of
 * a message marked off the record is never copied, whatever the body holds. */
json_t *transcript__entry(json_t *row);

/* Group rows (in seq order) into blocks (a new array): "share" blocks from a
 * share_started to its share_ended, and "chat" blocks for everything between
 * shares.  A row with seq <= after_seq is the share still open at after_seq
 * (a page that starts inside a share): it gives the first block its header
 * ("continued": true) and is not an entry. */
json_t *transcript__blocks(json_t *rows, int64_t after_seq);

/* A whole session as text: doc is the JSON export ({meeting, session, blocks,
 * notice}); header, entries, footer.  Appends to b. */
void transcript__text(struct buf *b, json_t *doc);
/* The same as Markdown; every piece of people's text is escaped, so a message
 * can never become a heading, a link, HTML or a code block. */
void transcript__markdown(struct buf *b, json_t *doc);
/* Append s escaped for Markdown (inline); continuation lines of a list item
 * are indented by indent spaces. */
void transcript__md_escape(struct buf *b, const char *s, int indent);

/* "45 s", "3 min 12 s", "1 h 3 min". */
void transcript__duration(char *out, size_t len, int64_t secs);
/* "Tuesday, 24 November 2026" from a date "YYYY-MM-DD" (the leading part of a
 * local ISO time will do); HV_EINVAL if it is not one. */
int transcript__long_date(const char *iso, char *out, size_t len);

/* The search highlight markers ts_headline puts around matches: U+E000 and
 * U+E001, private-use characters stripped from the text first. */
#define TRANSCRIPT_MARK_START "\xee\x80\x80"
#define TRANSCRIPT_MARK_STOP "\xee\x80\x81"
/* From a headline with those markers: *snippet (new string, matches in
 * [[ and ]]) and *parts (new array of {"text", "match"}). */
void transcript__snippet(const char *headline, json_t **snippet, json_t **parts);

#endif
