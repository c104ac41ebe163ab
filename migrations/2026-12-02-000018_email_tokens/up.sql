-- Single-use tokens mailed to a user's address: confirming the address, resetting the
-- password. Stored as SHA-256 only; each expires, and a new one of the same purpose ends the
-- user's older ones. A confirmation counts only for the address it was sent to.
CREATE TABLE email_tokens (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    email text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_tokens_user_purpose_idx ON email_tokens (user_id, purpose) WHERE used_at IS NULL;
