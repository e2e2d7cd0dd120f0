-- Scale-out (cluster.enabled): each live session is owned by one havend node,
-- the one whose database connection holds the meeting's session-level advisory
-- lock (released by PostgreSQL when that connection dies).  The session row
-- names the owner (owner_node, and owner_pid, its backend), so that PostgreSQL
-- itself refuses a session's events from any other connection: a node that
-- lost its connection, and with it the lock, cannot append to a session that
-- another node took over, even with writes queued before the loss.
-- Clustered nodes connect with the setting haven.node_id; the guard is off
-- for a single node.

ALTER TABLE sessions
    ADD COLUMN owner_node text,
    ADD COLUMN owner_pid integer,
    ADD COLUMN owned_at timestamptz;

-- Take meeting p_meeting's lock and make this connection the owner of its
-- live session p_session.  p_prev_pid NULL: a room being loaded (whoever
-- owned it before is gone, since the lock was free).  Otherwise a node taking
-- its rooms back after reconnecting: it succeeds only when nobody owned the
-- session in between (the row still names this node and its former backend).
-- Returns this backend's pid, or NULL (the lock is then not held; a failure
-- because another node holds it is announced on channel haven_owner, so that
-- the owner may hand the meeting over to the node its clients are sent to).
CREATE FUNCTION haven_claim(p_meeting bigint, p_session bigint, p_node text,
                            p_prev_pid integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_lock(1213613646, p_meeting::integer) THEN
        PERFORM pg_notify('haven_owner', p_meeting::text || ' ' || p_node);
        RETURN NULL;
    END IF;
    UPDATE sessions SET owner_node = p_node, owner_pid = pg_backend_pid(), owned_at = now()
     WHERE id = p_session
       AND CASE WHEN p_prev_pid IS NULL THEN ended_at IS NULL
                ELSE owner_node = p_node AND owner_pid = p_prev_pid END;
    IF NOT FOUND THEN
        PERFORM haven_release(p_meeting, NULL);
        RETURN NULL;
    END IF;
    RETURN pg_backend_pid();
END $$;

-- Let go of a meeting: its session no longer names this connection, and the
-- lock (taken once per claim) is released however many times it was taken.
CREATE FUNCTION haven_release(p_meeting bigint, p_session bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET owner_pid = NULL
     WHERE id = p_session AND owner_pid = pg_backend_pid();
    WHILE pg_advisory_unlock(1213613646, p_meeting::integer) LOOP
    END LOOP;
END $$;

-- The guard: one call per statement (a batch of events is one statement),
-- not per row.
CREATE FUNCTION haven_owner_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.session_id INTO bad FROM new_rows n
      LEFT JOIN sessions s ON s.id = n.session_id
     WHERE s.owner_pid IS DISTINCT FROM pg_backend_pid()
        OR s.owner_node IS DISTINCT FROM current_setting('haven.node_id')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'session % is not owned by this connection', bad
            USING ERRCODE = 'HV409';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_owner_guard AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('haven.node_id', true) <> '')
    EXECUTE FUNCTION haven_owner_guard();
CREATE TRIGGER participants_owner_guard AFTER INSERT ON participants
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    WHEN (current_setting('haven.node_id', true) <> '')
    EXECUTE FUNCTION haven_owner_guard();

-- A meeting deleted through one node: the node serving its room (maybe
-- another one) closes it (havend LISTENs when clustered).
CREATE FUNCTION haven_meeting_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('haven_gone', OLD.slug);
    RETURN NULL;
END $$;
CREATE TRIGGER meetings_gone AFTER DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION haven_meeting_gone();
