-- Running a session: its phase and settings survive a restart; bans keep a
-- removed person out of one session or of the meeting for good.

ALTER TABLE sessions
    ADD COLUMN phase text NOT NULL DEFAULT 'waiting'
        CHECK (phase IN ('waiting', 'open', 'closed')),
    ADD COLUMN settings jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN topic text;

CREATE TABLE bans (
    meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    attendee_id text NOT NULL REFERENCES attendees (id) ON DELETE CASCADE,
    -- NULL: banned from the meeting for good; otherwise from that session.
    session_id bigint REFERENCES sessions (id) ON DELETE CASCADE,
    banned_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bans_unique ON bans (meeting_id, attendee_id, coalesce(session_id, 0));
