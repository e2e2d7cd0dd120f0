-- Presence intervals of each member of a session, for proof of attendance:
-- one row from a member's first connection joining to its last leaving.
CREATE TABLE attendance (
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    member_no integer NOT NULL,
    joined_at timestamptz NOT NULL,
    left_at timestamptz,
    PRIMARY KEY (session_id, member_no, joined_at),
    FOREIGN KEY (session_id, member_no) REFERENCES participants (session_id, member_no)
        ON DELETE CASCADE
);
