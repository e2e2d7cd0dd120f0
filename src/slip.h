/*
 * slip: proof of attendance that keeps anonymity (issue 14).
 *
 *   POST /api/sessions/{id}/slip[?format=html]   the caller's own slip, once the
 *                                                session has ended (attendee token)
 *   GET  /api/sessions/{id}/slips                members and their slip status (chairs)
 *   POST /api/sessions/{id}/slips/withhold       {"member": N} (chairs, co-chairs, admins)
 *   POST /api/sessions/{id}/slips/confirm        {"member": N} (same)
 *   GET  /.well-known/haven-attendance-key       the public key
 *   GET  /verify/{slip id}[?sha256=HEX]          was it issued here; the slip as issued
 *   GET  /verify/{slip id}.html                  the same as a page, for people
 *   POST /verify                                 a whole slip (JSON): is it genuine
 * proto/API.md ("Attendance slips") is the reference.
 *
 * A slip is a JSON document signed with the server's Ed25519 key (the file
 * slips.key_file, made on the first start).  It names the meeting, the date
 * and time in the meeting's zone, the name the attendee used, the minutes
 * they were present (their attendance intervals merged and clipped to the
 * session) and the chair's meeting name.  The server keeps no record of who
 * asked for a slip: only a hash of the slip id, to find the record, and the
 * slip sealed under a key derived from its id, so only someone holding the
 * slip (or its id) can open it again.  Loop thread; nothing here blocks
 * except slip_init, which reads or makes the key before the loop runs.
 */
#ifndef HAVEN_SLIP_H
#define HAVEN_SLIP_H

struct store;
struct config;

/* Read (or make) the signing key, prepare the statements and register the
 * routes; before store_start().  Returns 0, or HV_EINVAL/HV_EIO after logging
 * why (the server should not start: it could not sign what it promises). */
int slip_init(struct store *st, const struct config *cfg);

/* The command line: havend slip verify FILE [--key FILE] | havend slip key
 * (argv starts at the word "slip").  Blocking; never on the loop.  Returns
 * the exit status: 0 valid, 1 not valid or failed, 2 usage. */
int slip_cli(const struct config *cfg, int argc, char **argv);

#endif
