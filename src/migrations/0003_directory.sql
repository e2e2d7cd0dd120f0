-- The meeting directory: schedule in the meeting's own zone, types, format,
-- resources, and the group's choices about records.  Defaults keep older
-- rows valid; src/directory_valid.c validates every field before writing.

ALTER TABLE meetings
    ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    -- A BCP 47 language tag such as en, es or pt-BR.
    ADD COLUMN language text NOT NULL DEFAULT 'en'
        CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$'),
    -- An IANA zone name from pg_timezone_names (checked by the trigger below).
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC',
    -- Weekly: local weekdays (0 = Sunday), local start, length.  No days:
    -- not scheduled.
    ADD COLUMN days smallint[] NOT NULL DEFAULT '{}'
        CHECK (days <@ '{0,1,2,3,4,5,6}' AND cardinality(days) <= 7),
    ADD COLUMN start_time time(0) NOT NULL DEFAULT '00:00',
    ADD COLUMN duration_minutes integer NOT NULL DEFAULT 60
        CHECK (duration_minutes BETWEEN 5 AND 1440),
    -- When days, start_time or time_zone last changed (calendars start there).
    ADD COLUMN schedule_changed_at timestamptz NOT NULL DEFAULT now(),
    -- Meeting Guide type codes, as listed in src/meeting_types.c.
    ADD COLUMN types text[] NOT NULL DEFAULT '{}' CHECK (cardinality(types) <= 30),
    ADD COLUMN group_name text NOT NULL DEFAULT '' CHECK (length(group_name) <= 200),
    -- Approximate area of origin ("Chicago, IL, USA"), never an address.
    ADD COLUMN region text NOT NULL DEFAULT '' CHECK (length(region) <= 200),
    ADD COLUMN notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    -- Consent: the API defaults this to false for closed meetings (type C).
    ADD COLUMN record_transcripts boolean NOT NULL DEFAULT true,
    ADD COLUMN transcript_readers text NOT NULL DEFAULT 'chairs'
        CHECK (transcript_readers IN ('chairs', 'attendees', 'anyone')),
    ADD COLUMN retention_days integer NOT NULL DEFAULT 30
        CHECK (retention_days BETWEEN 0 AND 3650),
    ADD COLUMN share_time_limit_secs integer NOT NULL DEFAULT 300
        CHECK (share_time_limit_secs BETWEEN 30 AND 3600),
    -- The meeting's script: [{"title": ..., "text": ...}, ...] in order.
    ADD COLUMN format jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(format) = 'array'),
    -- Pinned resources: [{"title": ..., "url": ...}, ...].
    ADD COLUMN resources jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(resources) = 'array'),
    -- The voluntary ("7th tradition") contribution link; '' for none.
    ADD COLUMN contribution_url text NOT NULL DEFAULT ''
        CHECK (contribution_url = '' OR contribution_url ~ '^https?://');

CREATE INDEX meetings_by_days ON meetings USING gin (days);
CREATE INDEX meetings_by_types ON meetings USING gin (types);

-- Zones must be in pg_timezone_names (without its posix/ and right/ copies
-- and non-zones).  The view scans the zone files (tens of ms), so the check
-- runs only when the zone is set or changes.
CREATE FUNCTION directory_zone_known(tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT tz !~ '^(posix|right)/' AND tz NOT IN ('Factory', 'localtime', 'posixrules')
        AND EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;

CREATE FUNCTION directory_check_zone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- 'UTC', the default, is known: rows made without a zone skip the view.
    IF NEW.time_zone <> 'UTC' AND NOT directory_zone_known(NEW.time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %', NEW.time_zone USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER meetings_zone_insert BEFORE INSERT ON meetings
    FOR EACH ROW EXECUTE FUNCTION directory_check_zone();
CREATE TRIGGER meetings_zone_update BEFORE UPDATE OF time_zone ON meetings
    FOR EACH ROW WHEN (NEW.time_zone IS DISTINCT FROM OLD.time_zone)
    EXECUTE FUNCTION directory_check_zone();
