-- Sign-in with OpenID Connect: which issuer's subject is which user. Google's subject is also
-- kept in users.google_sub (the column the sources use); every issuer, Google included, has
-- its rows here. See docs/data-model.md (User identities).
CREATE TABLE user_identities (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer          text NOT NULL CONSTRAINT user_identities_issuer_length CHECK (char_length(issuer) BETWEEN 1 AND 500),
    subject         text NOT NULL CONSTRAINT user_identities_subject_length CHECK (char_length(subject) BETWEEN 1 AND 255),
    email           text CONSTRAINT user_identities_email_length CHECK (char_length(email) <= 320),
    last_sign_in_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_identities_issuer_subject_key UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user_id_idx ON user_identities (user_id);

SELECT chatgraph_manage_updated_at('user_identities'::regclass);
