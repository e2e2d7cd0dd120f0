-- Transcripts (issue 9): what a session keeps after its retention ran out,
-- and the text search configuration of each message.

-- The retention purge deletes a session's events and participants and keeps
-- only counts: attendee_count and message_count are set just before, and
-- purged_at once nothing but the session row is left.
ALTER TABLE sessions
    ADD COLUMN attendee_count integer,
    ADD COLUMN message_count integer,
    ADD COLUMN purged_at timestamptz;

-- The PostgreSQL text search configuration for a meeting's language (a BCP 47
-- tag: its first subtag decides), or 'simple' where PostgreSQL has none.
CREATE FUNCTION transcript_search_config(lang text) RETURNS regconfig
LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT c.oid::regconfig FROM pg_ts_config c
        WHERE c.cfgnamespace = 'pg_catalog'::regnamespace
          AND c.cfgname = '{"ar": "arabic", "hy": "armenian", "eu": "basque",
                "ca": "catalan", "da": "danish", "nl": "dutch", "en": "english",
                "fi": "finnish", "fr": "french", "de": "german", "el": "greek",
                "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
                "it": "italian", "lt": "lithuanian", "ne": "nepali", "nb": "norwegian",
                "nn": "norwegian", "no": "norwegian", "pt": "portuguese",
                "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish",
                "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish"}'::jsonb
                ->> split_part(lower(lang), '-', 1)),
        'simple'::regconfig)
$$;

-- Each message keeps the configuration of its meeting's language when it was
-- said: the search index below is an expression over it, and a later change
-- of the meeting's language does not re-read old words with other rules.
ALTER TABLE events ADD COLUMN ts_config regconfig;

CREATE FUNCTION transcript_set_ts_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.ts_config := transcript_search_config(
        (SELECT m.language FROM sessions s JOIN meetings m ON m.id = s.meeting_id
         WHERE s.id = NEW.session_id));
    RETURN NEW;
END
$$;

CREATE TRIGGER events_ts_config BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.kind = 'message') EXECUTE FUNCTION transcript_set_ts_config();

UPDATE events e SET ts_config = transcript_search_config(m.language)
    FROM sessions s JOIN meetings m ON m.id = s.meeting_id
    WHERE s.id = e.session_id AND e.kind = 'message';

-- Full-text search over message text, in each message's own configuration
-- (above).  Queries must repeat the expression exactly to use the index:
-- to_tsvector(e.ts_config, e.body ->> 'text').
CREATE INDEX events_search ON events
    USING gin (to_tsvector(ts_config, body ->> 'text'))
    WHERE ts_config IS NOT NULL;

-- The retention purge looks for ended sessions not purged yet.
CREATE INDEX sessions_to_purge ON sessions (ended_at)
    WHERE ended_at IS NOT NULL AND purged_at IS NULL;
