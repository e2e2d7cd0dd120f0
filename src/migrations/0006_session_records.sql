-- Whether a session keeps message text is decided when it starts, from its
-- meeting's setting, and cannot change in the middle of the session.
ALTER TABLE sessions ADD COLUMN record boolean NOT NULL DEFAULT true;
