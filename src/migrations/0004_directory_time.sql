-- Schedule arithmetic for the directory, in PostgreSQL's time zone code:
-- local dates become instants one by one, in the meeting's own zone.

-- The UTC offset of zone tz at an instant, in minutes east of UTC.
CREATE FUNCTION directory_utc_offset(at timestamptz, tz text) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT (extract(epoch FROM (at AT TIME ZONE tz) - (at AT TIME ZONE 'UTC')) / 60)::integer
$$;

-- An instant as ISO 8601 local time in zone tz with its offset:
-- 2026-03-09T19:00:00-05:00.
CREATE FUNCTION directory_local_iso(at timestamptz, tz text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(at AT TIME ZONE tz, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN o < 0 THEN '-' ELSE '+' END
        || lpad((abs(o) / 60)::text, 2, '0') || ':' || lpad((abs(o) % 60)::text, 2, '0')
    FROM (SELECT directory_utc_offset(at, tz) AS o) x
$$;

-- A local wall-clock time in zone tz as an instant, as RFC 5545 (3.3.5) reads
-- it: a time that happens twice (when clocks go back) is the first one; a
-- time that does not exist (when clocks go forward) is read with the offset
-- from before the gap.  PostgreSQL's own AT TIME ZONE picks the second of two
-- and agrees on gaps, so only the repeated hour needs the earlier candidate.
CREATE FUNCTION directory_local_to_utc(local timestamp, tz text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN e < r AND (e AT TIME ZONE tz) = local THEN e ELSE r END
    FROM (SELECT local AT TIME ZONE tz AS r) a,
    LATERAL (SELECT (local - make_interval(mins => directory_utc_offset(r - interval '1 day', tz)))
                 AT TIME ZONE 'UTC' AS e) b
$$;

-- The first n occurrences of a weekly schedule that have not ended at
-- `after`: each one's start instant and its local date.  Local dates are
-- generated in the meeting's zone and converted one by one, so a meeting at
-- 19:00 stays at 19:00 local on both sides of a daylight-saving change.
CREATE FUNCTION directory_occurrences(days smallint[], start_time time, duration_minutes integer,
                                      tz text, after timestamptz, n integer)
RETURNS TABLE (starts_at timestamptz, local_date date)
LANGUAGE sql STABLE AS $$
    SELECT s, d
    FROM (SELECT directory_local_to_utc(g::date + start_time, tz) AS s, g::date AS d
          FROM generate_series(((after AT TIME ZONE tz)::date - 2)::timestamp,
                               ((after AT TIME ZONE tz)::date
                                + 7 * (n / greatest(cardinality(days), 1) + 2))::timestamp,
                               interval '1 day') g
          WHERE extract(dow FROM g)::integer = ANY (days)) o
    WHERE s + make_interval(mins => duration_minutes) > after
    ORDER BY s
    LIMIT n
$$;

-- The changes of zone tz's UTC offset between t0 and t1 (for VTIMEZONE):
-- days whose offset differs from the day before, then each such day in
-- steps of 15 minutes.
CREATE FUNCTION directory_zone_transitions(tz text, t0 timestamptz, t1 timestamptz)
RETURNS TABLE (at timestamptz, offset_from integer, offset_to integer)
LANGUAGE sql STABLE AS $$
    WITH coarse AS (
        SELECT d, directory_utc_offset(d, tz) AS off
        FROM generate_series(date_trunc('day', t0, 'UTC'), t1 + interval '1 day',
                             interval '1 day') d
    ), changed AS (
        SELECT d FROM (SELECT d, off, lag(off) OVER (ORDER BY d) AS prev FROM coarse) x
        WHERE prev <> off
    ), fine AS (
        SELECT s, directory_utc_offset(s, tz) AS off
        FROM changed, generate_series(changed.d - interval '1 day', changed.d,
                                      interval '15 minutes') s
    )
    SELECT s, prev, off FROM (SELECT s, off, lag(off) OVER (ORDER BY s) AS prev FROM fine) y
    WHERE prev <> off
    ORDER BY s
$$;
