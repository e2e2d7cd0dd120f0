/*
 * The directory's SQL, shared by the API (through the store) and the command
 * line (blocking libpq), so both read and write meetings the same way.  The
 * schedule arithmetic lives in the functions of migrations/0004_directory_time.sql.
 */
#include "directory_int.h"

#define ISO_UTC(ts) "to_char((" ts ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DURATION "make_interval(mins => m.duration_minutes)"

/* One occurrence of meeting m starting at s on local date d, as JSON. */
#define OCCURRENCE_JSON(s, d)                                                                  \
    "json_build_object('start_utc', " ISO_UTC(s) ", 'end_utc', " ISO_UTC(s " + " DURATION)     \
    ", 'start_local', directory_local_iso(" s ", m.time_zone),"                                \
    " 'end_local', directory_local_iso(" s " + " DURATION ", m.time_zone),"                    \
    " 'time_zone', m.time_zone, 'day', extract(dow FROM " d ")::integer,"                      \
    " 'in_progress', " s " <= now() AND " s " + " DURATION " > now())"

/* Meeting m with its next occurrence n(s, d) (NULLs when unscheduled). */
#define MEETING_FIELDS                                                                         \
    "'slug', m.slug, 'name', m.name, 'description', m.description, 'language', m.language,"    \
    " 'time_zone', m.time_zone, 'days', to_json(m.days),"                                      \
    " 'start_time', to_char(m.start_time, 'HH24:MI'), 'duration_minutes', m.duration_minutes," \
    " 'end_time', to_char(m.start_time + " DURATION ", 'HH24:MI'),"                            \
    " 'types', to_json(m.types), 'group', m.group_name, 'region', m.region, 'notes', m.notes," \
    " 'record_transcripts', m.record_transcripts, 'transcript_readers', m.transcript_readers," \
    " 'retention_days', m.retention_days, 'share_time_limit_secs', m.share_time_limit_secs,"   \
    " 'contribution_url', m.contribution_url,"                                                 \
    " 'created_at', " ISO_UTC("m.created_at") ", 'updated_at', " ISO_UTC("m.updated_at") ","   \
    " 'next_occurrence', CASE WHEN n.s IS NULL THEN NULL ELSE " OCCURRENCE_JSON("n.s", "n.d")  \
    " END"

#define NEXT_OCCURRENCE                                                                        \
    " LEFT JOIN LATERAL directory_occurrences(m.days, m.start_time, m.duration_minutes,"       \
    " m.time_zone, now(), 1) n(s, d) ON true"

#define IS_CHAIR(id, account)                                                                  \
    "EXISTS (SELECT 1 FROM meeting_roles r WHERE r.meeting_id = " id                          \
    " AND r.account_id = " account "::bigint AND r.role = 'chair')"

const char directory__sql_insert[] =
    "INSERT INTO meetings (slug, name, description, language, time_zone, days, start_time,"
    " duration_minutes, types, group_name, region, notes, record_transcripts,"
    " transcript_readers, retention_days, share_time_limit_secs, format, resources,"
    " contribution_url, created_at, updated_at, schedule_changed_at)"
    " SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::smallint[], $7::time,"
    " $8::integer, $9::text[], $10::text, $11::text, $12::text, $13::boolean, $14::text,"
    " $15::integer, $16::integer, $17::jsonb, $18::jsonb, $19::text, c, c, c"
    " FROM (SELECT to_timestamp($20::bigint / 1000.0) AS c) t"
    /* A retry of an insert that committed finds its own row (same creation
     * time) and returns it; someone else's slug returns nothing. */
    " ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug"
    " WHERE meetings.created_at = EXCLUDED.created_at"
    " RETURNING id";

const char directory__sql_update[] =
    "UPDATE meetings m SET"
    " name = coalesce($2, m.name),"
    " description = coalesce($3, m.description),"
    " language = coalesce($4, m.language),"
    " time_zone = coalesce($5, m.time_zone),"
    " days = coalesce($6::smallint[], m.days),"
    " start_time = coalesce($7::time, m.start_time),"
    " duration_minutes = coalesce($8::integer, m.duration_minutes),"
    " types = coalesce($9::text[], m.types),"
    " group_name = coalesce($10, m.group_name),"
    " region = coalesce($11, m.region),"
    " notes = coalesce($12, m.notes),"
    /* A meeting that becomes closed stops being recorded unless the same
     * change says otherwise. */
    " record_transcripts = CASE WHEN $13::boolean IS NOT NULL THEN $13::boolean"
    "   WHEN $9::text[] IS NOT NULL AND 'C' = ANY ($9::text[]) AND NOT 'C' = ANY (m.types)"
    "   THEN false ELSE m.record_transcripts END,"
    " transcript_readers = coalesce($14, m.transcript_readers),"
    " retention_days = coalesce($15::integer, m.retention_days),"
    " share_time_limit_secs = coalesce($16::integer, m.share_time_limit_secs),"
    " format = coalesce($17::jsonb, m.format),"
    " resources = coalesce($18::jsonb, m.resources),"
    " contribution_url = coalesce($19, m.contribution_url),"
    " schedule_changed_at = CASE WHEN coalesce($6::smallint[], m.days) IS DISTINCT FROM m.days"
    "   OR coalesce($7::time, m.start_time) <> m.start_time"
    "   OR coalesce($5, m.time_zone) <> m.time_zone"
    "   THEN now() ELSE m.schedule_changed_at END,"
    " updated_at = now()"
    " WHERE m.id = $20::bigint AND ($1::text IS NULL OR m.slug = $1)"
    " AND ($21::boolean OR " IS_CHAIR("m.id", "$22") ")"
    " RETURNING m.slug";

const char directory__sql_delete[] =
    "DELETE FROM meetings m WHERE m.id = $1::bigint"
    " AND ($2::boolean OR " IS_CHAIR("m.id", "$3") ") RETURNING m.id";

const char directory__sql_role[] =
    "SELECT m.id, coalesce((SELECT r.role FROM meeting_roles r WHERE r.meeting_id = m.id"
    " AND r.account_id = $2::bigint), '') FROM meetings m WHERE m.slug = $1";

const char directory__sql_exists[] = "SELECT 1 FROM meetings WHERE id = $1::bigint";

const char directory__sql_zones[] =
    "SELECT name FROM pg_timezone_names WHERE name !~ '^(posix|right)/'"
    " AND name NOT IN ('Factory', 'localtime', 'posixrules')";

const char directory__sql_zone_known[] = "SELECT 1 WHERE directory_zone_known($1)";

const char directory__sql_list[] =
    "SELECT json_build_object(" MEETING_FIELDS ")::text FROM meetings m" NEXT_OCCURRENCE
    " WHERE ($1::integer IS NULL OR m.days @> ARRAY[$1::smallint])"
    " AND ($2::text[] IS NULL OR m.types @> $2::text[])"
    " AND ($3::text IS NULL OR lower(m.language) = lower($3)"
    "   OR lower(m.language) LIKE lower($3) || '-%')"
    " AND ($4::integer IS NULL OR n.s < now() + make_interval(hours => $4::integer))"
    " AND ($5::text IS NULL OR strpos(lower(m.name || ' ' || m.description || ' ' || m.notes"
    "   || ' ' || m.group_name || ' ' || m.region), lower($5)) > 0)"
    " ORDER BY n.s NULLS LAST, m.name, m.slug"
    " LIMIT $6::integer OFFSET $7::integer";

const char directory__sql_one[] =
    "SELECT json_build_object(" MEETING_FIELDS ", 'format', m.format,"
    " 'resources', m.resources)::text FROM meetings m" NEXT_OCCURRENCE " WHERE m.slug = $1";

const char directory__sql_occurrences[] =
    "SELECT m.time_zone, coalesce((SELECT json_agg(" OCCURRENCE_JSON("o.s", "o.d")
    " ORDER BY o.s) FROM directory_occurrences(m.days, m.start_time, m.duration_minutes,"
    " m.time_zone, to_timestamp($2::double precision), $3::integer) o(s, d)), '[]')::text"
    " FROM meetings m WHERE m.slug = $1";

const char directory__sql_ics_events[] =
    "SELECT m.id, m.slug, m.name, m.description, m.notes, m.time_zone,"
    " array_to_string(m.days, ','), to_char(m.start_time, 'HH24MISS'), m.duration_minutes,"
    " array_to_string(m.types, ','), to_char(f.d, 'YYYYMMDD'),"
    " extract(epoch FROM f.s)::bigint,"
    " to_char(m.created_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"'),"
    " to_char(m.updated_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"')"
    " FROM meetings m"
    /* The weekly rule starts at the first occurrence after the schedule was
     * set, so it never claims meetings that happened on other days. */
    " LEFT JOIN LATERAL directory_occurrences(m.days, m.start_time, m.duration_minutes,"
    " m.time_zone, m.schedule_changed_at, 1) f(s, d) ON true"
    " WHERE $1::text IS NULL OR m.slug = $1"
    " ORDER BY m.name, m.slug";

const char directory__sql_ics_zones[] =
    "SELECT z.tz, directory_utc_offset(to_timestamp($2::double precision), z.tz),"
    " extract(epoch FROM t.at)::bigint, t.offset_from, t.offset_to"
    " FROM unnest($1::text[]) z(tz)"
    " LEFT JOIN LATERAL directory_zone_transitions(z.tz, to_timestamp($2::double precision),"
    " to_timestamp($3::double precision)) t ON true"
    " ORDER BY z.tz, t.at";
