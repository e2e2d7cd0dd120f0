-- Accounts for the people who hold powers (chairs, co-chairs, greeters and
-- server admins), their login tokens, and their roles per meeting.
-- Attendees need none of this.

CREATE TABLE accounts (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,31}$'),
    -- argon2id string from libsodium's crypto_pwhash_str; NULL until a password is set.
    password_hash text,
    is_admin boolean NOT NULL DEFAULT false,
    -- The pseudonymous identity this account has in meetings.
    attendee_id text NOT NULL UNIQUE REFERENCES attendees (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX account_tokens_by_account ON account_tokens (account_id);

CREATE TABLE meeting_roles (
    meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('chair', 'co-chair', 'greeter')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meeting_id, account_id)
);
CREATE INDEX meeting_roles_by_account ON meeting_roles (account_id);
