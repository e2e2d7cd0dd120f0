#ifndef HAVEN_LIVE_SQL_H
#define HAVEN_LIVE_SQL_H

/* The statements that store a live session's events, shared with the storage
 * benchmark (tests/bench/bench_store.c) so it measures exactly what havend
 * runs.  Parameters: session id, seq, member number (NULL for the server),
 * kind, client_msg_id, body (JSON text), time (ms since the epoch), and the
 * text search configuration of a message (NULL for other kinds). */
#define LIVE_SQL_INSERT_EVENT                                                                     \
    "INSERT INTO events (session_id, seq, member_no, kind, client_msg_id, body, created_at,"      \
    " ts_config) VALUES ($1, $2, $3, $4, $5, $6::jsonb,"                                          \
    " to_timestamp($7::double precision / 1000), $8::text::regconfig)"                            \
    " ON CONFLICT DO NOTHING"

/* The bulk form (store_prepare_bulk): the same eight parameters as arrays,
 * one element per event, inserted in one execution. */
#define LIVE_SQL_INSERT_EVENTS                                                                    \
    "INSERT INTO events (session_id, seq, member_no, kind, client_msg_id, body, created_at,"      \
    " ts_config) SELECT s, q, m, k, c, b::jsonb, to_timestamp(t::double precision / 1000),"      \
    " g::regconfig FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[],"            \
    " $5::text[], $6::text[], $7::bigint[], $8::text[]) AS u(s, q, m, k, c, b, t, g)"             \
    " ON CONFLICT DO NOTHING"

#endif
