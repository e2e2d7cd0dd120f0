-- Attendance slips (issue 14): what verifying a slip needs, and the chairs'
-- decisions to withhold or confirm a member's slips.

-- One row per slip issued, and nothing that names a person, a meeting or a
-- session: the slip id itself is not kept, only id_hash (BLAKE2b keyed with
-- the id) to find the row, and the signed slip sealed (secretbox) under
-- another key derived from the id.  Only someone holding the slip, or its
-- id, can open the row; a reader of the database learns how many slips were
-- issued on which day, not who asked for one (which would tell who is sent
-- to meetings by a court or an employer).
CREATE TABLE slips (
    id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    sealed bytea NOT NULL CHECK (length(sealed) BETWEEN 41 AND 16424),
    issued_on date NOT NULL
);

-- A chair's decision about one member's slips for a session.  Without a row
-- a member gets slips, unless a chair removed them from the session.  It
-- goes with the member when the retention purge deletes the participants.
CREATE TABLE slip_decisions (
    session_id bigint NOT NULL,
    member_no integer NOT NULL,
    decision text NOT NULL CHECK (decision IN ('withheld', 'confirmed')),
    decided_by bigint REFERENCES accounts (id) ON DELETE SET NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, member_no),
    FOREIGN KEY (session_id, member_no) REFERENCES participants (session_id, member_no)
        ON DELETE CASCADE
);
