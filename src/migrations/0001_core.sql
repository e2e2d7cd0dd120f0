-- Meetings, their live sessions, the pseudonymous people in them and the
-- numbered events of each session.

CREATE TABLE meetings (
    id bigserial PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- An anonymous attendee: a pseudonym recognised by a bearer token of which
-- only a hash is kept.  No e-mail, no real name.
CREATE TABLE attendees (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    token_hash bytea NOT NULL UNIQUE,
    display_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- One occurrence of a meeting.  At most one is live per meeting.
CREATE TABLE sessions (
    id bigserial PRIMARY KEY,
    meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);
CREATE UNIQUE INDEX sessions_one_live ON sessions (meeting_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_by_meeting ON sessions (meeting_id, started_at DESC);

-- Who took part in a session, under which pseudonym and role.  member_no is
-- the session-local number clients see; it does not link sessions together.
CREATE TABLE participants (
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    member_no integer NOT NULL CHECK (member_no > 0),
    attendee_id text REFERENCES attendees (id) ON DELETE SET NULL,
    display_name text NOT NULL,
    role text NOT NULL,
    first_joined_at timestamptz NOT NULL,
    last_left_at timestamptz,
    PRIMARY KEY (session_id, member_no)
);
CREATE UNIQUE INDEX participants_by_attendee ON participants (session_id, attendee_id);

-- The numbered events of a session.  seq is gapless per session and assigned
-- by the server that owns the session; the insert is idempotent on it.
CREATE TABLE events (
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq bigint NOT NULL CHECK (seq > 0),
    member_no integer,
    kind text NOT NULL,
    client_msg_id text,
    body jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, seq),
    FOREIGN KEY (session_id, member_no) REFERENCES participants (session_id, member_no)
);
CREATE UNIQUE INDEX events_client_msg_id ON events (session_id, member_no, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
